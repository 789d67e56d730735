"""Saving a built library next to the corpus, and trusting it only while it is current.

Start-up on a large archive must not re-read and re-index every article: the index
arrays are saved as `.npy` files and the article texts as one UTF-8 file, all
memory-mapped on the next start. A saved library is used only when its format version
and build options match; it is served as it is when the corpus fingerprint (every
file's path, size and modification time; content hashes for files whose time changed)
matches too, and otherwise updated with only the files that changed. Anything missing,
truncated or corrupt raises `IndexFileError`, and the caller builds from scratch. Saving
writes a new folder and switches a pointer file with one atomic rename, so a crash never
leaves a half-written cache in use.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import mmap
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .errors import IndexFileError
from .index import BM25Index, BM25Params
from .models import LoadProblem, LoadReport

__all__ = ["FORMAT_VERSION", "Fingerprint", "changed_files", "fingerprint", "load_saved", "save"]

FORMAT_VERSION = 3
POINTER = "current"
ARRAYS = (
    "offsets",
    "doc_ids",
    "term_freqs",
    "doc_lengths",
    "passage_article",
    "passage_spans",
    "article_dates",
    "text_offsets",
    "timeline",
    "event_date",
    "event_precision",
    "event_article",
)
TEXTS = "texts.bin"
COLUMNS = ("id", "headline", "url", "source", "caption", "file")

Fingerprint = dict[str, list[Any]]
"""Relative path -> [size, mtime_ns, sha256 or None]."""


def fingerprint(root: Path, previous: Fingerprint | None = None) -> Fingerprint:
    """Each corpus file's size and modification time, with its content hash.

    Hashes are copied from `previous` for files whose size and time are unchanged, so
    an unchanged corpus is fingerprinted without reading its contents. Directory entries
    are scanned with their cached types rather than as `Path` objects: an archive of
    hundreds of thousands of files is fingerprinted in well under a second.
    """
    found: Fingerprint = {}
    known = previous or {}
    skip = len(os.path.join(str(root), ""))
    for entry in _files(str(root)):
        relative = entry.path[skip:] if os.sep == "/" else entry.path[skip:].replace(os.sep, "/")
        try:
            stat = entry.stat()
        except OSError:  # a dangling link: the loader reports it
            found[relative] = [None, None, None]
            continue
        before = known.get(relative)
        if before and before[0] == stat.st_size and before[1] == stat.st_mtime_ns:
            found[relative] = before
        else:
            found[relative] = [stat.st_size, stat.st_mtime_ns, _sha256(Path(entry.path))]
    return found


def _files(folder: str) -> Iterator[os.DirEntry[str]]:
    """The non-hidden files below `folder`, as `corpus_files` finds them, in no order."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            if not entry.is_symlink():
                yield from _files(entry.path)
        else:
            yield entry


def _sha256(path: Path) -> str | None:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
    except OSError:  # unreadable: the loader reports it
        return None
    return digest.hexdigest()


def changed_files(saved: Fingerprint, now: Fingerprint) -> set[str]:
    """Files added, removed or with other contents; a changed time alone (a `touch`) is no change."""
    if saved == now:  # the common case, and quick: `fingerprint` reuses the saved entries
        return set()
    return {
        path
        for path in saved.keys() | now.keys()
        if path not in saved or path not in now or saved[path][0::2] != now[path][0::2]
    }


def save(
    index_dir: Path,
    corpus: Path,
    corpus_print: Fingerprint,
    options: dict[str, Any],
    parts: dict[str, Any],
) -> None:
    """Write a library's parts under `index_dir` and make them current atomically."""
    index_dir.mkdir(parents=True, exist_ok=True)
    target = Path(tempfile.mkdtemp(prefix="build-", dir=index_dir))
    try:
        for name in ARRAYS:
            np.save(target / f"{name}.npy", np.ascontiguousarray(parts[name]), allow_pickle=False)
        (target / "vocabulary.txt").write_text("\n".join(parts["vocabulary"]), encoding="utf-8")
        (target / TEXTS).write_bytes(parts["texts"])
        _write_json(target / "articles.json", parts["article_columns"])
        _write_json(target / "events.json", list(parts["event_sentences"]))
        report: LoadReport = parts["report"]
        manifest = {
            "format": FORMAT_VERSION,
            "corpus": str(corpus.resolve()),
            "options": options,
            "fingerprint": corpus_print,
            "report": {"files": report.files, "articles": report.articles, "problems": _problems(report)},
            "sizes": {name: len(parts[name]) for name in ARRAYS},
        }
        _write_json(target / "manifest.json", manifest)  # written last: its presence marks a complete build
        pointer = index_dir / f".{POINTER}.tmp"
        pointer.write_text(target.name, encoding="utf-8")
        os.replace(pointer, index_dir / POINTER)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    for old in index_dir.glob("build-*"):
        if old != target:
            shutil.rmtree(old, ignore_errors=True)


def load_saved(index_dir: Path, corpus: Path, options: dict[str, Any]) -> tuple[dict[str, Any], Fingerprint]:
    """Read the current saved library for `corpus`, memory-mapping its arrays and texts.

    Returns its parts and the fingerprint of the corpus it was built from, which may
    have changed since (see `changed_files`). Raises `IndexFileError` saying why when
    it is missing, damaged, or was built from another folder or with other options.
    """
    try:
        folder = index_dir / (index_dir / POINTER).read_text(encoding="utf-8").strip()
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise IndexFileError(f"no usable saved index in {index_dir}: {error}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_VERSION:
        raise IndexFileError(f"saved index format is not {FORMAT_VERSION}")
    if manifest.get("corpus") != str(corpus.resolve()) or manifest.get("options") != options:
        raise IndexFileError("saved index was built from another corpus folder or with other options")
    try:
        parts: dict[str, Any] = {
            name: np.load(folder / f"{name}.npy", mmap_mode="r", allow_pickle=False) for name in ARRAYS
        }
        parts["texts"] = _map(folder / TEXTS)
        parts["vocabulary"] = (folder / "vocabulary.txt").read_text(encoding="utf-8").split("\n")
        parts["article_columns"] = json.loads((folder / "articles.json").read_text("utf-8"))
        parts["event_sentences"] = json.loads((folder / "events.json").read_text("utf-8"))
        saved = manifest["report"]
        parts["report"] = LoadReport(
            saved["files"], saved["articles"], tuple(LoadProblem(p, r) for p, r in saved["problems"])
        )
        _check_consistent(parts, manifest["sizes"])
        return parts, dict(manifest["fingerprint"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise IndexFileError(f"saved index in {folder} is damaged: {error}") from None


def _map(path: Path) -> bytes | mmap.mmap:
    """A file's bytes, memory-mapped: the texts of an archive are read only when shown."""
    with path.open("rb") as stream:
        if os.fstat(stream.fileno()).st_size == 0:
            return b""
        return mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ)


def _check_consistent(parts: dict[str, Any], sizes: dict[str, int]) -> None:
    """Catch truncation and tampering that `np.load` alone would not."""
    if any(len(parts[name]) != sizes.get(name) for name in ARRAYS):
        raise IndexFileError("saved index arrays do not have the recorded sizes")
    offsets, passages = parts["offsets"], len(parts["doc_lengths"])
    if len(offsets) != len(parts["vocabulary"]) + 1 or int(offsets[-1]) != len(parts["doc_ids"]):
        raise IndexFileError("saved index postings do not match its vocabulary")
    if len(parts["passage_article"]) != passages or len(parts["passage_spans"]) != passages:
        raise IndexFileError("saved index passages do not match its documents")
    articles = len(parts["article_dates"])
    columns = parts["article_columns"]
    if not isinstance(columns, dict) or any(len(columns.get(name, ())) != articles for name in COLUMNS):
        raise IndexFileError("saved index article columns do not match its articles")
    if passages and (int(np.max(parts["passage_article"])) >= articles):
        raise IndexFileError("saved index refers to articles it does not hold")
    if len(parts["text_offsets"]) != articles + 1 or int(parts["text_offsets"][-1]) != len(parts["texts"]):
        raise IndexFileError("saved index texts do not match its articles")
    events = len(parts["event_sentences"])
    if any(len(parts[name]) != events for name in ("event_date", "event_precision", "event_article")):
        raise IndexFileError("saved index event columns do not match its events")
    for name, limit in (("timeline", events), ("event_article", articles), ("event_precision", 4)):
        values = parts[name]
        if len(values) and not 0 <= int(np.min(values)) <= int(np.max(values)) < limit:
            raise IndexFileError(f"saved index {name} refers to entries it does not hold")


def options_record(min_chars: int, max_chars: int, params: BM25Params) -> dict[str, Any]:
    """The build options as saved, so that an index built otherwise is not reused."""
    return {"min_chars": min_chars, "max_chars": max_chars, "bm25": dataclasses.asdict(params)}


def index_parts(index: BM25Index) -> dict[str, Any]:
    """The arrays and vocabulary that make up an index."""
    return {
        "offsets": index.offsets,
        "doc_ids": index.doc_ids,
        "term_freqs": index.term_freqs,
        "doc_lengths": index.doc_lengths,
        "vocabulary": list(index.vocabulary),
    }


def _write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")


def _problems(report: LoadReport) -> list[list[str]]:
    return [[problem.path, problem.reason] for problem in report.problems]

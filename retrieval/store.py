"""Saving a built library next to the corpus, and trusting it only while it is current and whole.

Start-up on a large archive must not re-read and re-index every article: the index
arrays are saved as `.npy` files and the article texts as one UTF-8 file. A saved
library is used only when its format version and build options match; it is served as
it is when the corpus fingerprint (every file's path, size and modification time;
content hashes for files whose time changed) matches too, and otherwise updated with
only the files that changed.

Nothing damaged is served. The pointer file names the current build and the checksum of
its manifest; the manifest holds every other file's size and checksum (xxHash's XXH3,
some 30 GB/s, so checking a million-passage index costs a small fraction of a second);
every file but the article texts is checked when it is opened. The texts are the
largest file and only a few articles are shown per answer, so each article carries its
own checksum, checked when it is read (`SavedTexts`). Anything missing, cut short,
altered or inconsistent raises `IndexFileError` naming the file, and the caller builds
from scratch. Saving writes a new folder, flushes every file and the folder to disk,
then switches the pointer with one atomic rename, so neither a crash nor a power cut
leaves a half-written index in use.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import io
import itertools
import json
import mmap
import os
import re
import shutil
import tempfile
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt
import xxhash

from .errors import IndexFileError
from .folder import CorpusFolder, FilePrint
from .index import BM25Index, BM25Params
from .models import LoadProblem, LoadReport

__all__ = [
    "FORMAT_VERSION",
    "Fingerprint",
    "SavedTexts",
    "changed_files",
    "fingerprint",
    "load_saved",
    "save",
]

FORMAT_VERSION = 5
POINTER = "current"
_POINTER_LINE = re.compile(rb"(build-[A-Za-z0-9_]+) ([0-9a-f]{16})\n")
MANIFEST = "manifest.json"
DAMAGED = "damaged"
"""Written into a build folder found damaged while serving: no later start or reload opens it."""
POSTINGS = ("doc_ids", "term_freqs")
MAPPED = (*POSTINGS, "article_vectors")
"""Memory-mapped, not read into memory: the postings and the article vectors are nearly
all of the index's bytes."""
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
    "text_checksums",
    "article_vectors",
)
TEXTS = "texts.bin"
FILES = (*(f"{name}.npy" for name in ARRAYS), "vocabulary.txt", TEXTS, "articles.json", "events.json")
COLUMNS = ("id", "headline", "url", "source", "caption", "file")
LAST_DAY = dt.date.max.toordinal()

Fingerprint = dict[str, FilePrint]
"""Relative path -> what the file held when read (see `folder.FilePrint`)."""


def fingerprint(root: Path, previous: Fingerprint | None = None) -> Fingerprint:
    """Each corpus entry's print: size, modification time and content hash, or why it is not read.

    The entries are those the loader reads (`folder.corpus_files`), checked by the same
    rules. Prints are copied from `previous` for files whose size and time are unchanged,
    so an unchanged corpus is fingerprinted without reading its contents.
    """
    known, folder = previous or {}, CorpusFolder(root)
    return {
        name: folder.read(path, relative, known.get(name))[1] for name, relative, path in folder.listing()
    }


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
    """Write a library's parts under `index_dir`, flush them to disk, and make them current atomically."""
    index_dir.mkdir(parents=True, exist_ok=True)
    target = Path(tempfile.mkdtemp(prefix="build-", dir=index_dir))
    try:
        arrays = {name: parts[name] for name in ARRAYS if name in parts}
        arrays["text_checksums"] = text_checksums(parts["texts"], parts["text_offsets"])
        files = {f"{name}.npy": _write(target / f"{name}.npy", _npy(array)) for name, array in arrays.items()}
        files["vocabulary.txt"] = _write(target / "vocabulary.txt", "\n".join(parts["vocabulary"]).encode())
        files[TEXTS] = _write(target / TEXTS, parts["texts"])
        files["articles.json"] = _write(target / "articles.json", _json(parts["article_columns"]))
        files["events.json"] = _write(target / "events.json", _json(list(parts["event_sentences"])))
        report: LoadReport = parts["report"]
        manifest = _json(
            {
                "format": FORMAT_VERSION,
                "corpus": str(corpus.resolve()),
                "options": options,
                "fingerprint": corpus_print,
                "report": {"files": report.files, "articles": report.articles, "problems": _problems(report)},
                "sizes": {name: len(array) for name, array in arrays.items()},
                "files": files,
            }
        )
        _write(target / MANIFEST, manifest)
        _flush_folder(target)
        pointer = index_dir / f".{POINTER}.tmp"
        _write(pointer, f"{target.name} {_checksum(manifest)}\n".encode())
        os.replace(pointer, index_dir / POINTER)
        _flush_folder(index_dir)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    for old in index_dir.glob("build-*"):
        if old != target:
            shutil.rmtree(old, ignore_errors=True)


def load_saved(
    index_dir: Path, corpus: Path, options: dict[str, Any], check_texts: bool = False
) -> tuple[dict[str, Any], Fingerprint] | None:
    """Check and open the current saved library for `corpus`; None when none was saved yet.

    Returns its parts and the fingerprint of the corpus it was built from, which may
    have changed since (see `changed_files`). Every file is checked against the sizes
    and checksums of the manifest, the article texts by size only unless `check_texts`
    (they are checked one by one as they are read). Raises `IndexFileError` naming the
    file and the fault when the index is damaged, marked damaged, or was built from
    another folder, in another format or with other options.
    """
    pointer = index_dir / POINTER
    try:
        line = pointer.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise IndexFileError(f"{pointer} cannot be read: {error}") from None
    named = _POINTER_LINE.fullmatch(line)
    if named is None:
        raise IndexFileError(f"{pointer} does not name a build of format {FORMAT_VERSION}: {line[:60]!r}")
    folder = index_dir / named.group(1).decode()
    try:
        if (folder / DAMAGED).exists():
            why = (folder / DAMAGED).read_text(encoding="utf-8", errors="replace")
            raise IndexFileError(f"saved index in {folder} was found damaged while serving: {why}")
        manifest_bytes = (folder / MANIFEST).read_bytes()
    except OSError as error:
        raise IndexFileError(f"{pointer} names a build that cannot be read: {error}") from None
    if _checksum(manifest_bytes) != named.group(2).decode():
        raise IndexFileError(f"{folder / MANIFEST} does not match its checksum in {pointer}")
    try:
        return _open_checked(folder, json.loads(manifest_bytes), corpus, options, check_texts)
    except OSError as error:  # a file gone or unreadable since it was checked
        raise IndexFileError(f"saved index in {folder} cannot be read: {error}") from None
    except (ValueError, KeyError, TypeError, AttributeError) as error:  # a manifest this version never wrote
        message = f"saved index in {folder} does not hold what its manifest says: {error!r}"
        raise IndexFileError(message) from None


def _open_checked(
    folder: Path, manifest: dict[str, Any], corpus: Path, options: dict[str, Any], check_texts: bool
) -> tuple[dict[str, Any], Fingerprint]:
    if manifest.get("format") != FORMAT_VERSION:
        raise IndexFileError(f"saved index format {manifest.get('format')} is not {FORMAT_VERSION}")
    if manifest.get("corpus") != str(corpus.resolve()) or manifest.get("options") != options:
        raise IndexFileError("saved index was built from another corpus folder or with other options")
    files: dict[str, list[Any]] = manifest["files"]
    for name in FILES:  # sizes first: a truncated file is named as such, at the cost of a stat
        _check_size(folder / name, files[name][0])
    if check_texts:
        _check_file(folder / TEXTS, files[TEXTS])
    parts: dict[str, Any] = {}
    for name in ARRAYS:
        path = folder / f"{name}.npy"
        data = _check_file(path, files[path.name])
        parts[name] = np.load(path, mmap_mode="r") if name in MAPPED else np.load(io.BytesIO(data))
    parts["vocabulary"] = _read_text(folder / "vocabulary.txt", files).split("\n")
    parts["article_columns"] = json.loads(_read_text(folder / "articles.json", files))
    parts["event_sentences"] = json.loads(_read_text(folder / "events.json", files))
    saved = manifest["report"]
    parts["report"] = LoadReport(
        saved["files"], saved["articles"], tuple(LoadProblem(p, r) for p, r in saved["problems"])
    )
    _check_consistent(parts, manifest["sizes"], files[TEXTS][0])
    parts["texts"] = SavedTexts(folder / TEXTS, parts["text_offsets"], parts["text_checksums"])
    return parts, dict(manifest["fingerprint"])


class SavedTexts:
    """The article bodies of a saved index, each checked against its checksum when read.

    Read with `os.pread` from a file held open rather than memory-mapped: a texts file
    truncated or edited under a running bot gives a short read or a checksum mismatch
    (an `IndexFileError`), never a SIGBUS that would kill the process, and never text
    other than what was indexed.
    """

    def __init__(self, path: Path, offsets: npt.NDArray[np.int64], checksums: npt.NDArray[np.uint64]) -> None:
        self.path = path
        self.offsets = offsets
        self.checksums = checksums
        self._descriptor = os.open(path, os.O_RDONLY)
        weakref.finalize(self, os.close, self._descriptor)

    def __call__(self, number: int) -> bytes:
        """Article `number`'s body as UTF-8, exactly as it was saved."""
        start, end = int(self.offsets[number]), int(self.offsets[number + 1])
        try:
            body = os.pread(self._descriptor, end - start, start)
        except OSError as error:
            raise IndexFileError(f"{self.path}: article {number} cannot be read: {error}") from None
        if len(body) != end - start:
            raise IndexFileError(f"{self.path}: article {number} is cut short, the file was truncated")
        if not self.matches(number, body):
            raise IndexFileError(f"{self.path}: article {number} does not match its checksum")
        return body

    def matches(self, number: int, body: bytes) -> bool:
        """Whether `body` is article `number`'s as it was indexed."""
        return xxhash.xxh3_64_intdigest(body) == int(self.checksums[number])

    def mark_damaged(self, why: str) -> None:
        """Record in the build folder that it is damaged, so that no later start or reload opens it."""
        with contextlib.suppress(OSError):  # replaced and removed by a newer build already
            (self.path.parent / DAMAGED).write_text(why, encoding="utf-8")


def text_checksums(texts: bytes, offsets: npt.NDArray[np.int64]) -> npt.NDArray[np.uint64]:
    """Each article body's checksum, as `SavedTexts` checks it."""
    view, bounds = memoryview(texts), offsets.tolist()
    return np.fromiter(
        (xxhash.xxh3_64_intdigest(view[start:end]) for start, end in itertools.pairwise(bounds)),
        dtype=np.uint64,
        count=len(bounds) - 1,
    )


def _checksum(data: bytes | mmap.mmap | memoryview) -> str:
    return xxhash.xxh3_64_hexdigest(data)


def _write(path: Path, content: bytes | Callable[[IO[bytes]], None]) -> list[Any]:
    """Write a file and flush it to disk; its size and checksum, for the manifest."""
    with path.open("wb") as stream:
        if callable(content):
            content(stream)
        else:
            stream.write(content)
        stream.flush()
        os.fsync(stream.fileno())
    with path.open("rb") as stream:
        return [os.fstat(stream.fileno()).st_size, _checksum(_mapped(stream))]


def _npy(array: Any) -> Callable[[IO[bytes]], None]:
    return lambda stream: np.save(stream, np.ascontiguousarray(array), allow_pickle=False)


def _flush_folder(folder: Path) -> None:
    """Flush a folder's entries to disk, so that files renamed or created in it survive a power cut."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _mapped(stream: IO[bytes]) -> bytes | mmap.mmap:
    """A file's bytes, memory-mapped to be checksummed without a copy (an empty file cannot be)."""
    if os.fstat(stream.fileno()).st_size == 0:
        return b""
    return mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ)


def _check_size(path: Path, size: int) -> None:
    try:
        found = path.stat().st_size
    except OSError as error:
        raise IndexFileError(f"{path} cannot be read: {error}") from None
    if found != size:
        raise IndexFileError(f"{path} is {found:,} bytes; the index saved {size:,}")


def _check_file(path: Path, record: list[Any]) -> bytes | mmap.mmap:
    """A saved file's bytes (memory-mapped), after checking them against the manifest."""
    try:
        with path.open("rb") as stream:
            data = _mapped(stream)
    except OSError as error:
        raise IndexFileError(f"{path} cannot be read: {error}") from None
    if len(data) != record[0]:
        raise IndexFileError(f"{path} is {len(data):,} bytes; the index saved {record[0]:,}")
    if _checksum(data) != record[1]:
        raise IndexFileError(f"{path} does not match its checksum: its contents changed after it was saved")
    return data


def _read_text(path: Path, files: dict[str, list[Any]]) -> str:
    return bytes(_check_file(path, files[path.name])).decode("utf-8")


def _check_consistent(parts: dict[str, Any], sizes: dict[str, int], texts_size: int) -> None:
    """Check the shapes and the values that would crash a search later.

    The checksums already catch damage to the files; these cheap checks catch a build
    that saved something inconsistent, before a question meets it.
    """
    if any(len(parts[name]) != sizes.get(name) for name in ARRAYS):
        raise IndexFileError("saved index arrays do not have the recorded sizes")
    offsets, passages = parts["offsets"], len(parts["doc_lengths"])
    if len(offsets) != len(parts["vocabulary"]) + 1 or int(offsets[-1]) != len(parts["doc_ids"]):
        raise IndexFileError("saved index postings do not match its vocabulary")
    if int(offsets[0]) != 0 or np.any(np.diff(offsets) < 0):
        raise IndexFileError("saved index postings offsets are out of order")
    if len(parts["passage_article"]) != passages or len(parts["passage_spans"]) != passages:
        raise IndexFileError("saved index passages do not match its documents")
    articles = len(parts["article_dates"])
    if len(parts["article_vectors"]) != articles:
        raise IndexFileError("saved index article vectors do not match its articles")
    columns = parts["article_columns"]
    if not isinstance(columns, dict) or any(len(columns.get(name, ())) != articles for name in COLUMNS):
        raise IndexFileError("saved index article columns do not match its articles")
    owner = parts["passage_article"]
    if passages and not 0 <= int(np.min(owner)) <= int(np.max(owner)) < articles:
        raise IndexFileError("saved index refers to articles it does not hold")
    vectors = parts["article_vectors"]
    if vectors.ndim != 2 or vectors.dtype != np.float16:
        raise IndexFileError("saved index article vectors are not a float16 matrix")
    spans = parts["passage_spans"]
    if passages and (int(np.min(spans)) < 0 or np.any(spans[:, 0] > spans[:, 1])):
        raise IndexFileError("saved index passage spans are out of order")
    text_offsets = parts["text_offsets"]
    if (
        len(text_offsets) != articles + 1
        or len(parts["text_checksums"]) != articles
        or int(text_offsets[0]) != 0
        or int(text_offsets[-1]) != texts_size
        or np.any(np.diff(text_offsets) < 0)
    ):
        raise IndexFileError("saved index texts do not match its articles")
    for name in ("article_dates", "event_date"):
        values = parts[name]
        if len(values) and not 1 <= int(np.min(values)) <= int(np.max(values)) <= LAST_DAY:
            raise IndexFileError(f"saved index {name} holds days outside the calendar")
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


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _problems(report: LoadReport) -> list[list[str]]:
    return [[problem.path, problem.reason] for problem in report.problems]

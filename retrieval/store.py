"""Saving a built library next to the corpus, and trusting it only while it is current and whole.

Start-up on a large archive must not re-read and re-index every article: the index
arrays are saved as `.npy` files and the article texts as one UTF-8 file, written as a
build goes (`NewBuild`), so that no build holds every text at once. A saved library is
used only when its format version, build options and code (`CODE`) match; it is served
as it is while the corpus is unchanged, and otherwise updated with only the files that
changed. Two checks tell a change. The corpus fingerprint (every file's path, size and
modification time; content hashes for files whose time changed), saved as compact arrays
that only this comparison reads, tells every change, at the cost of a look at every
file. The stamps of the corpus folders (`looks_unchanged`) tell any file added, removed
or renamed at the cost of a look at each folder, but not a file edited in place.

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

import array
import contextlib
import dataclasses
import datetime as dt
import errno
import json
import logging
import mmap
import os
import re
import shutil
import stat
import tempfile
import weakref
from collections.abc import Callable, Iterable
from importlib import metadata
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt
import xxhash

from .errors import IndexFileError
from .folder import CorpusFolder, FilePrint, FolderStamp, relative_path, stamps_match
from .index import BM25Index, BM25Params
from .models import LoadProblem, LoadReport
from .npy import map_array, read_array
from .stories import MARKS
from .timeline import EventTerms

__all__ = [
    "FORMAT_VERSION",
    "Fingerprint",
    "FolderRecord",
    "FolderStamps",
    "NewBuild",
    "Saved",
    "SavedTexts",
    "changed_files",
    "current_build",
    "fingerprint",
    "fresh_file",
    "load_saved",
    "looks_unchanged",
    "read_file",
    "record_unchanged",
    "recorded_prints",
    "save",
    "unsettled",
]

logger = logging.getLogger(__name__)

FORMAT_VERSION = 9


READING_PACKAGES = ("PyStemmer", "simplemma", "wordllama", "tokenizers", "PyYAML")
"""The libraries whose versions shape what a build saves: stems, lemmas, vectors, front matter."""


def _code_digest() -> str:
    """XXH3 of this package's source files and of the versions of `READING_PACKAGES`, saved
    with each build.

    What a build saves of an article (its reading, passages, dates, terms, vector) is this
    code's and these libraries' doing, and a release or a `pip install --upgrade` may
    change it with the format and options as they were (a title `Yes` once read as a truth
    and left out). An index saved by other code is therefore built again, as an upgrade's
    first start would otherwise serve the older reading of every unchanged file.
    """
    digest = xxhash.xxh3_64()
    for source in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(source.name.encode() + b"\0" + source.read_bytes())
    for package in READING_PACKAGES:
        try:
            version = metadata.version(package)
        except metadata.PackageNotFoundError:  # run from a copy of the sources, say
            version = "unknown"
        digest.update(f"{package}=={version}\0".encode())
    return digest.hexdigest()


CODE = _code_digest()
POINTER = "current"
_POINTER_LINE = re.compile(rb"(build-[A-Za-z0-9_]+) ([0-9a-f]{16})\n")
CHECKED = "checked"
"""Beside the pointer: the folder stamps of the corpus as last found unchanged (see `looks_unchanged`),
and the files found with a new time alone (see `recorded_prints`)."""
MANIFEST = "manifest.json"
DAMAGED = "damaged"
"""Written into a build folder found damaged while serving: no later start or reload opens it."""
DAMAGE_SHOWN = 1000
"""Bytes of a damage mark shown as why: what `mark_damaged` writes is one line."""
SCRATCH = "scratch"
"""A folder inside a build being written, for a build's passing files; removed before it is made current."""
POSTINGS = ("doc_ids", "term_freqs")
MAPPED = (*POSTINGS, "article_vectors", "event_term_numbers", "passage_marks")
"""Memory-mapped, not read into memory: the postings, the article vectors, the
timeline's terms' events and the passages' word marks are nearly all of the index's bytes."""
ARRAYS = (
    "offsets",
    "doc_ids",
    "term_freqs",
    "doc_lengths",
    "passage_article",
    "passage_spans",
    "passage_words",
    "passage_marks",
    "article_dates",
    "text_offsets",
    "timeline",
    "event_date",
    "event_precision",
    "event_article",
    "text_checksums",
    "article_vectors",
    "event_term_offsets",
    "event_term_numbers",
)
PRINTS = ("print_sizes", "print_times", "print_hashes")
"""The corpus fingerprint as arrays, with `prints.json` (names, and why an entry is not read):
read and checked only when the corpus is compared file by file, never to serve."""
TEXTS = "texts.bin"
FILES = (
    *(f"{name}.npy" for name in (*ARRAYS, *PRINTS)),
    "vocabulary.txt",
    "event_terms.txt",
    TEXTS,
    "articles.json",
    "events.json",
    "prints.json",
)
COLUMNS = ("id", "headline", "url", "source", "caption", "file")
LAST_DAY = dt.date.max.toordinal()
_UNTRUSTED = np.iinfo(np.int64).min
"""`print_times` of a file whose time could not be trusted when it was read."""

Fingerprint = dict[str, FilePrint]
"""Relative path -> what the file held when read (see `folder.FilePrint`)."""
FolderStamps = dict[str, FolderStamp]
"""Relative folder path ("" for the corpus folder) -> its stamp (see `folder.FolderStamp`)."""


def fingerprint(
    root: Path, previous: Fingerprint | None = None, stamps: FolderStamps | None = None
) -> Fingerprint:
    """Each corpus entry's print: size, change time (ctime) and content hash, or why it is not read.

    The entries are those the loader reads (`folder.corpus_files`), checked by the same
    rules. Prints are copied from `previous` for files whose size and time are unchanged,
    so an unchanged corpus is fingerprinted without reading its contents. `stamps`
    receives the stamp of each folder listed.
    """
    known, folder = previous or {}, CorpusFolder(root)
    return {
        name: folder.read(path, relative, known.get(name))[1]
        for name, relative, path in folder.listing(stamps)
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


def unsettled(corpus_print: Fingerprint) -> Fingerprint:
    """The files read whose time could not be trusted: only their contents tell a change."""
    return {name: found for name, found in corpus_print.items() if found[0] is not None and found[1] is None}


@dataclasses.dataclass(frozen=True, slots=True)
class Saved:
    """A saved library, checked at open: its parts, and what tells whether the corpus changed since."""

    build: str
    """The build folder's name: a new save is a new name."""
    folder: Path
    parts: dict[str, Any]
    manifest: dict[str, Any]

    def fingerprint(self) -> Fingerprint:
        """The fingerprint of the corpus it was built from, read and checked now.

        Raises `IndexFileError` naming the file when a part of it is damaged.
        """
        files: dict[str, list[Any]] = self.manifest["files"]
        try:
            arrays = [read_array(_check_file(self.folder / f"{name}.npy", files)) for name in PRINTS]
            named = json.loads(_read_text(self.folder / "prints.json", files))
            return _from_print_arrays(named["names"], named["unread"], *arrays)
        except OSError as error:
            raise IndexFileError(f"saved index in {self.folder} cannot be read: {error}") from None
        except (ValueError, KeyError, TypeError, IndexError) as error:
            message = f"saved fingerprint in {self.folder} does not hold what its manifest says: {error!r}"
            raise IndexFileError(message) from None


class NewBuild:
    """A build folder being written: article texts streamed in, then the rest, then made current.

    Use it as a context manager: leaving it without `commit` (an error, a stop) removes
    the folder, and the saved index stays as it was. A process killed mid-build (memory
    run out, a bot stopping mid-reload) cannot remove its own: a new build removes every
    build but the current one first, as one process at a time builds (`shelf.exclusive`),
    so that builds killed one after another never fill the disk.
    """

    def __init__(self, index_dir: Path) -> None:
        index_dir.mkdir(parents=True, exist_ok=True)
        _remove_builds(index_dir, keep=current_build(index_dir))
        self.index_dir = index_dir
        self.folder = Path(tempfile.mkdtemp(prefix="build-", dir=index_dir))
        self._texts = _HashingWriter((self.folder / TEXTS).open("wb"))
        self._sizes = array.array("q")
        self._checksums = array.array("Q")
        self._committed = False

    def __enter__(self) -> NewBuild:
        return self

    def __exit__(self, *error: object) -> None:
        self.discard()

    @property
    def scratch(self) -> Path:
        """A folder for a build's passing files, removed before the build is made current."""
        folder = self.folder / SCRATCH
        folder.mkdir(exist_ok=True)
        return folder

    def add_texts(self, bodies: Iterable[bytes]) -> None:
        """Append article bodies (UTF-8), in article order."""
        for body in bodies:
            self._texts.write(body)
            self._sizes.append(len(body))
            self._checksums.append(text_checksum(body))

    def add_joined_texts(
        self, joined: bytes, sizes: npt.NDArray[np.int64], checksums: npt.NDArray[np.uint64]
    ) -> None:
        """Append article bodies joined in one run, with each one's size and `text_checksum`."""
        if int(sizes.sum()) != len(joined) or len(checksums) != len(sizes):
            raise ValueError("joined article texts do not match their sizes and checksums")
        self._texts.write(joined)
        self._sizes.frombytes(sizes.astype(np.int64).tobytes())
        self._checksums.frombytes(checksums.astype(np.uint64).tobytes())

    def commit(
        self,
        corpus: Path,
        corpus_print: Fingerprint,
        stamps: FolderStamps,
        options: dict[str, Any],
        parts: dict[str, Any],
    ) -> Saved:
        """Write the other parts, flush everything to disk and make this build current atomically.

        `stamps` are the corpus folders' as listed before the files of `corpus_print`
        were read: the next start checks them instead of every file (`looks_unchanged`).
        """
        shutil.rmtree(self.folder / SCRATCH, ignore_errors=True)
        if len(self._sizes) != len(parts["article_dates"]):
            raise ValueError(
                f"{len(self._sizes)} article texts were added for {len(parts['article_dates'])} articles"
            )
        self._texts.stream.flush()
        os.fsync(self._texts.stream.fileno())
        self._texts.stream.close()
        offsets = np.zeros(len(self._sizes) + 1, dtype=np.int64)
        np.cumsum(np.frombuffer(self._sizes, dtype=np.int64), out=offsets[1:])
        parts = {
            **parts,
            "text_offsets": offsets,
            "text_checksums": np.frombuffer(self._checksums, dtype=np.uint64),
        }
        target = self.folder
        printed = _print_arrays(corpus_print)
        arrays = {name: parts[name] for name in ARRAYS} | {name: printed[name] for name in PRINTS}
        files = {f"{name}.npy": _write(target / f"{name}.npy", _npy(array)) for name, array in arrays.items()}
        files[TEXTS] = [self._texts.size, self._texts.hash.hexdigest()]
        files["vocabulary.txt"] = _write(target / "vocabulary.txt", "\n".join(parts["vocabulary"]).encode())
        terms = "\n".join(parts["event_term_vocabulary"]).encode()
        files["event_terms.txt"] = _write(target / "event_terms.txt", terms)
        files["articles.json"] = _write(target / "articles.json", _json(parts["article_columns"]))
        files["events.json"] = _write(target / "events.json", _json(list(parts["event_sentences"])))
        files["prints.json"] = _write(target / "prints.json", _json(printed["prints.json"]))
        report: LoadReport = parts["report"]
        manifest = {
            "format": FORMAT_VERSION,
            "code": CODE,
            "corpus": str(corpus.resolve()),
            "options": options,
            "report": {"files": report.files, "articles": report.articles, "problems": _problems(report)},
            "sizes": {name: len(parts[name]) for name in ARRAYS},
            "files": files,
        }
        # ASCII, escapes and all: a corpus folder's path need not be UTF-8 (`caf\xe9`, held as
        # a lone surrogate), and its escape reads back as the same path
        manifest_bytes = json.dumps(manifest, separators=(",", ":")).encode()
        _write(target / MANIFEST, manifest_bytes)
        _flush_folder(target)
        # Before the switch: a record of a build that never became current is never used.
        record_unchanged(self.index_dir, target.name, stamps, corpus_print)
        pointer = self.index_dir / f".{POINTER}.tmp"
        _write(pointer, f"{target.name} {_checksum(manifest_bytes)}\n".encode())
        os.replace(pointer, self.index_dir / POINTER)
        _flush_folder(self.index_dir)
        self._committed = True
        _remove_builds(self.index_dir, keep=target.name)
        parts["texts"] = SavedTexts(target / TEXTS, parts["text_offsets"], parts["text_checksums"])
        return Saved(target.name, target, parts, manifest)

    def discard(self) -> None:
        """Remove the folder unless it was made current."""
        if self._committed:
            return
        with contextlib.suppress(OSError):
            self._texts.stream.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def _remove_builds(index_dir: Path, keep: str | None) -> None:
    """Remove every build folder in `index_dir` but `keep`."""
    for old in index_dir.glob("build-*"):
        if old.name != keep:
            shutil.rmtree(old, ignore_errors=True)


def save(
    index_dir: Path,
    corpus: Path,
    corpus_print: Fingerprint,
    stamps: FolderStamps,
    options: dict[str, Any],
    parts: dict[str, Any],
    bodies: Iterable[bytes],
) -> Saved:
    """Write a library's parts and article bodies under `index_dir`, flush them, make them current."""
    with NewBuild(index_dir) as build:
        build.add_texts(bodies)
        return build.commit(corpus, corpus_print, stamps, options, parts)


def current_build(index_dir: Path) -> str | None:
    """The name of the build `index_dir`'s pointer names now, if any: a new save changes it."""
    try:
        named = _POINTER_LINE.fullmatch(read_file(index_dir / POINTER))
    except OSError:
        return None
    return named.group(1).decode() if named else None


def record_unchanged(
    index_dir: Path,
    build: str,
    stamps: FolderStamps,
    corpus_print: Fingerprint,
    saved_print: Fingerprint | None = None,
) -> None:
    """Record that the corpus, with its folders stamped `stamps`, was found as `build` was saved from.

    A start then checks those stamps instead of every file (`looks_unchanged`). The record
    only ever makes a start skip the file-by-file check while no folder changed; if it is
    missing, damaged or out of date, the start checks every file, as without it. The
    prints of `corpus_print` that differ from `saved_print`, the one `build` was saved
    with, in their trusted time alone (a `touch`, or a time trusted since) are recorded
    too (`recorded_prints`): without them, every later check read and hashed those files
    again until the next save. Callers hold the place (`shelf.exclusive`) as they write it.
    """
    retimed = {
        name: found
        for name, found in corpus_print.items()
        if saved_print is not None
        and found[1] is not None
        and name in saved_print
        and found != saved_print[name]
        and found[0::2] == saved_print[name][0::2]
    }
    record = {"build": build, "folders": stamps, "unsettled": unsettled(corpus_print), "retimed": retimed}
    body = json.dumps(record).encode()
    content = _checksum(body).encode() + b"\n" + body
    path = index_dir / CHECKED
    with contextlib.suppress(OSError):
        if read_file(path) == content:
            return
    temporary = index_dir / f".{CHECKED}.tmp"
    try:
        _write(temporary, content)
        os.replace(temporary, path)
    except OSError as error:  # a read-only index folder: every start checks every file
        logger.info("could not record the corpus check in %s: %s", index_dir, error)


def _record(index_dir: Path, build: str) -> dict[str, Any] | None:
    """The last check's record (`record_unchanged`) if it is whole and of `build`."""
    try:
        checksum, _, body = read_file(index_dir / CHECKED).partition(b"\n")
        if checksum.decode() != _checksum(body):
            return None
        record = json.loads(body)
        return record if isinstance(record, dict) and record.get("build") == build else None
    except (OSError, ValueError):
        return None


def recorded_prints(index_dir: Path, build: str) -> Fingerprint:
    """The prints the last check of `build` found in place of the saved ones, their times alone
    changed: the next check compares the files' times with these, not reading them again."""
    record = _record(index_dir, build)
    retimed = record.get("retimed") if record is not None else None
    return retimed if isinstance(retimed, dict) else {}


@dataclasses.dataclass(frozen=True, slots=True)
class FolderRecord:
    """The corpus folders as a read listed them, and the files it read whose time could not be
    trusted: held by a library built or updated in memory (its save failed), which has no
    record on disk (`record_unchanged`) for the bot's every-minute look to compare with."""

    stamps: FolderStamps
    unsettled: Fingerprint

    @classmethod
    def of(cls, stamps: FolderStamps, corpus_print: Fingerprint) -> FolderRecord:
        """The record of a read that stamped `stamps` and read the files of `corpus_print`."""
        return cls(stamps, unsettled(corpus_print))

    def unchanged(self, corpus: Path) -> bool:
        """Whether a look at its folders finds `corpus` as it was read (see `looks_unchanged`)."""
        return _as_recorded(corpus, self.stamps, self.unsettled)


def looks_unchanged(index_dir: Path, corpus: Path, build: str) -> bool:
    """Whether, as far as a check of its folders tells, the corpus is as `build` was saved from.

    True when the last record (`record_unchanged`) is of `build`, every folder still has
    its stamp (no entry added, removed or renamed since) and the files whose time could
    not be trusted still hold the same bytes. A file edited in place, which changes no
    folder, is not seen: only comparing every file's print tells that (`fingerprint`).
    """
    record = _record(index_dir, build)
    try:
        return record is not None and _as_recorded(corpus, record["folders"], record["unsettled"])
    except KeyError:
        return False


def _as_recorded(corpus: Path, stamps: FolderStamps, recorded: Fingerprint) -> bool:
    """Whether every folder below `corpus` has its stamp in `stamps` and the files of `recorded`
    (read when their time could not be trusted) hold the bytes they held; false for a record
    of the wrong shape (one read from disk may be)."""
    try:
        if not stamps_match(corpus, stamps):
            return False
        folder = CorpusFolder(corpus)
        for name, found in recorded.items():
            relative = relative_path(name)
            now = folder.read(os.path.join(corpus, relative), relative, None)[1]
            if now[0::2] != found[0::2]:
                return False
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False
    return True


def load_saved(
    index_dir: Path, corpus: Path, options: dict[str, Any], check_texts: bool = False
) -> Saved | None:
    """Check and open the current saved library for `corpus`; None when none was saved yet.

    Its fingerprint (`Saved.fingerprint`) tells whether the corpus changed since. Every
    file is checked against the sizes and checksums of the manifest, the article texts by
    size only unless `check_texts` (they are checked one by one as they are read), the
    fingerprint's files by size now and wholly when it is read. Raises `IndexFileError`
    naming the file and the fault when the index is damaged, marked damaged, or was
    built from another folder, in another format or with other options.
    """
    pointer = index_dir / POINTER
    try:
        line = read_file(pointer)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise IndexFileError(f"{pointer} cannot be read: {error}") from None
    named = _POINTER_LINE.fullmatch(line)
    if named is None:
        raise IndexFileError(f"{pointer} does not name a build of format {FORMAT_VERSION}: {line[:60]!r}")
    folder = index_dir / named.group(1).decode()
    try:
        why = damage_noted(folder)
        if why is not None:
            raise IndexFileError(f"saved index in {folder} was found damaged while serving: {why}")
        manifest_bytes = read_file(folder / MANIFEST)
    except OSError as error:
        raise IndexFileError(f"{pointer} names a build that cannot be read: {error}") from None
    if _checksum(manifest_bytes) != named.group(2).decode():
        raise IndexFileError(f"{folder / MANIFEST} does not match its checksum in {pointer}")
    try:
        manifest = json.loads(manifest_bytes)
        parts = _open_checked(folder, manifest, corpus, options, check_texts)
    except OSError as error:  # a file gone or unreadable since it was checked
        raise IndexFileError(f"saved index in {folder} cannot be read: {error}") from None
    except (ValueError, KeyError, TypeError, AttributeError) as error:  # a manifest this version never wrote
        message = f"saved index in {folder} does not hold what its manifest says: {error!r}"
        raise IndexFileError(message) from None
    return Saved(folder.name, folder, parts, manifest)


def _open_checked(
    folder: Path, manifest: dict[str, Any], corpus: Path, options: dict[str, Any], check_texts: bool
) -> dict[str, Any]:
    if manifest.get("format") != FORMAT_VERSION:
        raise IndexFileError(f"saved index format {manifest.get('format')} is not {FORMAT_VERSION}")
    if manifest.get("code") != CODE:
        raise IndexFileError(
            "saved index was made by other newsbot code (an upgrade), which may read articles otherwise"
        )
    if manifest.get("corpus") != str(corpus.resolve()) or manifest.get("options") != options:
        raise IndexFileError("saved index was built from another corpus folder or with other options")
    files: dict[str, list[Any]] = manifest["files"]
    for name in FILES:  # sizes first: a truncated file is named as such, at the cost of a stat
        _check_size(folder / name, files[name][0])
    if check_texts:
        _check_file(folder / TEXTS, files)
    parts: dict[str, Any] = {}
    for name in ARRAYS:
        path = folder / f"{name}.npy"
        data = _check_file(path, files)
        parts[name] = map_array(path) if name in MAPPED else read_array(data)
    vocabulary = _read_text(folder / "vocabulary.txt", files)
    parts["vocabulary"] = vocabulary.split("\n") if vocabulary else []  # none: symbols and stop words alone
    terms = _read_text(folder / "event_terms.txt", files)
    parts["event_term_vocabulary"] = terms.split("\n") if terms else []
    parts["article_columns"] = json.loads(_read_text(folder / "articles.json", files))
    parts["event_sentences"] = json.loads(_read_text(folder / "events.json", files))
    saved = manifest["report"]
    parts["report"] = LoadReport(saved["files"], saved["articles"], tuple(map(_problem, saved["problems"])))
    _check_consistent(parts, manifest["sizes"], files[TEXTS][0])
    parts["texts"] = SavedTexts(folder / TEXTS, parts["text_offsets"], parts["text_checksums"])
    return parts


def text_checksum(body: bytes) -> int:
    """An article body's checksum, as `SavedTexts` checks it."""
    return xxhash.xxh3_64_intdigest(body)


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
        return text_checksum(body) == int(self.checksums[number])

    def mark_damaged(self, why: str) -> None:
        """Record in the build folder that it is damaged, so that no later start or reload opens it.

        The mark is a file made anew (`fresh_file`): a link planted at its name is not written
        through, nor a named pipe waited on. A path in bytes that are no UTF-8 (`caf\\xe9`)
        is written in its own bytes."""
        with contextlib.suppress(OSError):  # replaced and removed by a newer build already
            _write(self.path.parent / DAMAGED, why.encode("utf-8", "surrogateescape"))


def damage_noted(folder: Path) -> str | None:
    """Why the build in `folder` was marked damaged while serving (`SavedTexts.mark_damaged`),
    or None if it was not. Whatever stands at the mark's name is a mark; only a file's own
    first `DAMAGE_SHOWN` bytes are read as why, never through a link nor from a named pipe,
    which would hold the opening until someone wrote to it."""
    try:
        descriptor = os.open(folder / DAMAGED, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as error:  # a link (ELOOP), or a mark that cannot be opened: damaged all the same
        return f"{DAMAGED} cannot be read: {error.strerror}"
    with os.fdopen(descriptor, "rb") as mark:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            return f"{DAMAGED} is not a file"
        return mark.read(DAMAGE_SHOWN).decode("utf-8", "replace")


def read_file(path: Path) -> bytes:
    """The bytes of the file at `path`, as `Path.read_bytes`, never waiting on what stands there
    instead: `OSError` for anything but a regular file. A named pipe planted at the name of
    the pointer, the record of the last check or a manifest held every start until someone
    wrote to it, and a link to /dev/zero read until memory ran out."""
    with _open_file(path) as stream:
        return stream.read()


def _open_file(path: Path) -> IO[bytes]:
    """The regular file at `path`, open for reading; opening what else stands there never waits."""
    stream = os.fdopen(os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC), "rb")
    if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
        stream.close()
        raise OSError(errno.EINVAL, "not a regular file", str(path))
    return stream


def _checksum(data: bytes | mmap.mmap | memoryview) -> str:
    return xxhash.xxh3_64_hexdigest(data)


class _HashingWriter:
    """A binary stream that sums up what goes through it: a saved file's size and checksum
    without reading it back (a file read back through a memory map would count in the
    process's resident memory, as much as the file is large)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.hash = xxhash.xxh3_64()
        self.size = 0

    def write(self, data: bytes | memoryview) -> int:
        self.hash.update(data)
        self.size += memoryview(data).nbytes
        return self.stream.write(data)


def fresh_file(path: str, flags: int) -> int:
    """`open`'s opener for a file written anew, never through a link at its name.

    Whatever stands there is removed first (a temporary left by a killed save, or a link
    planted by whoever may write the index folder), and the file is made exclusively: a
    link at a temporary's fixed name (`.current.tmp`) had a save overwrite the file it
    led to, the bot's `.env` or state file.
    """
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    return os.open(path, flags | os.O_EXCL | os.O_NOFOLLOW, 0o666)


def _write(path: Path, content: bytes | Callable[[Any], None]) -> list[Any]:
    """Write a file anew (`fresh_file`) and flush it to disk; its size and checksum, for the manifest."""
    with open(path, "wb", opener=fresh_file) as stream:
        hashing = _HashingWriter(stream)
        if callable(content):
            content(hashing)
        else:
            hashing.write(content)
        stream.flush()
        os.fsync(stream.fileno())
    return [hashing.size, hashing.hash.hexdigest()]


def _npy(array: Any) -> Callable[[Any], None]:
    return lambda stream: np.save(stream, np.ascontiguousarray(array), allow_pickle=False)


def _print_arrays(corpus_print: Fingerprint) -> dict[str, Any]:
    """A fingerprint as `PRINTS` arrays (sizes, times, hashes) and the content of `prints.json`."""
    prints, count = list(corpus_print.values()), len(corpus_print)
    sizes = (-1 if found[0] is None else found[0] for found in prints)
    times = (_UNTRUSTED if found[1] is None else found[1] for found in prints)
    hexes = "".join("0" * 64 if found[0] is None else found[2] for found in prints)
    return {
        "print_sizes": np.fromiter(sizes, dtype=np.int64, count=count),
        "print_times": np.fromiter(times, dtype=np.int64, count=count),
        "print_hashes": np.frombuffer(bytes.fromhex(hexes), dtype=np.uint8).reshape(count, 32),
        "prints.json": {
            "names": list(corpus_print),
            "unread": {name: found[2] for name, found in corpus_print.items() if found[0] is None},
        },
    }


def _from_print_arrays(
    names: list[str],
    unread: dict[str, Any],
    sizes: npt.NDArray[np.int64],
    times: npt.NDArray[np.int64],
    hashes: npt.NDArray[np.uint8],
) -> Fingerprint:
    if not len(names) == len(sizes) == len(times) == len(hashes) or hashes.shape[1:] != (32,):
        raise ValueError("saved fingerprint arrays do not match its names")
    hexes = hashes.tobytes().hex()
    return {
        name: [None, None, unread[name]]
        if size < 0
        else [size, None if time == _UNTRUSTED else time, hexes[64 * number : 64 * number + 64]]
        for number, (name, size, time) in enumerate(zip(names, sizes.tolist(), times.tolist(), strict=True))
    }


def _flush_folder(folder: Path) -> None:
    """Flush a folder's entries to disk, so that files renamed or created in it survive a power cut.

    Some file systems (network shares, FUSE) refuse to flush a folder (EINVAL): their
    entries then last as they do there, as SQLite and PostgreSQL also accept, rather than
    no index ever being saved on them.
    """
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    except OSError as error:
        if error.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
            raise
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


def _check_file(path: Path, files: dict[str, list[Any]]) -> bytes | mmap.mmap:
    """A saved file's bytes (memory-mapped), after checking them against the manifest's `files`."""
    record = files[path.name]
    try:
        with _open_file(path) as stream:
            data = _mapped(stream)
    except OSError as error:
        raise IndexFileError(f"{path} cannot be read: {error}") from None
    if len(data) != record[0]:
        raise IndexFileError(f"{path} is {len(data):,} bytes; the index saved {record[0]:,}")
    if _checksum(data) != record[1]:
        raise IndexFileError(f"{path} does not match its checksum: its contents changed after it was saved")
    return data


def _read_text(path: Path, files: dict[str, list[Any]]) -> str:
    return bytes(_check_file(path, files)).decode("utf-8")


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
    if any(len(parts[name]) != passages for name in ("passage_article", "passage_spans", "passage_words")):
        raise IndexFileError("saved index passages do not match its documents")
    marks = parts["passage_marks"]
    if marks.shape != (passages, MARKS // 64) or marks.dtype != np.uint64:
        raise IndexFileError("saved index passages' word marks do not match its passages")
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
    term_offsets = parts["event_term_offsets"]
    if len(term_offsets) != len(parts["event_term_vocabulary"]) + 1 or int(term_offsets[-1]) != len(
        parts["event_term_numbers"]
    ):
        raise IndexFileError("saved index timeline terms do not match their vocabulary")
    if int(term_offsets[0]) != 0 or np.any(np.diff(term_offsets) < 0):
        raise IndexFileError("saved index timeline terms' offsets are out of order")
    checked = (
        ("timeline", events),
        ("event_article", articles),
        ("event_precision", 4),
        ("event_term_numbers", events),
    )
    for name, limit in checked:
        values = parts[name]
        if len(values) and not 0 <= int(np.min(values)) <= int(np.max(values)) < limit:
            raise IndexFileError(f"saved index {name} refers to entries it does not hold")


def options_record(min_chars: int, max_chars: int, params: BM25Params) -> dict[str, Any]:
    """The build options as saved, so that an index built otherwise is not reused."""
    return {"min_chars": min_chars, "max_chars": max_chars, "bm25": dataclasses.asdict(params)}


def event_term_parts(terms: EventTerms) -> dict[str, Any]:
    """The arrays and vocabulary of the timeline's terms (see `EventTerms`)."""
    return {
        "event_term_vocabulary": terms.vocabulary,
        "event_term_offsets": terms.offsets,
        "event_term_numbers": terms.numbers,
    }


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


def _problems(report: LoadReport) -> list[list[Any]]:
    return [
        [problem.path, problem.reason, problem.line, problem.kind, dict(problem.facts)]
        for problem in report.problems
    ]


_OLD_JSONL_LINE = re.compile(r"(.+\.jsonl):(\d+)", re.IGNORECASE)


def _problem(saved: list[Any]) -> LoadProblem:
    """A saved problem: `[file, reason, line, kind, facts]`; `[file, reason, line]` as saved
    before reasons were told by kind (their English alone); or `[where, reason]` as saved
    before lines were kept apart (`feed.jsonl:12` then read as line 12 of `feed.jsonl`)."""
    if len(saved) == 5:
        path, reason, line, kind, facts = saved
        return LoadProblem(path, reason, line, kind, tuple(facts.items()))
    if len(saved) == 3:
        return LoadProblem(*saved)
    where, reason = saved
    match = _OLD_JSONL_LINE.fullmatch(where)
    return LoadProblem(match.group(1), reason, int(match.group(2))) if match else LoadProblem(where, reason)

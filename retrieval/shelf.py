"""The index folder as a shelf: one saved index per corpus folder, so that none evicts another.

Each corpus folder's saved index (see `store`) lives in a folder of its own below the
index folder, named after the corpus folder and keyed by a hash of its resolved path
(`.newsbot-index/corpus-3f1c0a9e5b7d2c44/`). So the bot's corpus, `newsbot eval` on an
evaluation corpus and `newsbot ask --corpus` elsewhere each keep their index, and going
back to a corpus reuses it. A build with other options than the defaults (an
evaluation's `--k1` or `--plain`) has a second place of its corpus (`...-custom`), so it
never evicts the default build either.

Each place holds a `corpus` file naming the resolved corpus path it is for. After a
build, the places of corpus folders gone for `GONE_FOR` are removed (`prune`); nothing
else below the index folder is ever removed. A folder missing only for a while (a
network share not mounted, a folder renamed and back) keeps its index: the first prune
that misses it marks its place, a later one removes the place only if the mark is
`GONE_FOR` old, and finding the folder again, or loading it (`in_use`), clears the
mark. One process at a time opens, updates or builds a place's index (`exclusive`).
An index folder inside the corpus folder is refused, unless a folder on the way is
hidden (`read_as_corpus`): the corpus would read the index's files as articles.
An index folder of the earlier layout, one saved index at its top, has that index moved
to its corpus's place on first use (`adopt_top_level`), so an upgrade does not build it
again.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import xxhash

from . import store

__all__ = [
    "GONE_FOR",
    "adopt_top_level",
    "claim",
    "exclusive",
    "holder_waited_for",
    "in_use",
    "place",
    "prune",
    "read_as_corpus",
]

logger = logging.getLogger(__name__)

MARKER = "corpus"
"""In each place: the resolved path of its corpus folder, one line."""
CUSTOM = "-custom"
LOCK = "lock"
"""In each place: locked by the one process that opens, updates or builds its index (`exclusive`)."""
MISSING = "missing"
"""In a place whose corpus folder a prune did not find: its modification time says since when."""
GONE_FOR = 30 * 24 * 3600
"""Seconds a corpus folder must stay missing before its saved index is removed: rebuilding
a large corpus takes minutes, keeping an index a while longer costs only disk."""
_UNREADABLE = re.compile(r"[^A-Za-z0-9_.-]+")
_UNLOCKED: set[Path] = set()
"""The places this process could not lock, already warned of (`exclusive`)."""


def place(index_dir: Path, corpus: Path, custom: bool = False) -> Path:
    """Where the saved index of `corpus` lives below `index_dir` (with other options than the
    defaults if `custom`): the folder's name, then a hash of its resolved path."""
    resolved = os.path.realpath(corpus)
    key = xxhash.xxh3_64_hexdigest(os.fsencode(resolved))
    name = _UNREADABLE.sub("_", os.path.basename(resolved))[:40].strip("._") or "root"
    return index_dir / f"{name}-{key}{CUSTOM if custom else ''}"


def read_as_corpus(folder: Path, corpus: Path) -> bool:
    """Whether the files below `folder` (the index's, the bot's state) would be read as articles
    of `corpus`: it lies inside the corpus folder, with no folder on the way whose name starts
    with a dot."""
    inside = os.path.relpath(os.path.realpath(folder), os.path.realpath(corpus))
    if inside == os.curdir:
        return True
    parts = Path(inside).parts
    return parts[0] != os.pardir and not any(part.startswith(".") for part in parts)


def claim(folder: Path, corpus: Path) -> None:
    """Make a place and name its corpus in it, before anything is saved there."""
    folder.mkdir(parents=True, exist_ok=True)
    named = os.fsencode(os.path.realpath(corpus)) + b"\n"
    marker = folder / MARKER
    try:
        if store.read_file(marker) == named:
            return
    except OSError:
        pass
    temporary = folder / f".{MARKER}.tmp"
    with open(temporary, "wb", opener=store.fresh_file) as stream:
        stream.write(named)
    os.replace(temporary, marker)


@contextlib.contextmanager
def exclusive(
    folder: Path, wait: bool = True, waiting: Callable[[str], None] | None = None
) -> Iterator[bool]:
    """Hold the place `folder` while its saved index is opened, updated or built.

    Two processes on one corpus (the bot's indexer and `newsbot ask`, two bots) would
    otherwise both build it, and the first to finish would remove the other's
    half-written build, which then builds everything again in memory. The second waits
    its turn instead, and opens what the first saved; its warning names the holder's
    process id, which the holder writes in the lock file, so that one suspended with
    Ctrl-Z can be found; `waiting` is told that id ("" if unknown) before it waits, so a
    caller can tell whoever waits on it. Without `wait`, it yields False at once instead of waiting, and
    True once held. The lock goes with the process, however it ends. A folder where
    the lock cannot be made (read-only) is used without it: nothing can be saved there
    either. So is one whose file system takes no locks (NFS without its lock service:
    ENOLCK), with a warning, once for each place while the process runs: the index is
    still saved and served, only two processes on it take no turns.
    """
    descriptor = _lock_file(folder)
    if descriptor is None:
        yield True
        return
    held = False
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            held = True
        except BlockingIOError:
            if not wait:
                yield False
                return
            pid = _holder(descriptor)
            logger.warning(WAITING, f"process {pid}" if pid else "its process id unknown", folder)
            if waiting is not None:
                waiting(pid)
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            held = True
        except OSError as error:
            if folder not in _UNLOCKED:  # every start, reload and feed round locks: said once
                _UNLOCKED.add(folder)
                logger.warning(
                    "cannot lock the saved index in %s (%s); using it without the lock"
                    " (not told again while this process runs)",
                    folder,
                    error,
                )
        if held:
            _write_holder(descriptor, f"{os.getpid()}\n")
        yield True
    finally:
        if held:  # the next holder writes its own id
            _write_holder(descriptor, "")
        os.close(descriptor)


WAITING = "another process (%s) is working on the saved index in %s; waiting for it"
_WAITING_LINE = re.compile(
    r"another process \((?:process (\d+)|its process id unknown)\)"
    r" is working on the saved index in .*; waiting for it"
)


def holder_waited_for(message: str) -> str | None:
    """The process id a log record of `exclusive` says it waits for ("" if unknown); None if
    the record is no such wait. A process that indexes in a child hears so from its log."""
    waiting = _WAITING_LINE.fullmatch(message)
    return None if waiting is None else waiting.group(1) or ""


def _write_holder(descriptor: int, text: str) -> None:
    with contextlib.suppress(OSError):  # a lock file this process may only read
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, text.encode(), 0)


def _holder(descriptor: int) -> str:
    """The process id of who holds the lock of `descriptor`, as its lock file says ("" if unknown)."""
    try:
        written = os.pread(descriptor, 32, 0).strip()
    except OSError:
        written = b""
    return str(int(written)) if written.isdigit() else ""


def _lock_file(folder: Path) -> int | None:
    """A descriptor of the place's lock file, made if need be (for reading only where it
    cannot be written); None if it cannot be opened at all. A symbolic link planted at its
    name is replaced by a file, never followed: the file it leads to stays untouched."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    lock = folder / LOCK
    if lock.is_symlink():  # never followed; left there, it would turn the lock off unseen
        _remove_link(lock)
    for flags in (os.O_RDWR | os.O_CREAT, os.O_RDONLY | os.O_CREAT):
        with contextlib.suppress(OSError):
            return os.open(lock, flags | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
    return None


def _remove_link(lock: Path) -> None:
    """Remove the symbolic link found at `lock`, its folder locked meanwhile (where it can
    be): two processes that found it at once each removed what was there, the later one the
    file the other had made and locked in its place, and each held a lock of its own."""
    folder = lock.parent
    with contextlib.ExitStack() as held:
        with contextlib.suppress(OSError):
            descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            held.callback(os.close, descriptor)
            fcntl.flock(descriptor, fcntl.LOCK_EX)
        if not lock.is_symlink():  # the other process replaced it first
            return
        try:
            lock.unlink()
        except OSError as error:
            logger.warning(
                "the saved index's lock file in %s is a symbolic link (%s); using the index without the lock",
                folder,
                error,
            )
        else:
            logger.warning("the index's lock file in %s was a symbolic link; replaced by a file", folder)


def prune(index_dir: Path, keep: Path) -> list[str]:
    """Remove the saved indexes of corpus folders gone for `GONE_FOR`; their paths, for a log line.

    Only places this module made are looked at: a folder whose `corpus` file names a path
    that leads back to that very folder, and not a link to one, since its `missing` mark
    would be made or removed where the link leads.
    """
    removed: list[str] = []
    try:
        folders = [
            folder
            for folder in index_dir.iterdir()
            if folder != keep and folder.is_dir() and not folder.is_symlink()
        ]
    except OSError:
        return removed
    for folder in folders:
        try:
            corpus = Path(os.fsdecode(store.read_file(folder / MARKER).rstrip(b"\n")))
            if folder not in (place(index_dir, corpus), place(index_dir, corpus, custom=True)):
                continue
            if corpus.exists():
                in_use(folder)
                continue
            if not _missing_long(folder / MISSING):
                continue
        except OSError:  # no marker, or its folder cannot be looked at: not ours to judge
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(str(corpus))
    return removed


def in_use(folder: Path) -> None:
    """Clear the mark that the corpus of the place `folder` was missing: it is there again."""
    with contextlib.suppress(OSError):  # a read-only index folder: nothing is pruned from it either
        (folder / MISSING).unlink(missing_ok=True)


def _missing_long(mark: Path) -> bool:
    """Whether `mark` says its corpus folder has been missing for `GONE_FOR`; if there is
    no mark yet, make it: the folder is missing from now on."""
    try:
        return time.time() - mark.stat().st_mtime >= GONE_FOR
    except FileNotFoundError:
        mark.touch()
        return False


def adopt_top_level(index_dir: Path, default_options: dict[str, Any]) -> None:
    """Move a saved index of the earlier layout (its pointer at the top of `index_dir`) to its
    corpus's place, if it was built with `default_options`; remove it otherwise.

    The build folder moves first and the pointer last, each with one rename: a stop in
    between leaves a place without a pointer, which the next start builds, as without an
    index; never a pointer to half a build.
    """
    build = store.current_build(index_dir)
    if build is None:
        return
    pointer, checked, built = index_dir / store.POINTER, index_dir / store.CHECKED, index_dir / build
    target = _top_level_place(index_dir, built, default_options)
    try:
        if target is None:
            for path in (pointer, checked):
                path.unlink(missing_ok=True)
            shutil.rmtree(built, ignore_errors=True)
            logger.info("removed the saved index at the top of %s: it could not be moved", index_dir)
            return
        os.rename(built, target / build)
        if checked.exists():
            os.replace(checked, target / store.CHECKED)
        os.replace(pointer, target / store.POINTER)
    except OSError as error:  # another process moved it first, or the folder is read-only
        logger.info("could not move the saved index at the top of %s: %s", index_dir, error)
        return
    logger.info("moved the saved index at the top of %s to %s", index_dir, target)


def _top_level_place(index_dir: Path, built: Path, default_options: dict[str, Any]) -> Path | None:
    """The place, claimed, for a build of the earlier layout; None if it has no use: it was
    built with other options, its manifest is unreadable, or its corpus has a saved index."""
    try:
        manifest = json.loads(store.read_file(built / store.MANIFEST))
        if manifest["options"] != default_options:
            return None
        corpus = Path(manifest["corpus"])
        target = place(index_dir, corpus)
        if store.current_build(target) is not None:
            return None
        claim(target, corpus)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return target

"""Which entries of a corpus folder are read, and reading them so that none can hang or escape.

Only regular files are read. Every other entry below the folder is reported with its
reason instead: a named pipe or a device (reading one would wait forever or never end), a
link to a folder (never followed: it would read articles twice, or loop), a link whose
target lies outside the folder (never followed: a corpus must not serve files from
elsewhere on the disk), a name that is not valid UTF-8 (it could not become an article
id). A link to a file inside the folder is followed.

The checks are made on the opened file, not only before it: every folder on the way is
opened without following links, the file itself with `O_NOFOLLOW | O_NONBLOCK`, and the
descriptor's own `fstat` must say "regular file". An entry swapped for a pipe, a device
or a link between the check and the read is therefore refused, never waited on and never
followed out of the folder.

Each read also yields the entry's print (`FilePrint`): the size, change time and SHA-256 of the
very bytes read, which the saved index keeps to tell later whether the file changed.
Listing the folder also stamps each folder in it (`FolderStamp`), which tells later,
without listing anything, whether an entry was added, removed or renamed since.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from .reasons import Reason

__all__ = [
    "MAX_FILE_BYTES",
    "CorpusFolder",
    "FilePrint",
    "FolderStamp",
    "NotRead",
    "corpus_files",
    "not_read",
    "relative_path",
    "sorted_entries",
    "stamps_match",
]

MAX_FILE_BYTES = 20 * 1024 * 1024
"""Larger files are reported, not read: no news article is 20 MB of text."""
RECENT_NS = 2_000_000_000
"""A file modified this recently may be changed again within the same timestamp tick
(2 s on the coarsest file systems), so its time cannot show that later change."""

FilePrint = list[Any]
"""An entry as last read: `[size, ctime_ns, sha256]` of the bytes read, `ctime_ns` None
when the file was changing or too recently changed for its time to be trusted; or
`[None, None, [kind, facts]]` for an entry that is not read, and why (see `not_read`)."""

FolderStamp = list[int] | None
"""A folder as listed: `[inode, mtime_ns, ctime_ns]`, taken just before its listing, or None
when it changed too recently for its times to show a later change. A folder's times
change whenever an entry is added to it, removed or renamed (the change time even when
the modification time is set back, as `rsync -a` does), but not when a file in it is
edited in place."""

_KINDS = (
    (stat.S_ISDIR, "link_to_folder"),
    (stat.S_ISFIFO, "named_pipe"),
    (stat.S_ISCHR, "character_device"),
    (stat.S_ISBLK, "block_device"),
    (stat.S_ISSOCK, "socket"),
)
_DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


class NotRead(Exception):
    """An entry that is not read as an article file, for `reason`."""

    def __init__(self, reason: Reason) -> None:
        super().__init__(reason)
        self.reason = reason


def not_read(found: FilePrint) -> Reason:
    """Why the entry of print `found` (`[None, None, [kind, facts]]`) is not read."""
    kind, facts = found[2]
    return Reason.of(kind, **facts)


def corpus_files(root: Path, stamps: dict[str, FolderStamp] | None = None) -> list[Path]:
    """Every non-hidden entry below `root` that is not a folder, sorted.

    Pipes, devices and links are listed too, so that each one is reported rather than
    silently left out; so is a folder below `root` that cannot be listed. `stamps` receives each
    listed folder's stamp, by its path relative to `root` ("" for `root` itself).
    """
    return [Path(path) for path in sorted_entries(root, stamps)]


def sorted_entries(root: Path, stamps: dict[str, FolderStamp] | None = None) -> list[str]:
    """The paths of `corpus_files`, as strings: in the same order, at a fraction of the cost
    for an archive (parts compared as `Path` compares them, without making a `Path` each)."""
    entries = (entry.path for entry in _entries(str(root), stamps, len(os.path.join(str(root), ""))))
    return sorted(entries, key=lambda path: path.split(os.sep))


def stamps_match(root: Path, stamps: dict[str, FolderStamp]) -> bool:
    """Whether every folder still has the stamp it had when listed: then no entry below
    `root` was added, removed or renamed since (a file edited in place is not seen)."""
    for relative, stamp in stamps.items():
        try:
            now = _stamp(os.stat(os.path.join(root, relative)))
        except OSError:
            return False
        if stamp is None or now != stamp:
            return False
    return bool(stamps)


class CorpusFolder:
    """A corpus folder: the one place that decides what below it is read, and reads it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.real = os.path.realpath(root)
        self._inside = os.path.join(self.real, "")

    def listing(self, stamps: dict[str, FolderStamp] | None = None) -> Iterator[tuple[str, str, str]]:
        """Each entry's name (see `name`), its path relative to the folder, and its path.

        Made from the directory listing's strings, not `Path` objects: an archive of
        hundreds of thousands of files is listed in well under a second. `stamps`
        receives each folder's stamp (see `corpus_files`).
        """
        skip = len(os.path.join(str(self.root), ""))
        for entry in _entries(str(self.root), stamps, skip):
            relative = entry.path[skip:] if os.sep == "/" else entry.path[skip:].replace(os.sep, "/")
            yield printable(relative), relative, entry.path

    def name(self, path: Path) -> str:
        """The name of the entry at `path` in prints and load problems: relative, `/`-separated."""
        return printable(self.relative(path))

    def relative(self, path: Path) -> str:
        """`path` relative to the folder, `/`-separated, as the file system decoded it."""
        return path.relative_to(self.root).as_posix()

    def read(
        self, path: str, relative: str, known: FilePrint | None = None
    ) -> tuple[bytes | None, FilePrint]:
        """The bytes of the entry at `path` (`relative` to the folder, `/`-separated) and its print.

        Without reading: when the entry is not read (the print says why), and when its size
        and change time (ctime, which nothing sets back) are those of `known`, which is then
        returned as its print.
        """
        try:
            info, parts = self._check(path, relative)
            if known and known[1] is not None and (known[0], known[1]) == (info.st_size, info.st_ctime_ns):
                return None, known
            return _read_beneath(self.real, parts)
        except NotRead as why:
            return None, _unread(why.reason)
        except OSError as error:
            if error.errno in (errno.ELOOP, errno.ENOTDIR):
                return None, _unread(Reason.of("link_appeared"))
            return None, _unread(Reason.of("unreadable", error=error.strerror or str(error)))

    def _check(self, path: str, relative: str) -> tuple[os.stat_result, list[str]]:
        """The entry's status and its real path's parts below the folder, if it is to be read."""
        if not _is_utf8(relative):
            raise NotRead(Reason.of("name_not_utf8"))
        info = os.lstat(path)
        if stat.S_ISDIR(info.st_mode):  # listed only when it could not be listed itself
            raise _unlistable(path)
        parts = relative.split("/")
        if stat.S_ISLNK(info.st_mode):
            target = os.path.realpath(path)
            if target != self.real and not target.startswith(self._inside):
                raise NotRead(Reason.of("link_outside", target=printable(target)))
            try:
                info = os.stat(target)
            except FileNotFoundError:
                raise NotRead(Reason.of("link_to_nothing")) from None
            except OSError as error:
                if error.errno == errno.ELOOP:
                    raise NotRead(Reason.of("link_loop")) from None
                raise
            parts = target[len(self._inside) :].split(os.sep)
        _check_regular(info)
        return info, parts


def printable(name: str) -> str:
    """A file name as text that can be shown and saved, one line, and never another file's.

    A byte that is not UTF-8 is written `\\xNN`; a line break or another character that
    does not print is written as in Python (`\\n`, `\\u2028`), so that a name, legal on
    Linux, cannot start a line of its own in a log or a report; and a backslash is doubled,
    so that a file really named `caf\\xe9.txt` is not shown, saved and indexed as the
    Latin-1 `café.txt` beside it.
    """
    if name.isprintable() and "\\" not in name:  # nearly every name: a lone surrogate does not print
        return name
    return "".join(map(_escaped, name))


_SHORT_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_ESCAPE = re.compile(r"\\(\\|n|r|t|x[0-9a-f]{2}|u[0-9a-f]{4}|U[0-9a-f]{8})")
_UNESCAPED = {escape: char for char, escape in _SHORT_ESCAPES.items()}


def relative_path(name: str) -> str:
    """The path, relative to the folder, of the entry shown as `name` by `printable`, which
    escapes without loss: a print is kept under the name shown (`bell\\u0007.txt`), which is
    not the file's own."""
    return _ESCAPE.sub(_unescaped, name) if "\\" in name else name


def _unescaped(escape: re.Match[str]) -> str:
    written = escape.group(0)
    if written in _UNESCAPED:
        return _UNESCAPED[written]
    code = int(written[2:], 16)
    return chr(0xDC00 + code) if written[1] == "x" else chr(code)


def _escaped(char: str) -> str:
    if char in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[char]
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that is not UTF-8, as the file system decoder keeps it
        return f"\\x{code - 0xDC00:02x}"
    if char.isprintable():
        return char
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _is_utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # a byte that is not UTF-8, kept by the file system decoder as a surrogate
        return False
    return True


def _entries(
    folder: str, stamps: dict[str, FolderStamp] | None = None, skip: int = 0
) -> Iterator[os.DirEntry[str]]:
    """Every non-hidden entry below `folder` that is not a folder itself, in no order, and
    each folder below it that cannot be listed, so that it is reported, not left out unseen.

    Each folder is stamped into `stamps` (by its path past the first `skip` characters)
    before it is listed, so that a change made after the stamp always shows in it. The
    walk keeps its own stack of folders, so that a chain of folders nested deeper than
    Python's recursion limit is listed like any other.
    """
    pending = [_listed(folder, stamps, skip) or iter(())]
    while pending:
        entry = next(pending[-1], None)
        if entry is None:
            pending.pop()
        elif not entry.is_dir(follow_symlinks=False):
            yield entry
        elif (listed := _listed(entry.path, stamps, skip)) is not None:
            pending.append(listed)
        else:
            yield entry  # reported by `CorpusFolder.read`


def _listed(
    folder: str, stamps: dict[str, FolderStamp] | None, skip: int
) -> Iterator[os.DirEntry[str]] | None:
    """The non-hidden entries of `folder`, stamped just before it is listed; None if it cannot be."""
    try:
        if stamps is not None:
            stamps[folder[skip:]] = _stamp(os.stat(folder))
        with os.scandir(folder) as listing:
            entries = list(listing)
    except OSError:
        if stamps is not None:
            stamps[folder[skip:]] = None  # unreadable now: never matches
        return None
    return (entry for entry in entries if not entry.name.startswith("."))


def _unlistable(path: str) -> NotRead:
    """Why the folder at `path` is reported: the articles in it are not served."""
    try:
        with os.scandir(path):
            return NotRead(Reason.of("folder_not_listed"))
    except OSError as error:
        return NotRead(Reason.of("folder_unlistable", error=error.strerror or str(error)))


def _unread(reason: Reason) -> FilePrint:
    """The print of an entry that is not read, for `reason` (JSON, as the saved index keeps it)."""
    return [None, None, [reason.kind, dict(reason.facts)]]


def _stamp(info: os.stat_result) -> FolderStamp:
    """A folder's stamp, or None if it changed within `RECENT_NS`: a later change in the
    same tick of the file system's clock would leave its times as they are."""
    if time.time_ns() - max(info.st_mtime_ns, info.st_ctime_ns) < RECENT_NS:
        return None
    return [info.st_ino, info.st_mtime_ns, info.st_ctime_ns]


def _check_regular(info: os.stat_result) -> None:
    if stat.S_ISREG(info.st_mode):
        if info.st_size > MAX_FILE_BYTES:
            raise NotRead(Reason.of("too_large", size=info.st_size, most=MAX_FILE_BYTES))
        return
    raise NotRead(Reason.of(next((why for kind, why in _KINDS if kind(info.st_mode)), "not_regular")))


def _read_beneath(root: str, parts: Sequence[str]) -> tuple[bytes, FilePrint]:
    """Read `root/parts...` following no link, and print what was read."""
    descriptor = _open_beneath(root, parts)
    try:
        before = os.fstat(descriptor)
        _check_regular(before)  # a pipe or a device swapped in since the check is never read
        data = _read_at_most(descriptor, MAX_FILE_BYTES + 1)
        after = os.fstat(descriptor)
    finally:
        os.close(descriptor)
    if len(data) > MAX_FILE_BYTES:
        raise NotRead(Reason.of("grew_too_large", most=MAX_FILE_BYTES))
    # The change time, not the modification time: `touch -r`, `cp -p` or `rsync -t` set the
    # latter back after a rewrite of the same size, while every write or `utime` moves the former.
    steady = before.st_ctime_ns == after.st_ctime_ns and before.st_size == after.st_size == len(data)
    settled = time.time_ns() - max(after.st_mtime_ns, after.st_ctime_ns) >= RECENT_NS  # as `_stamp`
    ctime = after.st_ctime_ns if steady and settled else None  # None: hash it again next time
    return data, [len(data), ctime, hashlib.sha256(data).hexdigest()]


def _open_beneath(root: str, parts: Sequence[str]) -> int:
    """Open the file `root/parts...` for reading without following a link at any step.

    A folder on the way swapped for a link fails with `ELOOP` or `ENOTDIR` instead of
    leading out of the corpus; `O_NONBLOCK` keeps the open of a pipe from waiting.
    """
    folder = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in parts[:-1]:
            inner = os.open(part, _DIRECTORY_FLAGS, dir_fd=folder)
            os.close(folder)
            folder = inner
        return os.open(parts[-1], _FILE_FLAGS, dir_fd=folder)
    finally:
        os.close(folder)


def _read_at_most(descriptor: int, limit: int) -> bytes:
    chunks, size = [], 0
    while size < limit:
        chunk = os.read(descriptor, min(1 << 20, limit - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)

"""Fetched articles -> ordinary corpus files: one `.md` with a YAML front matter each.

They land under `CORPUS_DIR/feeds/<source>/`, where a person can read, edit or delete
them like any other article. File and folder names are made here from a small safe
alphabet (word characters and `-`), whatever a feed's titles or URLs say, and `feeds/`
and the folder are opened without following symlinks, so a feed can never write outside it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import hashlib
import logging
import os
import re
import secrets
import stat
import time
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml

from .render import shorten

__all__ = [
    "ABANDONED_AFTER",
    "FEEDS_DIR",
    "LINKS_FOLDER",
    "NewArticle",
    "OutsideFolderError",
    "article_file_name",
    "folder_name",
    "remove_abandoned",
    "render_markdown",
    "text_fingerprint",
    "write_article",
]

logger = logging.getLogger(__name__)

FEEDS_DIR = "feeds"
LINKS_FOLDER = "links"
"""Where articles added one link at a time (`/add URL`) go: a name no feed may take."""
DateSource = Literal["feed", "page", "fetch time", "saved before"]
"""Where an article's date came from; "saved before": an article brought back from an undated page
keeps the date it was saved with."""
TITLE_CHARS = 1000
SOURCE_CHARS = 300
"""What is saved of a title and an outlet's name: more than answers show of them (300 and
100 characters), and few enough that a front matter stays within the 16 KB the corpus
reads of one. A feed titled at 18,000 characters made each of its articles a file the
corpus refused."""
_NOT_WORD = re.compile(r"[\W_]+")
_SAFE_NAME = re.compile(r"[\w][\w.-]{0,150}")
_WORDS = re.compile(r"\w+")
_TEMPORARY = re.compile(r"\..+\.[0-9a-f]{12}\.tmp")
"""A temporary of `write_article`: `.NAME.HEX.tmp`."""
_FOLDER = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
ABANDONED_AFTER = 60
"""Seconds after which a temporary no writer locks is abandoned: a writer locks it at once."""


class OutsideFolderError(OSError):
    """The folder an article would go to resolves outside `CORPUS_DIR/feeds/<source>`."""


@dataclass(frozen=True, slots=True)
class NewArticle:
    """An article ready to be saved, and where its date came from."""

    title: str
    date: dt.date
    date_source: DateSource
    url: str
    source: str
    paragraphs: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)


def slug(text: str, limit: int) -> str:
    """Lower-case words joined by `-`, at most `limit` characters: safe in any file name.

    And at most `3 * limit` bytes in UTF-8, what `limit` letters of the common scripts
    take: file names are bounded in bytes (255), and 60 letters of a CJK extension, 4
    bytes each, made a name the system refused.
    """
    words = _NOT_WORD.sub("-", unicodedata.normalize("NFKC", text).casefold()).strip("-")
    return words[:limit].encode()[: 3 * limit].decode("utf-8", "ignore").rstrip("-")


def folder_name(name: str, taken: Collection[str] = ()) -> str:
    """A feed's folder under `feeds/`: its name as a slug, made unique against `taken`."""
    base = slug(name, 40) or "feed"
    if base == LINKS_FOLDER:
        base = f"{base}-feed"
    candidate, number = base, 2
    while candidate in taken:
        candidate, number = f"{base}-{number}", number + 1
    return candidate


def article_file_name(article: NewArticle, key: str) -> str:
    """`2024-05-03-headline-words-1a2b3c4d5e.md`: sortable by date, unique by `key` (its URL)."""
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:10]
    words = slug(article.title, 60)
    return f"{article.date.isoformat()}-{words + '-' if words else ''}{digest}.md"


def text_fingerprint(paragraphs: tuple[str, ...] | list[str]) -> str:
    """The same text under other markup, spacing or punctuation gets the same fingerprint."""
    words = _WORDS.findall(unicodedata.normalize("NFKC", " ".join(paragraphs)).casefold())
    return hashlib.sha256(" ".join(words).encode("utf-8")).hexdigest()[:32]


def render_markdown(article: NewArticle) -> str:
    """The file's text: front matter (`title`, `date`, `url`, `source`, `date_source`), then paragraphs.

    An article with no `url` (a feed item without a link) has none in its front matter."""
    meta = {
        "title": shorten(article.title, TITLE_CHARS),
        "date": article.date.isoformat(),
        "url": article.url,
        "source": shorten(article.source, SOURCE_CHARS),
        "date_source": article.date_source,
    }
    if not article.url:
        del meta["url"]
    front = yaml.safe_dump(
        meta,
        allow_unicode=True,
        sort_keys=False,
        width=1_000_000,
    )
    return f"---\n{front}---\n\n{article.text}\n"


def write_article(corpus_dir: Path, folder: str, file_name: str, text: str) -> Path:
    """Write `text` atomically to `corpus_dir/feeds/folder/file_name`, never elsewhere.

    Raises `OutsideFolderError` if the names are not plain names or `feeds/` or the folder
    is a symlink; an existing file of that name is replaced. The folders are opened one
    by one without following links and the file is written and renamed relative to the
    folder's descriptor, so a folder swapped for a link meanwhile is never written through.
    The file is flushed to disk before the rename and the folder after it (as a saved
    index is): a power cut after the rename otherwise could leave an empty article where
    the state file records a saved one, never fetched again.
    """
    if not (_SAFE_NAME.fullmatch(folder) and _SAFE_NAME.fullmatch(file_name)) or ".." in folder + file_name:
        raise OutsideFolderError(f"refusing unsafe names {folder!r} / {file_name!r}")
    corpus_dir.mkdir(parents=True, exist_ok=True)
    directory = os.open(corpus_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for name in (FEEDS_DIR, folder):
            inner = _enter(directory, name, corpus_dir)
            os.close(directory)
            directory = inner
        # a name of its own, made with O_EXCL: another writer of the same article (a thread, or a
        # bot in another container whose process id is the same) is never truncated nor renamed
        temporary = f".{file_name}.{secrets.token_hex(6)}.tmp"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        descriptor = os.open(temporary, flags, 0o600, dir_fd=directory)
        try:
            with contextlib.suppress(OSError):  # a file system without locks: see `remove_abandoned`
                fcntl.flock(descriptor, fcntl.LOCK_EX)  # held until renamed: this writer lives
            with os.fdopen(descriptor, "w", encoding="utf-8", closefd=False) as stream:
                os.fchmod(stream.fileno(), 0o644)  # readable as any article file
                stream.write(text)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, file_name, src_dir_fd=directory, dst_dir_fd=directory)
            _flush_folder(directory)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary, dir_fd=directory)
            raise
        finally:
            os.close(descriptor)
    finally:
        os.close(directory)
    return corpus_dir.resolve() / FEEDS_DIR / folder / file_name


def remove_abandoned(corpus_dir: Path) -> int:
    """Remove the temporaries of writers killed mid-write from the folders under `feeds/`; how many.

    A process killed while it wrote an article (SIGKILL, a feed round ended by a stopping
    bot) leaves its hidden `.NAME.HEX.tmp`, which no one would ever remove. A writer locks
    its temporary until it is renamed (`write_article`), and the lock goes with the
    process however it ends; so one that can be locked has no writer left, while one of a
    live writer (another bot, `newsbot fetch`, a process suspended for days) stays. One
    made under `ABANDONED_AFTER` seconds ago stays too: its writer may not have locked it yet.
    Run as the bot starts and as each feed round does.
    """
    removed, feeds_dir = 0, corpus_dir / FEEDS_DIR
    try:
        feeds = os.open(feeds_dir, _FOLDER)
    except OSError:  # no feed saved yet, or not ours to look into
        return 0
    try:
        with os.scandir(feeds) as entries:
            folders = [entry.name for entry in entries]
        for name in folders:
            try:
                folder = os.open(name, _FOLDER, dir_fd=feeds)
            except OSError:  # a file, a link, or gone meanwhile
                continue
            try:
                with os.scandir(folder) as entries:
                    names = [entry.name for entry in entries if _TEMPORARY.fullmatch(entry.name)]
                removed += sum(_remove_if_abandoned(folder, name) for name in names)
            finally:
                os.close(folder)
    finally:
        os.close(feeds)
    if removed:
        logger.info("removed %d temporary files that writers killed mid-write left in %s", removed, feeds_dir)
    return removed


def _remove_if_abandoned(folder: int, name: str) -> bool:
    """Remove the temporary `name` of the folder open as `folder` if no writer holds it."""
    try:
        descriptor = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=folder)
    except OSError:
        return False
    try:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode) or time.time() - status.st_mtime < ABANDONED_AFTER:
            return False
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a live writer's: BlockingIOError
        os.unlink(name, dir_fd=folder)
    except OSError:  # held, gone meanwhile, or a file system without locks: left as it is
        return False
    finally:
        os.close(descriptor)
    return True


def _flush_folder(directory: int) -> None:
    """Flush the entries of the folder open as `directory` to disk, so a rename in it lasts.

    Some file systems (network shares, FUSE) refuse to flush a folder (EINVAL): their
    entries then last as they do there, as the saved index accepts too.
    """
    try:
        os.fsync(directory)
    except OSError as error:
        if error.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
            raise


def _enter(parent: int, name: str, corpus_dir: Path) -> int:
    """The folder `name` in the folder open as `parent`, made if need be, never through a link;
    a folder made is flushed into its parent, so its articles outlast a power cut too."""
    with contextlib.suppress(FileExistsError):
        os.mkdir(name, dir_fd=parent)
        _flush_folder(parent)
    try:
        return os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent)
    except OSError:
        if stat.S_ISLNK(os.stat(name, dir_fd=parent, follow_symlinks=False).st_mode):
            raise OutsideFolderError(f"{name} in {corpus_dir} is a link, which may lead outside it") from None
        raise  # a file where the folder goes

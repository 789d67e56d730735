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
import hashlib
import os
import re
import secrets
import stat
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml

from .render import shorten

__all__ = [
    "FEEDS_DIR",
    "LINKS_FOLDER",
    "NewArticle",
    "OutsideFolderError",
    "article_file_name",
    "folder_name",
    "render_markdown",
    "text_fingerprint",
    "write_article",
]

FEEDS_DIR = "feeds"
LINKS_FOLDER = "links"
"""Where articles added one link at a time (`/add URL`) go: a name no feed may take."""
DateSource = Literal["feed", "page", "fetch time"]
TITLE_CHARS = 1000
SOURCE_CHARS = 300
"""What is saved of a title and an outlet's name: more than answers show of them (300 and
100 characters), and few enough that a front matter stays within the 16 KB the corpus
reads of one. A feed titled at 18,000 characters made each of its articles a file the
corpus refused."""
_NOT_WORD = re.compile(r"[\W_]+")
_SAFE_NAME = re.compile(r"[\w][\w.-]{0,150}")
_WORDS = re.compile(r"\w+")


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
    """The file's text: front matter (`title`, `date`, `url`, `source`, `date_source`), then paragraphs."""
    front = yaml.safe_dump(
        {
            "title": shorten(article.title, TITLE_CHARS),
            "date": article.date.isoformat(),
            "url": article.url,
            "source": shorten(article.source, SOURCE_CHARS),
            "date_source": article.date_source,
        },
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
            with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
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
        os.close(directory)
    return corpus_dir.resolve() / FEEDS_DIR / folder / file_name


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

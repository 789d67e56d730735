"""The I/O edge of retrieval: a corpus folder -> articles and a load report.

Reads every article file under a folder, recursively, in three formats:

- `.txt`, the house format: a first line ` date YYYY-MM-DD headline`, then paragraphs
  separated by blank lines; a paragraph like `Name (Photo: Agency)` is the photo caption;
- `.md` with a YAML front matter (`title`, `date`, optional `url`, `source`);
- `.jsonl`, one article an object (`id`, `title`, `date`, `text`, optional `url`,
  `source`), as scrapers and CMS exports write them.

A file that cannot be read becomes a `LoadProblem` with a one-line reason and the rest
still load: one bad file must never take the whole corpus down. Hidden files and folders
(a leading dot, like the index cache) are not part of the corpus.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from .errors import CorpusError
from .models import Article, LoadProblem, LoadReport

__all__ = [
    "ARTICLE_SUFFIXES",
    "DUPLICATE_ID",
    "MAX_FILE_BYTES",
    "corpus_files",
    "load_corpus",
    "load_files",
    "parse_file",
]

ARTICLE_SUFFIXES = (".txt", ".md", ".jsonl")
MAX_FILE_BYTES = 20 * 1024 * 1024
"""Larger files are reported, not read: no news article is 20 MB of text."""
_MAX_FRONT_MATTER = 16 * 1024
DUPLICATE_ID = "duplicate article id"

_DATE_LINE = re.compile(r"\s*date\s+(\S+)\s*(.*)")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_BLANK_LINES = re.compile(r"\n[ \t\r\f\v]*\n")
_CAPTION = re.compile(r"[^\n]{1,300}\((?:Photo|Photos|Фото)\b[^()\n]{0,200}\)", re.IGNORECASE)
_SPACES = re.compile(r"\s+")


class _BadArticle(ValueError):
    """A file's content is not an article; the message is the load report's reason."""


def load_corpus(folder: str | os.PathLike[str]) -> tuple[list[Article], LoadReport]:
    """Read every article under `folder`; raise `CorpusError` only if it is unreadable.

    Articles are returned in path order, so loads are reproducible.
    """
    root = Path(folder)
    if not root.is_dir():
        raise CorpusError(f"corpus folder {str(root)!r} does not exist or is not a folder")
    files = corpus_files(root)
    articles, _, problems = load_files(root, files)
    return articles, LoadReport(len(files), len(articles), tuple(problems))


def load_files(
    root: Path, paths: Iterable[Path], taken: Iterable[str] = ()
) -> tuple[list[Article], list[str], list[LoadProblem]]:
    """Parse files in order: their articles, each one's file (relative path), the problems.

    An article whose id is in `taken` or came earlier is a duplicate and is reported,
    not loaded: ids name articles in answers and must be unique.
    """
    articles: list[Article] = []
    sources: list[str] = []
    problems: list[LoadProblem] = []
    seen = set(taken)
    for path in paths:
        found, file_problems = parse_file(root, path)
        problems.extend(file_problems)
        for article in found:
            if article.id in seen:
                problems.append(LoadProblem(_relative(root, path), f"{DUPLICATE_ID} {article.id!r}"))
                continue
            seen.add(article.id)
            articles.append(article)
            sources.append(_relative(root, path))
    return articles, sources, problems


def corpus_files(root: Path) -> list[Path]:
    """Every non-hidden file below `root`, sorted; unreadable folders are skipped."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        found.extend(Path(dirpath, name) for name in filenames if not name.startswith("."))
    return sorted(found)


def parse_file(root: Path, path: Path) -> tuple[list[Article], list[LoadProblem]]:
    """Parse one file into articles, never raising: failures become problems."""
    relative = _relative(root, path)
    article_id = relative.rsplit(".", 1)[0] if "." in Path(relative).name else relative
    suffix = path.suffix.lower()
    try:
        if suffix not in ARTICLE_SUFFIXES:
            raise _BadArticle(
                f"unknown extension {path.suffix or '(none)'!r}; articles are {', '.join(ARTICLE_SUFFIXES)}"
            )
        text = _read_text(path)
        if suffix == ".jsonl":
            return _parse_jsonl(text, article_id, relative)
        parse = _parse_txt if suffix == ".txt" else _parse_md
        return [parse(text, article_id)], []
    except _BadArticle as error:
        return [], [LoadProblem(relative, str(error))]
    except OSError as error:
        return [], [LoadProblem(relative, f"cannot be read: {error.strerror or error}")]


def _relative(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def _read_text(path: Path) -> str:
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise _BadArticle(f"is {size:,} bytes, over the {MAX_FILE_BYTES:,}-byte limit")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise _BadArticle(f"is not UTF-8 text (byte {error.start})") from None
    if "\x00" in text:
        raise _BadArticle("is binary, not text (it contains NUL bytes)")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _parse_txt(text: str, article_id: str) -> Article:
    first, _, body = text.lstrip("\n").partition("\n")
    match = _DATE_LINE.fullmatch(first)
    if match is None:
        raise _BadArticle("line 1 is not ' date YYYY-MM-DD headline'")
    date = _parse_date(match.group(1))
    return _article(article_id, match.group(2), date, _paragraphs(body))


def _parse_md(text: str, article_id: str) -> Article:
    if not text.startswith("---\n"):
        raise _BadArticle("has no YAML front matter (a first line '---')")
    end = text.find("\n---", 4)
    if end < 0:
        raise _BadArticle("front matter is not closed by a line '---'")
    front = text[4:end]
    if len(front) > _MAX_FRONT_MATTER:
        raise _BadArticle(f"front matter is over {_MAX_FRONT_MATTER:,} characters")
    meta = _safe_yaml(front)
    body = text[end + 4 :].partition("\n")[2]
    return _from_fields(meta, article_id, [p.lstrip("#").strip() for p in _paragraphs(body)])


def _safe_yaml(front: str) -> dict[str, Any]:
    """Load a front matter, refusing aliases: they are how YAML bombs multiply."""
    try:
        events = list(yaml.parse(front, Loader=yaml.SafeLoader))
        if any(isinstance(event, yaml.AliasEvent) for event in events):
            raise _BadArticle("front matter uses YAML aliases, which are not allowed")
        meta = yaml.safe_load(front)
    except yaml.YAMLError as error:
        raise _BadArticle(f"front matter is not valid YAML: {_one_line(error)}") from None
    if not isinstance(meta, dict):
        raise _BadArticle("front matter is not a mapping of fields")
    return meta


def _parse_jsonl(text: str, file_id: str, relative: str) -> tuple[list[Article], list[LoadProblem]]:
    articles: list[Article] = []
    problems: list[LoadProblem] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        where = f"{relative}:{number}"
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise _BadArticle("is not a JSON object")
            if record.get("id") in (None, ""):
                raise _BadArticle("has no 'id'")
            text_field = record.get("text")
            if not isinstance(text_field, str):
                raise _BadArticle("has no 'text' string")
            articles.append(_from_fields(record, f"{file_id}#{record['id']}", _paragraphs(text_field)))
        except json.JSONDecodeError as error:
            problems.append(LoadProblem(where, f"is not valid JSON: {error.msg}"))
        except _BadArticle as error:
            problems.append(LoadProblem(where, str(error)))
        except RecursionError:
            problems.append(LoadProblem(where, "is nested too deeply to read"))
    if not articles and not problems:
        problems.append(LoadProblem(relative, "holds no articles"))
    return articles, problems


def _from_fields(meta: dict[str, Any], article_id: str, paragraphs: list[str]) -> Article:
    raw_date = meta.get("date")
    if isinstance(raw_date, dt.datetime):
        date = raw_date.date()
    elif isinstance(raw_date, dt.date):
        date = raw_date
    elif isinstance(raw_date, str):
        date = _parse_date(raw_date[:10] if "T" in raw_date else raw_date)
    else:
        raise _BadArticle("has no 'date' (YYYY-MM-DD)")
    title = meta.get("title")
    if not isinstance(title, str):
        raise _BadArticle("has no 'title'")
    return _article(
        article_id, title, date, paragraphs, url=_optional(meta, "url"), source=_optional(meta, "source")
    )


def _optional(meta: dict[str, Any], key: str) -> str | None:
    value = meta.get(key)
    return str(value).strip() or None if value is not None else None


def _parse_date(value: str) -> dt.date:
    if not _ISO_DATE.fullmatch(value):
        raise _BadArticle(f"date {value[:40]!r} is not YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise _BadArticle(f"date {value!r} is not a real calendar date") from None


def _paragraphs(body: str) -> list[str]:
    return [p for p in (_SPACES.sub(" ", block).strip() for block in _BLANK_LINES.split(body)) if p]


def _article(
    article_id: str,
    headline: str,
    date: dt.date,
    paragraphs: list[str],
    url: str | None = None,
    source: str | None = None,
) -> Article:
    headline = _SPACES.sub(" ", headline).strip()
    if not headline:
        raise _BadArticle("has no headline")
    caption = next((p for p in paragraphs if _CAPTION.fullmatch(p)), None)
    body = tuple(p for p in paragraphs if p is not caption)
    if not body:
        raise _BadArticle("has no body text")
    return Article(article_id, headline, date, body, url=url, source=source, caption=caption)


def _one_line(error: Exception) -> str:
    return _SPACES.sub(" ", str(error)).strip()[:200]

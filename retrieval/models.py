"""Frozen values that flow through retrieval: articles, passages, hits, load reports.

They are plain data so that the index, the bot and the command line can share them
without sharing behaviour.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

from .reasons import Facts, Reason


@dataclass(frozen=True, slots=True)
class Article:
    """One news article as read from the corpus.

    `id` is the file's path relative to the corpus folder without its extension
    (`world/ukraine-talks`), or `file#id` for an article inside a `.jsonl` file.
    """

    id: str
    headline: str
    date: dt.date
    paragraphs: tuple[str, ...]
    url: str | None = None
    source: str | None = None
    caption: str | None = None

    @property
    def text(self) -> str:
        """The body as one string; passage spans index into it."""
        return "\n\n".join(self.paragraphs)


@dataclass(frozen=True, slots=True)
class Passage:
    """A stretch of one article's body: what the index ranks and the bot shows.

    `text == article.text[start:end]` always holds.
    """

    article_id: str
    position: int
    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class Hit:
    """A ranked passage with what a reader needs beside it."""

    passage: Passage
    article: Article
    score: float
    matched: frozenset[str]
    """Analyzed terms of the question found in the passage or its headline."""
    also_reported_by: tuple[Article, ...] = ()
    """Older articles telling the same story in a near-identical passage."""


@dataclass(frozen=True, slots=True)
class SearchResult:
    """Hits for a question, or the reason there are none."""

    hits: tuple[Hit, ...]
    terms: tuple[str, ...]
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class LoadProblem:
    """A file (or a line of one) that could not be read as an article.

    `reason` is in English; `kind` and `facts` tell it for a caller to word in another
    language (see `reasons`). A problem saved without them (`kind` "") has its English alone.
    """

    path: str
    """The file, as shown (see `folder.printable`)."""
    reason: str
    line: int | None = None
    """The line of a `.jsonl` file; kept apart, as a file's own name may end in `:12`."""
    kind: str = ""
    facts: Facts = ()

    @classmethod
    def of(cls, path: str, reason: Reason, line: int | None = None) -> LoadProblem:
        """The problem of `path` (at `line`) for `reason`."""
        return cls(path, str(reason), line, reason.kind, reason.facts)

    @property
    def where(self) -> str:
        """`feed.jsonl:12` for a line, else the file."""
        return self.path if self.line is None else f"{self.path}:{self.line}"

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


@dataclass(frozen=True, slots=True)
class LoadReport:
    """What a corpus load found: how many files it read and which it had to skip."""

    files: int
    articles: int
    problems: tuple[LoadProblem, ...] = field(default_factory=tuple)


Precision = Literal["day", "week", "month", "year"]


@dataclass(frozen=True, slots=True)
class Event:
    """Something an article says happened at a date, for the timeline.

    `date` is the first day of the period when the precision is coarser than a day.
    """

    date: dt.date
    precision: Precision
    sentence: str
    article_id: str
    headline: str
    published: dt.date

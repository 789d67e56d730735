"""What the bot keeps between updates: the library it serves and the questions behind buttons."""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ParamSpec, TypeVar

from retrieval import Article, Event, Library, LibraryOptions, SearchResult

from . import examples
from .fairness import BusyNotes, QuestionRateLimit
from .reloading import Reloads

SEARCHES_AT_ONCE = 2
"""Searches running in worker threads at one time (the machine's cores); more wait their turn."""
P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Asked:
    """A question behind page buttons: where and when it was asked, and in which language."""

    chat_id: int
    question: str
    as_of: dt.date
    """The day it is answered as of, the same for every page, so that pages stay put."""
    language: str
    """The asker's interface language: every page of one message reads alike."""


class QueryStore:
    """Questions behind page buttons, by a short random key, each tied to its chat.

    Telegram allows 64 bytes of callback data, far less than a question, so the button
    carries a key. A key works only in the chat it was sent to: callback data can be
    replayed from a modified client, and another chat must not page through this one's
    question. The oldest keys are forgotten first; a forgotten key is a stale button.
    """

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._questions: OrderedDict[str, Asked] = OrderedDict()

    def add(self, asked: Asked) -> str:
        """Remember a question and return its key (8 URL-safe characters)."""
        key = secrets.token_urlsafe(6)
        self._questions[key] = asked
        while len(self._questions) > self.capacity:
            self._questions.popitem(last=False)
        return key

    def get(self, key: str, chat_id: int) -> Asked | None:
        """The question behind `key` if it was issued in `chat_id`; None if not, or forgotten."""
        asked = self._questions.get(key)
        return asked if asked is not None and asked.chat_id == chat_id else None


@dataclass
class BotState:
    """The bot's mutable state; `library` is replaced whole by a reload."""

    library: Library
    corpus_dir: Path
    index_dir: Path
    admin_ids: frozenset[int]
    top_k: int
    fairness: QuestionRateLimit
    options: LibraryOptions = field(default_factory=LibraryOptions)
    """How a reloaded library ranks (`LEXICAL_ONLY`)."""
    busy_notes: BusyNotes = field(default_factory=BusyNotes)
    queries: QueryStore = field(default_factory=QueryStore)
    reloads: Reloads = field(default_factory=Reloads)
    searches: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(SEARCHES_AT_ONCE))
    _example: examples.Example | None = field(default=None, init=False, repr=False)
    """The last /help example, checked against the library each time it is shown."""

    async def search(self, question: str, k: int, now: dt.date) -> SearchResult:
        """Rank passages for a question in a worker thread (see `in_worker`)."""
        return await self.in_worker(self.library.search, question, k=k, now=now)

    async def latest(self, count: int, now: dt.date) -> list[Article]:
        """The newest articles published by `now`, in a worker thread (see `in_worker`)."""
        return await self.in_worker(self.library.latest, count, now=now)

    async def timeline(self, count: int, topic: str | None) -> list[Event]:
        """The newest dated events, on a topic if given, in a worker thread (see `in_worker`)."""
        return await self.in_worker(self.library.timeline.latest, count, topic)

    async def example_question(self) -> str | None:
        """A question the current library answers (see `examples`), in a worker thread."""
        self._example = await self.in_worker(examples.for_library, self.library, self._example)
        return self._example[0] if self._example is not None else None

    async def in_worker(self, work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a library call in a worker thread, so that no question stalls the event loop.

        While a search runs, updates keep being fetched and other chats answered; the
        index's numpy work runs outside the GIL. At most `SEARCHES_AT_ONCE` run together
        (searches, timeline topics and topic matching alike): a flood waits its turn here,
        first come first served, instead of thrashing.
        """
        async with self.searches:
            return await asyncio.to_thread(work, *args, **kwargs)

    @property
    def sizes(self) -> tuple[int, int]:
        """Articles and passages now served."""
        return len(self.library.articles), len(self.library.passages)

"""What the bot keeps between updates: the library it serves and the questions behind buttons."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import secrets
import sqlite3
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from retrieval import (
    Article,
    CorpusError,
    Event,
    IndexFileError,
    Library,
    LibraryOptions,
    LoadReport,
    SearchResult,
)

from . import alerts, examples, render
from .answered import AnsweredQuestions
from .fairness import BusyNotes, QuestionRateLimit
from .reloading import Reloads, Waiting
from .statedb import QUESTIONS_KEPT, Asked, Dropped, StateDB, off_loop

SEARCHES_AT_ONCE = 2
"""Searches running in worker threads at one time (the machine's cores); more wait their turn."""
ALBUMS_KEPT = 1000
"""Albums replied to that are remembered: an album's items arrive together, so a few suffice."""
P = ParamSpec("P")
T = TypeVar("T")
logger = logging.getLogger(__name__)


class QueryStore:
    """Questions behind page buttons, by a short random key, each tied to its chat.

    Telegram allows 64 bytes of callback data, far less than a question, so the button
    carries a key. A key works only in the chat it was sent to: callback data can be
    replayed from a modified client, and another chat must not page through this one's
    question. The latest `QUESTIONS_KEPT` are kept in memory and saved to the state file
    behind the answer, never before it (another process may hold the file's lock), so that
    the buttons of an answer sent before a restart still work. The oldest are forgotten
    first; a forgotten key is a stale button.
    """

    def __init__(self, db: StateDB, capacity: int = QUESTIONS_KEPT) -> None:
        self.db = db
        self.capacity = capacity
        self._recent: OrderedDict[str, Asked] = OrderedDict()
        self._saving: set[asyncio.Task[None]] = set()

    def add(self, asked: Asked) -> str:
        """Remember a question and return its key (8 URL-safe characters); it is saved to the
        state file in the background."""
        key = secrets.token_urlsafe(6)
        self._recent[key] = asked
        while len(self._recent) > self.capacity:
            self._recent.popitem(last=False)
        task = asyncio.get_running_loop().create_task(self._save(key, asked))
        self._saving.add(task)
        task.add_done_callback(self._saving.discard)
        return key

    async def get(self, key: str, chat_id: int) -> Asked | None:
        """The question behind `key` if it was issued in `chat_id`; None if not, or forgotten."""
        asked = self._recent.get(key)
        if asked is None:
            try:
                asked = await off_loop(self.db.asked, key)
            except sqlite3.Error as error:  # the file unreadable now: the button is stale, not broken
                logger.warning("the question behind a page button could not be read: %s", error)
        return asked if asked is not None and asked.chat_id == chat_id else None

    async def forget(self, key: str) -> None:
        """Forget the question behind `key`, in memory and in the state file: its answer's
        buttons are gone (the question was edited, and its answer with it)."""
        self._recent.pop(key, None)
        try:
            await off_loop(self.db.forget_question, key)  # after its saving: one thread, in turn
        except sqlite3.Error as error:  # pushed out by newer ones in time, as any other
            logger.warning(
                "the question behind page buttons replaced by an edit was not forgotten: %s", error
            )

    def forget_chat(self, chat_id: int) -> None:
        """Forget, in memory, the questions asked in `chat_id` (a reader who blocked the bot, whose
        questions `StateDB.forget_user` drops from the state file): their buttons expire now, not
        at a restart."""
        for key in [key for key, asked in self._recent.items() if asked.chat_id == chat_id]:
            del self._recent[key]

    async def saved(self) -> None:
        """Wait until every question added so far is saved (or failed to be)."""
        await asyncio.gather(*self._saving)

    async def _save(self, key: str, asked: Asked) -> None:
        try:
            await off_loop(self.db.remember_question, key, asked)
        except sqlite3.Error as error:  # its buttons work until a restart all the same
            logger.warning("the question behind page buttons was not saved: %s", error)


def published_by(library: Library, count: int, topic: str | None, now: dt.date) -> list[Event]:
    """The newest `count` events of the articles published by `now`, as questions and /latest
    see the corpus: an article dated later (an embargo, a year mistyped) is not shown yet, and
    an event it tells again is shown from those published by then (`Library.timeline_as_of`).

    Each event names its article by the headline answers show (`render.shown_headline`), which
    the bot's /timeline and `newsbot timeline` alike show."""
    return titled(
        library, library.timeline_as_of(now).latest(count, topic, library.holds_name, library.holds_term)
    )


def titled(library: Library, events: list[Event]) -> list[Event]:
    """`events`, those of an article whose headline shows as nothing (bidi controls alone)
    carrying the headline shown in its place, and its headline's event that headline as its
    sentence. An event carries its article's headline alone: the rest of the article is read
    only for such articles, which are rare."""
    blank = {event.article_id for event in events if not render.shows(event.headline)}
    if not blank:
        return events
    titles: dict[str, str] = {}
    for identifier in blank:
        number = library.articles.number(identifier)
        if number is None:
            continue
        try:
            titles[identifier] = render.shown_headline(library.articles[number])
        except IndexFileError:  # its saved text damaged (logged where found): its date, as for no words
            titles[identifier] = dt.date.fromordinal(int(library.articles.ordinals[number])).isoformat()

    def shown(event: Event) -> Event:
        title = titles.get(event.article_id)
        if title is None:  # not in the library: cannot be, but never fail a timeline for it
            return event
        sentence = " ".join(title.split()) if render.is_headline(event) else event.sentence
        return dataclasses.replace(event, headline=title, sentence=sentence)

    return [shown(event) if event.article_id in blank else event for event in events]


def _failed(finding: asyncio.Future[Any]) -> bool:
    """Whether `finding` ended without a result: the next /help tries again."""
    return finding.done() and (finding.cancelled() or finding.exception() is not None)


def _found(finding: asyncio.Future[examples.Example | None]) -> examples.Example | None:
    """The example `finding` found, if it is done and found one."""
    return finding.result() if finding.done() and not _failed(finding) else None


@dataclass
class BotState:
    """The bot's mutable state; `library` is replaced whole by a reload."""

    library: Library
    corpus_dir: Path
    index_dir: Path
    admin_ids: frozenset[int]
    top_k: int
    fairness: QuestionRateLimit
    queries: QueryStore
    options: LibraryOptions = field(default_factory=LibraryOptions)
    """How a reloaded library ranks (`LEXICAL_ONLY`)."""
    busy_notes: BusyNotes = field(default_factory=BusyNotes)
    reloads: Reloads = field(default_factory=Reloads)
    searches: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(SEARCHES_AT_ONCE))
    _example: tuple[LoadReport, dt.date, asyncio.Future[examples.Example | None]] | None = field(
        default=None, init=False, repr=False
    )
    """The finding of the /help example (its result None when there is none), with the report
    of the library it is found for (a library's own) and the day it is asked as of: a /help
    that comes while it is being found waits for the same finding."""
    check_corpus: bool = False
    """The library was opened on the cheap check of the corpus folders: `catch_up` checks every file."""
    background: set[asyncio.Task[None]] = field(default_factory=set)
    """Tasks nobody awaits, held here so that they run to their end."""
    answered: AnsweredQuestions = field(default_factory=AnsweredQuestions)
    """Which message answered which question, so that an edited question edits its answer."""
    replied_albums: deque[str] = field(default_factory=lambda: deque(maxlen=ALBUMS_KEPT))
    """The latest albums (`media_group_id`) replied to. Telegram delivers each photo of an
    album as a message of its own, the caption on one: the others get no hint of their own."""
    dropped: list[tuple[list[Dropped], list[Dropped]]] = field(default_factory=list)
    """The articles each library served since the last look brought and lost (`serve`), for
    the topic alerts to record (`feed_jobs`)."""

    async def serve(self, library: Library) -> None:
        """Serve `library` from now on, in place of the one served: its articles that the one
        served lacked, files dropped into the corpus folder while the bot runs, wait in
        `dropped` for the topic alerts, with those it lost (`alerts.dropped_articles`).
        Whatever brought it (/reload, the watch, new articles from the feeds): an article
        alerts once it is served, and the corpus served at start alerts no one."""
        served, self.library = self.library, library
        if library is not served:
            found = await asyncio.to_thread(alerts.dropped_articles, served, library, time.time())
            if any(found):
                self.dropped.append(found)

    async def reload(
        self, waiting: Waiting | None = None, turn_taken: Callable[[], None] | None = None
    ) -> Library | None:
        """The corpus read again (`Reloads.run`), None if the bot stopped first. A corpus that
        went from articles to none is refused (`NoArticleError`), and the articles served
        stay; while none is served (a bot started on an empty folder), a library of none
        follows it, so the files' problems are told as they change and no reload fails for
        the corpus staying empty."""
        return await self.reloads.run(
            self.corpus_dir,
            self.index_dir,
            self.options,
            waiting,
            turn_taken,
            allow_empty=lambda: self.empty,
        )

    async def search(self, question: str, k: int, now: dt.date) -> SearchResult:
        """Rank passages for a question in a worker thread (see `in_worker`)."""
        return await self.in_worker(self.library.search, question, k=k, now=now)

    async def latest(self, count: int, now: dt.date) -> list[Article]:
        """The newest articles published by `now`, in a worker thread (see `in_worker`)."""
        return await self.in_worker(self.library.latest, count, now=now)

    async def timeline(self, count: int, topic: str | None, now: dt.date) -> list[Event]:
        """The newest dated events of articles published by `now`, on a topic if given, in a
        worker thread (see `in_worker`)."""
        return await self.in_worker(published_by, self.library, count, topic, now)

    async def example_question(self, now: dt.date) -> str | None:
        """A question the current library answers as of `now`, as a question asked then is
        answered (see `examples`), found in a worker thread once for each library and day,
        found or not: /help is not counted as a question, and finding an example may take
        some tens of searches, which a flood of /help must not repeat."""
        library, cached = self.library, self._example
        if cached is None or cached[0] is not library.report or cached[1] != now or _failed(cached[2]):
            previous = _found(cached[2]) if cached is not None else None  # a new library, or day
            finding = asyncio.ensure_future(self.in_worker(examples.for_library, library, previous, now))
            cached = self._example = (library.report, now, finding)
        example = await asyncio.shield(cached[2])  # a /help that goes away leaves it to the others
        return example[0] if example is not None else None

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
    def empty(self) -> bool:
        """Whether the library served holds no article (the bot started on a folder with none)."""
        return not len(self.library.articles)

    @property
    def sizes(self) -> tuple[int, int]:
        """Articles and passages now served."""
        return len(self.library.articles), len(self.library.passages)

    async def catch_up(self) -> None:
        """Check every corpus file, off the event loop, and serve the corpus as it is now if
        one changed since the library was saved (a file edited in place, which the cheap
        check at start cannot see). A failure keeps the library served, as a failed reload does."""
        logger.info("checking every file of %s in the background", self.corpus_dir)
        try:
            library = await self.reloads.catch_up(self.corpus_dir, self.index_dir, self.library)
        except CorpusError as error:
            logger.warning("the corpus changed and cannot be read, keeping the one served: %s", error)
            return
        except Exception:  # nobody awaits this check: its failure is logged here, and the bot serves on
            logger.exception("the background check of the corpus failed; keeping the corpus served")
            return
        if library is None:
            logger.info("background check of the corpus abandoned: the bot is stopping")
        elif library is self.library or library.build == self.library.build:  # a /reload came first
            logger.info("every corpus file is as the saved index was built from")
        else:
            before = self.sizes
            await self.serve(library)
            logger.info("corpus changed since it was saved: %s -> %s articles, passages", before, self.sizes)

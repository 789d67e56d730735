"""Feeds and links -> corpus files: one round over every feed, or one link an admin sent.

A round downloads each feed (conditional GET), reads its entries, fetches the article
page when an entry carries only a summary (or no date), extracts the text, skips what
was seen before (by the item's own id or its canonical URL, then by text), and saves the
rest as `.md` files.
Each feed and each item fails alone: the problem is logged and reported, and every
other feed still lands. The state file decides every save in one transaction, so the
bot and `newsbot fetch` can run rounds at the same time. What a feed's first read saves
is its backlog (what the publisher had before the feed was added): indexed, but it
alerts no one (`alerts.is_news`).

`python -m bot.ingest OPTIONS_JSON` runs one round and prints its report as JSON: the
bot runs it in a child process, so that extracting pages never holds up its answers. An
admin's link is read in a child process too (`bot.extracting`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import html
import json
import logging
import os
import re
import sqlite3
import stat
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from retrieval.progress import counted

from .articles_out import (
    FEEDS_DIR,
    LINKS_FOLDER,
    DateSource,
    NewArticle,
    OutsideFolderError,
    article_file_name,
    remove_abandoned,
    render_markdown,
    slug,
    text_fingerprint,
    write_article,
)
from .extract import MIN_ARTICLE_CHARS, Extracted, ExtractError, decode_html, extract_article, html_paragraphs
from .extracting import FeedOutline, PageReader
from .feeds import (
    ACCEPT_FEED,
    FeedEntry,
    FeedParseError,
    ParsedFeed,
    newest,
    older_than_seen,
    parse_feed,
)
from .fetching import Fetcher, FetchError, FetchOptions, Page
from .i18n import N_, Told, reason_record
from .links import LinkError, canonical_url, checked_url, shown_url
from .logs import LOG_FORMAT
from .render import shorten, shows
from .settings import Settings
from .statedb import Claim, FeedRow, SavedArticle, StateDB, off_loop, open_state

__all__ = [
    "AddedLink",
    "FeedCheck",
    "IngestOptions",
    "NotAnArticle",
    "RoundReport",
    "add_link",
    "check_feed",
    "fetch_round",
    "options_from",
]

logger = logging.getLogger(__name__)

ACCEPT_HTML = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"
HTML_TYPES = ("text/html", "application/xhtml+xml", "")
MAX_ATTEMPTS = 3
"""A link whose page failed this many rounds is given up."""
FUTURE_SLACK = dt.timedelta(days=1)
ROUND_SECONDS = 15 * 60.0
"""How long a round may take, unless `FEED_ROUND_SECONDS` or `FEED_INTERVAL` say less: one slow
site's thousand items, each taking its whole `FEED_TIMEOUT`, held every feed's next read for
hours, and a page that trickled in held the round (and the indexing of what it brought) past
the next one's time."""
MAX_ITEMS = 200
"""Items read from one feed in one round, the newest first, unless `FEED_MAX_ITEMS` says otherwise."""
ITEMS_AT_ONCE = 8
"""Items of one feed in hand at once: a feed of 160,000 items started them all, one task each
(538 MB for the round)."""
_TAGS = re.compile(r"<[^>]*>")


class NotAnArticle(Told, ValueError):
    """A link that leads to no article: not HTML, or no article text on the page."""


@dataclass(frozen=True, slots=True)
class IngestOptions:
    """Everything a round needs, as plain values (they cross to a child process as JSON)."""

    corpus_dir: Path
    state_dir: Path
    fetch: FetchOptions = field(default_factory=FetchOptions)
    round_seconds: float = ROUND_SECONDS
    """How long a round may take: the downloads of a slow site still going or not started by
    then are cancelled and wait for the next."""
    max_items: int = MAX_ITEMS
    """Items read from one feed in a round, its newest (`feeds.newest`); the older are left unread."""

    def to_json(self) -> str:
        return json.dumps(
            {
                "corpus_dir": str(self.corpus_dir),
                "state_dir": str(self.state_dir),
                "fetch": asdict(self.fetch),
                "round_seconds": self.round_seconds,
                "max_items": self.max_items,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> IngestOptions:
        raw = json.loads(text)
        fetch = {**raw["fetch"], "private_networks": tuple(raw["fetch"]["private_networks"])}
        return cls(
            Path(raw["corpus_dir"]),
            Path(raw["state_dir"]),
            FetchOptions(**fetch),
            raw["round_seconds"],
            raw["max_items"],
        )


@dataclass
class RoundReport:
    """What a round did: feeds read, articles saved, duplicates, problems (one line each)."""

    feeds: int = 0
    unchanged: int = 0
    saved: list[str] = field(default_factory=list)
    """Corpus paths of the new articles."""
    duplicates: int = 0
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        """One line for a log or a terminal."""
        return (
            f"{counted(self.feeds, 'feed')} ({self.unchanged} unchanged): "
            f"{counted(len(self.saved), 'new article')}, {counted(self.duplicates, 'duplicate')} skipped, "
            f"{counted(len(self.problems), 'problem')}, in {self.seconds:.1f} s"
        )

    def to_json(self) -> str:
        """One line of ASCII, whatever a site put in a problem: the bot reads the child's
        last line, and a NEL or line separator (U+0085, U+2028) left as it is ends one."""
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> RoundReport:
        return cls(**json.loads(text))


@dataclass(frozen=True, slots=True)
class AddedLink:
    """How `add_link` ended, and the article (the earlier one unless "saved")."""

    outcome: Claim
    article: SavedArticle


@dataclass(frozen=True, slots=True)
class FeedCheck:
    """A feed address that was read successfully (perhaps found through an HTML page)."""

    url: str
    title: str | None
    entries: int


def options_from(settings: Settings, corpus_dir: Path | None = None) -> IngestOptions:
    """The settings a round needs, as plain values."""
    fetch = FetchOptions(
        timeout=settings.feed_timeout,
        max_bytes=settings.feed_max_bytes,
        host_delay=settings.feed_host_delay,
        user_agent=settings.feed_user_agent,
        private_networks=tuple(str(network) for network in settings.feed_private_networks),
    )
    round_seconds = min(settings.feed_interval * 60.0 or ROUND_SECONDS, settings.feed_round_seconds)
    return IngestOptions(
        corpus_dir or settings.corpus_dir, settings.state_dir, fetch, round_seconds, settings.feed_max_items
    )


async def fetch_round(
    options: IngestOptions, progress: Callable[[int, int, RoundReport], None] | None = None
) -> RoundReport:
    """Poll every feed once and save what is new; never raises for a feed's or an item's fault.

    `progress` hears how many feeds of how many are done, with the report so far: at the
    start, then as each feed is done. What writers killed mid-write left in the feeds'
    folders is removed first (`remove_abandoned`).
    """
    started = time.monotonic()
    report = RoundReport()
    await asyncio.to_thread(remove_abandoned, options.corpus_dir)
    db = open_state(options.state_dir)
    try:
        feeds = db.feeds()
        report.feeds = len(feeds)
        done = 0

        async def read(feed: FeedRow) -> None:
            nonlocal done
            try:
                await ingest.feed(feed)
            except sqlite3.Error as error:  # the state file full, or locked past its wait: not the feed
                ingest.problem(
                    f"feed {feed.name} ({shown_url(feed.url)})",
                    f"could not be recorded in the state file ({error}); read again next round",
                )
            done += 1
            if progress is not None:
                progress(done, len(feeds), report)

        if progress is not None:
            progress(0, len(feeds), report)
        async with Fetcher(options.fetch) as fetcher:
            deadline = started + options.round_seconds
            ingest = _Ingest(db, fetcher, options.corpus_dir, report, deadline, options.max_items)
            await asyncio.gather(*map(read, feeds))
    finally:
        db.close()
    report.seconds = time.monotonic() - started
    logger.info("feed round: %s", report.summary())
    return report


async def add_link(
    db: StateDB,
    options: IngestOptions,
    text: str,
    reader: PageReader | None = None,
    queued: Callable[[int], None] | None = None,
) -> AddedLink:
    """Fetch one page, extract its article in a child process (`reader`'s, else one of its own)
    and save it under `feeds/links/`.

    Raises `LinkError` (not http(s)), `FetchError` (404, timeout, too large ...),
    `NotAnArticle` (not HTML, no article text) or `PageNotRead` (its reading took too long),
    each with a message for the admin; `ReadAbandoned` when the bot stops first. `queued` is
    told how many pages are read before this one, when it waits for its turn. A link
    whose article's file was deleted is fetched and saved again, as the article it was
    (`StateDB.claim_article`): the admin asks for it back, which a feed listing it does not.
    A feed's article goes back into its feed's folder, and is still that feed's, named for it.
    So does another article whose file was deleted, when the page holds its words: it comes
    back as itself, under its own link, with its feed and the date it was saved with when
    the page gives none.
    """
    url = checked_url(text)
    key = canonical_url(url)
    known = await off_loop(db.article_for_link, key)
    if known is not None and (options.corpus_dir / known.path).is_file():
        return AddedLink("seen", known)
    async with Fetcher(options.fetch) as fetcher:
        page = await fetcher.get(url, accept=ACCEPT_HTML)
    assert page is not None  # no validators were sent, so no 304
    _html_only(page)
    try:
        extracted = await (reader or PageReader()).read(page.content, page.charset, page.url, queued)
    except ExtractError as error:
        raise NotAnArticle(error.text, **error.values) from None
    now = dt.datetime.now(dt.UTC)
    date, source = (extracted.date, "page") if _plausible(extracted.date, now) else (now.date(), "fetch time")
    back = known
    words_of = await off_loop(db.article_with_text, text_fingerprint(extracted.paragraphs))
    if words_of is not None and words_of != known and not (options.corpus_dir / words_of.path).is_file():
        back = words_of  # another article whose file was deleted: its words bring it back, as itself
    if back is not None and source == "fetch time":  # brought back: the date it had, not today's
        date, source = back.date, "saved before"
    brought_by = None if back is None else await off_loop(db.feed_of, back.id)
    article = NewArticle(
        title=_title(extracted.title) or _host(page.url),
        date=date,  # type: ignore[arg-type]
        date_source=source,  # type: ignore[arg-type]
        # another article: its own link
        url=back.url if back is not None and back is not known else shown_url(url),
        # a feed's article brought back: named for its feed, as when the feed brought it
        source=(brought_by.title or brought_by.name) if brought_by else extracted.site or _host(page.url),
        paragraphs=extracted.paragraphs,
    )
    folder = LINKS_FOLDER if back is None else _folder_of(back.path)
    feed_id, backlog = None, False  # the link's own article keeps its feed and backlog (`claim_article`)
    if back is not None and back is not known:  # so does another: its feed's still, its backlog if it was
        feed_id, backlog = (brought_by.id if brought_by else None), back.backlog
    outcome, stored = await off_loop(
        _save, db, options.corpus_dir, folder, article, key, feed_id=feed_id, backlog=backlog, restore=True
    )
    return AddedLink(outcome, stored)


def _folder_of(path: str) -> str:
    """The folder under `feeds/` a feed's or a link's article file was in; the links' folder
    for a file put elsewhere (dropped into the corpus folder)."""
    parts = path.split("/")
    if (
        len(parts) == 3
        and parts[0] == FEEDS_DIR
        and parts[2].endswith(".md")
        and slug(parts[1], 40) == parts[1]
    ):
        return parts[1]
    return LINKS_FOLDER


async def check_feed(
    options: FetchOptions,
    text: str,
    reader: PageReader | None = None,
    queued: Callable[[int], None] | None = None,
) -> FeedCheck:
    """Read a feed address once before it is added; an HTML page's announced feed is followed.

    Raises `LinkError`, `FetchError` or `FeedParseError` with a message for the admin,
    `PageNotRead` when parsing took too long, `ReadAbandoned` when the bot stops first.
    Parsing runs in a child process (`reader`'s, else one of its own), within its budget: a
    feed of megabytes takes seconds of CPU, and the bot goes on answering meanwhile.
    `queued` is told how many documents are ahead when the first must wait for its turn.
    """
    url = checked_url(text)
    reader = reader or PageReader()
    async with Fetcher(options) as fetcher:
        page = await fetcher.get(url, accept=ACCEPT_FEED)
        assert page is not None
        outline = await _outline(reader, page, discover=page.media_type in HTML_TYPES, queued=queued)
        if outline.announced:
            url = outline.announced[0]
            page = await fetcher.get(url, accept=ACCEPT_FEED)
            assert page is not None
            outline = await _outline(reader, page)
    return FeedCheck(url, outline.title, outline.entries)


async def _outline(
    reader: PageReader, page: Page, discover: bool = False, queued: Callable[[int], None] | None = None
) -> FeedOutline:
    content_type = page.headers.get("content-type")
    return await reader.read_feed(page.content, content_type, page.url, discover, queued)


def _parse_page(page: Page) -> ParsedFeed:
    return parse_feed(page.content, page.url, page.headers.get("content-type"))


def add_feed(db: StateDB, check: FeedCheck, name: str | None) -> FeedRow:
    """Store a checked feed under a folder name of its own (from `name`, else its title)."""
    return db.add_feed(check.url, name or check.title or _host(check.url), name or check.title)


class _Ingest:
    """One round's work over a shared fetcher, state file and report."""

    def __init__(
        self,
        db: StateDB,
        fetcher: Fetcher,
        corpus_dir: Path,
        report: RoundReport,
        deadline: float,
        max_items: int = MAX_ITEMS,
    ) -> None:
        self.db = db
        self.fetcher = fetcher
        self.corpus_dir = corpus_dir
        self.report = report
        self.deadline = deadline
        """Monotonic time past which no download goes on: the rest waits for the next round."""
        self.max_items = max_items
        self.left: dict[int, int] = {}
        """Items of each feed (by id) left for the next round so."""
        self.links: dict[str, asyncio.Task[bool]] = {}
        """Each item's one try this round (by `_key`), whichever feeds list it."""
        self.pages: dict[str, asyncio.Task[Extracted]] = {}
        """Each canonical link's page, fetched once this round however many items need it."""

    def problem(self, where: str, what: object) -> None:
        line = f"{where}: {what}"
        logger.warning("feed round: %s", line)
        self.report.problems.append(line)

    async def feed(self, feed: FeedRow) -> None:
        """Read one feed and its new entries; record the outcome on the feed."""
        where = f"feed {feed.name} ({shown_url(feed.url)})"  # its login is not for the log
        # items left unread under a lower FEED_MAX_ITEMS: read the feed whole, for an unchanged
        # one answers a conditional request with 304, and they stayed unread however high it went
        raised = feed.unread > 0 and self.max_items > feed.item_limit
        etag, last_modified = (None, None) if raised else (feed.etag, feed.last_modified)
        try:
            page = await self.fetcher.get(
                feed.url, accept=ACCEPT_FEED, etag=etag, last_modified=last_modified, deadline=self.deadline
            )
            if page is None:
                self.report.unchanged += 1
                self.db.feed_checked(  # the same document: as many items left unread as before
                    feed.id, etag=feed.etag, last_modified=feed.last_modified, title=None, unread=None
                )
                return
            # in a thread: a feed of megabytes parses for seconds, which the other feeds'
            # downloads, each against its own deadline, must not spend waiting
            parsed = await asyncio.to_thread(_parse_page, page)
        except (FetchError, FeedParseError) as error:
            self.problem(where, error)
            self.db.feed_failed(feed.id, str(error), reason_record(error))
            return
        except Exception as error:  # a fault of ours must not cost the other feeds
            logger.exception("feed round: %s failed", where)
            self.problem(where, f"unexpected {type(error).__name__}: {error}")
            unexpected = Told(N_("unexpected {error}"), error=type(error).__name__)
            self.db.feed_failed(feed.id, str(unexpected), reason_record(unexpected))
            return
        if parsed.problem:
            self.problem(where, f"malformed XML ({parsed.problem}); {len(parsed.entries)} items read anyway")
        entries, unread = newest(parsed.entries, self.max_items)
        if unread:
            self.problem(where, f"{unread} older items left unread, past FEED_MAX_ITEMS={self.max_items}")
        shared = _shared_headlines(parsed.entries)
        texts = [_whole_text(entry) for entry in entries]  # parsed once: for its keys and its article
        keys = [_keys(feed, entry, text, shared) for entry, text in zip(entries, texts, strict=True)]
        if feed.ok_at is None:  # its first read: what the publisher had before it was added
            backlog = (True,) * len(entries)
        else:  # older than every item read before: let in by a raised limit, or up from below
            seen = [any(self.db.link_outcome(key) is not None for key in known) for known in keys]
            backlog = older_than_seen(entries, seen)
        outcomes = await self.entries(feed, parsed, entries, texts, backlog, shared)
        self.db.links_listed(feed.id, [key for known in keys for key in known])
        if left := self.left.get(feed.id):
            self.problem(where, f"{left} items left for the next round, this one's time being up")
        # no validators unless all went, so that failed items are tried again
        etag, last_modified = (page.etag, page.last_modified) if all(outcomes) else (None, None)
        self.db.feed_checked(
            feed.id,
            etag=etag,
            last_modified=last_modified,
            title=parsed.title,
            unread=unread,
            item_limit=self.max_items,
            problem=parsed.problem,
        )

    async def entries(
        self,
        feed: FeedRow,
        parsed: ParsedFeed,
        entries: tuple[FeedEntry, ...],
        texts: list[list[str]],
        backlog: tuple[bool, ...],
        shared: frozenset[tuple[str, dt.datetime]] = frozenset(),
    ) -> list[bool]:
        """`entry` for each of `entries` (with its `_whole_text`, each its publisher's `backlog` or
        not), `ITEMS_AT_ONCE` in hand at a time; their outcomes."""
        outcomes: list[bool] = []
        waiting = iter(zip(entries, texts, backlog, strict=True))

        async def take_turns() -> None:
            for entry, text, old in waiting:  # shared: each entry is taken by one of them
                outcomes.append(await self.entry(feed, parsed, entry, text, old, shared))

        await asyncio.gather(*(take_turns() for _ in range(min(ITEMS_AT_ONCE, len(entries)))))
        return outcomes

    async def entry(
        self,
        feed: FeedRow,
        parsed: ParsedFeed,
        entry: FeedEntry,
        text: list[str],
        backlog: bool,
        shared: frozenset[tuple[str, dt.datetime]] = frozenset(),
    ) -> bool:
        """Save one entry if new, with its `text` (`_whole_text`); False when it failed and is worth
        another try. `shared`: the headlines and dates more than one item of its feed has this
        round (`_shared_headlines`)."""
        where = f"feed {feed.name}, item {(entry.link or entry.title or '?')[:200]!r}"
        try:
            url = checked_url(entry.link) if entry.link else None
            if url is None and not (text and entry.id):
                raise LinkError(N_("the item has no link"))
        except LinkError as error:
            self.problem(where, error)
            return True
        key = _key(feed, entry, url, text)
        if key not in self.links:  # a live blog's teasers share one page: one request, one try a round
            self.links[key] = asyncio.ensure_future(
                self.link(feed, parsed, entry, url, text, key, backlog, where, shared)
            )
        return await self.links[key]

    async def link(
        self,
        feed: FeedRow,
        parsed: ParsedFeed,
        entry: FeedEntry,
        url: str | None,
        text: list[str],
        key: str,
        backlog: bool,
        where: str,
        shared: frozenset[tuple[str, dt.datetime]] = frozenset(),
    ) -> bool:
        """Save one item's article if new; False when it failed and is worth another try."""
        known = self.db.link_outcome(key)
        item = _item_key(feed, entry, url, key, shared)
        if known is None and item is not None and self.db.link_outcome(item) is not None:
            return True  # read before under a link whose query was another (a session's token)
        if known is not None and (known[0] != "failed" or known[1] >= MAX_ATTEMPTS):
            if item is not None and known[0] != "failed" and self.db.link_outcome(item) is None:
                self.db.note_item(item, key)  # read before its id counted: known by it from now on
            return True
        try:
            article = await self.article(feed, parsed, entry, url, text)
            outcome, stored = _save(self.db, self.corpus_dir, feed.name, article, key, feed.id, backlog)
        except (FetchError, NotAnArticle) as error:
            if _deferred(error):  # no fault of the link's
                if backlog:  # still the publisher's backlog when a later round saves it
                    self.db.link_failed(key, str(error), backlog, counted=False)
                self.left[feed.id] = self.left.get(feed.id, 0) + 1
                return False
            attempts = self.db.link_failed(key, str(error), backlog)
            self.problem(where, f"{error} (attempt {attempts} of {MAX_ATTEMPTS})")
            return attempts >= MAX_ATTEMPTS
        except OutsideFolderError as error:
            self.problem(where, error)
            return True
        except OSError as error:  # the corpus folder, not the link: a full disk, no permission
            if backlog:  # still the publisher's backlog when a later round saves it
                self.db.link_failed(key, f"could not be saved ({error})", backlog, counted=False)
            self.problem(where, f"could not be saved ({error}); tried again next round")
            return False
        except sqlite3.Error as error:  # the state file full, or locked past its wait: not the link's fault
            if backlog:  # still the publisher's backlog when a later round saves it, if it can be told
                with contextlib.suppress(sqlite3.Error):
                    self.db.link_failed(key, f"could not be recorded ({error})", backlog, counted=False)
            self.problem(where, f"could not be recorded in the state file ({error}); tried again next round")
            return False
        except Exception as error:
            logger.exception("feed round: %s failed", where)
            self.problem(where, f"unexpected {type(error).__name__}: {error}")
            return True
        if item is not None:
            self.db.note_item(item, key)
        if outcome == "saved":
            self.report.saved.append(stored.path)
        elif outcome == "duplicate":
            self.report.duplicates += 1
        return True

    async def article(
        self, feed: FeedRow, parsed: ParsedFeed, entry: FeedEntry, url: str | None, text: list[str]
    ) -> NewArticle:
        """The entry as an article: the feed's `text` when it is whole, else the page's."""
        paragraphs = text
        extracted: Extracted | None = None
        if url is not None and (not paragraphs or entry.published is None):
            try:
                extracted = await self.page(url)
            except (FetchError, NotAnArticle) as error:
                if not paragraphs or _deferred(error):
                    raise
                # the feed's text is whole; only the page's date is missing
        if not paragraphs:
            assert extracted is not None
            paragraphs = list(extracted.paragraphs)
        now = dt.datetime.now(dt.UTC)
        date_source: DateSource
        if entry.published is not None and entry.published <= now + FUTURE_SLACK:
            date, date_source = entry.published.date(), "feed"
        elif extracted is not None and _plausible(extracted.date, now):
            date, date_source = extracted.date, "page"  # type: ignore[assignment]
        else:
            date, date_source = now.date(), "fetch time"
        title = _title(_plain(entry.title or ""), extracted.title if extracted else None)
        title = title or shorten(paragraphs[0], 120)  # its first words, cut at a word
        return NewArticle(
            title=title,
            date=date,
            date_source=date_source,
            url=shown_url(url) if url else "",
            source=feed.title or parsed.title or feed.name,
            paragraphs=tuple(paragraphs),
        )

    async def page(self, url: str) -> Extracted:
        """The article on the page at `url`, fetched once a round (undated updates of a live blog
        each want its date)."""
        link = canonical_url(url)
        if link not in self.pages:
            self.pages[link] = asyncio.ensure_future(self._page(url))
        return await self.pages[link]

    async def _page(self, url: str) -> Extracted:
        page = await self.fetcher.get(url, accept=ACCEPT_HTML, deadline=self.deadline)
        assert page is not None
        return await asyncio.to_thread(_extract_page, page)


def _whole_text(entry: FeedEntry) -> list[str]:
    """The entry's paragraphs when the feed carries its whole text, else none."""
    paragraphs = html_paragraphs(entry.content) if entry.content else []
    return paragraphs if sum(map(len, paragraphs)) >= MIN_ARTICLE_CHARS else []


def _key(feed: FeedRow, entry: FeedEntry, url: str | None, text: list[str]) -> str:
    """What tells an item from others: its canonical link; or, when it carries its whole text
    and an id of its own, that id at its link (at its feed's address if it has none), so that
    a live blog's updates under one page are each an article. The `#` keeps the two kinds apart:
    no canonical link has one."""
    if text and entry.id:
        return f"{canonical_url(url or feed.url)}#{entry.id}"
    assert url is not None
    return canonical_url(url)


def _keys(
    feed: FeedRow,
    entry: FeedEntry,
    text: list[str],
    shared: frozenset[tuple[str, dt.datetime]] = frozenset(),
) -> tuple[str, ...]:
    """What the state file knows `entry` (whose `_whole_text` is `text`) by, as `_Ingest.link`
    looks it up: its `_key`, and its `_item_key` if it has one; none for an item without a link
    it can read."""
    try:
        url = checked_url(entry.link) if entry.link else None
    except LinkError:
        return ()
    if url is None and not (text and entry.id):
        return ()
    key = _key(feed, entry, url, text)
    item = _item_key(feed, entry, url, key, shared)
    return (key,) if item is None else (key, item)


def _item_key(
    feed: FeedRow,
    entry: FeedEntry,
    url: str | None,
    key: str,
    shared: frozenset[tuple[str, dt.datetime]] = frozenset(),
) -> str | None:
    """What else tells an item with an id of its own (RSS `guid`, Atom `id`) from others: that id
    in its feed, with its headline, at its link's host and path. A publisher that puts a new
    token in the query of each item's link every round (`?sid=...`) had each page fetched again
    every round, and one more link kept for each: 200 requests a round for a feed, 19,200 rows a
    day. The path and headline keep apart the items of a feed that numbers them by their place,
    or gives them all one id. An item with no id, or an id that is the link itself (which changes
    with it), is known by `_headline_key` instead; None when it has none either."""
    if url is None:
        return None
    if not entry.id or _same_link(entry.id, url):
        return _headline_key(feed, entry, shared)
    link = urlsplit(key.split("#", 1)[0])
    parts = (canonical_url(feed.url), entry.id, link.netloc, link.path, entry.title or "")
    return "item:" + hashlib.sha256("\n".join(parts).encode("utf-8", "replace")).hexdigest()[:32]


def _headline(entry: FeedEntry) -> tuple[str, dt.datetime] | None:
    """The entry's headline and published time, when it has both."""
    title = _plain(entry.title or "")
    return (title, entry.published) if title and entry.published is not None else None


def _shared_headlines(entries: Iterable[FeedEntry]) -> frozenset[tuple[str, dt.datetime]]:
    """The headlines and times that more than one of a feed's `entries` carries."""
    counts = Counter(filter(None, map(_headline, entries)))
    return frozenset(headline for headline, count in counts.items() if count > 1)


def _headline_key(feed: FeedRow, entry: FeedEntry, shared: frozenset[tuple[str, dt.datetime]]) -> str | None:
    """What tells an item without an id of its own from others when its link changes every round
    (`?sid=...`, a new token each time): its feed, headline and published time, which do not. Its
    page was fetched again every round only to be found a duplicate by its text. None without a
    headline or a time, or when another item of its feed has the same two this round (`shared`):
    those are read by their links, as before, neither taken for the other. A new story, or one
    whose headline or time changed, is another key, read again (by its link first: a corrected
    headline under an unchanged link stays known). Two items a round apart with one headline and
    time are taken for one: a publisher stamps its stories to the second, and gives a new one a
    new time."""
    headline = _headline(entry)
    if headline is None or headline in shared:
        return None
    parts = ("headline", canonical_url(feed.url), headline[0], headline[1].isoformat())
    return "item:" + hashlib.sha256("\n".join(parts).encode("utf-8", "replace")).hexdigest()[:32]


def _same_link(one: str, other: str) -> bool:
    try:
        return canonical_url(one) == canonical_url(other)
    except ValueError:  # an id that is no address (`http://x:99999/`): not the link
        return False


def _html_only(page: Page) -> None:
    if page.media_type not in HTML_TYPES:
        raise NotAnArticle(N_("the page is {type}, not HTML"), type=page.media_type)


def _extract_page(page: Page) -> Extracted:
    _html_only(page)
    try:
        return extract_article(decode_html(page.content, page.charset), page.url)
    except ExtractError as error:
        raise NotAnArticle(error.text, **error.values) from None


def _save(
    db: StateDB,
    corpus_dir: Path,
    folder: str,
    article: NewArticle,
    key: str,
    feed_id: int | None,
    backlog: bool = False,
    restore: bool = False,
) -> tuple[Claim, SavedArticle]:
    """Write the file, then let the state file decide; a loser's own file is removed.
    `restore`: an admin's /add, which brings back an article whose file was deleted."""
    fingerprint = text_fingerprint(article.paragraphs)
    name = article_file_name(article, key)
    relative = f"{FEEDS_DIR}/{folder}/{name}"
    fields: dict[str, Any] = {
        "key": key,
        "url": canonical_url(article.url) if article.url else "",
        "text_hash": fingerprint,
        "path": relative,
        "title": article.title,
        "date": article.date,
        "feed_id": feed_id,
        "backlog": backlog,
    }

    def in_corpus(path: str) -> bool:  # the file written here brings an article back, it holds none yet
        return path != relative and (corpus_dir / path).is_file()

    known, same_text = db.article_for_link(key), db.article_with_text(fingerprint)
    kept = known is not None and (not restore or in_corpus(known.path))
    if kept or (same_text is not None and in_corpus(same_text.path)):  # known already: nothing to write
        return db.claim_article(**fields, in_corpus=in_corpus, restore=restore)
    written = write_article(corpus_dir, folder, name, render_markdown(article))
    try:
        outcome, stored = db.claim_article(**fields, in_corpus=in_corpus, restore=restore)
    except BaseException:  # not recorded: no file the state file does not know (it would alert no one)
        written.unlink(missing_ok=True)
        raise
    if outcome != "saved" and stored.path != relative:
        written.unlink(missing_ok=True)
    return outcome, stored


def _plausible(date: dt.date | None, now: dt.datetime) -> bool:
    return date is not None and date <= (now + FUTURE_SLACK).date()


def _plain(title: str) -> str:
    return " ".join(html.unescape(_TAGS.sub(" ", title)).split())[:300]


def _title(*candidates: str | None) -> str | None:
    """The first of `candidates` that shows anything (`render.shows`): a title of bidi controls
    alone, which are left out of the file as of every reply, was saved as `title: ''`, a file
    the corpus refuses as having no headline (never answered, its alerts never sent)."""
    return next((title for title in candidates if title and shows(title)), None)


def _deferred(error: Exception) -> bool:
    """Whether a download was not started or not finished, the round's time being up
    (`Fetcher.get`'s deadline)."""
    return isinstance(error, FetchError) and error.kind == "deferred"


def _host(url: str) -> str:
    return urlsplit(url).hostname or url


def main(argv: list[str]) -> int:
    """Run one round with the options given as JSON; print the report as JSON."""
    if len(argv) != 1:
        print("usage: python -m bot.ingest OPTIONS_JSON", file=sys.stderr)
        return 2
    logging.basicConfig(format=LOG_FORMAT, level=logging.INFO)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if _stdin_is_a_pipe():  # started by the bot: stop when it stops
        threading.Thread(target=_exit_when_stdin_closes, daemon=True).start()
    try:
        report = asyncio.run(fetch_round(IngestOptions.from_json(argv[0])))
    except KeyboardInterrupt:  # Ctrl-C in the bot's terminal: the bot stops, and says so
        return 130
    print(report.to_json())
    return 0


def _stdin_is_a_pipe() -> bool:
    try:
        return stat.S_ISFIFO(os.fstat(sys.stdin.fileno()).st_mode)
    except (OSError, ValueError, AttributeError):
        return False


def _exit_when_stdin_closes() -> None:
    # The raw descriptor, not sys.stdin: a thread blocked in a buffered read would hold
    # its lock and abort the interpreter's normal exit.
    while os.read(sys.stdin.fileno(), 4096):
        pass
    os._exit(3)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

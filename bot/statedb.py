"""The bot's lasting state in one SQLite file: feeds, links already read, topics, alerts.

One file under `STATE_DIR`, opened by the bot and by `newsbot fetch` (from cron) at the
same time: WAL lets readers go on while one writer writes, a busy timeout makes a
writer wait its turn, and every change is one short transaction, so neither process
sees the other's half-done work. The schema is versioned with `PRAGMA user_version`;
`open_state` migrates an older file forward step by step, each step atomic.

The running bot makes its calls through `off_loop`, in a thread of the state file's own:
a wait for another process's lock (up to `BUSY_TIMEOUT_SECONDS`) then holds up that one
call, never the event loop that answers every chat.

Times are Unix seconds (floats).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal, ParamSpec, TypeVar

from .articles_out import FEEDS_DIR, folder_name

__all__ = [
    "DB_NAME",
    "MIGRATIONS",
    "Claim",
    "CommandDone",
    "Dropped",
    "FeedRow",
    "PendingAlert",
    "Recipient",
    "SavedArticle",
    "StateDB",
    "StateError",
    "TopicRow",
    "off_loop",
    "open_state",
]

logger = logging.getLogger(__name__)
DB_NAME = "newsbot.sqlite3"
BUSY_TIMEOUT_SECONDS = 30.0
STATE_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="state-file")
"""Where the bot's calls on the state file run, one at a time and in the order made: its
own thread, so that one waiting for a lock never takes a thread a search needs."""
P = ParamSpec("P")
T = TypeVar("T")

MIGRATIONS: tuple[str, ...] = (
    # 1: feeds, the articles they brought, and every link met (saved, duplicate or failed).
    """
    CREATE TABLE feeds (
        id INTEGER PRIMARY KEY,
        url TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL UNIQUE,
        title TEXT,
        etag TEXT,
        last_modified TEXT,
        added_at REAL NOT NULL,
        checked_at REAL,
        ok_at REAL,
        error TEXT,
        failures INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE articles (
        id INTEGER PRIMARY KEY,
        url TEXT NOT NULL,
        text_hash TEXT NOT NULL UNIQUE,
        path TEXT NOT NULL,
        title TEXT NOT NULL,
        date TEXT NOT NULL,
        feed_id INTEGER REFERENCES feeds(id) ON DELETE SET NULL,
        saved_at REAL NOT NULL,
        matched INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX articles_unmatched ON articles(id) WHERE matched = 0;
    CREATE TABLE links (
        url TEXT PRIMARY KEY,
        outcome TEXT NOT NULL CHECK (outcome IN ('saved', 'duplicate', 'failed')),
        article_id INTEGER REFERENCES articles(id) ON DELETE CASCADE,
        attempts INTEGER NOT NULL DEFAULT 1,
        reason TEXT,
        seen_at REAL NOT NULL
    );
    """,
    # 2: readers' topics and the alerts they earned.
    """
    CREATE TABLE topics (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL,
        chat_id INTEGER NOT NULL,
        words TEXT NOT NULL,
        terms TEXT NOT NULL,
        created_at REAL NOT NULL,
        UNIQUE (user_id, terms)
    );
    CREATE TABLE alerts (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL,
        chat_id INTEGER NOT NULL,
        article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        topic TEXT NOT NULL,
        relevance REAL NOT NULL,
        passage TEXT NOT NULL,
        terms TEXT NOT NULL,
        created_at REAL NOT NULL,
        sent_at REAL,
        kind TEXT CHECK (kind IN ('alert', 'digest', 'dropped')),
        UNIQUE (user_id, article_id)
    );
    CREATE INDEX alerts_pending ON alerts(user_id, id) WHERE sent_at IS NULL;
    CREATE INDEX alerts_sent ON alerts(user_id, sent_at) WHERE sent_at IS NOT NULL;
    """,
    # 3: articles that came with a newly added feed's first read (its backlog): indexed, never alerted.
    """
    ALTER TABLE articles ADD COLUMN backlog INTEGER NOT NULL DEFAULT 0;
    """,
    # 4: the other topics of its reader that an alert matched, each with its own passage: the
    # alert moves to one of them if the topic it is queued under is unfollowed while it waits.
    """
    CREATE TABLE alert_topics (
        alert_id INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
        topic TEXT NOT NULL,
        relevance REAL NOT NULL,
        passage TEXT NOT NULL,
        terms TEXT NOT NULL,
        PRIMARY KEY (alert_id, topic)
    );
    """,
    # 5: a link that failed at its feed's first read is backlog when a later round reads it.
    """
    ALTER TABLE links ADD COLUMN backlog INTEGER NOT NULL DEFAULT 0;
    """,
    # 6: commands that drop a topic or a feed by its number, by the message that sent them,
    # with the reply: one handed out again after a hard kill is answered so, not applied twice.
    """
    CREATE TABLE commands_done (
        chat_id INTEGER NOT NULL,
        message_id INTEGER NOT NULL,
        reply TEXT NOT NULL,
        done_at REAL NOT NULL,
        PRIMARY KEY (chat_id, message_id)
    );
    """,
    # 7: the questions behind page buttons, so that the buttons of an answer sent before a
    # restart still turn its pages.
    """
    CREATE TABLE questions (
        key TEXT PRIMARY KEY,
        chat_id INTEGER NOT NULL,
        question TEXT NOT NULL,
        as_of TEXT NOT NULL,
        language TEXT NOT NULL,
        layout BLOB NOT NULL
    );
    """,
    # 8: the language each reader's alerts are written in: their Telegram app's, as of
    # their last topic command (alerts go out with no message of theirs to read it from).
    """
    CREATE TABLE readers (
        user_id INTEGER PRIMARY KEY,
        language TEXT NOT NULL
    );
    """,
    # 9: an alert sent or given up keeps its reader, article, time and kind alone (`_clear_shown`).
    """
    DELETE FROM alert_topics WHERE alert_id IN (SELECT id FROM alerts WHERE sent_at IS NOT NULL);
    INSERT OR REPLACE INTO alerts (id, user_id, chat_id, article_id, topic, relevance, passage, terms,
        created_at, sent_at, kind) SELECT id, user_id, chat_id, article_id, '', 0, '', '', created_at,
        sent_at, kind FROM alerts WHERE sent_at IS NOT NULL;
    """,
    # 10: whether the admins were told that a feed keeps failing: told once, and once more
    # when it reads again; and its last error as an interface text, told in each admin's
    # language (`i18n.reason_record`).
    """
    ALTER TABLE feeds ADD COLUMN failing_told INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE feeds ADD COLUMN reason TEXT;
    """,
    # 11: the feed notices an admin is owed: Telegram could not take one (a network fault,
    # its servers failing), and it goes with that admin's next notice (`owe_feed_notices`).
    """
    CREATE TABLE notices_owed (
        admin_id INTEGER NOT NULL,
        feed_id INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
        failing INTEGER NOT NULL,
        PRIMARY KEY (admin_id, feed_id)
    );
    """,
    # 12: articles of files dropped into the corpus folder while the bot runs, which alert as a
    # feed's do: their id in the corpus (a `.jsonl` line's is not its path's) and the outlet
    # their file names, shown in alerts in place of a link they may lack.
    """
    ALTER TABLE articles ADD COLUMN corpus_id TEXT;
    ALTER TABLE articles ADD COLUMN source TEXT;
    """,
    # 13: the articles of each feed, which /feeds counts (else each count reads every article).
    """
    CREATE INDEX articles_feed ON articles(feed_id);
    """,
    # 14: the older items of each feed its last read left unread, past `FEED_MAX_ITEMS`.
    """
    ALTER TABLE feeds ADD COLUMN unread INTEGER NOT NULL DEFAULT 0;
    """,
    # 15: the feeds /feeds last listed to each admin in each chat, in its order (their ids,
    # comma-separated): what their `/feeds remove N` means, across a restart.
    """
    CREATE TABLE feed_listings (
        chat_id INTEGER NOT NULL,
        user_id INTEGER NOT NULL,
        feed_ids TEXT NOT NULL,
        PRIMARY KEY (chat_id, user_id)
    );
    """,
    # 16: the `FEED_MAX_ITEMS` a feed's last read was under: a feed with items left unread is
    # read whole again, not asked whether it changed, once the limit is raised past it.
    """
    ALTER TABLE feeds ADD COLUMN item_limit INTEGER NOT NULL DEFAULT 0;
    """,
    # 17: the feed that last listed each link, and when: a link no feed lists any more, met
    # as a duplicate or failed, is forgotten after a while (`links_listed`).
    """
    ALTER TABLE links ADD COLUMN feed_id INTEGER REFERENCES feeds(id) ON DELETE SET NULL;
    ALTER TABLE links ADD COLUMN listed_at REAL;
    CREATE INDEX links_unlisted ON links(feed_id, listed_at) WHERE outcome != 'saved';
    """,
    # 18: the fault of a feed its last read read past (malformed XML), in the XML reader's words.
    """
    ALTER TABLE feeds ADD COLUMN problem TEXT;
    """,
    # 19: work a migration leaves for after its commit, by name, kept until it is done: a kill
    # in it (the shrink after step 9, `give_back_room`) leaves it owed to the next open.
    """
    CREATE TABLE chores_owed (name TEXT PRIMARY KEY);
    """,
    # 20: links met before step 17 had no feed and no time listed, and no read forgot them
    # (`links_listed`): they count as listed as this step runs, and are forgotten once no
    # feed has listed them for as long as any other.
    """
    UPDATE links SET listed_at = (julianday('now') - 2440587.5) * 86400.0
        WHERE listed_at IS NULL AND outcome != 'saved';
    """,
    # 21: each group that became a supergroup, and the supergroup: a late message of the group
    # is the supergroup's (its /feeds list is kept there), and after a restart an answer to one
    # goes straight to the supergroup, not to the group first, to be refused.
    """
    CREATE TABLE chat_moves (group_id INTEGER PRIMARY KEY, supergroup_id INTEGER NOT NULL);
    """,
    # 22: the topics /following last listed to each reader, in its order (their ids,
    # comma-separated): what their `/unfollow N` means. A topic's id is never given again
    # (AUTOINCREMENT), so a topic followed after the list is not read as one it showed: SQLite
    # gave a new row the id of the newest one deleted.
    """
    CREATE TABLE topics_kept (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id INTEGER NOT NULL,
        chat_id INTEGER NOT NULL,
        words TEXT NOT NULL,
        terms TEXT NOT NULL,
        created_at REAL NOT NULL,
        UNIQUE (user_id, terms)
    );
    INSERT INTO topics_kept (id, user_id, chat_id, words, terms, created_at)
        SELECT id, user_id, chat_id, words, terms, created_at FROM topics;
    DROP TABLE topics;
    ALTER TABLE topics_kept RENAME TO topics;
    CREATE TABLE topic_listings (user_id INTEGER PRIMARY KEY, topic_ids TEXT NOT NULL);
    """,
    # 23: the last feed id given: a feed's id is never given again (`add_feed`), so that an
    # admin's `/feeds remove N`, N of a list that showed a feed removed since, is not read as
    # the feed added after it (SQLite gave it the removed one's id). The feeds table is not
    # rebuilt as AUTOINCREMENT: articles and links refer to it.
    """
    CREATE TABLE feed_ids_given (last INTEGER NOT NULL);
    INSERT INTO feed_ids_given SELECT coalesce(max(id), 0) FROM feeds;
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)
_CHAT_NOW = "coalesce((SELECT supergroup_id FROM chat_moves WHERE group_id = ?), ?)"
"""A chat's id as it is now, in SQL of two parameters (the chat's id twice): a group that became
a supergroup is the supergroup (`move_chat`)."""
ALERTS_CLEARED = 9
"""The step that clears what each alert sent showed: a file it crosses is shrunk once after
(`StateDB.give_back_room`)."""
SHRINK = "shrink"
"""The chore `give_back_room` does, owed from a migration across `ALERTS_CLEARED` until done."""


@dataclass(frozen=True, slots=True)
class CommandDone:
    """A command's message and the reply it is given, recorded as it is applied."""

    chat_id: int
    message_id: int
    reply: str


COMMANDS_KEPT = 25 * 3600
"""Seconds a command is remembered: Telegram keeps an unconfirmed update for 24 hours, and
hands out none older; an hour more for a clock corrected meanwhile. Its reply names the topic
or feed it dropped, so it stays no longer than it can be of use."""


UNLISTED_KEPT = 3 * 24 * 3600
"""Seconds a feed's link met as a duplicate or failed is kept once the feed no longer lists it.
A feed whose items have no id and a new token in each link every round (`?sid=...`) left one
row a round per item, for good. Longer than `alerts.NEWS_WINDOW` (two days): a dated item
its feed lists again once its link is forgotten is too old to alert anyone, and its words are
a duplicate still. A saved article's link is never forgotten (an article whose file was
deleted stays out)."""


QUESTIONS_KEPT = 10_000
"""Answers whose page buttons work: the oldest question is forgotten first."""


@dataclass(frozen=True, slots=True)
class Asked:
    """A question behind page buttons: where and when it was asked, and in which language."""

    chat_id: int
    question: str
    as_of: dt.date
    """The day it is answered as of, the same for every page, so that pages stay put."""
    language: str
    """The asker's interface language: every page of one message reads alike."""
    layout: bytes
    """What its pages showed when first sent (`pages.layout`): a press shows them as they were, or none."""


class StateError(Exception):
    """The state file cannot be used; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class FeedRow:
    """A feed as stored: `name` is its folder under `CORPUS_DIR/feeds/`."""

    id: int
    url: str
    name: str
    title: str | None
    etag: str | None
    last_modified: str | None
    checked_at: float | None
    ok_at: float | None
    error: str | None
    failures: int
    articles: int
    reason: str | None = None
    """`error` as an interface text and its values, told in each reader's language (`i18n.told_record`)."""
    unread: int = 0
    """The older items its last read left unread, past `FEED_MAX_ITEMS`."""
    item_limit: int = 0
    """The `FEED_MAX_ITEMS` its last read was under (0: not known)."""
    problem: str | None = None
    """What its last read read past, in the XML reader's words (malformed XML); None if nothing."""


@dataclass(frozen=True, slots=True)
class SavedArticle:
    """An article some feed or link brought in, or a file dropped into the corpus folder
    (`note_dropped`): its corpus file and where it came from."""

    id: int
    url: str
    path: str
    """Relative to the corpus folder, with `/` separators."""
    title: str
    date: dt.date
    saved_at: float
    """Unix time it arrived: saved by a feed or link, or found in the corpus folder."""
    backlog: bool
    """Saved by its feed's first read: what the publisher had before the feed was added."""
    dropped_as: str | None = None
    """A dropped file's article id in the corpus, which a `.jsonl` line's path does not tell."""
    source: str | None = None
    """The outlet a dropped file names."""

    @property
    def corpus_id(self) -> str:
        """The id the corpus loader gives the article: a feed's or link's file's path without
        the extension."""
        return self.dropped_as or self.path.rsplit(".", 1)[0]


@dataclass(frozen=True, slots=True)
class Dropped:
    """The article of a file that appeared in the corpus folder, or left it, while the bot ran
    (`note_dropped`)."""

    corpus_id: str
    path: str
    """Its file, relative to the corpus folder."""
    title: str
    date: dt.date
    url: str
    """Its canonical link, or "" if the file names none."""
    source: str | None
    text_hash: str
    """`articles_out.text_fingerprint` of its text, as a feed's article is known by."""


QueuedAlert = tuple[int, int, int, str, float, str, str]
"""user id, chat id, article id, topic words, relevance, passage text, matched terms (space-separated)"""

Claim = Literal["saved", "seen", "duplicate"]
"""How `claim_article` ended: stored, the URL already known, or the same text under another URL."""


@dataclass(frozen=True, slots=True)
class TopicRow:
    """One topic a user follows."""

    id: int
    user_id: int
    chat_id: int
    words: str
    terms: tuple[str, ...]
    followed_at: float
    """Unix time the user started following it."""


@dataclass(frozen=True, slots=True)
class PendingAlert:
    """An alert waiting to be sent, with what its message shows."""

    id: int
    user_id: int
    chat_id: int
    topic: str
    relevance: float
    passage: str
    terms: frozenset[str]
    title: str
    date: dt.date
    url: str
    created_at: float
    source: str | None = None
    """The outlet a dropped file names (see `SavedArticle.source`)."""


@dataclass(frozen=True, slots=True)
class Recipient:
    """A user with alerts waiting, and what the hourly limit has already spent on them."""

    user_id: int
    singles: int
    """Single alerts sent to them in the last hour."""
    last_digest: float | None
    """Unix time their last digest went out, if one did."""
    language: str | None = None
    """The language code their alerts are written in, if known (see `StateDB.remember_language`)."""


async def off_loop(call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a call on the state file in `STATE_THREAD`, for code on the event loop.

    SQLite waits up to `BUSY_TIMEOUT_SECONDS` for a lock another process holds (a second
    bot on the same file, a `sqlite3` shell left in a transaction, a VACUUM); made on the
    event loop, that wait froze every chat with it.
    """
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(STATE_THREAD, functools.partial(call, *args, **kwargs))


def _in_folders(feeds: list[FeedRow], paths: Iterable[tuple[int, str]], corpus_dir: Path) -> list[FeedRow]:
    """`feeds` with `articles` counting those of `paths` (feed id, path) whose file is in
    their feed's folder; each folder is listed once."""
    present: dict[int, int] = dict.fromkeys((feed.id for feed in feeds), 0)
    folders = {feed.id: f"{FEEDS_DIR}/{feed.name}/" for feed in feeds}
    files = {feed.id: _files_in(corpus_dir / FEEDS_DIR / feed.name) for feed in feeds}
    for feed_id, path in paths:
        folder = folders.get(feed_id)
        if folder is not None and path.startswith(folder) and path[len(folder) :] in files[feed_id]:
            present[feed_id] += 1
    return [replace(feed, articles=present[feed.id]) for feed in feeds]


def _files_in(folder: Path) -> frozenset[str]:
    """The names of the files in `folder` (a link to a file too, as `Path.is_file` counts
    it), read in one listing; none when it is no folder."""
    names = set()
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                with contextlib.suppress(OSError):  # as `Path.is_file`: one that cannot be looked at is none
                    if entry.is_file():
                        names.add(entry.name)
    except OSError:
        pass
    return frozenset(names)


def open_state(state_dir: Path) -> StateDB:
    """Open (creating or migrating) the state file in `state_dir`."""
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise StateError(
            f"STATE_DIR {str(state_dir)!r} cannot be created: {error.strerror or error}"
        ) from None
    return StateDB(state_dir / DB_NAME)


def _unusable(path: Path, error: sqlite3.Error) -> StateError:
    """The refusal of the state file at `path` for SQLite's `error`."""
    if isinstance(error, sqlite3.OperationalError):  # locked past the timeout, or not openable
        return StateError(f"state file {str(path)!r} cannot be used: {error}")
    if isinstance(error, sqlite3.DatabaseError):  # not a database, or damaged where opening looked
        return StateError(_damaged(path, str(error)))
    return StateError(f"state file {str(path)!r} cannot be used: {error}")


def _damaged(path: Path, why: str) -> str:
    return (
        f"state file {str(path)!r} cannot be used: it is damaged ({why}); restore it from a backup "
        "(with its -wal file, if the backup has one), or move it away to start with no feeds or topics"
    )


class StateDB:
    """One connection to the state file; each method is one short transaction."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writing = threading.Lock()  # one transaction at a time, whichever thread calls
        try:
            self._db = sqlite3.connect(
                path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as error:
            raise _unusable(path, error) from None
        try:
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA foreign_keys = ON")
            self._db.execute("PRAGMA synchronous = NORMAL")
            self._db.execute("PRAGMA secure_delete = ON")  # text cleared leaves no copy in free space
            self._check()
            self.migrate()
        except BaseException as error:
            # closed here: the error's traceback holds this object, and kept the file, its
            # WAL and shared memory open for as long as the caller held the error
            self._db.close()
            if isinstance(error, sqlite3.Error):
                raise _unusable(path, error) from None
            raise

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction, taken at once, so that two processes never interleave."""
        with self._writing:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _check(self) -> None:
        """Refuse a damaged file at open, as a saved index is refused.

        A file opens even with a damaged page, or restored from a backup beside the newer
        WAL it did not come with, and every later call that met the damage failed while
        the bot ran on, writing into it. SQLite's quick check reads the whole file: some
        0.3 s for 160 MB, a year of links from 50 feeds.
        """
        problems = [row[0] for row in self._db.execute("PRAGMA quick_check(3)")]
        if problems != ["ok"]:  # one line, for the one-line error at start: no "*** in database main ***"
            lines = [line for row in problems for line in row.splitlines() if not line.startswith("***")]
            raise StateError(_damaged(self.path, "; ".join(lines)))

    @property
    def version(self) -> int:
        """The schema version of the file."""
        row = self._db.execute("PRAGMA user_version").fetchone()
        return int(row[0])

    def migrate(self) -> None:
        """Bring the schema to `SCHEMA_VERSION`; each step commits whole or not at all."""
        with self._write() as db:  # another process may be migrating: decide under the lock
            current = self.version
            if current > SCHEMA_VERSION:
                raise StateError(
                    f"state file {str(self.path)!r} has schema version {current}, newer than this "
                    f"newsbot's {SCHEMA_VERSION}: upgrade newsbot, or point STATE_DIR elsewhere"
                )
            for number in range(current, SCHEMA_VERSION):
                for statement in MIGRATIONS[number].split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {number + 1}")
            if current < ALERTS_CLEARED <= SCHEMA_VERSION:
                db.execute("INSERT OR IGNORE INTO chores_owed (name) VALUES (?)", (SHRINK,))
        if self._db.execute("SELECT 1 FROM chores_owed WHERE name = ?", (SHRINK,)).fetchone():
            self.give_back_room()

    def give_back_room(self) -> None:
        """Shrink the file when most of it is free pages, as clearing the alerts sent leaves
        an older one: 50,000 of them kept a 72 MB file of which 95% was free.

        VACUUM copies the live pages into a new file, and in WAL mode commits that as one
        transaction, outside any other: a process killed in it leaves the file as it was,
        whole (`tests/test_statedb.py` kills one half way), and the shrink still owed
        (`chores_owed`), done at the next open. One that fails (a disk too full for the copy,
        another process holding the file past the busy timeout) is logged, and the file keeps
        its size; free pages are used again by later writes.
        """
        pages = self._db.execute("PRAGMA page_count").fetchone()[0]
        free = self._db.execute("PRAGMA freelist_count").fetchone()[0]
        if free * 4 >= pages:
            try:
                with self._writing:
                    self._db.execute("VACUUM")
                    self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the copy went through the WAL
            except sqlite3.Error as error:
                logger.warning("state file %s keeps its free space: %s", self.path, error)
        with self._write() as db:
            db.execute("DELETE FROM chores_owed WHERE name = ?", (SHRINK,))

    # --- feeds -------------------------------------------------------------------------

    def add_feed(self, url: str, name: str, title: str | None) -> FeedRow:
        """Store a new feed in a folder named after `name` that no feed has had (`folder_name`),
        under an id no feed has had (`feed_ids_given`); `sqlite3.IntegrityError` if its URL is taken.

        The folder is chosen in the transaction that stores the feed: chosen before it, a
        feed of the same name that another process (a second bot, `newsbot feeds add`)
        stored meanwhile took the folder first, and this one was refused as listed already.
        """
        with self._write() as db:
            db.execute(
                "UPDATE feed_ids_given SET last = max(last, (SELECT coalesce(max(id), 0) FROM feeds)) + 1"
            )
            db.execute(
                "INSERT INTO feeds (id, url, name, title, added_at)"
                " VALUES ((SELECT last FROM feed_ids_given), ?, ?, ?, ?)",
                (url, folder_name(name, _names_taken(db)), title, time.time()),
            )
        feed = self.feed_by_url(url)
        assert feed is not None
        return feed

    def feeds(self, corpus_dir: Path | None = None) -> list[FeedRow]:
        """Every feed, in the order they were added (their numbers in `feeds list`). With
        `corpus_dir`, a feed's `articles` counts those whose file is there, in its folder
        (not one deleted or moved out of it), as `/feeds` says; else all it brought. Each
        feed's folder is listed once: a look at each article's file took 0.7 s at 50,000
        articles (0.2 s so). The bot calls `feeds_apart` instead."""
        feeds = [FeedRow(*row) for row in self._db.execute(f"{_FEED_COLUMNS} ORDER BY f.id").fetchall()]
        if corpus_dir is None:
            return feeds
        return _in_folders(feeds, self._db.execute(_FEED_PATHS), corpus_dir)

    def feeds_apart(self, corpus_dir: Path) -> list[FeedRow]:
        """`feeds(corpus_dir)`, read over a connection of its own, on a thread other than the
        state file's: /feeds read every feed article's path and listed every feed's folder on
        that thread, 0.11 s at 50,000 articles in which every chat's call on the state file (a
        question's page buttons, /follow) waited. WAL lets it read while that thread writes."""
        reader = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        try:
            reader.execute("PRAGMA query_only = ON")
            reader.execute("BEGIN")  # the feeds and their articles as of one moment
            feeds = [FeedRow(*row) for row in reader.execute(f"{_FEED_COLUMNS} ORDER BY f.id").fetchall()]
            paths = reader.execute(_FEED_PATHS).fetchall()
            reader.execute("COMMIT")
        finally:
            reader.close()
        return _in_folders(feeds, paths, corpus_dir)

    def in_folder(self, feed: FeedRow, corpus_dir: Path) -> int:
        """How many of `feed`'s articles have their file in its folder, as `feeds(corpus_dir)` counts."""
        paths = self._db.execute(f"{_FEED_PATHS} AND feed_id = ?", (feed.id,))
        return _in_folders([feed], paths, corpus_dir)[0].articles

    def feed_number(self, feed_id: int) -> int:
        """A feed's number in `feeds` (from 1): its place, whatever was added since."""
        return int(self._db.execute("SELECT count(*) FROM feeds WHERE id <= ?", (feed_id,)).fetchone()[0])

    def feed_by_url(self, url: str) -> FeedRow | None:
        """The feed with this URL, if any."""
        return next((feed for feed in self.feeds() if feed.url == url), None)

    def remove_feed(self, feed_id: int, done: CommandDone | None = None) -> None:
        """Forget a feed; its articles stay in the corpus and in the seen links. `done`: the
        command that asked for it, recorded with it (see `reply_given`)."""
        with self._write() as db:
            db.execute("DELETE FROM feeds WHERE id = ?", (feed_id,))
            _record(db, done)

    def remember_listing(self, chat_id: int, user_id: int, feed_ids: Sequence[int]) -> None:
        """Keep the feeds /feeds listed to `user_id` in `chat_id`, in order: what their
        `/feeds remove N` there means (`listing`)."""
        with self._write() as db:
            db.execute(
                "INSERT OR REPLACE INTO feed_listings (chat_id, user_id, feed_ids)"
                f" VALUES ({_CHAT_NOW}, ?, ?)",
                (chat_id, chat_id, user_id, ",".join(map(str, feed_ids))),
            )

    def renumber_listing(self, chat_id: int, user_id: int) -> None:
        """Make the listing `user_id` was shown in `chat_id`, if any, the feeds as they are now:
        their /feeds add gave the new feed its number in that list."""
        with self._write() as db:
            db.execute(
                "UPDATE feed_listings SET feed_ids = (SELECT coalesce(group_concat(id, ','), '')"
                f" FROM (SELECT id FROM feeds ORDER BY id)) WHERE chat_id = {_CHAT_NOW} AND user_id = ?",
                (chat_id, chat_id, user_id),
            )

    def listing(self, chat_id: int, user_id: int) -> tuple[int, ...] | None:
        """The feeds' ids /feeds last listed to `user_id` in `chat_id`, in its order; None if none."""
        row = self._db.execute(
            f"SELECT feed_ids FROM feed_listings WHERE chat_id = {_CHAT_NOW} AND user_id = ?",
            (chat_id, chat_id, user_id),
        ).fetchone()
        return None if row is None else tuple(int(part) for part in str(row[0]).split(",") if part)

    def move_chat(self, group_id: int, supergroup_id: int) -> int:
        """Move what is kept of a group to the supergroup it became (whose messages come from a
        new id), in one transaction; return how many rows moved: none the second time, as
        Telegram says so in both chats. That is the feeds /feeds listed there to each admin,
        unless a /feeds in the supergroup gave them a newer list already. Nothing else moves:
        topics are followed, and alerted, in private chats alone; the questions behind page
        buttons and the commands done are each known by a message of the group, which stays
        the group's, while the supergroup numbers its messages anew.

        The move itself is kept (`chat_moves`): a list /feeds gives in answer to a late message
        of the group is the supergroup's from then on, across a restart too."""
        with self._write() as db:
            db.execute(
                "INSERT OR REPLACE INTO chat_moves (group_id, supergroup_id) VALUES (?, ?)",
                (group_id, supergroup_id),
            )
            moved = db.execute(
                "INSERT OR IGNORE INTO feed_listings (chat_id, user_id, feed_ids)"
                " SELECT ?, user_id, feed_ids FROM feed_listings WHERE chat_id = ?",
                (supergroup_id, group_id),
            ).rowcount
            db.execute("DELETE FROM feed_listings WHERE chat_id = ?", (group_id,))
        return int(moved)

    def chat_moves(self) -> dict[int, int]:
        """Each group known to have become a supergroup, with the supergroup's id (`move_chat`)."""
        rows = self._db.execute("SELECT group_id, supergroup_id FROM chat_moves").fetchall()
        return {int(group): int(supergroup) for group, supergroup in rows}

    def feed_checked(
        self,
        feed_id: int,
        *,
        etag: str | None,
        last_modified: str | None,
        title: str | None,
        unread: int | None = 0,
        item_limit: int = 0,
        problem: str | None = None,
    ) -> None:
        """Record a successful fetch (or a 304), the validators for the next one, the feed's
        own title if it has no name yet, the older items left `unread` past `item_limit`
        (None: as before, under the limit it was, and the `problem` it had too), and the
        `problem` the read read past."""
        now = time.time()
        with self._write() as db:
            db.execute(
                "UPDATE feeds SET etag = ?, last_modified = ?, title = coalesce(title, ?),"
                " checked_at = ?, ok_at = ?, error = NULL, reason = NULL, failures = 0,"
                " unread = coalesce(?, unread), item_limit = iif(? IS NULL, item_limit, ?),"
                " problem = iif(? IS NULL, problem, ?) WHERE id = ?",
                (etag, last_modified, title, now, now, unread, unread, item_limit, unread, problem, feed_id),
            )

    def feed_notices(self, after: int) -> list[FeedRow]:
        """Feeds the admins are to be told of: failing `after` rounds in a row or more and not
        told yet (`error` set), or told and reading again (`error` None)."""
        rows = self._db.execute(
            f"{_FEED_COLUMNS} WHERE (failing_told = 0 AND failures >= ?)"
            " OR (failing_told = 1 AND failures = 0) ORDER BY f.id",
            (after,),
        ).fetchall()
        return [FeedRow(*row) for row in rows]

    def take_feed_notice(self, feed: FeedRow) -> bool:
        """Record that the admins are told of `feed` as `feed_notices` read it, just before they
        are, so that no notice is sent twice; False (nothing recorded) if it changed since, or
        another bot on this state file took it first."""
        failing = feed.error is not None
        with self._write() as db:
            taken = db.execute(
                "UPDATE feeds SET failing_told = ? WHERE id = ? AND failing_told = ? AND (failures > 0) = ?",
                (int(failing), feed.id, int(not failing), int(failing)),
            ).rowcount
        return taken == 1

    def owe_feed_notices(self, admin_id: int, feeds: Sequence[FeedRow]) -> None:
        """Keep the notice of `feeds` for `admin_id`, whom Telegram could not reach with it (a
        network fault): `take_owed_notices` gives it back at their next notice. Taken for all
        admins at once (`take_feed_notice`), it was lost to this one for good."""
        with self._write() as db:
            db.executemany(
                "INSERT OR REPLACE INTO notices_owed (admin_id, feed_id, failing)"
                " SELECT ?, id, ? FROM feeds WHERE id = ?",  # not a feed removed meanwhile
                [(admin_id, int(feed.error is not None), feed.id) for feed in feeds],
            )

    def take_owed_notices(self, admin_id: int) -> list[FeedRow]:
        """The feeds `admin_id` is owed a notice of (`owe_feed_notices`), as they are now, taken
        so that no other bot on this state file sends them too; a notice no longer true (a
        failing feed reads again, or the reverse) is dropped, as `take_feed_notice` drops it."""
        owed = "FROM notices_owed WHERE admin_id = ?"
        if self._db.execute(f"SELECT 1 {owed} LIMIT 1", (admin_id,)).fetchone() is None:
            return []  # the look of every minute writes nothing
        with self._write() as db:
            rows = db.execute(
                f"{_FEED_COLUMNS} JOIN notices_owed o ON o.feed_id = f.id"
                " WHERE o.admin_id = ? AND (f.failures > 0) = o.failing ORDER BY f.id",
                (admin_id,),
            ).fetchall()
            db.execute(f"DELETE {owed}", (admin_id,))
        return [FeedRow(*row) for row in rows]

    def feed_failed(self, feed_id: int, error: str, reason: str | None = None) -> None:
        """Record a failed fetch (`reason`: see `FeedRow.reason`); the feed is tried again next round."""
        with self._write() as db:
            db.execute(
                "UPDATE feeds SET checked_at = ?, error = ?, reason = ?, failures = failures + 1"
                " WHERE id = ?",
                (time.time(), error, reason, feed_id),
            )

    # --- links and articles ------------------------------------------------------------

    def link_outcome(self, url: str) -> tuple[str, int] | None:
        """What happened to this canonical URL (or item key, see `claim_article`) before:
        (outcome, attempts), or None if new."""
        row = self._db.execute("SELECT outcome, attempts FROM links WHERE url = ?", (url,)).fetchone()
        return (str(row[0]), int(row[1])) if row else None

    def note_item(self, item: str, key: str) -> None:
        """Know `item` (`ingest._item_key`: an item's own id in its feed) as the link `key`
        was read as, saved or a duplicate; nothing if it was neither, or is known already."""
        with self._write() as db:
            db.execute(
                "INSERT OR IGNORE INTO links (url, outcome, article_id, seen_at)"
                " SELECT ?, outcome, article_id, ? FROM links WHERE url = ? AND outcome != 'failed'",
                (item, time.time(), key),
            )

    def links_listed(self, feed_id: int, keys: Iterable[str], now: float | None = None) -> int:
        """Record that the feed `feed_id` lists the links (and item keys) `keys` now, and forget
        its links met as a duplicate or failed that it has not listed for `UNLISTED_KEPT`
        seconds, and no one's so (a removed feed's, or met before feeds were recorded, step
        20); return how many were forgotten. One that it lists is never forgotten, however
        long it stays: it is neither read nor alerted again."""
        now = time.time() if now is None else now
        with self._write() as db:
            db.executemany(  # a feed removed while its round read it: the links are no one's
                "UPDATE links SET feed_id = (SELECT id FROM feeds WHERE id = ?), listed_at = ? WHERE url = ?",
                ((feed_id, now, key) for key in keys),
            )
            cutoff = now - UNLISTED_KEPT
            forgotten = db.execute(
                "DELETE FROM links WHERE feed_id = ? AND outcome != 'saved' AND listed_at < ?",
                (feed_id, cutoff),
            ).rowcount
            # no one's, apart: each DELETE finds its rows by the index
            forgotten += db.execute(
                "DELETE FROM links WHERE feed_id IS NULL AND outcome != 'saved' AND listed_at < ?",
                (cutoff,),
            ).rowcount
            return forgotten

    def article_with_text(self, text_hash: str) -> SavedArticle | None:
        """The stored article with this text fingerprint, if any."""
        row = self._db.execute(_ARTICLE_COLUMNS + " WHERE text_hash = ?", (text_hash,)).fetchone()
        return _article(row) if row else None

    def article_for_link(self, url: str) -> SavedArticle | None:
        """The article a seen URL led to (itself or the one it duplicates)."""
        row = self._db.execute(
            _ARTICLE_COLUMNS + " WHERE id = (SELECT article_id FROM links WHERE url = ?)", (url,)
        ).fetchone()
        return _article(row) if row else None

    def feed_of(self, article_id: int) -> FeedRow | None:
        """The feed that brought an article, while it is listed."""
        row = self._db.execute(
            f"{_FEED_COLUMNS} WHERE f.id = (SELECT feed_id FROM articles WHERE id = ?)", (article_id,)
        ).fetchone()
        return FeedRow(*row) if row else None

    def claim_article(
        self,
        *,
        url: str,
        text_hash: str,
        path: str,
        title: str,
        date: dt.date,
        feed_id: int | None,
        backlog: bool = False,
        key: str | None = None,
        in_corpus: Callable[[str], bool] = lambda path: True,
        restore: bool = False,
    ) -> tuple[Claim, SavedArticle]:
        """Record an article whose file is written, unless its item or text is known already.

        Decided in one write transaction, so when the bot and `newsbot fetch` meet the
        same article at once exactly one of them keeps it. Returns the outcome and the
        stored article (the earlier one for "seen" and "duplicate"). A `backlog` article
        came with a new feed's first read (or failed there, `link_failed`, and is read
        only now): it is indexed, and alerts no one. `key` tells the item from others in
        `links`: its `url` (the default), or an id of its own at that URL (`url#id`, see
        `ingest`). An item met by its link alone before (read from its page, or saved before
        ids told items apart) is not saved again once it comes with its id: the article its
        link led to, under the same headline and claimed by no other id, is that item.

        An item known by its link stays out once its article's file is deleted: a feed that
        lists it again does not bring it back. The text of such an article under another
        link is saved, not taken for a duplicate of what the corpus no longer holds: the
        article it was (`in_corpus(path)` false) takes the new link and file, so that it
        alerts no reader a second time (`queue_alerts`). An admin's /add (`restore`) brings
        such an article back under its own link too, with its page's text as it is now, and
        its feed's still (the feed it came from and whether it was that feed's backlog). When
        that text is another article's in the corpus, the link is not recorded as its
        duplicate: it stays the link of its own article, whose file is gone, so that an /add
        once the page holds its words again brings it back. When that text is another
        article's whose file was deleted too, that article comes back with the file (as
        itself: `ingest.add_link` gives its link, feed and backlog), and the link stays its own
        article's all the same.
        """
        now = time.time()
        key = key or url
        with self._write() as db:
            led_to = _ARTICLE_COLUMNS + " WHERE id = (SELECT article_id FROM links WHERE url = ?)"
            known = db.execute(led_to, (key,)).fetchone()
            if known is None and key != url:
                known = db.execute(  # the ids at `url` sort between `url#` and `url$`
                    led_to + " AND title = ? AND NOT EXISTS (SELECT 1 FROM links l WHERE l.url > ?"
                    " AND l.url < ? AND l.article_id = articles.id)",
                    (url, title, url + "#", url + "$"),
                ).fetchone()
                if known:
                    db.execute(
                        "INSERT OR REPLACE INTO links (url, outcome, article_id, seen_at)"
                        " VALUES (?, 'saved', ?, ?)",
                        (key, known[0], now),
                    )
            if known and (not restore or in_corpus(_article(known).path)):
                return "seen", _article(known)
            same_text = db.execute(_ARTICLE_COLUMNS + " WHERE text_hash = ?", (text_hash,)).fetchone()
            if same_text and in_corpus(_article(same_text).path):
                if not (restore and known):  # else the link stays its article's, to be brought back
                    db.execute(  # once its page holds that article's words again
                        "INSERT OR REPLACE INTO links (url, outcome, article_id, seen_at)"
                        " VALUES (?, 'duplicate', ?, ?)",
                        (key, same_text[0], now),
                    )
                return "duplicate", _article(same_text)
            gone = same_text or known  # an article whose file was deleted (`known` only to `restore`)
            if gone:  # the article is this one's now, matched anew
                own = restore and known is not None and known[0] == gone[0]  # brought back by its link
                db.execute(
                    "UPDATE articles SET url = ?, text_hash = ?, path = ?, title = ?, date = ?, feed_id ="
                    " CASE WHEN ? THEN feed_id ELSE (SELECT id FROM feeds WHERE id = ?) END, saved_at = ?,"
                    " backlog = CASE WHEN ? THEN backlog ELSE ? END, matched = 0, corpus_id = NULL,"
                    " source = NULL WHERE id = ?",
                    (url, text_hash, path, title, date.isoformat(), own, feed_id, now, own, backlog, gone[0]),
                )
                if not (restore and known and not own):  # else the link stays its article's, as above
                    db.execute(
                        "INSERT OR REPLACE INTO links (url, outcome, article_id, seen_at)"
                        " VALUES (?, 'saved', ?, ?)",
                        (key, gone[0], now),
                    )
                row = db.execute(_ARTICLE_COLUMNS + " WHERE id = ?", (gone[0],)).fetchone()
                return "saved", _article(row)
            failed_first = "SELECT 1 FROM links WHERE url = ? AND outcome = 'failed' AND backlog"
            backlog = backlog or db.execute(failed_first, (key,)).fetchone() is not None
            cursor = db.execute(  # a feed removed since it was read keeps its articles, as `remove_feed` does
                "INSERT INTO articles (url, text_hash, path, title, date, feed_id, saved_at, backlog)"
                " VALUES (?, ?, ?, ?, ?, (SELECT id FROM feeds WHERE id = ?), ?, ?)",
                (url, text_hash, path, title, date.isoformat(), feed_id, now, backlog),
            )
            db.execute(
                "INSERT OR REPLACE INTO links (url, outcome, article_id, seen_at) VALUES (?, 'saved', ?, ?)",
                (key, cursor.lastrowid, now),
            )
            row = db.execute(_ARTICLE_COLUMNS + " WHERE id = ?", (cursor.lastrowid,)).fetchone()
        return "saved", _article(row)

    def link_failed(self, url: str, reason: str, backlog: bool = False, counted: bool = True) -> int:
        """Count one more failed attempt at a link; return the attempts so far. A link that
        failed at its feed's first read (`backlog`) stays backlog when a later round saves it.
        Not `counted`: the fault was ours (a full disk), not the link's, and costs it no try."""
        with self._write() as db:
            db.execute(
                "INSERT INTO links (url, outcome, reason, seen_at, backlog, attempts)"
                " VALUES (?, 'failed', ?, ?, ?, ?)"
                " ON CONFLICT (url) DO UPDATE SET attempts = attempts + excluded.attempts,"
                " reason = excluded.reason, seen_at = excluded.seen_at,"
                " backlog = backlog OR excluded.backlog WHERE outcome = 'failed'",
                (url, reason, time.time(), backlog, int(counted)),
            )
            row = db.execute("SELECT attempts FROM links WHERE url = ?", (url,)).fetchone()
        return int(row[0])

    def note_dropped(
        self,
        arrived: Sequence[Dropped],
        gone: Sequence[Dropped] = (),
        in_corpus: Callable[[str], bool] = lambda path: True,
    ) -> int:
        """Record the articles of files dropped into the corpus folder (`arrived`), to be
        matched against readers' topics as a feed's are, and of files removed from it
        (`gone`); return how many arrived that were new.

        An article is known by its text, as a feed's is: one known already alerts no one
        again, be it a file renamed, removed and copied back, copied twice, or the copy of an
        article a feed or link brought; when that article's file is gone (`in_corpus(path)`
        false: deleted, or moved out of `feeds/`), the new file is its file from then on, so
        that a feed bringing its words again takes them for the duplicate they are. A file
        removed that alerted no one (it was there at the bot's start) is recorded so, as
        matched. An article naming a link that a feed, a
        link or another file brought is known too, and its own link is recorded as seen, so
        that a feed bringing it later does not save it again. One write transaction: two
        bots on one state file record each article once.
        """
        now = time.time()
        new = 0
        with self._write() as db:
            for article in gone:  # first: a file renamed is one gone and one arrived, of one text
                self._insert_dropped(db, article, now, matched=True)
            for article in arrived:
                moved = db.execute(  # renamed before it was matched: matched under its new name
                    "UPDATE articles SET corpus_id = ?, path = ? WHERE text_hash = ?"
                    " AND corpus_id IS NOT NULL AND matched = 0",
                    (article.corpus_id, article.path, article.text_hash),
                )
                if moved.rowcount:
                    continue
                known = db.execute("SELECT id, path FROM articles WHERE text_hash = ?", (article.text_hash,))
                if (row := known.fetchone()) is not None:
                    if row[1] != article.path and not in_corpus(row[1]):  # the file it had is gone
                        db.execute(
                            "UPDATE articles SET corpus_id = ?, path = ? WHERE id = ?",
                            (article.corpus_id, article.path, row[0]),
                        )
                    continue
                seen = "SELECT 1 FROM links WHERE url = ? AND outcome != 'failed'"
                if article.url and db.execute(seen, (article.url,)).fetchone() is not None:
                    continue
                self._insert_dropped(db, article, now, matched=False)
                new += 1
        return new

    @staticmethod
    def _insert_dropped(db: sqlite3.Connection, article: Dropped, now: float, matched: bool) -> None:
        cursor = db.execute(
            "INSERT OR IGNORE INTO articles (url, text_hash, path, title, date, saved_at, matched, corpus_id,"
            " source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                article.url,
                article.text_hash,
                article.path,
                article.title,
                article.date.isoformat(),
                now,
                matched,
                article.corpus_id,
                article.source,
            ),
        )
        if cursor.rowcount and article.url and not matched:
            db.execute(
                "INSERT OR REPLACE INTO links (url, outcome, article_id, seen_at) VALUES (?, 'saved', ?, ?)",
                (article.url, cursor.lastrowid, now),
            )

    def unmatched_articles(
        self, limit: int = 1000, published_by: dt.date | None = None
    ) -> list[SavedArticle]:
        """Articles not yet matched against readers' topics, oldest first; with `published_by`,
        a dropped file's article dated later (an embargo) waits for its day, as answers do."""
        rows = self._db.execute(
            _ARTICLE_COLUMNS + " WHERE matched = 0 AND (corpus_id IS NULL OR date <= ?) ORDER BY id LIMIT ?",
            ((published_by or dt.date.max).isoformat(), limit),
        ).fetchall()
        return [_article(row) for row in rows]

    def articles(self) -> list[SavedArticle]:
        """Every article feeds, links and files dropped in brought, oldest first."""
        return [_article(row) for row in self._db.execute(_ARTICLE_COLUMNS + " ORDER BY id").fetchall()]

    def articles_count(self) -> int:
        """How many articles feeds, links and files dropped in have brought."""
        return int(self._db.execute("SELECT count(*) FROM articles").fetchone()[0])

    # --- questions behind page buttons --------------------------------------------------

    def remember_question(self, key: str, asked: Asked) -> None:
        """Keep the question behind an answer's page buttons under `key`, and forget the
        oldest beyond `QUESTIONS_KEPT`."""
        with self._write() as db:
            db.execute(
                "INSERT INTO questions (key, chat_id, question, as_of, language, layout)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (key, asked.chat_id, asked.question, asked.as_of.isoformat(), asked.language, asked.layout),
            )
            db.execute("DELETE FROM questions WHERE rowid <= last_insert_rowid() - ?", (QUESTIONS_KEPT,))

    def forget_question(self, key: str) -> None:
        """Forget the question kept under `key`: its answer now answers another (it was edited)."""
        with self._write() as db:
            db.execute("DELETE FROM questions WHERE key = ?", (key,))

    def asked(self, key: str) -> Asked | None:
        """The question kept under `key`, or None if there is none (forgotten, or never issued)."""
        row = self._db.execute(
            "SELECT chat_id, question, as_of, language, layout FROM questions WHERE key = ?", (key,)
        ).fetchone()
        return (
            None
            if row is None
            else Asked(row[0], row[1], dt.date.fromisoformat(row[2]), row[3], bytes(row[4]))
        )

    # --- topics and alerts -------------------------------------------------------------

    def topics(self, user_id: int | None = None) -> list[TopicRow]:
        """One user's topics (or everyone's), in the order they were followed."""
        query = "SELECT id, user_id, chat_id, words, terms, created_at FROM topics"
        rows = (
            self._db.execute(query + " WHERE user_id = ? ORDER BY id", (user_id,))
            if user_id is not None
            else self._db.execute(query + " ORDER BY id")
        ).fetchall()
        return [TopicRow(r[0], r[1], r[2], r[3], tuple(r[4].split()), r[5]) for r in rows]

    def follow(
        self,
        user_id: int,
        chat_id: int,
        words: str,
        terms: tuple[str, ...],
        limit: int,
        language: str | None = None,
    ) -> str:
        """Add a topic: "added", "known" (the same terms, in any order, already followed) or
        "full" (at `limit`). A topic matches its terms in any order, so order makes no new topic.
        `language`: the reader's app's, kept for their alerts (`remember_language`) in the same
        transaction, so that a topic refused or a hard kill leaves no language for no topic."""
        with self._write() as db:
            if language is not None:
                db.execute(
                    "INSERT INTO readers (user_id, language) VALUES (?, ?)"
                    " ON CONFLICT (user_id) DO UPDATE SET language = excluded.language",
                    (user_id, language),
                )
            followed = [
                row[0].split() for row in db.execute("SELECT terms FROM topics WHERE user_id = ?", (user_id,))
            ]
            if set(terms) in (set(known) for known in followed):
                return "known"
            if len(followed) >= limit:
                return "full"
            db.execute(
                "INSERT INTO topics (user_id, chat_id, words, terms, created_at) VALUES (?, ?, ?, ?, ?)",
                (user_id, chat_id, words, " ".join(terms), time.time()),
            )
        return "added"

    def remember_topics_listed(self, user_id: int, topic_ids: Sequence[int]) -> None:
        """Keep the topics /following listed to `user_id`, in order: what their `/unfollow N`
        means (`topics_listed`), so that one sent twice stops one topic. An empty list is
        kept as none: a reader who follows nothing leaves nothing of theirs. Written only when
        it changed: /following stays a read (`remember_language`)."""
        if self.topics_listed(user_id) == (tuple(topic_ids) or None):
            return
        with self._write() as db:
            if topic_ids:
                db.execute(
                    "INSERT OR REPLACE INTO topic_listings (user_id, topic_ids) VALUES (?, ?)",
                    (user_id, ",".join(map(str, topic_ids))),
                )
            else:
                db.execute("DELETE FROM topic_listings WHERE user_id = ?", (user_id,))

    def topics_listed(self, user_id: int) -> tuple[int, ...] | None:
        """The topics' ids /following last listed to `user_id`, in its order; None if none,
        or if they have followed no topic since their last went."""
        listed = "SELECT topic_ids FROM topic_listings WHERE user_id = ?"
        row = self._db.execute(listed, (user_id,)).fetchone()
        return None if row is None else tuple(int(part) for part in str(row[0]).split(",") if part)

    def reply_given(self, chat_id: int, message_id: int) -> str | None:
        """The reply to a command that dropped a topic or a feed by its number, if that message
        was acted on already: after a hard kill Telegram hands out again what the bot had not
        confirmed, and `/unfollow 1` applied twice would drop the next topic too."""
        row = self._db.execute(
            "SELECT reply FROM commands_done WHERE chat_id = ? AND message_id = ?", (chat_id, message_id)
        ).fetchone()
        return None if row is None else str(row[0])

    def forget_old_commands(self, now: float | None = None) -> None:
        """Forget the commands recorded more than `COMMANDS_KEPT` ago (`reply_given`), their
        replies with the topics and feeds they name. Each recorded one forgets them too, but a
        quiet bot may record none for months. Written only when one is due, so that the
        every-minute look does not wait for another process holding the file's lock."""
        before = (time.time() if now is None else now) - COMMANDS_KEPT
        if self._db.execute("SELECT 1 FROM commands_done WHERE done_at < ? LIMIT 1", (before,)).fetchone():
            with self._write() as db:
                db.execute("DELETE FROM commands_done WHERE done_at < ?", (before,))

    def unfollow(self, topic_id: int, done: CommandDone | None = None, keep_language: bool = False) -> None:
        """Drop one topic and its unsent alerts: those past the hour's limit wait for up to an
        hour, and "Stopped following" must not be followed by alerts on it. An alert that also
        matched another topic its reader still follows waits on, under the best of those.
        The reader's language goes with their last topic, as no alert is written in it any more,
        unless `keep_language` (an admin's feed notices are written in it); so does the list
        /following last showed them (`topics_listed`).
        `done`: the command that asked for it, recorded with it (see `reply_given`)."""
        with self._write() as db:
            _record(db, done)
            row = db.execute("SELECT user_id, words FROM topics WHERE id = ?", (topic_id,)).fetchone()
            if row is None:
                return
            db.execute("DELETE FROM topics WHERE id = ?", (topic_id,))
            user_id, now = row[0], time.time()
            db.execute(  # their last: nothing left to number, nor to keep of them
                "DELETE FROM topic_listings WHERE user_id = ? AND NOT EXISTS"
                " (SELECT 1 FROM topics WHERE user_id = ?)",
                (user_id, user_id),
            )
            if not keep_language:
                followed = "SELECT 1 FROM topics WHERE user_id = ?"
                db.execute(
                    f"DELETE FROM readers WHERE user_id = ? AND NOT EXISTS ({followed})", (user_id, user_id)
                )
            waiting = db.execute(
                "SELECT id FROM alerts WHERE user_id = ? AND topic = ? AND sent_at IS NULL", row
            ).fetchall()
            for (alert_id,) in waiting:
                other = db.execute(
                    "SELECT topic, relevance, passage, terms FROM alert_topics WHERE alert_id = ?"
                    " AND topic IN (SELECT words FROM topics WHERE user_id = ?)"
                    " ORDER BY relevance DESC, topic LIMIT 1",
                    (alert_id, user_id),
                ).fetchone()
                if other is None:
                    db.execute(
                        "UPDATE alerts SET sent_at = ?, kind = 'dropped' WHERE id = ?", (now, alert_id)
                    )
                    _clear_shown(db, [alert_id])
                    continue
                db.execute(  # the topic left stays a match, should it be followed again
                    "INSERT OR IGNORE INTO alert_topics (alert_id, topic, relevance, passage, terms)"
                    " SELECT id, topic, relevance, passage, terms FROM alerts WHERE id = ?",
                    (alert_id,),
                )
                db.execute(
                    "UPDATE alerts SET topic = ?, relevance = ?, passage = ?, terms = ? WHERE id = ?",
                    (*other, alert_id),
                )

    def language(self, user_id: int) -> str | None:
        """The language `remember_language` keeps for `user_id`, if any."""
        row = self._db.execute("SELECT language FROM readers WHERE user_id = ?", (user_id,)).fetchone()
        return None if row is None else str(row[0])

    def remember_language(self, user_id: int, language: str) -> None:
        """Write `user_id`'s alerts in `language` from now on: the one their app had at their
        last topic command, the only moments the bot hears from a reader about alerts.

        Written only when it changed: `/following` stays a read, which another process
        holding the file's lock (a `sqlite3` shell in a transaction) never holds up."""
        known = self._db.execute("SELECT language FROM readers WHERE user_id = ?", (user_id,)).fetchone()
        if known is not None and known[0] == language:
            return
        with self._write() as db:
            db.execute(
                "INSERT INTO readers (user_id, language) VALUES (?, ?)"
                " ON CONFLICT (user_id) DO UPDATE SET language = excluded.language",
                (user_id, language),
            )

    def forget_former_readers(self, admin_ids: frozenset[int]) -> None:
        """Forget the language of each user who follows no topic and is no admin (one no longer
        in `admin_ids`), and the feed notices owed to one who is no admin: nothing is written
        to them any more. Written only when there is one, as the bot starts: admins change
        with a restart alone, and a reader's last /unfollow takes their language with it."""
        unused = "SELECT user_id FROM readers WHERE user_id NOT IN (SELECT user_id FROM topics)"
        readers = [row[0] for row in self._db.execute(unused) if row[0] not in admin_ids]
        owed = [row[0] for row in self._db.execute("SELECT DISTINCT admin_id FROM notices_owed")]
        former = [admin_id for admin_id in owed if admin_id not in admin_ids]
        if not readers and not former:
            return
        with self._write() as db:
            db.executemany(
                "DELETE FROM readers WHERE user_id = ? AND user_id NOT IN (SELECT user_id FROM topics)",
                [(user_id,) for user_id in readers],
            )
            db.executemany(
                "DELETE FROM notices_owed WHERE admin_id = ?", [(admin_id,) for admin_id in former]
            )

    def forget_user(self, user_id: int) -> int:
        """Drop a user's topics, language, unsent alerts, owed feed notices, the feeds /feeds
        and the topics /following listed to them, and the questions behind page buttons and
        the replies to commands (an `/unfollow` names the topic it dropped) in their private
        chat (they blocked the bot); return topics dropped."""
        with self._write() as db:
            db.execute("DELETE FROM readers WHERE user_id = ?", (user_id,))
            db.execute("DELETE FROM notices_owed WHERE admin_id = ?", (user_id,))
            db.execute("DELETE FROM feed_listings WHERE user_id = ?", (user_id,))
            db.execute("DELETE FROM topic_listings WHERE user_id = ?", (user_id,))
            db.execute("DELETE FROM questions WHERE chat_id = ?", (user_id,))  # their private chat's id
            db.execute("DELETE FROM commands_done WHERE chat_id = ?", (user_id,))
            dropped = db.execute("DELETE FROM topics WHERE user_id = ?", (user_id,)).rowcount
            waiting = "SELECT id FROM alerts WHERE user_id = ? AND sent_at IS NULL"
            alert_ids = [row[0] for row in db.execute(waiting, (user_id,)).fetchall()]
            now = time.time()
            db.executemany(
                "UPDATE alerts SET sent_at = ?, kind = 'dropped' WHERE id = ?", [(now, i) for i in alert_ids]
            )
            _clear_shown(db, alert_ids)
        return int(dropped)

    def queue_alerts(self, alerts: list[QueuedAlert], matched: list[int]) -> None:
        """Queue alerts `(user, chat, article, topic, relevance, passage, terms)` and mark articles matched.

        One transaction: an article is matched exactly once, with all its alerts queued.
        A user gets one alert per article, under the first of their topics that matched it
        (the best: `alerts.best_first`); the others are kept beside it, for `unfollow`. A
        topic unfollowed while the match ran (thousands of topics take a while) queues none.
        """
        now = time.time()
        with self._write() as db:
            for user_id, chat_id, article_id, topic, relevance, passage, terms in alerts:
                followed = "SELECT 1 FROM topics WHERE user_id = ? AND words = ?"
                if db.execute(followed, (user_id, topic)).fetchone() is None:
                    continue  # unfollowed while the match ran: neither an alert nor a match kept
                queued = db.execute(
                    "INSERT OR IGNORE INTO alerts (user_id, chat_id, article_id, topic, relevance, passage,"
                    " terms, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (user_id, chat_id, article_id, topic, relevance, passage, terms, now),
                )
                if queued.rowcount == 0:  # another of the reader's topics matched the article first
                    db.execute(
                        "INSERT OR IGNORE INTO alert_topics (alert_id, topic, relevance, passage, terms)"
                        " SELECT id, ?, ?, ?, ? FROM alerts"
                        " WHERE user_id = ? AND article_id = ? AND sent_at IS NULL AND topic != ?",
                        (topic, relevance, passage, terms, user_id, article_id, topic),
                    )
            db.executemany("UPDATE articles SET matched = 1 WHERE id = ?", [(a,) for a in matched])

    def alert_recipients(self, since: float, until: float) -> list[Recipient]:
        """Users with unsent alerts, the longest waiting first, each with what they were sent
        between `since` and `until`: one query, however many users wait, and none of their
        alerts read. What was recorded after `until` (by a clock since set back) is not counted."""
        rows = self._db.execute(
            "SELECT w.user_id,"
            " (SELECT count(*) FROM alerts s WHERE s.user_id = w.user_id AND s.sent_at >= ?"
            "  AND s.sent_at < ? AND s.kind = 'alert'),"
            " (SELECT max(d.sent_at) FROM alerts d WHERE d.user_id = w.user_id AND d.sent_at < ?"
            "  AND d.kind = 'digest')"
            " , r.language"
            " FROM (SELECT user_id, min(id) AS first FROM alerts WHERE sent_at IS NULL GROUP BY user_id) w"
            " LEFT JOIN readers r ON r.user_id = w.user_id"
            " ORDER BY w.first",
            (since, until, until),
        ).fetchall()
        return [Recipient(int(r[0]), int(r[1]), r[2], r[3]) for r in rows]

    def pending_alerts(self, user_id: int | None = None, most: int | None = None) -> list[PendingAlert]:
        """One user's unsent alerts (or everyone's), oldest first; the first `most` of them."""
        where = "al.sent_at IS NULL" + (" AND al.user_id = ?" if user_id is not None else "")
        rows = self._db.execute(
            "SELECT al.id, al.user_id, al.chat_id, al.topic, al.relevance, al.passage, al.terms,"
            " ar.title, ar.date, ar.url, al.created_at, ar.source"
            " FROM alerts al JOIN articles ar ON ar.id = al.article_id"
            f" WHERE {where} ORDER BY al.id LIMIT ?",
            (*(() if user_id is None else (user_id,)), -1 if most is None else most),
        ).fetchall()
        return [
            PendingAlert(
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                r[5],
                frozenset(r[6].split()),
                r[7],
                _date(r[8]),
                r[9],
                r[10],
                r[11],
            )
            for r in rows
        ]

    def waiting_after(self, user_id: int, alert_id: int) -> tuple[int, int]:
        """How many of a user's unsent alerts come after `alert_id`, and the last one's id: those a
        digest counts without reading them. Counted on the pending alerts' index alone."""
        count, last = self._db.execute(
            "SELECT count(*), max(id) FROM alerts WHERE user_id = ? AND sent_at IS NULL AND id > ?",
            (user_id, alert_id),
        ).fetchone()
        return int(count), alert_id if last is None else int(last)

    def mark_counted(self, user_id: int, after: int, until: int, kind: Literal["digest", "dropped"]) -> None:
        """Record a user's unsent alerts with ids in (`after`, `until`], those a digest counted
        without reading them ("… and 2,900 more"), as sent with it (or given up with it), once
        it went. A hard kill before leaves them waiting for the next digest, never lost."""
        now = time.time()
        with self._write() as db:
            ids = [
                row[0]
                for row in db.execute(
                    "SELECT id FROM alerts WHERE user_id = ? AND sent_at IS NULL AND id > ? AND id <= ?",
                    (user_id, after, until),
                )
            ]
            db.executemany(
                "UPDATE alerts SET sent_at = ?, kind = ? WHERE id = ?", [(now, kind, i) for i in ids]
            )
            _clear_shown(db, ids)

    def take_for_sending(self, alert_ids: list[int], kind: Literal["alert", "digest"]) -> bool:
        """Record alerts as sent just before they are sent; False (and nothing recorded) if
        any is no longer waiting, as when another bot on this state file took it first.

        Recorded first, so that no alert is ever sent twice: a hard kill while one is on its
        way loses it rather than send it again after a restart. What its message shows is
        cleared in the same write (`_clear_shown`). `put_back` undoes this for a message that
        surely did not go.
        """
        now = time.time()
        try:
            with self._write() as db:
                taken = db.executemany(
                    "UPDATE alerts SET sent_at = ?, kind = ? WHERE id = ? AND sent_at IS NULL",
                    [(now, kind, i) for i in alert_ids],
                ).rowcount
                if taken != len(alert_ids):
                    raise _TakenAlready
                _clear_shown(db, alert_ids)
        except _TakenAlready:
            return False
        return True

    def put_back(self, alerts: list[PendingAlert]) -> None:
        """Make alerts taken for sending wait again, as `alerts` were read: their message
        surely did not reach Telegram. One whose topic its reader unfollowed while it was on
        its way stays given up (`unfollow` left it, as it was not waiting), and the other
        topics each matched are not kept: one unfollowed later drops it (`unfollow`)."""
        with self._write() as db:
            db.executemany(
                "UPDATE alerts SET sent_at = NULL, kind = NULL, topic = ?, relevance = ?, passage = ?,"
                " terms = ? WHERE id = ? AND EXISTS (SELECT 1 FROM topics WHERE topics.user_id ="
                " alerts.user_id AND topics.words = ?)",
                [(a.topic, a.relevance, a.passage, " ".join(sorted(a.terms)), a.id, a.topic) for a in alerts],
            )
            db.executemany(
                "UPDATE alerts SET kind = 'dropped' WHERE id = ? AND sent_at IS NOT NULL",
                [(a.id,) for a in alerts],
            )

    def mark_sent(self, alert_ids: list[int], kind: Literal["alert", "digest", "dropped"]) -> None:
        """Record alerts taken for sending as delivered (or given up); `take_for_sending`
        cleared what they showed already."""
        now = time.time()
        with self._write() as db:
            db.executemany(
                "UPDATE alerts SET sent_at = ?, kind = ? WHERE id = ?", [(now, kind, i) for i in alert_ids]
            )


def _clear_shown(db: sqlite3.Connection, alert_ids: list[int]) -> None:
    """Clear what alerts sent (or given up) showed, and the other topics they matched: only
    their reader, article, time and kind are needed, so that no article is alerted twice
    and the reader's hour is counted.

    Each row is written anew rather than updated: SQLite leaves the page of a row an update
    shrank as empty as that, and the file kept a page for every two alerts ever sent."""
    db.executemany("DELETE FROM alert_topics WHERE alert_id = ?", [(i,) for i in alert_ids])
    db.executemany(
        "INSERT OR REPLACE INTO alerts (id, user_id, chat_id, article_id, topic, relevance, passage,"
        " terms, created_at, sent_at, kind) SELECT id, user_id, chat_id, article_id, '', 0, '', '',"
        " created_at, sent_at, kind FROM alerts WHERE id = ?",
        [(i,) for i in alert_ids],
    )


class _TakenAlready(Exception):
    """An alert to be sent was no longer waiting: the transaction that would take it is undone."""


_FEED_COLUMNS = (
    "SELECT f.id, f.url, f.name, f.title, f.etag, f.last_modified, f.checked_at, f.ok_at, f.error,"
    " f.failures, (SELECT count(*) FROM articles a WHERE a.feed_id = f.id), f.reason, f.unread,"
    " f.item_limit, f.problem FROM feeds f"
)
"""A feed's `FeedRow`, in its fields' order."""
_FEED_PATHS = "SELECT feed_id, path FROM articles WHERE feed_id IS NOT NULL"
"""Each feed article's feed and path."""
_ARTICLE_COLUMNS = "SELECT id, url, path, title, date, saved_at, backlog, corpus_id, source FROM articles"


def _article(row: tuple[object, ...]) -> SavedArticle:
    number, url, path, title, date, saved_at, backlog, corpus_id, source = row
    assert isinstance(number, int) and isinstance(saved_at, float)
    return SavedArticle(
        number,
        str(url),
        str(path),
        str(title),
        _date(date),
        saved_at,
        bool(backlog),
        None if corpus_id is None else str(corpus_id),
        None if source is None else str(source),
    )


def _date(value: object) -> dt.date:
    return dt.date.fromisoformat(str(value))


def _names_taken(db: sqlite3.Connection) -> set[str]:
    """Folder names in use by feeds, or holding the articles of a feed removed: a new feed
    given one saved into it, and deleting the folder to drop the removed feed's articles,
    as `/feeds remove` suggests, dropped the new feed's too."""
    folders = db.execute(
        "SELECT DISTINCT substr(path, 7, instr(substr(path, 7), '/') - 1) FROM articles"
        " WHERE path LIKE 'feeds/%/%'"
    )
    return {row[0] for row in db.execute("SELECT name FROM feeds")} | {row[0] for row in folders}


def _record(db: sqlite3.Connection, done: CommandDone | None) -> None:
    """Record `done` in the write transaction that applies it, and forget week-old commands."""
    if done is None:
        return
    now = time.time()
    db.execute("DELETE FROM commands_done WHERE done_at < ?", (now - COMMANDS_KEPT,))
    db.execute(
        "INSERT OR REPLACE INTO commands_done (chat_id, message_id, reply, done_at) VALUES (?, ?, ?, ?)",
        (done.chat_id, done.message_id, done.reply, now),
    )

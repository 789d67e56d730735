"""The running bot's side of feeds and alerts: poll, bring new articles in, alert, deliver.

Every `FEED_INTERVAL` minutes a round runs in a child process (`python -m bot.ingest`,
the same code as `newsbot fetch`), so that downloading and extracting pages never
competes with answers for the interpreter lock. Then `settle` does the rest, every 15
seconds while the round runs, once after it, and every minute besides, so that articles
a cron `newsbot fetch` saved are picked up too:

1. articles saved but not yet matched are looked up in the served library; if some are
   missing, the library is updated through the same path as /reload (child process,
   incremental, answers go on meanwhile; never at the same time as an admin's /reload).
   While that keeps failing (the corpus folder gone, the child killed as memory runs
   out), it is tried ever less often (`IndexRetry`), not every minute. The articles of
   files dropped into the corpus folder while the bot runs, which a /reload, the watch of
   the folder (`serve_corpus_changes`) or such an update brought (`BotState.serve`), are
   recorded as arrived then (`note_dropped`), and go on as a feed's do;
2. those that are news (`alerts.is_news`: not a new feed's backlog, recently dated) are
   matched against every followed topic, in worker threads (as questions are searched),
   and the alerts queued, in one transaction with marking them all matched, so nothing
   is alerted twice;
3. queued alerts are sent within each user's hourly limit, the rest as one digest, each
   recorded as sent just before it goes (never twice, even across a hard kill), in the
   language of the reader's app at their last topic command. A user who blocked the bot
   (403, met here or at an answer to them) loses their topics (`forget_blocked`).

Each step has a lock of its own, and an admin's /add waits for the first alone: its
reply never waits for a delivery that Telegram's flood limits pace for minutes.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from telegram import Bot, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import Application, ContextTypes

from retrieval import CorpusError, Library, latest_today
from retrieval.progress import counted

from . import alerts
from .delivery import MaybeDelivered
from .extracting import PageReader
from .feed_render import DIGEST_LINES, render_alert, render_digest, render_feed_notices
from .i18n import Translations, language_of, translations
from .ingest import IngestOptions, RoundReport
from .reloading import Waiting, environment_without_secrets, in_daemon_thread
from .state import BotState, QueryStore
from .statedb import PendingAlert, SavedArticle, StateDB, TopicRow, off_loop

__all__ = [
    "FeedService",
    "IndexRetry",
    "forget_blocked",
    "index_new",
    "poll_feeds",
    "run_round_in_child",
    "settle",
    "settle_job",
]

logger = logging.getLogger(__name__)
SETTLE_EVERY = 60.0
"""Seconds between two looks for articles saved by another process, and for digests due."""
SETTLE_DURING_ROUND = 15.0
"""Seconds between two updates while a long round is still running, so that alerts need
not wait for its last feed."""
INDEX_RETRY_MAX = 3600.0
"""Seconds at most between two tries of an indexing that keeps failing."""
TOPICS_PER_TURN = 50
"""Topics matched in one worker-thread call: each costs about what a question costs."""
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
Context = ContextTypes.DEFAULT_TYPE


@dataclass
class IndexRetry:
    """When the settles may try an indexing again, while it keeps failing: of new articles
    (`FeedService.index_retry`), or of a corpus folder that looks changed
    (`FeedService.watch_retry`, where a read that finds no file changed counts as failed).

    Each failed try starts an indexing child, which may take all the memory there is before
    it is killed again; a try whose child could not save the index (a full disk) builds the
    whole corpus in the bot's own process, served but counted as failed. After one failure
    the next settle tries again (as /add's reply promises), then 2, 4, 8 ... minutes later,
    at most an hour; a success ends the wait. An admin's /add tries new articles at once
    and starts their count afresh; /reload does not wait either.
    """

    failures: int = 0
    """Failed tries in a row."""
    due: float = 0.0
    """Monotonic time from which the settles try again."""

    def failed(self, now: float) -> float:
        """Count one more failure at `now`; the seconds until the next try."""
        self.failures += 1
        wait = 0.0 if self.failures < 2 else min(INDEX_RETRY_MAX, SETTLE_EVERY * 2 ** (self.failures - 1))
        self.due = now + wait
        return wait

    def succeeded(self) -> None:
        """Indexing worked (or the articles are served already): the next failure counts from one."""
        self.failures, self.due = 0, 0.0


@dataclass
class FeedService:
    """What the feed and alert side of the bot keeps: the state file and its options."""

    db: StateDB
    options: IngestOptions
    interval: int
    alerts_per_hour: int
    notify_after: int = 4
    """Rounds in a row a feed fails before the admins are told (`tell_admins`); 0: never."""
    settle_during_round: float = SETTLE_DURING_ROUND
    settle_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Held while new articles are indexed and matched, so that each is matched once."""
    index_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Held while new articles are indexed: /add waits for this, not for matching or delivery."""
    delivery_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Held while alerts are delivered, which Telegram's flood limits may pace for minutes:
    one delivery at a time, so each counts what the one before it sent."""
    round_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    reader: PageReader = field(default_factory=PageReader)
    """Reads the pages of admins' links in child processes, a few at a time (`bot.extracting`)."""
    index_retry: IndexRetry = field(default_factory=IndexRetry)
    watch_corpus: bool = True
    """Serve files dropped into the corpus folder within a minute (`serve_corpus_changes`)."""
    watch_retry: IndexRetry = field(default_factory=IndexRetry)
    """Spaces out the reads of a corpus whose folders look changed while none of its files is."""
    last_round: RoundReport | None = None
    round_ended_at: float | None = None
    """Unix time the last round's child process finished."""


def positions(library: Library, corpus_ids: set[str]) -> dict[str, int]:
    """Where each of these article ids sits in `library.articles`, for those it holds.

    Searched from the end, where an update puts the articles it added, so that finding
    a few new articles in a large library stops early.
    """
    found: dict[str, int] = {}
    ids = library.articles.ids
    for number in range(len(ids) - 1, -1, -1):
        if ids[number] in corpus_ids:
            found[ids[number]] = number
            if len(found) == len(corpus_ids):
                break
    return found


def _worth_indexing(corpus_dir: Path, articles: list[SavedArticle]) -> bool:
    """Whether indexing the corpus again may bring in any of these articles: one whose file is
    there, or whose folder is not either (the corpus folder gone, a share unmounted: the
    indexing fails and is tried again later). One whose file alone is gone from its folder
    below the corpus folder was deleted, and no indexing brings it in."""
    for article in articles:
        file = corpus_dir / article.path
        if file.is_file() or file.parent == corpus_dir or not file.parent.is_dir():
            return True
    return False


def feed_service(context: Context | Application) -> FeedService:  # type: ignore[type-arg]
    """The service the application was built with."""
    service: FeedService = context.bot_data["feeds"]
    return service


async def poll_feeds(context: Context) -> None:
    """The repeating job: one round over every feed, then bring its articles in."""
    await poll_now(context.application)


async def poll_now(application: Application) -> RoundReport | None:  # type: ignore[type-arg]
    """Run one round unless one is running or there is no feed, then settle; None if skipped."""
    service = feed_service(application)
    if not await off_loop(service.db.feeds):
        return None
    if service.round_lock.locked():
        logger.info("feed round already running; skipped")
        return None
    async with service.round_lock:

        def stopping() -> bool:
            return not application.running

        round_done = asyncio.ensure_future(run_round_in_child(service.options, stopping))
        while not round_done.done():  # what the round saved so far is indexed and alerted meanwhile
            await asyncio.wait({round_done}, timeout=service.settle_during_round)
            if not round_done.done():
                await settle(application)
        report = round_done.result()
    service.last_round, service.round_ended_at = report, time.time()
    if report is not None:
        await settle(application)
    return report


async def run_round_in_child(options: IngestOptions, stopping: Any) -> RoundReport | None:
    """Run `python -m bot.ingest` and return its report; None if it failed or the bot stops.

    `stopping()` is asked twice a second: a stopping bot kills the round at once rather
    than wait for it (what was saved stays saved; the rest comes next round). The child
    gets none of the bot's secrets in its environment.
    """
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.ingest",
        options.to_json(),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=environment_without_secrets(),
    )
    done = asyncio.ensure_future(child.communicate())
    try:
        while not done.done():
            await asyncio.wait({done}, timeout=0.5)
            if not done.done() and stopping():
                logger.info("stopping: feed round abandoned")
                child.kill()
                await done
                return None
    except asyncio.CancelledError:
        child.kill()
        # reaped while the loop runs: else its exit and its pipes' closing reach a loop a
        # stopping bot has closed, and print "Event loop is closed" tracebacks in its log
        await done
        raise
    output, errors = done.result()
    if child.returncode != 0:
        logger.warning("feed round failed (exit %s): %s", child.returncode, errors.decode()[-1000:])
        return None
    report = RoundReport.from_json(output.decode().strip().splitlines()[-1])
    for problem in report.problems:
        logger.warning("feed round: %s", problem)
    logger.info("feed round: %s", report.summary())
    return report


async def settle_job(context: Context) -> None:
    """The every-minute job: articles others saved or dropped in, alerts and digests due, feed notices."""
    await settle(context.application)


async def settle(application: Application) -> int:  # type: ignore[type-arg]
    """Index new articles and match them to topics, serve files dropped into the corpus,
    deliver alerts, tell the admins of failing feeds, forget week-old commands; return alerts
    queued."""
    service = feed_service(application)
    state: BotState = application.bot_data["state"]
    async with service.settle_lock:
        queued = await _match_new_articles(state, service)
    if await serve_corpus_changes(state, service):  # its files dropped in alert now, not a minute later
        async with service.settle_lock:
            queued += await _match_new_articles(state, service)
    async with service.delivery_lock:
        await deliver(
            application.bot,
            service.db,
            service.alerts_per_hour,
            stopping=lambda: not application.running,
            queries=state.queries,
        )
    await tell_admins(application.bot, service, state.admin_ids, state.queries)
    await off_loop(service.db.forget_old_commands)
    return queued


async def tell_admins(
    bot: Bot, service: FeedService, admin_ids: frozenset[int], queries: QueryStore | None = None
) -> int:
    """Tell each admin, in one private message, of the feeds failing `notify_after` rounds
    in a row, and of those told so that read again; return messages sent.

    `/feeds` shows each feed's health, but no one reads it every day, and a feed that went
    dead (a moved address, a site down) brings nothing in unseen. Each notice is recorded
    before it is sent (`take_feed_notice`), so it is sent once, by one bot on a state file;
    an admin Telegram will not reach (one who never wrote to the bot) is skipped, and one
    who blocked it forgotten (`forget_blocked`). One Telegram could not take (a network
    fault, its servers failing) is kept for that admin alone (`owe_feed_notices`) and goes
    with their next notice, at the next look.
    """
    if not service.notify_after or not admin_ids:
        return 0
    feeds = [
        feed
        for feed in await off_loop(service.db.feed_notices, service.notify_after)
        if await off_loop(service.db.take_feed_notice, feed)
    ]
    sent = 0
    for admin_id in sorted(admin_ids):
        owed = await off_loop(service.db.take_owed_notices, admin_id)
        told = sorted({feed.id: feed for feed in owed + feeds}.values(), key=lambda feed: feed.id)
        if not told:
            continue
        tr = translations(language_of(await off_loop(service.db.language, admin_id)))
        try:
            await bot.send_message(
                admin_id,
                render_feed_notices(tr, told),
                parse_mode=ParseMode.HTML,
                link_preview_options=NO_PREVIEW,
            )
        except Forbidden as error:  # one who blocked the bot: forgotten, as a reader is
            await forget_blocked(service.db, admin_id, error, queries)
            continue
        except BadRequest as error:  # one who never wrote to the bot
            logger.info("admin %s not told of %d feeds: %s", admin_id, len(told), error)
            continue
        except MaybeDelivered as error:  # the admin may have it: counted as sent, never sent twice
            logger.warning("feed notice to admin %s: %s", admin_id, error)
        except TelegramError as error:
            await off_loop(service.db.owe_feed_notices, admin_id, told)
            logger.warning(
                "admin %s not told of %d feeds, told at the next look: %s", admin_id, len(told), error
            )
            continue
        sent += 1
    return sent


async def index_new(application: Application, waiting: Waiting | None = None) -> bool:  # type: ignore[type-arg]
    """Make the articles saved but not yet matched answer questions; False if that failed.

    Waits for no matching nor delivery, so that an admin's /add is answered while a
    long delivery of alerts goes on. `waiting`: see `reloading.index_in_child_process`.
    """
    service = feed_service(application)
    state: BotState = application.bot_data["state"]
    service.index_retry.succeeded()  # an admin's try: whatever failed before, the count starts afresh
    return await _index_new(state, service, await off_loop(service.db.unmatched_articles), waiting)


async def _index_new(
    state: BotState, service: FeedService, pending: list[SavedArticle], waiting: Waiting | None = None
) -> bool:
    retry = service.index_retry
    async with service.index_lock:
        found = positions(state.library, {article.corpus_id for article in pending})
        missing = [article for article in pending if article.corpus_id not in found]
        if not await off_loop(_worth_indexing, state.corpus_dir, missing):
            retry.succeeded()  # a /reload may have brought them in; one whose file is gone, none will
            return True
        if time.monotonic() < retry.due:
            return False
        before = state.sizes

        def turn_taken() -> None:  # a reload it waited for is served: this turn changes what that served
            nonlocal before
            before = state.sizes

        try:
            updated = await state.reload(waiting, turn_taken)
        except CorpusError as error:
            wait = retry.failed(time.monotonic())
            logger.warning(
                "could not index new articles (%s in a row), keeping the old corpus; next try %s: %s",
                counted(retry.failures, "failure"),
                f"in {wait / 60:.0f} minutes" if wait else "within a minute",
                error,
            )
            return False
        if updated is None:  # the bot is stopping
            return False
        if updated.build is None:  # not saved (a full disk): built whole here, as each try would be
            wait = retry.failed(time.monotonic())
            logger.warning(
                "new articles indexed in memory only, the saved index not written (%s in a row); next try %s",
                counted(retry.failures, "failure"),
                f"in {wait / 60:.0f} minutes" if wait else "within a minute",
            )
        else:
            retry.succeeded()
        await state.serve(updated)
        logger.info("indexed new articles: %s -> %s articles and passages", before, state.sizes)
        return True


async def serve_corpus_changes(state: BotState, service: FeedService) -> bool:
    """Serve the files added to, removed from or renamed in the corpus folder since the served
    library was saved (or read, if its save failed: a full disk), as /reload does (in a child
    process, only those files); True if served.

    A newsroom drops articles into the folder and asks: no one should have to send /reload
    first. A stat of each corpus folder a minute tells (`Library.folders_unchanged`); a file
    edited in place is not seen (/reload is). Folders that look changed while no file is (one
    that cannot be listed) are read again after 1, 2, 4 ... minutes, at most an hour apart,
    and a failing read keeps the library served and waits as the indexing of new articles
    does (`IndexRetry`).
    """
    library = state.library
    if not service.watch_corpus or state.reloads.running or time.monotonic() < service.watch_retry.due:
        return False
    if await in_daemon_thread(library.folders_unchanged, state.corpus_dir) is not False:
        return False
    async with service.index_lock:
        if state.library is not library:  # a /reload or new articles were served meanwhile
            return False
        logger.info("the corpus folder changed; reading its new, removed and renamed files")
        before = state.sizes

        def turn_taken() -> None:  # an admin's /reload it waited for is served: counted from that
            nonlocal before
            before = state.sizes

        try:
            updated = await state.reload(turn_taken=turn_taken)
        except CorpusError as error:
            service.watch_retry.failed(time.monotonic())
            logger.warning("could not read the changed corpus, keeping the one served: %s", error)
            return False
        if updated is None:  # the bot is stopping
            return False
        if updated.build is None:  # not saved (a full disk): read here, served from memory
            # Its folders as read are what the next looks compare with: the next change is read
            # (and the save tried) again; folders it could not stamp wait as below.
            await _wait_for_stamps(service, updated, state.corpus_dir)
            await state.serve(updated)
            logger.info(
                "serving the changed corpus from memory, its index not saved: %s -> %s articles and passages",
                before,
                state.sizes,
            )
            return True
        if updated.build == library.build:  # nothing was added after all
            # Read because a folder changed too recently to stamp (a feed round's files, saved at
            # once), the read stamped it, and the next look is a stat again: no failure to wait on.
            await _wait_for_stamps(service, updated, state.corpus_dir)
            return False
        service.watch_retry.succeeded()
        await state.serve(updated)
        logger.info("serving the changed corpus: %s -> %s articles and passages", before, state.sizes)
        return True


async def _wait_for_stamps(service: FeedService, read: Library, corpus_dir: Path) -> None:
    """Let the next look come at once if the read stamped the corpus folders; else count a
    failure (`watch_retry`), so that folders that look changed for good are read ever less often."""
    if await in_daemon_thread(read.folders_unchanged, corpus_dir):
        service.watch_retry.succeeded()
    else:
        service.watch_retry.failed(time.monotonic())


async def _match_new_articles(state: BotState, service: FeedService) -> int:
    await note_dropped(state, service)
    pending = await off_loop(service.db.unmatched_articles, published_by=latest_today())
    if not pending or not await _index_new(state, service, pending):
        return 0
    wanted = {article.corpus_id for article in pending}
    library = state.library
    where = positions(library, wanted)
    news: dict[int, SavedArticle] = {}  # by position in the library: the articles that may alert
    old = 0
    for article in pending:
        position = where.get(article.corpus_id)
        if position is None:
            logger.warning("article %s is not in the corpus (deleted or unreadable); no alerts", article.path)
        elif alerts.is_news(article):
            news[position] = article
        else:
            old += 1
    if old:
        logger.info("%d new articles are old news or a new feed's backlog: indexed, no alerts", old)
    matches = await match_in_turns(state, library, list(news), await off_loop(service.db.topics))
    now = time.time()
    rows = [
        (
            match.topic.user_id,
            match.topic.chat_id,
            news[match.article].id,
            match.topic.words,
            match.relevance,
            library.passages[match.passage].text,
            " ".join(sorted(match.matched)),
        )
        for match in matches
        if alerts.news_to(match.topic, news[match.article].date, now)
    ]
    await off_loop(service.db.queue_alerts, rows, [article.id for article in pending])
    if rows:
        logger.info("%d alerts queued for %d new articles", len(rows), len(pending))
    return len(rows)


async def note_dropped(state: BotState, service: FeedService) -> None:
    """Record in the state file the articles of the files dropped into (and removed from) the
    corpus folder that the libraries served since the last look brought (`BotState.serve`):
    from then on they are matched against topics as a feed's new articles are, and alert once,
    even after a restart. Those a failed write could not record wait for the next look."""

    def in_corpus(path: str) -> bool:
        return (state.corpus_dir / path).is_file()

    while state.dropped:
        arrived, gone = state.dropped[0]
        new = await off_loop(service.db.note_dropped, arrived, gone, in_corpus)
        state.dropped.pop(0)
        if new:
            logger.info("%d articles dropped into the corpus folder are to be matched to topics", new)


async def match_in_turns(
    state: BotState, library: Library, articles: list[int], topics: list[TopicRow]
) -> list[alerts.Match]:
    """`alerts.match_articles` in worker threads, `TOPICS_PER_TURN` topics at a time.

    Each turn waits for a free worker like a question does, so a question asked while
    thousands of topics are matched waits for one turn at most, not for all of them.
    """
    matches: list[alerts.Match] = []
    for start in range(0, len(topics) if articles else 0, TOPICS_PER_TURN):
        turn = topics[start : start + TOPICS_PER_TURN]
        matches += await state.in_worker(alerts.match_articles, library, articles, turn)
    return alerts.best_first(matches)


async def deliver(
    bot: Bot,
    db: StateDB,
    per_hour: int,
    now: float | None = None,
    stopping: Callable[[], bool] = lambda: False,
    queries: QueryStore | None = None,
) -> int:
    """Send what each user's hourly limit allows; return messages sent.

    Users are taken one at a time, and only those the limit lets receive something have
    their waiting alerts read: a backlog of 100,000 alerts (a long outage, a popular
    topic) is never held at once, nor read every minute while the limit holds it back.
    Nor is one reader's: a digest reads the alerts it can show (`DIGEST_LINES`), and counts
    the others, which go with it ("… and 2,900 more"), on the state file's index.
    Once `stopping()`, no other message is taken: a delivery paced by Telegram's flood
    limits may last minutes, past the stop's grace, and the rest wait for the next start.
    Each message is rendered in a worker thread, as answers are, before it is taken (recorded
    as sent): an alert of #tags takes up to 3 ms, a digest of a backlog of 200 some 12, and a
    reader's 20 alerts and digest held every chat's updates for 16 ms on the event loop.
    """
    now = time.time() if now is None else now
    sent = 0
    # an hour either side of now: sends recorded ahead of a clock set back since hold no one for long
    for recipient in await off_loop(db.alert_recipients, since=now - alerts.HOUR, until=now + alerts.HOUR):
        if not alerts.may_send(recipient.singles, recipient.last_digest, now, per_hour):
            continue
        user_id = recipient.user_id
        most = alerts.to_read(recipient.singles, recipient.last_digest, now, per_hour, DIGEST_LINES)
        pending = await off_loop(db.pending_alerts, user_id, most)
        plan = alerts.plan_delivery(pending, recipient.singles, recipient.last_digest, now, per_hour)
        unread, last = 0, pending[-1].id if pending else 0  # past what a digest shows: counted
        if plan.digest and len(pending) == most:
            unread, last = await off_loop(db.waiting_after, user_id, last)
        tr = translations(language_of(recipient.language))
        messages: list[tuple[list[PendingAlert], Literal["alert", "digest"]]]
        messages = [([alert], "alert") for alert in plan.singles]
        if plan.digest:
            messages.append((list(plan.digest), "digest"))
        for batch, kind in messages:
            text = await asyncio.to_thread(_render, batch, kind, tr, unread)
            if stopping():
                logger.info("stopping: the alerts still waiting go out after the next start")
                return sent
            ids = [alert.id for alert in batch]
            if not await off_loop(db.take_for_sending, ids, kind):  # another bot on this state file sent them
                break
            outcome = await _send(bot, db, batch[0].chat_id, user_id, text, queries)
            if outcome == "retry":
                await off_loop(db.put_back, batch)
                break
            if outcome != "sent":
                await off_loop(db.mark_sent, ids, "dropped")
            if outcome == "blocked":
                break
            if kind == "digest" and unread:
                await off_loop(
                    db.mark_counted, user_id, ids[-1], last, "digest" if outcome == "sent" else "dropped"
                )
            sent += outcome == "sent"
    return sent


def _render(
    batch: list[PendingAlert], kind: Literal["alert", "digest"], tr: Translations, unread: int
) -> str:
    """An alert or a digest (and the `unread` alerts it counts), rendered in a worker thread (`deliver`)."""
    return render_alert(batch[0], tr) if kind == "alert" else render_digest(batch, tr, unread)


async def _send(
    bot: Bot, db: StateDB, chat_id: int, user_id: int, text: str, queries: QueryStore | None
) -> str:
    """Send one alert message: "sent" (or perhaps sent), "blocked" (topics dropped), "dropped" or "retry"."""
    try:
        await bot.send_message(chat_id, text, parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW)
    except Forbidden as error:
        await forget_blocked(db, user_id, error, queries)
        return "blocked"
    except BadRequest as error:
        logger.warning("alert to chat %s refused, not retried: %s", chat_id, error)
        return "dropped"
    except MaybeDelivered as error:  # the reader may have it: counted as sent, never sent twice
        logger.warning("alert to chat %s: %s", chat_id, error)
        return "sent"
    except TelegramError as error:
        logger.warning("alert to chat %s failed, to be retried: %s", chat_id, error)
        return "retry"
    return "sent"


async def forget_blocked(
    db: StateDB, user_id: int, error: Forbidden, queries: QueryStore | None = None
) -> None:
    """Forget what the bot keeps to write to `user_id`, whose private chat Telegram refused
    (they blocked the bot): their topics, their language, the alerts and notices waiting, the
    questions behind their page buttons (in `queries` too, which holds the latest in memory).
    Met at an alert or at an ordinary answer alike, it is no failure of the bot's."""
    if queries is not None:
        queries.forget_chat(user_id)  # their private chat's id
    dropped = await off_loop(db.forget_user, user_id)
    logger.info("user %s blocked the bot (%s): %d topics dropped", user_id, error, dropped)

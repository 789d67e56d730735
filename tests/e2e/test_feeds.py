"""Feeds, links and topic alerts through the real bot: a fake Bot API and a news site on 127.0.0.1."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import gzip
import logging
import os
import re
import shutil
import signal
import sqlite3
import ssl
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from types import FrameType

import feedparser
import pytest
import trustme
from telegram import Update

from bot import feed_render
from bot.feed_handlers import link_message
from bot.feed_jobs import deliver, feed_service, poll_now, settle
from bot.ingest import fetch_round, options_from
from bot.links import canonical_url
from bot.state import BotState
from bot.statedb import DB_NAME, SavedArticle, StateDB, off_loop
from fakes.bot_api import Fault, marked_entities
from fakes.corpora import generate_corpus
from fakes.newsroom import RSS, Item, Newsroom, article_page, paragraphs, rss
from tests.conftest import (
    BUILD_INDEX,
    LOCAL_NETWORKS,
    SHIPPED_CORPUS,
    WRITE_ARTICLE,
    kill_indexing,
    signalled_at_rename,
)
from tests.e2e.conftest import ADMIN, RunningBot, StartBot, rendered_where
from tests.e2e.test_fairness import Gate

WHEN = dt.datetime(2024, 5, 3, 9, 0, tzinfo=dt.UTC)
RECENT = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=1)
"""A date for news: alerts go out only for articles dated shortly before they arrive."""
FAST = {"feed_host_delay": 0.0, "feed_timeout": 3.0}
NEWSBOT = str(Path(sys.executable).with_name("newsbot"))


def story(site: Newsroom, slug: str, headline: str, lead: str, date: dt.datetime | None = WHEN) -> Item:
    """Serve an article page whose first paragraph is `lead`; return its feed item."""
    body = [lead, *paragraphs(slug, count=2)]
    return Item(headline, site.put(f"{slug}.html", article_page(headline, body)), date)


def feed(site: Newsroom, items: list[Item], path: str = "feed.xml", title: str = "Harbour Times") -> str:
    return site.put(path, rss(title, items), RSS)


FERRY = (
    "The Zanzibar ferry service resumed on Monday after the harbour repairs were finished; "
    "the first ferry from Zanzibar carried 300 passengers."
)
VOLCANO = "The volcano on the island erupted overnight and ash closed the airport."
ERUPTION = "The volcano on the island erupted overnight; the island's volcano had been quiet for a century."


def ferry_feed(site: Newsroom) -> str:
    """A feed of one article about the Zanzibar ferry, published an hour ago."""
    return feed(site, [story(site, "ferry", "Zanzibar ferry service resumes", FERRY, RECENT)])


async def ferry_follower(start_bot: StartBot) -> tuple[RunningBot, int]:
    """A bot reading feeds (`FAST`) whose reader 7 follows "Zanzibar ferry", and how many
    messages that reader had been sent by then."""
    bot = await start_bot(**FAST)
    await bot.ask("/follow Zanzibar ferry", user_id=7)
    return bot, len(bot.api.sent("sendMessage", 7))


async def read_feed(bot: RunningBot, site: Newsroom) -> None:
    """Add an empty feed and read it once, as an admin's feed added some time ago: from now
    on, what it brings is news (a new feed's first read is its backlog, and alerts no one)."""
    feed_service(bot.application).db.add_feed(feed(site, []), "h", "Harbour")
    await fetch_round(options_from(bot.settings))


def state(bot: RunningBot) -> BotState:
    found: BotState = bot.application.bot_data["state"]
    return found


async def ferry_match_held(bot: RunningBot, site: Newsroom) -> tuple[Gate, asyncio.Task[int]]:
    """A ferry article saved, as `newsbot fetch` saves it, and indexed; then the topics being
    matched against it, held at the index by the gate until it is released."""
    await read_feed(bot, site)
    ferry_feed(site)
    await fetch_round(options_from(bot.settings))
    served = state(bot)
    library = await served.reloads.run(bot.corpus, bot.settings.index_dir)
    assert library is not None
    gate = Gate("zanzibar")
    served.library = gate.around_index(library)
    settling = asyncio.create_task(settle(bot.application))
    await gate.until_running(1)
    return gate, settling


async def until(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    """Wait for `condition`, checking often; fail after `timeout` seconds."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.05)


async def test_admin_adds_a_feed_and_its_articles_soon_answer_questions(
    site: Newsroom, start_bot: StartBot
) -> None:
    bot = await start_bot(**FAST)
    for job in bot.application.job_queue.jobs():  # the repeating round, 10 s after the start, would
        job.schedule_removal()  # read the feed too: only the round the /feeds add starts may here
    url = feed(site, [story(site, "ferry", "Zanzibar ferry service resumes", FERRY)])
    reply = (await bot.ask(f"/feeds add {url} Harbour", user_id=ADMIN)).params["text"]
    assert reply.startswith("Added feed 1: Harbour (1 item), saved under feeds/harbour/")
    await until(lambda: any("ferry-service-resumes" in i for i in state(bot).library.articles.ids))
    answer = (await bot.ask("When did the Zanzibar ferry resume?")).params["text"]
    assert "<b>1. Zanzibar ferry service resumes</b>" in answer and "2024-05-03" in answer
    assert site.url("ferry.html") in answer


async def test_feeds_counts_the_files_in_a_feeds_folder_with_no_look_at_each_on_the_state_thread(
    site: Newsroom, start_bot: StartBot
) -> None:
    # it looked at each article's file (a stat) on the state file's thread: some 0.7 s for
    # 50,000 articles, in which every chat's question, button and topic waited for that thread
    bot = await start_bot(**FAST)
    items = [
        Item(
            f"Story {n}",
            site.url(f"{n}.html"),
            WHEN,
            content="".join(f"<p>{p}</p>" for p in paragraphs(f"{n}")),
        )
        for n in range(20)
    ]
    db = feed_service(bot.application).db
    db.add_feed(site.put("feed.xml", rss("Harbour Times", items), RSS), "harbour", None)
    report = await poll_now(bot.application)
    assert report is not None and len(report.saved) == 20
    files = sorted((bot.corpus / "feeds" / "harbour").iterdir())
    for deleted in files[:3]:
        deleted.unlink()
    files[3].rename(bot.corpus / files[3].name)  # moved out of its feed's folder
    (bot.corpus / "feeds" / "harbour" / "notes.md").write_text("an editor's file, no article of the feed's")
    looks: list[str] = []

    def watch(frame: FrameType, event: str, arg: object) -> None:
        """Note each look at a file's status, as a profiler sees it."""
        if event == "c_call" and getattr(arg, "__name__", None) in ("stat", "lstat"):
            looks.append(event)

    await off_loop(sys.setprofile, watch)  # on the state file's thread alone
    try:
        listed = (await bot.ask("/feeds", user_id=ADMIN)).params["text"]
    finally:
        await off_loop(sys.setprofile, None)
    assert "· 16 articles in feeds/harbour/" in listed
    assert len(looks) < 16


async def test_feeds_does_no_more_on_the_state_thread_for_a_feed_of_more_articles(
    site: Newsroom, start_bot: StartBot
) -> None:
    # /feeds read every feed article's path and listed every feed's folder on the state file's
    # thread: some 0.11 s at 50,000 articles, in which every chat's call on that thread (a
    # question's page buttons, /follow) waited
    bot = await start_bot(**FAST)
    db = feed_service(bot.application).db
    feed_id = db.add_feed(site.url("feed.xml"), "harbour", None).id
    folder = bot.corpus / "feeds" / "harbour"
    folder.mkdir(parents=True)
    state = sqlite3.connect(bot.settings.state_dir / DB_NAME)

    def save(numbers: range) -> None:
        """Articles of the feed's, each in its file, as a round would leave them."""
        for n in numbers:
            (folder / f"story-{n}.md").write_text(f"story {n}")
        with state:
            state.executemany(
                "INSERT INTO articles (url, text_hash, path, title, date, feed_id, saved_at)"
                " VALUES (?, ?, ?, ?, '2024-05-03', ?, 0)",
                [
                    (f"{site.url('')}{n}", f"hash {n}", f"feeds/harbour/story-{n}.md", f"Story {n}", feed_id)
                    for n in numbers
                ],
            )

    async def calls_on_the_state_thread() -> tuple[str, int]:
        """/feeds's reply, and the calls it made on the state file's thread."""
        calls: list[str] = []

        def watch(frame: FrameType, event: str, arg: object) -> None:
            if event in ("call", "c_call"):
                calls.append(event)

        await off_loop(sys.setprofile, watch)  # on the state file's thread alone
        try:
            listed = (await bot.ask("/feeds", user_id=ADMIN)).params["text"]
        finally:
            await off_loop(sys.setprofile, None)
        return listed, len(calls)

    save(range(10))
    await bot.ask("/feeds", user_id=ADMIN)  # its language remembered: no write the second time
    few_listed, few = await calls_on_the_state_thread()
    save(range(10, 510))
    many_listed, many = await calls_on_the_state_thread()
    assert "· 10 articles in feeds/harbour/" in few_listed
    assert "· 510 articles in feeds/harbour/" in many_listed
    assert many == few  # none of the counting on that thread


async def test_a_text_whose_file_was_deleted_comes_back_under_a_new_link_but_not_under_its_old_one(
    site: Newsroom, start_bot: StartBot
) -> None:
    # once its file was deleted, the same words under another link were recorded as a duplicate
    # of the article gone, and the corpus never held them again
    bot = await start_bot(**FAST)
    for job in bot.application.job_queue.jobs():  # the test's own rounds alone
        job.schedule_removal()
    first = story(site, "ferry", "Zanzibar ferry service resumes", FERRY)
    feed(site, [first])
    db = feed_service(bot.application).db
    db.add_feed(site.url("feed.xml"), "harbour", None)
    await poll_now(bot.application)
    (saved,) = db.articles()
    (bot.corpus / saved.path).unlink()  # an editor deletes it
    assert "Articles: 2 → 1" in (await bot.ask("/reload", user_id=ADMIN)).params["text"]
    assert "I found nothing" in (await bot.ask("When did the Zanzibar ferry resume?")).params["text"]
    await poll_now(bot.application)  # the feed lists it still: deleted, it stays out
    assert not (bot.corpus / saved.path).exists() and [a.path for a in db.articles()] == [saved.path]
    page = article_page(first.title, [FERRY, *paragraphs("ferry", count=2)])  # the words of ferry.html
    moved = Item(first.title, site.put("ferry-moved.html", page), WHEN)  # at a new address
    feed(site, [first, moved])
    await poll_now(bot.application)
    (again,) = db.articles()
    assert again.id == saved.id and again.url == site.url("ferry-moved.html")
    assert (bot.corpus / again.path).is_file()
    answer = (await bot.ask("When did the Zanzibar ferry resume?")).params["text"]
    assert "<b>1. Zanzibar ferry service resumes</b>" in answer and site.url("ferry-moved.html") in answer


async def test_an_article_whose_file_is_gone_before_the_bot_looks_costs_no_indexing(
    site: Newsroom, start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    # recorded but not in the corpus, it was never found in the library served, and the
    # corpus was indexed again for it before it was given up
    bot = await start_bot(watch_corpus=False, **FAST)
    for job in bot.application.job_queue.jobs():  # the test's own looks alone
        job.schedule_removal()
    await read_feed(bot, site)
    ferry_feed(site)
    await fetch_round(options_from(bot.settings))  # as `newsbot fetch` saves it
    db = feed_service(bot.application).db
    (saved,) = db.articles()
    (bot.corpus / saved.path).unlink()  # deleted before the bot's next look
    served = state(bot).library
    caplog.clear()
    await settle(bot.application)
    assert state(bot).library is served and "indexed new articles" not in caplog.text
    assert "is not in the corpus" in caplog.text and db.unmatched_articles() == []


async def test_new_articles_a_saved_index_cannot_take_are_indexed_in_memory_then_with_a_back_off(
    site: Newsroom, start_bot: StartBot, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # the indexing process could not save the index (a full disk; here INDEX_DIR lies under a
    # file), and the bot built the whole corpus again in its own process for each batch of
    # new articles, every minute, however long the fault lasted
    (tmp_path / "taken").write_text("")
    bot = await start_bot(index_dir=tmp_path / "taken" / "index", watch_corpus=False, **FAST)
    for job in bot.application.job_queue.jobs():  # the test's own looks alone
        job.schedule_removal()
    await read_feed(bot, site)
    items: list[Item] = []
    served = []
    for n in range(3):
        items.append(story(site, f"harbour-{n}", f"Harbour report {n}", f"The harbour report number {n}."))
        feed(site, items)
        await fetch_round(options_from(bot.settings))  # as `newsbot fetch` saves them
        await settle(bot.application)
        served.append(len(state(bot).library.articles))
    assert served == [2, 3, 3]  # indexed in memory at once, and again at the next look; then it waits
    assert "could not save the index" in caplog.text and "next try in 2 minutes" in caplog.text
    assert len(feed_service(bot.application).db.unmatched_articles()) == 1  # the third, waiting its turn


async def test_an_article_moved_out_of_its_feeds_folder_is_known_there_and_not_saved_again(
    site: Newsroom, start_bot: StartBot
) -> None:
    # its record kept the path gone, so a new link with its words saved a second copy beside it
    bot = await start_bot(**FAST)
    for job in bot.application.job_queue.jobs():  # the test's own rounds alone
        job.schedule_removal()
    first = story(site, "ferry", "Zanzibar ferry service resumes", FERRY, RECENT)
    feed(site, [first])
    db = feed_service(bot.application).db
    db.add_feed(site.url("feed.xml"), "harbour", None)
    await poll_now(bot.application)
    (saved,) = db.articles()
    (bot.corpus / "desk").mkdir()
    (bot.corpus / saved.path).rename(bot.corpus / "desk" / "ferry.md")  # an editor files it away
    assert "Articles: 2 → 2" in (await bot.ask("/reload", user_id=ADMIN)).params["text"]
    await settle(bot.application)
    (known,) = db.articles()
    assert (known.id, known.path) == (saved.id, "desk/ferry.md")
    page = article_page(first.title, [FERRY, *paragraphs("ferry", count=2)])  # the words of ferry.html
    moved = Item(first.title, site.put("ferry-moved.html", page), RECENT)  # at a new address
    feed(site, [first, moved])
    await poll_now(bot.application)
    assert [article.path for article in db.articles()] == ["desk/ferry.md"]
    assert list((bot.corpus / "feeds" / "harbour").iterdir()) == []  # no second copy
    answer = (await bot.ask("When did the Zanzibar ferry resume?")).params["text"]
    assert answer.count("Zanzibar ferry service resumes") == 1


async def test_a_start_removes_what_a_writer_killed_mid_write_left_but_not_a_live_writers(
    start_bot: StartBot, tmp_path: Path
) -> None:
    # /add cut short by a hard kill of the bot, where no feed round runs (FEED_INTERVAL=0,
    # no cron), and `newsbot fetch` suspended with Ctrl-Z, each between writing an article
    # and renaming it, an hour ago
    corpus = tmp_path / "corpus"  # the bot's corpus (see `start_bot`), written here first
    shutil.copytree(SHIPPED_CORPUS, corpus)
    signalled_at_rename(WRITE_ARTICLE, signal.SIGKILL, str(corpus), "links")
    live = signalled_at_rename(WRITE_ARTICLE, signal.SIGSTOP, str(corpus), "daily")
    try:
        for path in corpus.glob("feeds/*/.story.md.*.tmp"):
            os.utime(path, (time.time() - 3600,) * 2)
        await start_bot(feed_interval=0, **FAST)
        assert [path.parent.name for path in corpus.glob("feeds/*/.story.md.*.tmp")] == ["daily"]
    finally:
        live.send_signal(signal.SIGCONT)
    assert await asyncio.to_thread(live.wait, 120) == 0
    assert sorted(path.name for path in corpus.glob("feeds/*/*")) == ["story.md"]


async def test_feeds_lists_and_removes_feeds(site: Newsroom, start_bot: StartBot) -> None:
    bot = await start_bot(feed_interval=0, **FAST)
    url = feed(site, [story(site, "ferry", "Zanzibar ferry service resumes", FERRY)])
    added = (await bot.ask(f"/feeds add {url}", user_id=ADMIN)).params["text"]
    assert "Harbour Times" in added and "Run `newsbot fetch` to read it." in added
    listing = (await bot.ask("/feeds", user_id=ADMIN)).params["text"]
    assert "1. <b>Harbour Times</b> · 0 articles in feeds/harbour-times/" in listing
    assert url in listing and "not read yet" in listing
    assert (
        "Usage: /feeds remove N, N from 1 to 1"
        in (await bot.ask("/feeds remove 2", user_id=ADMIN)).params["text"]
    )
    # the number as the list shows it, not as typed ("Removed feed 01")
    removed = (await bot.ask("/feeds remove 01", user_id=ADMIN)).params["text"]
    assert removed.startswith("Removed feed 1: Harbour Times.")
    assert "No feeds yet" in (await bot.ask("/feeds", user_id=ADMIN)).params["text"]
    none_left = (await bot.ask("/feeds remove 1", user_id=ADMIN)).params["text"]
    assert none_left == "No feeds yet, so none to remove. Add one with /feeds add URL."


async def test_a_feeds_login_is_neither_listed_nor_logged(
    site: Newsroom, start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    # a newsroom's own feed, its login in the address: /feeds showed it whole to every member
    # of a group it was sent in, and the log kept it
    bot = await start_bot(feed_interval=0, **FAST)
    url = feed(site, [story(site, "ferry", "Zanzibar ferry service resumes", FERRY)])
    with_login = url.replace("http://", "http://editor:s3cret@", 1)
    added = (await bot.ask(f"/feeds add {with_login}", user_id=ADMIN)).params["text"]
    assert "Harbour Times" in added
    report = await poll_now(bot.application)  # read with its login
    assert report is not None and len(report.saved) == 1
    listing = (await bot.ask("/feeds", user_id=ADMIN)).params["text"]
    assert url in listing and "ok, read" in listing
    assert "Zanzibar" in (await bot.ask("Zanzibar ferry")).params["text"]
    removed = (await bot.ask("/feeds remove 1", user_id=ADMIN)).params["text"]
    assert removed.startswith("Removed feed 1: Harbour Times.")
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("bot."))
    assert "feed harbour-times (" in logged  # added and removed, logged
    for said in (added, listing, removed, logged):
        assert "s3cret" not in said and "editor" not in said


async def test_feeds_counts_the_articles_whose_files_are_in_its_folder(
    site: Newsroom, start_bot: StartBot
) -> None:
    # the count was of every article the feed ever brought: "2 articles in feeds/harbour/"
    # with one of the two files deleted, and "Its 2 articles stay" once the feed was removed
    bot = await start_bot(**FAST)
    ferry = story(site, "ferry", "Zanzibar ferry service resumes", FERRY)
    volcano = story(site, "volcano", "Volcano erupts", VOLCANO)
    feed_service(bot.application).db.add_feed(feed(site, [ferry, volcano]), "harbour", None)
    await poll_now(bot.application)
    assert "· 2 articles in feeds/harbour/" in (await bot.ask("/feeds", user_id=ADMIN)).params["text"]
    (deleted, _kept) = sorted((bot.corpus / "feeds" / "harbour").iterdir())
    deleted.unlink()
    assert "· 1 article in feeds/harbour/" in (await bot.ask("/feeds", user_id=ADMIN)).params["text"]
    removed = (await bot.ask("/feeds remove 1", user_id=ADMIN)).params["text"]
    assert "Its 1 article stays in feeds/harbour/" in removed


async def test_a_feed_with_a_title_of_pages_is_added_and_removed_with_a_reply_that_fits(
    site: Newsroom, start_bot: StartBot
) -> None:
    bot = await start_bot(feed_interval=0, **FAST)
    url = feed(
        site, [story(site, "ferry", "Zanzibar ferry service resumes", FERRY)], title="Harbour Times " * 400
    )
    added = (await bot.ask(f"/feeds add {url}", user_id=ADMIN)).params["text"]
    assert added.startswith("Added feed 1: Harbour Times Harbour Times") and "…" in added
    removed = (await bot.ask("/feeds remove 1", user_id=ADMIN)).params["text"]
    assert removed.startswith("Removed feed 1: Harbour Times Harbour Times") and "…" in removed


async def test_a_page_that_announces_its_feed_is_followed_to_it(site: Newsroom, start_bot: StartBot) -> None:
    bot = await start_bot(feed_interval=0, **FAST)
    url = feed(site, [story(site, "ferry", "Zanzibar ferry service resumes", FERRY)], path="rss.xml")
    home = site.put(
        "home.html", '<html><head><link rel="alternate" type="application/rss+xml" href="/rss.xml">'
    )
    await bot.ask(f"/feeds add {home}", user_id=ADMIN)
    assert feed_service(bot.application).db.feeds()[0].url == url


@pytest.mark.parametrize(
    ("path", "served", "reply"),
    [
        ("page.html", b"<html><body><p>Just a page</p></body></html>", "HTML, not a feed"),
        ("missing.xml", None, "404 Not Found"),
        ("garbage.xml", b"not xml at all <<<", "not an RSS or Atom feed"),
    ],
)
async def test_a_feed_that_cannot_be_read_is_not_added_and_the_reply_says_why(
    site: Newsroom, start_bot: StartBot, path: str, served: bytes | None, reply: str
) -> None:
    bot = await start_bot(**FAST)
    if served is not None:
        site.put(path, served)
    text = (await bot.ask(f"/feeds add {site.url(path)}", user_id=ADMIN)).params["text"]
    assert text.startswith("I could not add that feed:") and reply in text
    assert feed_service(bot.application).db.feeds() == []


LONG_REASON = "Not Found " + "N" * 5000
"""The words of a status line a hostile or broken server sends: any length h11 reads."""


@pytest.mark.parametrize(
    ("command", "page", "reply"),
    [
        ("/add", {"status": 404, "reason": LONG_REASON}, "That page does not exist (404 Not Found NNN"),
        ("/add", {"status": 503, "reason": LONG_REASON}, "I could not fetch that page: 503 Not Found NNN"),
        (
            "/feeds add",
            {"status": 503, "reason": LONG_REASON},
            "I could not add that feed: 503 Not Found NNN",
        ),
    ],
)
async def test_a_sites_long_reason_is_quoted_cut_to_fit_one_message(
    site: Newsroom, start_bot: StartBot, command: str, page: dict[str, object], reply: str
) -> None:
    bot = await start_bot(**FAST)
    site.fault("page.html", **page)
    text = (await bot.ask(f"{command} {site.url('page.html')}", user_id=ADMIN)).params["text"]
    assert text.startswith(reply) and "…" in text  # the reason, cut: not "Sorry, something went wrong"
    assert len(text) < 1000


async def test_a_huge_feed_being_added_does_not_hold_up_answers(site: Newsroom, start_bot: StartBot) -> None:
    # 4,000 items of markup to sanitise (9 MB), gzipped to a small download: seconds of parsing,
    # under FEED_MAX_BYTES once decompressed. A question asked meanwhile must not wait for it.
    items = [Item(f"Story {n}", site.url(f"s{n}.html"), WHEN, summary="<b>a</b> " * 100) for n in range(4000)]
    body = gzip.compress(rss("Big Times", items))
    url = site.put("big.xml", body, RSS, headers={"Content-Encoding": "gzip"})
    bot = await start_bot(feed_interval=0, **FAST)
    bot.api.push_message(f"/feeds add {url}", user_id=ADMIN)
    await until(lambda: bool(site.hits("big.xml")))
    bot.api.push_message("Who negotiated with Abramovich?", user_id=7)
    await bot.api.wait_for(chat_id=7, timeout=120)
    assert bot.api.sent(chat_id=ADMIN) == []  # answered while the feed was still being read
    (added,) = await bot.api.wait_for(chat_id=ADMIN, timeout=120)
    assert added.params["text"].startswith("Added feed 1: Big Times (4000 items)")


async def test_feeds_tells_how_many_older_items_past_feed_max_items_a_feed_left_unread(
    site: Newsroom, start_bot: StartBot
) -> None:
    # every item of a feed was read each round, however many: 160,000 of a 10 MB feed at once
    bot = await start_bot(feed_max_items=3, **FAST)
    hours = (4, 0, 2, 1, 3)  # story N is N hours old
    items = [Item(f"Story {n}", site.url(f"{n}.html"), WHEN - dt.timedelta(hours=n)) for n in hours]
    items = [dataclasses.replace(item, content=" ".join(paragraphs(item.title))) for item in items]
    url = site.put("feed.xml", rss("Harbour Times", items), RSS)
    feed_service(bot.application).db.add_feed(url, "h", None)
    report = await poll_now(bot.application)
    assert report is not None and len(report.saved) == 3
    assert report.problems == [f"feed h ({url}): 2 older items left unread, past FEED_MAX_ITEMS=3"]
    listing = (await bot.ask("/feeds", user_id=ADMIN)).params["text"]
    assert "· 3 articles in feeds/h/" in listing
    assert " · 2 older items left unread (FEED_MAX_ITEMS)" in listing
    ukrainian = (await bot.ask("/feeds", user_id=ADMIN, language_code="uk")).params["text"]
    assert " · 2 старіші записи не прочитано (FEED_MAX_ITEMS)" in ukrainian
    russian = (await bot.ask("/feeds", user_id=ADMIN, language_code="ru")).params["text"]
    assert " · 2 более старые записи не прочитаны (FEED_MAX_ITEMS)" in russian


async def test_items_left_unread_are_read_once_feed_max_items_is_raised_though_the_feed_is_unchanged(
    site: Newsroom, start_bot: StartBot
) -> None:
    # the feed answered 304 to every later round, its validators kept: the items the old
    # limit left unread stayed so, however high the admin raised FEED_MAX_ITEMS
    first = await start_bot(feed_max_items=3, feed_interval=0, **FAST)
    items = [
        story(site, f"s{n}", f"Story {n}", f"Story {n} lead.", WHEN - dt.timedelta(hours=n)) for n in range(5)
    ]
    url = feed(site, items)
    feed_service(first.application).db.add_feed(url, "h", None)
    report = await poll_now(first.application)
    assert report is not None and len(report.saved) == 3
    again = await poll_now(first.application)  # the same limit: the unchanged feed costs a 304
    assert again is not None and (again.unchanged, again.saved) == (1, [])
    await first.application.updater.stop()
    await first.application.stop()
    second = await start_bot(feed_max_items=10, feed_interval=0, **FAST)  # the admin raised it
    raised = await poll_now(second.application)
    assert raised is not None and raised.problems == []
    assert sorted(Path(path).name[11:18] for path in raised.saved) == ["story-3", "story-4"]
    listing = (await second.ask("/feeds", user_id=ADMIN)).params["text"]
    assert "· 5 articles in feeds/h/" in listing and "left unread" not in listing
    later = await poll_now(second.application)  # all read: a 304 again
    assert later is not None and (later.unchanged, later.saved) == (1, [])


@pytest.mark.parametrize(
    "command", ["/feeds", "/feeds add http://127.0.0.1:9/x", "/add http://127.0.0.1:9/x"]
)
async def test_feeds_and_add_are_for_admins_only(
    start_bot: StartBot, caplog: pytest.LogCaptureFixture, command: str
) -> None:
    bot = await start_bot()
    text = (await bot.ask(command, user_id=8)).params["text"]
    assert text.startswith("Sorry, only the bot's admins can")
    assert "refused /" in caplog.text


async def test_a_refused_commands_line_break_forges_no_log_line(
    start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await start_bot()
    forged = "/add x\n2026 INFO bot: admin 8 added\x1b[2J"
    assert (await bot.ask(forged, user_id=8)).params["text"].startswith("Sorry, only the bot's admins can")
    (refusal,) = [
        record.getMessage() for record in caplog.records if record.getMessage().startswith("refused /")
    ]
    assert refusal.startswith("refused /add x\\x0a2026 INFO bot: admin 8 added\\x1b[2J from user 8")


@pytest.mark.parametrize("command", ["/feeds add", "/feeds remove", "/feeds delete 1", "/add", "/add a b"])
async def test_malformed_feed_commands_get_a_usage_line(start_bot: StartBot, command: str) -> None:
    bot = await start_bot()
    assert (await bot.ask(command, user_id=ADMIN)).params["text"].startswith("Usage: /")


async def test_the_poll_job_is_scheduled_every_feed_interval_and_its_run_brings_articles_in(
    site: Newsroom, start_bot: StartBot
) -> None:
    bot = await start_bot(feed_interval=30, lexical_only=True, **FAST)
    jobs = {job.name: job for job in bot.application.job_queue.jobs()}
    assert jobs["poll feeds"].job.trigger.interval == dt.timedelta(minutes=30)
    feed_service(bot.application).db.add_feed(feed(site, [story(site, "ferry", "Ferry", FERRY)]), "h", None)
    await jobs["poll feeds"].run(bot.application)
    assert "Zanzibar" in (await bot.ask("Zanzibar ferry")).params["text"]
    assert state(bot).library.options.lexical_only  # the update keeps the settings' ranking


async def test_feed_interval_zero_schedules_no_poll(start_bot: StartBot) -> None:
    bot = await start_bot(feed_interval=0)
    (job,) = bot.application.job_queue.jobs()
    assert job.name == "new articles and alerts"
    assert job.job.trigger.interval == dt.timedelta(minutes=1)  # what `newsbot fetch` saved, within a minute


async def test_articles_fetched_by_newsbot_fetch_are_picked_up_by_the_running_bot(
    site: Newsroom, start_bot: StartBot, tmp_path: Path
) -> None:
    bot = await start_bot(feed_interval=0, **FAST)
    (every_minute,) = bot.application.job_queue.get_jobs_by_name("new articles and alerts")
    every_minute.schedule_removal()  # run by hand below: its own first run, 5 s in, races a slow fetch
    feed_service(bot.application).db.add_feed(feed(site, [story(site, "ferry", "Ferry", FERRY)]), "h", None)
    env = {
        "CORPUS_DIR": str(bot.corpus),
        "STATE_DIR": str(bot.settings.state_dir),
        "FEED_HOST_DELAY": "0",
        "FEED_PRIVATE_NETWORKS": ",".join(LOCAL_NETWORKS),
        "PATH": "/usr/bin:/bin",
    }
    fetch = await asyncio.create_subprocess_exec(
        NEWSBOT,
        "fetch",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    output, _ = await asyncio.wait_for(fetch.communicate(), 60)
    assert fetch.returncode == 0 and b"1 new article," in output
    assert "I found nothing" in (await bot.ask("Zanzibar ferry")).params["text"]  # not yet indexed
    await every_minute.run(bot.application)
    assert "Zanzibar" in (await bot.ask("Zanzibar ferry")).params["text"]


async def test_add_saves_indexes_and_replies_with_headline_and_date(
    site: Newsroom, start_bot: StartBot
) -> None:
    bot = await start_bot(**FAST)
    url = site.put(
        "v.html", article_page("Volcano erupts", [VOLCANO, *paragraphs("v")], dt.date(2024, 4, 30))
    )
    reply = (await bot.ask(f"/add {url}", user_id=ADMIN)).params["text"]
    assert reply.startswith(
        "Added and indexed:\n<b>Volcano erupts</b>\n2024-04-30 · <code>feeds/links/2024-04-30-"
    )
    answer = (await bot.ask("Which volcano erupted overnight?")).params["text"]  # at once: it is indexed
    assert "<b>1. Volcano erupts</b>" in answer
    again = (await bot.ask(f"/add {url}", user_id=ADMIN)).params["text"]
    assert again.startswith("I have that link already:")


async def test_an_added_links_user_name_and_password_are_never_shown_to_readers(
    site: Newsroom, start_bot: StartBot
) -> None:
    # a link to a newsroom's own system, with its login in the address, was saved and shown with
    # it: every reader whose answer linked the article read the admin's password
    bot = await start_bot(**FAST)
    url = site.put(
        "v.html", article_page("Volcano erupts", [VOLCANO, *paragraphs("v")], dt.date(2024, 4, 30))
    )
    with_login = url.replace("http://", "http://editor:s3cret@", 1)
    reply = (await bot.ask(f"/add {with_login}", user_id=ADMIN)).params["text"]
    assert reply.startswith("Added and indexed:")
    answer = (await bot.ask("Which volcano erupted overnight?")).params["text"]
    assert f'<a href="{url}">' in answer and "s3cret" not in answer and "editor" not in answer
    (saved,) = (bot.corpus / "feeds" / "links").glob("*.md")
    assert "s3cret" not in saved.read_text(encoding="utf-8")
    again = (await bot.ask(f"/add {url}", user_id=ADMIN)).params["text"]
    assert again.startswith("I have that link already:")  # one page, with or without the login


async def test_an_added_link_whose_file_was_deleted_is_added_again_and_alerts_no_one_twice(
    site: Newsroom, start_bot: StartBot
) -> None:
    # the reply was "I have that link already", pointing at a file that was gone: an admin
    # had no way to bring the article back
    bot, before = await ferry_follower(start_bot)
    (every_minute,) = bot.application.job_queue.get_jobs_by_name("new articles and alerts")
    every_minute.schedule_removal()  # it too sends alerts: only the /add's own may here
    url = story(site, "ferry", "Zanzibar ferry service resumes", FERRY, RECENT).link
    assert "Added and indexed" in (await bot.ask(f"/add {url}", user_id=ADMIN)).params["text"]
    await bot.api.wait_for(chat_id=7, count=before + 1)
    db = feed_service(bot.application).db
    (saved,) = db.articles()
    (bot.corpus / saved.path).unlink()  # an editor deletes it
    assert "Articles: 2 → 1" in (await bot.ask("/reload", user_id=ADMIN)).params["text"]
    again = (await bot.ask(f"/add {url}", user_id=ADMIN)).params["text"]
    assert again.startswith("Added and indexed:\n<b>Zanzibar ferry service resumes</b>")
    (back,) = db.articles()
    assert back.id == saved.id and (bot.corpus / back.path).is_file()
    answer = (await bot.ask("When did the Zanzibar ferry resume?", user_id=8)).params["text"]
    assert "<b>1. Zanzibar ferry service resumes</b>" in answer
    await settle(bot.application)
    assert len(bot.api.sent("sendMessage", 7)) == before + 1  # the reader it alerted is not alerted again
    assert (await bot.ask(f"/add {url}", user_id=ADMIN)).params["text"].startswith("I have that link already")


async def _ferry_page_showing_the_volcano(
    site: Newsroom, start_bot: StartBot, deleted: int
) -> tuple[RunningBot, str, str]:
    """A bot with the ferry's and the volcano's links added, the first `deleted` of their
    files deleted and reloaded, and the ferry's page showing the volcano's words for now."""
    bot = await start_bot(**FAST)
    url = story(site, "ferry", "Zanzibar ferry service resumes", FERRY).link
    other = story(site, "volcano", "Volcano erupts", VOLCANO).link
    for link in (url, other):
        assert "Added and indexed" in (await bot.ask(f"/add {link}", user_id=ADMIN)).params["text"]
    await settle(bot.application)  # the adds' alerts looked for: no update runs
    for article in feed_service(bot.application).db.articles()[:deleted]:
        (bot.corpus / article.path).unlink()  # an editor deletes it
    await bot.ask("/reload", user_id=ADMIN)  # run now, or once the indexing of the adds ends
    # from 3, or from what the indexing of the adds served if it noticed the deletions first
    left = re.compile(rf"Articles: \d+ → {3 - deleted}\b")
    await until(lambda: any(left.search(call.params["text"]) for call in bot.api.sent(chat_id=ADMIN)))
    site.put("ferry.html", site.resources["volcano.html"].body)  # for now, the site shows the volcano there
    return bot, url, other


async def test_an_added_link_whose_page_holds_another_articles_words_for_now_stays_its_articles(
    site: Newsroom, start_bot: StartBot
) -> None:
    # the link was recorded as the other article's duplicate, while its own article kept the
    # link and the file gone: once the page held its words again, /add answered "I have that
    # link already" with the other article, and nothing brought the link's article back
    bot, url, other = await _ferry_page_showing_the_volcano(site, start_bot, deleted=1)
    db = feed_service(bot.application).db
    saved, volcano = db.articles()
    reply = (await bot.ask(f"/add {url}", user_id=ADMIN)).params["text"]
    assert reply.startswith("I have that article already, from another link:\n<b>Volcano erupts</b>")
    assert db.article_for_link(canonical_url(url)) == saved  # the link is still its article's, gone
    story(site, "ferry", "Zanzibar ferry service resumes", FERRY)  # the page is the ferry's again
    again = (await bot.ask(f"/add {url}", user_id=ADMIN)).params["text"]
    assert again.startswith("Added and indexed:\n<b>Zanzibar ferry service resumes</b>")
    back, _ = db.articles()
    assert back.id == saved.id and (bot.corpus / back.path).is_file()
    assert db.article_for_link(canonical_url(other)) == volcano


async def test_an_added_link_whose_page_holds_a_deleted_articles_words_brings_them_back_but_stays_its_own(
    site: Newsroom, start_bot: StartBot
) -> None:
    # the link moved to the other article, brought back with the page's words, and its own
    # article was left with no link and its file gone: nothing could bring it back
    bot, url, other = await _ferry_page_showing_the_volcano(site, start_bot, deleted=2)
    db = feed_service(bot.application).db
    saved, volcano = db.articles()
    reply = (await bot.ask(f"/add {url}", user_id=ADMIN)).params["text"]
    assert reply.startswith("Added and indexed:\n<b>Volcano erupts</b>")
    assert db.article_for_link(canonical_url(url)) == saved  # the link is still its article's, gone
    (back_volcano,) = [article for article in db.articles() if article.id == volcano.id]
    assert (bot.corpus / back_volcano.path).is_file()  # the words it holds, as the article they were
    story(site, "ferry", "Zanzibar ferry service resumes", FERRY)  # the page is the ferry's again
    again = (await bot.ask(f"/add {url}", user_id=ADMIN)).params["text"]
    assert again.startswith("Added and indexed:\n<b>Zanzibar ferry service resumes</b>")
    (back,) = [article for article in db.articles() if article.id == saved.id]
    assert (bot.corpus / back.path).is_file()
    assert db.article_for_link(canonical_url(url)) == back
    assert db.article_for_link(canonical_url(other)) == back_volcano


async def test_an_added_link_brings_a_feeds_deleted_article_back_into_its_feeds_folder(
    site: Newsroom, start_bot: StartBot
) -> None:
    # it came back in feeds/links/, its feed's no more: /feeds counted it no longer, and
    # deleting the feed's folder to drop its articles left it in the corpus
    bot = await start_bot(**FAST)
    db = feed_service(bot.application).db
    db.add_feed(feed(site, [story(site, "ferry", "Zanzibar ferry service resumes", FERRY)]), "harbour", None)
    await poll_now(bot.application)
    (saved,) = db.articles()
    assert saved.path.startswith("feeds/harbour/") and db.feeds()[0].articles == 1
    (bot.corpus / saved.path).unlink()  # an editor deletes it
    assert "Articles: 2 → 1" in (await bot.ask("/reload", user_id=ADMIN)).params["text"]
    again = (await bot.ask(f"/add {saved.url}", user_id=ADMIN)).params["text"]
    assert again.startswith("Added and indexed:\n<b>Zanzibar ferry service resumes</b>")
    assert f"{WHEN.date()} · <code>feeds/harbour/" in again  # its page has no date: the one it had, not today
    (back,) = db.articles()
    assert (back.id, back.backlog, back.date) == (saved.id, saved.backlog, saved.date)
    assert back.path.startswith("feeds/harbour/")
    assert "date_source: saved before" in (bot.corpus / back.path).read_text()
    assert (bot.corpus / back.path).is_file() and not (bot.corpus / "feeds" / "links").exists()
    listed = (await bot.ask("/feeds", user_id=ADMIN)).params["text"]
    assert "1 article in feeds/harbour/" in listed
    answer = (await bot.ask("When did the Zanzibar ferry resume?")).params["text"]
    assert "<b>1. Zanzibar ferry service resumes</b>" in answer


async def _ferry_page_showing_a_deleted_feed_volcano(
    site: Newsroom, start_bot: StartBot
) -> tuple[RunningBot, str, SavedArticle, SavedArticle]:
    """A bot with a feed's volcano article and the ferry's added link (its page has no date),
    both files deleted and reloaded, and the ferry's page showing the volcano's words for now."""
    bot = await start_bot(**FAST)
    db = feed_service(bot.application).db
    db.add_feed(feed(site, [story(site, "volcano", "Volcano erupts", VOLCANO)]), "harbour", None)
    await poll_now(bot.application)
    url = story(site, "ferry", "Zanzibar ferry service resumes", FERRY).link
    assert "Added and indexed" in (await bot.ask(f"/add {url}", user_id=ADMIN)).params["text"]
    volcano, saved = db.articles()
    assert volcano.path.startswith("feeds/harbour/") and saved.path.startswith("feeds/links/")
    assert volcano.date == WHEN.date() != saved.date
    for article in (volcano, saved):
        (bot.corpus / article.path).unlink()  # an editor deletes them
    await bot.ask("/reload", user_id=ADMIN)  # run now, or once the indexing of the adds ends
    left = re.compile(r"Articles: \d+ → 1\b")  # from 3, or from what the adds' indexing served
    await until(lambda: any(left.search(call.params["text"]) for call in bot.api.sent(chat_id=ADMIN)))
    site.put("ferry.html", site.resources["volcano.html"].body)  # for now, the site shows the volcano there
    return bot, url, volcano, saved


async def test_a_feeds_deleted_article_whose_words_an_added_link_brings_back_comes_back_as_itself(
    site: Newsroom, start_bot: StartBot
) -> None:
    # it came back into the link's article's folder (feeds/links/), its feed's no more, named
    # for the page's site and dated as the link's article, where its feed had saved it
    bot, url, volcano, saved = await _ferry_page_showing_a_deleted_feed_volcano(site, start_bot)
    db = feed_service(bot.application).db
    reply = (await bot.ask(f"/add {url}", user_id=ADMIN)).params["text"]
    assert reply.startswith(
        f"Added and indexed:\n<b>Volcano erupts</b>\n{WHEN.date()} · <code>feeds/harbour/"
    )
    (back,) = [article for article in db.articles() if article.id == volcano.id]
    assert back.path.startswith("feeds/harbour/") and (bot.corpus / back.path).is_file()
    assert (back.date, back.backlog) == (volcano.date, volcano.backlog)
    text = (bot.corpus / back.path).read_text()
    assert "source: Harbour Times" in text and "date_source: saved before" in text
    assert db.feed_of(back.id) == db.feeds()[0]
    assert not any((bot.corpus / "feeds" / "links").iterdir())
    assert "1 article in feeds/harbour/" in (await bot.ask("/feeds", user_id=ADMIN)).params["text"]
    assert db.article_for_link(canonical_url(url)) == saved  # the link is still its article's, gone


async def test_a_deleted_article_whose_words_an_added_link_brings_back_keeps_its_own_link(
    site: Newsroom, start_bot: StartBot
) -> None:
    # it came back under the added link: answers gave the ferry's page as the volcano
    # article's source, and the state file held the ferry's link as its
    bot, url, volcano, saved = await _ferry_page_showing_a_deleted_feed_volcano(site, start_bot)
    db = feed_service(bot.application).db
    assert "<b>Volcano erupts</b>" in (await bot.ask(f"/add {url}", user_id=ADMIN)).params["text"]
    (back,) = [article for article in db.articles() if article.id == volcano.id]
    assert back.url == volcano.url == site.url("volcano.html")
    assert f"url: {site.url('volcano.html')}" in (bot.corpus / back.path).read_text()
    answer = (await bot.ask("When did the volcano erupt?")).params["text"]
    assert "<b>1. Volcano erupts</b>" in answer
    assert site.url("volcano.html") in answer and url not in answer
    assert db.article_for_link(canonical_url(url)) == saved  # the link is still its article's, gone


async def test_a_feeds_article_an_added_link_brings_back_keeps_its_feeds_name_as_its_outlet(
    site: Newsroom, start_bot: StartBot
) -> None:
    # it came back named for its page's site (here its host, 127.0.0.1:PORT), where its feed
    # had named it "Harbour Times", as the feed's other articles are
    bot = await start_bot(**FAST)
    db = feed_service(bot.application).db
    db.add_feed(feed(site, [story(site, "ferry", "Zanzibar ferry service resumes", FERRY)]), "harbour", None)
    await poll_now(bot.application)
    (saved,) = db.articles()
    assert "source: Harbour Times" in (bot.corpus / saved.path).read_text()
    (bot.corpus / saved.path).unlink()  # an editor deletes it
    assert "Articles: 2 → 1" in (await bot.ask("/reload", user_id=ADMIN)).params["text"]
    assert "Added and indexed" in (await bot.ask(f"/add {saved.url}", user_id=ADMIN)).params["text"]
    (back,) = db.articles()
    assert "source: Harbour Times" in (bot.corpus / back.path).read_text()
    answer = (await bot.ask("When did the Zanzibar ferry resume?")).params["text"]
    assert "Harbour Times</a>" in answer


@pytest.mark.parametrize(
    ("header", "meta", "title"),
    [
        ("undefined", "utf-8", "Вулкан прокинувся"),  # in the HTTP header
        (None, "undefined", "Вулкан прокинувся"),  # in the page's <meta charset>
        ("punycode", "utf-8", "Volcano erupts"),  # punycode's raises on ASCII alone
    ],
)
async def test_a_page_declaring_a_charset_that_decodes_no_text_is_read_as_utf8(
    site: Newsroom, start_bot: StartBot, header: str | None, meta: str, title: str
) -> None:
    # Python knows these names, but their codecs decode no text: reading the page raised, and
    # /add answered "Sorry, something went wrong on my side", as a feed's item failed every round
    bot = await start_bot(**FAST)
    page = article_page(title, [VOLCANO, *paragraphs("v")]).replace(b"utf-8", meta.encode())
    url = site.put("v.html", page, f"text/html; charset={header}" if header else "text/html")
    reply = (await bot.ask(f"/add {url}", user_id=ADMIN)).params["text"]
    assert reply.startswith(f"Added and indexed:\n<b>{title}</b>")


async def test_an_added_link_that_cannot_be_saved_gets_a_reply_that_says_why(
    site: Newsroom, start_bot: StartBot
) -> None:
    # a full disk, or a folder the bot may not write: the reply was "Sorry, something went
    # wrong on my side. Please try again.", and trying again could only fail the same way
    bot = await start_bot(**FAST)
    (bot.corpus / "feeds").mkdir()
    (bot.corpus / "feeds" / "links").write_text("a file where the links' folder goes")
    url = site.put("v.html", article_page("Volcano erupts", [VOLCANO, *paragraphs("v")]))
    reply = (await bot.ask(f"/add {url}", user_id=ADMIN)).params["text"]
    assert reply == "I could not save that article: a file stands where its folder goes."
    assert feed_service(bot.application).db.articles_count() == 0
    # the system's words were English inside the translation: "...: [Errno 20] Not a directory: ..."
    ukrainian = (await bot.ask(f"/add {url}", user_id=ADMIN, language_code="uk")).params["text"]
    assert ukrainian == "Не вдалося зберегти цю статтю: на місці її теки стоїть файл."
    russian = (await bot.ask(f"/add {url}", user_id=ADMIN, language_code="ru")).params["text"]
    assert russian == "Не удалось сохранить эту статью: на месте её папки стоит файл."


async def test_an_added_link_whose_indexing_fails_is_said_to_be_saved_not_indexed_and_is_indexed_later(
    site: Newsroom, start_bot: StartBot
) -> None:
    # the system kills the indexing process (memory run out): the reply said "Added and
    # indexed", and the article could not be asked about
    bot = await start_bot(**FAST)
    (bot.corpus / "archive").mkdir()
    generate_corpus(bot.corpus / "archive", passages=8_000, seed=5)  # seconds of indexing with the link
    url = site.put(
        "v.html", article_page("Volcano erupts", [VOLCANO, *paragraphs("v")], dt.date(2024, 4, 30))
    )
    bot.api.push_message(f"/add {url}", user_id=ADMIN)
    await kill_indexing(bot.corpus)
    (reply,) = await bot.api.wait_for("sendMessage", chat_id=ADMIN, timeout=60)
    head, headline = reply.params["text"].splitlines()[:2]
    assert (head, headline) == (
        "Saved, but indexing it failed (see the bot's log); I try again within a minute:",
        "<b>Volcano erupts</b>",
    )
    await until(lambda: any("volcano-erupts" in i for i in state(bot).library.articles.ids), timeout=120)
    assert "<b>1. Volcano erupts</b>" in (await bot.ask("Which volcano erupted overnight?")).params["text"]


async def test_a_bare_link_from_an_admin_in_private_is_added_and_from_others_is_a_question(
    site: Newsroom, start_bot: StartBot
) -> None:
    bot = await start_bot(**FAST)
    url = site.put(
        "v.html", article_page("Volcano erupts", [VOLCANO, *paragraphs("v")], dt.date(2024, 4, 30))
    )
    other = (await bot.ask(url, user_id=8)).params["text"]
    assert "I found nothing" in other  # an ordinary question for everyone else
    added = (await bot.ask(f"  {url}  ", user_id=ADMIN)).params["text"]
    assert added.startswith("Added and indexed:\n<b>Volcano erupts</b>")
    asked = (await bot.ask(f"what does {url} say about the volcano?", user_id=ADMIN)).params["text"]
    assert "<b>1. Volcano erupts</b>" in asked  # a link inside a question is a question


async def test_an_admins_link_without_its_scheme_is_added_over_https(
    start_bot: StartBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `bbc.com/news/x` pasted without https://: Telegram shows it as a link (a `url` entity),
    # and the admin was answered "I found nothing" for it, as a question
    authority, server = trustme.CA(), ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("localhost").configure_cert(server)
    authority.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))  # trusted as a public CA would be
    secure = await Newsroom(tls=server).start()
    try:
        bot = await start_bot(**FAST)
        page = article_page("Volcano erupts", [VOLCANO, *paragraphs("v")], dt.date(2024, 4, 30))
        url = secure.put("v.html", page).replace("127.0.0.1", "localhost")
        bare = url.removeprefix("https://")
        marked = [{"type": "url", "offset": 0, "length": len(bare)}]  # a host with no top-level domain
        other = (await bot.ask(bare, user_id=8, entities=marked)).params["text"]
        assert "I found nothing" in other  # an ordinary question for everyone else
        added = (await bot.ask(bare, user_id=ADMIN, entities=marked)).params["text"]
        assert added.startswith("Added and indexed:\n<b>Volcano erupts</b>")
        assert [article.url for article in feed_service(bot.application).db.articles()] == [url]
        # as an argument of /add and /feeds add too (it was "does not start with http://")
        glacier = "The glacier above the valley melted faster this spring than in any year on record."
        page = article_page("Glacier melts", [glacier, *paragraphs("g")], dt.date(2024, 4, 30))
        bare = secure.put("g.html", page).replace("127.0.0.1", "localhost").removeprefix("https://")
        added = await bot.ask(f"/add {bare}", user_id=ADMIN, entities=command_link("/add", bare))
        assert added.params["text"].startswith("Added and indexed:\n<b>Glacier melts</b>")
        # a word Telegram marks as no link stays no address
        refused = (await bot.ask("/add volcano", user_id=ADMIN)).params["text"]
        assert "does not start with http:// or https://" in refused
        rss_url = feed(secure, [story(secure, "ferry", "Zanzibar ferry service resumes", FERRY)])
        bare = rss_url.replace("127.0.0.1", "localhost").removeprefix("https://")
        listed = await bot.ask(f"/feeds add {bare}", user_id=ADMIN, entities=command_link("/feeds", bare, 4))
        assert listed.params["text"].startswith("Added feed 1: Harbour Times"), listed.params["text"]
    finally:
        await secure.stop()


def command_link(command: str, address: str, gap: int = 0) -> list[dict[str, object]]:
    """The entities of `command [word] address` as Telegram marks them, `gap` the characters of
    a word between (`add `): the command, and the address as a link though it names no scheme."""
    start = len(command) + 1 + gap
    return [
        {"type": "bot_command", "offset": 0, "length": len(command)},
        {"type": "url", "offset": start, "length": len(address)},
    ]


async def test_a_bare_link_is_an_add_in_a_private_chat_only(start_bot: StartBot) -> None:
    # in a group an admin's link is chatter, not for the bot: the link handler never takes it
    # (it runs apart from the chat's turn, so a reply it did not send could not be awaited)
    bot = await start_bot()
    (handler,) = [
        handler
        for handlers in bot.application.handlers.values()
        for handler in handlers
        if getattr(handler, "callback", None) is link_message
    ]

    def link_from_admin(chat: dict[str, object], text: str = "https://example.com/news/story.html") -> Update:
        message = {"message_id": 1, "date": 0, "chat": chat, "text": text, "entities": marked_entities(text)}
        admin = {"id": ADMIN, "is_bot": False, "first_name": "A"}
        return Update.de_json({"update_id": 1, "message": {**message, "from": admin}}, bot.application.bot)

    private = {"id": ADMIN, "type": "private"}
    assert handler.check_update(link_from_admin(private))
    assert not handler.check_update(link_from_admin({"id": -100, "type": "supergroup", "title": "G"}))
    # a link Telegram marks without its scheme is a link; a message with one in it is a question
    assert handler.check_update(link_from_admin(private, "bbc.com/news/x"))
    assert not handler.check_update(link_from_admin(private, "what of bbc.com/news/x?"))
    assert not handler.check_update(link_from_admin(private, "J.R.R. Tolkien"))


async def test_add_behind_a_suspended_holder_of_the_index_says_so_at_once_and_answers_when_it_goes_on(
    site: Newsroom, start_bot: StartBot
) -> None:
    # `newsbot ask` suspended with Ctrl-Z while it saves the index the new article goes in:
    # the admin waited with no word why, for as long as it stayed suspended
    bot = await start_bot(feed_interval=0, **FAST)
    holder = await asyncio.to_thread(
        signalled_at_rename, BUILD_INDEX, signal.SIGSTOP, str(bot.corpus), str(bot.settings.index_dir)
    )
    url = site.put(
        "v.html", article_page("Volcano erupts", [VOLCANO, *paragraphs("v")], dt.date(2024, 4, 30))
    )
    try:
        bot.api.push_message(f"/add {url}", user_id=ADMIN)
        (notice,) = await bot.api.wait_for("sendMessage", chat_id=ADMIN, timeout=120)
        said = f"Another process (pid {holder.pid}) is working on the saved index, perhaps suspended"
        assert notice.params["text"].startswith(said)
    finally:
        holder.send_signal(signal.SIGCONT)
    assert await asyncio.to_thread(holder.wait, 120) == 0
    added = (await bot.api.wait_for("sendMessage", chat_id=ADMIN, count=2, timeout=120))[1]
    assert added.params["text"].startswith("Added and indexed:\n<b>Volcano erupts</b>")


@pytest.mark.parametrize(
    ("link", "page", "reply"),
    [
        ("missing.html", None, "That page does not exist (404 Not Found)"),
        ("slow.html", {"delay": 30.0}, "The site did not answer within 3 seconds"),
        (
            "doc.pdf",
            {"body": b"%PDF-1.4", "content_type": "application/pdf"},
            "the page is application/pdf, not HTML",
        ),
        (
            "empty.html",
            {"body": b"<html><body><p>Hello</p></body></html>"},
            "no article text found on the page",
        ),
        ("huge.html", {"endless": True}, "That page is too large to read"),
        (  # brotli, unasked for: its bytes were read as the page, "no article text found"
            "br.html",
            {"body": b"\x8b\x05\x80" + bytes(range(256)) * 8, "headers": {"Content-Encoding": "br"}},
            "I could not fetch that page: served in the br encoding, which I do not read.",
        ),
        (
            "file:///etc/passwd",
            None,
            "I can't add that: only http:// and https:// addresses can be fetched, not file:",
        ),
        ("javascript:alert(1)", None, "not javascript:"),
    ],
)
async def test_add_failures_get_a_clear_reply_and_nothing_is_saved(
    site: Newsroom, start_bot: StartBot, link: str, page: dict[str, object] | None, reply: str
) -> None:
    bot = await start_bot(feed_max_bytes=100_000, **FAST)
    if page is not None:
        site.fault(link, **page)
    url = link if ":" in link else site.url(link)
    assert reply in (await bot.ask(f"/add {url}", user_id=ADMIN)).params["text"]
    assert feed_service(bot.application).db.articles_count() == 0
    assert "Istanbul" in (await bot.ask("Istanbul")).params["text"]  # and the bot keeps serving


@pytest.mark.parametrize(
    ("command", "reply"),
    [
        (
            "/add https://news..example.com/story",
            "I can't add that: 'news..example.com' is not a valid host name",
        ),
        ("/add http://[::1/story", "I can't add that: the address has an unclosed [."),
        ("/add http://[::g]/story", "I can't add that: '::g' is not a valid IP address."),
        ("/add {typo}", "I could not fetch that page: cannot resolve news..example.com: not a valid host"),
        ("/add http://999.1.1.1/story", "I could not fetch that page: '999.1.1.1' is not a valid IP address"),
        # a label in the form of an IDNA name that decodes to none: "something went wrong on my side"
        ("/add http://xn--a.example.com/story", "I could not fetch that page: 'xn--a.example.com' is not"),
        (
            "/add {ip}",
            "I could not fetch that page: redirected to a malformed address (http://999.1.1.1/story).",
        ),
        (
            "/add {idna}",
            "I could not fetch that page: redirected to a malformed address (http://xn--a.example",
        ),
        ("/feeds add https://news..example.com/rss", "I could not add that feed: 'news..example.com' is not"),
        ("/feeds add http://[::1/rss", "I could not add that feed: the address has an unclosed [."),
        ("/feeds add {typo}", "I could not add that feed: cannot resolve news..example.com: not a valid"),
        (
            "/feeds add {ip}",
            "I could not add that feed: redirected to a malformed address (http://999.1.1.1/",
        ),
    ],
)
async def test_a_link_with_a_malformed_host_gets_a_reply_that_says_so(
    site: Newsroom, start_bot: StartBot, command: str, reply: str
) -> None:
    # a typo an admin makes (a doubled dot), or a page that redirects to one: the reply was
    # "something went wrong on my side", with a traceback in the log. The reason was told as
    # the URL parser words it ("the address is malformed (Invalid IPv4 address: '999.1.1.1')",
    # a redirect to it "cannot connect: Invalid URL in location header: ...")
    bot = await start_bot(**FAST)
    addresses = {
        "typo": site.fault("moved.html", redirect="http://news..example.com/story"),
        "ip": site.fault("ip.html", redirect="http://999.1.1.1/story"),
        "idna": site.fault("idna.html", redirect="http://xn--a.example.com/story"),
    }
    assert (await bot.ask(command.format(**addresses), user_id=ADMIN)).params["text"].startswith(reply)


@pytest.mark.parametrize(
    ("language_code", "command", "reply"),
    [
        (
            "uk",
            "/add https://news..example.com/story",
            "Не можу це додати: 'news..example.com' — недійсне ім'я хоста.",
        ),
        (
            "ru",
            "/add https://news..example.com/story",
            "Не могу это добавить: 'news..example.com' — недопустимое имя хоста.",
        ),
        (
            "uk",
            "/add ftp://example.com/story",
            "Не можу це додати: завантажувати можна лише адреси http:// і https://, а не ftp:.",
        ),
        (
            "uk",
            "/add {pdf}",
            "Не можу це додати: сторінка має тип application/pdf, а не HTML. Я читаю HTML-сторінки новин.",
        ),
        ("ru", "/add {bare}", "Не могу это добавить: на странице не найден текст статьи."),
        ("ru", "/feeds add {page}", "Не удалось добавить эту ленту: это HTML, а не лента."),
        (
            "uk",
            "/add {typo}",
            "Не вдалося завантажити цю сторінку: не вдалося знайти адресу news..example.com: недійсне ім'я",
        ),
        ("uk", "/add {loop}", "Не вдалося завантажити цю сторінку: понад 5 переспрямувань (петля?)."),
        (  # redirected elsewhere than http(s): "... завантажити: Request URL has an unsupported protocol"
            "uk",
            "/add {ftp}",
            "Не вдалося завантажити цю сторінку: переспрямовано на адресу ftp:, а завантажувати можна лише"
            " адреси http:// і https://.",
        ),
        (
            "ru",
            "/feeds add {file}",
            "Не удалось добавить эту ленту: перенаправлено на адрес file:, а загружать можно только"
            " адреса http:// и https://.",
        ),
        (  # "не удалось соединиться: For absolute URLs, path must be empty or begin with '/'"
            "ru",
            "/add {mailto}",
            "Не удалось загрузить эту страницу: перенаправлено на адрес mailto:, а загружать можно только"
            " адреса http:// и https://.",
        ),
        (  # "...: адреса має неправильний формат (Invalid IPv4 address: '999.1.1.1')."
            "uk",
            "/add http://999.1.1.1/story",
            "Не вдалося завантажити цю сторінку: '999.1.1.1' — недійсна IP-адреса.",
        ),
        ("ru", "/feeds add http://[::1/rss", "Не удалось добавить эту ленту: в адресе не закрыта скобка [."),
        (  # "...: не удалось соединиться: Invalid URL in location header: Invalid IPv4 address: ..."
            "uk",
            "/add {ip}",
            "Не вдалося завантажити цю сторінку: переспрямовано на адресу неправильного формату"
            " (http://999.1.1.1/story).",
        ),
    ],
    ids=[
        "uk-host",
        "ru-host",
        "uk-scheme",
        "uk-pdf",
        "ru-no-text",
        "ru-not-a-feed",
        "uk-connect",
        "uk-loop",
        "uk-redirect-scheme",
        "ru-redirect-scheme",
        "ru-redirect-mailto",
        "uk-ip",
        "ru-unclosed",
        "uk-redirect-malformed",
    ],
)
async def test_why_a_link_or_feed_failed_is_told_in_the_admins_language(
    site: Newsroom, start_bot: StartBot, language_code: str, command: str, reply: str
) -> None:
    # the frame was translated, the reason inside it was English: "Не можу це додати: 'news..example.com'
    # is not a valid host name."
    bot = await start_bot(**FAST)
    addresses = {
        "pdf": site.put("doc.pdf", b"%PDF-1.4", content_type="application/pdf"),
        "bare": site.put("bare.html", "<html><body><p>Hi.</p></body></html>"),
        "page": site.put("home.html", "<html><body><p>Not a feed.</p></body></html>"),
        "typo": site.fault("moved.html", redirect="http://news..example.com/story"),
        "loop": site.fault("loop.html", redirect=site.url("loop.html")),
        "ftp": site.fault("ftp.html", redirect="ftp://news.example.com/story"),  # its host not looked up
        "mailto": site.fault("mail.html", redirect="mailto:desk@news.example.com"),
        "file": site.fault("file.xml", redirect="file:///etc/passwd"),
        "ip": site.fault("ip.html", redirect="http://999.1.1.1/story"),
    }
    asked = await bot.ask(command.format(**addresses), user_id=ADMIN, language_code=language_code)
    assert asked.params["text"].startswith(reply)


@pytest.mark.parametrize(
    ("language_code", "site_is", "command", "reply"),
    [
        (
            "uk",
            "closed",
            "/add {url}",
            "Не вдалося завантажити цю сторінку: не вдалося з'єднатися: сайт відхилив з'єднання.",
        ),
        (
            "ru",
            "silent",
            "/add {url}",
            "Не удалось загрузить эту страницу: сайт закрыл соединение, не ответив.",
        ),
        (
            "uk",
            "untrusted",
            "/feeds add {url}",
            "Не вдалося додати цю стрічку: не вдалося з'єднатися: сертифікат сайту недійсний (unable to get",
        ),
        (
            "ru",
            "private",
            "/add {url}",
            "Не удалось загрузить эту страницу: отклонено: 127.0.0.1 — не публичный адрес (loopback) (разреш",
        ),
        (
            "uk",
            "private by name",
            "/feeds add {url}",
            "Не вдалося додати цю стрічку: відхилено: localhost веде на 127.0.0.1, не публічну адресу (loopb",
        ),
    ],
)
async def test_why_a_site_could_not_be_reached_is_told_in_the_admins_language(
    site: Newsroom, start_bot: StartBot, language_code: str, site_is: str, command: str, reply: str
) -> None:
    # the frame was translated, the connection's failure inside it was the library's English:
    # "не вдалося з'єднатися: All connection attempts failed"
    private = site_is.startswith("private")
    bot = await start_bot(**({"feed_private_networks": ""} if private else {}), **FAST)
    servers: list[asyncio.Server] = []
    secure: Newsroom | None = None
    if site_is == "closed":  # nothing listens there
        listening = await asyncio.start_server(lambda reader, writer: None, "127.0.0.1", 0)
        url = f"http://127.0.0.1:{listening.sockets[0].getsockname()[1]}/story"
        listening.close()
        await listening.wait_closed()
    elif site_is == "silent":  # it takes the connection and closes it
        server = await asyncio.start_server(lambda reader, writer: writer.close(), "127.0.0.1", 0)
        servers.append(server)
        url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/story"
    elif site_is == "untrusted":  # a certificate no authority the bot trusts issued
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        trustme.CA().issue_cert("localhost").configure_cert(tls)
        secure = await Newsroom(tls=tls).start()
        url = secure.put("feed.xml", rss("Harbour Times", []), RSS)
    else:
        url = site.put("v.html", article_page("Volcano erupts", [VOLCANO, *paragraphs("v")]))
        url = url.replace("127.0.0.1", "localhost") if site_is == "private by name" else url
    try:
        asked = await bot.ask(command.format(url=url), user_id=ADMIN, language_code=language_code)
        assert asked.params["text"].startswith(reply)
        assert feed_service(bot.application).db.feeds() == []
    finally:
        for server in servers:
            server.close()
        if secure is not None:
            await secure.stop()


async def test_links_and_feeds_at_private_addresses_are_refused_by_default(
    site: Newsroom, start_bot: StartBot
) -> None:
    bot = await start_bot(feed_private_networks="", **FAST)  # as shipped: public addresses only
    page = site.put("v.html", article_page("Volcano erupts", [VOLCANO, *paragraphs("v")]))
    added = (await bot.ask(f"/add {page}", user_id=ADMIN)).params["text"]
    assert added.startswith("I could not fetch that page: refused: 127.0.0.1 is a loopback address")
    fed = (await bot.ask(f"/feeds add {ferry_feed(site)}", user_id=ADMIN)).params["text"]
    assert fed.startswith("I could not add that feed: refused: 127.0.0.1 is a loopback address")
    assert site.requests == []  # neither was fetched
    service = feed_service(bot.application)
    assert service.db.feeds() == [] and service.db.articles_count() == 0


async def test_a_page_that_announces_a_feed_at_a_private_address_is_not_followed_to_it(
    site: Newsroom, start_bot: StartBot
) -> None:
    publisher = await Newsroom("127.0.0.2").start()
    try:
        bot = await start_bot(feed_private_networks="127.0.0.2", **FAST)  # the publisher only
        internal = ferry_feed(site)
        home = publisher.put(
            "home.html", f'<html><head><link rel="alternate" type="application/rss+xml" href="{internal}">'
        )
        reply = (await bot.ask(f"/feeds add {home}", user_id=ADMIN)).params["text"]
    finally:
        await publisher.stop()
    assert reply.startswith("I could not add that feed: refused: 127.0.0.1 is a loopback address")
    assert site.requests == [] and feed_service(bot.application).db.feeds() == []


async def test_follow_following_and_unfollow(start_bot: StartBot) -> None:
    bot = await start_bot()
    assert (await bot.ask("/follow Zanzibar ferry")).params["text"].startswith("Following “Zanzibar ferry”.")
    assert "already" in (await bot.ask("/follow  zanzibar   FERRIES")).params["text"]  # the same terms
    await bot.ask("/follow volcano")
    listing = (await bot.ask("/following")).params["text"]
    assert "You follow 2 of at most 10 topics" in listing and "1. Zanzibar ferry\n2. volcano" in listing
    assert "Usage: /unfollow N, N from 1 to 2" in (await bot.ask("/unfollow 3")).params["text"]
    assert (await bot.ask("/unfollow 1")).params["text"] == "Stopped following “Zanzibar ferry”."
    assert "1. volcano" in (await bot.ask("/following")).params["text"]


async def test_follow_and_unfollow_replies_show_the_topic_without_its_bidi_controls(
    start_bot: StartBot,
) -> None:
    # "Following “…”" and "Stopped following “…”" put the reader's words back as they came: a
    # right-to-left override (U+202E) in them turned the rest of the reply around, "…gniwollof/"
    rlo, lri = "\u202e", "\u2066"
    bot = await start_bot()
    followed = (await bot.ask(f"/follow Zanzibar {rlo}ferry{lri}")).params["text"]
    assert followed.startswith("Following “Zanzibar ferry”. When a new article matches")
    stopped = (await bot.ask("/unfollow 1")).params["text"]
    assert stopped == "Stopped following “Zanzibar ferry”."


async def test_a_topic_unfollowed_sends_none_of_the_alerts_still_waiting_for_it(start_bot: StartBot) -> None:
    bot = await start_bot()
    await bot.ask("/follow Zanzibar ferry", user_id=7)
    await bot.ask("/follow volcano", user_id=7)
    service = feed_service(bot.application)
    waiting = []
    for n, (topic, title) in enumerate([("Zanzibar ferry", "Ferry sails"), ("volcano", "Volcano erupts")]):
        _, saved = service.db.claim_article(
            url=f"http://n/{n}",
            text_hash=f"h{n}",
            path=f"n/{n}.md",
            title=title,
            date=RECENT.date(),
            feed_id=None,
        )
        waiting.append((7, 7, saved.id, topic, 0.9, f"{title}.", topic.lower()))
    async with service.delivery_lock:  # waiting, as past the hour's limit: no delivery meanwhile
        service.db.queue_alerts(waiting, [alert[2] for alert in waiting])
        assert (await bot.ask("/unfollow 1", user_id=7)).params[
            "text"
        ] == "Stopped following “Zanzibar ferry”."
        before = len(bot.api.sent("sendMessage", 7))
        assert await deliver(bot.application.bot, service.db, per_hour=3) == 1
    (alert,) = bot.api.sent("sendMessage", 7)[before:]
    assert alert.params["text"].startswith("<b>Volcano erupts</b>") and "Ferry" not in alert.params["text"]


async def test_a_state_file_locked_by_another_process_holds_up_no_other_chat(start_bot: StartBot) -> None:
    # Another process holds the state file's write lock (a second bot, a `sqlite3` shell left in a
    # transaction): a /follow waits for it, and another chat is answered meanwhile, not after it.
    bot = await start_bot()
    other = sqlite3.connect(feed_service(bot.application).db.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        bot.api.push_message("/follow volcano", user_id=7)
        answer = await bot.ask("Who negotiated with Abramovich?", user_id=12)
        assert "Abramovich" in answer.params["text"]
        assert bot.api.sent("sendMessage", 7) == []  # the /follow still waits for the lock
    finally:
        other.execute("ROLLBACK")
        other.close()
    (reply,) = await bot.api.wait_for("sendMessage", chat_id=7)
    assert reply.params["text"].startswith("Following “volcano”.")


async def test_the_same_topic_in_another_word_order_is_followed_already(start_bot: StartBot) -> None:
    # A topic matches its words in any order, so "exported grain" is "grain exports" again, not a
    # second topic taking one of the reader's ten places.
    bot = await start_bot()
    await bot.ask("/follow grain exports")
    assert "already" in (await bot.ask("/follow exported grain")).params["text"]
    assert "You follow 1 of at most 10 topics" in (await bot.ask("/following")).params["text"]


async def test_a_topic_followed_under_an_older_analyzer_is_followed_already(start_bot: StartBot) -> None:
    # Stored terms are the analyzer's of the day the topic was followed; an upgrade may stem
    # the same words otherwise, and the same words must not become a second topic.
    bot = await start_bot()
    await bot.ask("/follow grain exports")
    older = sqlite3.connect(feed_service(bot.application).db.path, isolation_level=None)
    older.execute("UPDATE topics SET terms = 'grains exportz'")  # as an older analyzer stemmed them
    older.close()
    assert "already" in (await bot.ask("/follow Grain exports")).params["text"]
    assert "You follow 1 of at most 10 topics" in (await bot.ask("/following")).params["text"]


async def test_a_topic_read_both_ways_is_followed_already_however_it_was_stored(start_bot: StartBot) -> None:
    # "Новости Харькова" tells neither Ukrainian nor Russian: its terms are both readings'
    # (`новіст`, `новост`); followed when it was read as Ukrainian alone, it stored `новіст харьков`.
    bot = await start_bot()
    await bot.ask("/follow Новости Харькова")
    assert "already" in (await bot.ask("/follow новости  ХАРЬКОВА")).params["text"]
    older = sqlite3.connect(feed_service(bot.application).db.path, isolation_level=None)
    older.execute("UPDATE topics SET terms = 'новіст харьков'")
    older.close()
    assert "already" in (await bot.ask("/follow Новости Харькова")).params["text"]
    assert "You follow 1 of at most 10 topics" in (await bot.ask("/following")).params["text"]


@pytest.mark.parametrize(
    ("command", "reply"),
    [
        ("/follow", "Usage: /follow WORDS"),
        ("/follow the of and", "no searchable words"),
        ("/follow " + "word " * 60, "too long"),
        ("/unfollow 1", "You follow no topic."),
        ("/following", "You follow no topic."),
    ],
)
async def test_follow_commands_answer_bad_input_politely(
    start_bot: StartBot, command: str, reply: str
) -> None:
    bot = await start_bot()
    assert reply in (await bot.ask(command)).params["text"]


async def test_ten_topics_at_most(start_bot: StartBot) -> None:
    bot = await start_bot()
    for number in range(10):
        await bot.ask(f"/follow topic{number}")
    assert "You follow 10 topics, the most I keep." in (await bot.ask("/follow eleventh")).params["text"]


async def test_follow_in_a_group_points_to_a_private_chat(start_bot: StartBot) -> None:
    bot = await start_bot()
    reply = await bot.ask("/follow volcano", user_id=7, chat_id=-100, chat_type="group")
    assert "private chat" in reply.params["text"]
    assert feed_service(bot.application).db.topics() == []


async def test_following_and_unfollow_in_a_group_point_to_a_private_chat_and_show_no_topic(
    start_bot: StartBot,
) -> None:
    # Topics are followed in a private chat, and are the reader's own: in a group, /following
    # listed the sender's topics to every member, and /unfollow told them which one went.
    bot = await start_bot()
    for topic in ("Zanzibar ferry", "volcano"):
        await bot.ask(f"/follow {topic}", user_id=7)
    group = {"user_id": 7, "chat_id": -100, "chat_type": "supergroup"}
    for command in ("/following", "/unfollow 1", "/following@news_test_bot"):
        text = (await bot.ask(command, **group)).params["text"]
        assert "private chat" in text and "Zanzibar" not in text and "volcano" not in text, command
    ukrainian = (await bot.ask("/following", language_code="uk", **group)).params["text"]
    assert "особистому чаті" in ukrainian and "Zanzibar" not in ukrainian
    assert [topic.words for topic in feed_service(bot.application).db.topics()] == [
        "Zanzibar ferry",
        "volcano",
    ]
    assert "1. Zanzibar ferry\n2. volcano" in (await bot.ask("/following", user_id=7)).params["text"]


async def test_a_matching_article_alerts_its_follower_once_with_headline_date_passage_and_link(
    site: Newsroom, start_bot: StartBot
) -> None:
    bot = await start_bot(**FAST)
    await bot.ask("/follow Zanzibar ferry", user_id=7)
    await bot.ask("/follow volcano eruption", user_id=8)
    await read_feed(bot, site)
    museum = "The museum reopened; visitors came by ferry."
    passing = story(site, "museum", "Harbour museum reopens", museum, RECENT)
    feed(site, [story(site, "ferry", "Zanzibar ferry service resumes", FERRY, RECENT), passing])
    before = {chat: len(bot.api.sent("sendMessage", chat)) for chat in (7, 8)}
    await poll_now(bot.application)
    (alert,) = bot.api.sent("sendMessage", 7)[before[7] :]  # not the museum's passing mention
    text = alert.params["text"]
    assert text.startswith(f"<b>Zanzibar ferry service resumes</b>\n{RECENT.date()}\n")
    assert "The <b>Zanzibar</b> <b>ferry</b> service resumed" in text
    assert site.url("ferry.html") in text and "You follow: Zanzibar ferry" in text
    assert bot.api.sent("sendMessage", 8)[before[8] :] == []  # a topic that did not match
    await poll_now(bot.application)
    await settle(bot.application)
    assert len(bot.api.sent("sendMessage", 7)) == before[7] + 1  # never twice


async def test_bidi_controls_in_titles_headlines_and_passages_are_not_shown(
    site: Newsroom, start_bot: StartBot
) -> None:
    # a right-to-left override (U+202E) in a feed's title, a headline or a passage, shown as
    # it was, turned the rest of the message right to left in Telegram: "…sesumer ecivres"
    rlo, lri, pdf = "\u202e", "\u2066", "\u202c"
    bot = await start_bot(**FAST)
    await bot.ask("/follow Zanzibar ferry", user_id=7)
    db = feed_service(bot.application).db
    db.add_feed(feed(site, [], title=f"Harbour {rlo}Times"), "h", None)
    await fetch_round(options_from(bot.settings))  # its first read: what it held then alerts no one
    ferry = story(site, "ferry", f"Zanzibar {rlo}ferry service{pdf} resumes", f"{rlo}{FERRY}", RECENT)
    feed(site, [ferry], title=f"Harbour {rlo}Times")
    before = len(bot.api.sent("sendMessage", 7))
    await poll_now(bot.application)
    (alert,) = bot.api.sent("sendMessage", 7)[before:]
    (bot.corpus / "volcano.md").write_text(
        f"---\ntitle: Volcano {lri}erupts\ndate: 2024-05-01\n---\n\n{VOLCANO} {rlo}Ash fell on the town.\n"
    )
    assert "Articles: 2 → 3" in (await bot.ask("/reload", user_id=ADMIN)).params["text"]
    shown = {
        "alert": alert.params["text"],
        "/feeds": (await bot.ask("/feeds", user_id=ADMIN)).params["text"],
        "/latest": (await bot.ask("/latest")).params["text"],
        "ferry": (await bot.ask("When did the Zanzibar ferry resume?")).params["text"],
        "volcano": (await bot.ask("Which volcano erupted overnight?")).params["text"],
    }
    for where, text in shown.items():
        assert not set(text) & set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"), where
    assert "<b>Zanzibar ferry service resumes</b>" in shown["alert"]
    assert "Harbour Times" in shown["/feeds"] and "Volcano erupts" in shown["/latest"]
    assert "<b>1. Volcano erupts</b>" in shown["volcano"] and "Ash fell on the town" in shown["volcano"]


async def test_an_article_whose_title_is_bidi_controls_alone_is_saved_answered_and_alerted(
    site: Newsroom, start_bot: StartBot
) -> None:
    # a feed's item or an added page titled with bidi controls alone was saved as `title: ''`
    # (the controls are left out of what is written), a file the corpus refuses as having no
    # headline: never answered, its alert never sent ("not in the corpus"), the /add reply an
    # empty bold line. Such a title is no title: the item's is its first words, the page's its site
    bot, before = await ferry_follower(start_bot)
    await read_feed(bot, site)
    feed(site, [story(site, "ferry", "\u202e\u202c", FERRY, RECENT)])
    await poll_now(bot.application)
    (alert,) = bot.api.sent("sendMessage", 7)[before:]
    assert alert.params["text"].startswith("<b>The Zanzibar ferry service resumed on Monday after the")
    answer = (await bot.ask("When did the Zanzibar ferry resume?")).params["text"]
    assert answer.startswith("<b>1. The Zanzibar ferry service resumed on Monday after the"), answer[:200]
    assert "the first ferry from Zanzibar…</b>" in answer  # cut at a word, not "Zanzibar carr"
    url = site.put("v.html", article_page("\u2066 \u2069", [VOLCANO, *paragraphs("v")], dt.date(2024, 4, 30)))
    reply = (await bot.ask(f"/add {url}", user_id=ADMIN)).params["text"]
    assert reply.startswith("Added and indexed:\n<b>127.0.0.1</b>\n2024-04-30 · <code>feeds/links/"), reply
    assert "<b>1. 127.0.0.1</b>" in (await bot.ask("Which volcano erupted overnight?")).params["text"]


async def test_a_topic_that_tells_no_language_alerts_on_the_russian_article_in_the_readers_language(
    site: Newsroom, start_bot: StartBot
) -> None:
    # README: a topic too short to tell Ukrainian from Russian is read both ways, and an article is
    # matched on the reading that fits it; the alert bolds the topic's words as the article writes them
    bot = await start_bot(**FAST)
    await bot.ask("/follow Новости Харькова", user_id=7, language_code="uk")
    before = len(bot.api.sent("sendMessage", 7))
    await read_feed(bot, site)
    kharkiv = [
        "Новости Харькова за неделю: в Харькове открыли ещё одну подземную школу. Это главная из "
        "новостей недели, говорят в мэрии Харькова.",
        "Школа рассчитана на тысячу учеников и будет работать в две смены. Под землёй дети учатся "
        "без перерывов на воздушные тревоги, а родители спокойны за них во время уроков.",
        "Строительство заняло восемь месяцев; деньги на него дали город и международные партнёры.",
    ]
    futsal = [
        "Финальный матч кубка Украины по футзалу сыграют в марте во Львове, так решила федерация. "
        "Билеты на матч начнут продавать в конце февраля, в кассах арены и на сайте клуба.",
        "В полуфиналах команды забили двенадцать голов, а лучшим игроком турнира назвали вратаря.",
    ]
    pages = [("kharkiv", "Что нового в Харькове", kharkiv), ("futsal", "Финал кубка по футзалу", futsal)]
    feed(
        site,
        [
            Item(title, site.put(f"{slug}.html", article_page(title, body)), RECENT)
            for slug, title, body in pages
        ],
    )
    await poll_now(bot.application)
    (alert,) = bot.api.sent("sendMessage", 7)[before:]
    text = alert.params["text"]
    assert text.startswith(f"<b>Что нового в Харькове</b>\n{RECENT.date()}\n")
    assert "<b>Новости</b> <b>Харькова</b> за неделю: в <b>Харькове</b> открыли" in text
    assert "<i>Ваша тема: Новости Харькова</i>" in text  # in the reader's language, the topic as written


async def test_a_new_feeds_backlog_and_old_news_alert_no_one_and_fresh_news_does(
    site: Newsroom, start_bot: StartBot
) -> None:
    bot, before = await ferry_follower(start_bot)
    backlog = [
        story(site, "ferry", "Zanzibar ferry service resumes", FERRY, RECENT),  # fresh, but backlog
        story(site, "old", "Zanzibar ferry timetable", f"{FERRY} Timetable.", RECENT - dt.timedelta(days=30)),
    ]
    service = feed_service(bot.application)
    service.db.add_feed(feed(site, backlog), "h", "Harbour")
    await poll_now(bot.application)  # the feed's first read
    assert bot.api.sent("sendMessage", 7)[before:] == []
    assert (
        "<b>1. Zanzibar ferry service resumes</b>"
        in (await bot.ask("Zanzibar ferry", user_id=8)).params["text"]
    )
    archive = story(
        site, "archive", "Zanzibar ferry history", f"{FERRY} History.", RECENT - dt.timedelta(days=3)
    )
    fresh = story(site, "extra", "Second Zanzibar ferry added", f"{FERRY} A second ferry.", RECENT)
    feed(site, [*backlog, archive, fresh])
    await poll_now(bot.application)
    (alert,) = bot.api.sent("sendMessage", 7)[before:]  # the fresh article only, not the archive's
    assert alert.params["text"].startswith("<b>Second Zanzibar ferry added</b>")
    assert len(service.db.articles()) == 4 and service.db.unmatched_articles() == []


async def test_items_a_raised_feed_max_items_lets_in_alert_no_one_and_a_new_item_does(
    site: Newsroom, start_bot: StartBot
) -> None:
    # the items past the old limit, never read before, were saved as news: raising
    # FEED_MAX_ITEMS alerted readers to stories the publisher had had for hours
    first = await start_bot(feed_max_items=2, feed_interval=0, **FAST)
    await first.ask("/follow Zanzibar ferry", user_id=7)
    before = len(first.api.sent("sendMessage", 7))
    await read_feed(first, site)  # the feed was added some time ago: what it brings is news
    hour = dt.timedelta(hours=1)
    older = [
        story(site, f"ferry{n}", f"Zanzibar ferry report {n}", f"{FERRY} Report {n}.", RECENT - n * hour)
        for n in range(1, 5)
    ]
    feed(site, older)
    await poll_now(first.application)
    sent = first.api.sent("sendMessage", 7)[before:]  # the two newest, news then
    assert sorted(alert.params["text"].split("</b>")[0] for alert in sent) == [
        "<b>Zanzibar ferry report 1",
        "<b>Zanzibar ferry report 2",
    ]
    await first.application.updater.stop()
    await first.application.stop()
    second = await start_bot(feed_max_items=10, feed_interval=0, **FAST)  # the admin raised it
    fresh = story(site, "fresh", "Second Zanzibar ferry added", f"{FERRY} A second ferry.", RECENT)
    feed(site, [fresh, *older])
    report = await poll_now(second.application)
    assert report is not None and len(report.saved) == 3
    (alert,) = second.api.sent("sendMessage", 7)  # the new story only, not the two let in
    assert alert.params["text"].startswith("<b>Second Zanzibar ferry added</b>")
    articles = feed_service(second.application).db.articles()
    assert len(articles) == 5 and sum(article.backlog for article in articles) == 2


async def test_a_backlog_item_that_failed_at_the_feeds_first_read_alerts_no_one_when_read_later(
    site: Newsroom, start_bot: StartBot
) -> None:
    # A new feed's first read meets a page its site cannot serve just then (a 503, a timeout):
    # the item is read again next round, and is still what the publisher had before, not news.
    bot, before = await ferry_follower(start_bot)
    link = site.fault("ferry.html", status=503)
    service = feed_service(bot.application)
    service.db.add_feed(feed(site, [Item("Zanzibar ferry service resumes", link, RECENT)]), "h", "Harbour")
    await poll_now(bot.application)  # the feed's first read: the page fails
    assert service.db.articles() == []
    story(site, "ferry", "Zanzibar ferry service resumes", FERRY, RECENT)  # the page is served again
    await poll_now(bot.application)
    assert [article.backlog for article in service.db.articles()] == [True]
    assert bot.api.sent("sendMessage", 7)[before:] == []
    answer = (await bot.ask("Zanzibar ferry", user_id=8)).params["text"]
    assert "<b>1. Zanzibar ferry service resumes</b>" in answer


async def test_a_fresh_article_sent_to_add_alerts_its_follower_in_their_language_an_old_link_no_one(
    site: Newsroom, start_bot: StartBot
) -> None:
    bot = await start_bot(**FAST)
    (every_minute,) = bot.application.job_queue.get_jobs_by_name("new articles and alerts")
    every_minute.schedule_removal()  # it too sends alerts: only the /add's own may here
    eruption = "The volcano on the island erupted. The island fled the volcano, whose ash fell on the island."
    followed = (await bot.ask("/follow volcano island", user_id=7, language_code="uk")).params["text"]
    assert followed.startswith("Стежу за")  # the reply is in the reader's language, ...
    before = len(bot.api.sent("sendMessage", 7))
    old = site.put(
        "old.html", article_page("Island volcano wakes", [eruption, *paragraphs("o")], dt.date(2024, 4, 30))
    )
    assert "Added and indexed" in (await bot.ask(f"/add {old}", user_id=ADMIN)).params["text"]
    await settle(bot.application)  # its alerts, if any, follow the reply
    assert bot.api.sent("sendMessage", 7)[before:] == []  # an old link is archive, not news
    fresh = site.put("v.html", article_page("Volcano erupts", [eruption, *paragraphs("v")], RECENT.date()))
    assert "Added and indexed" in (await bot.ask(f"/add {fresh}", user_id=ADMIN)).params["text"]
    (alert,) = (await bot.api.wait_for(chat_id=7, count=before + 1))[before:]
    text = alert.params["text"]
    assert text.startswith(f"<b>Volcano erupts</b>\n{RECENT.date()}\n") and fresh in text
    assert "<i>Ваша тема: volcano island</i> · /following" in text  # ... and so is the alert
    assert (
        (await bot.ask(f"/add {fresh}", user_id=ADMIN)).params["text"].startswith("I have that link already")
    )
    await settle(bot.application)
    assert len(bot.api.sent("sendMessage", 7)) == before + 1  # never twice


async def test_a_slow_topic_match_does_not_hold_up_answers(site: Newsroom, start_bot: StartBot) -> None:
    bot, before = await ferry_follower(start_bot)
    gate, settling = await ferry_match_held(bot, site)
    try:
        other = await bot.ask("Where did the talks collapse?", user_id=12)
        assert "Istanbul" in other.params["text"]
        assert bot.api.sent("sendMessage", 7)[before:] == []  # the match is still running
    finally:
        gate.release.set()
    assert await settling == 1
    (alert,) = bot.api.sent("sendMessage", 7)[before:]
    assert alert.params["text"].startswith("<b>Zanzibar ferry service resumes</b>")


async def test_a_topic_unfollowed_while_it_is_matched_sends_no_alert_on_it(
    site: Newsroom, start_bot: StartBot
) -> None:
    # Matching thousands of topics takes a while, and a reader may /unfollow one meanwhile:
    # "Stopped following" must not be followed by an alert on it.
    bot, before = await ferry_follower(start_bot)
    gate, settling = await ferry_match_held(bot, site)
    try:
        await bot.ask("/unfollow 1", user_id=7)
    finally:
        gate.release.set()
    await settling
    sent = [call.params["text"] for call in bot.api.sent("sendMessage", 7)[before:]]
    assert sent == ["Stopped following “Zanzibar ferry”."]
    assert feed_service(bot.application).db.pending_alerts() == []


async def test_alerts_go_out_while_a_long_round_still_runs(site: Newsroom, start_bot: StartBot) -> None:
    bot = await start_bot(feed_host_delay=0.0, feed_timeout=60.0)
    (every_minute,) = bot.application.job_queue.get_jobs_by_name("new articles and alerts")
    every_minute.schedule_removal()  # it too sends alerts: only the round's own settling may here
    await bot.ask("/follow Zanzibar ferry", user_id=7)
    service = feed_service(bot.application)
    service.settle_during_round = 0.5
    await read_feed(bot, site)
    held = asyncio.Event()
    slow = Item("Slow page", site.fault("slow.html", gate=held), RECENT)  # holds the round until released
    feed(site, [story(site, "ferry", "Zanzibar ferry service resumes", FERRY, RECENT), slow])
    before = len(bot.api.sent("sendMessage", 7))
    polling = asyncio.create_task(poll_now(bot.application))
    try:
        alert = (await bot.api.wait_for("sendMessage", chat_id=7, count=before + 1))[before]
    finally:
        held.set()
    await polling
    assert alert.params["text"].startswith("<b>Zanzibar ferry service resumes</b>")
    assert service.round_ended_at is not None
    assert alert.at + (time.time() - time.monotonic()) < service.round_ended_at  # sent before the round ended


async def test_past_the_hourly_limit_alerts_come_as_one_digest(site: Newsroom, start_bot: StartBot) -> None:
    bot = await start_bot(alerts_per_hour=2, **FAST)
    await bot.ask("/follow Zanzibar ferry", user_id=7)
    await read_feed(bot, site)
    items = [
        story(site, f"f{n}", f"Zanzibar ferry news {n}", f"{FERRY} Report {n}.", RECENT) for n in range(5)
    ]
    service = feed_service(bot.application)
    feed(site, items)
    before = len(bot.api.sent("sendMessage", 7))
    await poll_now(bot.application)
    sent = [call.params["text"] for call in bot.api.sent("sendMessage", 7)[before:]]
    assert len(sent) == 3
    assert sent[2].startswith("<b>3 more new articles on your topics</b>")
    assert sum("You follow: Zanzibar ferry" in text for text in sent[:2]) == 2
    feed(site, [*items, story(site, "f5", "Zanzibar ferry news 5", f"{FERRY} Report 5.", RECENT)])
    await poll_now(bot.application)
    assert len(bot.api.sent("sendMessage", 7)) == before + 3  # the hour is spent: it waits
    assert len(service.db.pending_alerts()) == 1


async def test_alerts_and_digests_are_rendered_off_the_event_loop(
    site: Newsroom, start_bot: StartBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    # an alert of #tags takes up to 3 ms to render and a digest of a backlog of 200 some 12: rendered
    # on the event loop, every chat's updates waited for each reader's alerts and digest together
    on_loop = rendered_where(monkeypatch, "render_alert", "render_digest", module=feed_render)
    bot = await start_bot(alerts_per_hour=2, **FAST)
    await bot.ask("/follow Zanzibar ferry", user_id=7)
    await read_feed(bot, site)
    feed(
        site,
        [story(site, f"f{n}", f"Zanzibar ferry news {n}", f"{FERRY} Report {n}.", RECENT) for n in range(4)],
    )
    before = len(bot.api.sent("sendMessage", 7))
    await poll_now(bot.application)
    sent = [call.params["text"] for call in bot.api.sent("sendMessage", 7)[before:]]
    assert [text.startswith("<b>2 more new articles") for text in sent] == [False, False, True]
    assert sorted(on_loop) == [("render_alert", False)] * 2 + [("render_digest", False)], on_loop


async def test_alerts_and_digests_take_the_language_of_the_readers_last_topic_command(
    site: Newsroom, start_bot: StartBot
) -> None:
    # A reader followed a topic from an English app, then switched it to Russian and listed
    # their topics: the alerts, sent with no message of theirs, are in Russian from then on.
    bot = await start_bot(alerts_per_hour=1, **FAST)
    await bot.ask("/follow Zanzibar ferry", user_id=7)
    listed = (await bot.ask("/following", user_id=7, language_code="ru-RU")).params["text"]
    assert "Zanzibar ferry" in listed and "You follow" not in listed
    await read_feed(bot, site)
    feed(
        site,
        [story(site, f"f{n}", f"Zanzibar ferry news {n}", f"{FERRY} Report {n}.", RECENT) for n in range(3)],
    )
    before = len(bot.api.sent("sendMessage", 7))
    await poll_now(bot.application)
    alert, digest = [call.params["text"] for call in bot.api.sent("sendMessage", 7)[before:]]
    assert "<i>Ваша тема: Zanzibar ferry</i>" in alert
    assert digest.startswith("<b>Ещё 2 новые статьи по вашим темам</b>")
    assert "тема <i>Zanzibar ferry</i>" in digest


async def test_a_backlog_of_alerts_is_read_one_reader_at_a_time_and_not_while_the_limit_holds_it(
    start_bot: StartBot,
) -> None:
    # After a long outage 200 readers have 50 alerts each waiting, and their hour is spent (three
    # alerts and a digest went out just now): the every-minute delivery must neither read those
    # 10,000 alerts nor hold them at once. A reader whose turn it is gets theirs.
    bot = await start_bot()
    service = feed_service(bot.application)
    db = service.db
    articles = [
        db.claim_article(
            url=f"http://n/{n}",
            text_hash=f"h{n}",
            path=f"n/{n}.md",
            title=f"{n}",
            date=RECENT.date(),
            feed_id=None,
        )[1].id
        for n in range(54)
    ]
    readers = range(1000, 1200)
    for user in [*readers, 7]:
        db.follow(user, user, "Zanzibar ferry", ("zanzibar", "ferri"), limit=10)

    def alert(user: int, article: int) -> tuple[int, int, int, str, float, str, str]:
        passage = "Zanzibar ferry " * 70  # about a thousand characters, as an alert's passage may be
        return (user, user, article, "Zanzibar ferry", 0.9, passage, "zanzibar ferri")

    async with service.delivery_lock:  # the every-minute job waits, as it does for any delivery
        backlog = [alert(user, article) for user in readers for article in articles]
        db.queue_alerts([*backlog, *(alert(7, article) for article in articles[:5])], articles)
        queued: dict[int, list[int]] = {}
        for waiting in db.pending_alerts():
            queued.setdefault(waiting.user_id, []).append(waiting.id)
        for user in readers:
            db.mark_sent(queued[user][:3], "alert")
            db.mark_sent(queued[user][3:4], "digest")
        tracemalloc.start()
        assert len(db.pending_alerts()) == 200 * 50 + 5
        held = tracemalloc.get_traced_memory()[1]  # what reading them all takes
        tracemalloc.stop()
        tracemalloc.start()
        sent = await deliver(bot.application.bot, db, per_hour=3)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    texts = [call.params["text"] for call in bot.api.sent("sendMessage", 7)]
    assert sent == 4 and texts[3].startswith("<b>2 more new articles on your topics</b>")
    assert len(db.pending_alerts()) == 200 * 50  # the limit holds the others' back
    assert peak < held / 10, f"delivery held {peak:,} bytes; reading all waiting alerts takes {held:,}"


async def test_a_digest_of_thousands_of_alerts_reads_what_it_shows_and_counts_the_rest(
    start_bot: StartBot,
) -> None:
    # A topic like "the" on a busy feed, or a long outage: 3,000 alerts wait for one reader.
    # Their digest shows what one message holds and says how many more; it read and held all
    # 3,000 (their passages, a thousand characters each) to show a hundred.
    bot = await start_bot()
    db = feed_service(bot.application).db
    db.follow(7, 7, "Zanzibar ferry", ("zanzibar", "ferri"), limit=10)
    articles = [
        db.claim_article(
            url=f"http://n/{n}",
            text_hash=f"h{n}",
            path=f"n/{n}.md",
            title=f"{n}",
            date=RECENT.date(),
            feed_id=None,
        )[1].id
        for n in range(3000)
    ]
    passage = "Zanzibar ferry " * 70
    async with feed_service(bot.application).delivery_lock:  # the every-minute job waits
        db.queue_alerts(
            [(7, 7, a, "Zanzibar ferry", 0.9, passage, "zanzibar ferri") for a in articles], articles
        )
        tracemalloc.start()
        assert len(db.pending_alerts()) == 3000
        held = tracemalloc.get_traced_memory()[1]  # what reading them all takes
        tracemalloc.stop()
        tracemalloc.start()
        sent = await deliver(bot.application.bot, db, per_hour=3)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    *singles, digest = [call.params["text"] for call in bot.api.sent("sendMessage", 7)]
    listed = digest.count("\n• ")
    assert sent == 4 and len(singles) == 3 and 10 < listed < 300
    assert digest.startswith("<b>2997 more new articles on your topics</b>")
    assert digest.endswith(f"… and {2997 - listed} more.")
    assert db.pending_alerts() == []  # each counted in the digest, sent with it
    state = sqlite3.connect(db.path)
    kinds = dict(
        state.execute("SELECT kind, count(*) FROM alerts WHERE user_id = 7 GROUP BY kind").fetchall()
    )
    state.close()
    assert kinds == {"alert": 3, "digest": 2997}
    assert peak < held / 3, f"delivery held {peak:,} bytes; reading all waiting alerts takes {held:,}"


async def test_a_clock_set_back_does_not_hold_a_readers_alerts_until_it_catches_up(
    start_bot: StartBot,
) -> None:
    # The machine's clock ran a day fast and is then set right: the alerts and the digest it
    # recorded "tomorrow" are not in the reader's last hour, and must not hold their alerts for a day.
    bot = await start_bot()
    service = feed_service(bot.application)
    db = service.db
    db.follow(7, 7, "Zanzibar ferry", ("zanzibar", "ferri"), limit=10)

    def queue(count: int) -> None:
        start = len(db.articles())
        for n in range(start, start + count):
            _, article = db.claim_article(
                url=f"http://n/{n}",
                text_hash=f"h{n}",
                path=f"n/{n}.md",
                title=f"Ferry {n}",
                date=RECENT.date(),
                feed_id=None,
            )
            db.queue_alerts(
                [(7, 7, article.id, "Zanzibar ferry", 0.9, "The Zanzibar ferry.", "zanzibar")], [article.id]
            )

    async with service.delivery_lock:  # the every-minute job waits: the clock below is the test's
        queue(4)
        assert await deliver(bot.application.bot, db, per_hour=2) == 3  # two alerts and a digest
        queue(1)
        set_back = time.time() - 24 * 3600
        assert await deliver(bot.application.bot, db, per_hour=2, now=set_back) == 1
    assert db.pending_alerts() == []


async def test_an_alert_whose_answer_is_lost_is_not_sent_again(site: Newsroom, start_bot: StartBot) -> None:
    # Telegram took the alert and the connection dropped before its answer: the reader may have it,
    # so the next delivery (a minute later) must not send it again, as no answer is sent twice.
    bot, before = await ferry_follower(start_bot)
    await read_feed(bot, site)
    ferry_feed(site)
    bot.api.fail("sendMessage", Fault(drop=True, delivered=True))
    await poll_now(bot.application)
    await settle(bot.application)
    alerts = bot.api.sent("sendMessage", 7)[before:]
    assert [call.params["text"].split("\n")[0] for call in alerts] == [
        "<b>Zanzibar ferry service resumes</b>"
    ]
    assert feed_service(bot.application).db.pending_alerts() == []


async def test_an_alert_telegram_surely_did_not_take_waits_and_goes_out_later_as_it_was(
    site: Newsroom, start_bot: StartBot
) -> None:
    # Taken for sending, an alert no longer keeps what its message shows; put back, it has it again.
    bot, before = await ferry_follower(start_bot)
    await read_feed(bot, site)
    ferry_feed(site)
    bot.api.fail("sendMessage", *[Fault()] * 5)  # answered 500 at the first try and every retry
    await poll_now(bot.application)
    assert bot.api.sent("sendMessage", 7)[before:] == []
    await settle(bot.application)
    (alert,) = bot.api.sent("sendMessage", 7)[before:]
    assert "The <b>Zanzibar</b> <b>ferry</b> service resumed" in alert.params["text"]
    assert "You follow: Zanzibar ferry" in alert.params["text"]


async def test_add_is_answered_while_a_delivery_of_alerts_waits_for_telegram(
    site: Newsroom, start_bot: StartBot
) -> None:
    # A delivery to thousands of readers is paced by Telegram's flood limits for minutes. An admin's
    # /add meanwhile gets its "Added" at once; the new article's alerts follow the delivery.
    bot = await start_bot(**FAST)
    for job in bot.application.job_queue.jobs():  # the every-minute job and the feed round 10 s after
        job.schedule_removal()  # the start send alerts too: only the /add's own may send the volcano's
    await bot.ask("/follow Zanzibar ferry", user_id=7)
    await bot.ask("/follow island volcano", user_id=8)
    await read_feed(bot, site)
    ferry_feed(site)
    await fetch_round(options_from(bot.settings))
    before = {chat: len(bot.api.sent("sendMessage", chat)) for chat in (7, 8)}
    service = feed_service(bot.application)
    bot.api.held[7] = asyncio.Event()  # Telegram holds the ferry alert's answer
    settling = asyncio.create_task(settle(bot.application))
    try:
        await until(lambda: service.db.unmatched_articles() == [] and service.db.pending_alerts() == [])
        page = article_page("Volcano erupts", [ERUPTION, *paragraphs("v", count=2)], RECENT.date())
        url = site.put("v.html", page)
        reply = (await bot.ask(f"/add {url}", user_id=ADMIN)).params["text"]
        assert reply.startswith("Added and indexed:\n<b>Volcano erupts</b>")
        assert bot.api.sent("sendMessage", 7)[before[7] :] == []  # the delivery still waits
    finally:
        bot.api.held[7].set()
    await settling
    (ferry,) = (await bot.api.wait_for(chat_id=7, count=before[7] + 1))[before[7] :]
    assert ferry.params["text"].startswith("<b>Zanzibar ferry service resumes</b>")
    (volcano,) = (await bot.api.wait_for(chat_id=8, count=before[8] + 1, timeout=60))[before[8] :]
    assert volcano.params["text"].startswith("<b>Volcano erupts</b>")


async def test_two_bots_started_on_one_state_file_send_an_alert_once(start_bot: StartBot) -> None:
    # A second bot started by mistake on the same STATE_DIR delivers from the same waiting alerts:
    # whichever takes an alert first sends it, and the other leaves it.
    bot = await start_bot()
    service = feed_service(bot.application)
    second = StateDB(service.db.path)
    service.db.follow(7, 7, "Zanzibar ferry", ("zanzibar", "ferri"), limit=10)
    _, article = service.db.claim_article(
        url="http://n/1", text_hash="h1", path="n/1.md", title="Ferry", date=RECENT.date(), feed_id=None
    )
    alert = (7, 7, article.id, "Zanzibar ferry", 0.9, "The Zanzibar ferry sailed.", "zanzibar ferri")
    service.db.queue_alerts([alert], [article.id])
    async with service.delivery_lock:  # the every-minute job waits: the two deliveries below race
        sent = await asyncio.gather(
            deliver(bot.application.bot, service.db, per_hour=3),
            deliver(bot.application.bot, second, per_hour=3),
        )
    assert sorted(sent) == [0, 1]
    assert len(bot.api.sent("sendMessage", 7)) == 1


async def test_a_stopping_bot_takes_no_other_alert_and_leaves_the_rest_for_the_next_start(
    start_bot: StartBot,
) -> None:
    # Telegram's flood limits pace a delivery to thousands of readers for minutes, past a
    # stop's grace: a stopping bot ends the delivery after the message on its way.
    bot = await start_bot()
    service = feed_service(bot.application)
    db = service.db
    _, article = db.claim_article(
        url="http://n/1", text_hash="h1", path="n/1.md", title="Ferry", date=RECENT.date(), feed_id=None
    )
    readers = range(1000, 1010)
    for user in readers:
        db.follow(user, user, "Zanzibar ferry", ("zanzibar", "ferri"), limit=10)
    passage = "The Zanzibar ferry sailed."
    db.queue_alerts(
        [(user, user, article.id, "Zanzibar ferry", 0.9, passage, "zanzibar ferri") for user in readers],
        [article.id],
    )
    answer = asyncio.Event()  # Telegram holds the answer to the first alert, whoever's it is
    for user in readers:
        bot.api.held[user] = answer
    settling = asyncio.create_task(settle(bot.application))
    try:
        await until(lambda: len(db.pending_alerts()) == len(readers) - 1)  # one is on its way
        await bot.application.updater.stop()
        stopped = asyncio.create_task(bot.application.stop())
        await until(lambda: not bot.application.running)
    finally:
        answer.set()
    await settling
    await stopped
    assert sum(len(bot.api.sent("sendMessage", user)) for user in readers) == 1
    assert len(db.pending_alerts()) == len(readers) - 1  # sent after the next start


async def test_a_user_who_blocked_the_bot_loses_their_topics(
    site: Newsroom, start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await start_bot(**FAST)
    await bot.ask("/follow Zanzibar ferry", user_id=7)
    await bot.ask("/follow Zanzibar ferry", user_id=8)
    bot.api.blocked.add(7)
    service = feed_service(bot.application)
    await read_feed(bot, site)
    ferry_feed(site)
    await poll_now(bot.application)
    assert [topic.user_id for topic in service.db.topics()] == [8]
    assert "user 7 blocked the bot" in caplog.text
    assert any("Zanzibar" in call.params["text"] for call in bot.api.sent("sendMessage", 8))
    assert service.db.pending_alerts() == []


async def test_a_reader_who_blocked_the_bot_leaves_only_the_record_of_alerts_sent(
    site: Newsroom, start_bot: StartBot
) -> None:
    # README: a reader who blocks the bot loses their topics, their language and the alerts
    # waiting; the record of those sent stays (their ids, the article, when, how), and nothing
    # of the passage an alert waiting held stays in the file, free space and log included.
    bot = await start_bot(**FAST)
    await bot.ask("/follow Zanzibar ferry", user_id=7, language_code="uk")
    await read_feed(bot, site)
    first = story(site, "ferry", "Zanzibar ferry service resumes", FERRY, RECENT)
    feed(site, [first])
    await poll_now(bot.application)
    texts = [call.params["text"] for call in bot.api.sent("sendMessage", 7)]
    assert any(text.startswith("<b>Zanzibar ferry service resumes</b>") for text in texts)  # sent
    bot.api.blocked.add(7)
    waiting = {  # two alerts waiting as the first of them meets the block: one taken, one left
        "night": ("Zanzibar ferry adds a night crossing", "The night crossing to Pemba carried pilgrims."),
        "cargo": ("Zanzibar ferry takes cargo again", "Lorries of cloves and coconuts boarded at dawn."),
    }
    stories = [
        story(site, slug, title, f"{FERRY} {extra}", RECENT) for slug, (title, extra) in waiting.items()
    ]
    feed(site, [first, *stories])
    await poll_now(bot.application)
    await settle(bot.application)
    db = sqlite3.connect(bot.settings.state_dir / "newsbot.sqlite3", isolation_level=None)
    assert db.execute("SELECT count(*) FROM topics").fetchone() == (0,)
    assert db.execute("SELECT count(*) FROM readers").fetchone() == (0,)
    alerts = db.execute(
        "SELECT a.user_id, a.chat_id, r.title, a.kind, a.topic, a.passage, a.terms FROM alerts a"
        " JOIN articles r ON r.id = a.article_id ORDER BY a.id"
    ).fetchall()
    assert sorted(alerts) == [
        (7, 7, "Zanzibar ferry adds a night crossing", "dropped", "", "", ""),
        (7, 7, "Zanzibar ferry service resumes", "alert", "", "", ""),  # sent: never sent again
        (7, 7, "Zanzibar ferry takes cargo again", "dropped", "", "", ""),
    ]
    assert db.execute("SELECT count(*) FROM alert_topics").fetchone() == (0,)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    state_files = list(bot.settings.state_dir.glob("newsbot.sqlite3*"))
    for _, extra in waiting.values():
        assert not any(extra.encode() in path.read_bytes() for path in state_files), extra


async def test_a_round_past_feed_round_seconds_is_cut_short_and_what_arrived_is_answered(
    site: Newsroom, start_bot: StartBot
) -> None:
    # a feed that never answered held the bot's round for its whole FEED_TIMEOUT (up to 10
    # minutes), the next rounds skipped as "already running", and the ferry article the other
    # feed brought was indexed only once the round ended
    stalled = await Newsroom("127.0.0.2").start()
    try:
        overrides = {**FAST, "feed_timeout": 600.0, "feed_round_seconds": 2.0}
        bot = await start_bot(feed_private_networks="127.0.0.0/8", **overrides)
        silent = stalled.fault("silent.xml", gate=asyncio.Event())  # never answers
        db = feed_service(bot.application).db
        db.add_feed(silent, "silent", None)
        db.add_feed(ferry_feed(site), "harbour", None)
        report = await poll_now(bot.application)
    finally:
        await stalled.stop()
    assert report is not None and len(report.saved) == 1
    assert report.problems == [f"feed silent ({silent}): left for the next round, this one's time being up"]
    assert "Zanzibar ferry service resumes" in (await bot.ask("Zanzibar ferry")).params["text"]


async def test_new_articles_wait_for_an_admins_reload_and_never_reload_alongside_it(
    site: Newsroom, start_bot: StartBot, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    bot = await start_bot(**FAST)
    (bot.corpus / "bulk").mkdir()
    generate_corpus(bot.corpus / "bulk", passages=4000, seed=3)  # for the admin's reload to take a while
    service = feed_service(bot.application)
    service.db.add_feed(ferry_feed(site), "h", None)
    await fetch_round(options_from(bot.settings))  # as `newsbot fetch` would
    bot.api.push_message("/reload", user_id=ADMIN)
    await until(lambda: state(bot).reloads.running)
    settling = asyncio.create_task(settle(bot.application))
    (report,) = await bot.api.wait_for("sendMessage", chat_id=ADMIN, timeout=120)
    assert "Corpus reloaded" in report.params["text"]
    await until(lambda: state(bot).reloads.running)  # the update for the new articles ...
    bot.api.push_message("/reload", user_id=ADMIN)  # ... and an admin's reload meanwhile: it waits
    waiting, second = (await bot.api.wait_for("sendMessage", chat_id=ADMIN, count=3, timeout=120))[1:]
    assert waiting.params["text"].startswith("A reload is already running; yours starts when it ends")
    assert "Corpus reloaded" in second.params["text"]
    await settling
    assert "Zanzibar" in (await bot.ask("Zanzibar ferry")).params["text"]
    assert caplog.text.index("reloaded:") < caplog.text.index("indexed new articles")
    # the update's line counts from what the reload it waited for served, not from before it
    reloaded = re.search(r"reloaded: \(\d+, \d+\) -> (\(\d+, \d+\))", caplog.text)
    indexed = re.search(r"indexed new articles: (\(\d+, \d+\)) -> ", caplog.text)
    assert reloaded is not None and indexed is not None
    assert indexed.group(1) == reloaded.group(1)


async def test_an_unfollow_handed_out_again_after_a_hard_kill_is_answered_not_applied_twice(
    start_bot: StartBot,
) -> None:
    # Telegram hands out again the updates a killed bot had not confirmed, answered or not:
    # "/unfollow 1" applied twice dropped the next topic too
    bot = await start_bot()
    for words in ("Zanzibar ferry", "volcano", "grain exports"):
        await bot.ask(f"/follow {words}", user_id=7)
    before = len(bot.api.sent("sendMessage", 7))
    for _ in range(2):
        bot.api.push_message("/unfollow 1", user_id=7, message_id=900)
    replies = await bot.api.wait_for("sendMessage", chat_id=7, count=before + 2)
    assert [r.params["text"] for r in replies[before:]] == ["Stopped following “Zanzibar ferry”."] * 2
    listing = (await bot.ask("/following", user_id=7)).params["text"]
    assert "1. volcano\n2. grain exports" in listing
    assert (await bot.ask("/unfollow 1", user_id=7)).params["text"] == "Stopped following “volcano”."


async def test_unfollow_n_sent_twice_stops_the_topic_following_showed_as_n_once(start_bot: StartBot) -> None:
    # N was read against the topics as they were at the command: a double tap of "/unfollow 1"
    # (or one sent again on a slow network, a new message each) stopped "grain exports", then
    # "volcano eruption", which had become 1, and the reader followed nothing
    bot = await start_bot()
    await bot.ask("/follow grain exports", user_id=7)
    await bot.ask("/follow volcano eruption", user_id=7)
    assert "1. grain exports\n2. volcano eruption" in (await bot.ask("/following", user_id=7)).params["text"]
    before = len(bot.api.sent("sendMessage", 7))
    bot.api.push_message("/unfollow 1", user_id=7)
    bot.api.push_message("/unfollow 1", user_id=7)
    replies = await bot.api.wait_for("sendMessage", chat_id=7, count=before + 2)
    assert [r.params["text"] for r in replies[before:]] == [
        "Stopped following “grain exports”.",
        "You no longer follow topic 1 of the list /following last showed you."
        " /following shows your topics as they are now.",
    ]
    assert "1. volcano eruption" in (await bot.ask("/following", user_id=7)).params["text"]
    ukrainian = (await bot.ask("/unfollow 2", user_id=7, language_code="uk")).params["text"]
    assert ukrainian.startswith("Використання: /unfollow N, де N від 1 до 1 ")  # as /following shows it now


async def test_a_topic_followed_after_following_takes_the_next_number_of_its_list(
    start_bot: StartBot,
) -> None:
    # numbered after the topics /following showed, as a feed added after /feeds is: the list
    # shown keeps its numbers, whatever was stopped or followed since
    bot = await start_bot()
    for words in ("Zanzibar ferry", "volcano", "grain exports"):
        await bot.ask(f"/follow {words}", user_id=7)
    await bot.ask("/following", user_id=7)
    assert (await bot.ask("/unfollow 3", user_id=7)).params["text"] == "Stopped following “grain exports”."
    await bot.ask("/follow harbour strike", user_id=7)  # the newest topic's place: not its number 3
    assert "from 1 to 4" in (await bot.ask("/unfollow 5", user_id=7)).params["text"]
    gone = (await bot.ask("/unfollow 3", user_id=7, language_code="ru")).params["text"]
    assert gone.startswith("Вы больше не следите за темой 3")
    assert (await bot.ask("/unfollow 4", user_id=7)).params["text"] == "Stopped following “harbour strike”."
    assert (await bot.ask("/unfollow 2", user_id=7)).params["text"] == "Stopped following “volcano”."
    assert "1. Zanzibar ferry\n" in (await bot.ask("/following", user_id=7)).params["text"]


async def test_unfollow_n_means_the_topic_following_showed_as_n_after_a_restart(start_bot: StartBot) -> None:
    first = await start_bot()
    for words in ("Zanzibar ferry", "volcano"):
        await first.ask(f"/follow {words}", user_id=7)
    await first.ask("/following", user_id=7)
    await first.ask("/unfollow 1", user_id=7)
    await first.application.updater.stop()
    await first.application.stop()
    second = await start_bot()  # the same state file
    again = (await second.ask("/unfollow 1", user_id=7)).params["text"]
    assert again.startswith("You no longer follow topic 1 of the list /following last showed you.")
    assert (await second.ask("/unfollow 2", user_id=7)).params["text"] == "Stopped following “volcano”."


async def test_the_reply_to_an_unfollow_is_forgotten_after_a_day_though_no_command_follows(
    start_bot: StartBot,
) -> None:
    # README: the state file keeps the reply to each /unfollow N, which names the topic it
    # dropped, for 25 hours: Telegram hands out an update for 24 hours at most, so a reply
    # older cannot be asked for again (it was kept a week). Replies due to go were forgotten
    # only as the next /unfollow or /feeds remove was recorded: on a quiet bot the topic one
    # names stayed in the file for good, after its reader had stopped following it.
    bot = await start_bot()
    await bot.ask("/follow Zanzibar ferry", user_id=7)
    await bot.ask("/unfollow 1", user_id=7)
    db = sqlite3.connect(bot.settings.state_dir / DB_NAME, isolation_level=None)
    assert db.execute("SELECT reply FROM commands_done").fetchall() == [
        ("Stopped following “Zanzibar ferry”.",)
    ]
    db.execute("UPDATE commands_done SET done_at = done_at - ?", (24 * 3600,))
    await settle(bot.application)  # the every-minute job, a day on: kept, Telegram may hand it out
    assert db.execute("SELECT count(*) FROM commands_done").fetchone() == (1,)
    db.execute("UPDATE commands_done SET done_at = done_at - ?", (3600 + 60,))  # 25 hours have passed
    await settle(bot.application)
    assert db.execute("SELECT count(*) FROM commands_done").fetchone() == (0,)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    for path in bot.settings.state_dir.glob(f"{DB_NAME}*"):
        assert b"Zanzibar ferry" not in path.read_bytes(), path.name


async def test_a_feed_removal_handed_out_again_after_a_hard_kill_removes_no_other_feed(
    site: Newsroom, start_bot: StartBot
) -> None:
    bot = await start_bot(feed_interval=0, **FAST)
    for number, name in enumerate(["Harbour Times", "Island Post", "Reef Gazette"]):
        item = story(site, "ferry", "Zanzibar ferry service resumes", FERRY)
        url = feed(site, [item], f"{number}.xml", name)
        assert name in (await bot.ask(f"/feeds add {url}", user_id=ADMIN)).params["text"]
    first = (await bot.ask("/feeds remove 1", user_id=ADMIN, message_id=900)).params["text"]
    assert first.startswith("Removed feed 1: Harbour Times.")
    again = (await bot.ask("/feeds remove 1", user_id=ADMIN, message_id=900)).params["text"]
    assert again == first
    before = len(bot.api.sent("sendMessage", ADMIN))
    for _ in range(2):  # two copies at once: /feeds runs beside a chat's other updates
        bot.api.push_message("/feeds remove 1", user_id=ADMIN, message_id=901)
    replies = await bot.api.wait_for("sendMessage", chat_id=ADMIN, count=before + 2)
    copies = [r.params["text"] for r in replies[before:]]
    assert copies[0].startswith("Removed feed 1: Island Post.") and copies[1] == copies[0]
    listing = (await bot.ask("/feeds", user_id=ADMIN)).params["text"]
    assert "1. <b>Reef Gazette</b>" in listing and "2. " not in listing


async def test_two_admins_removing_the_feed_they_were_shown_as_1_remove_it_once(
    site: Newsroom, start_bot: StartBot
) -> None:
    # each removed "feed 1" as the list stood when their command came: the second admin's
    # /feeds remove 1 removed Island Post, which had become feed 1, and not Harbour Times
    other = 4242
    bot = await start_bot(feed_interval=0, admin_ids=frozenset({ADMIN, other}), **FAST)
    db = feed_service(bot.application).db
    three_feeds(site, db)
    for admin in (ADMIN, other):
        assert "1. <b>Harbour Times</b>" in (await bot.ask("/feeds", user_id=admin)).params["text"]
    first = (await bot.ask("/feeds remove 1", user_id=ADMIN)).params["text"]
    assert first.startswith("Removed feed 1: Harbour Times.")
    second = (await bot.ask("/feeds remove 001", user_id=other)).params["text"]
    assert (
        second
        == "Feed 1 of the list /feeds last showed you is gone already. /feeds shows the list as it is now."
    )
    third = (await bot.ask("/feeds remove 3", user_id=other)).params["text"]
    assert third.startswith("Removed feed 3: Reef Gazette.")  # as that admin was shown it
    listing = (await bot.ask("/feeds", user_id=other)).params["text"]
    assert "1. <b>Island Post</b>" in listing and "2. " not in listing
    assert (
        (await bot.ask("/feeds remove 1", user_id=other))
        .params["text"]
        .startswith("Removed feed 1: Island Post.")
    )


async def test_an_admin_who_adds_a_feed_after_a_listing_removes_it_by_the_number_the_add_gave(
    site: Newsroom, start_bot: StartBot
) -> None:
    other = 4242
    bot = await start_bot(feed_interval=0, admin_ids=frozenset({ADMIN, other}), **FAST)
    db = feed_service(bot.application).db
    for number, name in enumerate(["Harbour Times", "Island Post"]):
        db.add_feed(feed(site, [], f"{number}.xml", name), slug_of(name), name)
    assert "2. <b>Island Post</b>" in (await bot.ask("/feeds", user_id=ADMIN)).params["text"]
    assert (await bot.ask("/feeds remove 1", user_id=other)).params["text"].startswith("Removed feed 1:")
    url = feed(site, [story(site, "ferry", "Zanzibar ferry service resumes", FERRY)], "2.xml", "Reef Gazette")
    added = (await bot.ask(f"/feeds add {url}", user_id=ADMIN)).params["text"]
    assert added.startswith("Added feed 2: Reef Gazette")
    removed = (await bot.ask("/feeds remove 2", user_id=ADMIN)).params["text"]
    assert removed.startswith("Removed feed 2: Reef Gazette.")


async def test_feeds_remove_n_after_a_restart_removes_the_feed_the_admin_was_shown_as_n(
    site: Newsroom, start_bot: StartBot
) -> None:
    # the numbers /feeds gave were kept in memory alone: after a restart, /feeds remove 2
    # removed the feed that was 2 now (Reef Gazette, once another admin had removed Harbour
    # Times), not the one the admin was shown as 2 (Island Post)
    first = await start_bot(feed_interval=0, **FAST)
    db = feed_service(first.application).db
    three_feeds(site, db)
    assert "2. <b>Island Post</b>" in (await first.ask("/feeds", user_id=ADMIN)).params["text"]
    db.remove_feed(db.feeds()[0].id)  # another admin, or `newsbot feeds remove 1`
    await first.application.updater.stop()
    await first.application.stop()
    second = await start_bot(feed_interval=0, **FAST)  # the same state file
    removed = (await second.ask("/feeds remove 2", user_id=ADMIN)).params["text"]
    assert removed.startswith("Removed feed 2: Island Post.")
    gone = (await second.ask("/feeds remove 1", user_id=ADMIN)).params["text"]
    assert gone.startswith("Feed 1 of the list /feeds last showed you is gone already.")


async def test_the_numbers_feeds_gave_in_one_chat_are_not_those_of_another(
    site: Newsroom, start_bot: StartBot
) -> None:
    # one list for all an admin's chats: a /feeds in a group renumbered what the same admin's
    # /feeds remove N meant in their private chat
    bot = await start_bot(feed_interval=0, **FAST)
    db = feed_service(bot.application).db
    three_feeds(site, db)
    assert "1. <b>Harbour Times</b>" in (await bot.ask("/feeds", user_id=ADMIN)).params["text"]
    db.remove_feed(db.feeds()[0].id)
    group = {"chat_id": -100, "chat_type": "supergroup"}
    assert "1. <b>Island Post</b>" in (await bot.ask("/feeds", user_id=ADMIN, **group)).params["text"]
    private = (await bot.ask("/feeds remove 2", user_id=ADMIN)).params["text"]
    assert private.startswith("Removed feed 2: Island Post.")  # as the private chat's list numbered it
    in_group = (await bot.ask("/feeds remove 2", user_id=ADMIN, **group)).params["text"]
    assert in_group.startswith("Removed feed 2: Reef Gazette.")  # as the group's did


SUPERGROUP = {"chat_id": -1001234, "chat_type": "supergroup"}
"""The supergroup that the group -100 becomes (`FakeBotApi.migrated`)."""


async def test_feeds_remove_n_in_a_group_become_supergroup_means_the_list_feeds_showed_in_the_group(
    site: Newsroom, start_bot: StartBot
) -> None:
    # the numbers /feeds gave in a group were kept under the group's id: once it became a
    # supergroup, whose messages come from another id, /feeds remove 1 there removed the feed
    # that was 1 now (Island Post), not the one the admin was shown as 1 (Harbour Times, gone)
    first = await start_bot(feed_interval=0, **FAST)
    db = feed_service(first.application).db
    three_feeds(site, db)
    group = {"chat_id": -100, "chat_type": "group"}
    assert "1. <b>Harbour Times</b>" in (await first.ask("/feeds", user_id=ADMIN, **group)).params["text"]
    db.remove_feed(db.feeds()[0].id)  # another admin, or `newsbot feeds remove 1`
    # Telegram upgrades the group, and says so in each of the two chats
    first.api.migrated[-100] = -1001234
    first.api.push_message(user_id=ADMIN, migrate_to_chat_id=-1001234, **group)
    first.api.push_message(user_id=ADMIN, migrate_from_chat_id=-100, **SUPERGROUP)
    gone = (await first.ask("/feeds remove 1", user_id=ADMIN, **SUPERGROUP)).params["text"]
    assert gone.startswith("Feed 1 of the list /feeds last showed you is gone already.")
    await first.application.updater.stop()
    await first.application.stop()
    second = await start_bot(feed_interval=0, **FAST)  # the same state file
    removed = (await second.ask("/feeds remove 3", user_id=ADMIN, **SUPERGROUP)).params["text"]
    assert removed.startswith("Removed feed 3: Reef Gazette.")  # as the group's list numbered it


async def test_a_feeds_list_telegram_took_in_the_supergroup_numbers_feeds_remove_n_there(
    site: Newsroom, start_bot: StartBot
) -> None:
    # /feeds sent in a group as it became a supergroup: its list went to the supergroup (Telegram
    # refused it in the group), but the numbers it gave were kept under the group's id, and
    # /feeds remove 1 in the supergroup removed the feed that was 1 now, not the one shown as 1
    bot = await start_bot(feed_interval=0, **FAST)
    db = feed_service(bot.application).db
    three_feeds(site, db)
    bot.api.migrated[-100] = -1001234  # no word of it yet but Telegram's refusal
    bot.api.push_message("/feeds", user_id=ADMIN, chat_id=-100, chat_type="group")
    (listing,) = await bot.api.wait_for("sendMessage", chat_id=-1001234)
    assert "1. <b>Harbour Times</b>" in listing.params["text"]
    db.remove_feed(db.feeds()[0].id)
    gone = (await bot.ask("/feeds remove 1", user_id=ADMIN, **SUPERGROUP)).params["text"]
    assert gone.startswith("Feed 1 of the list /feeds last showed you is gone already.")


async def test_a_feeds_list_asked_in_a_group_after_its_move_numbers_feeds_remove_n_in_the_supergroup(
    site: Newsroom, start_bot: StartBot
) -> None:
    # a question's answer refused in the group moved its lists; a /feeds sent there as it was
    # upgraded, handled after, kept its list under the group's id (its answer went straight to
    # the supergroup), and /feeds remove 1 in the supergroup removed the feed that was 1 now
    bot = await start_bot(feed_interval=0, **FAST)
    db = feed_service(bot.application).db
    three_feeds(site, db)
    group = {"chat_id": -100, "chat_type": "group"}
    bot.api.migrated[-100] = -1001234
    bot.api.push_message("@news_test_bot Istanbul", user_id=7, **group)  # refused: the move is known
    await bot.api.wait_for("sendMessage", chat_id=-1001234)
    bot.api.push_message("/feeds", user_id=ADMIN, **group)
    listing = (await bot.api.wait_for("sendMessage", chat_id=-1001234, count=2))[1]
    assert "1. <b>Harbour Times</b>" in listing.params["text"]
    db.remove_feed(db.feeds()[0].id)
    gone = (await bot.ask("/feeds remove 1", user_id=ADMIN, **SUPERGROUP)).params["text"]
    assert gone.startswith("Feed 1 of the list /feeds last showed you is gone already.")


def slug_of(name: str) -> str:
    return name.lower().replace(" ", "-")


def three_feeds(site: Newsroom, db: StateDB) -> None:
    """Harbour Times, Island Post and Reef Gazette, listed in that order, with no items."""
    for number, name in enumerate(["Harbour Times", "Island Post", "Reef Gazette"]):
        db.add_feed(feed(site, [], f"{number}.xml", name), slug_of(name), name)


async def test_indexing_that_keeps_failing_is_tried_ever_less_often_and_an_admins_reload_at_once(
    site: Newsroom, start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    # While indexing new articles failed (here the corpus folder is gone, a share unmounted),
    # every minute's settle started another indexing child, which failed again.
    bot = await start_bot(feed_interval=0, **FAST)
    (every_minute,) = bot.application.job_queue.get_jobs_by_name("new articles and alerts")
    every_minute.schedule_removal()  # the settles are run by hand below

    def failures() -> int:
        return sum("could not index new articles" in record.getMessage() for record in caplog.records)

    feed_service(bot.application).db.add_feed(ferry_feed(site), "h", None)
    await fetch_round(options_from(bot.settings))  # as `newsbot fetch` would
    away = bot.corpus.rename(bot.corpus.with_name("away"))
    for _ in range(4):
        await settle(bot.application)
    assert failures() == 2  # the first settle's, and the next one's; then it waits two minutes
    away.rename(bot.corpus)
    reply = await bot.ask("/reload", user_id=ADMIN)  # not held back by the wait
    assert "Corpus reloaded" in reply.params["text"]
    await settle(bot.application)  # the articles are served: the wait is over
    assert "Zanzibar" in (await bot.ask("Zanzibar ferry")).params["text"]
    feed_service(bot.application).db.add_feed(
        feed(site, [story(site, "v", "Volcano", VOLCANO)], "v.xml"), "v", None
    )
    await fetch_round(options_from(bot.settings))
    away = bot.corpus.rename(bot.corpus.with_name("away"))
    for _ in range(2):
        await settle(bot.application)
    assert failures() == 4  # counted from one again


def notices(bot: RunningBot, chat_id: int = ADMIN) -> list[str]:
    """The feed notices sent to an admin's private chat, oldest first."""
    sent = [call.params["text"] for call in bot.api.sent(chat_id=chat_id)]
    return [text for text in sent if "The feed" in text or "Стрічка" in text]


async def test_a_feed_failing_round_after_round_is_told_to_the_admins_once_and_again_when_it_reads(
    site: Newsroom, start_bot: StartBot
) -> None:
    # a feed that went dead (a moved address, a site down) was shown failing in /feeds alone,
    # which no one reads every day: it brought nothing in, unseen, for weeks
    other, stranger = 4242, 5  # the stranger is told first: the refusal must cost the others nothing
    bot = await start_bot(feed_notify_after=3, admin_ids=frozenset({ADMIN, other, stranger}), **FAST)
    bot.api.unknown_chats.add(stranger)  # an admin who never wrote to the bot: Telegram refuses
    address = feed(site, [story(site, "ferry", "Ferry", FERRY)], title="Harbour Times")
    feed_service(bot.application).db.add_feed(address, "harbour", None)
    await poll_now(bot.application)
    site.remove("feed.xml")  # 404 from now on
    for _ in range(2):
        await poll_now(bot.application)
    assert notices(bot) == []  # two rounds failing: perhaps a blip
    await poll_now(bot.application)
    (told,) = notices(bot)
    assert told.startswith("⚠️ The feed <b>Harbour Times</b> failed 3 rounds in a row: 404 Not Found")
    assert notices(bot, other) == [told]
    await poll_now(bot.application)
    await settle(bot.application)
    assert notices(bot) == [told]  # told once, not at every round or minute after
    feed(site, [story(site, "ferry", "Ferry", FERRY)], title="Harbour Times")
    await poll_now(bot.application)
    assert notices(bot) == [told, "✅ The feed <b>Harbour Times</b> reads again."]
    assert len(notices(bot, other)) == 2
    await settle(bot.application)
    assert len(notices(bot)) == 2


async def test_a_feed_notice_telegram_could_not_take_goes_out_at_the_next_look(
    site: Newsroom, start_bot: StartBot
) -> None:
    # recorded as told before it went, a notice that a network fault kept from an admin was
    # lost for good: that admin never learnt that the feed had gone dead
    other = 4242
    bot = await start_bot(feed_notify_after=1, admin_ids=frozenset({ADMIN, other}), **FAST)
    for job in bot.application.job_queue.jobs():  # the test's own looks alone
        job.schedule_removal()
    feed_service(bot.application).db.add_feed(site.url("gone.xml"), "harbour", None)
    bot.api.fail("sendMessage", *[Fault()] * 5)  # the first admin's: 500 at the first try and every retry
    await poll_now(bot.application)
    assert notices(bot) == []
    (told,) = notices(bot, other)  # the refusal costs the other admin nothing
    assert told.startswith("⚠️ The feed <b>harbour</b> failed 1 round in a row: 404 Not Found")
    await settle(bot.application)
    assert notices(bot) == [told]
    await settle(bot.application)
    assert (notices(bot), notices(bot, other)) == ([told], [told])  # each told once


async def test_a_feed_notice_is_in_the_language_of_the_admins_app(
    site: Newsroom, start_bot: StartBot
) -> None:
    bot = await start_bot(feed_notify_after=1, **FAST)
    await bot.ask("/feeds", user_id=ADMIN, language_code="uk")  # the language their app has
    feed_service(bot.application).db.add_feed(site.url("gone.xml"), "harbour", None)
    await poll_now(bot.application)
    (told,) = notices(bot)
    assert told.startswith("⚠️ Стрічка <b>harbour</b> не читається 1 раз поспіль: 404 Not Found")


async def test_an_admin_who_blocked_the_bot_is_forgotten_at_the_feed_notice_refused(
    site: Newsroom, start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    # README: a reader who blocks the bot loses their topics and their language once Telegram
    # refuses them something; a feed notice refused so (403) forgets an admin as an alert does,
    # where it kept their topics until an alert met the block. Another admin is told.
    other = 4242
    bot = await start_bot(feed_notify_after=1, admin_ids=frozenset({ADMIN, other}), **FAST)
    await bot.ask("/follow Zanzibar ferry", user_id=ADMIN, language_code="uk")
    bot.api.blocked.add(ADMIN)
    feed_service(bot.application).db.add_feed(site.url("gone.xml"), "harbour", None)
    await poll_now(bot.application)
    assert len(notices(bot, other)) == 1
    state = sqlite3.connect(bot.settings.state_dir / DB_NAME)
    assert state.execute("SELECT * FROM topics").fetchall() == []
    assert state.execute("SELECT * FROM readers").fetchall() == []
    assert f"user {ADMIN} blocked the bot" in caplog.text


async def test_a_failing_feeds_last_error_is_told_in_the_language_of_whoever_asks(
    site: Newsroom, start_bot: StartBot
) -> None:
    # the error was stored as English text, and /feeds showed it so in a Ukrainian sentence
    bot = await start_bot(**FAST)
    page = site.put("moved.xml", "<html><body><p>We moved our feed.</p></body></html>")
    feed_service(bot.application).db.add_feed(page, "harbour", None)
    await poll_now(bot.application)
    ukrainian = (await bot.ask("/feeds", user_id=ADMIN, language_code="uk")).params["text"]
    assert "збій 1 раз поспіль: це HTML, а не стрічка" in ukrainian
    russian = (await bot.ask("/feeds", user_id=ADMIN, language_code="ru")).params["text"]
    assert "сбой 1 раз подряд: это HTML, а не лента" in russian
    english = (await bot.ask("/feeds", user_id=ADMIN)).params["text"]
    assert "failing, 1 round in a row: HTML, not a feed" in english
    assert feed_service(bot.application).db.feeds()[0].error == "HTML, not a feed"  # the CLI's and the log's


async def test_a_feeds_unexpected_failure_is_told_in_the_language_of_whoever_asks(
    site: Newsroom, start_bot: StartBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a failure no reason foresaw was stored as English alone: "збій 1 раз поспіль: unexpected ...".
    # No feed known makes the feed reader fail so any more: a fault of its own stands for one,
    # in a round run here (the bot's run in a child process, which the fault would not reach)
    bot = await start_bot(**FAST)
    feed_service(bot.application).db.add_feed(ferry_feed(site), "harbour", None)

    def broken(*args: object, **kwargs: object) -> object:
        raise ValueError("a fault of the feed reader's")

    monkeypatch.setattr(feedparser, "parse", broken)
    report = await fetch_round(options_from(bot.settings))
    assert report.problems == [
        f"feed harbour ({site.url('feed.xml')}): unexpected ValueError: a fault of the feed reader's"
    ]
    ukrainian = (await bot.ask("/feeds", user_id=ADMIN, language_code="uk")).params["text"]
    assert "збій 1 раз поспіль: неочікувана помилка ValueError" in ukrainian
    russian = (await bot.ask("/feeds", user_id=ADMIN, language_code="ru")).params["text"]
    assert "сбой 1 раз подряд: непредвиденная ошибка ValueError" in russian
    english = (await bot.ask("/feeds", user_id=ADMIN)).params["text"]
    assert "failing, 1 round in a row: unexpected ValueError" in english
    assert feed_service(bot.application).db.feeds()[0].error == "unexpected ValueError"  # the CLI's


async def test_a_feed_whose_namespace_name_holds_a_no_break_space_is_read_and_its_problem_told(
    site: Newsroom, start_bot: StartBot
) -> None:
    # Python's XML reader splits an element's name from its namespace's at any whitespace, and
    # the feed reader raised ValueError on the pieces: the feed failed every round as an
    # "unexpected ValueError", none of its articles read, for one odd character of its publisher's
    bot = await start_bot(**FAST)
    ferry = story(site, "ferry", "Ferry", FERRY)
    ferry = Item(ferry.title, ferry.link, ferry.date, content=f"<p>{FERRY}</p>")  # its <content:encoded>
    volcano = story(site, "volcano", "Volcano erupts", VOLCANO)
    document = rss("Harbour Times", [ferry, volcano])
    document = document.replace(b"/modules/content/", "/modules/\u00a0content/".encode())
    feed_service(bot.application).db.add_feed(site.put("odd.xml", document, RSS), "harbour", None)
    report = await poll_now(bot.application)
    assert report is not None and len(report.saved) == 2
    (problem,) = report.problems
    assert "malformed XML (<unknown>:1:" in problem and "has whitespace in its name" in problem
    assert "2 items read anyway" in problem
    (row,) = feed_service(bot.application).db.feeds()
    assert (row.error, row.failures, row.articles) == (None, 0, 2)
    answer = (await bot.ask("When did the Zanzibar ferry resume?")).params["text"]
    assert "<b>1. Ferry</b>" in answer
    # its health tells it, in each admin's language: the log alone did, /feeds said "ok"
    where = "namespace &#x27;http://purl.org/rss/1.0/modules/\\xa0content/&#x27; has whitespace in its name)"
    english = (await bot.ask("/feeds", user_id=ADMIN)).params["text"]
    assert " · read despite malformed XML (&lt;unknown&gt;:1:" in english and where in english
    ukrainian = (await bot.ask("/feeds", user_id=ADMIN, language_code="uk")).params["text"]
    assert " · прочитана попри пошкоджений XML (&lt;unknown&gt;:1:" in ukrainian
    russian = (await bot.ask("/feeds", user_id=ADMIN, language_code="ru")).params["text"]
    assert " · прочитана несмотря на повреждённый XML (&lt;unknown&gt;:1:" in russian
    clean = rss("Harbour Times", [ferry, volcano])  # the publisher mends it: the health is ok again
    site.put("odd.xml", clean, RSS)
    await poll_now(bot.application)
    assert "malformed" not in (await bot.ask("/feeds", user_id=ADMIN)).params["text"]


def geographic(document: bytes, where: bytes) -> bytes:
    """An RSS `document` with the GeoRSS place `where` (GML) in each of its items."""
    namespaces = b' xmlns:georss="http://www.georss.org/georss" xmlns:gml="http://www.opengis.net/gml"'
    document = document.replace(b'<rss version="2.0"', b'<rss version="2.0"' + namespaces)
    return document.replace(b"</item>", where + b"</item>", 1)


@pytest.mark.parametrize(
    "where",
    [
        # a GML point whose coordinate system's EPSG code is no number: the feed reader raised
        # ValueError on it
        b'<georss:where><gml:Point srsName="EPSG:4326x"><gml:pos>45 10</gml:pos></gml:Point></georss:where>',
        # a GML polygon whose ring's coordinates are no numbers: TypeError
        b"<georss:where><gml:Polygon><gml:exterior><gml:LinearRing><gml:posList>north east</gml:posList>"
        b"</gml:LinearRing></gml:exterior></gml:Polygon></georss:where>",
    ],
    ids=["point", "polygon"],
)
async def test_an_items_place_the_feed_reader_cannot_read_is_left_out_and_the_items_are_read(
    site: Newsroom, start_bot: StartBot, where: bytes
) -> None:
    # the feed failed every round as an "unexpected ValueError" (or TypeError), none of its
    # articles read, not even the items without a place
    bot = await start_bot(**FAST)
    ferry = story(site, "ferry", "Zanzibar ferry service resumes", FERRY)
    volcano = story(site, "volcano", "Volcano erupts", VOLCANO)
    address = site.put("odd.xml", geographic(rss("Harbour Times", [ferry, volcano]), where), RSS)
    feed_service(bot.application).db.add_feed(address, "harbour", None)
    report = await poll_now(bot.application)
    assert report is not None and len(report.saved) == 2 and report.problems == []
    (row,) = feed_service(bot.application).db.feeds()
    assert (row.error, row.title, row.articles) == (None, "Harbour Times", 2)
    answer = (await bot.ask("When did the Zanzibar ferry resume?")).params["text"]
    assert "<b>1. Zanzibar ferry service resumes</b>" in answer


async def test_a_feed_with_a_reference_to_no_character_is_read_as_malformed_xml(
    site: Newsroom, start_bot: StartBot
) -> None:
    # the feed reader raised OverflowError on it, and the feed failed every round as an
    # "unexpected OverflowError", its articles never read
    bot = await start_bot(**FAST)
    odd = rss("Harbour Times", [story(site, "ferry", "Ferry", FERRY)]).replace(b"Times", b"&#99999999999;")
    feed_service(bot.application).db.add_feed(site.put("odd.xml", odd, RSS), "harbour", None)
    report = await poll_now(bot.application)
    assert report is not None and len(report.saved) == 1
    (problem,) = report.problems
    assert "malformed XML (<unknown>:1:" in problem and "reference to invalid character number" in problem
    assert "1 items read anyway" in problem
    assert feed_service(bot.application).db.feeds()[0].error is None
    answer = (await bot.ask("When did the Zanzibar ferry resume?")).params["text"]
    assert "<b>1. Ferry</b>" in answer


async def test_a_truncated_feed_whose_item_ends_before_its_link_is_read_as_malformed_xml(
    site: Newsroom, start_bot: StartBot
) -> None:
    # the feed reader raised KeyError('links') on it (`<>` repeats the last tag, `<link>`, which
    # `</item` ended the item before), and the feed failed every round as an "unexpected
    # KeyError", its articles never read
    bot = await start_bot(**FAST)
    document = rss("Harbour Times", [story(site, "ferry", "Ferry", FERRY)])
    document = document.replace(b"<link>http://example.invalid/</link>", b"")
    cut = document[: document.index(b"</link>") + len(b"</link>")] + b"<></item</link>"  # the item's
    feed_service(bot.application).db.add_feed(site.put("cut.xml", cut, RSS), "harbour", None)
    report = await poll_now(bot.application)
    assert report is not None and len(report.saved) == 1
    (problem,) = report.problems
    assert "malformed XML (<unknown>:1:" in problem and "not well-formed (invalid token)" in problem
    assert "1 items read anyway" in problem
    (row,) = feed_service(bot.application).db.feeds()
    assert (row.error, row.title, row.articles) == (None, "Harbour Times", 1)
    answer = (await bot.ask("When did the Zanzibar ferry resume?")).params["text"]
    assert "<b>1. Ferry</b>" in answer


async def test_an_items_title_left_open_past_its_end_leaves_the_feeds_title_its_own(
    site: Newsroom, start_bot: StartBot
) -> None:
    # the feed reader gave the title what the item's title held and all after it up to the next
    # </title> ("Zanzibar ferry service resumeshttp://127.0.0.1:PORT/volcano.htmlVolcano
    # erupts"), and the feed was shown so in /feeds and named so as each article's outlet
    bot = await start_bot(**FAST)
    ferry = story(site, "ferry", "Zanzibar ferry service resumes", FERRY)
    volcano = story(site, "volcano", "Volcano erupts", VOLCANO)
    document = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Harbour Times</title>'
        f"<item><link>{ferry.link}</link><title>{ferry.title}</item>"  # its </title> left out
        f"<item><link>{volcano.link}</link><title>{volcano.title}</title></item></channel></rss>"
    )
    address = site.put("open.xml", document.encode(), RSS)
    feed_service(bot.application).db.add_feed(address, "harbour", None)
    report = await poll_now(bot.application)
    assert report is not None and len(report.saved) >= 1
    (row,) = feed_service(bot.application).db.feeds()
    assert (row.error, row.title) == (None, "Harbour Times")
    assert "Harbour Times" in (await bot.ask("/feeds", user_id=ADMIN)).params["text"]
    answer = (await bot.ask("When did the Zanzibar ferry resume?")).params["text"]
    assert "Harbour Times</a>" in answer


@pytest.mark.parametrize("end", ["</item>", ""], ids=["item-ends", "next-item-starts"])
async def test_the_items_after_an_item_whose_title_is_left_open_are_read(
    site: Newsroom, start_bot: StartBot, end: str
) -> None:
    # the feed reader read the next item, up to the next </title>, as the open title's text:
    # its article was never saved, and the feed's next round, listing it again, lost it again.
    # So it did where the next item starts before the open item ends (`<title>Ferry<item>`)
    bot = await start_bot(**FAST)
    ferry = story(site, "ferry", "Zanzibar ferry service resumes", FERRY)
    volcano = story(site, "volcano", "Volcano erupts", VOLCANO)
    storm = story(site, "storm", "Storm closes the port", "A storm closed the port of Dar es Salaam.")
    items = "".join(
        f"<item><link>{item.link}</link><title>{item.title}</title></item>" for item in (volcano, storm)
    )
    document = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Harbour Times</title>'
        f"<item><link>{ferry.link}</link><title>{ferry.title}{end}{items}</channel></rss>"
    )
    address = site.put("open.xml", document.encode(), RSS)
    feed_service(bot.application).db.add_feed(address, "harbour", None)
    report = await poll_now(bot.application)
    assert report is not None and len(report.saved) == 3
    (row,) = feed_service(bot.application).db.feeds()
    assert (row.error, row.title, row.articles) == (None, "Harbour Times", 3)
    answer = (await bot.ask("When did the volcano erupt?")).params["text"]
    assert "<b>1. Volcano erupts</b>" in answer


@pytest.mark.parametrize(
    ("charset", "declared", "title"),
    [
        ("undefined", "utf-8", "Гавань"),  # in the HTTP header
        (None, "punycode", "Harbour Times"),  # in the XML declaration (punycode's raises on ASCII alone)
        ("punycode", "undefined", "Гавань"),  # in both
    ],
)
async def test_a_feed_declaring_a_charset_that_decodes_no_text_is_read_as_utf8(
    site: Newsroom, start_bot: StartBot, charset: str | None, declared: str, title: str
) -> None:
    # Python knows these names, but their codecs decode no text: the feed reader raised on
    # them, and the feed failed every round as an "unexpected UnicodeError", its articles
    # never read. A name it does not know at all it passes over, as a browser does
    bot = await start_bot(**FAST)
    document = rss(title, [story(site, "ferry", "Ferry to Zanzibar", FERRY)])
    document = document.replace(b'encoding="utf-8"', f'encoding="{declared}"'.encode())
    address = site.put("odd.xml", document, f"{RSS}; charset={charset}" if charset else RSS)
    feed_service(bot.application).db.add_feed(address, "harbour", None)
    report = await poll_now(bot.application)
    assert report is not None and len(report.saved) == 1 and report.problems == []
    (row,) = feed_service(bot.application).db.feeds()
    assert (row.error, row.title, row.articles) == (None, title, 1)
    answer = (await bot.ask("When did the Zanzibar ferry resume?")).params["text"]
    assert "<b>1. Ferry to Zanzibar</b>" in answer


@pytest.mark.parametrize(
    ("charset", "encoding"),
    [
        (None, "utf-8"),  # read as UTF-8
        ("windows-1251", "cp1251"),  # read by the charset its HTTP header declares
    ],
)
async def test_a_feed_declaring_an_encoding_whose_name_is_no_utf8_is_read_as_its_other_charset(
    site: Newsroom, start_bot: StartBot, charset: str | None, encoding: str
) -> None:
    # no charset has such a name (`encoding="\xff\xfe"`): the feed reader raised
    # UnicodeDecodeError on it, and the feed failed every round as an "unexpected
    # UnicodeDecodeError", its articles never read
    bot = await start_bot(**FAST)
    document = rss("Гавань", [story(site, "ferry", "Ferry to Zanzibar", FERRY)]).decode()
    odd = document.replace('encoding="utf-8"', 'encoding="@@"').encode(encoding).replace(b"@@", b"\xff\xfe")
    address = site.put("odd.xml", odd, f"{RSS}; charset={charset}" if charset else RSS)
    feed_service(bot.application).db.add_feed(address, "harbour", None)
    report = await poll_now(bot.application)
    assert report is not None and len(report.saved) == 1 and report.problems == []
    (row,) = feed_service(bot.application).db.feeds()
    assert (row.error, row.title, row.articles) == (None, "Гавань", 1)
    answer = (await bot.ask("When did the Zanzibar ferry resume?")).params["text"]
    assert "<b>1. Ferry to Zanzibar</b>" in answer


async def test_no_feed_notice_with_notify_after_zero(site: Newsroom, start_bot: StartBot) -> None:
    bot = await start_bot(feed_notify_after=0, **FAST)
    feed_service(bot.application).db.add_feed(site.url("gone.xml"), "harbour", None)
    for _ in range(3):
        await poll_now(bot.application)
    assert feed_service(bot.application).db.feeds()[0].failures == 3
    assert notices(bot) == []


async def test_feeds_failing_at_once_are_told_in_one_message(site: Newsroom, start_bot: StartBot) -> None:
    # a network gone down fails every feed at once: one message each, fifty at a time, was a flood
    bot = await start_bot(feed_notify_after=1, **FAST)
    db = feed_service(bot.application).db
    for name in ("harbour", "ferries", "weather"):
        db.add_feed(site.url(f"{name}.xml"), name, None)
    await poll_now(bot.application)
    (told,) = notices(bot)
    assert [line.split("</b>")[0] for line in told.splitlines()[:3]] == [
        "⚠️ The feed <b>harbour",
        "⚠️ The feed <b>ferries",
        "⚠️ The feed <b>weather",
    ]
    assert told.endswith("/feeds shows every feed's health; I tell you when each reads again.")

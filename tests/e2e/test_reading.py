"""Pages an admin adds are read apart from the bot: heavy pages, pages past their budget, a stop."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gzip
import os
import signal
from pathlib import Path

import pytest

from bot.extract import MAX_ELEMENTS
from bot.extracting import READ_AT_ONCE, PageReader
from bot.feed_jobs import feed_service
from fakes.bot_api import FakeBotApi
from fakes.newsroom import RSS, Newsroom, article_page, hostile_feed, paragraphs
from tests.e2e.conftest import ADMIN, TOKEN, RunningBot, StartBot
from tests.e2e.test_feeds import VOLCANO
from tests.e2e.test_run import start_newsbot

FAST = {"feed_host_delay": 0.0, "feed_timeout": 3.0}
WORKER_THREADS = min(32, (os.cpu_count() or 1) + 4)
"""The threads of asyncio's default executor, where the bot's searches run: pages read there
took every one of them, and a question waited for the first page to be done."""


def heavy_page() -> bytes:
    """A page of as many elements as the extractor reads and no article in them: some 6 s of CPU
    on a 2-core machine (400 KB), then "no article text found"."""
    paragraphs = "<p> </p>" * (MAX_ELEMENTS - 20)
    page = f"<html><head><title>Hostile</title></head><body><article>{paragraphs}</article></body></html>"
    return page.encode()


def is_queued(text: str) -> bool:
    return text.startswith(("Your link is in line behind", "Your feed is in line behind"))


async def asked_while_read(bot: RunningBot, site: Newsroom, commands: list[str]) -> list[str]:
    """Send an admin's `commands`, then, once each one's download is done, another chat's
    question: assert it is answered, and return what the admin was told by then."""
    for command in commands:
        bot.api.push_message(command, user_id=ADMIN)
    async with asyncio.timeout(60):
        while len(site.requests) < len(commands):
            await asyncio.sleep(0.01)
    bot.api.push_message("Who negotiated with Abramovich?", user_id=7)
    (answer,) = await bot.api.wait_for(chat_id=7, timeout=300)
    assert "Abramovich" in answer.params["text"]
    return [call.params["text"] for call in bot.api.sent(chat_id=ADMIN)]


async def test_a_question_is_answered_while_heavy_pages_are_read(site: Newsroom, start_bot: StartBot) -> None:
    # Pages were read in the bot's worker threads, which its searches share: as many heavy /adds
    # as there are threads took them all, and another chat's question waited for the first page
    # to be read, whose "no article" reply went out first.
    bot = await start_bot(feed_interval=0, **FAST)
    urls = [site.put(f"heavy-{n}.html", heavy_page()) for n in range(WORKER_THREADS)]
    told = await asked_while_read(bot, site, [f"/add {url}" for url in urls])
    assert [text for text in told if not is_queued(text)] == []  # no page read yet
    assert feed_service(bot.application).db.articles_count() == 0


def readers(parent: int | None = None) -> list[int]:
    """Process ids of live page readers (`python -m bot.extracting`), of `parent` if given."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            cmdline = (stat.parent / "cmdline").read_bytes().split(b"\0")
            state, ppid = stat.read_text().rsplit(")", 1)[1].split()[:2]
        except (OSError, ValueError):
            continue
        if b"bot.extracting" in cmdline and state != "Z" and (parent is None or int(ppid) == parent):
            found.append(int(stat.parent.name))
    return found


async def test_a_page_past_its_budget_is_refused_politely_and_the_next_is_read(
    site: Newsroom, start_bot: StartBot
) -> None:
    bot = await start_bot(feed_interval=0, **FAST)
    feed_service(bot.application).reader = PageReader(cpu_seconds=1)
    heavy = site.put("heavy.html", heavy_page())
    reply = (await bot.ask(f"/add {heavy}", user_id=ADMIN)).params["text"]
    assert reply == "That page took too long to read (more than 1 seconds); I did not add it."
    ukrainian = (await bot.ask(f"/add {heavy}", user_id=ADMIN, language_code="uk")).params["text"]
    assert ukrainian == "Ця сторінка читалася задовго (понад 1 с); я її не додав."
    assert "Istanbul" in (await bot.ask("Istanbul")).params["text"]  # the bot serves on
    url = site.put(
        "v.html", article_page("Volcano erupts", [VOLCANO, *paragraphs("v")], dt.date(2024, 4, 30))
    )
    added = (await bot.ask(f"/add {url}", user_id=ADMIN)).params["text"]
    assert added.startswith("Added and indexed:\n<b>Volcano erupts</b>")
    assert readers(os.getpid()) == []


async def test_ten_links_at_once_are_read_two_at_a_time_and_the_others_told_they_wait(
    site: Newsroom, start_bot: StartBot
) -> None:
    bot = await start_bot(feed_interval=0, **FAST)
    # each page ends after 2 s of CPU, long after the ten are fetched
    feed_service(bot.application).reader = PageReader(cpu_seconds=2)
    urls = [site.put(f"heavy-{n}.html", heavy_page()) for n in range(10)]
    for url in urls:
        bot.api.push_message(f"/add {url}", user_id=ADMIN)
    most = 0
    async with asyncio.timeout(300):
        while len(bot.api.sent(chat_id=ADMIN)) < 18:  # 8 told they wait, 10 replies
            most = max(most, len(readers(os.getpid())))
            await asyncio.sleep(0.01)
    told = [call.params["text"] for call in bot.api.sent(chat_id=ADMIN)]
    waits = sorted(text for text in told if is_queued(text))
    assert len(waits) == 8
    assert waits[0] == "Your link is in line behind 2 other pages; I will report once it is read."
    assert told.count("That page took too long to read (more than 2 seconds); I did not add it.") == 10
    assert most <= READ_AT_ONCE


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
async def test_a_stop_waits_for_no_page_being_read_and_leaves_no_reader_behind(
    site: Newsroom, tmp_path: Path, stop: signal.Signals
) -> None:
    # SIGTERM: the reader is frozen, so a stop that waited for it would wait out its budget and
    # then tell the admin the page took too long. SIGKILL: the bot cannot kill its reader.
    heavy = site.put("heavy.html", heavy_page())
    api = FakeBotApi(TOKEN)
    await api.start()
    bot = await start_newsbot(api, tmp_path, ADMIN_IDS=str(ADMIN), FEED_INTERVAL="0")
    found: list[int] = []
    try:
        api.push_message(f"/add {heavy}", user_id=ADMIN)
        async with asyncio.timeout(60):
            while not (found := readers(bot.pid)):
                await asyncio.sleep(0.01)
        if stop == signal.SIGTERM:
            os.kill(found[0], signal.SIGSTOP)
        bot.send_signal(stop)
        _, stderr = await asyncio.wait_for(bot.communicate(), 60)
        async with asyncio.timeout(60):  # the reader of a killed bot sees its input close, and ends
            while set(found) & set(readers()):
                await asyncio.sleep(0.01)
    finally:
        if bot.returncode is None:
            bot.kill()
        for pid in found:  # only if the bot left it behind
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        await api.stop()
    assert bot.returncode == (0 if stop == signal.SIGTERM else -signal.SIGKILL)
    assert api.sent("sendMessage", ADMIN) == []  # neither "added" nor "took too long"
    if stop == signal.SIGTERM:
        assert f"stopping: link {heavy} not read" in stderr.decode()


async def test_a_question_is_answered_while_hostile_feeds_are_added(
    site: Newsroom, start_bot: StartBot
) -> None:
    # `/feeds add` parsed its document in the bot's worker threads, which its searches share: as
    # many hostile documents as there are threads took them all, and another chat's question
    # waited for the first to be parsed, whose "not an RSS or Atom feed" reply went out first.
    # Twice as many as the threads, gzipped to a small download: all are fetched at once, and
    # the threads are taken before the question comes.
    bot = await start_bot(feed_interval=0, **FAST)
    document, gzipped = gzip.compress(hostile_feed()), {"Content-Encoding": "gzip"}
    urls = [site.put(f"hostile-{n}.xml", document, RSS, headers=gzipped) for n in range(2 * WORKER_THREADS)]
    told = await asked_while_read(bot, site, [f"/feeds add {url}" for url in urls])
    assert [text for text in told if not is_queued(text)] == []  # no document parsed yet
    async with asyncio.timeout(300):
        while not (replies := [text for text in told if not is_queued(text)]):
            await asyncio.sleep(0.01)
            told = [call.params["text"] for call in bot.api.sent(chat_id=ADMIN)]
    assert replies[0] == "I could not add that feed: not an RSS or Atom feed."


async def test_feeds_added_at_once_are_read_two_at_a_time_and_the_others_told_they_wait(
    site: Newsroom, start_bot: StartBot
) -> None:
    # A `/feeds add` behind two others waited for its turn in silence, while an /add was told.
    bot = await start_bot(feed_interval=0, **FAST)
    feed_service(bot.application).reader = PageReader(cpu_seconds=2)
    urls = [site.put(f"hostile-{n}.xml", hostile_feed(), RSS) for n in range(4)]
    for url in urls:
        bot.api.push_message(f"/feeds add {url}", user_id=ADMIN)
    slow = "That feed took too long to read (more than 2 seconds); I did not add it."
    async with asyncio.timeout(300):  # each is told it waits as it joins the line, long before this
        while [call.params["text"] for call in bot.api.sent(chat_id=ADMIN)].count(slow) < 4:
            await asyncio.sleep(0.01)
    told = [call.params["text"] for call in bot.api.sent(chat_id=ADMIN)]
    waits = sorted(text for text in told if is_queued(text))
    assert waits == [
        "Your feed is in line behind 2 other documents; I will report once it is read.",
        "Your feed is in line behind 3 other documents; I will report once it is read.",
    ]
    assert told.count(slow) == 4


async def test_a_feed_past_its_budget_is_refused_politely_and_the_next_is_added(
    site: Newsroom, start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await start_bot(feed_interval=0, **FAST)
    feed_service(bot.application).reader = PageReader(cpu_seconds=1)
    heavy = site.put("hostile.xml", hostile_feed(), RSS)
    reply = (await bot.ask(f"/feeds add {heavy}", user_id=ADMIN)).params["text"]
    assert reply == "That feed took too long to read (more than 1 seconds); I did not add it."
    assert f"feed {heavy} not read: its reader took over 1 s of CPU" in caplog.text  # not "page"
    ukrainian = (await bot.ask(f"/feeds add {heavy}", user_id=ADMIN, language_code="uk")).params["text"]
    assert ukrainian == "Ця стрічка читалася задовго (понад 1 с); я її не додав."
    russian = (await bot.ask(f"/feeds add {heavy}", user_id=ADMIN, language_code="ru")).params["text"]
    assert russian == "Эта лента читалась слишком долго (более 1 с); я её не добавил."
    assert "Istanbul" in (await bot.ask("Istanbul")).params["text"]  # the bot serves on
    announce = '<link rel="alternate" type="application/rss+xml" href="feed.xml">'
    page = site.put("front.html", f"<html><head>{announce}</head><body>Front page</body></html>")
    item = "<item><title>Volcano</title><link>http://news.example/v</link></item>"
    site.put("feed.xml", f'<rss version="2.0"><channel><title>Light</title>{item}</channel></rss>', RSS)
    added = (await bot.ask(f"/feeds add {page}", user_id=ADMIN)).params["text"]
    assert added.startswith("Added feed 1: Light (1 item)"), added  # found through the page, read in turn
    assert readers(os.getpid()) == []

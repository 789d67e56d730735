"""Files dropped into the corpus folder are served within a minute, with no /reload."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import shutil
from pathlib import Path

import pytest

from bot.feed_jobs import feed_service, poll_now, settle
from bot.ingest import fetch_round, options_from
from bot.state import BotState
from fakes.bot_api import MAX_ENTITIES, entities
from fakes.newsroom import Newsroom
from retrieval.folder import RECENT_NS
from tests.conftest import article
from tests.e2e.conftest import ADMIN, RunningBot, StartBot
from tests.e2e.test_feeds import FAST, ferry_feed, read_feed, until

pytestmark = pytest.mark.asyncio

FERRY = article(
    "2024-10-24",
    "Zanzibar ferry resumes",
    "The Zanzibar ferry service resumed on Monday after the harbour repairs were finished.",
)
HEADLINE = "Zanzibar ferry resumes"
WATCHING = "the corpus folder changed"


def state(bot: RunningBot) -> BotState:
    served: BotState = bot.application.bot_data["state"]
    return served


async def answers(bot: RunningBot, question: str) -> str:
    text: str = (await bot.ask(question)).params["text"]
    return text


async def test_a_file_dropped_into_the_corpus_is_answered_without_a_reload(start_bot: StartBot) -> None:
    # the articles a newsroom copied in were answered only once an admin sent /reload
    bot = await start_bot(saved_index=True)
    assert HEADLINE not in await answers(bot, "Zanzibar ferry")
    (bot.corpus / "desk").mkdir()
    (bot.corpus / "desk" / "ferry.txt").write_text(FERRY, encoding="utf-8")
    await settle(bot.application)  # the every-minute job
    assert HEADLINE in await answers(bot, "Zanzibar ferry")
    (bot.corpus / "desk" / "ferry.txt").rename(bot.corpus / "desk" / "ferry-2024.txt")
    await settle(bot.application)
    assert "desk/ferry-2024" in list(state(bot).library.articles.ids)
    assert "desk/ferry" not in list(state(bot).library.articles.ids)
    (bot.corpus / "desk" / "ferry-2024.txt").unlink()
    await settle(bot.application)
    assert HEADLINE not in await answers(bot, "Zanzibar ferry")


async def test_an_unchanged_corpus_is_not_read_again(
    start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await start_bot(saved_index=True)
    # folders changed within RECENT_NS get no stamp (another change in the same tick would leave
    # their times as they are): once older, the next look stamps them
    await asyncio.sleep(RECENT_NS / 1e9)
    await settle(bot.application)  # reads it once: its folders were too fresh to stamp when saved
    served = state(bot).library
    caplog.clear()
    for _ in range(3):
        await settle(bot.application)
    assert state(bot).library is served
    assert WATCHING not in caplog.text


async def test_a_change_that_adds_no_article_is_read_once(
    start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await start_bot(saved_index=True)
    served = state(bot).library
    (bot.corpus / ".notes.txt").write_text("an editor's notes, not an article", encoding="utf-8")
    for _ in range(3):
        await settle(bot.application)
    assert state(bot).library.build == served.build
    assert caplog.text.count(WATCHING) <= 2  # once, and once more if the folder was too fresh to stamp


async def test_folders_that_look_changed_for_good_are_read_ever_less_often(
    start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    # a folder whose time lies ahead (a copy from a machine whose clock ran fast) keeps no stamp,
    # as one that cannot be listed does, so the folders never look as recorded: read again at
    # every settle, the whole corpus was checked in a child process each minute
    bot = await start_bot(saved_index=True)
    ahead = dt.datetime(2100, 1, 1, tzinfo=dt.UTC).timestamp()
    (bot.corpus / "desk").mkdir()
    os.utime(bot.corpus / "desk", (ahead, ahead))
    service = feed_service(bot.application)
    caplog.set_level(logging.INFO)
    for _ in range(4):
        await settle(bot.application)
    assert caplog.text.count(WATCHING) == 2  # at once, then one minute later (the settles here are not)
    assert service.watch_retry.failures == 2


async def test_reads_that_find_nothing_new_do_not_hold_back_the_next_dropped_file(
    start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    # a feed round saves its files within the clock tick of their folder's change, so the
    # folder keeps no stamp and the next look reads the corpus and finds nothing new: each such
    # read counted as failed, and after a few rounds the watch looked only hourly
    bot = await start_bot(saved_index=True)
    service = feed_service(bot.application)
    caplog.set_level(logging.INFO)
    for number in range(3):  # a change that adds no article, as a saved round looks to the watch
        (bot.corpus / f".notes-{number}.txt").write_text("not an article", encoding="utf-8")
        await asyncio.sleep(RECENT_NS / 1e9)  # older than a tick, so the read stamps the folder
        await settle(bot.application)
    assert caplog.text.count(WATCHING) >= 3  # each change read (the minute job may read one too)
    assert service.watch_retry.failures == 0
    (bot.corpus / "ferry.txt").write_text(FERRY, encoding="utf-8")
    await settle(bot.application)
    assert HEADLINE in await answers(bot, "Zanzibar ferry")


async def test_watch_corpus_false_leaves_dropped_files_to_reload(start_bot: StartBot) -> None:
    bot = await start_bot(saved_index=True, watch_corpus=False)
    (bot.corpus / "ferry.txt").write_text(FERRY, encoding="utf-8")
    await settle(bot.application)
    assert HEADLINE not in await answers(bot, "Zanzibar ferry")


async def test_a_corpus_folder_gone_keeps_the_corpus_served_and_is_tried_ever_less_often(
    start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await start_bot(saved_index=True)
    bot.corpus.rename(bot.corpus.with_name("moved"))  # a mount gone, a folder moved away
    for _ in range(4):
        await settle(bot.application)
    assert "Umerov" in await answers(bot, "Who negotiated with Abramovich?")
    assert caplog.text.count("could not read the changed corpus, keeping the one served") == 2


TODAY = dt.datetime.now(dt.UTC).date()
"""News: a file alerts when it is dated at most two days before it is dropped in."""


def ferry_file(date: dt.date = TODAY, headline: str = HEADLINE, extra: str = "") -> str:
    """An article on the Zanzibar ferry as a newsroom's `.md` file, naming its outlet and no link."""
    return (
        f"---\ntitle: {headline}\ndate: {date.isoformat()}\nsource: Harbour Times\n---\n\n"
        "The Zanzibar ferry service resumed on Monday after the harbour repairs were finished; "
        f"the first ferry from Zanzibar carried 300 passengers.{extra}\n"
    )


def alerts_to(bot: RunningBot, chat: int) -> list[str]:
    """The alerts chat `chat` was sent: the messages that name a followed topic."""
    return [
        call.params["text"]
        for call in bot.api.sent("sendMessage", chat)
        if "You follow:" in call.params["text"] or "Ваша тема:" in call.params["text"]
    ]


async def alerted(bot: RunningBot, chat: int, count: int = 1) -> list[str]:
    """The alerts chat `chat` was sent, once it has `count`: the every-minute job may be the
    one that sends them, a moment after a test's own look."""
    await until(lambda: len(alerts_to(bot, chat)) >= count)
    return alerts_to(bot, chat)


async def test_a_file_dropped_in_alerts_its_topics_follower_once_and_no_one_else(start_bot: StartBot) -> None:
    # a newsroom copies its articles into the folder: its readers' topic alerts were for what
    # feeds and /add brought alone
    bot = await start_bot(saved_index=True)
    await bot.ask("/follow Zanzibar ferry", user_id=7, language_code="uk")
    await bot.ask("/follow volcano eruption", user_id=8)
    (bot.corpus / "desk").mkdir()
    (bot.corpus / "desk" / "ferry.md").write_text(ferry_file(), encoding="utf-8")
    await settle(bot.application)  # the every-minute job
    (alert,) = await alerted(bot, 7)
    # no link to give: its date names the outlet the file names, in the reader's language
    assert alert.startswith(f"<b>{HEADLINE}</b>\n{TODAY.isoformat()} · Harbour Times\nThe <b>Zanzibar</b>")
    assert "<i>Ваша тема: Zanzibar ferry</i> · /following" in alert and "http" not in alert
    assert alerts_to(bot, 8) == []
    (bot.corpus / "desk" / "ferry.md").rename(bot.corpus / "desk" / "ferry-2.md")  # renamed: the same article
    await settle(bot.application)
    assert "desk/ferry-2" in list(state(bot).library.articles.ids)
    (bot.corpus / "desk" / "ferry-copy.md").write_text(ferry_file(), encoding="utf-8")  # copied twice
    await settle(bot.application)
    await bot.ask("/reload", user_id=ADMIN)  # the same files read again
    await settle(bot.application)
    edited = ferry_file(extra=" A second ferry sails from Friday.")
    (bot.corpus / "desk" / "ferry-2.md").write_text(edited, encoding="utf-8")  # edited in place
    await bot.ask("/reload", user_id=ADMIN)
    await settle(bot.application)
    assert "Friday" in await answers(bot, "second Zanzibar ferry")
    assert len(alerts_to(bot, 7)) == 1


async def test_a_dropped_file_whose_headline_is_bidi_controls_alone_alerts_under_its_first_words(
    start_bot: StartBot,
) -> None:
    # answers head such an article by its first words; its alert kept the headline as written,
    # which shows as nothing once the controls are left out: an empty bold line
    bot = await start_bot(saved_index=True)
    await bot.ask("/follow Zanzibar ferry", user_id=7)
    (bot.corpus / "desk").mkdir()
    (bot.corpus / "desk" / "ferry.md").write_text(ferry_file(headline="\u202e\u202c"), encoding="utf-8")
    await settle(bot.application)
    (alert,) = await alerted(bot, 7)
    assert alert.startswith("<b>The Zanzibar ferry service resumed on Monday after the harbour"), alert[:120]
    assert alert.split("\n")[1] == f"{TODAY.isoformat()} · Harbour Times"


async def test_the_corpus_there_at_start_alerts_no_one(start_bot: StartBot) -> None:
    # a first start on a folder builds its index: none of its articles is news to anyone,
    # however fresh, nor after a /reload that reads them again
    bot = await start_bot(articles={"ferry.md": ferry_file()})
    await bot.ask("/follow Zanzibar ferry", user_id=7)
    assert "Corpus reloaded." in (await bot.ask("/reload", user_id=ADMIN)).params["text"]
    await settle(bot.application)
    assert alerts_to(bot, 7) == []
    assert HEADLINE in await answers(bot, "Zanzibar ferry")


async def test_a_file_there_at_start_renamed_or_removed_and_copied_back_alerts_no_one(
    start_bot: StartBot, tmp_path: Path
) -> None:
    bot = await start_bot(saved_index=True, articles={"ferry.md": ferry_file()})
    await bot.ask("/follow Zanzibar ferry", user_id=7)
    (bot.corpus / "ferry.md").rename(bot.corpus / "ferry-renamed.md")
    await settle(bot.application)
    assert "ferry-renamed" in list(state(bot).library.articles.ids)
    shutil.move(bot.corpus / "ferry-renamed.md", tmp_path / "ferry.md")  # removed ...
    await settle(bot.application)
    assert "ferry-renamed" not in list(state(bot).library.articles.ids)
    shutil.copy(tmp_path / "ferry.md", bot.corpus / "ferry.md")  # ... and copied back
    await settle(bot.application)
    assert "ferry" in list(state(bot).library.articles.ids)
    assert alerts_to(bot, 7) == []


async def test_a_dropped_file_alerts_once_across_a_restart_and_when_removed_and_copied_back(
    start_bot: StartBot, tmp_path: Path
) -> None:
    first = await start_bot(saved_index=True)
    await first.ask("/follow Zanzibar ferry", user_id=7)
    (first.corpus / "ferry.md").write_text(ferry_file(), encoding="utf-8")
    await settle(first.application)
    assert len(await alerted(first, 7)) == 1
    await first.application.updater.stop()
    await first.application.stop()
    stopped = ferry_file(headline="Zanzibar ferry adds a boat", extra=" A second boat joins.")
    (first.corpus / "while-stopped.md").write_text(stopped, encoding="utf-8")  # there at the next start
    second = await start_bot(saved_index=True)  # on the same corpus and state file
    await settle(second.application)
    assert "while-stopped" in list(state(second).library.articles.ids)
    shutil.move(second.corpus / "ferry.md", tmp_path / "ferry.md")
    await settle(second.application)
    shutil.copy(tmp_path / "ferry.md", second.corpus / "ferry.md")
    await settle(second.application)
    assert "ferry" in list(state(second).library.articles.ids)
    assert alerts_to(second, 7) == []


async def test_a_dropped_file_dated_days_before_alerts_no_one_and_one_dated_ahead_waits_for_its_day(
    start_bot: StartBot,
) -> None:
    bot = await start_bot(saved_index=True)
    await bot.ask("/follow Zanzibar ferry", user_id=7)
    old = ferry_file(TODAY - dt.timedelta(days=3), "Zanzibar ferry archive", " From the archive.")
    (bot.corpus / "archive.md").write_text(old, encoding="utf-8")
    ahead = ferry_file(TODAY + dt.timedelta(days=3), "Zanzibar ferry embargoed", " Embargoed.")
    (bot.corpus / "embargoed.md").write_text(ahead, encoding="utf-8")
    await settle(bot.application)
    assert {"archive", "embargoed"} <= set(state(bot).library.articles.ids)
    assert alerts_to(bot, 7) == []
    assert "Zanzibar ferry archive" in await answers(bot, "Zanzibar ferry")  # answered, as any article
    (waiting,) = feed_service(bot.application).db.unmatched_articles()  # matched on its day
    assert waiting.title == "Zanzibar ferry embargoed"


async def test_a_feeds_article_is_not_alerted_again_when_its_file_is_seen_or_copied_elsewhere(
    site: Newsroom, start_bot: StartBot
) -> None:
    bot = await start_bot(saved_index=True, **FAST)
    await bot.ask("/follow Zanzibar ferry", user_id=7)
    await read_feed(bot, site)
    ferry_feed(site)
    await poll_now(bot.application)
    (saved,) = feed_service(bot.application).db.articles()
    assert len(await alerted(bot, 7)) == 1  # the feed's file, which the watch saw too, alerted once
    shutil.copy(bot.corpus / saved.path, bot.corpus / "ferry.md")  # a newsroom's copy of it
    await settle(bot.application)
    assert "ferry" in list(state(bot).library.articles.ids)
    assert len(alerts_to(bot, 7)) == 1


async def test_a_file_naming_a_link_is_not_saved_again_when_a_feed_brings_that_link(
    site: Newsroom, start_bot: StartBot
) -> None:
    bot = await start_bot(saved_index=True, **FAST)
    await bot.ask("/follow Zanzibar ferry", user_id=7)
    await read_feed(bot, site)
    url = site.url("ferry.html")
    copied = ferry_file().replace("source: Harbour Times", f"source: Harbour Times\nurl: {url}")
    (bot.corpus / "ferry.md").write_text(copied.replace("300", "three hundred"), encoding="utf-8")
    await settle(bot.application)
    (alert,) = await alerted(bot, 7)
    assert url in alert
    ferry_feed(site)  # the same link, its page's words not quite the newsroom's
    await fetch_round(options_from(bot.settings))
    assert [article.path for article in feed_service(bot.application).db.articles()] == ["ferry.md"]
    await settle(bot.application)
    assert len(alerts_to(bot, 7)) == 1


async def test_two_bots_on_one_state_file_alert_a_dropped_file_once(start_bot: StartBot) -> None:
    first = await start_bot(saved_index=True)
    second = await start_bot(saved_index=True)  # by mistake, on the same folders
    await first.ask("/follow Zanzibar ferry", user_id=7)
    (first.corpus / "ferry.md").write_text(ferry_file(), encoding="utf-8")
    await asyncio.gather(settle(first.application), settle(second.application))
    await asyncio.gather(settle(first.application), settle(second.application))
    assert len(alerts_to(first, 7)) + len(alerts_to(second, 7)) == 1


async def test_files_dropped_in_past_the_hourly_limit_come_as_a_digest_naming_their_outlet(
    start_bot: StartBot,
) -> None:
    bot = await start_bot(saved_index=True, alerts_per_hour=1)
    await bot.ask("/follow Zanzibar ferry", user_id=7)
    before = len(bot.api.sent("sendMessage", 7))
    (bot.corpus / "ferry.md").write_text(ferry_file(), encoding="utf-8")
    boat = ferry_file(headline="Zanzibar ferry adds a boat", extra=" A second boat joins.")
    (bot.corpus / "boat.md").write_text(boat, encoding="utf-8")
    await settle(bot.application)
    sent = await bot.api.wait_for(chat_id=7, count=before + 2)
    alert, digest = (call.params["text"] for call in sent[before:])
    assert "You follow: Zanzibar ferry" in alert
    assert digest.startswith("<b>1 more new article on your topics</b>")
    assert f"({TODAY.isoformat()} · Harbour Times), on <i>Zanzibar ferry</i>" in digest


async def test_a_digest_of_headlines_full_of_hashtags_sends_each_link_it_lists_as_a_link(
    start_bot: StartBot,
) -> None:
    # Telegram makes an entity of each #tag and of each link it finds, and shows a message's
    # first 100: with each line's topic in italics, a digest of 29 such articles came to 146,
    # and the links of its last lines were plain text
    bot = await start_bot(saved_index=True, alerts_per_hour=1)
    await bot.ask("/follow Zanzibar ferry", user_id=7)
    before = len(bot.api.sent("sendMessage", 7))
    for n in range(30):
        headline = f'"#Zanzibar #ferry #harbour: sailing {n}"'  # quoted: YAML reads `#` as a comment
        sailing = ferry_file(headline=headline, extra=f" Sailing {n} is due.")
        linked = sailing.replace("source:", f"url: https://harbour.example/{n}\nsource:", 1)
        (bot.corpus / f"sailing-{n:02}.md").write_text(linked, encoding="utf-8")
    await settle(bot.application)
    sent = await bot.api.wait_for(chat_id=7, count=before + 2)
    digest = sent[before + 1].params["text"]
    assert digest.startswith("<b>29 more new articles on your topics</b>")
    assert entities(digest) <= MAX_ENTITIES
    listed = digest.count("\n  https://harbour.example/")
    assert listed >= 20 and digest.endswith(f"… and {29 - listed} more.")  # the rest counted, as for length


PIER = "Old pier closes"


def pier_file() -> str:
    return article(TODAY.isoformat(), PIER, "The old pier of Stone Town closed for repairs.")


async def test_a_file_dropped_beside_a_served_one_of_its_name_leaves_both_answered(
    start_bot: StartBot,
) -> None:
    # desk/ferry.md dropped beside a served desk/ferry.txt wanted its id `desk/ferry`: the first in
    # path order, the new file, was served in the old one's place, reported as its duplicate
    bot = await start_bot(saved_index=True, articles={"ferry.txt": pier_file()})
    await bot.ask("/follow Zanzibar ferry", user_id=7)
    await bot.ask("/follow Stone Town pier", user_id=8)
    (bot.corpus / "ferry.md").write_text(ferry_file(), encoding="utf-8")
    await settle(bot.application)  # the every-minute job
    assert HEADLINE in await answers(bot, "Zanzibar ferry")
    assert PIER in await answers(bot, "Stone Town pier")
    ids = list(state(bot).library.articles.ids)
    assert {"ferry.md", "ferry.txt"} <= set(ids) and "ferry" not in ids
    assert state(bot).library.report.problems == ()
    (alert,) = await alerted(bot, 7)  # the new article alerts; the old one, now `ferry.txt`, is no news
    assert alert.startswith(f"<b>{HEADLINE}</b>")
    (bot.corpus / "ferry.md").unlink()
    await settle(bot.application)
    assert "ferry" in list(state(bot).library.articles.ids)  # its id as it was
    assert PIER in await answers(bot, "Stone Town pier")
    assert alerts_to(bot, 8) == []


async def test_a_reload_after_a_file_came_beside_a_served_one_of_its_name_answers_both(
    start_bot: StartBot,
) -> None:
    bot = await start_bot(saved_index=True, watch_corpus=False, articles={"ferry.txt": pier_file()})
    (bot.corpus / "ferry.md").write_text(ferry_file(), encoding="utf-8")
    report = (await bot.ask("/reload", user_id=ADMIN)).params["text"]
    assert "Corpus reloaded" in report and "duplicate" not in report
    assert HEADLINE in await answers(bot, "Zanzibar ferry")
    assert PIER in await answers(bot, "Stone Town pier")

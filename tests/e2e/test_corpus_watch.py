"""Files dropped into the corpus folder are served within a minute, with no /reload."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.feed_jobs import feed_service, settle
from bot.state import BotState
from retrieval.folder import RECENT_NS
from tests.conftest import article
from tests.e2e.conftest import RunningBot, StartBot

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
    # a folder that cannot be listed keeps no stamp, so the folders never look as recorded:
    # read again at every settle, the whole corpus was checked in a child process each minute
    bot = await start_bot(saved_index=True)
    record = next(state(bot).library.saved_in.glob("*checked*"))  # type: ignore[union-attr]
    service = feed_service(bot.application)
    caplog.set_level(logging.INFO)
    for _ in range(4):
        record.write_bytes(b"damaged")  # as if every folder's stamp were unknown
        await settle(bot.application)
    assert caplog.text.count(WATCHING) == 2  # at once, then one minute later (the settles here are not)
    assert service.watch_retry.failures == 2


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

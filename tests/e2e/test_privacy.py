"""What readers write stays out of the log: a question, a topic, an inline query, a name."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import sqlite3

import pytest

from bot.i18n import translations
from bot.statedb import DB_NAME
from fakes.bot_api import Call, Fault
from tests.e2e.conftest import ADMIN, GRAIN, StartBot, wait_for_log

MARK = "Quetzalcoatlus"
"""In every text and name a reader sends here, so that any log line holding one shows it."""


async def test_readers_words_and_names_never_reach_the_log(
    start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await start_bot(questions_per_minute=4)
    reader = {"id": 7, "is_bot": False, "first_name": MARK, "last_name": MARK, "username": MARK}

    async def ask(text: str) -> str:
        before = len(bot.api.sent("sendMessage", 7))
        bot.api.push_message(text, user_id=7, **{"from": reader})
        return str(
            (await bot.api.wait_for("sendMessage", chat_id=7, count=before + 1))[before].params["text"]
        )

    assert "Abramovich" in await ask(f"Who negotiated with Abramovich near {MARK}?")
    # the failures that log most: an answer Telegram refuses, one it fails, an update that fails whole
    bot.api.fail("sendMessage", Fault(500), Fault(400, "Bad Request: message is too long"))
    await ask(f"Who negotiated with Abramovich, {MARK}?")
    assert "Following" in await ask(f"/follow {MARK} negotiations")
    assert "admins" in await ask(f"/reload {MARK}")  # refused, and logged against the user's id
    bot.api.push_inline_query(f"{MARK} talks", user_id=7)
    await bot.api.wait_for("answerInlineQuery")
    for _ in range(4):  # past the limit, which is logged too
        bot.api.push_message(f"{MARK}?", user_id=7, **{"from": reader})
    await wait_for_log(caplog, "sender 7 is over 4 requests a minute", timeout=120)
    logged = [r for r in caplog.records if r.levelno >= logging.INFO and r.name.split(".")[0] != "tests"]
    assert any(r.exc_text or r.exc_info for r in logged)  # a failure was logged with its traceback
    for record in logged:
        text = record.getMessage() + (
            logging.Formatter().formatException(record.exc_info) if record.exc_info else ""
        )
        assert MARK not in text, record.getMessage()


async def test_a_question_leaves_no_trace_on_disk(start_bot: StartBot) -> None:
    # Only what README's list names is kept: a topic followed is; a question answered on one
    # page (no buttons to turn) is answered and forgotten, in the state file as everywhere else.
    bot = await start_bot()
    assert "Abramovich" in (await bot.ask(f"Who negotiated with Abramovich near {MARK}?")).params["text"]
    assert "Following" in (await bot.ask(f"/follow {MARK} talks")).params["text"]
    db = sqlite3.connect(bot.settings.state_dir / DB_NAME)
    holding = {
        table
        for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        for row in db.execute(f"SELECT * FROM {table}")
        if MARK.lower() in repr(row).lower()
    }
    assert holding == {"topics"}
    roots = {bot.settings.index_dir, bot.corpus, bot.settings.state_dir}
    files = [path for root in roots for path in root.rglob("*") if path.is_file()]
    marked = {path for path in files if MARK.lower().encode() in path.read_bytes().lower()}
    assert marked and all(path.name.startswith(DB_NAME) for path in marked)  # the state file's alone


async def test_a_reader_who_unfollows_every_topic_leaves_no_language_behind(start_bot: StartBot) -> None:
    # A reader's app language is kept for their alerts while they follow topics; once they follow
    # none, no alert is written in it, and the state file kept it (with their user id) for good.
    # An admin's stays: their feed notices are written in it.
    bot = await start_bot()
    for user in (7, ADMIN):
        for topic in (f"{MARK} talks", "grain exports"):
            assert (
                "/following"
                in (await bot.ask(f"/follow {topic}", user_id=user, language_code="uk")).params["text"]
            )
        for _ in range(2):
            await bot.ask("/unfollow 1", user_id=user, language_code="uk")
    db = sqlite3.connect(bot.settings.state_dir / DB_NAME)
    assert db.execute("SELECT * FROM topics").fetchall() == []
    assert db.execute("SELECT * FROM readers").fetchall() == [(ADMIN, "uk")]
    await bot.ask("/follow grain exports", user_id=7, language_code="ru")  # following again: kept again
    assert db.execute("SELECT * FROM readers ORDER BY user_id").fetchall() == [(7, "ru"), (ADMIN, "uk")]


async def test_an_admin_no_longer_listed_leaves_no_language_or_owed_notice_at_the_next_start(
    start_bot: StartBot,
) -> None:
    # An admin's language (and a feed notice Telegram could not take) is kept for their feed
    # notices; once ADMIN_IDS no longer lists them, no notice goes to them, and the state file
    # kept both under their user id for good. One who follows topics keeps their language.
    former, follower = 43, 44
    first = await start_bot(admin_ids=frozenset({ADMIN, former, follower}))
    for admin in (ADMIN, former, follower):
        await first.ask("/feeds", user_id=admin, language_code="uk")
    await first.ask("/follow grain exports", user_id=follower, language_code="uk")
    db = first.application.bot_data["feeds"].db
    db.add_feed("http://feeds.example/rss", "f", None)
    (feed,) = db.feeds()
    for admin in (ADMIN, former):
        db.owe_feed_notices(admin, [feed])
    await first.application.updater.stop()
    await first.application.stop()
    await start_bot(admin_ids=frozenset({ADMIN}))  # the same state file, ADMIN_IDS changed
    state = sqlite3.connect(first.settings.state_dir / DB_NAME)
    assert state.execute("SELECT * FROM readers ORDER BY user_id").fetchall() == [
        (ADMIN, "uk"),
        (follower, "uk"),
    ]
    assert state.execute("SELECT admin_id FROM notices_owed").fetchall() == [(ADMIN,)]


async def test_a_reader_who_blocked_the_bot_after_asking_is_forgotten_at_the_refused_answer(
    start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    # README: a reader who blocks the bot loses their topics, their language and the alerts
    # waiting. One who asks, then blocks the bot before the answer, meets the block at that
    # answer, not at an alert hours later: the 403 is no failure of the bot, logged once
    # without a traceback, and what the bot keeps about them (an admin's feed notice owed
    # too, and the questions behind their answers' page buttons) goes at once. Another reader
    # keeps theirs.
    bot = await start_bot(articles=GRAIN)
    service = bot.application.bot_data["feeds"]
    for user in (7, 8, ADMIN):
        await bot.ask("/follow grain exports", user_id=user, language_code="uk")
        assert "reply_markup" in (await bot.ask(f"{MARK} grain exports?", user_id=user)).params
    await bot.application.bot_data["state"].queries.saved()
    _, article = service.db.claim_article(
        url="http://n/1", text_hash="h1", path="n/1.md", title="Grain", date=dt.date.today(), feed_id=None
    )
    passage = f"{MARK} grain exports rose."
    service.db.queue_alerts([(7, 7, article.id, "grain exports", 0.9, passage, "grain export")], [article.id])
    service.db.add_feed("http://feeds.example/rss", "f", None)
    (feed,) = service.db.feeds()
    service.db.owe_feed_notices(ADMIN, [feed])
    bot.api.blocked.update({7, ADMIN})
    for user in (7, ADMIN):
        bot.api.push_message("Who negotiated with Abramovich?", user_id=user)

    def refusals() -> list[logging.LogRecord]:
        said = [r for r in caplog.records if r.name.startswith("bot") and r.levelno >= logging.INFO]
        return [r for r in said if "blocked" in r.getMessage() or r.exc_info or r.levelno >= logging.ERROR]

    async with asyncio.timeout(60):
        while len(refusals()) < 2:
            await asyncio.sleep(0.02)
    await bot.ask("/following", user_id=8)  # a later update, answered
    told = sorted((r.getMessage().split(" (")[0], r.levelno) for r in refusals())
    assert told == [(f"user {user} blocked the bot", logging.INFO) for user in (ADMIN, 7)]
    said = [r.getMessage() for r in caplog.records if r.name.startswith("bot") and r.levelno >= logging.INFO]
    assert [m for m in said if "Forbidden" in m] == [m for m in said if "blocked the bot" in m]  # once each
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not [r for r in caplog.records if "could not tell" in r.getMessage()]
    db = sqlite3.connect(bot.settings.state_dir / DB_NAME)
    assert db.execute("SELECT user_id FROM topics").fetchall() == [(8,)]
    assert db.execute("SELECT user_id FROM readers").fetchall() == [(8,)]
    assert db.execute("SELECT count(*) FROM notices_owed").fetchone() == (0,)
    assert db.execute("SELECT kind, passage FROM alerts").fetchall() == [("dropped", "")]
    assert db.execute("SELECT chat_id FROM questions").fetchall() == [(8,)]


async def test_a_group_that_put_the_bot_out_costs_its_asker_nothing(
    start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    # Telegram refuses a group's answer with 403 once the bot was removed from it: the asker did
    # not block the bot, and keeps their topics; the refusal is logged once, without a traceback.
    bot = await start_bot()
    await bot.ask("/follow grain exports", user_id=7, language_code="uk")
    bot.api.fail("sendMessage", Fault(403, "Forbidden: bot was kicked from the group chat"))
    bot.api.push_message("/ask Who negotiated with Abramovich?", user_id=7, chat_id=-100, chat_type="group")

    def said() -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.name.startswith("bot")]

    async with asyncio.timeout(60):
        while not [r for r in said() if "refused" in r.getMessage() or r.exc_info]:
            await asyncio.sleep(0.02)
    await bot.ask("/following", user_id=7, language_code="uk")  # a later update, answered
    assert [r.getMessage() for r in said() if "refused" in r.getMessage() or r.exc_info] == [
        "chat -100 refused the bot's message: Forbidden: bot was kicked from the group chat"
    ]
    assert not [r for r in said() if r.levelno >= logging.ERROR or r.exc_info]
    db = sqlite3.connect(bot.settings.state_dir / DB_NAME)
    assert db.execute("SELECT user_id FROM topics").fetchall() == [(7,)]
    assert db.execute("SELECT user_id, language FROM readers").fetchall() == [(7, "uk")]


async def test_a_follow_the_state_file_refuses_keeps_no_language(
    start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    # A reader's language is kept for their topics' alerts alone: /follow writes it and the
    # topic in one transaction, so that a topic the file refuses (or a hard kill between the
    # two) leaves no language of a reader who follows nothing; one it takes lands both.
    bot = await start_bot()
    db = sqlite3.connect(bot.settings.state_dir / DB_NAME, isolation_level=None)
    db.execute(
        "CREATE TRIGGER refuse BEFORE INSERT ON topics WHEN NEW.words LIKE '%volcano%'"
        " BEGIN SELECT RAISE(ABORT, 'refused'); END"
    )
    refused = await bot.ask("/follow volcano eruption", user_id=9, language_code="uk")
    assert refused.params["text"] == translations("uk").gettext(
        "Sorry, something went wrong on my side. Please try again."
    )
    assert db.execute("SELECT * FROM topics").fetchall() == []
    assert db.execute("SELECT * FROM readers").fetchall() == []
    await bot.ask("/follow grain exports", user_id=9, language_code="uk")
    assert db.execute("SELECT user_id, words FROM topics").fetchall() == [(9, "grain exports")]
    assert db.execute("SELECT * FROM readers").fetchall() == [(9, "uk")]


async def test_the_page_buttons_of_a_reader_who_blocked_the_bot_are_forgotten_in_memory_too(
    start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    # README: a reader who blocks the bot loses the questions behind the page buttons of their
    # private chat. The bot held them in memory too, where the latest 10,000 are answered from:
    # a reader who unblocked it turned the pages of an answer from before until a restart.
    bot = await start_bot(top_k=1, articles=GRAIN)
    reply = await bot.ask("grain exports", user_id=7)
    other = await bot.ask("grain exports", user_id=8)
    await bot.application.bot_data["state"].queries.saved()
    bot.api.blocked.add(7)
    bot.api.push_message("Who negotiated with Abramovich?", user_id=7)
    await wait_for_log(caplog, "user 7 blocked the bot", timeout=60)
    bot.api.blocked.discard(7)  # unblocked: the buttons of the answer before are pressed again

    def press(answer: Call, user_id: int) -> None:
        data = answer.params["reply_markup"]["inline_keyboard"][0][-1]["callback_data"]
        message = {**answer.result, "chat": {"id": user_id, "type": "private"}}
        bot.api.push_callback(data, message, user_id=user_id)

    press(reply, 7)
    (pressed,) = await bot.api.wait_for("answerCallbackQuery")
    assert "expired" in pressed.params.get("text", "")
    assert bot.api.sent("editMessageText") == []
    press(other, 8)  # another reader's turn as before
    await bot.api.wait_for("editMessageText")


async def test_a_reader_who_blocked_the_bot_loses_the_recorded_replies_naming_their_topics(
    start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    # README: a reader who blocks the bot loses their topics. The reply to their /unfollow,
    # kept so that one handed out again is not applied twice, names the topic it dropped: it
    # stayed in the state file, after the reader's other topics were gone.
    bot = await start_bot()
    for words in ("Zanzibar ferry", "volcano"):
        await bot.ask(f"/follow {words}", user_id=7)
    await bot.ask("/unfollow 1", user_id=7)
    await bot.ask("/follow grain exports", user_id=8)
    await bot.ask("/unfollow 1", user_id=8)
    bot.api.blocked.add(7)
    bot.api.push_message("Who negotiated with Abramovich?", user_id=7)
    await wait_for_log(caplog, "user 7 blocked the bot", timeout=60)
    db = sqlite3.connect(bot.settings.state_dir / DB_NAME, isolation_level=None)
    assert db.execute("SELECT chat_id, reply FROM commands_done").fetchall() == [
        (8, "Stopped following “grain exports”.")  # another reader's, kept
    ]
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    for path in bot.settings.state_dir.glob(f"{DB_NAME}*"):
        assert b"Zanzibar ferry" not in path.read_bytes(), path.name

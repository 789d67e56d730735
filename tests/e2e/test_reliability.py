"""Faults from Telegram's side, bursts, floods and the admin gate, over real HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import socket
from pathlib import Path

import pytest

from fakes.bot_api import Fault
from tests.e2e.conftest import ADMIN, GRAIN, TOKEN, RunningBot, StartBot, nothing_for, wait_for_log


async def test_429_retry_after_is_waited_out_and_the_answer_arrives(
    start_bot: StartBot, recwarn: pytest.WarningsRecorder
) -> None:
    bot = await start_bot()
    bot.api.fail("sendMessage", Fault(429, "Too Many Requests: retry after 1", retry_after=1))
    started = asyncio.get_running_loop().time()
    reply = await bot.ask("Istanbul")
    assert "Istanbul" in reply.params["text"]
    assert asyncio.get_running_loop().time() - started >= 1.0
    assert not [w for w in recwarn if issubclass(w.category, DeprecationWarning)]  # nor a warning logged


async def until_taken(bot: RunningBot, method: str) -> None:
    """Wait until the faults planned for `method` have all been met."""
    async with asyncio.timeout(60):
        while bot.api.faults.get(method):
            await asyncio.sleep(0.01)


async def test_a_429_for_one_chat_holds_up_no_other_chat(start_bot: StartBot) -> None:
    bot = await start_bot()
    bot.api.fail("sendMessage", Fault(429, "Too Many Requests: retry after 20", retry_after=20))
    bot.api.push_message("Istanbul", user_id=7)
    await until_taken(bot, "sendMessage")  # chat 7 is told to wait 20 s
    other = await bot.ask("Abramovich", user_id=8)  # another chat is answered meanwhile
    assert "Abramovich" in other.params["text"]
    assert bot.api.sent("sendMessage", 7) == []
    (waited,) = await bot.api.wait_for("sendMessage", chat_id=7)  # and chat 7 once its wait is over
    assert "Istanbul" in waited.params["text"]


async def test_a_429_asking_a_chat_to_wait_hours_is_not_waited_for(
    start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await start_bot()
    bot.api.fail("sendMessage", Fault(429, "Too Many Requests: retry after 86400", retry_after=86400))
    bot.api.push_message("Istanbul", user_id=7)
    await until_taken(bot, "sendMessage")
    other = await bot.ask("Abramovich", user_id=8)
    assert "Abramovich" in other.params["text"]
    await wait_for_log(caplog, "not sent: Telegram asks chat 7 to wait 86400 s")
    assert bot.api.sent("sendMessage", 7) == []  # no apology either: the chat takes nothing for a day
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
    # the stop that ends the test waits for no day-long sleep either


async def test_a_429_for_fetching_updates_holds_up_no_answer_and_no_stop(start_bot: StartBot) -> None:
    # Telegram asks the bot to wait a day before it fetches updates again: the question it was
    # answering is answered meanwhile, and a stop (Ctrl-C, systemctl stop) is no longer held for
    # the day, as it was in the updater's own wait
    bot = await start_bot()
    bot.api.gates["sendChatAction"] = typing = asyncio.Event()
    bot.api.push_message("Istanbul", user_id=7)
    await bot.api.until_gated(1)  # the question is being answered: "typing…"
    bot.api.fail("getUpdates", Fault(429, "Too Many Requests: retry after 86400", retry_after=86400))
    await until_taken(bot, "getUpdates")
    fetched = len(bot.api.sent("getUpdates"))
    typing.set()
    (answer,) = await bot.api.wait_for("sendMessage", chat_id=7)
    assert "Istanbul" in answer.params["text"]
    assert len(bot.api.sent("getUpdates")) == fetched  # nothing fetched meanwhile: the wait is kept
    async with asyncio.timeout(60):  # only stops a hang: the stop waited out the day
        await bot.application.updater.stop()


async def test_fetching_updates_goes_on_once_a_429_for_it_is_waited_out(start_bot: StartBot) -> None:
    bot = await start_bot()
    bot.api.fail("getUpdates", Fault(429, "Too Many Requests: retry after 1", retry_after=1))
    await until_taken(bot, "getUpdates")
    reply = await bot.ask("Istanbul")
    assert "Istanbul" in reply.params["text"]


@pytest.mark.parametrize("method", ["answerInlineQuery", "answerCallbackQuery"])
async def test_a_429_for_an_answer_to_no_chat_holds_up_no_chat(start_bot: StartBot, method: str) -> None:
    # an inline query or a button press names no chat: its 429 paused every request of the bot
    bot = await start_bot()
    bot.api.fail(method, Fault(429, "Too Many Requests: retry after 20", retry_after=20))
    if method == "answerInlineQuery":
        bot.api.push_inline_query("Istanbul", user_id=9)
    else:  # a press on the button of an answer long forgotten: "expired"
        pressed = {"message_id": 5, "date": 0, "chat": {"id": 9, "type": "private"}, "text": "x"}
        bot.api.push_callback("page:forgotten:2", pressed, user_id=9)
    await until_taken(bot, method)  # Telegram asks the bot to wait 20 s with that answer
    other = await bot.ask("Abramovich", user_id=8)  # another chat is answered meanwhile
    assert "Abramovich" in other.params["text"]
    assert bot.api.sent(method) == []  # (and the answer, which Telegram takes for 10 s, is dropped)


async def test_an_inline_answer_that_could_go_out_only_past_telegrams_window_is_dropped_not_queued(
    start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    # Telegram takes an inline answer for about 10 s. Asked to wait 20 s, the bot queued this one
    # and every later query's behind it: each went out up to 30 s late, stale, or was refused
    bot = await start_bot()
    bot.api.fail("answerInlineQuery", Fault(429, "Too Many Requests: retry after 20", retry_after=20))
    first = bot.api.push_inline_query("Istanbul", user_id=9)
    await wait_for_log(caplog, f"inline query {first} not answered: not sent: Telegram asks answerInline")
    later = bot.api.push_inline_query("Abramovich", user_id=9)  # typed on, within the 20 s
    await wait_for_log(caplog, f"inline query {later} not answered")
    assert bot.api.sent("answerInlineQuery") == []
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]


async def test_an_inline_answer_asked_to_wait_within_telegrams_window_goes_out(start_bot: StartBot) -> None:
    bot = await start_bot()
    bot.api.fail("answerInlineQuery", Fault(429, "Too Many Requests: retry after 1", retry_after=1))
    query = bot.api.push_inline_query("Istanbul", user_id=9)
    (answer,) = await bot.api.wait_for("answerInlineQuery")
    assert answer.params["inline_query_id"] == query and answer.params["results"]


async def test_a_page_press_whose_answer_telegram_holds_shows_its_page_at_once(start_bot: StartBot) -> None:
    # the press's answer ("loading…" ends) was queued 20 s, and the page's edit behind it
    bot = await start_bot(articles=GRAIN)
    answer = await bot.ask("grain exports")
    bot.api.fail("answerCallbackQuery", Fault(429, "Too Many Requests: retry after 20", retry_after=20))
    data = answer.params["reply_markup"]["inline_keyboard"][0][-1]["callback_data"]
    bot.api.push_callback(data, answer.result)  # ▶
    (edit,) = await bot.api.wait_for("editMessageText")
    assert edit.params["message_id"] == answer.result["message_id"]
    assert bot.api.sent("answerCallbackQuery") == []  # dropped: Telegram would take it no longer


@pytest.mark.parametrize(
    "refusal",
    [
        "Bad Request: not enough rights to send text messages to the chat",  # the bot muted in the group
        "Bad Request: CHAT_WRITE_FORBIDDEN",
        "Bad Request: TOPIC_CLOSED",  # a forum topic closed while its question waited
    ],
)
async def test_a_group_that_lets_the_bot_write_nothing_gets_no_apology_and_logs_no_error(
    start_bot: StartBot, caplog: pytest.LogCaptureFixture, refusal: str
) -> None:
    bot = await start_bot()
    group = {"chat_id": -100, "chat_type": "supergroup"}
    bot.api.fail("sendMessage", Fault(400, refusal))
    bot.api.push_message("@news_test_bot Istanbul", user_id=7, **group)
    await until_taken(bot, "sendMessage")
    # the chat's next message answers the next question: no apology, which the chat refuses too
    answer = await bot.ask("@news_test_bot Abramovich", user_id=7, **group)
    assert "Abramovich" in answer.params["text"]
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert any("chat -100 refused the bot's message" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize(
    "faults",
    [
        [Fault(500), Fault(502, "Bad Gateway")],  # server errors: Telegram did not act on the request
        [Fault(503, "Service Unavailable"), Fault(500), Fault(502, "Bad Gateway")],
    ],
)
async def test_server_errors_are_retried_and_the_answer_arrives_once(
    start_bot: StartBot, faults: list[Fault]
) -> None:
    bot = await start_bot()
    bot.api.fail("sendMessage", *faults)
    reply = await bot.ask("Istanbul")
    assert "Istanbul" in reply.params["text"]
    assert len(bot.api.sent("sendMessage")) == 1


async def test_a_refused_connection_is_retried_and_the_answer_arrives_once(
    start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await start_bot()
    bot.api.fail("sendChatAction", Fault(refuse=True))  # "typing…" goes out, then no one listens
    bot.api.push_message("Istanbul", user_id=7)
    await wait_for_log(caplog, "sendMessage failed (httpx.ConnectError")  # refused: nothing was sent
    with socket.socket() as other, pytest.raises(OSError, match="in use"):  # the port is not let go
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as a server's, asyncio's
        other.bind(("127.0.0.1", bot.api.port))
    await bot.api.accept_connections()
    (reply,) = await bot.api.wait_for("sendMessage", chat_id=7)
    assert "Istanbul" in reply.params["text"]


@pytest.mark.parametrize(
    ("fault", "delivered"),
    [
        (Fault(drop=True, delivered=True), 1),  # delivered, then the connection dropped
        (Fault(delivered=True, delay=6.0), 1),  # delivered, answered after the client's 5 s timeout
        (Fault(drop=True), 0),  # dropped before Telegram acted: the bot cannot tell, so no resend
    ],
)
async def test_a_message_whose_answer_is_lost_is_not_sent_again(
    start_bot: StartBot, caplog: pytest.LogCaptureFixture, fault: Fault, delivered: int
) -> None:
    bot = await start_bot()
    bot.api.fail("sendMessage", fault)
    bot.api.push_message("Istanbul", user_id=7)
    await wait_for_log(caplog, "it may have reached Telegram: not sent again")
    assert len(bot.api.sent("sendMessage")) == delivered  # no second copy, and no apology
    answer = await bot.ask("Abramovich")  # and the bot keeps answering
    assert "Abramovich" in answer.params["text"]
    assert len(bot.api.sent("sendMessage", 7)) == delivered + 1


async def test_polling_survives_an_outage_without_losing_or_repeating_updates(start_bot: StartBot) -> None:
    bot = await start_bot()
    bot.api.down = True
    for number in range(5):
        bot.api.push_message(f"zzq{number}", user_id=100 + number)
    await asyncio.sleep(3)
    assert bot.api.sent("sendMessage") == []
    bot.api.down = False
    for number in range(5):
        (answer,) = await bot.api.wait_for("sendMessage", chat_id=100 + number)
        assert nothing_for(answer) == f"zzq{number}"  # its own question's answer, no other's
    await asyncio.sleep(0.5)
    assert len(bot.api.sent("sendMessage")) == 5  # each answered exactly once


async def test_the_confirmed_offset_never_runs_more_than_the_bound_ahead_of_the_answers(
    start_bot: StartBot,
) -> None:
    bound = 5
    bot = await start_bot(max_unanswered_updates=bound)
    bot.api.batch = 20  # three getUpdates batches ...
    bot.api.latency["sendMessage"] = 0.05  # ... answered slowly
    users = range(500, 560)
    last = max(bot.api.push_message(f"zzq{user}", user_id=user) for user in users)
    for user in users:
        (answer,) = await bot.api.wait_for("sendMessage", chat_id=user, timeout=60)
        assert nothing_for(answer) == f"zzq{user}"
    # updates before the offset are forgotten by Telegram: at most `bound` of them unanswered
    ahead = [offset - 1 - answered for offset, answered in bot.api.confirmations if offset]
    assert ahead and max(ahead) <= bound
    assert bot.api.confirmations[-1][0] == last + 1  # and all are confirmed in the end
    assert len(bot.api.sent("sendMessage")) == len(users)


async def test_a_burst_is_answered_once_each_and_in_order_per_user(start_bot: StartBot) -> None:
    bot = await start_bot()
    users, per_user = 10, 8
    for turn in range(per_user):
        for user in range(users):
            bot.api.push_message(f"zzq{user}x{turn}", user_id=200 + user)
    for user in range(users):
        calls = await bot.api.wait_for("sendMessage", chat_id=200 + user, count=per_user)
        asked = [nothing_for(call) for call in calls]
        assert asked == [f"zzq{user}x{turn}" for turn in range(per_user)]
    assert len(bot.api.sent("sendMessage")) == users * per_user


async def test_a_flooding_user_is_told_once_to_slow_down_and_others_are_unaffected(
    start_bot: StartBot,
) -> None:
    bot = await start_bot(questions_per_minute=3)
    for number in range(8):
        bot.api.push_message(f"zzq{number}", user_id=300)
    calm = await bot.ask("Istanbul", user_id=301)
    assert "Istanbul" in calm.params["text"]
    await bot.api.wait_for("sendMessage", chat_id=300, count=4)
    await asyncio.sleep(0.5)
    answers = bot.api.sent("sendMessage", 300)
    assert len(answers) == 4
    assert [nothing_for(answer) for answer in answers[:3]] == ["zzq0", "zzq1", "zzq2"]  # the first three
    assert answers[3].params["text"].startswith("You are asking faster than I can answer")


async def test_in_a_group_the_sender_decides_admin_not_the_chat(
    start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await start_bot()
    group = {"chat_type": "supergroup"}
    refused = await bot.ask("/reload", user_id=8, chat_id=ADMIN, **group)
    assert "only the bot's admins" in refused.params["text"]
    assert "refused /reload from user 8" in caplog.text
    allowed = await bot.ask("/reload", user_id=ADMIN, chat_id=-500, **group)
    assert "Corpus reloaded" in allowed.params["text"]


async def test_reload_for_another_bot_is_ignored(start_bot: StartBot) -> None:
    bot = await start_bot()
    bot.api.push_message("/reload@otherbot", user_id=ADMIN, chat_id=-600, chat_type="group")
    answer = await bot.ask("/ask Istanbul", user_id=ADMIN, chat_id=-600, chat_type="group")
    assert "Istanbul" in answer.params["text"]
    assert len(bot.api.sent("sendMessage", -600)) == 1


@pytest.mark.parametrize("level", [logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR])
async def test_token_is_in_no_log_line_at_any_level(
    start_bot: StartBot, caplog: pytest.LogCaptureFixture, level: int
) -> None:
    caplog.set_level(level)
    bot = await start_bot()
    bot.api.fail("sendMessage", Fault(400, f"Bad Request: echo {TOKEN}"))  # the token in an error
    bot.api.push_message("Istanbul", user_id=9)
    await bot.api.wait_for("sendMessage", chat_id=9)  # the apology, after the failures
    await asyncio.sleep(0.2)
    assert caplog.records  # something was logged at this level
    assert TOKEN not in caplog.text
    for call in bot.api.sent("sendMessage"):
        assert TOKEN not in call.params["text"]


def held_below(folder: Path) -> list[str]:
    """The files below `folder` this process holds open or maps."""
    held = [line.split(None, 5)[-1] for line in Path("/proc/self/maps").read_text().splitlines()]
    for descriptor in Path("/proc/self/fd").iterdir():
        with contextlib.suppress(OSError):  # closed since it was listed
            held.append(os.readlink(descriptor))
    return sorted(path for path in held if path.startswith(f"{folder}/"))


async def test_a_stopped_bot_holds_no_file_of_its_state_or_index(start_bot: StartBot, tmp_path: Path) -> None:
    # A stopped application stays in reference cycles until the garbage collector's rare full
    # pass: its state file (with its -wal and -shm) and the saved index its library maps stayed
    # open all that time. A process that runs bots one after another (the tests: hundreds of
    # descriptors by a tenth of the suite) crept towards the limit of open files.
    bot = await start_bot(saved_index=True)
    await bot.ask("grain exports")
    assert held_below(tmp_path / "index") and held_below(tmp_path / "state")  # what a serving bot holds
    gc.disable()  # the full pass must not free what the stop left
    try:
        await bot.application.updater.stop()
        await bot.application.stop()
        await bot.application.shutdown()
        assert held_below(tmp_path) == []
    finally:
        gc.enable()

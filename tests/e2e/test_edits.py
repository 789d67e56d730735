"""An edited question gets its answer edited: the same message of the bot's, in place."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from bot.backlog import UpdateBacklog
from bot.handlers import SLOW_DOWN
from fakes.bot_api import Call
from tests.conftest import article
from tests.e2e.conftest import GRAIN, RunningBot, StartBot

TYPO = "Who negotiated with Abramovic?"
FIXED = "Who negotiated with Abramovich?"


async def until(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    """Wait for `condition`, checking often; fail after `timeout` seconds (a hang guard)."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


async def settled(bot: RunningBot) -> None:
    """Wait until every update fetched so far has been answered."""
    backlog: UpdateBacklog = bot.application.update_queue
    await until(lambda: backlog.last_update_id is not None and backlog.unanswered == 0)


async def edit(bot: RunningBot, text: str | None, message_id: int, **extra: Any) -> Call:
    """Edit a message the reader sent before and return the bot's next edit of a message."""
    before = len(bot.api.sent("editMessageText"))
    bot.api.push_edit(text, message_id, user_id=extra.pop("user_id", 7), **extra)
    return (await bot.api.wait_for("editMessageText", count=before + 1))[before]


def buttons(call: Call) -> list[tuple[str, str]]:
    """The (label, data) of each button under a message the bot sent or edited."""
    markup = call.params.get("reply_markup") or {"inline_keyboard": []}
    return [(button["text"], button["callback_data"]) for row in markup["inline_keyboard"] for button in row]


async def test_a_question_edited_to_fix_a_typo_gets_its_answer_edited_in_place(start_bot: StartBot) -> None:
    bot = await start_bot()
    asked = bot.api.new_message_id()
    answer = await bot.ask(TYPO, message_id=asked)
    assert "<b>Abramovich</b>" not in answer.params["text"]
    edited = await edit(bot, FIXED, asked)
    assert edited.params["chat_id"] == 7
    assert edited.params["message_id"] == answer.result["message_id"]  # the answer itself, not a new one
    assert "<b>Abramovich</b>" in edited.params["text"]
    assert edited.params["parse_mode"] == "HTML"
    await settled(bot)
    assert len(bot.api.sent("sendMessage", 7)) == 1  # the chat holds one answer, now the right one
    again = await edit(bot, "Where did talks break down, Istanbul?", asked)  # once more: the same message
    assert again.params["message_id"] == answer.result["message_id"]
    assert "<b>Istanbul</b>" in again.params["text"]


async def test_an_edited_answer_gains_or_loses_its_page_buttons_with_the_new_question(
    start_bot: StartBot,
) -> None:
    # Every answer is one message: its pages are turned in place. An edited question's answer
    # shows its first page, with the buttons of its own pages, or none for a single page;
    # the buttons of the question before stop working.
    bot = await start_bot(top_k=1, articles=GRAIN)
    asked = bot.api.new_message_id()
    answer = await bot.ask("Where did the talks collapse in Istanbul?", message_id=asked)
    assert buttons(answer) == []
    many = await edit(bot, "grain exports", asked)
    labels = [label for label, _ in buttons(many)]
    assert labels == ["1/5", "▶"]
    first_pages = buttons(many)[-1][1]
    before = len(bot.api.sent("editMessageText"))
    bot.api.push_callback(first_pages, answer.result, user_id=7)
    turned = (await bot.api.wait_for("editMessageText", count=before + 1))[before]
    assert turned.params["text"].startswith("<b>2. ") and "<b>grain</b>" in turned.params["text"]
    one = await edit(bot, "Istanbul", asked)
    assert one.params["message_id"] == answer.result["message_id"]
    assert "reply_markup" not in one.params  # the buttons are gone with the pages
    assert "<b>Istanbul</b>" in one.params["text"]
    presses = len(bot.api.sent("answerCallbackQuery"))
    bot.api.push_callback(first_pages, answer.result, user_id=7)
    (*_, expired) = await bot.api.wait_for("answerCallbackQuery", count=presses + 1)
    assert expired.params["text"] == "This button has expired. Please ask your question again."
    key = first_pages.split(":")[1]
    assert bot.application.bot_data["feeds"].db.asked(key) is None  # forgotten in the state file too


def bot_message(message_id: int, chat_id: int = 7) -> dict[str, Any]:
    """A message of the bot's, as Telegram attaches it to a button press."""
    return {
        "message_id": message_id,
        "date": int(time.time()),
        "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
        "from": {"id": 999, "is_bot": True, "first_name": "News"},
        "text": "x",
    }


async def test_an_edit_the_bot_cannot_place_is_answered_anew_as_a_reply(start_bot: StartBot) -> None:
    # After a restart, or for a question never answered (asked over the limit, say), the bot
    # does not know its answer: it answers the edit as a new question, quoting it.
    bot = await start_bot()
    unknown = bot.api.new_message_id()
    bot.api.push_edit(FIXED, unknown, user_id=7, language_code="uk")
    (reply,) = await bot.api.wait_for("sendMessage", chat_id=7)
    assert reply.params["reply_parameters"]["message_id"] == unknown
    assert "<b>Abramovich</b>" in reply.params["text"]
    again = await edit(bot, "zyzzyva quux", unknown, language_code="uk")  # now known: edited in place
    assert again.params["message_id"] == reply.result["message_id"]
    assert "Нічого не знайшов" in again.params["text"]  # in the reader's language
    # An answer deleted meanwhile cannot be edited: the edit gets a new answer instead.
    bot.api.deleted.add((7, reply.result["message_id"]))
    bot.api.push_edit("Istanbul", unknown, user_id=7)
    (_, anew) = await bot.api.wait_for("sendMessage", chat_id=7, count=2)
    assert anew.params["reply_parameters"]["message_id"] == unknown
    assert "<b>Istanbul</b>" in anew.params["text"]


async def test_an_edit_that_leaves_the_words_as_they_were_gets_nothing(start_bot: StartBot) -> None:
    bot = await start_bot()
    asked = bot.api.new_message_id()
    await bot.ask(FIXED, message_id=asked)
    bold = [{"type": "bold", "offset": 0, "length": 3}]
    bot.api.push_edit(FIXED, asked, user_id=7, entities=bold)  # its formatting changed, not its words
    bot.api.push_edit(f"  {FIXED}\n", asked, user_id=7)  # nor by spaces around them
    bot.api.push_edit(None, asked, user_id=7, location={"latitude": 50.45, "longitude": 30.52})
    await bot.ask("Istanbul")  # answered after the edits: one chat's updates go in order
    await settled(bot)
    assert bot.api.sent("editMessageText") == []
    assert len(bot.api.sent("sendMessage", 7)) == 2  # the two questions' answers, nothing more
    assert len(bot.api.sent("sendChatAction", 7)) == 2  # and no search for the edits


async def test_an_edited_topic_command_is_not_run_again(start_bot: StartBot) -> None:
    # README: an edited command other than /ask or /search is not run again. "/unfollow 3" edited
    # to "/unfollow 1" would drop a second topic, and a /follow edited would add one unasked.
    bot = await start_bot()
    for topic in ("Zanzibar ferry", "volcano", "grain exports"):
        await bot.ask(f"/follow {topic}")
    unfollow, follow = bot.api.new_message_id(), bot.api.new_message_id()
    assert (await bot.ask("/unfollow 3", message_id=unfollow)).params[
        "text"
    ] == "Stopped following “grain exports”."
    assert (
        (await bot.ask("/follow harbour", message_id=follow))
        .params["text"]
        .startswith("Following “harbour”.")
    )
    before = len(bot.api.sent("sendMessage", 7))
    bot.api.push_edit("/unfollow 1", unfollow, user_id=7)
    bot.api.push_edit("/follow volcano ash", follow, user_id=7)
    listing = (await bot.ask("/following")).params[
        "text"
    ]  # answered after them: one chat's updates go in order
    assert "1. Zanzibar ferry\n2. volcano\n3. harbour\n" in listing and "ash" not in listing
    assert len(bot.api.sent("sendMessage", 7)) == before + 1  # the edits got no reply
    assert bot.api.sent("editMessageText") == []


async def test_an_ask_edited_to_nothing_gets_its_usage_line_in_place_of_its_answer(
    start_bot: StartBot,
) -> None:
    # the usage line came as a new reply, and the answer above it stayed, answering words no
    # longer there; the usage line is that message's answer as any other is
    bot = await start_bot()
    asked = bot.api.new_message_id()
    answer = await bot.ask(f"/ask {FIXED}", message_id=asked)
    usage = await edit(bot, "/ask", asked)
    assert usage.params["message_id"] == answer.result["message_id"]
    assert usage.params["text"].startswith("Usage: /ask <question>")
    again = await edit(bot, f"/ask {FIXED}", asked)  # a question again: the same message
    assert again.params["message_id"] == answer.result["message_id"]
    assert "<b>Abramovich</b>" in again.params["text"]
    bare = bot.api.new_message_id()
    first = await bot.ask("/search", message_id=bare)  # sent with nothing, then the question added
    assert first.params["text"].startswith("Usage: /search <question>")
    fixed = await edit(bot, f"/search {FIXED}", bare)
    assert fixed.params["message_id"] == first.result["message_id"]
    assert "<b>Abramovich</b>" in fixed.params["text"]
    await settled(bot)
    assert len(bot.api.sent("sendMessage", 7)) == 2  # one answer each, edited in place


async def test_an_edit_is_asked_as_of_the_day_of_the_edit(start_bot: StartBot) -> None:
    # A message written before an article was published, edited after: the edit's question
    # is asked as of the edit, so it may find the article.
    bot = await start_bot(
        articles={"talks.txt": article("2024-11-20", "Talks in Geneva", "Envoys met in Geneva.")}
    )
    asked = bot.api.new_message_id()
    sent_on = int(time.mktime((2024, 11, 1, 12, 0, 0, 0, 0, 0)))
    answer = await bot.ask("What happened in Geneva?", message_id=asked, date=sent_on)
    assert "Talks in Geneva" not in answer.params["text"]  # not published yet on the day it was sent
    edited = await edit(bot, "What happened in Geneva then?", asked, date=sent_on)
    assert "Talks in Geneva" in edited.params["text"]


async def test_an_edit_over_the_senders_limit_is_told_so_in_place_of_its_answer(start_bot: StartBot) -> None:
    # An edit counts against the limit as a message does; over it, the answer to the words
    # before the edit no longer answers the question, and its place says why, as the usage
    # line takes it for an /ask edited down to nothing: the chat gains no message.
    bot = await start_bot(questions_per_minute=1, top_k=1, articles=GRAIN)
    asked = bot.api.new_message_id()
    answer = await bot.ask("grain exports", message_id=asked)
    assert buttons(answer)  # pages of the words before the edit
    slow = await edit(bot, FIXED, asked)
    assert slow.params["message_id"] == answer.result["message_id"]
    assert slow.params["text"] == SLOW_DOWN
    assert buttons(slow) == []  # the earlier question's pages are gone with its answer
    bot.api.push_edit("Where did talks break down, Istanbul?", asked, user_id=7)  # over it again: silence
    await settled(bot)
    assert len(bot.api.sent("sendMessage", 7)) == 1
    assert len(bot.api.sent("editMessageText")) == 1


async def test_in_a_group_an_edit_is_answered_only_when_it_is_addressed_to_the_bot(
    start_bot: StartBot,
) -> None:
    bot = await start_bot()
    group = {"chat_id": -100, "chat_type": "supergroup"}
    asked, command, chatter = (bot.api.new_message_id() for _ in range(3))
    answer = await bot.ask(f"@news_test_bot {TYPO}", user_id=7, message_id=asked, **group)
    edited = await edit(bot, f"@news_test_bot {FIXED}", asked, **group)
    assert edited.params["message_id"] == answer.result["message_id"]
    assert "<b>Abramovich</b>" in edited.params["text"]
    by_command = await bot.ask(f"/ask {TYPO}", user_id=8, message_id=command, **group)
    edited = await edit(bot, f"/ask {FIXED}", command, user_id=8, **group)
    assert edited.params["message_id"] == by_command.result["message_id"]
    assert "<b>Abramovich</b>" in edited.params["text"]
    bot.api.push_message("nice weather", user_id=9, message_id=chatter, **group)
    bot.api.push_edit("nice weather today, Istanbul", chatter, user_id=9, **group)  # chatter edited
    bot.api.push_edit(f"{FIXED} (no longer for the bot)", asked, user_id=7, **group)  # its mention removed
    await bot.ask(f"@news_test_bot {FIXED}", user_id=7, **group)  # answered after them, in order
    await settled(bot)
    assert len(bot.api.sent("editMessageText")) == 2
    assert len(bot.api.sent("sendMessage", -100)) == 3  # the three questions' answers alone

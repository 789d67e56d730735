"""Hostile and odd input: each gets a polite answer (or none), and the bot keeps serving."""

from __future__ import annotations

import asyncio

import pytest

from tests.e2e.conftest import StartBot, wait_for_log

HOSTILE = [
    "",  # empty text
    " \t ",  # whitespace only
    "a" * 4096,  # one 4,096-character word
    "\u200f\u202eAbramovich\u202c",  # RTL marks and overrides
    "👩‍👩‍👧‍👦 🏳️‍🌈 👍🏽",  # emoji sequences with zero-width joiners and modifiers
    "Z̷̢̛a̴͇͝l̸̩͗g̵̱͒o̷̙͂ Abramovich",  # stacked combining marks
    "\ud83d broken surrogate \udc00",  # lone surrogates, legal in JSON
    "<a href='javascript:alert(1)'>x</a> </b> &amp; &lt;",  # HTML injection
    "*bold* _it_ [link](http://x) `code` ~~s~~",  # Markdown injection
    "/timeline -1",
    "/timeline 99999",
    "/latest abc",
    "/reload@otherbot",
    "\x00\x01\x02 control characters",
]


@pytest.mark.parametrize("text", HOSTILE)
async def test_hostile_text_gets_a_polite_reply_and_the_bot_keeps_serving(
    start_bot: StartBot, text: str
) -> None:
    bot = await start_bot()
    bot.api.push_message(text, user_id=7)
    bot.api.push_message("Who negotiated with Abramovich?", user_id=7)
    # one chat's updates are answered in order: the question's answer comes last
    replies = await bot.api.wait_for("sendMessage", chat_id=7)
    while "Roman <b>Abramovich</b>" not in replies[-1].params["text"]:
        replies = await bot.api.wait_for("sendMessage", chat_id=7, count=len(replies) + 1)
    assert all("something went wrong" not in call.params["text"] for call in replies)
    assert len(replies) <= 2  # at most one reply to the hostile message


async def test_answers_to_hostile_text_are_escaped(start_bot: StartBot) -> None:
    bot = await start_bot()
    reply = (await bot.ask("<a href='javascript:alert(1)'>x</a> </b> zzq")).params["text"]
    assert "&lt;a href=&#x27;javascript:alert(1)&#x27;&gt;x&lt;/a&gt; &lt;/b&gt;" in reply


async def test_an_update_the_library_cannot_read_is_skipped_and_the_bot_keeps_polling(
    start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    # a field of a type python-telegram-bot does not expect, as a newer Bot API may send:
    # parsed with the rest of its batch, it stopped polling for good
    bot = await start_bot()
    message = {"message_id": 1, "date": "soon", "chat": {"id": 9, "type": "private"}, "text": "hi"}
    unreadable = bot.api.push_update({"message": message})
    await wait_for_log(caplog, f"update {unreadable} (message) could not be read, skipped")
    async with asyncio.timeout(30):  # the offset moves past it: it is not fetched again and again
        while not any(offset > unreadable for offset, _ in bot.api.confirmations):
            await asyncio.sleep(0.02)
    reply = await bot.ask("Who negotiated with Abramovich?")
    assert "Roman <b>Abramovich</b>" in reply.params["text"]
    assert bot.api.sent("sendMessage", chat_id=9) == []  # nothing is answered for it

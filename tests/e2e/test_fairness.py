"""No user can slow down the others: slow searches, floods of "More" presses, anonymous senders."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from collections.abc import Sequence
from typing import Any

from bot.handlers import GROUP_ANONYMOUS_BOT, SLOW_DOWN
from bot.state import BotState
from retrieval import Event, Library, SearchResult, Timeline
from tests.e2e.conftest import StartBot
from tests.e2e.fake_api import Call


class Gate:
    """Holds every search for a question with `word` (or the index's scoring of terms with it)
    until released, counting how many run at once.

    The only stand-in in these tests: a real search takes milliseconds, and only a search
    held on an event lets a test order "this search is still running" before "that
    answer arrives" without measuring time.
    """

    def __init__(self, word: str) -> None:
        self.word = word
        self.release = threading.Event()
        self.running = 0
        self.most = 0
        self._changed = threading.Condition()

    def around(self, library: Library) -> Library:
        """The same library (same index, same answers), its searches passing through this gate."""
        gate = self

        class Gated(Library):
            def search(self, question: str, *args: Any, **kwargs: Any) -> SearchResult:
                gate.hold(question)
                return super().search(question, *args, **kwargs)

        class GatedTimeline(Timeline):
            def latest(self, limit: int, topic: str | None = None) -> list[Event]:
                gate.hold(topic or "")
                return super().latest(limit, topic)

        fields = {field.name: getattr(library, field.name) for field in dataclasses.fields(library)}
        fields["timeline"] = GatedTimeline(library.timeline.events, library.timeline.positions)
        return Gated(**fields)

    def around_index(self, library: Library) -> Library:
        """The same library, its index's scoring (questions' and topics' alike) passing through this gate."""
        gate, index = self, library.index

        class GatedIndex:
            def __getattr__(self, name: str) -> Any:
                return getattr(index, name)

            def score(self, query: Sequence[str]) -> Any:
                gate.hold(" ".join(query))
                return index.score(query)

        return dataclasses.replace(library, index=GatedIndex())

    def hold(self, question: str) -> None:
        if self.word not in question:
            return
        with self._changed:
            self.running += 1
            self.most = max(self.most, self.running)
            self._changed.notify_all()
        self.release.wait(timeout=60)  # a safety net only: the test releases it
        with self._changed:
            self.running -= 1

    async def until_running(self, count: int) -> None:
        """Wait (off the event loop) until `count` held searches are running."""

        def wait() -> bool:
            with self._changed:
                return self._changed.wait_for(lambda: self.running >= count, timeout=60)

        assert await asyncio.to_thread(wait)


def state_of(bot: Any) -> BotState:
    state: BotState = bot.application.bot_data["state"]
    return state


def more_data(reply: Call) -> str:
    data: str = reply.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    return data


def bot_message(chat_id: int, message_id: int = 555) -> dict[str, Any]:
    """A message of the bot's, as Telegram attaches it to a button press."""
    chat_type = "private" if chat_id > 0 else "supergroup"
    return {
        "message_id": message_id,
        "date": int(time.time()),
        "chat": {"id": chat_id, "type": chat_type},
        "from": {"id": 999, "is_bot": True, "first_name": "News"},
        "text": "x",
    }


async def test_a_slow_search_does_not_hold_up_other_chats(start_bot: StartBot) -> None:
    bot = await start_bot()
    state, gate = state_of(bot), Gate("Abramovich")
    state.library = gate.around(state.library)
    bot.api.push_message("Who negotiated with Abramovich?", user_id=11)
    await gate.until_running(1)
    try:
        other = await bot.ask("Where did the talks collapse?", user_id=12)
        assert "Istanbul" in other.params["text"]
        assert bot.api.sent("sendMessage", 11) == []  # the first search is still running
    finally:
        gate.release.set()
    (held,) = await bot.api.wait_for("sendMessage", chat_id=11)
    assert "Abramovich" in held.params["text"]


async def test_a_slow_timeline_topic_does_not_hold_up_other_chats(start_bot: StartBot) -> None:
    bot = await start_bot()
    state, gate = state_of(bot), Gate("negotiations")
    state.library = gate.around(state.library)
    bot.api.push_message("/timeline 5 negotiations", user_id=13)
    await gate.until_running(1)
    try:
        other = await bot.ask("Where did the talks collapse?", user_id=14)
        assert "Istanbul" in other.params["text"]
        assert bot.api.sent("sendMessage", 13) == []
    finally:
        gate.release.set()
    (held,) = await bot.api.wait_for("sendMessage", chat_id=13)
    assert "negotiations" in held.params["text"].lower()


async def test_a_timeline_topic_counts_as_a_question_and_a_plain_timeline_does_not(
    start_bot: StartBot,
) -> None:
    bot = await start_bot(questions_per_minute=2)
    assert "Istanbul" in (await bot.ask("Istanbul", user_id=15)).params["text"]
    assert "negotiations" in (await bot.ask("/timeline 5 negotiations", user_id=15)).params["text"].lower()
    assert (await bot.ask("/timeline 5 negotiations", user_id=15)).params["text"] == SLOW_DOWN
    assert (await bot.ask("/timeline 3", user_id=15)).params["text"] != SLOW_DOWN


async def test_searches_run_two_at_a_time_and_the_rest_wait_their_turn(start_bot: StartBot) -> None:
    bot = await start_bot()
    state, gate = state_of(bot), Gate("Istanbul")
    state.library = gate.around(state.library)
    users = range(20, 26)
    for user in users:
        bot.api.push_message("Istanbul", user_id=user)
    await bot.api.wait_for("sendChatAction", count=len(users))  # every chat is about to search
    await gate.until_running(2)
    gate.release.set()
    for user in users:
        (reply,) = await bot.api.wait_for("sendMessage", chat_id=user)
        assert "Istanbul" in reply.params["text"]
    assert gate.most == 2


async def test_a_flood_in_one_chat_leaves_the_processing_slots_to_other_chats(start_bot: StartBot) -> None:
    # A bound on unanswered updates above the 256 processing slots lets the flood reach them.
    bot = await start_bot(max_unanswered_updates=1000)
    state, gate = state_of(bot), Gate("flood")
    state.library = gate.around(state.library)
    for number in range(300):  # more updates than are processed at once (256)
        bot.api.push_message(f"/ask flood {number}", user_id=50, chat_id=-900, chat_type="supergroup")
    await gate.until_running(1)  # the first is being answered; the others wait for their chat
    try:
        other = await bot.ask("Where did the talks collapse?", user_id=51)
        assert "Istanbul" in other.params["text"]
        assert bot.api.sent("sendMessage", -900) == []
    finally:
        gate.release.set()
    replies = await bot.api.wait_for("sendMessage", chat_id=-900, count=21)
    assert replies[20].params["text"] == SLOW_DOWN  # twenty answered, then told once


async def test_a_flood_of_more_presses_is_limited_and_delays_no_one(start_bot: StartBot) -> None:
    bot = await start_bot(top_k=1, questions_per_minute=3)
    reply = await bot.ask("Umerov negotiations", user_id=7)
    data, message = more_data(reply), bot_message(7)
    for number in range(500):
        if number == 250:
            bot.api.push_message("Where did the talks collapse?", user_id=8)
        bot.api.push_callback(data, message, user_id=7)
    # One chat's updates are handled in order, so a last press on the same message, by a
    # user not over the limit and asking for the first page, marks the end of the flood.
    bot.api.push_callback(data.rsplit(":", 1)[0] + ":0", message, user_id=9)
    (other,) = await bot.api.wait_for("sendMessage", chat_id=8)
    assert "Istanbul" in other.params["text"]
    while not any(edit.params["text"].startswith("<b>1. ") for edit in bot.api.sent("editMessageText")):
        await bot.api.wait_for("editMessageText", count=len(bot.api.sent("editMessageText")) + 1)
    assert len(bot.api.sent("editMessageText")) == 3  # two presses (the question was the first) + the last
    answers = [call.params.get("text") for call in bot.api.sent("answerCallbackQuery")]
    assert answers.count(SLOW_DOWN) == 1  # told once, then silence: no call at all per refused press
    assert len(answers) == 4


async def test_a_more_button_works_only_in_the_chat_it_was_sent_to(start_bot: StartBot) -> None:
    bot = await start_bot(top_k=1)
    data = more_data(await bot.ask("Umerov negotiations", user_id=7))
    bot.api.push_callback(data, bot_message(8), user_id=8)  # replayed from another chat
    (refused,) = await bot.api.wait_for("answerCallbackQuery")
    assert "expired" in refused.params["text"]
    bot.api.push_callback(data, bot_message(7), user_id=7)
    (edit,) = await bot.api.wait_for("editMessageText")
    assert edit.params["chat_id"] == 7
    assert edit.params["text"].startswith("<b>2. ")
    assert len(bot.api.sent("editMessageText")) == 1


async def test_anonymous_admins_are_limited_per_group(start_bot: StartBot) -> None:
    bot = await start_bot(questions_per_minute=2)

    def ask_anonymously(group: int) -> None:
        chat = {"id": group, "type": "supergroup", "title": f"Group {group}"}
        bot.api.push_message(
            "/ask Istanbul",
            user_id=GROUP_ANONYMOUS_BOT,
            chat_id=group,
            chat_type="supergroup",
            sender_chat=chat,
        )

    for _ in range(3):
        ask_anonymously(-801)
    replies = await bot.api.wait_for("sendMessage", chat_id=-801, count=3)
    assert replies[2].params["text"] == SLOW_DOWN
    ask_anonymously(-802)  # anonymous admins of another group are other people
    (answer,) = await bot.api.wait_for("sendMessage", chat_id=-802)
    assert "Istanbul" in answer.params["text"]

"""No user can slow down the others: slow searches, busy groups, floods of page presses, anonymous senders."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from bot.backlog import UpdateBacklog
from bot.chat_share import BUSY
from bot.handlers import GROUP_ANONYMOUS_BOT, SLOW_DOWN
from bot.pages import COUNTER
from bot.state import BotState
from fakes.bot_api import Call
from retrieval import Event, Library, SearchResult, Timeline
from tests.e2e.conftest import (
    ADMIN,
    CHANNEL_FORWARD,
    DISCUSSION_GROUP,
    GRAIN,
    PHOTO,
    STICKER,
    StartBot,
    nothing_for,
)


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
            def latest(self, limit: int, topic: str | None = None, *readers: Any) -> list[Event]:
                gate.hold(topic or "")
                return super().latest(limit, topic, *readers)

        fields = {field.name: getattr(library, field.name) for field in dataclasses.fields(library)}
        fields["timeline"] = GatedTimeline(
            library.timeline.events, library.timeline.positions, library.timeline.terms
        )
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


def next_page(reply: Call) -> str:
    """The data of the ▶ button under an answer."""
    data: str = reply.params["reply_markup"]["inline_keyboard"][0][-1]["callback_data"]
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


async def test_a_slow_inline_search_does_not_hold_up_other_chats(start_bot: StartBot) -> None:
    bot = await start_bot()
    state, gate = state_of(bot), Gate("Abramovich")
    state.library = gate.around(state.library)
    bot.api.push_inline_query("Who negotiated with Abramovich?", user_id=16)
    await gate.until_running(1)  # searching in a worker thread
    try:
        other = await bot.ask("Where did the talks collapse?", user_id=17)
        assert "Istanbul" in other.params["text"]
        assert bot.api.sent("answerInlineQuery") == []
    finally:
        gate.release.set()
    (held,) = await bot.api.wait_for("answerInlineQuery")
    assert "Abramovich" in held.params["results"][0]["input_message_content"]["message_text"]


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


async def test_a_timeline_counts_as_a_question_with_a_topic_or_without(start_bot: StartBot) -> None:
    # Each /timeline and /latest runs a library call in a worker thread and sends a message: a
    # flood of bare ones cost the bot that work for free, while a topic's counted.
    bot = await start_bot(questions_per_minute=3)
    assert "Istanbul" in (await bot.ask("Istanbul", user_id=15)).params["text"]
    assert "negotiations" in (await bot.ask("/timeline 5 negotiations", user_id=15)).params["text"].lower()
    assert (await bot.ask("/timeline 3", user_id=15)).params["text"].startswith("<b>Timeline</b>")
    assert (await bot.ask("/timeline", user_id=15)).params["text"] == SLOW_DOWN
    for command in ("/timeline", "/latest", "/timeline 5 negotiations"):  # silence until the minute passed
        bot.api.push_message(command, user_id=15)
    bot.api.push_callback(COUNTER, bot_message(15), user_id=19)  # in order, after them
    await bot.api.wait_for("answerCallbackQuery")
    assert len(bot.api.sent("sendMessage", 15)) == 4
    assert (await bot.ask("/latest", user_id=16)).params["text"].startswith("<b>The newest article")
    for _ in range(2):
        assert (await bot.ask("/latest 1", user_id=16)).params["text"] != SLOW_DOWN
    assert (await bot.ask("/latest", user_id=16)).params["text"] == SLOW_DOWN


async def test_every_message_and_press_the_bot_replies_to_counts_against_the_limit(
    start_bot: StartBot,
) -> None:
    # /help and /start, unknown commands, stickers and photos, /follow, /following, /unfollow,
    # usage lines, non-admins' admin commands and the page label's presses each cost the bot a
    # message or a call to Telegram, whose flood limits all readers share, and none counted: a
    # flood of them was answered one by one. Now over the limit comes one "slow down", then silence.
    bot = await start_bot(questions_per_minute=2, max_unanswered_per_chat=1000)
    assert (await bot.ask("/help", user_id=15)).params["text"] != SLOW_DOWN
    assert (await bot.ask("/start", user_id=15)).params["text"] != SLOW_DOWN
    assert (await bot.ask("/help", user_id=15)).params["text"] == SLOW_DOWN
    for text in ["/start", "/frobnicate", "/follow grain exports", "/following", "/unfollow 1"]:
        bot.api.push_message(text, user_id=15)
    for text in ["/latest abc", "/timeline 99", "/ask", "@news_test_bot", "/reload", "/feeds", "/add x"]:
        bot.api.push_message(text, user_id=15)
    bot.api.push_message(None, user_id=15, sticker=STICKER)
    bot.api.push_message(None, user_id=15, photo=PHOTO)
    for _ in range(5):
        bot.api.push_callback(COUNTER, bot_message(15), user_id=15)  # the "1/5" label
    # one chat's updates are handled in order: a press in it by a user within the limit ends the flood
    bot.api.push_callback(COUNTER, bot_message(15), user_id=16)
    (answered,) = await bot.api.wait_for("answerCallbackQuery")
    assert answered.params.get("text") is None
    assert len(bot.api.sent("sendMessage", 15)) == 3
    assert bot.application.bot_data["feeds"].db.topics() == []  # /follow was not run either
    assert (await bot.ask("/help", user_id=16)).params["text"] != SLOW_DOWN  # others are unaffected


async def test_presses_of_the_page_label_count_against_the_limit(start_bot: StartBot) -> None:
    # each press of "1/5" is a call to Telegram (the press's answer): a flood of them was
    # answered press by press, with no limit
    bot = await start_bot(questions_per_minute=3, max_unanswered_per_chat=1000)
    for _ in range(50):
        bot.api.push_callback(COUNTER, bot_message(17), user_id=17)
    bot.api.push_callback(COUNTER, bot_message(17), user_id=18)  # the end of the flood
    await bot.api.wait_for("answerCallbackQuery", count=5)
    await until(lambda: backlog_of(bot).unanswered == 0)
    answers = [call.params.get("text") for call in bot.api.sent("answerCallbackQuery")]
    assert answers == [None, None, None, SLOW_DOWN, None]


FORWARDED = {
    "forward_origin": {
        "type": "user",
        "date": 0,
        "sender_user": {"id": 3, "is_bot": False, "first_name": "A"},
    }
}


@pytest.mark.parametrize(
    ("user", "extra"), [(7, {}), (ADMIN, FORWARDED)]
)  # a reader's; a link an admin forwards
async def test_a_bare_link_that_is_a_question_is_answered_in_the_chats_order(
    start_bot: StartBot, user: int, extra: dict[str, Any]
) -> None:
    # a bare link from a reader who is no admin (or forwarded by one) is a question, but it was
    # handled apart from the chat's line, as an admin's link (an /add) is: the question sent
    # after it was answered first while its search ran. In the line, the two hold the chat's
    # share of 2, and a third message is told the chat is busy
    bot = await start_bot(max_unanswered_per_chat=2)
    state, gate = state_of(bot), Gate("zanzibar")
    state.library = gate.around(state.library)
    bot.api.push_message("https://example.com/zanzibar", user_id=user, **extra)
    await gate.until_running(1)
    bot.api.push_message("Where did the talks collapse?", user_id=user)
    bot.api.push_message("zzq", user_id=user)
    try:
        (first,) = await bot.api.wait_for("sendMessage", chat_id=user)
        assert first.params["text"] == BUSY, first.params["text"][:100]
    finally:
        gate.release.set()
    _, link, talks = await bot.api.wait_for("sendMessage", chat_id=user, count=3)
    assert "Istanbul" not in link.params["text"] and "Istanbul" in talks.params["text"]


async def test_searches_run_two_at_a_time_and_the_rest_wait_their_turn(start_bot: StartBot) -> None:
    bot = await start_bot()
    state, gate = state_of(bot), Gate("Istanbul")
    state.library = gate.around(state.library)
    # a word of the passage beside Istanbul for each user: bold in that user's answer alone
    words = dict(enumerate(["poisoning", "oligarch", "channel", "breakthroughs", "Abramovich", "March"], 20))
    for user, word in words.items():
        bot.api.push_message(f"Istanbul {word}", user_id=user)
    await bot.api.wait_for("sendChatAction", count=len(words))  # every chat is about to search
    await gate.until_running(2)
    gate.release.set()
    for user, word in words.items():
        (reply,) = await bot.api.wait_for("sendMessage", chat_id=user)
        assert [bold for bold in words.values() if f"<b>{bold}</b>" in reply.params["text"]] == [word]
        assert "<b>Istanbul</b>" in reply.params["text"]
    assert gate.most == 2


async def test_a_flood_in_one_chat_leaves_the_processing_slots_to_other_chats(start_bot: StartBot) -> None:
    # Bounds on unanswered updates, and on one chat's share of them, above the 256 processing
    # slots let the flood reach them.
    bot = await start_bot(max_unanswered_updates=1000, max_unanswered_per_chat=1000)
    state, gate = state_of(bot), Gate("flood")
    state.library = gate.around(state.library)
    asked = [bot.api.new_message_id() for _ in range(300)]
    for number, message_id in enumerate(asked):  # more updates than are processed at once (256)
        bot.api.push_message(
            f"/ask flood zzq{number}", user_id=50, chat_id=-900, chat_type="supergroup", message_id=message_id
        )
    await gate.until_running(1)  # the first is being answered; the others wait for their chat
    try:
        other = await bot.ask("Where did the talks collapse?", user_id=51)
        assert "Istanbul" in other.params["text"]
        assert bot.api.sent("sendMessage", -900) == []
    finally:
        gate.release.set()
    replies = await bot.api.wait_for("sendMessage", chat_id=-900, count=21)
    # twenty answered, each quoting and answering its own question in the chat's order, then told once
    assert [reply.params["reply_parameters"]["message_id"] for reply in replies[:21]] == asked[:21]
    assert [nothing_for(reply) for reply in replies[:20]] == [f"flood zzq{number}" for number in range(20)]
    assert replies[20].params["text"] == SLOW_DOWN


def backlog_of(bot: Any) -> UpdateBacklog:
    backlog: UpdateBacklog = bot.application.update_queue
    return backlog


async def until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    """Wait for `condition`, checking often; fail after `timeout` seconds."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


async def test_a_busy_group_holds_only_its_share_and_every_other_chat_is_answered(
    start_bot: StartBot,
) -> None:
    bot = await start_bot(max_unanswered_updates=20, max_unanswered_per_chat=5)
    group = -700
    bot.api.held[group] = asyncio.Event()  # its messages wait, as at Telegram's 20 a minute in a group
    asked = {bot.api.new_message_id(): f"zzq{number}" for number in range(30)}
    for number, (message_id, question) in enumerate(
        asked.items()
    ):  # more than the bot takes before answering
        bot.api.push_message(
            f"/ask {question}", user_id=600 + number, chat_id=group, chat_type="group", message_id=message_id
        )
    try:
        other = await bot.ask("Where did the talks collapse?", user_id=699)  # fetched after all of them
        assert "Istanbul" in other.params["text"]
        assert bot.api.sent("sendMessage", group) == []  # the group's answers are all still waiting
        # its share of five, and the note that tells it to wait; the other 24 were dropped
        await until(lambda: backlog_of(bot).unanswered == 6)
    finally:
        bot.api.held[group].set()
    await until(lambda: backlog_of(bot).unanswered == 0)
    replies = bot.api.sent("sendMessage", group)
    notes = [reply for reply in replies if reply.params["text"] == BUSY]
    answers = [reply for reply in replies if reply.params["text"] != BUSY]
    assert (len(notes), len(answers), len(replies)) == (1, 5, 6)
    quoted = [reply.params["reply_parameters"]["message_id"] for reply in answers]
    assert quoted == list(asked)[:5]  # the first five, in order ...
    assert [nothing_for(reply) for reply in answers] == [
        asked[message_id] for message_id in quoted
    ]  # ... each its own
    assert notes[0].params["reply_parameters"]["message_id"] == list(asked)[5]  # the first dropped question


async def test_past_its_share_a_chat_is_told_once_a_minute_and_its_chatter_gets_nothing(
    start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await start_bot(max_unanswered_per_chat=1)
    group = {"chat_id": -701, "chat_type": "group"}
    bot.api.held[-701] = asyncio.Event()
    bot.api.push_message("/ask Istanbul", user_id=71, message_id=771, **group)  # taken; its answer waits
    bot.api.push_message("nice weather today", user_id=72, **group)  # chatter: dropped, no note
    bot.api.push_message("/ask@other_bot Istanbul", user_id=72, **group)  # another bot's command: the same
    bot.api.push_message("/ask Abramovich", user_id=73, message_id=773, **group)  # dropped, and told
    bot.api.push_message("@news_test_bot Umerov?", user_id=74, **group)  # dropped within the minute: silence
    bot.api.push_callback("page:AAAAAAAA:3", bot_message(-701), user_id=75)  # a press: the same
    try:
        await until(lambda: backlog_of(bot).unanswered == 2)  # the answer and the note, waiting
    finally:
        bot.api.held[-701].set()
    await until(lambda: backlog_of(bot).unanswered == 0)
    texts = [reply.params["text"] for reply in bot.api.sent("sendMessage", -701)]
    answers = [reply for reply in bot.api.sent("sendMessage", -701) if reply.params["text"] != BUSY]
    assert len(texts) == 2 and len(answers) == 1  # the answer and the note, in either order
    assert (
        "Istanbul" in answers[0].params["text"] and answers[0].params["reply_parameters"]["message_id"] == 771
    )
    (note,) = [reply for reply in bot.api.sent("sendMessage", -701) if reply.params["text"] == BUSY]
    assert note.params["reply_parameters"]["message_id"] == 773  # not the chatter before it
    assert bot.api.sent("answerCallbackQuery") == []
    assert "chat -701 has 1 updates in flight, its share: told it is busy" in caplog.text


async def test_a_channels_posts_forwarded_into_a_busy_discussion_group_get_no_busy_note(
    start_bot: StartBot,
) -> None:
    # a channel's post Telegram forwards into the group linked for its comments asks the bot
    # nothing, though it names the bot or starts with its command: told "busy", the channel's
    # readers would read the note under every post, and a member's question would go untold
    bot = await start_bot(max_unanswered_per_chat=1)
    bot.api.held[-100] = asyncio.Event()
    bot.api.push_message("/ask Istanbul", user_id=71, message_id=791, **DISCUSSION_GROUP)  # taken; waits
    for post in ("/latest@news_test_bot for today's news", "/ask talks", "Questions? Ask @news_test_bot"):
        bot.api.push_message(post, user_id=777000, **CHANNEL_FORWARD, **DISCUSSION_GROUP)
    bot.api.push_message("/ask Abramovich", user_id=73, message_id=793, **DISCUSSION_GROUP)  # told busy
    try:
        await until(lambda: backlog_of(bot).unanswered == 2)  # the answer and the one note, waiting
    finally:
        bot.api.held[-100].set()
    await until(lambda: backlog_of(bot).unanswered == 0)
    replies = bot.api.sent("sendMessage", -100)
    assert sorted(reply.params["reply_parameters"]["message_id"] for reply in replies) == [791, 793]
    (note,) = [reply for reply in replies if reply.params["text"] == BUSY]
    assert note.params["reply_parameters"]["message_id"] == 793  # the member's question, no post


async def test_reactions_and_edits_in_a_busy_group_take_none_of_its_share(start_bot: StartBot) -> None:
    # The bot is an admin of the group, so Telegram would send it every reaction and edit there.
    bot = await start_bot(max_unanswered_per_chat=2)
    group = {"chat_id": -702, "chat_type": "supergroup"}
    bot.api.held[-702] = asyncio.Event()
    bot.api.push_message("/ask Istanbul", user_id=71, message_id=781, **group)  # taken; its answer waits
    member = {"id": 72, "is_bot": False, "first_name": "Member"}
    chat = {"id": -702, "type": "supergroup", "title": "Group"}
    reaction = {"chat": chat, "message_id": 1, "date": 1, "user": member, "old_reaction": []}
    bot.api.push_update(
        {"message_reaction": {**reaction, "new_reaction": [{"type": "emoji", "emoji": "👍"}]}}
    )
    bot.api.push_message("nice weather, edited", user_id=72, kind="edited_message", edit_date=1, **group)
    last = bot.api.push_message(
        "/ask Abramovich", user_id=73, message_id=783, **group
    )  # within the share of two
    try:
        await until(lambda: backlog_of(bot).last_update_id == last)
        assert backlog_of(bot).unanswered == 2  # the two questions, the second in line: nothing else
    finally:
        bot.api.held[-702].set()
    await until(lambda: backlog_of(bot).unanswered == 0)
    replies = bot.api.sent("sendMessage", -702)
    assert [reply.params["reply_parameters"]["message_id"] for reply in replies] == [781, 783]  # in order
    assert "Istanbul" in replies[0].params["text"] and "<b>Abramovich</b>" in replies[1].params["text"]
    assert BUSY not in [reply.params["text"] for reply in replies]


async def test_a_page_press_over_its_chats_share_is_answered_busy(start_bot: StartBot) -> None:
    bot = await start_bot(top_k=1, max_unanswered_per_chat=1, articles=GRAIN)
    reply = await bot.ask("grain exports", user_id=7)
    bot.api.held[7] = asyncio.Event()
    bot.api.push_message("Istanbul", user_id=7)  # taken; its answer waits
    bot.api.push_callback(next_page(reply), bot_message(7), user_id=7)
    try:
        (busy,) = await bot.api.wait_for("answerCallbackQuery")
        assert busy.params["text"] == BUSY
    finally:
        bot.api.held[7].set()
    (_, answer) = await bot.api.wait_for("sendMessage", chat_id=7, count=2)
    assert "Istanbul" in answer.params["text"]
    assert bot.api.sent("editMessageText") == []  # the press was dropped, not served late


async def test_a_flood_of_page_presses_is_limited_and_delays_no_one(start_bot: StartBot) -> None:
    # Every press is processed (no chat's share drops any), so the limit alone decides.
    bot = await start_bot(top_k=1, questions_per_minute=3, max_unanswered_per_chat=1000, articles=GRAIN)
    reply = await bot.ask("grain exports", user_id=7)
    data, message = next_page(reply), reply.result
    for number in range(500):
        if number == 250:
            bot.api.push_message("Where did the talks collapse?", user_id=8)
        bot.api.push_callback(data, message, user_id=7)
    # One chat's updates are handled in order, so a last press on the same message, by a
    # user not over the limit and asking for the first page, marks the end of the flood.
    bot.api.push_callback(data.rsplit(":", 1)[0] + ":1", message, user_id=9)
    (other,) = await bot.api.wait_for("sendMessage", chat_id=8)
    assert "Istanbul" in other.params["text"]
    while not any(edit.params["text"].startswith("<b>1. ") for edit in bot.api.sent("editMessageText")):
        await bot.api.wait_for("editMessageText", count=len(bot.api.sent("editMessageText")) + 1)
    assert len(bot.api.sent("editMessageText")) == 3  # two presses (the question was the first) + the last
    answers = [call.params.get("text") for call in bot.api.sent("answerCallbackQuery")]
    assert answers.count(SLOW_DOWN) == 1  # told once, then silence: no call at all per refused press
    assert len(answers) == 4


async def test_a_page_button_works_only_in_the_chat_it_was_sent_to(start_bot: StartBot) -> None:
    bot = await start_bot(top_k=1, articles=GRAIN)
    reply = await bot.ask("grain exports", user_id=7)
    data = next_page(reply)
    bot.api.push_callback(data, bot_message(8), user_id=8)  # replayed from another chat
    (refused,) = await bot.api.wait_for("answerCallbackQuery")
    assert "expired" in refused.params["text"]
    bot.api.push_callback(data, reply.result, user_id=7)
    (edit,) = await bot.api.wait_for("editMessageText")
    assert edit.params["chat_id"] == 7
    assert edit.params["text"].startswith("<b>2. ")
    assert len(bot.api.sent("editMessageText")) == 1


async def test_a_page_press_forged_onto_another_readers_answer_is_expired(start_bot: StartBot) -> None:
    # a client may send any data with a press on any message: the data of the attacker's ▶
    # pressed on the victim's answer rewrote it into the attacker's page, under the victim's question
    bot = await start_bot(top_k=1, articles=GRAIN)
    group = {"chat_id": -100, "chat_type": "supergroup"}
    victim = await bot.ask("/ask Who did Umerov negotiate with?", user_id=7, **group)
    attacker = await bot.ask("/ask grain exports", user_id=8, **group)
    bot.api.push_callback(next_page(attacker), victim.result, user_id=8)
    (refused,) = await bot.api.wait_for("answerCallbackQuery")
    assert "expired" in refused.params["text"]
    bot.api.push_callback(next_page(attacker), attacker.result, user_id=8)  # on its own answer
    (edit,) = await bot.api.wait_for("editMessageText")
    assert edit.params["message_id"] == attacker.result["message_id"]
    assert len(bot.api.sent("editMessageText")) == 1


async def test_anonymous_admins_are_limited_per_group(start_bot: StartBot) -> None:
    bot = await start_bot(questions_per_minute=2)

    def ask_anonymously(group: int, question: str) -> int:
        chat = {"id": group, "type": "supergroup", "title": f"Group {group}"}
        message_id = bot.api.new_message_id()
        bot.api.push_message(
            f"/ask {question}",
            user_id=GROUP_ANONYMOUS_BOT,
            chat_id=group,
            chat_type="supergroup",
            sender_chat=chat,
            message_id=message_id,
        )
        return message_id

    asked = [ask_anonymously(-801, question) for question in ("zzq1", "zzq2", "zzq3")]
    replies = await bot.api.wait_for("sendMessage", chat_id=-801, count=3)
    assert [reply.params["reply_parameters"]["message_id"] for reply in replies] == asked
    assert [nothing_for(reply) for reply in replies[:2]] == ["zzq1", "zzq2"]
    assert replies[2].params["text"] == SLOW_DOWN
    ask_anonymously(-802, "Istanbul")  # anonymous admins of another group are other people
    (answer,) = await bot.api.wait_for("sendMessage", chat_id=-802)
    assert "Istanbul" in answer.params["text"]


async def test_a_reader_who_blocked_the_bot_is_forgotten_at_the_busy_note_refused(
    start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    # README: a reader who blocks the bot loses their topics once Telegram refuses a message to
    # them. The note that their chat is busy is such a message: its 403 forgets them as an
    # answer's does, once, without a traceback; the answer Telegram took before goes out.
    bot = await start_bot(max_unanswered_per_chat=1)
    await bot.ask("/follow grain exports", user_id=7)
    bot.api.held[7] = asyncio.Event()
    bot.api.push_message("Istanbul", user_id=7)  # taken; its answer waits at Telegram
    await bot.api.until_holding(1)
    bot.api.blocked.add(7)
    bot.api.push_message("Abramovich", user_id=7)  # over the share: told it is busy, refused
    try:
        await until(lambda: "blocked the bot" in caplog.text or "could not tell" in caplog.text, 60)
    finally:
        bot.api.held[7].set()
    await until(lambda: backlog_of(bot).unanswered == 0)
    assert bot.application.bot_data["feeds"].db.topics() == []
    assert "user 7 blocked the bot" in caplog.text
    assert "could not tell chat 7 it is busy" not in caplog.text
    assert not [r for r in caplog.records if r.exc_info]

"""The bot end to end: real python-telegram-bot, real HTTP, a fake Bot API on 127.0.0.1."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import html
import json
import logging
import os
import re
import shutil
import signal
import sqlite3
import threading
import time
from typing import Any

import pytest

from bot import examples
from bot.feed_jobs import feed_service
from fakes.bot_api import BOT_USER, MAX_ENTITIES, MAX_MESSAGE, Fault, entities
from fakes.corpora import generate_corpus
from retrieval import Library, SearchResult
from tests.conftest import ROOT, article, indexing_processes, kill_indexing
from tests.e2e.conftest import (
    ADMIN,
    CHANNEL_FORWARD,
    DISCUSSION_GROUP,
    GRAIN,
    GRAIN_NEWS,
    PHOTO,
    STICKER,
    TOKEN,
    RunningBot,
    StartBot,
    nothing_for,
    rendered_where,
    wait_for_log,
)

pytestmark = pytest.mark.asyncio
UK_CORPUS = ROOT / "tests" / "fixtures" / "uk" / "corpus"


async def test_question_gets_the_passage_with_headline_date_and_bold_matches(start_bot: StartBot) -> None:
    bot = await start_bot()
    reply = await bot.ask("Who did Umerov negotiate with unofficially?")
    text = reply.params["text"]
    assert reply.params["parse_mode"] == "HTML"
    assert text.startswith("<b>1. Ukraine&#x27;s Minister of Defense Rustem Umerov")
    assert "2024-10-23" in text
    assert (
        "<b>Umerov</b> conducted <b>unofficial</b> <b>negotiations</b> with Russian oligarch Roman Abramovich"
        in text
    )
    typing = bot.api.sent("sendChatAction")
    assert typing and typing[0].params["action"] == "typing"
    assert typing[0].at <= reply.at


async def test_answer_still_goes_out_when_typing_fails(start_bot: StartBot) -> None:
    bot = await start_bot()
    bot.api.fail("sendChatAction", Fault(400, "Bad Request: chat not found"))
    reply = await bot.ask("Where did the talks collapse?")
    assert "Istanbul" in reply.params["text"]


async def test_no_match_says_so_and_suggests_latest(start_bot: StartBot) -> None:
    bot = await start_bot()
    text = (await bot.ask("zyzzyva quux")).params["text"]
    assert "I found nothing" in text
    assert "/latest" in text


async def test_a_question_of_blank_letters_has_no_searchable_words(start_bot: StartBot) -> None:
    bot = await start_bot()
    text = (await bot.ask("\u3164\u3164 \u115f\u1160 \uffa0\u2800")).params["text"]
    assert "no searchable words" in text
    assert "no passage contains" not in text


async def test_a_question_of_bidi_controls_is_not_echoed_as_empty_italics(start_bot: StartBot) -> None:
    bot = await start_bot()
    text = (await bot.ask("\u202a\u202b\u202c\u202d\u202e \u2066\u2067\u2068\u2069")).params["text"]
    assert text.startswith("I found nothing (")
    assert "<i>" not in text


async def test_characters_that_show_as_nothing_inside_a_word_leave_it_one_word(start_bot: StartBot) -> None:
    # Web pages hyphenate long words with soft hyphens (`&shy;`) and copied text brings
    # zero-width spaces and joiners: the reader sees "Abramovich", and so must the search,
    # in a question and in an article alike, in every language.
    shy = article(
        "2024-10-30",
        "Зерновий коридор працює",
        "Пере\u00adговори про зерновий коридор в Одесі три\u2060вають. Порт прий\u00adмає судна.",
    )
    bot = await start_bot(articles={"shy.txt": shy})
    for invisible in ("\u00ad", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"):
        text = (await bot.ask(f"Who did Umerov negotiate with, Abra{invisible}movich?")).params["text"]
        assert f"<b>Abra{invisible}movich</b>" in text or "<b>Abramovich</b>" in text, invisible
    text = (await bot.ask("переговори тривають")).params["text"]
    assert "<b>Пере\u00adговори</b>" in text and "<b>три\u2060вають</b>" in text


def bot_message(chat_id: int = 7, message_id: int = 555) -> dict[str, Any]:
    """A message of the bot's, as Telegram attaches it to a button press."""
    return {
        "message_id": message_id,
        "date": int(time.time()),
        "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
        "from": {"id": 999, "is_bot": True, "first_name": "News"},
        "text": "x",
    }


def buttons(call: Any) -> list[tuple[str, str]]:
    """The (label, data) of each button under a message the bot sent or edited."""
    return [(b["text"], b["callback_data"]) for b in call.params["reply_markup"]["inline_keyboard"][0]]


async def press(bot: Any, data: str, user_id: int = 7, message: dict[str, Any] | None = None) -> Any:
    """Press a button on `message`, or the bot's message that shows it, and return the edit it makes."""
    before = len(bot.api.sent("editMessageText"))
    bot.api.push_callback(data, message or bot.api.message_with(data, user_id), user_id=user_id)
    return (await bot.api.wait_for("editMessageText", count=before + 1))[before]


async def test_answers_page_turns_and_timelines_are_rendered_off_the_event_loop(
    start_bot: StartBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a page of #tags takes some 18 ms to render at k=10: rendered on the event loop, every
    # chat's updates waited for each answer, page turn and timeline
    on_loop = rendered_where(monkeypatch, "render_answer", "render_timeline")
    bot = await start_bot(articles=GRAIN)
    first = await bot.ask("grain exports")
    await press(bot, buttons(first)[-1][1])
    assert "Timeline" in (await bot.ask("/timeline grain")).params["text"]
    assert on_loop == [("render_answer", False), ("render_answer", False), ("render_timeline", False)]


async def test_answers_page_back_and_forth_with_every_headline_once(start_bot: StartBot) -> None:
    bot = await start_bot(articles=GRAIN)  # TOP_K=3: three articles a page, thirteen articles
    first = await bot.ask("grain exports")
    assert first.params["text"].startswith("<b>1. ")
    (counter, _), (forward, data) = buttons(first)
    assert (counter, forward) == ("1/5", "▶")
    assert len(data.encode()) <= 64
    pages = [first.params["text"]]
    for number in range(2, 6):
        edit = await press(bot, data)
        labels = [label for label, _ in buttons(edit)]
        assert labels == (["◀", f"{number}/5", "▶"] if number < 5 else ["◀", "5/5"])
        assert edit.params["text"].startswith(f"<b>{3 * number - 2}. ")  # ranks go on across pages
        pages.append(edit.params["text"])
        data = buttons(edit)[-1][1]
    back = buttons(edit)[0][1]
    for number in (4, 3, 2, 1):  # every earlier page again, as it was
        edit = await press(bot, back)
        assert edit.params["text"] == pages[number - 1]
        back = buttons(edit)[0][1]
    headlines = re.findall(r"^<b>\d+\. (.+)</b>$", "\n".join(pages), flags=re.MULTILINE)
    assert len(headlines) == 13 == len(set(headlines))  # each article on one page, under one heading


async def test_an_answer_of_two_pages_turns_them(start_bot: StartBot) -> None:
    chess = {
        "opens.txt": article("2024-10-21", "Chess olympiad opens", "The chess olympiad opened in Budapest."),
        "ends.txt": article("2024-10-29", "India wins gold", "India won the chess olympiad on Sunday."),
    }
    bot = await start_bot(articles=chess, top_k=1)
    first = await bot.ask("chess olympiad")
    (counter, _), (forward, data) = buttons(first)
    assert (counter, forward) == ("1/2", "▶")
    second = await press(bot, data)
    assert [label for label, _ in buttons(second)] == ["◀", "2/2"]
    assert first.params["text"].startswith("<b>1. ") and second.params["text"].startswith("<b>2. ")
    shown = {page.params["text"].split("</b>")[0][6:] for page in (first, second)}
    assert shown == {"Chess olympiad opens", "India wins gold"}  # each article on its own page


async def test_pages_after_a_reload_are_the_pages_first_seen_or_expired(start_bot: StartBot) -> None:
    bot = await start_bot(articles=GRAIN)
    first = await bot.ask("grain exports")
    second = await press(bot, buttons(first)[-1][1])
    back = buttons(second)[0][1]
    (bot.corpus / "ferries.txt").write_text(article("2024-09-30", "Ferries resume", "Ferries resumed."))
    await bot.ask("/reload", user_id=ADMIN)  # the corpus changed, not this answer
    assert (await press(bot, back)).params["text"] == first.params["text"]
    news = article("2024-09-30", "Grain exports grain exports", "Grain exports set a record: grain exports.")
    (bot.corpus / "record.txt").write_text(news)
    await bot.ask("/reload", user_id=ADMIN)  # it now ranks first: every later page would shift by one
    edits, answered = len(bot.api.sent("editMessageText")), len(bot.api.sent("answerCallbackQuery"))
    for data in (back, buttons(second)[-1][1]):
        bot.api.push_callback(data, second.result)
    answers = await bot.api.wait_for("answerCallbackQuery", count=answered + 2)
    assert all("expired" in answer.params.get("text", "") for answer in answers[answered:])
    assert len(bot.api.sent("editMessageText")) == edits  # no page that was never seen, no headline twice
    assert "Grain exports grain exports" in (await bot.ask("grain exports")).params["text"]


async def test_buttons_sent_before_a_restart_still_turn_the_pages(start_bot: StartBot) -> None:
    before = await start_bot(articles=GRAIN)
    data = buttons(await before.ask("grain exports"))[-1][1]
    second = await press(before, data)
    await before.application.updater.stop()
    await before.application.stop()
    after = await start_bot(articles=GRAIN)  # the same corpus and state file
    # the answer as Telegram keeps it, with page 2's buttons: the new fake server never sent it
    assert (await press(after, data, message=second.result)).params["text"] == second.params["text"]


async def test_a_state_file_locked_by_another_process_holds_up_no_answer_with_pages(
    start_bot: StartBot,
) -> None:
    # The question behind the buttons is saved behind the answer: a `sqlite3` shell left in a
    # transaction must not hold up the answer, nor its pages, for the file's 30-second wait.
    bot = await start_bot(articles=GRAIN)
    other = sqlite3.connect(feed_service(bot.application).db.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        first = await bot.ask("grain exports")
        second = await press(bot, buttons(first)[-1][1])
        assert second.params["text"].startswith("<b>4. ")
    finally:
        other.execute("ROLLBACK")
        other.close()
    await bot.application.bot_data["state"].queries.saved()
    key = buttons(first)[-1][1].split(":")[1]
    assert feed_service(bot.application).db.asked(key) is not None  # saved once the lock was let go


async def test_the_page_counter_does_nothing_and_a_single_page_has_no_buttons(start_bot: StartBot) -> None:
    bot = await start_bot(articles=GRAIN)
    single = await bot.ask("Umerov Abramovich")  # one article: one page
    assert "reply_markup" not in single.params
    first = await bot.ask("grain exports")
    bot.api.push_callback(buttons(first)[0][1], bot_message())
    (answered,) = await bot.api.wait_for("answerCallbackQuery")
    assert "text" not in answered.params
    assert bot.api.sent("editMessageText") == []


async def test_a_doctored_page_button_never_searches_further(start_bot: StartBot) -> None:
    bot = await start_bot(articles=GRAIN)
    state = bot.application.bot_data["state"]
    asked: list[int] = []

    class Recording(type(state.library)):  # type: ignore[misc]
        def search(self, question: str, *args: Any, **kwargs: Any) -> Any:
            asked.append(kwargs["k"])
            return super().search(question, *args, **kwargs)

    fields = {field.name: getattr(state.library, field.name) for field in dataclasses.fields(state.library)}
    state.library = Recording(**fields)
    answer = await bot.ask("grain exports")
    data = buttons(answer)[-1][1]
    key = data.split(":")[1]
    for doctored in (f"page:{key}:6", f"page:{key}:9", f"page:{key}:999", f"page:{key}:0", f"more:{key}:999"):
        bot.api.push_callback(doctored, answer.result)  # on the answer whose key they name
    answers = await bot.api.wait_for("answerCallbackQuery", count=5)
    assert all("expired" in answer.params["text"] for answer in answers)
    assert asked == [15]  # the question's one search: TOP_K x 5 pages, never more
    assert (await press(bot, f"page:{key}:5", message=answer.result)).params["text"].startswith("<b>13. ")


async def test_a_second_press_before_the_page_changed_is_no_error(start_bot: StartBot) -> None:
    bot = await start_bot(articles=GRAIN)
    answer = await bot.ask("grain exports")
    forward = buttons(answer)[-1][1]
    not_modified = "Bad Request: message is not modified: specified new message content is the same"
    bot.api.fail("editMessageText", Fault(400, not_modified))  # as Telegram answers a double tap
    bot.api.push_callback(forward, answer.result)
    await bot.api.wait_for("answerCallbackQuery")
    assert "Istanbul" in (await bot.ask("Istanbul")).params["text"]  # answered after the press, in order
    assert all("something went wrong" not in call.params["text"] for call in bot.api.sent("sendMessage"))


async def test_a_press_on_an_answer_deleted_meanwhile_is_no_error(start_bot: StartBot) -> None:
    bot = await start_bot(articles=GRAIN)
    answer = await bot.ask("grain exports")
    forward = buttons(answer)[-1][1]
    # a group's admin deleted the answer as someone, whose app still showed it, pressed ▶
    bot.api.fail("editMessageText", Fault(400, "Bad Request: message to edit not found"))
    bot.api.push_callback(forward, answer.result)
    (pressed,) = await bot.api.wait_for("answerCallbackQuery")
    assert "expired" not in pressed.params.get("text", "")  # the page was asked for
    assert "Istanbul" in (await bot.ask("Istanbul")).params["text"]  # answered after the press, in order
    assert all("something went wrong" not in call.params["text"] for call in bot.api.sent("sendMessage"))


async def test_a_press_answered_too_late_for_telegram_still_turns_the_page(start_bot: StartBot) -> None:
    bot = await start_bot(articles=GRAIN)
    forward = buttons(await bot.ask("grain exports"))[-1][1]
    # Telegram forgets a press after some seconds: one that waited behind a busy chat's answers
    too_old = "Bad Request: query is too old and response timeout expired or query ID is invalid"
    bot.api.fail("answerCallbackQuery", Fault(400, too_old), Fault(400, too_old))
    assert (await press(bot, forward)).params["text"].startswith("<b>4. ")
    bot.api.push_callback("page:AAAAAAAA:2", bot_message())  # an expired button, pressed too late too
    assert "Istanbul" in (await bot.ask("Istanbul")).params["text"]  # answered after the press, in order
    assert all("something went wrong" not in call.params["text"] for call in bot.api.sent("sendMessage"))


async def test_a_press_whose_answer_got_no_reply_still_turns_the_page(start_bot: StartBot) -> None:
    bot = await start_bot(articles=GRAIN)
    forward = buttons(await bot.ask("grain exports"))[-1][1]
    bot.api.fail("answerCallbackQuery", Fault(drop=True, delivered=True))  # taken, its reply lost
    assert (await press(bot, forward)).params["text"].startswith("<b>4. ")
    assert len(bot.api.sent("answerCallbackQuery")) == 1  # not answered twice


@pytest.mark.parametrize("data", ["page:AAAAAAAA:3", "page:../../x:1", "nonsense", "page:AAAAAAAA:99999"])
async def test_unknown_or_tampered_button_answers_politely(start_bot: StartBot, data: str) -> None:
    bot = await start_bot()
    message = {"message_id": 1, "date": 0, "chat": {"id": 7, "type": "private"}, "text": "x"}
    bot.api.push_callback(data, message)
    (answer,) = await bot.api.wait_for("answerCallbackQuery")
    assert "expired" in answer.params["text"]
    assert "Istanbul" in (await bot.ask("Istanbul")).params["text"]  # still serving


async def test_start_and_help_list_commands_and_an_example(start_bot: StartBot) -> None:
    bot = await start_bot()
    for command in ("/start", "/help", "/start inline"):
        text = (await bot.ask(command)).params["text"]
        for name in ("/ask", "/search", "/latest", "/help"):
            assert name in text
        assert "/reload" not in text  # only admins see it
        assert text.startswith("I answer questions about the 1 news article I hold")  # not "1 articles"
        assert "For example: <i>Who revealed the results of these negotiations?</i>" in text
        assert "In any chat, type @news_test_bot and a question" in text
    assert "/reload" in (await bot.ask("/help", user_id=ADMIN)).params["text"]
    answer = (await bot.ask("Who revealed the results of these negotiations?")).params["text"]
    assert "Rustem Umerov revealed the results" in answer  # the example is answered


async def test_help_example_is_a_question_the_corpus_answers(start_bot: StartBot) -> None:
    ukrainian = {path.name: path.read_text() for path in UK_CORPUS.iterdir()}
    bot = await start_bot(articles=ukrainian)
    text = (await bot.ask("/help")).params["text"]
    example = re.search(r"For example: <i>(.+)</i>", text)
    assert example is not None
    question = html.unescape(example.group(1))
    assert question.startswith(("Who ", "Хто ", "Кто ")) and question.endswith("?")
    assert len(question.split()) >= 4  # a question, not a string of headline words
    state = bot.application.bot_data["state"]
    hits = state.library.search(question, k=3).hits
    events = [e for e in state.library.timeline.events if e.article_id == hits[0].article.id]
    after_the_verb = question.split(" ", 2)[2].rstrip("?")
    assert any(after_the_verb in e.sentence for e in events)  # made from an event of the article it finds
    assert (await bot.ask("/help")).params["text"] == text  # the same example while the corpus is the same


def mines_cleared(first: int, again: int | None) -> dict[str, str]:
    """The event /help's example is made from, `first` days from today, and a follow-up of
    the story in the same words `again` days from today, without the one who announced it."""
    day = dt.date.today() + dt.timedelta(days=first)
    event = f"On {day:%B} {day.day}, Romanian President Klaus Iohannis announced that navy divers"
    articles = {
        "first.txt": article(
            day.isoformat(), "Mines cleared off Romania", f"{event} cleared two mines near Constanta."
        )
    }
    if again is not None:
        later = (dt.date.today() + dt.timedelta(days=again)).isoformat()
        follow_up = "Divers cleared two more mines near Constanta, the navy said."
        articles["again.txt"] = article(later, "More mines off Romania", follow_up)
    return articles


@pytest.mark.parametrize(
    "articles",
    [
        mines_cleared(-200, again=-1),  # recency ranks yesterday's follow-up above the event's own article
        mines_cleared(5, again=None),  # an article dated later (an embargo) answers nothing yet
    ],
)
async def test_help_example_is_answered_by_its_own_article_when_a_reader_asks_it_today(
    start_bot: StartBot, articles: dict[str, str]
) -> None:
    bot = await start_bot(articles=articles)
    example = re.search(r"For example: <i>(.+)</i>", (await bot.ask("/help")).params["text"])
    assert example is not None
    question = html.unescape(example.group(1))
    first = re.match(r"<b>1\. (.+?)</b>", (await bot.ask(question)).params["text"])
    assert first is not None
    headline = html.unescape(first.group(1))
    events = [e for e in bot.application.bot_data["state"].library.timeline.events if e.headline == headline]
    after_the_verb = question.split(" ", 2)[2].rstrip("?")
    assert any(after_the_verb in event.sentence for event in events), (question, headline)


async def test_help_example_is_made_as_of_the_messages_date(start_bot: StartBot) -> None:
    # as a question is answered as of its message's date: an event dated later is no example yet
    bot = await start_bot(articles=mines_cleared(5, again=None))
    later = int((dt.datetime.now(dt.UTC) + dt.timedelta(days=10)).timestamp())
    then = (await bot.ask("/help", date=later)).params["text"]
    assert "For example: <i>Who announced that navy divers cleared two mines near Constanta?</i>" in then
    assert "Constanta" not in (await bot.ask("/help")).params["text"]


async def test_help_searches_for_its_example_once_a_corpus(
    start_bot: StartBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    # /help is not counted as a question, and finding its example takes a search per candidate
    # (up to 80 when the newest events give none): a flood of /help repeating them would hold
    # the search slots everyone's questions wait for.
    bot = await start_bot()
    searched: list[str] = []
    search = Library.search

    def counted(library: Library, question: str, *args: Any, **kwargs: Any) -> SearchResult:
        searched.append(question)
        return search(library, question, *args, **kwargs)

    monkeypatch.setattr(Library, "search", counted)
    text = (await bot.ask("/help")).params["text"]
    found = len(searched)
    assert found >= 1 and "For example: <i>Who revealed the results of these negotiations?</i>" in text
    for _ in range(3):
        assert (await bot.ask("/help")).params["text"] == text
    assert len(searched) == found
    (bot.corpus / "chess.txt").write_text(
        article("2024-10-30", "Chess olympiad ends", "On October 29, India won the chess olympiad.")
    )
    await bot.ask("/reload", user_id=ADMIN)
    searched.clear()
    await bot.ask("/help")
    assert searched  # a new corpus: its example is found again


async def test_help_sent_by_many_at_once_searches_for_its_example_once(
    start_bot: StartBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each /help that came while the first was still finding the example found it again: a
    # search per candidate, up to 80, each holding one of the two search slots, so that five
    # readers' /help at the start of a day (or after a reload) made everyone's questions
    # wait behind five times the searches the example needs.
    bot = await start_bot()
    state = bot.application.bot_data["state"]
    readers = [21, 22, 23, 24, 25]
    entered: list[dt.date] = []
    found: list[int] = []
    first_may_go = threading.Event()
    example_question, for_library = type(state).example_question, examples.for_library

    async def entering(self: Any, now: dt.date) -> str | None:
        entered.append(now)
        return await example_question(self, now)

    def finding(library: Library, *args: Any) -> examples.Example | None:
        found.append(id(library))
        if len(found) == 1:
            first_may_go.wait(120)  # until every /help has asked for the example
        return for_library(library, *args)

    monkeypatch.setattr(type(state), "example_question", entering)
    monkeypatch.setattr(examples, "for_library", finding)
    for reader in readers:
        bot.api.push_message("/help", user_id=reader)
    async with asyncio.timeout(120):  # a guard against a hang, not a measure
        while len(entered) < len(readers):
            await asyncio.sleep(0.01)
    first_may_go.set()
    answers = [(await bot.api.wait_for("sendMessage", chat_id=reader))[0] for reader in readers]
    assert all("For example: <i>Who revealed" in answer.params["text"] for answer in answers)
    assert len(found) == 1  # one search for all five


async def test_commands_are_registered_with_reload_only_for_admins(start_bot: StartBot) -> None:
    bot = await start_bot()
    calls = [c for c in bot.api.sent("setMyCommands") if "language_code" not in c.params]
    default = next(c for c in calls if c.params["scope"]["type"] == "default")
    admin = next(c for c in calls if c.params["scope"]["type"] == "chat")
    assert "reload" not in [c["command"] for c in default.params["commands"]]
    assert admin.params["scope"]["chat_id"] == ADMIN
    assert "reload" in [c["command"] for c in admin.params["commands"]]


async def test_failed_command_registration_is_logged_not_fatal(
    start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await start_bot()
    bot.api.fail("setMyCommands", Fault(400, "Bad Request: BOT_COMMANDS_TOO_MUCH"))
    await bot.application.post_init(bot.application)
    assert "could not register the command menu" in caplog.text
    assert "Istanbul" in (await bot.ask("talks collapsed")).params["text"]


async def test_ask_command_answers_and_shows_usage_when_empty(start_bot: StartBot) -> None:
    bot = await start_bot()
    assert "400,000" in (await bot.ask("/ask how many people escaped through the corridor")).params["text"]
    assert (await bot.ask("/ask")).params["text"].startswith("Usage: /ask <question>")


async def test_search_is_ask_by_another_name(start_bot: StartBot) -> None:
    bot = await start_bot()
    asked = (await bot.ask("/ask how many people escaped through the corridor")).params["text"]
    assert (await bot.ask("/search how many people escaped through the corridor")).params["text"] == asked
    assert (await bot.ask("/search@news_test_bot")).params["text"].startswith("Usage: /search <question>")


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/latest", "<b>The newest article</b>\n2024-10-23 · Ukraine&#x27;s Minister"),
        ("/latest 1", "<b>The newest article</b>"),
        ("/latest abc", "Usage: /latest [N]"),  # not a number
        ("/latest 0", "Usage: /latest [N]"),  # below the range
        ("/latest 99999", "Usage: /latest [N]"),  # above the range
        ("/latest -1", "Usage: /latest [N]"),
        ("/latest ²", "Usage: /latest [N]"),  # a digit, but no number: not "something went wrong"
    ],
)
async def test_latest(start_bot: StartBot, command: str, expected: str) -> None:
    bot = await start_bot()
    assert (await bot.ask(command)).params["text"].startswith(expected)


BRIEFS = {
    f"brief-{n:02}.txt": article(
        f"2024-08-{n:02}", f"Council session {n}", f"On August {n}, the council met."
    )
    for n in range(1, 26)
}
"""Twenty-five one-line articles, each with a dated sentence: with the shipped one, 26 articles
and more than 30 dated events, past both commands' bounds."""


async def test_a_command_ends_where_telegram_ends_it(start_bot: StartBot) -> None:
    # Telegram ends a command at any character no letter, digit or underscore, not at a space alone
    bot = await start_bot(articles=BRIEFS)
    lines = (await bot.ask("/latest\n3")).params["text"].splitlines()  # a phone keyboard's new line
    assert lines[0] == "<b>The 3 newest articles</b>" and len(lines) == 4
    assert (await bot.ask("/help,")).params["text"] == (await bot.ask("/help")).params["text"]
    addressed = (await bot.ask("/latest@news_test_bot\n2")).params["text"]
    assert addressed.startswith("<b>The 2 newest articles</b>")


async def test_latest_shows_five_by_default_and_twenty_at_most(start_bot: StartBot) -> None:
    bot = await start_bot(articles=BRIEFS)
    default = (await bot.ask("/latest")).params["text"].splitlines()
    assert default[0] == "<b>The 5 newest articles</b>"
    assert [line[:10] for line in default[1:]] == [
        "2024-10-23",
        "2024-08-25",
        "2024-08-24",
        "2024-08-23",
        "2024-08-22",
    ]
    most = (await bot.ask("/latest 20")).params["text"].splitlines()
    assert most[0] == "<b>The 20 newest articles</b>" and len(most) == 21
    assert (
        (await bot.ask("/latest 21"))
        .params["text"]
        .startswith("Usage: /latest [N], N from 1 to 20 (default 5).")
    )


@pytest.mark.parametrize("command", ["/latest 0", "/latest -1", "/latest five", "/latest 3 4", "/latest 2.5"])
async def test_latest_with_a_bad_count_shows_usage(start_bot: StartBot, command: str) -> None:
    # "/latest [N]: default 5, at most 20": a count that is no whole number from 1 to 20 gets the
    # usage line, never a list of some other length
    bot = await start_bot()
    assert (await bot.ask(command)).params["text"] == "Usage: /latest [N], N from 1 to 20 (default 5)."


async def test_latest_twenty_long_headlines_fit_one_message_and_count_the_rest(start_bot: StartBot) -> None:
    long_headline = "reporters, ministers and farmers all named in one headline of a feed " * 5  # 345 chars
    wordy = {
        f"wordy-{n:02}.txt": article(f"2024-11-{n:02}", f"Session {n}: {long_headline}", "The council met.")
        for n in range(1, 21)
    }
    bot = await start_bot(articles=wordy)
    lines = (await bot.ask("/latest 20")).params["text"].splitlines()
    assert lines[0] == "<b>The 20 newest articles</b>"
    assert lines[1].startswith("2024-11-20 · Session 20: reporters")
    listed = len(lines) - 2
    assert 5 < listed < 20 and lines[-1] == f"… and {20 - listed} more."


def timeline_events(text: str) -> list[str]:
    """The event lines of a /timeline reply: a headline (📰) or a sentence (•)."""
    return [line for line in text.splitlines() if line.startswith(("📰 ", "• "))]


async def test_timeline_shows_ten_events_by_default_and_thirty_at_most(start_bot: StartBot) -> None:
    bot = await start_bot(articles=BRIEFS)
    assert len(bot.application.bot_data["state"].library.timeline.events) > 31
    default = timeline_events((await bot.ask("/timeline")).params["text"])
    assert len(default) == 10 and default[0].startswith("📰 <b>Ukraine&#x27;s Minister")
    assert len(timeline_events((await bot.ask("/timeline 30")).params["text"])) == 30
    usage = (await bot.ask("/timeline 31 council")).params["text"]
    assert usage.startswith("Usage: /timeline [N] [topic], N from 1 to 30 (default 10).")


async def test_a_timeline_asked_before_an_event_was_retold_shows_it_from_its_first_telling(
    start_bot: StartBot,
) -> None:
    # the retelling published later hid the first telling at the build: a message dated
    # before the retelling (its day on Earth: UTC+14's) got a timeline without the event
    told = "On October 16, the council of Mykolaiv approved the new budget for roads and schools."
    bot = await start_bot(
        saved_index=True,
        articles={
            "first.txt": article("2024-10-20", "Mykolaiv budget", told),
            "retold.txt": article("2024-10-23", "Mykolaiv again", told.replace("new", "city’s new")),
        },
    )
    before = int(dt.datetime(2024, 10, 21, 9, tzinfo=dt.UTC).timestamp())  # 2024-10-21 on Earth
    then = timeline_events((await bot.ask("/timeline 5 Mykolaiv", date=before)).params["text"])
    assert [line for line in then if line.startswith("• ")] == [f"• {told}"]
    now = timeline_events((await bot.ask("/timeline 5 Mykolaiv")).params["text"])
    assert [line.removesuffix(" [1]") for line in now if line.startswith("• ")] == [
        f"• {html.escape(told.replace('new', 'city’s new'))}"
    ]


async def test_a_timeline_too_long_for_one_message_counts_the_events_left_out(start_bot: StartBot) -> None:
    at_length = "and discussed the harbour, the grain terminals and the ferry timetable at great length " * 3
    sessions = {
        f"session-{n:02}.txt": article(
            f"2024-08-{n:02}", f"Council session {n}", f"On August {n}, the council met {at_length}."
        )
        for n in range(1, 26)
    }
    bot = await start_bot(articles=sessions)
    text = (await bot.ask("/timeline 30")).params["text"]
    shown = len(timeline_events(text))
    assert 5 < shown < 30 and f"… and {30 - shown} more." in text.splitlines()


async def test_a_timeline_of_headlines_full_of_hashtags_keeps_every_day_within_what_telegram_shows(
    start_bot: StartBot,
) -> None:
    # Telegram makes an entity of each #tag and shows a message's first 100: each day's bold
    # heading, each bold headline and the tags came to more, and the last days showed plain
    tagged = {
        f"port-{n:02}.txt": article(
            f"2024-08-{n:02}",
            f"#Odesa #port #grain: day {n} of the corridor",
            f"Ships left Odesa on day {n}.",
        )
        for n in range(1, 21)
    }
    bot = await start_bot(articles=tagged)
    text = (await bot.ask("/timeline 20 corridor")).params["text"]
    assert entities(text) <= MAX_ENTITIES
    days = re.findall(r"^<b>2024-08-(\d\d)</b>$", text, flags=re.MULTILINE)
    assert days == [f"{n:02}" for n in range(20, 0, -1)]  # every day, its heading bold
    assert text.count("#Odesa #port #grain: day") == 20 and "more." not in text  # no event left out
    assert "📰 <b>#Odesa #port #grain: day 20 of" in text  # the newest headlines still bold


async def test_a_timeline_event_of_a_hundred_hashtags_leaves_the_next_days_their_headings(
    start_bot: StartBot,
) -> None:
    # an event of nearly 100 #tags with the headings around it is past the 100 entities Telegram
    # shows: with no bold left to take off, the timeline was sent with 106, and the older days'
    # headings came plain
    tags = "Port: " + " ".join(["#a"] * 98)  # a headline of 299 characters, its event whole
    bot = await start_bot(
        articles={
            "tags.txt": article("2024-08-20", tags, "Ships left Odesa."),
            **{
                f"port-{n:02}.txt": article(
                    f"2024-08-{n:02}", f"Port day {n}", f"Ships left Odesa on day {n}."
                )
                for n in range(15, 20)
            },
        }
    )
    text = (await bot.ask("/timeline 6 port")).params["text"]
    assert entities(text) <= MAX_ENTITIES
    days = re.findall(r"^<b>2024-08-(\d\d)</b>$", text, flags=re.MULTILINE)
    assert days == [f"{n:02}" for n in range(20, 14, -1)]  # every day, its heading bold
    assert "📰 Port: #a #a" in text and "#a…" in text  # the tags that fit, then an ellipsis
    assert all(f"Port day {n}" in text for n in range(15, 20))  # no other event left out for it


async def test_top_k_sets_how_many_articles_a_page_shows(start_bot: StartBot) -> None:
    bot = await start_bot(articles=GRAIN, top_k=2)  # 13 articles answer: five pages of two
    first = await bot.ask("grain exports")
    assert re.findall(r"^<b>(\d+)\. ", first.params["text"], flags=re.MULTILINE) == ["1", "2"]
    assert [label for label, _ in buttons(first)] == ["1/5", "▶"]


async def test_a_page_of_ten_articles_with_links_shows_all_ten(start_bot: StartBot) -> None:
    more = ", as ports on the Black Sea keep working despite the shelling"
    linked = {  # GRAIN's twelve stories as a feed saves them: a headline of 200 characters, a link, an outlet
        f"grain-{n:02}.md": (
            f"---\ntitle: {(headline + more * 4)[:200]}\ndate: 2024-09-{n + 10:02}\n"
            f"url: https://www.agrarian-news.example.com/en/news/2024/09/{n + 10:02}/grain-{n}-report.html\n"
            f"source: Agrarian News\n---\n{body} {body}\n"
        )
        for n, (headline, body) in enumerate(GRAIN_NEWS, start=1)
    }
    bot = await start_bot(articles=linked, top_k=10)
    first = await bot.ask("grain exports")
    ranks = re.findall(r"^<b>(\d+)\. ", first.params["text"], flags=re.MULTILINE)
    assert ranks == [str(rank) for rank in range(1, 11)]  # none left out: page 2 starts at 11
    second = await press(bot, buttons(first)[-1][1])
    assert second.params["text"].startswith("<b>11. ")
    for page in (first, second):  # ten links, and no preview of the first one's page under them
        assert page.params["link_preview_options"] == {"is_disabled": True}


async def test_a_page_of_articles_full_of_ampersands_and_quotes_shows_each_passage_whole(
    start_bot: StartBot,
) -> None:
    # Telegram reads `&amp;` as the one character it stands for: counted as written, five
    # passages of "A&Z"s in quotes (3,389 characters to read) were taken for a page too long,
    # and each was cut by a third (2,469 sent)
    bodies = []
    for n in range(5):  # four firms of its own each
        firms = [f"{chr(65 + 4 * n + j)}&{chr(90 - 4 * n - j)}" for j in range(4)]
        deal = 'Mergers: "{}" <-> "{}" & "co.";'
        bodies.append(" ".join(deal.format(firms[i % 4], firms[(i + 1) % 4]) for i in range(19)))
    shown = await five_stories_shown(start_bot, "Mergers", bodies)
    assert all(body in shown for body in bodies)  # each passage whole


async def five_stories_shown(start_bot: StartBot, word: str, bodies: list[str]) -> str:
    """What a reader sees of a page of five articles, days apart (five stories, not one), each
    of one of `bodies`, that answer `word`; each under its own heading."""
    cities = ["Kyiv", "Lviv", "Odesa", "Dnipro", "Kharkiv"]
    stories = {
        f"story-{n}.txt": article(f"2024-09-{1 + 5 * n:02}", f"{word} in {city}", body)
        for n, (city, body) in enumerate(zip(cities, bodies, strict=True))
    }
    bot = await start_bot(articles=stories, top_k=5)
    text = (await bot.ask(word.lower())).params["text"]
    assert len(re.findall(rf"^<b>\d+\. {word} in ", text, flags=re.MULTILINE)) == 5
    return html.unescape(re.sub(r"<[^>]*>", "", text))


async def test_a_page_of_passages_full_of_emoji_is_sent_whole_within_telegrams_characters(
    start_bot: StartBot,
) -> None:
    # Telegram counts a message's 4,096 in characters: counted in UTF-16 units, where an emoji is
    # two, five passages a fifth emoji (some 3,900 characters) were each cut by a third
    ports = ["Izmail", "Reni", "Odesa", "Ochakiv", "Kherson"]
    bodies = [f"Grain 🌾🚢🌾🚢🌾 left {port} 🇺🇦🇺🇦 for port {n} 🌍🌍🌍. " * 15 for n, port in enumerate(ports)]
    shown = await five_stories_shown(start_bot, "Grain", bodies)
    assert all(body.strip() in shown for body in bodies)  # each passage whole
    assert len(shown.encode("utf-16-le")) // 2 > MAX_MESSAGE  # past 4,096 UTF-16 units, and sent


async def test_a_page_of_ten_articles_keeps_every_heading_and_link_within_what_telegram_shows(
    start_bot: StartBot,
) -> None:
    # Telegram shows a message's first 100 formatting entities and drops the rest unseen. Market
    # reports name the question's words in every clause: bolded, they took all 100, and the last
    # articles' headings were no longer bold, their outlets' links plain text.
    market = (
        "Wheat exports rose {0}%, corn exports fell {1}% and barley exports held; wheat prices, corn prices"
    )
    reports = {
        f"grain-{n:02}.md": (
            f"---\ntitle: {headline}\ndate: 2024-09-{n + 10:02}\nurl: https://agrarian.example.com/{n}.html\n"
            f"source: Agrarian News\n---\n{body} {market.format(n, n + 2)} and barley prices parted.\n"
        )
        for n, (headline, body) in enumerate(GRAIN_NEWS, start=1)
    }
    bot = await start_bot(articles=reports, top_k=10)
    text = (await bot.ask("wheat corn barley exports prices")).params["text"]
    assert entities(text) <= MAX_ENTITIES
    assert (
        len(re.findall(r"^<b>\d+\. ", text, flags=re.MULTILINE))
        == 10
        == text.count('<a href="https://agrarian')
    )
    assert "<b>Wheat</b> <b>exports</b>" in text  # the question's words still bold, the first of each passage


async def test_group_chat_answers_only_when_addressed(start_bot: StartBot) -> None:
    bot = await start_bot()
    group = {"chat_id": -100, "chat_type": "group"}
    bot.api.push_message("Where did the talks collapse?", user_id=7, message_id=501, **group)  # ignored
    mention = await bot.ask(
        "@news_test_bot where did the talks collapse?", user_id=7, message_id=502, **group
    )
    assert "Istanbul" in mention.params["text"]
    # a chat's messages are answered in order: the first answer is the mention's, none came before
    assert mention.params["reply_parameters"]["message_id"] == 502
    replied = {
        "message_id": 5,
        "date": 0,
        "chat": {"id": -100, "type": "group"},
        "from": {"id": 999, "is_bot": True, "first_name": "News"},
        "text": "x",
    }
    reply = await bot.ask(
        "and the grain exports?", user_id=7, message_id=503, reply_to_message=replied, **group
    )
    assert "grain" in reply.params["text"]
    ask = await bot.ask("/ask humanitarian corridor", user_id=7, message_id=504, **group)
    assert "corridor" in ask.params["text"]
    answered = [call.params["reply_parameters"]["message_id"] for call in bot.api.sent("sendMessage", -100)]
    assert answered == [502, 503, 504]


async def test_in_a_group_a_mention_is_the_bots_in_any_case_and_a_text_mention_only_if_it_names_the_bot(
    start_bot: StartBot,
) -> None:
    bot = await start_bot()
    group = {"chat_id": -100, "chat_type": "supergroup"}
    # a member without a username is mentioned by a link to them (text_mention): not the bot
    olena = {"id": 8, "is_bot": False, "first_name": "Olena"}
    to_olena = [{"type": "text_mention", "offset": 0, "length": 5, "user": olena}]
    bot.api.push_message("Olena, where did the talks collapse?", user_id=7, entities=to_olena, **group)
    to_bot = [{"type": "text_mention", "offset": 0, "length": 4, "user": BOT_USER}]
    linked = await bot.ask("News, where did the talks collapse?", user_id=7, entities=to_bot, **group)
    assert "Istanbul" in linked.params["text"]  # the chat's first answer: Olena's message got none
    # a mention as the reader typed it is the bot's whatever its case, and no word of the question
    bare = await bot.ask("@News_Test_Bot", user_id=7, **group)
    assert bare.params["text"].startswith("Please send a question in words")
    nothing = await bot.ask("@NEWS_TEST_BOT zyzzyva", user_id=7, **group)
    assert nothing_for(nothing) == "zyzzyva"
    assert len(bot.api.sent("sendMessage", -100)) == 3


async def test_in_a_group_a_text_mention_of_the_bot_is_no_word_of_the_question(start_bot: StartBot) -> None:
    # a member picks the bot from the mention list, and Telegram shows it by its name ("News"),
    # a link to it: the name was searched with the question, as an @mention is not
    bot = await start_bot()
    group = {"chat_id": -100, "chat_type": "supergroup"}

    def to_bot(offset: int) -> list[dict[str, object]]:
        return [{"type": "text_mention", "offset": offset, "length": 4, "user": BOT_USER}]

    first = await bot.ask("News zyzzyva", user_id=7, entities=to_bot(0), **group)
    assert nothing_for(first) == "zyzzyva"
    # offsets count UTF-16 units: an emoji before the name is two
    after = await bot.ask("🚢 zyzzyva, News qwxy", user_id=7, entities=to_bot(12), **group)
    typed = await bot.ask("🚢 zyzzyva, @news_test_bot qwxy", user_id=7, **group)
    assert nothing_for(after) == nothing_for(typed) == "🚢 zyzzyva,   qwxy"  # removed alike
    alone = await bot.ask("News", user_id=7, entities=to_bot(0), **group)
    assert alone.params["text"].startswith("Please send a question in words")


async def test_a_question_deleted_before_its_answer_still_gets_the_answer(start_bot: StartBot) -> None:
    bot = await start_bot()
    group = {"chat_id": -100, "chat_type": "supergroup"}
    for number, command in enumerate(["/ask where did the talks collapse?", "/latest"], start=1):
        # the asker deleted it, or a group's moderation bot that clears commands at once did
        bot.api.deleted.add((-100, 7000 + number))
        reply = await bot.ask(command, user_id=7, message_id=7000 + number, **group)
        assert "something went wrong" not in reply.params["text"]
        assert reply.params["reply_parameters"]["message_id"] == 7000 + number  # a reply while it is there
    assert "Istanbul" in bot.api.sent("sendMessage", -100)[0].params["text"]


async def test_a_question_asked_as_its_group_became_a_supergroup_is_answered_in_the_supergroup(
    start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await start_bot()
    bot.api.migrated[-100] = -1001234  # the group is upgraded before its answer goes out
    bot.api.push_message("@news_test_bot Istanbul", user_id=7, chat_id=-100, chat_type="group")
    (answer,) = await bot.api.wait_for("sendMessage", chat_id=-1001234)
    assert "Istanbul" in answer.params["text"]
    assert "reply_parameters" not in answer.params  # the supergroup numbers its messages anew
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


async def test_a_wait_asked_of_a_group_become_supergroup_holds_the_supergroups_own_answers(
    start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    # Telegram refused the group's answer with the supergroup's id, then asked the supergroup
    # to wait a minute (429): the wait was recorded against the group, and the next question
    # asked in the supergroup was answered into it, to be refused again
    bot = await start_bot()
    bot.api.migrated[-100] = -1001234
    bot.api.fail("sendMessage", Fault(429, "Too Many Requests: retry after 60", retry_after=60))
    bot.api.push_message("@news_test_bot Istanbul", user_id=7, chat_id=-100, chat_type="group")
    await wait_for_log(caplog, "not sent: Telegram asks")
    assert [call.params["chat_id"] for call in bot.api.refused] == [-1001234]  # the 429 came from there
    bot.api.push_message("@news_test_bot grain", user_id=8, chat_id=-1001234, chat_type="supergroup")

    def held() -> int:
        return sum("not sent: Telegram asks" in record.getMessage() for record in caplog.records)

    async with asyncio.timeout(60):  # until the supergroup's question is held, or answered into the wait
        while held() < 2 and not bot.api.sent("sendMessage", -1001234):
            await asyncio.sleep(0.02)
    assert bot.api.sent("sendMessage", -1001234) == []
    assert held() == 2 and "Telegram asks chat -100 " not in caplog.text
    assert len(bot.api.refused) == 1  # held in the bot: Telegram was not asked again meanwhile


async def test_a_group_become_supergroup_is_written_to_there_without_asking_the_group_again(
    start_bot: StartBot,
) -> None:
    bot = await start_bot()
    bot.api.migrated[-100] = -1001234
    group = {"chat_id": -100, "chat_type": "group"}
    bot.api.push_message("@news_test_bot Istanbul", user_id=7, **group)
    await bot.api.wait_for("sendMessage", chat_id=-1001234)
    bot.api.push_message("@news_test_bot grain", user_id=7, **group)  # handed out late, as after a restart
    second = (await bot.api.wait_for("sendMessage", chat_id=-1001234, count=2))[1]
    assert "grain" in second.params["text"]
    assert len(bot.api.refused_migrated) == 1  # the group was asked once, for the first answer


async def test_after_a_restart_a_group_become_supergroup_is_written_to_there_at_once(
    start_bot: StartBot,
) -> None:
    # the move was known in memory alone: after a restart, the first answer to a late message
    # of the group was sent there, to be refused and sent again
    first = await start_bot()
    first.api.migrated[-100] = -1001234
    group = {"chat_id": -100, "chat_type": "group"}
    first.api.push_message("@news_test_bot Istanbul", user_id=7, **group)
    await first.api.wait_for("sendMessage", chat_id=-1001234)
    await first.application.updater.stop()
    await first.application.stop()
    second = await start_bot()  # the same state file
    second.api.migrated[-100] = -1001234
    second.api.push_message("@news_test_bot grain", user_id=7, **group)  # handed out late
    (answer,) = await second.api.wait_for("sendMessage", chat_id=-1001234)
    assert "grain" in answer.params["text"]
    assert second.api.refused_migrated == []  # the group was not asked


async def test_once_telegram_says_a_group_became_a_supergroup_its_answers_go_there_at_once(
    start_bot: StartBot,
) -> None:
    bot = await start_bot()
    bot.api.migrated[-100] = -1001234
    group = {"chat_id": -100, "chat_type": "group"}
    bot.api.push_message(user_id=7, migrate_to_chat_id=-1001234, **group)  # Telegram's word, in the group
    bot.api.push_message("@news_test_bot Istanbul", user_id=7, **group)  # handed out after it
    (answer,) = await bot.api.wait_for("sendMessage", chat_id=-1001234)
    assert "Istanbul" in answer.params["text"]
    assert bot.api.refused_migrated == []


async def test_telegrams_word_that_a_busy_group_became_a_supergroup_is_not_dropped_as_busy(
    start_bot: StartBot,
) -> None:
    # the service message passed the busy gate as any other update: in a group with its share
    # in flight it was dropped, its move was not kept, and the next answer went to the group
    # first, to be refused
    bot = await start_bot(max_unanswered_per_chat=1)
    group = {"chat_id": -100, "chat_type": "group"}
    bot.api.held[-100] = asyncio.Event()
    bot.api.push_message("/ask Istanbul", user_id=7, **group)  # taken: the group's share, its answer held
    await bot.api.until_holding(1)
    bot.api.push_message(user_id=7, migrate_to_chat_id=-1001234, **group)  # over the share
    bot.api.push_message("/start", user_id=8)  # answered once the service message was taken in
    await bot.api.wait_for("sendMessage", chat_id=8)
    bot.api.held[-100].set()
    await bot.api.wait_for("sendMessage", chat_id=-100)
    backlog = bot.application.update_queue
    async with asyncio.timeout(60):  # until every update taken in is handled
        while backlog.unanswered:
            await asyncio.sleep(0.02)
    assert feed_service(bot.application).db.chat_moves() == {-100: -1001234}
    bot.api.migrated[-100] = -1001234
    bot.api.push_message("@news_test_bot grain", user_id=7, **group)
    (answer,) = await bot.api.wait_for("sendMessage", chat_id=-1001234)
    assert "grain" in answer.params["text"]
    assert bot.api.refused_migrated == []


async def test_a_press_on_an_answer_of_a_group_that_became_a_supergroup_is_no_error(
    start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await start_bot(articles=GRAIN)
    group = {"chat_id": -100, "chat_type": "group"}
    answer = await bot.ask("@news_test_bot grain exports", user_id=7, **group)
    forward = buttons(answer)[-1][1]
    bot.api.migrated[-100] = -1001234  # its page is not edited there: the supergroup numbers anew
    bot.api.push_callback(forward, answer.result, user_id=7)
    await bot.api.wait_for("answerCallbackQuery")
    bot.api.push_message("@news_test_bot Istanbul", user_id=7, **group)  # answered after the press
    (answer,) = await bot.api.wait_for("sendMessage", chat_id=-1001234)
    assert "Istanbul" in answer.params["text"]  # the only message there: no apology came before it
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


async def test_a_channel_post_that_names_the_bot_forwarded_into_its_discussion_group_gets_no_answer(
    start_bot: StartBot,
) -> None:
    bot = await start_bot()
    # Telegram forwards each post of a channel into the group linked for its comments, from its
    # own account: a post that recommends the bot asks it nothing, and got "I found nothing for"
    post = "Questions about the talks? Ask @news_test_bot"
    bot.api.push_message(post, user_id=777000, **CHANNEL_FORWARD, **DISCUSSION_GROUP)
    asked = await bot.ask("@news_test_bot where did the talks collapse?", user_id=7, **DISCUSSION_GROUP)
    assert "Istanbul" in asked.params["text"]  # the chat's first answer: the post got none
    assert len(bot.api.sent("sendMessage", -100)) == 1


async def test_a_channel_post_that_starts_with_a_command_forwarded_into_its_discussion_group_runs_nothing(
    start_bot: StartBot,
) -> None:
    bot = await start_bot()
    # a channel's post that shows readers how to use the bot is no command to it in the group
    for post in ("/latest@news_test_bot for today's news", "/latets@news_test_bot", "/ask talks"):
        bot.api.push_message(post, user_id=777000, **CHANNEL_FORWARD, **DISCUSSION_GROUP)
    asked = await bot.ask("@news_test_bot where did the talks collapse?", user_id=7, **DISCUSSION_GROUP)
    assert "Istanbul" in asked.params["text"]  # the chat's first answer: the posts got none
    assert len(bot.api.sent("sendMessage", -100)) == 1


async def test_in_a_group_what_is_not_addressed_to_the_bot_gets_nothing(start_bot: StartBot) -> None:
    bot = await start_bot()
    group = {"chat_id": -100, "chat_type": "supergroup"}
    someone = {
        "message_id": 6,
        "date": 0,
        "chat": {"id": -100, "type": "supergroup"},
        "from": {"id": 8, "is_bot": False, "first_name": "Someone"},
        "text": "the talks collapsed",
    }
    bot.api.push_message("where did the talks collapse?", user_id=7, reply_to_message=someone, **group)
    bot.api.push_message("@other_bot where did the talks collapse?", user_id=7, **group)
    bot.api.push_message("/frobnicate", user_id=7, **group)  # another bot's command, perhaps
    bot.api.push_message(None, user_id=7, location={"latitude": 1.0, "longitude": 2.0}, **group)
    search = await bot.ask("/search where did the talks collapse?", user_id=7, message_id=601, **group)
    assert "Istanbul" in search.params["text"]
    # answered in order, /search last: its answer is the chat's first, so nothing before it got one
    assert search.params["reply_parameters"]["message_id"] == 601
    assert len(bot.api.sent("sendMessage", -100)) == 1


async def test_admin_reload_finds_a_new_article(start_bot: StartBot) -> None:
    bot = await start_bot()
    before = (await bot.ask("Who won the chess olympiad?")).params["text"]
    assert "I found nothing" in before
    (bot.corpus / "chess.txt").write_text(
        article("2024-10-24", "Chess olympiad ends", "India won the chess olympiad in Budapest.")
    )
    (bot.corpus / "broken.txt").write_text("no date line\n")
    report = (await bot.ask("/reload", user_id=ADMIN)).params["text"]
    assert "Corpus reloaded" in report
    assert "Articles: 1 → 2" in report
    assert "broken.txt: line 1 is not" in report
    after = (await bot.ask("Who won the chess olympiad?")).params["text"]
    assert "India <b>won</b> the <b>chess</b> <b>olympiad</b> in Budapest." in after


async def test_a_reloads_build_is_told_in_the_bots_log_as_it_goes(
    start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await start_bot()
    (bot.corpus / "chess.txt").write_text(article("2024-10-24", "Chess", "India won the chess olympiad."))
    assert "Corpus reloaded" in (await bot.ask("/reload", user_id=ADMIN)).params["text"]
    told = [r.getMessage() for r in caplog.records if r.name in ("bot.handlers", "retrieval.progress")]
    asked = next(n for n, line in enumerate(told) if line.startswith("reload of "))
    progress = told[asked + 1 : -1]  # from the indexing child, as it went
    assert progress[0] == "build: started, 2 files"
    assert progress[-1].startswith("build: done, 2 files: 2 articles, 3 passages in ")
    assert told[-1].startswith("reloaded: ")


async def test_non_admin_reload_is_refused_and_logged(
    start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await start_bot()
    (bot.corpus / "chess.txt").write_text(article("2024-10-24", "Chess", "India won the chess olympiad."))
    text = (await bot.ask("/reload", user_id=8)).params["text"]
    assert "only the bot's admins" in text
    assert "refused /reload from user 8" in caplog.text
    assert "I found nothing" in (await bot.ask("chess olympiad")).params["text"]


@pytest.mark.parametrize(
    "extra",
    [
        {
            "forward_origin": {
                "type": "user",
                "date": 0,
                "sender_user": {"id": ADMIN, "is_bot": False, "first_name": "A"},
            }
        },
        {"sender_chat": {"id": -100, "type": "supergroup", "title": "G"}},  # anonymous group admin
    ],
)
async def test_forwarded_or_anonymous_reload_is_not_an_admin(
    start_bot: StartBot, extra: dict[str, Any]
) -> None:
    bot = await start_bot()
    text = (await bot.ask("/reload", user_id=ADMIN, **extra)).params["text"]
    assert "only the bot's admins" in text


async def test_telegrams_account_for_anonymous_admins_is_no_admin_even_if_listed(start_bot: StartBot) -> None:
    # every anonymous group admin of every group writes as this one account: its id copied
    # into ADMIN_IDS (the log names no other) must make none of them an admin
    telegrams_account = 1087968824  # GroupAnonymousBot
    bot = await start_bot(admin_ids=frozenset({ADMIN, telegrams_account}))
    group = {"chat_id": -100, "chat_type": "supergroup"}
    text = (await bot.ask("/reload", user_id=telegrams_account, **group)).params["text"]
    assert text.startswith("Sorry, only the bot's admins")


@pytest.mark.parametrize("command", ["/reload", "/feeds", "/add https://example.com/news"])
async def test_an_anonymous_admins_refusal_is_logged_with_no_user_id_to_copy_into_admin_ids(
    start_bot: StartBot, caplog: pytest.LogCaptureFixture, command: str
) -> None:
    # the README has a new admin read their id off this line; an anonymous group admin's
    # message comes from Telegram's shared account, whose id would make no one an admin
    bot, telegrams_account = await start_bot(), 1087968824  # GroupAnonymousBot
    group = {"chat_id": -100, "chat_type": "supergroup"}
    anonymous = {"sender_chat": {"id": -100, "type": "supergroup", "title": "G"}}
    text = (await bot.ask(command, user_id=telegrams_account, **group, **anonymous)).params["text"]
    assert text.startswith("Sorry, only the bot's admins")
    (refusal,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("refused /")]
    assert "from an anonymous sender (Telegram hides their user id" in refusal
    assert str(telegrams_account) not in refusal


async def failed_and_kept(bot: RunningBot, reply: str, reason: str) -> None:
    """A reload's `reply` says it failed and why, and the corpus before it still answers."""
    assert "Reload failed" in reply
    assert "still serving the previous corpus (1 article, 2 passages)" in reply
    assert reason in reply
    assert "Abramovich" in (await bot.ask("Abramovich")).params["text"]


async def test_reload_of_a_vanished_folder_keeps_the_old_corpus(start_bot: StartBot) -> None:
    bot = await start_bot()
    shutil.rmtree(bot.corpus)
    await failed_and_kept(bot, (await bot.ask("/reload", user_id=ADMIN)).params["text"], "does not exist")


async def test_a_file_name_with_line_breaks_forges_no_log_record_and_no_line_of_the_reload_report(
    start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await start_bot()
    for served in bot.corpus.iterdir():
        served.unlink()
    logged = "2024-10-25 09:00:00,000 ERROR telegram.ext: token leaked"  # a line of the bot's log
    relayed = "ERROR telegram.ext: token leaked"  # a record as the indexing child writes one
    (bot.corpus / f"a.txt\n{logged}\n{relayed}.txt").write_text("not an article\n")  # a legal name
    text = (await bot.ask("/reload", user_id=ADMIN)).params["text"]
    (reason,) = [line for line in text.splitlines() if "token leaked" in line]
    assert reason.startswith("Reason: ") and f"a.txt\\n{logged}\\n{relayed}.txt: line 1 is not" in reason
    said = [r for r in caplog.records if "token leaked" in r.getMessage()]
    assert [r.name for r in said if r.name == "telegram.ext"] == []  # no record relayed as another's
    assert said and all(len(r.getMessage().splitlines()) == 1 for r in said)  # nor a line forged


async def test_reload_of_a_folder_with_no_readable_article_keeps_the_old_corpus(start_bot: StartBot) -> None:
    bot = await start_bot()
    for path in bot.corpus.iterdir():
        path.write_bytes(b"\x00\xff binary, not an article")
    (bot.corpus / "no-date.txt").write_text("A headline without its date line\n\nBody.\n")
    reply = (await bot.ask("/reload", user_id=ADMIN)).params["text"]
    await failed_and_kept(bot, reply, "no readable article")


async def test_a_reload_whose_indexing_process_is_killed_keeps_the_old_corpus_and_builds_nothing_here(
    start_bot: StartBot,
) -> None:
    # The system kills the indexing process when memory runs out: the same build in the
    # bot's own process would take as much memory, and the bot with it.
    bot = await start_bot()
    state = bot.application.bot_data["state"]
    served = state.library
    (bot.corpus / "archive").mkdir()
    generate_corpus(bot.corpus / "archive", passages=8_000, seed=5)  # seconds of reading
    bot.api.push_message("/reload", user_id=ADMIN)
    await kill_indexing(bot.corpus)
    (reply,) = await bot.api.wait_for("sendMessage", chat_id=ADMIN, count=1)
    assert "memory runs out" in reply.params["text"]
    assert state.library is served
    await failed_and_kept(bot, reply.params["text"], "killed by SIGKILL")


async def test_answers_do_not_wait_for_a_reload_of_a_large_corpus(start_bot: StartBot) -> None:
    bot = await start_bot()
    (bot.corpus / "archive").mkdir()
    generate_corpus(bot.corpus / "archive", passages=8_000, seed=5)  # 2,000 files to read
    bot.api.push_message("/reload", user_id=ADMIN)
    async with asyncio.timeout(60):  # a guard against a hang only
        while not (children := indexing_processes(bot.corpus)):
            await asyncio.sleep(0.01)
    for pid in children:  # the reload cannot end while questions are asked, however busy the machine
        os.kill(pid, signal.SIGSTOP)
    try:
        for user in range(1000, 1005):
            assert "Istanbul" in (await bot.ask("Istanbul poisoning", user_id=user)).params["text"]
        assert bot.api.sent("sendMessage", chat_id=ADMIN) == []  # answered while the reload runs
    finally:
        for pid in children:
            os.kill(pid, signal.SIGCONT)
    (report,) = await bot.api.wait_for("sendMessage", chat_id=ADMIN)
    assert "Articles: 1 → 2001" in report.params["text"]
    assert "Report 42" in (await bot.ask("Report 42")).params["text"]  # the new corpus is served


async def test_a_reload_that_waited_for_another_reports_its_own_change_not_the_others(
    start_bot: StartBot,
) -> None:
    # The second /reload counted the articles before it waited: its report said "1 → 2001",
    # the first reload's change, though it read nothing new
    bot = await start_bot()
    (bot.corpus / "archive").mkdir()
    generate_corpus(bot.corpus / "archive", passages=8_000, seed=5)  # 2,000 files to read
    bot.api.push_message("/reload", user_id=ADMIN)
    async with asyncio.timeout(60):  # a guard against a hang only
        while not (children := indexing_processes(bot.corpus)):
            await asyncio.sleep(0.01)
    for pid in children:  # the first reload cannot end before the second is sent, however fast
        os.kill(pid, signal.SIGSTOP)
    try:
        bot.api.push_message("/reload", user_id=ADMIN)
        (waiting,) = await bot.api.wait_for("sendMessage", chat_id=ADMIN, count=1)
        assert waiting.params["text"].startswith("A reload is already running")
    finally:
        for pid in children:
            os.kill(pid, signal.SIGCONT)
    first, second = (await bot.api.wait_for("sendMessage", chat_id=ADMIN, count=3, timeout=120))[1:]
    assert "Articles: 1 → 2001" in first.params["text"]
    assert "Articles: 2001 → 2001" in second.params["text"], second.params["text"]


async def test_a_reload_told_to_wait_runs_even_if_that_notice_got_no_reply(start_bot: StartBot) -> None:
    bot = await start_bot()
    (bot.corpus / "archive").mkdir()
    generate_corpus(bot.corpus / "archive", passages=4_000, seed=5)  # for the first reload to take a while
    bot.api.push_message("/reload", user_id=ADMIN)
    state = bot.application.bot_data["state"]
    while not state.reloads.running:
        await asyncio.sleep(0.01)
    bot.api.fail("sendMessage", Fault(drop=True, delivered=True))  # the notice arrives, its reply is lost
    bot.api.push_message("/reload", user_id=ADMIN)
    replies = await bot.api.wait_for("sendMessage", chat_id=ADMIN, count=3, timeout=120)
    assert sum("Corpus reloaded" in reply.params["text"] for reply in replies) == 2  # both reloads ran


@pytest.mark.parametrize(
    ("update", "expected"),
    [
        ({"sticker": STICKER}, "I can only read text"),
        ({"photo": PHOTO}, "I can only read text"),
        ({"location": {"latitude": 1.0, "longitude": 2.0}}, "I can only read text"),
    ],
)
async def test_non_text_messages_get_a_hint(
    start_bot: StartBot, update: dict[str, Any], expected: str
) -> None:
    bot = await start_bot()
    assert expected in (await bot.ask(None, **update)).params["text"]  # type: ignore[arg-type]


async def test_a_question_written_on_a_photo_is_answered(start_bot: StartBot) -> None:
    bot = await start_bot()
    photo = PHOTO
    reply = await bot.ask(None, photo=photo, caption="Where did the talks collapse?")  # type: ignore[arg-type]
    assert "Istanbul" in reply.params["text"]  # not "I can only read text"
    group = {"chat_id": -100, "chat_type": "group"}
    bot.api.push_message(None, user_id=7, photo=photo, caption="where did the talks collapse?", **group)
    mention = {"type": "mention", "offset": 0, "length": len("@news_test_bot")}
    addressed = await bot.ask(
        None,  # type: ignore[arg-type]
        user_id=7,
        photo=photo,
        caption="@news_test_bot where did the talks collapse?",
        caption_entities=[mention],
        **group,
    )
    assert "Istanbul" in addressed.params["text"]
    assert len(bot.api.sent("sendMessage", -100)) == 1  # the photo not addressed to the bot got nothing


async def test_a_photo_captioned_with_a_command_gets_the_photo_hint_not_a_search_for_the_command(
    start_bot: StartBot,
) -> None:
    # as Telegram's clients and most bots take it, a command on a photo is no command: the
    # reader is told what the bot reads, not "I found nothing for /latest"
    bot = await start_bot()
    command = {"type": "bot_command", "offset": 0, "length": len("/latest")}
    caption = {"photo": PHOTO, "caption": "/latest", "caption_entities": [command]}
    reply = await bot.ask(None, **caption)  # type: ignore[arg-type]
    assert reply.params["text"].startswith("I can only read text"), reply.params["text"]
    group = {"chat_id": -100, "chat_type": "supergroup"}
    named = {"type": "bot_command", "offset": 0, "length": len("/latest@news_test_bot")}
    bot.api.push_message(
        None, user_id=7, photo=PHOTO, caption="/latest@news_test_bot 3", caption_entities=[named], **group
    )
    asked = await bot.ask("@news_test_bot where did the talks collapse?", user_id=7, **group)
    assert "Istanbul" in asked.params["text"]  # the chat's first answer: the photo got none
    assert len(bot.api.sent("sendMessage", -100)) == 1


async def test_an_album_gets_one_reply_not_one_for_each_photo(start_bot: StartBot) -> None:
    # Telegram delivers each photo of an album as a message of its own, the caption on one
    bot = await start_bot()
    photo = [{"file_id": "p", "file_unique_id": "p", "width": 1, "height": 1}]
    bot.api.push_message(
        None, user_id=7, photo=photo, media_group_id="1", caption="Where did the talks collapse?"
    )
    for album in ("1", "1", "2", "2", "2"):  # the rest of the captioned album, then one with no caption
        bot.api.push_message(None, user_id=7, photo=photo, media_group_id=album)
    bot.api.push_message("/latest", user_id=7)  # answered after them: one chat's updates go in order
    replies = await bot.api.wait_for("sendMessage", chat_id=7)
    while "newest" not in replies[-1].params["text"]:
        replies = await bot.api.wait_for("sendMessage", chat_id=7, count=len(replies) + 1)
    texts = [reply.params["text"] for reply in replies]
    assert len(texts) == 3, texts  # the answer, one hint, /latest
    assert "Istanbul" in texts[0]
    assert texts[1].startswith("I can only read text")  # once for the album with no caption


@pytest.mark.parametrize(
    "service",
    [
        {"pinned_message": {"message_id": 1, "date": 0, "chat": {"id": 7, "type": "private"}}},  # a pin
        {"message_auto_delete_timer_changed": {"message_auto_delete_time": 86400}},  # auto-delete on
        {"write_access_allowed": {"from_request": True}},
    ],
)
async def test_what_the_reader_did_to_the_chat_gets_no_hint(
    start_bot: StartBot, service: dict[str, Any]
) -> None:
    bot = await start_bot()
    bot.api.push_message(None, user_id=7, **service)
    bot.api.push_message("/latest", user_id=7)  # answered after it: one chat's updates go in order
    replies = await bot.api.wait_for("sendMessage", chat_id=7)
    while "newest" not in replies[-1].params["text"]:
        replies = await bot.api.wait_for("sendMessage", chat_id=7, count=len(replies) + 1)
    assert len(bot.api.sent("sendMessage", 7)) == 1  # the service message got no "I can only read text"


async def test_edited_commands_are_not_run_again_and_unknown_commands_point_to_help(
    start_bot: StartBot,
) -> None:
    bot = await start_bot()
    bot.api.push_message("/latest 3", kind="edited_message", edit_date=1)  # only /ask and /search are
    assert "don't know that command" in (await bot.ask("/frobnicate")).params["text"]
    assert len(bot.api.sent("sendMessage")) == 1  # the edit got no answer


async def test_in_a_group_an_unknown_command_named_for_the_bot_points_to_help(start_bot: StartBot) -> None:
    bot = await start_bot()
    group = {"chat_id": -100, "chat_type": "supergroup"}
    bot.api.push_message("/frobnicate@other_bot", user_id=7, message_id=801, **group)  # another bot's
    bot.api.push_message("/frobnicate", user_id=7, message_id=802, **group)  # perhaps another bot's
    bot.api.push_message("/latets@News_Test_Bot", user_id=7, message_id=803, **group)  # a typo, named for it
    bot.api.push_message("/latest", user_id=7, **group)  # answered after them: one chat's updates go in order
    replies = await bot.api.wait_for("sendMessage", chat_id=-100)
    while "newest" not in replies[-1].params["text"]:
        replies = await bot.api.wait_for("sendMessage", chat_id=-100, count=len(replies) + 1)
    assert [reply.params["text"][:29] for reply in replies[:-1]] == ["I don't know that command. /h"]
    assert replies[0].params["reply_parameters"]["message_id"] == 803  # the typo's, not the bare command's


@pytest.mark.parametrize(
    "question",
    [
        "<script>alert('x')</script> & <b>bold</b>",  # HTML must come back escaped
        "</b><a href='http://evil.example'>click</a> Abramovich &amp;",
    ],
)
async def test_html_in_a_question_is_escaped(start_bot: StartBot, question: str) -> None:
    bot = await start_bot()
    text = (await bot.ask(question)).params["text"]
    assert "<script>" not in text and "<a href='http://evil" not in text
    assert text.count("<b>") == text.count("</b>")


@pytest.mark.parametrize("question", ["   ", "the of and", "🙂🙂🙂", "Umerov " * 570, "negotiation" * 364])
async def test_odd_and_long_questions_get_a_polite_reply(start_bot: StartBot, question: str) -> None:
    bot = await start_bot()
    reply = (await bot.ask(question)).params["text"]
    assert reply
    assert "Istanbul" in (await bot.ask("Istanbul")).params["text"]  # still serving


async def test_long_passages_are_cut_at_a_sentence_with_an_ellipsis(start_bot: StartBot) -> None:
    bot = await start_bot()
    body = " ".join(f"Sentence {i} is about nothing in particular." for i in range(80))
    (bot.corpus / "long.txt").write_text(
        article("2024-10-25", "A long report", body + " The harbour of Odesa reopened today. " + body)
    )
    await bot.ask("/reload", user_id=ADMIN)
    text = (await bot.ask("Odesa harbour reopened")).params["text"]
    assert "The <b>harbour</b> of <b>Odesa</b> <b>reopened</b> today." in text
    assert "…" in text


async def test_an_answer_shows_about_700_characters_of_a_long_passage_centred_on_its_best_sentence(
    start_bot: StartBot,
) -> None:
    # docs/quality.md: "Answers show about 700 characters of a passage, centred on its best
    # sentence for the question": a passage of 2,300 characters, its answer in the middle
    before = " ".join(f"Report {i} from the valley was routine." for i in range(28))
    after = " ".join(f"Note {i} on the valley said nothing new." for i in range(28))
    best = "The lighthouse on Zmiinyi island was relit tonight."
    body = f"{before} {best} {after}"
    assert 2000 < len(body) < 2500  # one passage: not split, not joined to another
    bot = await start_bot(articles={"lighthouse.txt": article("2024-10-25", "Valley notes", body)})
    text = (await bot.ask("Zmiinyi lighthouse relit")).params["text"]
    headline, _, passage = text.split("\n")
    assert headline == "<b>1. Valley notes</b>"
    shown = html.unescape(re.sub(r"<[^>]*>", "", passage))
    assert shown.startswith("…") and shown.endswith("…")
    shown = shown.strip("…")
    assert 600 <= len(shown) <= 700 and shown in body
    ahead, behind = shown.split(best)
    assert abs(len(ahead) - len(behind)) < 100  # a sentence more on one side at most


async def test_error_handler_logs_and_tells_the_user(
    start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await start_bot()
    bot.api.fail("sendMessage", Fault(400, "Bad Request: can't parse entities"))
    update_id = bot.api.push_message("Abramovich", user_id=7)
    (sorry,) = await bot.api.wait_for("sendMessage", chat_id=7)
    assert "something went wrong" in sorry.params["text"]
    failures = [r for r in caplog.records if r.getMessage() == f"update {update_id} failed"]
    assert failures and failures[0].exc_info is not None
    assert "Abramovich" in (await bot.ask("Abramovich")).params["text"]


async def test_the_apology_for_a_failure_in_a_forum_topic_lands_in_that_topic(start_bot: StartBot) -> None:
    bot = await start_bot()
    forum = {"user_id": 7, "chat_id": -1001, "chat_type": "supergroup"}
    topic = {"message_thread_id": 77, "is_topic_message": True}
    answer = await bot.ask("/ask Abramovich", **forum, **topic)
    assert answer.params["message_thread_id"] == 77  # an answer goes to the asker's topic ...
    (typing,) = bot.api.sent("sendChatAction", -1001)
    assert typing.params.get("message_thread_id") == 77  # ... "typing…" shows there ...
    bot.api.fail("sendMessage", Fault(400, "Bad Request: can't parse entities"))
    bot.api.push_message("/ask Abramovich", **forum, **topic)
    (sorry,) = (await bot.api.wait_for("sendMessage", chat_id=-1001, count=2))[1:]
    assert "something went wrong" in sorry.params["text"]
    assert sorry.params.get("message_thread_id") == 77  # ... and so does the apology, not to General


async def test_a_chain_of_replies_in_a_group_without_topics_is_no_topic_to_post_in(
    start_bot: StartBot,
) -> None:
    # Telegram gives a reply in a plain group the id of its chain's first message as its thread;
    # a message sent with that thread is refused ("message thread not found"): only a forum
    # topic's thread (`is_topic_message`) is one to post in.
    bot = await start_bot()
    group = {"user_id": 7, "chat_id": -1002, "chat_type": "supergroup"}
    answer = {
        "message_id": 5,
        "date": 0,
        "chat": {"id": -1002, "type": "supergroup"},
        "from": BOT_USER,
        "text": "x",
    }
    chain = {"message_thread_id": 5, "reply_to_message": answer}
    reply = await bot.ask("and where did the talks collapse?", **group, **chain)
    assert "Istanbul" in reply.params["text"] and "message_thread_id" not in reply.params
    (typing,) = bot.api.sent("sendChatAction", -1002)
    assert "message_thread_id" not in typing.params
    bot.api.fail("sendMessage", Fault(400, "Bad Request: can't parse entities"))
    bot.api.push_message("who negotiated with Abramovich?", **group, **chain)
    (sorry,) = (await bot.api.wait_for("sendMessage", chat_id=-1002, count=2))[1:]
    assert "something went wrong" in sorry.params["text"]
    assert "message_thread_id" not in sorry.params  # in the chat, as the answer would have been


async def test_token_never_reaches_the_logs_even_on_failing_requests(
    start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await start_bot()
    logging.getLogger("httpx").setLevel(logging.DEBUG)  # even if someone turns httpx up
    try:
        bot.api.fail("sendMessage", Fault(500, "Internal Server Error"), Fault(500, "Internal Server Error"))
        bot.api.push_message("Abramovich", user_id=7)
        await asyncio.sleep(0.5)
        logging.getLogger("test").error("url was %s", f"{bot.api.base_url}{TOKEN}/sendMessage")
    finally:
        logging.getLogger("httpx").setLevel(logging.WARNING)
    assert "[token redacted]" in caplog.text
    assert TOKEN not in caplog.text


async def test_webhook_update_is_answered(start_bot: StartBot, unused_tcp_port: int) -> None:
    import aiohttp

    from bot.app import webhook_options, webhook_secret

    bot = await start_bot(
        webhook_url=f"http://127.0.0.1:{unused_tcp_port}/hook",
        webhook_listen="127.0.0.1",
        webhook_port=unused_tcp_port,
        webhook_secret_token="s3cret",
    )
    await bot.application.updater.stop()
    await bot.application.updater.start_webhook(**webhook_options(bot.settings, webhook_secret(bot.settings)))
    (set_webhook,) = await bot.api.wait_for("setWebhook")
    assert set_webhook.params["url"] == f"http://127.0.0.1:{unused_tcp_port}/hook"
    update = {
        "update_id": 77,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": 7, "type": "private"},
            "from": {"id": 7, "is_bot": False, "first_name": "U"},
            "text": "Who negotiated with Abramovich?",
        },
    }
    async with aiohttp.ClientSession() as session:
        headers = {"X-Telegram-Bot-Api-Secret-Token": "s3cret", "Content-Type": "application/json"}
        url = f"http://127.0.0.1:{unused_tcp_port}/hook"
        async with session.post(url, data=json.dumps(update), headers=headers) as response:
            assert response.status == 200
        async with session.post(
            url, data=json.dumps(update), headers={"Content-Type": "application/json"}
        ) as bad:
            assert bad.status == 403  # a post without the secret is refused
    (reply,) = await bot.api.wait_for("sendMessage", chat_id=7)
    assert "Abramovich" in reply.params["text"]


@pytest.mark.parametrize(
    ("command", "dates"),
    [
        (
            "/timeline",
            ["2024-10-23", "2024-10-22", "2024-10-18", "2024-10-16", "2024-10-11", "2022-03", "2022"],
        ),
        ("/timeline 2", ["2024-10-23", "2024-10-22"]),
        ("/timeline Zelenskyy", ["2024-10-18", "2024-10-11"]),
        ("/timeline 1 Zelenskyy", ["2024-10-18"]),
    ],
)
async def test_timeline_lists_events_newest_first(
    start_bot: StartBot, command: str, dates: list[str]
) -> None:
    bot = await start_bot()
    text = (await bot.ask(command)).params["text"]
    assert re.findall(r"^<b>(\d{4}(?:-\d\d){0,2})</b>$", text, flags=re.MULTILINE) == dates
    assert text.count("Ukraine&#x27;s Minister of Defense") == 1  # the one source, named once
    if "Zelenskyy" in command:  # the headline is not an event on this topic: the source closes the list
        assert text.splitlines()[-1].startswith("<i>Source: Ukraine&#x27;s Minister of Defense")
    else:  # the headline, on its day, names the source
        assert "📰 <b>Ukraine&#x27;s Minister of Defense" in text
    assert "[1]" not in text


@pytest.mark.parametrize("command", ["/timeline -1", "/timeline 0", "/timeline 99999", "/timeline 31"])
async def test_timeline_with_a_bad_count_shows_usage(start_bot: StartBot, command: str) -> None:
    bot = await start_bot()
    assert (await bot.ask(command)).params["text"].startswith("Usage: /timeline [N] [topic]")


@pytest.mark.parametrize("command", ["/timeline 2022", "/timeline 2022 talks"])
async def test_a_year_first_is_the_timelines_topic_not_its_count(start_bot: StartBot, command: str) -> None:
    bot = await start_bot()
    text = (await bot.ask(command)).params["text"]  # not "Usage: /timeline [N] [topic], N from 1 to 30"
    assert text.startswith(f"<b>Timeline: <i>{command.removeprefix('/timeline ')}</i></b>")
    assert "<b>2022</b>\n• Ukrainian Defense Minister Rustem Umerov revealed" in text


async def test_a_count_with_leading_zeros_is_the_timelines_count_not_a_year(start_bot: StartBot) -> None:
    # `/timeline 0002` was read as the year 2 (any four digits were a year), its topic, and
    # found no event: a count written with zeros before it is that count
    bot = await start_bot()
    two = (await bot.ask("/timeline 2")).params["text"]
    assert (await bot.ask("/timeline 0002")).params["text"] == two
    assert (await bot.ask("/timeline 0002 negotiations")).params["text"] == (
        await bot.ask("/timeline 2 negotiations")
    ).params["text"]
    assert (await bot.ask("/timeline 0031")).params["text"].startswith("Usage: /timeline [N] [topic]")


@pytest.mark.parametrize("digits", ["٢٠٢٢", "２０２２", "٣"])
async def test_digits_other_than_ascii_are_a_timelines_topic_not_its_count(
    start_bot: StartBot, digits: str
) -> None:
    # `\d` took Arabic-Indic and full-width digits for a count: `/timeline ٢٠٢٢` got the usage
    # line ("N from 1 to 30") and `/timeline ٣` three events; a count is written in ASCII digits
    bot = await start_bot()
    text = (await bot.ask(f"/timeline {digits}")).params["text"]
    assert f"<i>{digits}</i>" in text.splitlines()[0], text[:200]


@pytest.mark.parametrize("command", ["/latest ٣", "/latest ３", "/unfollow ١", "/unfollow １"])
async def test_a_count_in_digits_other_than_ascii_gets_the_usage_line(
    start_bot: StartBot, command: str
) -> None:
    # `isdecimal` took them too: `/latest ٣` listed three articles and `/unfollow ١` dropped a topic
    bot = await start_bot()
    await bot.ask("/follow grain exports")
    assert (await bot.ask(command)).params["text"].startswith(f"Usage: {command.split()[0]} ")
    assert "grain exports" in (await bot.ask("/following")).params["text"]


@pytest.mark.parametrize("command", ["/timeline the of", "/timeline 5 and", "/timeline і в на"])
async def test_a_timeline_topic_of_stop_words_only_is_told_so(start_bot: StartBot, command: str) -> None:
    bot = await start_bot()
    text = (await bot.ask(command)).params["text"]  # not "No dated events about the of"
    assert text.startswith("That topic has no searchable words, only stop words or symbols.")
    unknown = (await bot.ask("/timeline zyzzyva")).params["text"]  # words, in no event: said so
    assert unknown.startswith("No dated events about <i>zyzzyva</i>. Try other words")


async def test_a_timeline_topic_finds_the_events_that_write_its_word_as_the_other_language_does(
    start_bot: StartBot,
) -> None:
    # `/timeline выборы` said "No dated events" over an article on `вибори` that the question
    # `выборы` finds: a topic's word now asks for its cognate too, where an article holds it
    elections = article("2024-10-20", "Вибори до міської ради перенесли", "Вчора депутати перенесли вибори.")
    bot = await start_bot(articles={"elections.txt": elections})
    text = (await bot.ask("/timeline выборы")).params["text"]
    assert "Вчора депутати перенесли вибори." in text, text[:300]


async def test_timeline_is_rebuilt_by_reload(start_bot: StartBot) -> None:
    bot = await start_bot()
    (bot.corpus / "chess.txt").write_text(
        article("2024-10-30", "Chess olympiad ends", "On October 29, India won the chess olympiad.")
    )
    await bot.ask("/reload", user_id=ADMIN)
    text = (await bot.ask("/timeline 2 chess")).params["text"]
    assert text.splitlines()[1:] == [
        "",
        "<b>2024-10-30</b>",
        "📰 <b>Chess olympiad ends</b>",
        "",
        "<b>2024-10-29</b>",
        "• On October 29, India won the chess olympiad.",
    ]


async def test_questions_are_answered_as_of_the_message_date(start_bot: StartBot) -> None:
    bot = await start_bot()
    (bot.corpus / "future.txt").write_text(
        article("2099-01-01", "Abramovich interview", "Abramovich gave a long interview about the talks.")
    )
    await bot.ask("/reload", user_id=ADMIN)
    text = (await bot.ask("Abramovich interview")).params["text"]
    assert "2099-01-01" not in text  # an article dated after the message is not an answer yet
    assert "Abramovich" in text
    then = await bot.ask("Abramovich interview", date=int(dt.datetime(2099, 6, 1, tzinfo=dt.UTC).timestamp()))
    assert "2099-01-01" in then.params["text"]


async def test_latest_is_as_of_the_message_date_as_answers_are(start_bot: StartBot) -> None:
    embargoed = article("2099-01-01", "Secret talks in Geneva", "Umerov held secret talks in Geneva.")
    bot = await start_bot(articles={"embargoed.txt": embargoed})
    assert "Geneva" not in (await bot.ask("/latest")).params["text"]  # not published yet
    then = await bot.ask("/latest", date=int(dt.datetime(2099, 6, 1, tzinfo=dt.UTC).timestamp()))
    assert then.params["text"].splitlines()[1] == "2099-01-01 · Secret talks in Geneva"


async def test_the_bots_today_is_the_day_already_begun_somewhere_on_earth(start_bot: StartBot) -> None:
    # an article carries its outlet's local date: at 10:30 UTC it is already the next day at
    # UTC+14, the earliest time zone, and an article of that day is published; at 09:30, not yet
    dawn = article("2024-10-25", "Ferry resumes at dawn", "The Danube ferry sailed at dawn.")
    bot = await start_bot(articles={"dawn.txt": dawn})
    for hour, minute, shown in ((9, 30, False), (10, 30, True)):
        when = int(dt.datetime(2024, 10, 24, hour, minute, tzinfo=dt.UTC).timestamp())
        text = (await bot.ask("/latest", date=when)).params["text"]
        assert ("Ferry resumes at dawn" in text) is shown, (hour, minute, text)


async def test_a_press_turns_the_pages_as_of_the_questions_date(start_bot: StartBot) -> None:
    # dated later, it would rank first and shift every page: a press searches as of the
    # question's date, as the first page did, so the pages first seen turn
    embargoed = article(
        "2099-01-01", "Grain exports grain exports", "Grain exports set a record: grain exports."
    )
    bot = await start_bot(articles={**GRAIN, "embargoed.txt": embargoed})
    first = await bot.ask("grain exports")
    bot.api.push_callback(buttons(first)[-1][1], first.result)
    (pressed,) = await bot.api.wait_for("answerCallbackQuery")
    assert "expired" not in pressed.params.get("text", "")
    (second,) = await bot.api.wait_for("editMessageText")
    assert second.params["text"].startswith("<b>4. ")
    assert "2099" not in first.params["text"] + second.params["text"]


@pytest.mark.parametrize("command", ["/timeline 2", "/timeline 2 talks"])
async def test_the_timeline_is_as_of_the_message_date_as_answers_are(
    start_bot: StartBot, command: str
) -> None:
    embargoed = article(
        "2099-01-01",
        "Secret talks in Geneva",
        "On January 1, Umerov held secret talks in Geneva.",
        "On December 30, the talks were set for Geneva.",
    )
    bot = await start_bot(articles={"embargoed.txt": embargoed})
    text = (await bot.ask(command)).params["text"]
    assert "Geneva" not in text  # an article dated after the message is not shown yet ...
    assert len(re.findall(r"^(?:📰|•) ", text, flags=re.MULTILINE)) == 2  # ... and costs no event asked for
    then = await bot.ask(command, date=int(dt.datetime(2099, 6, 1, tzinfo=dt.UTC).timestamp()))
    assert "Geneva" in then.params["text"]


@pytest.mark.parametrize("arrives", ["before the start", "by a reload"])
async def test_an_article_dated_later_does_not_hide_an_event_another_article_told(
    start_bot: StartBot, arrives: str
) -> None:
    told = "On October 29, 2024, Umerov held talks in Geneva with the Turkish delegation."
    embargoed = article("2099-01-01", "Talks in Geneva, a look back", told)
    early = {"embargoed.txt": embargoed} if arrives == "before the start" else {}
    bot = await start_bot(
        articles={"geneva.txt": article("2024-10-30", "Talks held in Geneva", told), **early}
    )
    if arrives == "by a reload":
        (bot.corpus / "embargoed.txt").write_text(embargoed)
        await bot.ask("/reload", user_id=ADMIN)
    text = (await bot.ask("/timeline 5 Geneva")).params["text"]
    assert "a look back" not in text  # not shown before its date ...
    assert "• On October 29, 2024, Umerov held talks in Geneva" in text  # ... nor hiding what the other told


async def test_the_bot_compiles_the_search_code_as_it_starts(
    start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    await start_bot()  # no question asked: the start itself gets the compiled code ready
    await wait_for_log(caplog, "search code compiled")


async def test_a_headline_of_bidi_controls_alone_is_titled_by_its_first_words_in_answers(
    start_bot: StartBot,
) -> None:
    # Bidi controls are left out of replies: a headline made of them alone gave an answer an
    # empty bold heading ("1. " and nothing), and /latest a date with nothing after it. Inline
    # mode titled such an article by its first words already; answers and /latest now agree.
    blank = {
        "blank.jsonl": '{"id": "x", "title": "\\u202e \\u202c", "date": "2024-10-24", "text": "'
        'Harbour cranes in Izmail loaded a record ten barges on Thursday."}\n'
    }
    bot = await start_bot(articles=blank)
    first = "Harbour cranes in Izmail loaded a record ten barges on Thursday."
    answer = (await bot.ask("Izmail harbour cranes")).params["text"]
    assert answer.startswith(f"<b>1. {first}</b>\n2024-10-24"), answer[:120]
    latest = (await bot.ask("/latest 1")).params["text"]
    assert latest.endswith(f"2024-10-24 · {first}"), latest


async def test_a_headline_of_bidi_controls_alone_is_titled_by_its_first_words_in_the_timeline(
    start_bot: StartBot,
) -> None:
    # The timeline's events carry their article's headline alone: the 📰 line of such an
    # article was an empty bold, and the source its other events point to a blank name
    blank = {
        "blank.jsonl": '{"id": "x", "title": "\\u202e \\u202c", "date": "2024-10-24", "text": "'
        "Harbour cranes in Izmail loaded a record ten barges. "
        'On 20 October 2024, the port of Izmail ordered two more harbour cranes."}\n'
    }
    bot = await start_bot(articles=blank)
    first = "Harbour cranes in Izmail loaded a record ten barges. On 20 October 2024, the port of"
    newest = (await bot.ask("/timeline 1")).params["text"]
    assert newest.splitlines()[-1].startswith(f"📰 <b>{first}"), newest
    topic = (await bot.ask("/timeline ordered cranes")).params["text"]
    assert "• On 20 October 2024, the port of Izmail ordered two more harbour cranes." in topic
    assert topic.splitlines()[-1].startswith(f"<i>Source: {first}"), topic
    assert topic.splitlines()[-1].endswith(", 2024-10-24</i>"), topic

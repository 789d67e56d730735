"""Inline mode end to end: `@bot question` in any chat, answered over the fake Bot API."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest

from bot.pages import MAX_PAGES
from bot.render import DESCRIPTION_CHARS, TITLE_CHARS
from fakes.bot_api import BOT_USER, Fault
from tests.conftest import article
from tests.e2e.conftest import ADMIN, GRAIN, RunningBot, StartBot, rendered_where, wait_for_log

pytestmark = pytest.mark.asyncio

HEADLINES = re.compile(r"<b>\d+\. (.+?)</b>")
"""The headline of each numbered answer on a page."""


async def inline(bot: RunningBot, query: str, user_id: int = 7, language_code: str | None = None) -> Any:
    """Type `query` after the bot's name; return the bot's answer to it."""
    query_id = bot.api.push_inline_query(query, user_id=user_id, language_code=language_code)
    while True:
        calls = await bot.api.wait_for("answerInlineQuery", count=len(bot.api.sent("answerInlineQuery")))
        for call in calls:
            if call.params["inline_query_id"] == query_id:
                return call
        await bot.api.wait_for("answerInlineQuery", count=len(calls) + 1)


async def test_a_question_lists_passages_with_headline_date_and_snippet(start_bot: StartBot) -> None:
    bot = await start_bot()
    answer = await inline(bot, "Who negotiated with Abramovich?")
    first = answer.params["results"][0]
    assert first["type"] == "article"
    assert first["title"].startswith("Ukraine's Minister of Defense Rustem Umerov")
    assert first["description"].startswith("2024-10-23 · ")
    assert "Abramovich" in first["description"]
    content = first["input_message_content"]
    assert content["parse_mode"] == "HTML"
    text = content["message_text"]
    assert text.startswith("<b>Ukraine&#x27;s Minister of Defense")  # no rank number: it stands alone
    assert text.splitlines()[1] == "2024-10-23"
    assert "Russian oligarch Roman <b>Abramovich</b>" in text
    # The same for everyone (no interface words in it), so Telegram may serve it from its cache.
    assert answer.params["is_personal"] is False
    assert answer.params["cache_time"] == 60
    ids = [result["id"] for result in answer.params["results"]]
    assert len(set(ids)) == len(ids) and all(len(i.encode()) <= 64 for i in ids)


async def test_a_results_description_is_its_date_then_the_sentence_that_answers_whole(
    start_bot: StartBot,
) -> None:
    # Telegram shows two lines of a description: the sentence that answers comes first, whole,
    # not after the sentences before it, nor cut short
    bot = await start_bot()
    for question, sentence in [
        (
            "Who negotiated with Abramovich?",
            "The Washington Post also reported that Umerov conducted unofficial negotiations with Russian "
            "oligarch Roman Abramovich during the early months of the full-scale war.",
        ),
        (
            "Where did the talks collapse?",
            "…However, these talks collapsed in March 2022 in Istanbul amid reports of poisoning.",
        ),
        (
            "how many people escaped through the corridor",
            '…One significant outcome was the creation of a "humanitarian corridor," which allowed '
            "approximately 400,000 people to escape from occupied territories.",
        ),
    ]:
        (first, *_) = (await inline(bot, question)).params["results"]
        assert first["description"].startswith(f"2024-10-23 · {sentence}"), first["description"]


async def test_results_are_rendered_off_the_event_loop(
    start_bot: StartBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ten results take some 7 ms to render, up to 14 with quotes or emoji: rendered on the
    # event loop, every chat's updates waited for each inline query, as they did for answers
    on_loop = rendered_where(monkeypatch, "render_answer", "inline_title", "inline_description")
    bot = await start_bot(articles=GRAIN)
    for query in ("grain exports", ""):  # a question's results, and the newest articles
        before = len(on_loop)
        assert (await inline(bot, query)).params["results"]
        assert len(on_loop) > before
    assert not any(loop for _, loop in on_loop), on_loop


ONE_STORY = {
    f"record-{n:02}.txt": article(
        f"2024-08-{n + 1:02}",
        f"Grain exports hit a record, agency {n} reports",
        "Grain exports through the Black Sea ports hit a record in August, grain exports officials said.",
    )
    for n in range(12)
}
"""One story told by twelve agencies, ranked first: folded into one result, it takes twelve
of the candidates a search asks for, so fewer candidates would leave fewer than ten stories."""


@pytest.mark.parametrize(
    ("top_k", "articles"),
    [
        (1, GRAIN),  # one article a page: a message searches for ten, though its five pages need five
        (3, {**GRAIN, **ONE_STORY}),  # three a page: a message searches for 15, and so must inline mode
    ],
)
async def test_at_most_ten_results_ranked_as_a_message_is(
    start_bot: StartBot, top_k: int, articles: dict[str, str]
) -> None:
    bot = await start_bot(articles=articles, top_k=top_k)
    results = (await inline(bot, "grain exports")).params["results"]
    assert len(results) == 10
    assert len({result["id"] for result in results}) == 10
    assert all(result["description"].startswith("2024-") for result in results)
    page = await bot.ask("grain exports")
    headlines = HEADLINES.findall(page.params["text"])
    while len(headlines) < len(results) and (data := next_page(page)):
        before = len(bot.api.sent("editMessageText"))
        bot.api.push_callback(data, page.result, user_id=7)
        page = (await bot.api.wait_for("editMessageText", count=before + 1))[before]
        headlines += HEADLINES.findall(page.params["text"])
    assert len(headlines) >= min(len(results), top_k * MAX_PAGES)
    shown = [html.unescape(headline) for headline in headlines[: len(results)]]
    assert [result["title"] for result in results[: len(shown)]] == shown


async def test_a_story_several_outlets_told_is_listed_without_interface_words(start_bot: StartBot) -> None:
    bot = await start_bot(articles=ONE_STORY)
    results = (await inline(bot, "grain exports record")).params["results"]
    assert len(results) < len(ONE_STORY)  # tellings folded into a result with the others beside it
    # the other outlets are left out of the message: "Also reported by" would be English for
    # every reader Telegram shares the list with
    assert not [r for r in results if "reported by" in r["input_message_content"]["message_text"].lower()]


def next_page(page: Any) -> str | None:
    """The data of the "▶" button under a page of answers; None on the last page."""
    markup = page.params.get("reply_markup")
    last = markup["inline_keyboard"][0][-1] if markup else None
    return str(last["callback_data"]) if last and last["text"] == "▶" else None


async def test_an_empty_query_lists_the_latest_articles_as_of_now(start_bot: StartBot) -> None:
    future = {"future.txt": article("2099-01-01", "A report from the future", "Not published yet.")}
    bot = await start_bot(articles={**GRAIN, **future})
    results = (await inline(bot, "")).params["results"]
    assert [result["title"] for result in results[:2]] == [
        "Ukraine's Minister of Defense Rustem Umerov revealed the results of these negotiations and noted…",
        "World Food Programme thanks Kyiv",  # 2024-09-22, the newest of the others
    ]
    assert len(results) == 10
    assert all("future" not in result["title"] for result in results)  # dated after today: not yet news
    dates = [result["description"][:10] for result in results]
    assert dates == sorted(dates, reverse=True)
    lead = results[0]["input_message_content"]["message_text"]
    assert "Ukrainian Defense Minister Rustem Umerov revealed that" in lead  # its first paragraph


@pytest.mark.parametrize(
    "query",
    # the last three: what a deleted emoji leaves (its variation selector), a grapheme joiner
    ["\u200b", "\u200d\u2060", "\u3164", "\u00ad\u200e", "\ufe0f", "\u034f", "\ufe0f\u034f\U000e0100"],
)
async def test_a_query_that_shows_nothing_lists_the_latest_articles_as_an_empty_one(
    start_bot: StartBot, query: str
) -> None:
    # zero-width characters, a Hangul filler: the reader sees an empty box after the bot's
    # name, and got "nothing found" where an empty one lists the newest articles
    bot = await start_bot(articles=GRAIN)
    shown = [result["title"] for result in (await inline(bot, query)).params["results"]]
    assert shown == [result["title"] for result in (await inline(bot, "")).params["results"]]
    assert len(shown) == 10


@pytest.mark.parametrize(
    "headline",
    [
        "\u202e \u202c",  # bidi controls, left out of what is shown
        "\ufffc",  # the object replacement character, a picture's place in copied text: a space to Telegram
        "\u0333\u030a",  # combining marks Telegram takes out of every text it is sent
        "\u200b\u2800\u3164",  # a zero-width space, the blank Braille pattern, a Hangul filler
    ],
)
async def test_a_headline_that_shows_nothing_still_gets_its_article_listed(
    start_bot: StartBot, headline: str
) -> None:
    # A headline is shown without its bidi controls; one made of them alone would leave its
    # result no title, and Telegram refuses a whole list for one such (ARTICLE_TITLE_EMPTY),
    # as it does a title of characters it reads as spaces or takes out (`empty_to_telegram`).
    # It is titled by its first words instead: the newest articles and a search list it.
    text = "Harbour cranes in Izmail loaded a record ten barges on Thursday."
    blank = {
        "blank.jsonl": json.dumps({"id": "x", "title": headline, "date": "2024-10-24", "text": text}) + "\n"
    }
    bot = await start_bot(articles=blank)
    for query in ("", "Izmail harbour cranes"):
        results = (await inline(bot, query)).params["results"]
        assert results[0]["title"] == text


async def test_results_are_as_of_the_query_not_later(start_bot: StartBot) -> None:
    future = {
        "future.txt": article("2099-01-01", "Abramovich interview", "Abramovich gave a long interview.")
    }
    bot = await start_bot(articles=future)
    results = (await inline(bot, "Abramovich interview")).params["results"]
    assert results and all("2099" not in result["description"] for result in results)


async def test_no_match_offers_a_private_chat_in_the_readers_language(start_bot: StartBot) -> None:
    bot = await start_bot()
    answer = await inline(bot, "zyzzyva quux")
    assert answer.params["results"] == []
    assert answer.params["button"] == {
        "text": "Nothing found — tap to ask me directly",
        "start_parameter": "inline",
    }
    assert answer.params["is_personal"] is True  # in the reader's language: not for others
    ukrainian = await inline(bot, "zyzzyva", user_id=8, language_code="uk")
    assert ukrainian.params["button"]["text"] == "Нічого не знайдено — натисніть, щоб запитати мене напряму"


@pytest.mark.parametrize(
    "query",
    [
        "<b>Abramovich</b> & <a href='javascript:alert(1)'>x</a>",  # HTML injection
        "\ud83d Abramovich \udc00",  # lone surrogates, legal in JSON
        "\u200f\u202eAbramovich\u202c",  # right-to-left overrides
        "the of and",  # stop words only
        "🙂" * 300,
        "Abramovich " * 500,  # far past Telegram's 256 characters
    ],
)
async def test_hostile_and_long_queries_get_an_answer_and_the_bot_keeps_serving(
    start_bot: StartBot, query: str
) -> None:
    bot = await start_bot()
    answer = await inline(bot, query)
    for result in answer.params["results"]:
        text = result["input_message_content"]["message_text"]
        assert "<a href='javascript" not in text and "<script" not in text
        assert text.count("<b>") == text.count("</b>")
    assert "Istanbul" in (await bot.ask("Where did the talks collapse?")).params["text"]


async def test_a_huge_article_fits_every_inline_limit(start_bot: StartBot) -> None:
    body = " ".join(f"Sentence {i} says the Odesa harbour is busy, 🙂 & <ok>." for i in range(800))
    huge = {"huge.txt": article("2024-10-20", "Odesa harbour " * 200, body)}
    bot = await start_bot(articles=huge)
    results = (await inline(bot, "Odesa harbour")).params["results"]
    assert results
    for result in results:
        assert len(result["title"]) <= TITLE_CHARS
        assert len(result["description"]) <= DESCRIPTION_CHARS
        text = result["input_message_content"]["message_text"]
        assert 0 < len(text.encode("utf-16-le")) // 2 <= 4096  # checked for every result at teardown too
        assert "&lt;ok&gt;" in text


async def test_inline_queries_count_against_the_senders_limit(start_bot: StartBot) -> None:
    bot = await start_bot(questions_per_minute=2)
    assert (await inline(bot, "Abramovich", user_id=9)).params["results"]
    assert "Istanbul" in (await bot.ask("Where did the talks collapse?", user_id=9)).params["text"]
    refused = await inline(bot, "grain", user_id=9)  # the third request in a minute, of either kind
    assert refused.params["results"] == []
    assert refused.params["button"]["text"] == "Too many questions — wait a minute"
    assert refused.params["is_personal"] is True
    assert (await inline(bot, "Abramovich", user_id=ADMIN)).params["results"]  # others are answered


async def test_an_answer_too_late_for_telegram_is_logged_not_reported(
    start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await start_bot()
    too_old = "Bad Request: query is too old and response timeout expired or query ID is invalid"
    bot.api.fail("answerInlineQuery", Fault(400, too_old))
    bot.api.push_inline_query("Abramovich")
    await wait_for_log(caplog, "answered too late")
    assert not [record for record in caplog.records if record.getMessage().endswith(" failed")]
    assert (await inline(bot, "Abramovich")).params["results"]


async def test_a_chosen_answer_posts_the_passage_under_its_headline_date_and_link(
    start_bot: StartBot,
) -> None:
    harbour = (
        "---\ntitle: Odesa harbour reopens\ndate: 2024-10-20\n"
        "url: https://news.example.com/odesa?a=1&b=2\nsource: Harbour Times\n---\n"
        "The harbour of Odesa reopened to grain ships on Sunday.\n"
    )
    bot = await start_bot(articles={"harbour.md": harbour})
    (first, *_) = (await inline(bot, "Odesa harbour reopened")).params["results"]
    assert first["input_message_content"]["link_preview_options"] == {"is_disabled": True}
    lines = first["input_message_content"]["message_text"].splitlines()
    assert lines[0] == "<b>Odesa harbour reopens</b>"
    assert lines[1] == '2024-10-20 · <a href="https://news.example.com/odesa?a=1&amp;b=2">Harbour Times</a>'
    assert "The <b>harbour</b> of <b>Odesa</b> <b>reopened</b> to grain ships on Sunday." in lines[2:]


async def test_an_answer_chosen_in_the_bots_own_chat_is_not_taken_for_a_question(start_bot: StartBot) -> None:
    bot = await start_bot()
    (first, *_) = (await inline(bot, "Abramovich")).params["results"]
    chosen = html.unescape(re.sub(r"<[^>]+>", "", first["input_message_content"]["message_text"]))
    bot.api.push_message(chosen, user_id=7, via_bot=BOT_USER)  # posted in the bot's chat, as its own answer
    reply = await bot.ask("/latest", user_id=7)
    assert reply.params["text"].startswith("<b>The newest article</b>")
    assert bot.api.sent("sendMessage", 7) == [reply]  # the posted answer got no answer of its own


@pytest.mark.parametrize("chat", [{}, {"chat_id": -5, "chat_type": "group"}], ids=["own chat", "group"])
async def test_an_answer_chosen_whose_headline_reads_as_a_command_runs_no_command(
    start_bot: StartBot, chat: dict[str, Any]
) -> None:
    # A posted answer starts with its headline: one that starts with a command ("/latest …", a
    # feed's "/feeds remove 1") made the answer a command, which the bot ran for whoever chose
    # it, in its own chat or in a group it is in (Telegram sends a bot what is sent via it)
    headline = "/latest news from the Izmail harbour"
    articles = {"cranes.txt": article("2024-10-24", headline, "Harbour cranes in Izmail loaded ten barges.")}
    bot = await start_bot(articles=articles)
    (first, *_) = (await inline(bot, "Izmail harbour cranes")).params["results"]
    chosen = html.unescape(re.sub(r"<[^>]+>", "", first["input_message_content"]["message_text"]))
    assert chosen.startswith("/latest news")
    bot.api.push_message(chosen, user_id=7, via_bot=BOT_USER, **chat)
    reply = await bot.ask("/help", user_id=7, **chat)  # the chat's next message answers this
    assert reply.params["text"].startswith("I answer questions")
    assert bot.api.sent("sendMessage", chat.get("chat_id", 7)) == [reply]


async def test_answers_in_the_readers_language_are_kept_ten_seconds_for_that_reader_only(
    start_bot: StartBot,
) -> None:
    bot = await start_bot(questions_per_minute=1)
    nothing = await inline(bot, "zyzzyva quux", user_id=9)
    too_fast = await inline(bot, "Abramovich", user_id=9)
    assert too_fast.params["button"]["text"] == "Too many questions — wait a minute"
    for answer in (nothing, too_fast):
        assert (answer.params["cache_time"], answer.params["is_personal"]) == (10, True)


async def test_help_tells_of_inline_mode_only_when_it_is_on(start_bot: StartBot) -> None:
    bot = await start_bot()
    assert "In any chat, type @news_test_bot and a question" in (await bot.ask("/help")).params["text"]
    bot.api.inline_mode = False  # switched off with @BotFather's /setinline
    await bot.application.bot.get_me()  # as the next start reads it
    help_text = (await bot.ask("/help")).params["text"]
    assert "/latest" in help_text and "@news_test_bot" not in help_text

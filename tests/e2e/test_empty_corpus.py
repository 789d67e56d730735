"""A bot started on a corpus folder with no readable article: it serves, says so, and the
watch, /reload, feeds and /add bring its first articles (`newsbot run` itself starting so is
in `test_bad_corpus`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.feed_jobs import feed_service, settle
from fakes.newsroom import Newsroom
from tests.conftest import article
from tests.e2e.conftest import ADMIN, RunningBot, StartBot
from tests.e2e.test_corpus_watch import state
from tests.e2e.test_feeds import FAST, FERRY, feed, story, until
from tests.e2e.test_inline import inline

pytestmark = pytest.mark.asyncio

BROKEN = {"broken.txt": "no date line\n\nbody\n"}
CHESS = article("2024-10-24", "Chess olympiad ends", "India won the chess olympiad in Budapest.")
NONE_YET = "I hold no articles yet, so I cannot answer for now. Please try again once some are added."
HOW_TO_ADD = "To add articles, drop their files into the corpus folder"


async def start_empty(
    start_bot: StartBot, tmp_path: Path, files: dict[str, str], **settings: object
) -> RunningBot:
    """The bot over a corpus folder of `files` alone (none of them an article), as `newsbot run` starts."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in files.items():
        (corpus / name).write_text(text)
    return await start_bot(saved_index=True, **settings)


@pytest.mark.parametrize("files", [{}, BROKEN], ids=["empty", "one-bad-file"])
async def test_help_and_questions_say_politely_that_no_article_is_indexed_yet(
    start_bot: StartBot, tmp_path: Path, files: dict[str, str]
) -> None:
    bot = await start_empty(start_bot, tmp_path, files)
    assert len(state(bot).library.articles) == 0
    help_text = (await bot.ask("/help")).params["text"]
    assert help_text.startswith("I answer questions about news articles, but I hold none yet.")
    assert HOW_TO_ADD not in help_text and "/reload" not in help_text
    assert (await bot.ask("Who won the chess olympiad?")).params["text"] == NONE_YET  # not "try other words"
    admin_help = (await bot.ask("/help", user_id=ADMIN)).params["text"]
    assert HOW_TO_ADD in admin_help and "/feeds add URL" in admin_help
    told = (await bot.ask("Who won the chess olympiad?", user_id=ADMIN)).params["text"]
    assert told.startswith(NONE_YET) and HOW_TO_ADD in told


@pytest.mark.parametrize(
    ("language_code", "help_start", "answer_start"),
    [
        ("uk", "Я відповідаю на запитання про новинні статті, але поки не маю жодної.", "У мене ще немає"),
        ("ru", "Я отвечаю на вопросы о новостных статьях, но пока у меня нет ни одной.", "У меня пока нет"),
    ],
)
async def test_the_reader_is_told_in_their_language(
    start_bot: StartBot, tmp_path: Path, language_code: str, help_start: str, answer_start: str
) -> None:
    bot = await start_empty(start_bot, tmp_path, {})
    assert (await bot.ask("/start", language_code=language_code)).params["text"].startswith(help_start)
    answer = (await bot.ask("олімпіада", language_code=language_code)).params["text"]
    assert answer.startswith(answer_start) and "/add URL" not in answer
    admin = (await bot.ask("олімпіада", user_id=ADMIN, language_code=language_code)).params["text"]
    assert "/feeds add URL" in admin and "/reload" in admin and "corpus folder" not in admin


async def test_latest_timeline_and_inline_queries_answer_with_nothing(
    start_bot: StartBot, tmp_path: Path
) -> None:
    bot = await start_empty(start_bot, tmp_path, BROKEN)
    assert (await bot.ask("/latest")).params["text"] == NONE_YET
    assert (await bot.ask("/timeline")).params["text"] == NONE_YET
    assert (await bot.ask("/timeline 5 chess olympiad")).params["text"] == NONE_YET  # not "no events about"
    for query in ("", "chess olympiad"):
        answered = (await inline(bot, query)).params
        assert answered["results"] == []
        assert answered["button"]["text"] == "No articles yet — tap to open the bot"


async def test_the_watch_serves_the_first_article_dropped_in(start_bot: StartBot, tmp_path: Path) -> None:
    bot = await start_empty(start_bot, tmp_path, {})
    service = feed_service(bot.application)
    (bot.corpus / "broken.txt").write_text(BROKEN["broken.txt"])
    await settle(bot.application)  # the every-minute job: a library of none, now with the file's problem
    assert [problem.path for problem in state(bot).library.report.problems] == ["broken.txt"]
    assert service.watch_retry.failures == 0  # read, not failed: no wait of an hour for the next file
    (bot.corpus / "chess.txt").write_text(CHESS)
    await settle(bot.application)
    assert "<b>1. Chess olympiad ends</b>" in (await bot.ask("Who won the chess olympiad?")).params["text"]
    assert "the 1 news article I hold" in (await bot.ask("/help")).params["text"]
    # from then on the ordinary bot: a corpus gone empty again is refused, the article served
    (bot.corpus / "chess.txt").unlink()
    reply = (await bot.ask("/reload", user_id=ADMIN)).params["text"]
    assert "Reload failed" in reply and "no readable article" in reply
    assert "Chess olympiad ends" in (await bot.ask("Who won the chess olympiad?")).params["text"]


async def test_an_admin_reload_serves_the_first_article(start_bot: StartBot, tmp_path: Path) -> None:
    bot = await start_empty(start_bot, tmp_path, BROKEN, watch_corpus=False)
    still = (await bot.ask("/reload", user_id=ADMIN)).params["text"]
    assert "Articles: 0 → 0" in still and "• broken.txt: line 1 is not" in still  # not a failure
    (bot.corpus / "chess.txt").write_text(CHESS)
    assert "Articles: 0 → 1" in (await bot.ask("/reload", user_id=ADMIN)).params["text"]
    assert "<b>1. Chess olympiad ends</b>" in (await bot.ask("Who won the chess olympiad?")).params["text"]


async def test_a_feed_brings_the_first_articles(site: Newsroom, start_bot: StartBot, tmp_path: Path) -> None:
    # a newsroom that fills its corpus from feeds alone: an empty folder, then /feeds add
    bot = await start_empty(start_bot, tmp_path, {}, **FAST)
    for job in bot.application.job_queue.jobs():  # only the round the /feeds add starts reads the feed
        job.schedule_removal()
    url = feed(site, [story(site, "ferry", "Zanzibar ferry service resumes", FERRY)])
    reply = (await bot.ask(f"/feeds add {url} Harbour", user_id=ADMIN)).params["text"]
    assert reply.startswith("Added feed 1: Harbour (1 item)")
    await until(lambda: len(state(bot).library.articles) == 1)
    answer = (await bot.ask("When did the Zanzibar ferry resume?")).params["text"]
    assert "<b>1. Zanzibar ferry service resumes</b>" in answer


async def test_an_added_link_is_the_first_article(
    site: Newsroom, start_bot: StartBot, tmp_path: Path
) -> None:
    bot = await start_empty(start_bot, tmp_path, BROKEN, **FAST)
    page = story(site, "ferry", "Zanzibar ferry service resumes", FERRY).link
    reply = (await bot.ask(f"/add {page}", user_id=ADMIN)).params["text"]
    assert "Zanzibar ferry service resumes" in reply
    answer = (await bot.ask("When did the Zanzibar ferry resume?")).params["text"]
    assert "<b>1. Zanzibar ferry service resumes</b>" in answer

"""Topic matching on the 0-1 relevance scale, and the hourly limit on alerts."""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from rank_bm25 import BM25Plus

from bot.alerts import (
    HOUR,
    is_news,
    match_articles,
    may_send,
    news_to,
    plan_delivery,
    relevance,
    topic_terms,
)
from bot.feed_render import render_digest
from bot.statedb import PendingAlert, SavedArticle, TopicRow
from fakes.bot_api import shown_length
from retrieval import Article, Library, LibraryOptions, analyze
from tests.conftest import ROOT
from tests.conftest import article as article_text

DAY = dt.date(2024, 5, 3)
ARTICLES = [
    Article(
        "grain", "Grain exports resume from Odesa", DAY, ("Ships carrying grain left the port of Odesa.",)
    ),
    Article("ferry", "Ferry strike ends", DAY, ("The ferry crews returned to work after the strike.",)),
    Article(
        "budget", "Council passes budget", DAY, ("The council passed the harbour budget for grain silos.",)
    ),
    Article("storm", "Storm closes airport", DAY, ("A storm closed the airport on Friday.",)),
]


@pytest.fixture(scope="module")
def library() -> Library:
    return Library.from_articles(ARTICLES)


def topic(words: str, library: Library, topic_id: int = 1, user: int = 7) -> TopicRow:
    return TopicRow(topic_id, user, user, words, topic_terms(library, words), followed_at=0.0)


def test_relevance_is_bm25_plus_rescaled_to_zero_one(library: Library) -> None:
    terms = ["grain", "export"]
    passages = np.arange(len(library.passages))
    scores = relevance(library, terms, passages)
    assert ((scores >= 0) & (scores <= 1)).all()
    # the same order as rank-bm25's BM25Plus over the same tokens (headline terms in each passage)
    tokens = [analyze(a.headline) + analyze(a.text) for a in ARTICLES]
    reference = BM25Plus(tokens).get_scores(terms)
    assert list(np.argsort(-scores, kind="stable")) == list(np.argsort(-reference, kind="stable"))
    assert scores[3] == 0.0  # no topic word at all


def test_relevance_grows_with_the_share_of_topic_words_present(library: Library) -> None:
    grain = relevance(library, ["grain"], np.arange(4))[0]
    both = relevance(library, ["grain", "odesa"], np.arange(4))[0]
    half = relevance(library, ["grain", "zzzunseen"], np.arange(4))[0]  # a word no article has
    assert half < grain and half < both


def test_match_articles_keeps_the_pairs_over_the_threshold_best_first(library: Library) -> None:
    topics = [
        topic("grain exports", library, 1),
        topic("airport storm", library, 2),
        topic("tax", library, 3),
    ]
    matches = match_articles(library, [0, 1, 2, 3], topics, threshold=0.3)
    pairs = [(m.topic.words, library.articles[m.article].id) for m in matches]
    assert ("grain exports", "grain") in pairs and ("airport storm", "storm") in pairs
    assert all(words != "tax" for words, _ in pairs)
    assert [m.relevance for m in matches] == sorted((m.relevance for m in matches), reverse=True)
    grain = next(m for m in matches if library.articles[m.article].id == "grain")
    assert grain.matched == {"grain", "export"}


def test_match_articles_looks_only_at_the_new_articles(library: Library) -> None:
    matches = match_articles(library, [1, 3], [topic("grain", library)], threshold=0.01)
    assert matches == []  # "grain" is in articles 0 and 2, which are not new


def test_a_topic_is_scored_on_its_most_selective_terms_as_a_question_is() -> None:
    capped = Library.from_articles(ARTICLES, options=LibraryOptions(max_terms=1))
    (match,) = match_articles(capped, [0, 1, 2, 3], [topic("grain odesa", capped)], threshold=0.3)
    # "grain" is in two articles and "odesa" in one: with room for one term, the rarer is scored
    assert capped.articles[match.article].id == "grain" and match.matched == {"odesa"}


def test_a_topic_followed_under_an_older_analyzer_is_matched_by_its_words(library: Library) -> None:
    # The terms stored when it was followed are those of the analyzer of the day; a newer one
    # (its version raised, the index rebuilt) stems otherwise, and the old terms meet no passage.
    followed = TopicRow(1, 7, 7, "Ferry strike", ("ferry", "strike"), followed_at=0.0)
    assert topic_terms(library, followed.words) != followed.terms  # "ferri", as the index has it
    (match,) = match_articles(library, [0, 1, 2, 3], [followed], threshold=0.3)
    assert library.articles[match.article].id == "ferry" and match.topic == followed


def test_a_topic_without_searchable_words_has_no_terms(library: Library) -> None:
    assert topic_terms(library, "the of and !!!") == ()
    assert topic_terms(library, "Grain grain GRAIN exports") == ("grain", "export")


def test_a_single_word_topic_meets_the_stemmer_as_the_readme_warns(library: Library) -> None:
    assert topic_terms(library, "ferry") == topic_terms(library, "Ferris")  # both `ferri`


def test_a_topic_that_tells_no_language_alerts_on_the_russian_article_it_names(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(ROOT / "tests" / "fixtures" / "uk" / "corpus", corpus)
    (corpus / "ru-futsal-final.txt").write_text(
        article_text(
            "2024-03-01",
            "Финал кубка по футзалу перенесли",
            "Финальный матч кубка Украины по футзалу сыграют в марте, это решила федерация. Матч в "
            "марте пройдет в Харькове, а билеты на матч начнут продавать в конце февраля.",
        ),
        encoding="utf-8",
    )
    (corpus / "ru-kharkiv-news.txt").write_text(
        article_text(
            "2024-03-01",
            "Что нового в Харькове",
            "Новости Харькова за неделю: в Харькове открыли ещё одну подземную школу. Это главная из "
            "новостей недели, говорят в мэрии Харькова.",
        ),
        encoding="utf-8",
    )
    library = Library.load(corpus)
    new = [
        n
        for n, article in enumerate(library.articles)
        if article.id in ("ru-futsal-final", "ru-kharkiv-news")
    ]
    # Neither topic tells Ukrainian from Russian. Read as Ukrainian alone, `марте` was a form of
    # `марити` and `новости` was `новіст`, which no Russian article holds: each article reached
    # 0.33, under the threshold, and no one was alerted. Each reading is scored apart, as the
    # Ukrainian one, counted in, would keep a Russian article under it.
    topics = [topic("Матч в марте", library, 1), topic("Новости Харькова", library, 2)]
    matches = match_articles(library, new, topics)
    assert [(m.topic.words, library.articles[m.article].id, m.matched) for m in matches] == [
        ("Новости Харькова", "ru-kharkiv-news", {"новост", "харьков", "~хркв"}),
        ("Матч в марте", "ru-futsal-final", {"матч", "март"}),
    ]
    # a topic is the same topic however it is written, its terms those of both readings, and
    # of the readings with the name spelled as the Ukrainian articles write it (`Харкові`) ...
    assert (
        set(topic_terms(library, "новости  ХАРЬКОВА"))
        == set(topics[1].terms)
        == {"новіст", "новост", "харьков", "~хркв", "харків"}
    )
    # ... and one followed when it was read as Ukrainian alone is matched by its words
    followed = TopicRow(3, 7, 7, "Новости Харькова", ("новіст", "харьков"), followed_at=0.0)
    assert [m.article for m in match_articles(library, new, [followed])] == [matches[0].article]


def pending(count: int) -> list[PendingAlert]:
    return [
        PendingAlert(n, 7, 7, "grain", 0.9, "text", frozenset({"grain"}), f"t{n}", DAY, "http://n", 0.0)
        for n in range(count)
    ]


@pytest.mark.parametrize(
    ("waiting", "singles_sent", "last_digest", "singles", "digest"),
    [
        (2, 0, None, 2, 0),  # under the limit: each alone
        (5, 0, None, 3, 2),  # over it: three alone, the rest in one digest
        (5, 3, None, 0, 5),  # the hour's singles are spent: a digest of all
        (5, 3, -HOUR / 2, 0, 0),  # a digest went out half an hour ago: wait
        (5, 3, -HOUR, 0, 5),  # an hour since the last digest: the next one
        (4, 1, -HOUR / 2, 2, 0),  # room for two singles; the other two wait for the digest's hour
        (0, 0, None, 0, 0),
    ],
)
def test_plan_delivery_allows_a_few_alerts_an_hour_then_one_digest(
    waiting: int, singles_sent: int, last_digest: float | None, singles: int, digest: int
) -> None:
    plan = plan_delivery(pending(waiting), singles_sent, last_digest, now=0.0, per_hour=3)
    assert (len(plan.singles), len(plan.digest)) == (singles, digest)
    assert [a.id for a in plan.singles + plan.digest] == list(range(singles + digest))  # oldest first
    if waiting:  # what delivery asks before it reads a user's waiting alerts
        assert may_send(singles_sent, last_digest, now=0.0, per_hour=3) == bool(singles + digest)


def moment(day: dt.date, hour: int = 12) -> float:
    """Unix time of `hour` o'clock UTC on `day`."""
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.UTC).timestamp()


@pytest.mark.parametrize(
    ("dated", "arrived", "backlog", "news"),
    [
        (DAY, moment(DAY), False, True),
        (DAY, moment(DAY + dt.timedelta(days=2), hour=23), False, True),  # two days late: a lagging feed
        (DAY, moment(DAY + dt.timedelta(days=3), hour=0), False, False),  # three: an archive
        (DAY + dt.timedelta(days=1), moment(DAY, hour=20), False, True),  # already tomorrow east of UTC
        (DAY, moment(DAY), True, False),  # a new feed's backlog, however fresh
    ],
)
def test_is_news_leaves_out_old_articles_and_a_new_feeds_backlog(
    dated: dt.date, arrived: float, backlog: bool, news: bool
) -> None:
    article = SavedArticle(1, "http://n/a", "feeds/n/a.md", "A", dated, arrived, backlog)
    assert is_news(article) is news


@pytest.mark.parametrize(
    ("dated", "followed", "news"),
    [
        (DAY, moment(DAY), True),
        (DAY - dt.timedelta(days=1), moment(DAY, hour=23), True),  # yesterday, in some time zone today
        (DAY - dt.timedelta(days=2), moment(DAY, hour=0), False),  # before the follower asked
        (DAY - dt.timedelta(days=2), moment(DAY - dt.timedelta(days=5)), True),  # followed long before
    ],
)
def test_news_to_a_follower_is_dated_at_most_a_day_before_the_topic_was_followed(
    dated: dt.date, followed: float, news: bool
) -> None:
    topic = TopicRow(1, 7, 7, "grain", ("grain",), followed_at=followed)
    assert news_to(topic, dated, now=followed) is news


def test_a_topic_followed_while_the_clock_ran_days_fast_gets_todays_news_once_it_is_set_right() -> None:
    # The machine's clock ran three days fast when the topic was followed, and is right again:
    # today's article is news to its follower, not only once the clock has caught up.
    topic = TopicRow(1, 7, 7, "grain", ("grain",), followed_at=moment(DAY + dt.timedelta(days=3)))
    assert news_to(topic, DAY, now=moment(DAY))


def test_a_digest_too_long_for_one_message_lists_what_fits_and_counts_the_rest() -> None:
    # After a busy hour a digest may hold hundreds of alerts; Telegram takes 4,096 characters.
    waiting = [
        replace(
            alert,
            title="Grain exports through the Danube ports " * 3,
            url=f"https://news.example.com/{n}" * 4,
        )
        for n, alert in enumerate(pending(200))
    ]
    text = render_digest(waiting)
    listed = text.count("\n• ")
    assert shown_length(text) <= 4096 and 10 < listed < 200
    assert text.startswith("<b>200 more new articles on your topics</b>")
    assert text.endswith(f"… and {200 - listed} more.")


def test_a_digest_counts_the_alerts_past_those_it_read_even_when_all_it_read_fit() -> None:
    text = render_digest(pending(2), unread=5)
    assert text.startswith("<b>7 more new articles on your topics</b>")
    assert text.count("\n• ") == 2 and text.endswith("\n… and 5 more.")

import datetime as dt
import random
import time
from collections.abc import Iterator

import numpy as np
import pytest

from retrieval import Article, analyze, load_corpus
from retrieval.timeline import (
    MAX_RIVALS,
    MAX_SENTENCE,
    EventTerms,
    Timeline,
    extract_events,
    format_event_date,
    timeline_order,
    updated_order,
)
from tests.conftest import ROOT, SHIPPED_CORPUS


def make(article_id: str, published: str, *paragraphs: str, headline: str = "Headline") -> Article:
    return Article(article_id, headline, dt.date.fromisoformat(published), paragraphs)


def test_seed_events_exactly() -> None:
    articles, _ = load_corpus(SHIPPED_CORPUS)
    events = Timeline.from_articles(articles).latest(30)
    days = [e.date.isoformat() for e in events if e.precision == "day"]
    assert days == ["2024-10-23", "2024-10-22", "2024-10-18", "2024-10-16", "2024-10-11"]
    coarse = [format_event_date(e) for e in events if e.precision != "day"]
    assert coarse == ["2022-03", "2022"]
    assert events[0].sentence == articles[0].headline
    assert all(e.published == dt.date(2024, 10, 23) for e in events)
    assert "Istanbul" in next(e.sentence for e in events if e.precision == "month")


def test_coarser_events_sort_after_the_finer_ones_of_their_period() -> None:
    article = make(
        "a",
        "2022-12-31",
        "In March 2022 talks collapsed. On March 1, 2022 talks began. On March 30, 2022 talks paused. "
        "On February 27, 2022 troops moved. In 2022 the war went on. On January 1, 2022 it was calm.",
    )
    events = Timeline.from_articles([article]).latest(30)[1:]  # after the headline
    assert [format_event_date(e) for e in events] == [
        "2022-03-30",
        "2022-03-01",
        "2022-03",
        "2022-02-27",
        "2022-01-01",
        "2022",
    ]


def test_dates_before_the_year_1000_keep_four_digits_at_every_precision() -> None:
    article = make(
        "a",
        "0999-05-20",
        "Last month the harbour froze over. Last year the old king died. Last week the ice broke.",
        headline="The harbour froze",
    )
    events = Timeline.from_articles([article]).latest(10)
    assert [format_event_date(e) for e in events] == ["0999-05-20", "week of 0999-05-13", "0999-04", "0998"]


def test_same_event_from_two_articles_is_listed_once_from_the_newer() -> None:
    older = make("old", "2024-10-20", "On October 16, Scholz expressed readiness to negotiate with Putin.")
    newer = make(
        "new", "2024-10-23", "On October 16, Scholz expressed his readiness to negotiate with Putin."
    )
    events = [e for e in Timeline.from_articles([older, newer]).latest(10) if e.date == dt.date(2024, 10, 16)]
    assert [e.article_id for e in events] == ["new"]


@pytest.fixture
def machine_in_utc_minus_12(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The machine's clock in the last time zone, a day or two behind the first (UTC+14)."""
    monkeypatch.setenv("TZ", "<-12>12")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize("older", [False, True])
@pytest.mark.usefixtures("machine_in_utc_minus_12")
def test_an_article_of_a_day_begun_somewhere_tells_its_event_whatever_the_machines_time_zone(
    older: bool,
) -> None:
    # settled as of the machine's own date, behind UTC+14's, the article of the day that had
    # begun there was taken for one dated later: an older source told its event instead, or,
    # with none, a mistyped 2092 one, which the bot hides, so that the event was not shown at all
    today = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=14)).date()  # UTC+14's, the bot's
    told = "On October 16, 2024, Scholz expressed readiness to negotiate with Putin."
    articles = [make("today", today.isoformat(), told), make("typo", "2092-10-23", told)]
    if older:
        articles.append(make("older", "2024-10-20", told))
    events = Timeline.from_articles(articles).latest(30)
    shown = [e.article_id for e in events if e.date == dt.date(2024, 10, 16) and e.published <= today]
    assert shown == ["today"]


def test_different_events_on_one_day_are_both_kept() -> None:
    one = make("a", "2024-10-20", "On October 16, Scholz spoke about Ukraine.")
    two = make("b", "2024-10-21", "On October 16, grain prices fell in Chicago.")
    events = [e for e in Timeline.from_articles([one, two]).latest(10) if e.date == dt.date(2024, 10, 16)]
    assert len(events) == 2


def test_topic_filter_uses_the_analyzer() -> None:
    articles, _ = load_corpus(SHIPPED_CORPUS)
    timeline = Timeline.from_articles(articles)
    zelenskyy = timeline.latest(10, "Zelenskyy")
    assert [e.date.isoformat() for e in zelenskyy] == ["2024-10-18", "2024-10-11"]
    negotiations = timeline.latest(2, "negotiate")  # stems meet: negotiations, negotiate
    assert len(negotiations) == 2
    assert timeline.latest(10, "the of") == []  # no searchable word: nothing
    assert timeline.latest(0) == []


def test_a_topic_finds_its_events_in_any_form_of_ukrainian_or_russian() -> None:
    articles, _ = load_corpus(ROOT / "tests" / "fixtures" / "uk" / "corpus")
    timeline = Timeline.from_articles(articles)
    genitive = timeline.latest(5, "переговорів")  # as README's /timeline 5 переговорів
    assert any("переговори" in event.sentence for event in genitive)
    assert timeline.latest(5, "переговори") == genitive == timeline.latest(5, "переговоры")  # Russian too


def test_a_topic_that_tells_no_language_finds_its_events_in_either_reading() -> None:
    articles, _ = load_corpus(ROOT / "tests" / "fixtures" / "uk" / "corpus")
    timeline = Timeline.from_articles(articles)
    # `в марте` tells neither Ukrainian nor Russian: read as Ukrainian alone, `марте` was a form
    # of `марити`, and the Russian metro article's `с марта 2022 года` (`март`) was missed. The
    # hospital's short sentence tells no language either, and is read as its Russian article.
    found = [(event.article_id, event.date.isoformat()) for event in timeline.latest(5, "в марте")]
    assert found == [("ru-dnipro-hospital", "2023-03-01"), ("ru-kharkiv-metro", "2022-03-01")]


def test_a_headline_or_sentence_that_tells_no_language_is_read_in_the_language_of_its_article() -> None:
    russian = make(
        "kharkiv",
        "2024-06-20",
        "В метро открыли новую станцию, поезда ходят каждые пять минут.",
        "Строительство началось в марте.",
        headline="Новости Харькова",
    )
    ukrainian = make(
        "kyiv",
        "2024-06-20",
        "У Києві відкрили міст після ремонту, що тривав рік.",
        headline="Ремонт мосту завершили",
    )
    timeline = Timeline.from_articles([russian, ukrainian])
    # A Russian topic (`культуры`, `что`) meets them in their Russian reading alone: read on
    # their own as Ukrainian, the headline was `новіст` and the sentence's `марте` `марит`.
    # An event's terms are its sentence's and its article's headline's.
    found = [(event.date.isoformat(), event.sentence) for event in timeline.latest(5, "новости культуры")]
    assert found == [("2024-06-20", "Новости Харькова"), ("2024-03-01", "Строительство началось в марте.")]
    assert [event.sentence for event in timeline.latest(5, "что было в марте")] == [
        "Строительство началось в марте."
    ]
    # the Ukrainian article's headline stays Ukrainian: `мосту` is `міст`, not `мост`
    assert [event.article_id for event in timeline.latest(5, "ремонт моста и дорог")] == [
        "kyiv"
    ]  # by `ремонт`
    assert timeline.terms.events_with(["мост"]).tolist() == []
    assert len(timeline.terms.events_with(["міст"])) == 1


def test_long_sentences_are_trimmed_at_a_word() -> None:
    article = make("a", "2024-10-23", "On October 16, " + "very long words " * 40 + "end.")
    event = extract_events(article)[1]
    assert len(event.sentence) <= MAX_SENTENCE
    assert event.sentence.endswith("…")
    assert event.sentence[:-1] in article.paragraphs[0]  # cut between words


class CountedTerms(frozenset[str]):
    """A sentence's terms, counting how many times they are compared with another's."""

    compared = 0

    def __and__(self, other: frozenset[str]) -> frozenset[str]:  # type: ignore[override]
        CountedTerms.compared += 1
        return frozenset(self).intersection(other)


def test_ordering_compares_each_event_with_a_bounded_number_of_others() -> None:
    # 3,000 sentences of one day that share their common words and are no near-duplicates
    # of each other: the prefix filter alone compared every pair (4.5 million), so a file
    # of such sentences held a build for minutes per megabyte, and for hours at 20 MB
    minutes = " ".join(f"On 1 March 2022 the council met w{number}x." for number in range(3000))
    copy = "On 1 March 2022 the council met w2999x."  # an older source's copy of the last one
    events = extract_events(make("minutes", "2024-01-05", minutes)) + extract_events(
        make("old", "2024-01-04", copy)
    )
    CountedTerms.compared = 0
    order = timeline_order(events, [CountedTerms(analyze(event.sentence)) for event in events])
    assert CountedTerms.compared <= len(events) * 2 * MAX_RIVALS
    shown = [(events[number].article_id, events[number].sentence) for number in order]
    assert len(shown) == 3000 + 2  # every sentence of the day, and both headlines
    assert ("old", copy) not in shown  # it shares its rarest term with the newer one


def test_an_update_settles_only_the_dates_its_articles_touch_and_gives_what_a_fresh_order_gives() -> None:
    # Articles of a few days retell one another's events: removing the newer source must show the
    # older one's event again, and a new source must hide an older one's, on those days alone.
    rng = random.Random(13)
    facts = [f"the council of town {n} approved the new budget for roads and schools" for n in range(6)]
    days = ["October 14", "October 15", "October 16"]

    def written(n: int) -> Article:
        sentences = [f"On {rng.choice(days)}, {rng.choice(facts)}." for _ in range(3)]
        return make(f"a{n:02}", f"2024-10-{17 + n % 5:02}", *sentences, headline=f"Report {n}")

    articles = [written(n) for n in range(30)]
    for removed, added in [({3, 7}, 2), (set(), 3), ({0, 1, 2, 4}, 0), ({29}, 1)]:
        old_events = [event for article in articles for event in extract_events(article)]
        old_order = timeline_order(old_events)
        kept = [article for n, article in enumerate(articles) if n not in removed]
        new_articles = [written(100 + len(articles) + n) for n in range(added)]
        kept_ids = {article.id for article in kept}
        renumbered = {}
        events = []
        for number, event in enumerate(old_events):
            if event.article_id in kept_ids:
                renumbered[number] = len(events)
                events.append(event)
        added_events = [event for article in new_articles for event in extract_events(article)]
        events += added_events
        gone = [event for event in old_events if event.article_id not in kept_ids]
        changed = {(event.date, event.precision) for event in gone + added_events}
        previous = [renumbered[number] for number in old_order if number in renumbered]
        assert [events[n] for n in updated_order(events, previous, changed)] == [
            events[n] for n in timeline_order(events)
        ]
        articles = kept + new_articles
    assert len({event.date for event in Timeline.from_articles(articles).events}) > 3


def test_a_topic_finds_exactly_the_events_sharing_a_term_with_it_newest_first() -> None:
    articles = [
        article
        for folder in ("uk", "eval")
        for article in load_corpus(ROOT / "tests/fixtures" / folder / "corpus")[0]
    ]
    timeline = Timeline.from_articles(articles)
    every = [frozenset(analyze(e.sentence)) | frozenset(analyze(e.headline)) for e in timeline.events]
    for topic in ("переговори", "переговоров Умєров", "grain ships", "Odesa", "port", "no such words", "the"):
        wanted = frozenset(analyze(topic))
        expected = [event for event, terms in zip(timeline.events, every, strict=True) if terms & wanted]
        for limit in (1, 5, 1000):
            assert timeline.latest(limit, topic) == expected[:limit]
    assert len(timeline.latest(1000, "переговори")) > 3


def test_event_terms_kept_and_joined_are_those_of_the_events_analyzed_anew() -> None:
    # an update keeps some events (none, all, a few) and adds others (none, some): each
    # term's events must be those of analyzing the resulting list, numbered as in it
    articles = [
        article
        for folder in ("uk", "eval")
        for article in load_corpus(ROOT / "tests/fixtures" / folder / "corpus")[0]
    ]
    events = [event for article in articles for event in extract_events(article)]
    rng = random.Random(3)
    for share, added in [(0.0, 5), (1.0, 0), (0.5, 7), (0.9, 1), (0.0, 0)]:
        keep = [rng.random() < share for _ in events]
        new = rng.sample(events, added)
        kept = [event for event, kept in zip(events, keep, strict=True) if kept]
        terms = EventTerms.joined([EventTerms.of(events).kept(np.asarray(keep)), EventTerms.of(new)])
        expected = EventTerms.of(kept + new)
        assert terms.events == len(kept + new)
        for term in {*expected.vocabulary, *terms.vocabulary}:
            np.testing.assert_array_equal(terms.events_with([term]), expected.events_with([term]))
    # a build's chunks, in turn, are the whole list analyzed at once
    cuts = sorted(rng.sample(range(len(events)), 4))
    chunks = [events[start:end] for start, end in zip([0, *cuts], [*cuts, len(events)], strict=True)]
    joined, whole = EventTerms.joined([EventTerms.of(chunk) for chunk in chunks]), EventTerms.of(events)
    assert joined.vocabulary == whole.vocabulary
    np.testing.assert_array_equal(joined.offsets, whole.offsets)
    np.testing.assert_array_equal(joined.numbers, whole.numbers)

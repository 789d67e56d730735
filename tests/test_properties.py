"""Property-based tests: hostile text never breaks the parser, analyzer, splitter or replies."""

from __future__ import annotations

import datetime as dt
import json
import re
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.i18n import LANGUAGES, Translations, translations
from bot.render import (
    DESCRIPTION_CHARS,
    HEADLINE_CHARS,
    MAX_MESSAGE,
    PASSAGE_CHARS,
    TITLE_CHARS,
    bolds_each,
    by_article,
    fit_entities,
    fits,
    inline_description,
    inline_title,
    render_answer,
    render_article,
    render_latest,
    render_no_match,
    render_timeline,
    shown_headline,
)
from fakes.bot_api import shown_length
from retrieval import (
    Article,
    Event,
    Hit,
    Passage,
    analyze,
    dates,
    dates_uk_ru,
    matched_spans,
    sentence_spans,
    split_passages,
)
from retrieval.analyzer import matched_terms
from retrieval.corpus import parse_file
from retrieval.dates import anchor_date, might_hold_date
from retrieval.folder import printable, relative_path
from retrieval.stories import similarity
from retrieval.timeline import SAME_EVENT, timeline_order
from retrieval.timeline import _newest_first as newest_first

ALLOWED_TAGS = {"b", "i", "a"}
BAD_AMPERSAND = re.compile(r"&(?!(?:amp|lt|gt|quot|#x27|#\d+);)")
text = st.text(alphabet=st.characters(codec="utf-8"), max_size=3000)
line = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\n\r"), min_size=1, max_size=400)


class TelegramHtml(HTMLParser):
    """Checks what Telegram's HTML parse mode needs: allowed tags, properly nested."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert tag in ALLOWED_TAGS, tag
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack.pop() == tag, tag


def assert_valid_telegram_html(html: str) -> None:
    assert shown_length(html) <= MAX_MESSAGE
    assert not BAD_AMPERSAND.search(html)
    parser = TelegramHtml()
    parser.feed(html)
    parser.close()
    assert parser.stack == []


@given(text)
def test_analyzer_never_raises_and_yields_real_terms(value: str) -> None:
    assert all(term for term in analyze(value))


@given(
    st.text(alphabet=st.characters(), max_size=40) | st.text(alphabet="\\nxu0a7\x07\udcff\udc80", max_size=12)
)
def test_a_name_as_shown_gives_back_the_files_path(name: str) -> None:
    # any code point, a lone surrogate (a byte that is not UTF-8) and a backslash too
    assert relative_path(printable(name)) == name


@given(text)
def test_sentence_spans_are_ordered_and_inside_the_text(value: str) -> None:
    last = 0
    for start, end in sentence_spans(value):
        assert last <= start < end <= len(value)
        last = end


@given(st.lists(line.filter(str.strip), min_size=1, max_size=8), st.integers(0, 400), st.integers(1, 1500))
def test_passages_always_index_into_the_article(paragraphs: list[str], low: int, high: int) -> None:
    article = Article("a", "h", dt.date(2024, 1, 1), tuple(p.strip() for p in paragraphs))
    low, high = min(low, high), max(low, high)
    passages = split_passages(article, low, high)
    assert passages
    for passage in passages:
        assert passage.text == article.text[passage.start : passage.end]
        assert passage.text.strip()


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=150)
@given(st.binary(max_size=4000), st.sampled_from([".txt", ".md", ".jsonl"]))
def test_parser_never_raises_on_any_bytes(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        path = root / f"article{suffix}"
        path.write_bytes(data)
        articles, problems = parse_file(root, path)
        assert articles or problems


yaml_ish = st.text(alphabet="[]{}:-?&*!|>'\"#%@`, \n\t0123456789abc\u0085\u2028", max_size=600)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=30,
)


@settings(max_examples=200)
@given(yaml_ish, st.sampled_from(["", "title: T\n", "title: T\ndate: 2024-01-01\n"]))
def test_front_matter_never_raises(front: str, fields: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "article.md"
        path.write_text(f"---\n{fields}{front}\n---\nBody.\n", encoding="utf-8")
        articles, problems = parse_file(Path(folder), path)
        assert len(articles) + len(problems) == 1


@settings(max_examples=150)
@given(st.lists(json_values, min_size=1, max_size=5))
def test_jsonl_lines_never_raise(values: list[object]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "feed.jsonl"
        path.write_text("\n".join(json.dumps(value) for value in values), encoding="utf-8")
        articles, problems = parse_file(Path(folder), path)
        assert articles or problems


@settings(max_examples=150)
@given(
    st.text(max_size=3000),
    st.text(min_size=1, max_size=2000),
    st.one_of(st.none(), st.text(max_size=600)),
    st.text(max_size=300),
    st.integers(1, 10),
    st.sampled_from(LANGUAGES),
)
def test_answers_are_valid_telegram_html_within_the_limit(
    passage: str, headline: str, url: str | None, question: str, count: int, language: str
) -> None:
    tr = translations(language)
    body = passage if passage.strip() else "x"
    article = Article("a", headline, dt.date(2024, 1, 1), (body,), url=url, source=headline[:50] or None)
    hit = Hit(Passage("a", 0, 0, len(body), body), article, 1.0, frozenset(analyze(question)))
    assert_valid_telegram_html(render_answer(tr, [hit] * count))
    assert_valid_telegram_html(render_answer(tr, [hit], first_rank=None))  # a shared inline result
    assert_valid_telegram_html(render_no_match(tr, question, searchable=bool(count % 2)))
    assert_valid_telegram_html(render_latest(tr, [article] * count))
    event = Event(dt.date(2024, 1, 1), "day", body[:300], "a", headline, dt.date(2024, 1, 2))
    assert_valid_telegram_html(render_timeline(tr, [event] * count, question or None))
    assert len(inline_title(article)) <= TITLE_CHARS
    assert len(inline_description(hit)) <= DESCRIPTION_CHARS


date_words = st.sampled_from(
    [
        "On",
        "on",
        "in",
        "In",
        "last",
        "Oct.",
        "October",
        "SEPT",
        "may",
        "Monday",
        "yesterday",
        "today",
        "the",
        "3rd",
        "of",
        "2022",
        "16,",
        "2024-10-16",
        "week",
        "élan",
        "Mayé",
        "x",
        ",",
        ".",
    ]
)


@given(st.lists(date_words, max_size=12).map(" ".join))
def test_might_hold_date_never_rules_out_a_date(sentence: str) -> None:
    if anchor_date(sentence, dt.date(2024, 10, 23)) is not None:
        assert might_hold_date(sentence)


def brute_force_timeline(events: list[Event]) -> list[int]:
    """Every pair compared: what the prefix-filtered dedup must equal."""
    kept: list[int] = []
    for number in sorted(
        range(len(events)), key=lambda n: (events[n].published, events[n].article_id), reverse=True
    ):
        event = events[number]
        these = frozenset(analyze(event.sentence))
        if any(
            (events[other].date, events[other].precision) == (event.date, event.precision)
            and similarity(these, frozenset(analyze(events[other].sentence))) >= SAME_EVENT
            for other in kept
        ):
            continue
        kept.append(number)
    return sorted(kept, key=lambda n: newest_first(events[n]))[::-1]  # equal keys: later first, as shown


sentences = st.lists(
    st.sampled_from(["grain", "ships", "left", "Odesa", "port", "talks", "Kyiv", "won", "7"]), max_size=7
)


@given(
    st.lists(
        st.tuples(
            sentences.map(" ".join), st.integers(1, 3), st.integers(1, 4), st.sampled_from(["a", "b", "c"])
        ),
        max_size=25,
    )
)
def test_timeline_dedup_equals_comparing_every_pair(rows: list[tuple[str, int, int, str]]) -> None:
    events = [
        Event(dt.date(2024, 1, day), "day", sentence, source, "Headline", dt.date(2024, 2, published))
        for sentence, day, published, source in rows
    ]
    assert timeline_order(events) == brute_force_timeline(events)


DATE_WORD_TEXT = st.lists(
    st.one_of(
        st.sampled_from(sorted(dates._DATE_WORDS)),
        st.sampled_from(["May's", "п'ятниця", "mid-March", "«березня»", "jan_x", "MONDAY", "вчора."]),
        st.text(alphabet="'’ʼ-_.,;«»—…“”‘„·\u0301²½ \u00a0\u2028\t\nxyzабв", max_size=6),
    ),
    max_size=30,
).map("".join)


@given(st.one_of(DATE_WORD_TEXT, text))
def test_the_date_prefilter_finds_the_words_the_word_pattern_finds(sample: str) -> None:
    """`might_hold_date` cuts words its fast way; it must see exactly the words `_WORD` sees."""
    by_pattern = dates._DIGIT.search(sample) is not None or not dates._DATE_WORDS.isdisjoint(
        dates._WORD.findall(dates_uk_ru.key(sample))
    )
    assert might_hold_date(sample) is by_pattern


# letters that case-fold to two or three (ß, ẞ, ΐ, ﬀ), that fold or lower by context (Σ, İ),
# spaces of several kinds, bidi controls and zero-width characters
headline_letters = st.sampled_from(list("aAbB ßSsẞİiıΐΣσςﬀ\t\n\u00a0\u2003\u202e\u200b"))
short_headline = st.text(headline_letters, max_size=HEADLINE_CHARS - 1)


@given(st.lists(short_headline, min_size=1, max_size=5))
def test_articles_count_as_one_by_their_whole_headline_when_it_is_shorter_than_a_shown_one(
    drawn: list[str],
) -> None:
    # only a bounded start of a headline is compared; below HEADLINE_CHARS, the same articles
    # are one as when whole headlines were compared (case and runs of spaces aside)
    variants = drawn + [h.swapcase() for h in drawn] + [h.replace(" ", " \n ") for h in drawn]
    headlines = [h for h in variants if len(h) < HEADLINE_CHARS]
    hits = []
    for number, headline in enumerate(headlines):
        article = Article(str(number), headline, dt.date(2024, 5, 3), ("Ferry crossings resume.",))
        hits.append(Hit(Passage(article.id, 0, 0, 5, "Ferry"), article, 1.0, frozenset()))
    whole: dict[str, list[str]] = {}
    for hit in hits:
        shown = shown_headline(hit.article)  # a headline that shows nothing is its first words
        whole.setdefault(" ".join(shown.casefold().split()), []).append(hit.article.id)
    assert [[hit.article.id for hit in group] for group in by_article(hits)] == list(whole.values())


def straight_snippet_span(text: str, terms: frozenset[str], max_chars: int) -> tuple[int, int]:
    """`snippet_span` as written before it remembered anything: every sentence weighed each time."""
    if len(text) <= max_chars:
        return 0, len(text)
    sentences = sentence_spans(text) or [(0, len(text))]

    def weight(span: tuple[int, int]) -> tuple[int, int]:
        found = matched_terms(text[span[0] : span[1]], terms)
        return len(set(found)), len(found)

    best = max(range(len(sentences)), key=lambda i: (weight(sentences[i]), -i))
    start, end = sentences[best]
    if end - start > max_chars:
        first = next((s + start for s, _ in matched_spans(text[start:end], terms)), start)
        start = max(start, min(first - max_chars // 4, end - max_chars))
        if start > sentences[best][0]:
            space = text.find(" ", start, first)
            start = space + 1 if space >= 0 else start
        cut = start + max_chars
        if cut >= end:
            return start, end
        space = text.rfind(" ", start + 1, cut)
        return start, space if space > start else cut
    before, after = best - 1, best + 1
    while True:
        grown = False
        if after < len(sentences) and sentences[after][1] - start <= max_chars:
            end, after, grown = sentences[after][1], after + 1, True
        if before >= 0 and end - sentences[before][0] <= max_chars:
            start, before, grown = sentences[before][0], before - 1, True
        if not grown:
            return start, end


def straight_answer(tr: Translations, hits: list[Hit], first_rank: int | None) -> str:
    """`render_answer` as written before it was made fast: each page rendered whole at each
    passage length, its snippets found again, and parsed joined to tell whether it fits."""
    groups = by_article(hits)

    def page(bolds: int, found: int | None) -> str:
        def blocks_at(budget: int, compact: bool = False) -> list[str]:
            return [
                render_article(
                    tr,
                    None if first_rank is None else first_rank + i,
                    group,
                    budget,
                    compact,
                    bolds,
                    found,
                    spans=straight_snippet_span,
                )
                for i, group in enumerate(groups)
            ]

        budget = PASSAGE_CHARS
        while True:
            blocks = blocks_at(budget)
            text = "\n\n".join(blocks)
            if fits(text) or budget <= 100:
                break
            budget = budget * 2 // 3
        if not fits(text):
            blocks = blocks_at(budget, compact=True)
            text = "\n\n".join(blocks)
        while not fits(text) and len(blocks) > 1:
            blocks.pop()
            text = "\n\n".join(blocks)
        return text

    return fit_entities(page, bolds_each(groups), per=max(1, len(hits)))


hostile_words = st.sampled_from(
    [
        "talks",
        "Talks.",
        "#talks",
        '"AT&T"',
        "&amp;",
        "<b>",
        "😀",
        "🇺🇦",
        "Umerov",
        "said.",
        "www.x.com",
        "@news",
        "$UAH",
        "/start",
        "+380 44 123 4567",
        "\u202e",
        "ß",
        "a",
        "the",
        "—",
        "\n",
        "?",
    ]
)
hostile_text = st.lists(hostile_words, min_size=1, max_size=400).map(" ".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(hostile_text, hostile_text, st.integers(0, 2), st.integers(0, 480)), min_size=1, max_size=10
    ),
    st.sampled_from(["talks", "Umerov talks", "AT&T", "#talks said"]),
    st.sampled_from([1, None, 6]),
)
def test_an_answer_renders_byte_for_byte_as_the_straightforward_algorithm(
    articles: list[tuple[str, str, int, int]], question: str, first_rank: int | None
) -> None:
    tr, terms = translations("en"), frozenset(analyze(question))
    hits = []
    for number, (headline, body, others, path) in enumerate(articles):
        url = f"https://x.com/{number}/{'a' * path}"  # long links: pages near `MAX_MARKUP` too
        article = Article(f"a{number}", headline, dt.date(2024, 1, 1 + number), (body,), url=url)
        tellings = tuple(
            Article(f"o{number}{i}", "Other", dt.date(2024, 2, 1), ("x",), source="AP") for i in range(others)
        )
        hits.append(Hit(Passage(article.id, 0, 0, len(body), body), article, 1.0, terms, tellings))
    assert render_answer(tr, hits, first_rank) == straight_answer(tr, hits, first_rank)


@pytest.mark.parametrize("links", [0, 450])
def test_pages_at_each_length_about_the_limit_render_as_the_straightforward_algorithm(links: int) -> None:
    # ten articles whose passages grow a word at a time: the page crosses 4,096 characters
    # (and with long links 8,192 of markup) at every passage length the budget tries
    tr, terms = translations("en"), frozenset(analyze("talks"))
    for words in range(40, 160):
        body = " ".join(["Talks went on.", *["word"] * words, "The talks ended."])
        hits = []
        for number in range(10):
            url = f"https://x.com/{number}/{'a' * links}"
            article = Article(f"a{number}", "Talks", dt.date(2024, 1, 1 + number), (body,), url=url)
            hits.append(Hit(Passage(article.id, 0, 0, len(body), body), article, 1.0, terms))
        assert render_answer(tr, hits) == straight_answer(tr, hits, 1), words

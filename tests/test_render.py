import dataclasses
import datetime as dt

import pytest

from bot.render import (
    MAX_MESSAGE,
    _fit_lines,
    highlight,
    render_answer,
    render_reload,
    render_timeline,
    shorten,
    telegram_length,
)
from retrieval import Article, Event, Hit, LoadProblem, LoadReport, Passage, analyze


def hit(text: str, headline: str = "Headline", question: str = "talks", url: str | None = None) -> Hit:
    article = Article("a", headline, dt.date(2024, 10, 23), (text,), url=url)
    return Hit(Passage("a", 0, 0, len(text), text), article, 1.0, frozenset(analyze(question)))


@pytest.mark.parametrize(
    ("text", "terms", "html"),
    [
        ("Talks & <b>deals</b>", "talks deal", "<b>Talks</b> &amp; &lt;b&gt;<b>deals</b>&lt;/b&gt;"),
        ("no match here", "zebra", "no match here"),
        ('a "quoted" word', "word", "a &quot;quoted&quot; <b>word</b>"),
    ],
)
def test_highlight_escapes_and_bolds(text: str, terms: str, html: str) -> None:
    assert highlight(text, frozenset(analyze(terms))) == html


def test_answer_fits_telegram_limit_even_with_huge_passages_and_emoji() -> None:
    huge = ("🙂 Talks went on. " * 2000).strip()
    hits = [hit(huge, headline="🙂" * 5000, url="https://example.org/" + "x" * 100) for _ in range(10)]
    text = render_answer(hits)
    assert telegram_length(text) <= MAX_MESSAGE
    assert text.count("<b>") == text.count("</b>")


def test_long_passage_is_cut_at_a_sentence_with_an_ellipsis() -> None:
    text = " ".join(f"Sentence {i} says nothing." for i in range(100)) + " Talks resumed in Geneva."
    rendered = render_answer([hit(text)])
    assert rendered.rstrip().endswith("<b>Talks</b> resumed in Geneva.")
    assert "…Sentence" in rendered


def test_url_is_linked_and_escaped() -> None:
    rendered = render_answer([hit("Talks.", url='https://example.org/?a=1&b="2"')])
    assert '<a href="https://example.org/?a=1&amp;b=&quot;2&quot;">' in rendered


def test_reload_report_lists_the_first_five_problems_and_counts_the_rest() -> None:
    problems = tuple(LoadProblem(f"bad-{i}.jsonl:1", "line 1 is not a date <line>") for i in range(30_000))
    text = render_reload((1, 6), (2, 7), LoadReport(30_002, 2, problems))
    assert telegram_length(text) <= MAX_MESSAGE
    assert "30,000 file(s) or line(s) could not be loaded:" in text
    bullets = [line for line in text.split("\n") if line.startswith("• ")]
    assert bullets == [f"• bad-{i}.jsonl:1: line 1 is not a date &lt;line&gt;" for i in range(5)]
    assert text.endswith("… and 29,995 more; <code>newsbot stats</code> lists them all.")


def test_reload_report_lists_a_few_problems_all() -> None:
    problems = tuple(LoadProblem(f"bad-{i}.txt", "no date") for i in range(5))
    text = render_reload((1, 6), (2, 7), LoadReport(7, 2, problems))
    assert [line for line in text.split("\n") if line.startswith("• ")] == [f"• {p}" for p in problems]
    assert "more" not in text
    assert "No problems found." in render_reload((1, 6), (2, 7), LoadReport(2, 2))


def test_reload_report_fits_even_when_escaping_grows_every_problem_six_fold() -> None:
    problems = tuple(LoadProblem('"' * 2000, '"' * 2000) for _ in range(9))
    text = render_reload((1, 6), (2, 7), LoadReport(11, 2, problems))
    assert telegram_length(text) <= MAX_MESSAGE
    assert len([line for line in text.split("\n") if line.startswith("• &quot;")]) == 5
    assert text.endswith("… and 4 more; <code>newsbot stats</code> lists them all.")


@pytest.mark.parametrize(
    ("lines", "kept"),
    [
        (["short"] * 3, 3),  # fits: nothing dropped
        (["x" * 1000] * 100, 4),  # four lines and the count fit, not five
        (["x" * 5000, "y"], 1),  # the first line is always kept
    ],
)
def test_fit_lines_drops_the_tail_with_a_count(lines: list[str], kept: int) -> None:
    text = _fit_lines(lines)
    assert text.split("\n")[:kept] == lines[:kept]
    if kept < len(lines):
        assert text.endswith(f"… and {len(lines) - kept} more.")
        assert len(text.split("\n")) == kept + 1


def test_shorten_cuts_at_a_word() -> None:
    assert shorten("alpha beta gamma delta", 12) == "alpha beta…"
    assert shorten("short", 12) == "short"


def test_also_reported_by_names_the_other_sources() -> None:
    other = Article("b", "Same story", dt.date(2024, 10, 20), ("Talks.",), source="Wire <Agency>")
    folded = dataclasses.replace(hit("Talks."), also_reported_by=(other,))
    assert "<i>Also reported by Wire &lt;Agency&gt; (2024-10-20)</i>" in render_answer([folded])


def test_timeline_drops_whole_events_to_fit() -> None:
    events = [
        Event(dt.date(2024, 1, 1), "day", "A" * 290 + f" {i}", "a", "H" * 300, dt.date(2024, 1, 2))
        for i in range(30)
    ]
    text = render_timeline(events, "topic <x>")
    assert telegram_length(text) <= MAX_MESSAGE
    lines = text.splitlines()
    assert lines[0] == "<b>Timeline about <i>topic &lt;x&gt;</i></b>"
    assert 1 < len(lines) < 31
    assert all(line.endswith(", 2024-01-02)</i>") for line in lines[1:])  # no line is cut


def test_passages_of_one_article_share_one_heading() -> None:
    headline = "Minister of Defense Rustem Umerov revealed the results of these negotiations"
    article = Article(
        "a", headline, dt.date(2024, 10, 23), ("Talks began.", "Talks ended."), url="https://x.org/a"
    )
    first = Hit(Passage("a", 0, 0, 12, "Talks began."), article, 2.0, frozenset(analyze("talks")))
    second = Hit(Passage("a", 1, 14, 26, "Talks ended."), article, 1.0, frozenset(analyze("talks")))
    other = hit("Talks elsewhere.", headline="Another outlet")
    other = dataclasses.replace(other, article=dataclasses.replace(other.article, id="b"))
    text = render_answer([first, other, second], first_rank=4)
    assert text.count(headline) == 1
    assert text.count("https://x.org/a") == 2  # the link's href and its text, once
    assert text.index("began") < text.index("ended") < text.index("Another outlet")
    assert "<b>4. Minister" in text and "<b>5. Another outlet</b>" in text

import dataclasses
import datetime as dt
import html
import tracemalloc
from collections.abc import Callable

import pytest

from bot.feed_render import render_alert, render_digest
from bot.handlers import LATEST_DEFAULT, TIMELINE_DEFAULT
from bot.i18n import ENGLISH, translations
from bot.render import (
    DESCRIPTION_CHARS,
    ELLIPSIS,
    HEADLINE_CHARS,
    LEAD_CHARS,
    MAX_ENTITIES,
    MAX_MESSAGE,
    TITLE_CHARS,
    by_article,
    byline,
    fit_lines,
    fits,
    highlight,
    inline_description,
    inline_title,
    lead,
    render_answer,
    render_latest,
    render_no_match,
    render_reload,
    render_reload_failed,
    render_timeline,
    shorten,
    shown_headline,
    web_link,
)
from bot.settings import Settings
from bot.statedb import PendingAlert
from fakes import bot_api
from fakes.bot_api import entities, shown_length
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
    text = render_answer(ENGLISH, hits)
    assert shown_length(text) <= MAX_MESSAGE
    assert text.count("<b>") == text.count("</b>")


def test_an_answer_of_ten_long_links_keeps_its_markup_within_what_telegram_takes() -> None:
    # Telegram measures the text its reader sees, but also refuses a message whose links'
    # addresses, counted apart, come near 9,500 characters (ENTITIES_TOO_LONG).
    body = "Talks went on in Geneva and in Istanbul, and the delegations met again. " * 12
    hits = [
        hit(
            body,
            f"Talks in round {n}",
            "talks geneva istanbul delegations",
            f"https://example.org/{n}/{'x' * 470}",
        )
        for n in range(10)
    ]
    text = render_answer(ENGLISH, hits)
    assert len(text) <= 9000 and shown_length(text) <= MAX_MESSAGE  # 9,000: clear of 9,500
    assert text.count('<a href="') >= 5  # passages shortened first, as for a long text


def test_a_page_of_ten_articles_with_long_headlines_and_other_tellings_shows_all_ten() -> None:
    # Pages are cut by passages before they are rendered: an article left out here is on no page.
    body = "Talks went on in Geneva and in Istanbul, and the delegations met again. " * 12
    wire = "Wire service with a long name " * 3

    def article(n: int, source: str) -> Article:
        headline = f"Round {n}: " + "delegations met again in Geneva for talks on grain and ports " * 5
        url = f"https://example.org/{n}/" + "x" * 150
        return Article(f"a{n}", headline, dt.date(2024, 10, 23), (body,), url=url, source=source)

    hits = []
    for n in range(10):
        told = article(n, "The Daily Chronicle of Somewhere Far Away " * 2)
        others = tuple(article(100 + 10 * n + m, wire) for m in range(4))
        passage = Passage(told.id, 0, 0, len(body), body)
        hits.append(Hit(passage, told, 1.0, frozenset(analyze("talks geneva")), also_reported_by=others))
    text = render_answer(ENGLISH, hits)
    assert fits(text)
    assert [f"<b>{n + 1}. Round {n}: " in text for n in range(10)] == [True] * 10


def test_long_passage_is_cut_at_a_sentence_with_an_ellipsis() -> None:
    text = " ".join(f"Sentence {i} says nothing." for i in range(100)) + " Talks resumed in Geneva."
    rendered = render_answer(ENGLISH, [hit(text)])
    assert rendered.rstrip().endswith("<b>Talks</b> resumed in Geneva.")
    assert "…Sentence" in rendered
    opening = render_answer(ENGLISH, [hit("Talks resumed in Geneva. " + text)])
    assert opening.splitlines()[2].startswith("<b>Talks</b> resumed in Geneva.")
    assert opening.endswith(" says nothing.…")  # cut at its end: the ellipsis says so there too


def test_url_is_linked_and_escaped() -> None:
    rendered = render_answer(ENGLISH, [hit("Talks.", url='https://example.org/?a=1&b="2"')])
    assert '<a href="https://example.org/?a=1&amp;b=&quot;2&quot;">' in rendered


def test_reload_report_lists_the_first_five_problems_and_counts_the_rest() -> None:
    problems = tuple(LoadProblem(f"bad-{i}.jsonl:1", "line 1 is not a date <line>") for i in range(30_000))
    text = render_reload(ENGLISH, (1, 6), (2, 7), LoadReport(30_002, 2, problems))
    assert shown_length(text) <= MAX_MESSAGE
    assert "30,000 files or lines could not be loaded:" in text
    bullets = [line for line in text.split("\n") if line.startswith("• ")]
    assert bullets == [f"• bad-{i}.jsonl:1: line 1 is not a date &lt;line&gt;" for i in range(5)]
    assert text.endswith("… and 29,995 more; <code>newsbot stats</code> lists them all.")


def test_reload_report_lists_a_few_problems_all() -> None:
    problems = tuple(LoadProblem(f"bad-{i}.txt", "no date") for i in range(5))
    text = render_reload(ENGLISH, (1, 6), (2, 7), LoadReport(7, 2, problems))
    assert [line for line in text.split("\n") if line.startswith("• ")] == [f"• {p}" for p in problems]
    assert "more" not in text
    assert "No problems found." in render_reload(ENGLISH, (1, 6), (2, 7), LoadReport(2, 2))


def test_reload_report_fits_even_when_escaping_grows_every_problem_six_fold() -> None:
    problems = tuple(LoadProblem('"' * 2000, '"' * 2000) for _ in range(9))
    text = render_reload(ENGLISH, (1, 6), (2, 7), LoadReport(11, 2, problems))
    assert shown_length(text) <= MAX_MESSAGE
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
    text = fit_lines(ENGLISH, lines)
    assert text.split("\n")[:kept] == lines[:kept]
    if kept < len(lines):
        assert text.endswith(f"… and {len(lines) - kept} more.")
        assert len(text.split("\n")) == kept + 1


@pytest.mark.parametrize(
    ("last", "kept"),
    [
        (1022, 5),  # 4,096 characters as the reader sees them: every line
        (1023, 4),  # one more: the last line makes way for the count
    ],
)
def test_fit_lines_measures_what_the_reader_sees_not_the_escapes(last: int, kept: int) -> None:
    # Telegram's 4,096 is the text once its HTML is parsed: `&amp;` is one character, not
    # five. Measured escaped, a list of headlines full of `&` and `<` lost four fifths of its lines
    lines = ["<b>T</b>", *["&amp;" * 1023] * 3, "&amp;" * last]
    text = fit_lines(ENGLISH, lines)
    assert text.split("\n")[:kept] == lines[:kept]
    assert shown_length(text) <= MAX_MESSAGE
    if kept < len(lines):
        assert text.endswith("… and 1 more.")


def test_latest_lists_headlines_full_of_ampersands_as_it_lists_plain_ones() -> None:
    plain = [Article(f"a{n}", "Q" * 150, dt.date(2024, 10, 23), ("Body.",)) for n in range(20)]
    marked = [dataclasses.replace(article, headline="&" * 75 + "<" * 75) for article in plain]
    listed = [len(render_latest(ENGLISH, articles).splitlines()) for articles in (plain, marked)]
    assert listed == [21, 21]  # the title and twenty headlines, each time


def test_shorten_cuts_at_a_word() -> None:
    assert shorten("alpha beta gamma delta", 12) == "alpha beta…"
    assert shorten("short", 12) == "short"
    assert shorten("exactly twelve", 14) == "exactly twelve"  # as long as the limit: whole


@pytest.mark.parametrize(
    ("text", "limit", "shown"),
    [
        ("\u202ealpha\u202c beta", 10, "alpha beta"),  # the controls do not count: whole
        ("\u202e" * 20 + "alpha beta gamma", 12, "alpha beta…"),  # more controls than the limit
        ("alpha" + "\u2066" * 50 + " beta", 10, "alpha beta"),  # controls past the limit's first cut
        ("alpha beta" + "\u202e" * 5000, 10, "alpha beta"),  # a tail of controls alone shows nothing more
        ("alpha beta" + "\u202e" * 5000 + "!", 10, "alpha beta…"),  # ... but one thing after them does
    ],
)
def test_shorten_counts_what_is_shown_and_leaves_out_bidi_controls(text: str, limit: int, shown: str) -> None:
    assert shorten(text, limit) == shown


def peak_bytes(work: Callable[[], str]) -> tuple[str, int]:
    """What `work` gives, and the most memory it held at once on the way (bytes)."""
    tracemalloc.start()
    try:
        done = work()
        return done, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_shorten_and_an_inline_title_work_on_what_they_show_of_a_huge_headline() -> None:
    # a headline of a megabyte, shown cut to 300 characters (100 in an inline title), was
    # copied whole (its bidi controls left out, its spaces collapsed) at each render first
    headline = "Ferry  \u202e" * 150_000
    shown, peak = peak_bytes(lambda: shorten(headline, HEADLINE_CHARS))
    assert shown == "Ferry  " * 42 + "Ferry…"
    assert peak < 20_000  # bytes: what is shown, not the 1.2 MB headline (4.8 MB as it is held)
    article = Article("a", headline, dt.date(2024, 10, 23), ("Body.",))
    title, peak = peak_bytes(lambda: inline_title(article))
    assert title == "Ferry " * 15 + "Ferry…"
    assert peak < 20_000


def test_also_reported_by_names_the_other_sources() -> None:
    other = Article("b", "Same story", dt.date(2024, 10, 20), ("Talks.",), source="Wire <Agency>")
    folded = dataclasses.replace(hit("Talks."), also_reported_by=(other,))
    assert "<i>Also reported by Wire &lt;Agency&gt; (2024-10-20)</i>" in render_answer(ENGLISH, [folded])
    others = tuple(dataclasses.replace(other, id=name, source=name) for name in ("AP", "AFP", "DPA", "EFE"))
    three = render_answer(ENGLISH, [dataclasses.replace(folded, also_reported_by=others[:3])])
    assert (
        "<i>Also reported by AP (2024-10-20), AFP (2024-10-20), DPA (2024-10-20)</i>" in three
    )  # not "and 0 more"
    four = render_answer(ENGLISH, [dataclasses.replace(folded, also_reported_by=others)])
    assert "<i>Also reported by AP (2024-10-20), AFP (2024-10-20), DPA (2024-10-20) and 1 more</i>" in four


def event(
    day: str, sentence: str, article: str, headline: str, published: str, precision: str = "day"
) -> Event:
    return Event(
        dt.date.fromisoformat(day),
        precision,  # type: ignore[arg-type]
        sentence,
        article,
        headline,
        dt.date.fromisoformat(published),
    )


def test_timeline_groups_by_day_and_names_each_source_once() -> None:
    events = [
        event("2024-10-24", "Chess olympiad ends", "c", "Chess olympiad ends", "2024-10-24"),
        event("2024-10-23", "Minister reveals talks", "a", "Minister reveals talks", "2024-10-23"),
        event(
            "2024-10-22", "On October 22, the president spoke.", "a", "Minister reveals talks", "2024-10-23"
        ),
        event("2024-10-22", "Ships left Odesa on Tuesday.", "b", "Odesa <port> reopens", "2024-10-25"),
        event(
            "2022-03-01",
            "Talks collapsed in March 2022.",
            "a",
            "Minister reveals talks",
            "2024-10-23",
            "month",
        ),
    ]
    assert render_timeline(ENGLISH, events, None) == "\n".join(
        [
            "<b>Timeline</b>",
            "",
            "<b>2024-10-24</b>",
            "📰 <b>Chess olympiad ends</b>",  # its one event names itself: no number needed
            "",
            "<b>2024-10-23</b>",
            "📰 <b>Minister reveals talks</b> [1]",  # the headline names its own source: not repeated
            "",
            "<b>2024-10-22</b>",
            "• On October 22, the president spoke. [1]",
            "• Ships left Odesa on Tuesday. [2]",
            "",
            "<b>2022-03</b>",
            "• Talks collapsed in March 2022. [1]",
            "",
            "<i>[2] Odesa &lt;port&gt; reopens, 2024-10-25</i>",  # named once, at the end
        ]
    )


@pytest.mark.parametrize(
    ("with_headline", "last_line"),
    [
        (True, "• On October 22, the president spoke."),  # the headline above names the source
        (False, "<i>Source: Minister reveals talks, 2024-10-23</i>"),  # a topic left the headline out
    ],
)
def test_timeline_of_one_source_has_no_numbers(with_headline: bool, last_line: str) -> None:
    events = [
        event("2024-10-23", "Minister reveals talks", "a", "Minister reveals talks", "2024-10-23"),
        event(
            "2024-10-22", "On October 22, the president spoke.", "a", "Minister reveals talks", "2024-10-23"
        ),
    ]
    text = render_timeline(
        ENGLISH, events if with_headline else events[1:], "talks" if not with_headline else None
    )
    assert "[1]" not in text
    assert text.splitlines()[-1] == last_line
    assert text.count("Minister reveals talks") == 1


def test_timeline_drops_whole_events_to_fit() -> None:
    events = [
        event("2024-01-01", "A" * 290 + f" {i}", f"a{i % 3}", "H" * 300, "2024-01-02") for i in range(30)
    ]
    text = render_timeline(ENGLISH, events, "topic <x>")
    assert shown_length(text) <= MAX_MESSAGE
    lines = text.splitlines()
    assert lines[0] == "<b>Timeline: <i>topic &lt;x&gt;</i></b>"
    shown = [line for line in lines if line.startswith("• ")]
    assert 1 < len(shown) < 30
    assert all(line.endswith("]") for line in shown)  # no event line is cut
    assert f"… and {30 - len(shown)} more." in lines  # and those left out are counted
    assert lines[-3:] == [f"<i>[{n}] {'H' * 120}…, 2024-01-02</i>" for n in (1, 2, 3)]  # every source kept


def test_a_timeline_of_hashtag_events_cuts_their_tags_before_leaving_any_event_out() -> None:
    # thirty events of thirty #tags each are twice a message long and twelve times the entities
    # Telegram shows: cut to the tags that fit, every one of them fits, and none is left out
    tags = " ".join(f"#talks{n}" for n in range(30))
    events = [
        event("2024-01-01", f"{tags} {i}", f"a{i % 3}", f"Report {i % 3}", "2024-01-02") for i in range(30)
    ]
    text = render_timeline(ENGLISH, events, None)
    assert shown_length(text) <= MAX_MESSAGE and entities(text) <= MAX_ENTITIES
    assert len([line for line in text.splitlines() if line.startswith("• #talks0")]) == 30
    assert "more." not in text


def test_a_timeline_shows_the_most_events_that_fit_though_one_more_may_be_shorter() -> None:
    # an article's headline shown after its other event of the day replaces the source line
    # at the end with a shorter one: 15 events fit where 14 do not, and a search that took
    # fewer events to always be shorter showed 13 and "… and 3 more."
    events = [
        event(
            f"2024-03-{28 - i}",
            f"Filler {i} " + "x" * 284,
            f"f{i}",
            f"Filler {i} " + "x" * 284,
            f"2024-03-{28 - i}",
        )
        for i in range(13)
    ]
    events += [
        event("2024-02-01", "Talks went on.", "A", "Short headline of A", "2024-02-01"),
        event("2024-02-01", "Short headline of A", "A", "Short headline of A", "2024-02-01"),
    ]
    events += [
        event(
            f"2024-01-{20 - i}",
            f"Later {i} " + "y" * 290,
            f"l{i}",
            f"Later {i} " + "y" * 290,
            f"2024-01-{20 - i}",
        )
        for i in range(1)
    ]
    text = render_timeline(ENGLISH, events, None)
    assert shown_length(text) <= MAX_MESSAGE
    assert "📰 <b>Short headline of A</b> [1]" in text and text.endswith("… and 1 more.")


def test_timeline_dates_in_the_readers_language() -> None:
    week = event("2024-10-14", "Talks went on all week.", "a", "Talks", "2024-10-20", "week")
    assert "<b>тиждень від 2024-10-14</b>" in render_timeline(translations("uk"), [week], None)
    assert "<b>неделя с 2024-10-14</b>" in render_timeline(translations("ru"), [week], None)
    assert "<b>Хронологія</b>" in render_timeline(translations("uk"), [week], None)


def test_timeline_dates_before_the_year_1000_keep_four_digits() -> None:
    events = [
        event("0999-05-20", "The harbour froze", "a", "The harbour froze", "0999-05-20"),
        event("0999-04-01", "Last month the ice came.", "a", "The harbour froze", "0999-05-20", "month"),
        event("0998-01-01", "Last year the king died.", "a", "The harbour froze", "0999-05-20", "year"),
    ]
    text = render_timeline(ENGLISH, events, None)
    assert [line for line in text.split("\n") if line.startswith("<b>0")] == [
        "<b>0999-05-20</b>",
        "<b>0999-04</b>",
        "<b>0998</b>",
    ]


def test_passages_of_one_article_share_one_heading() -> None:
    headline = "Minister of Defense Rustem Umerov revealed the results of these negotiations"
    article = Article(
        "a", headline, dt.date(2024, 10, 23), ("Talks began.", "Talks ended."), url="https://x.org/a"
    )
    first = Hit(Passage("a", 0, 0, 12, "Talks began."), article, 2.0, frozenset(analyze("talks")))
    second = Hit(Passage("a", 1, 14, 26, "Talks ended."), article, 1.0, frozenset(analyze("talks")))
    other = hit("Talks elsewhere.", headline="Another outlet")
    other = dataclasses.replace(other, article=dataclasses.replace(other.article, id="b"))
    text = render_answer(ENGLISH, [first, other, second], first_rank=4)
    assert text.count(headline) == 1
    assert text.count('<a href="https://x.org/a">x.org</a>') == 1  # the site, linked, once
    assert text.index("began") < text.index("ended") < text.index("Another outlet")
    assert "<b>Talks</b> began.\n—\n<b>Talks</b> ended." in text  # parted by a — line (README)
    assert "<b>4. Minister" in text and "<b>5. Another outlet</b>" in text


def test_two_articles_whose_headlines_are_bidi_controls_alone_are_two_headings() -> None:
    # grouped by their headlines, which are nothing once the controls are left out, two articles
    # of a day were one heading: the second's passage shown under the first's words
    first = hit("Harbour cranes loaded ten barges.", headline="\u202e")
    second = hit("Talks on the grain corridor resumed.", headline="\u202e")
    second = dataclasses.replace(second, article=dataclasses.replace(second.article, id="b"))
    assert len(by_article([first, second])) == 2
    text = render_answer(ENGLISH, [first, second])
    assert "<b>1. Harbour cranes loaded ten barges.</b>" in text
    assert "<b>2. Talks on the grain corridor resumed.</b>" in text


@pytest.mark.parametrize(
    "headline",
    [
        "\u202e \u202c",  # bidi controls, left out of what is shown
        "\u200b\u200d",  # zero-width space and joiner
        "\u200e\u200f",  # left-to-right and right-to-left marks
        "\ufeff\u2060\u00ad",  # zero-width no-break space, word joiner, soft hyphen
        "\u3164\u2800",  # Hangul filler and the blank Braille pattern, blank names' favourites
        "\x07\x1b",  # control characters
        "\ufffc",  # the object replacement character copied text leaves for a picture: Telegram's space
        "\u0333\u033f",  # combining low and overlines, which Telegram takes out of every text
        "\ufe0f\u034f\ufe0e",  # variation selectors and the grapheme joiner, with nothing to change
    ],
)
def test_a_headline_that_shows_nothing_is_shown_as_its_first_words(headline: str) -> None:
    # only bidi controls alone counted: a headline of zero-width or other invisible characters
    # gave an answer a bold heading that shows nothing ("1. "), and /latest an empty line
    article = hit("Harbour cranes loaded ten barges.", headline=headline).article
    assert shown_headline(article) == "Harbour cranes loaded ten barges."
    assert shown_headline(dataclasses.replace(article, headline=f"{headline}Ferry")) == f"{headline}Ferry"


def test_first_words_shown_for_a_blank_headline_are_a_headlines_length() -> None:
    # the whole first paragraph stood for the headline: a megabyte of it was joined word by
    # word several times for each answer, on the event loop, and kept whole in the state
    # file as a dropped file's alert title
    words = "harbour cranes loaded barges " * 40_000
    article = hit("Talks began.", headline="\u202e").article
    article = dataclasses.replace(article, paragraphs=(words, "Talks began."))
    shown = shown_headline(article)
    assert len(shown) <= HEADLINE_CHARS + 1 and shown.startswith("harbour cranes loaded barges harbour")
    assert shown.endswith("…")


def test_an_answer_reads_of_a_huge_headline_what_tells_it_apart_not_the_whole() -> None:
    # to find one article saved twice, a headline of a megabyte was case-folded and split
    # into words whole, on the event loop, for every answer it was in
    headline = "Ferry  \u202e" * 150_000
    text, peak = peak_bytes(lambda: render_answer(ENGLISH, [hit("Talks began.", headline=headline)]))
    assert "<b>1. Ferry  Ferry" in text
    assert peak < 100_000  # bytes: what is read and shown, not the 1.2 MB headline


def test_two_huge_headlines_are_one_article_only_when_they_agree_far_past_what_is_shown() -> None:
    start = "Ferry  crossings resume " * 100  # 2,400 characters: far past any real headline
    first = hit("Talks began.", headline=start + "in May" + "!" * 1_000_000)
    second = hit("Talks ended.", headline=start.upper() + "IN JUNE")
    second = dataclasses.replace(second, article=dataclasses.replace(second.article, id="b"))
    assert len(by_article([first, second])) == 1
    short = dataclasses.replace(second, article=dataclasses.replace(second.article, headline="Ferry"))
    assert len(by_article([first, short])) == 2


def test_one_article_saved_twice_is_one_heading() -> None:
    first, second = hit("Talks began.", headline="Talks  begin"), hit("Talks ended.", headline="talks begin")
    second = dataclasses.replace(second, article=dataclasses.replace(second.article, id="copy"))
    assert len(by_article([first, second])) == 1  # same headline (case, spaces aside), date and outlet
    other_day = dataclasses.replace(
        second, article=dataclasses.replace(second.article, date=dt.date(2024, 1, 1))
    )
    assert len(by_article([first, other_day])) == 2
    other_outlet = dataclasses.replace(
        second, article=dataclasses.replace(second.article, source="Another outlet")
    )
    assert len(by_article([first, other_outlet])) == 2  # a wire story under its headline in two outlets


@pytest.mark.parametrize(
    ("source", "url", "shown"),
    [
        (
            "Kyiv Post",
            "https://www.kyivpost.com/a",
            '2024-10-23 · <a href="https://www.kyivpost.com/a">Kyiv Post</a>',
        ),
        (
            None,
            "https://www.kyivpost.com/a",
            '2024-10-23 · <a href="https://www.kyivpost.com/a">kyivpost.com</a>',
        ),
        ("Wire", "javascript:alert(1)", "2024-10-23 · Wire"),  # Telegram refuses such a link: not linked
        (None, "ftp://x.org/a", "2024-10-23"),
        (None, "https://x.org/" + "a" * 600, "2024-10-23"),  # too long to be a link
        ("<Wire>", None, "2024-10-23 · &lt;Wire&gt;"),
        (
            "Ekonomichna Pravda, the business desk of Ukrainska Pravda",  # a long outlet's name: whole
            None,
            "2024-10-23 · Ekonomichna Pravda, the business desk of Ukrainska Pravda",
        ),
        (
            "Kyiv " * 60,
            None,
            "2024-10-23 · " + "Kyiv " * 19 + "Kyiv…",
        ),  # a feed's title run on: cut at a word
    ],
)
def test_byline_names_the_outlet_or_site_once(source: str | None, url: str | None, shown: str) -> None:
    article = Article("a", "H", dt.date(2024, 10, 23), ("Body.",), url=url, source=source)
    assert byline(article) == shown


def test_web_link_accepts_only_http_links() -> None:
    assert web_link("https://x.org/a?b=1") == "https://x.org/a?b=1"
    assert web_link("http://[::1") is None  # not a URL at all
    assert web_link("https://") is None


def test_inline_title_and_description_are_one_bounded_line() -> None:
    body = "Intro words. " * 50 + "The harbour of Odesa reopened.\n\nMore lines " * 40
    result = hit(body, headline="Harbour\nnews " * 100, question="Odesa harbour")
    title, description = inline_title(result.article), inline_description(result)
    assert len(title) <= TITLE_CHARS and "\n" not in title
    assert len(description) <= DESCRIPTION_CHARS and "\n" not in description
    assert description.startswith("2024-10-23 · ")
    assert "The harbour of Odesa reopened." in description


def test_an_article_shared_without_a_question_is_shown_from_the_start_of_its_first_paragraph() -> None:
    # its whole first paragraph was read into sentences and words for each inline query
    # without words: 0.3 s of the bot's event loop for one of a megabyte, as here
    paragraph = "The council met on the bridge. " * 35_000
    article = Article("minutes", "Minutes", dt.date(2024, 10, 23), (paragraph, "More."))
    result = lead(article)
    assert len(result.passage.text) == LEAD_CHARS <= MAX_MESSAGE  # no more than one message could show
    assert render_answer(ENGLISH, [result], first_rank=None) == render_answer(
        ENGLISH, [hit(paragraph[: 3 * LEAD_CHARS], headline="Minutes", question="")], first_rank=None
    )


@pytest.mark.parametrize(
    ("language", "count", "title"),
    [
        ("en", 1, "<b>The newest article</b>"),
        ("en", 3, "<b>The 3 newest articles</b>"),
        ("uk", 1, "<b>1 найновіша стаття</b>"),
        ("uk", 2, "<b>2 найновіші статті</b>"),
        ("uk", 5, "<b>5 найновіших статей</b>"),
        ("ru", 3, "<b>3 самые новые статьи</b>"),
        ("ru", 11, "<b>11 самых новых статей</b>"),
    ],
)
def test_latest_counts_its_articles_in_the_readers_language(language: str, count: int, title: str) -> None:
    article = Article("a", "H", dt.date(2024, 10, 23), ("Body.",))
    assert render_latest(translations(language), [article] * count).splitlines()[0] == title


def test_latest_with_no_article_yet_says_so() -> None:
    # /latest as of a day before every article: not "The 0 newest articles"
    assert render_latest(ENGLISH, []) == "The corpus has no articles yet."


def test_an_alert_dense_with_its_topic_stays_within_the_entities_telegram_shows() -> None:
    passage = " ".join(["Oil"] * 300)  # a market table: 125 of its words in the passage shown
    alert = PendingAlert(
        1, 7, 7, "oil", 0.9, passage, frozenset({"oil"}), "Oil", dt.date(2024, 10, 1), "https://x.org/a", 0
    )
    text = render_alert(alert)
    assert entities(text) == MAX_ENTITIES  # with the link and the /following Telegram finds
    assert text.rstrip().endswith("</i> · /following")


def test_an_alert_full_of_hashtags_keeps_its_link_and_command_within_what_telegram_shows() -> None:
    # the #tags Telegram finds in the passage count against the 100 it shows: uncounted, the topic's
    # words bolded beside them pushed the link (last but one) past the 100, shown as plain text
    passage = " ".join(["#oil Oil"] * 150)
    alert = PendingAlert(
        1, 7, 7, "oil", 0.9, passage, frozenset({"oil"}), "Oil", dt.date(2024, 10, 1), "https://x.org/a", 0
    )
    text = render_alert(alert)
    assert entities(text) <= MAX_ENTITIES and "<b>Oil</b>" in text


def test_an_alert_on_an_article_with_no_link_shows_no_empty_line() -> None:
    # a feed item with no link of its own, saved from the feed's text
    alert = PendingAlert(
        1, 7, 7, "oil", 0.9, "Oil prices fell.", frozenset({"oil"}), "Oil", dt.date(2024, 10, 1), "", 0
    )
    assert "" not in render_alert(alert).splitlines()
    assert [line for line in render_digest([alert, alert]).splitlines() if not line.strip()] == []


def test_an_alert_on_a_dropped_file_names_the_outlet_it_names_in_place_of_a_link() -> None:
    alert = PendingAlert(
        1,
        7,
        7,
        "oil",
        0.9,
        "Oil prices fell.",
        frozenset({"oil"}),
        "Oil",
        dt.date(2024, 10, 1),
        "",
        0,
        "Harbour",
    )
    assert render_alert(alert).splitlines()[:3] == [
        "<b>Oil</b>",
        "2024-10-01 · Harbour",
        "<b>Oil</b> prices fell.",
    ]
    assert "• Oil (2024-10-01 · Harbour), on <i>oil</i>" in render_digest([alert, alert]).splitlines()


LONG_HEADLINE = (
    "Zelenskyy says Ukraine will present its victory plan to Biden, Harris and Trump in September, "
    "and that its first point concerns Ukraine's place in the security architecture of the world, "
    "its second weapons and strikes at long range"
)
"""A headline as long as outlets and feeds write them (234 characters)."""
OVERLONG_HEADLINE = (
    "A feed that puts its whole article in the title, sentence after sentence. " * 70
).strip()
"""5,000 characters: what no headline is, and what a feed's title can still be."""


def headline_event(n: int, headline: str) -> Event:
    """An article's headline as the timeline lists it, on its publication day."""
    day = dt.date(2024, 10, 1) + dt.timedelta(days=n)
    return Event(day, "day", headline, f"a{n}", headline, day)


def test_a_headline_as_long_as_outlets_write_them_is_shown_whole() -> None:
    article = Article("a", LONG_HEADLINE, dt.date(2024, 10, 23), ("Talks went on.",))
    shown = html.escape(LONG_HEADLINE)
    assert f"<b>1. {shown}</b>" in render_answer(ENGLISH, [hit("Talks went on.", headline=LONG_HEADLINE)])
    assert f"2024-10-23 · {shown}" in render_latest(ENGLISH, [article])
    assert f"📰 <b>{shown}</b>" in render_timeline(ENGLISH, [headline_event(1, LONG_HEADLINE)], None)


def test_a_page_of_articles_with_overlong_headlines_shows_each_passage_as_an_answer_of_one_does() -> None:
    # A default page (TOP_K passages) fits one message with every passage as long as a lone
    # answer shows it: an overlong headline is cut before it would shorten the passages that answer.
    body = "Talks went on in Geneva and in Istanbul, and the delegations met again. " * 30

    def passages(headline: str, count: int) -> list[list[str]]:
        hits = [
            hit(body, headline=f"{n}: {headline}", url=f"https://example.org/{n}", question="talks geneva")
            for n in range(count)
        ]
        return [block.splitlines()[2:] for block in render_answer(ENGLISH, hits).split("\n\n")]

    (alone,) = passages("Talks in Geneva", 1)
    per_page = Settings.model_fields["top_k"].default
    assert passages(OVERLONG_HEADLINE, per_page) == [alone] * per_page


def test_the_default_latest_and_timeline_list_whole_whatever_their_headlines() -> None:
    # /latest and /timeline without a number show their default count in one message: a
    # headline is cut before it would push articles or events out of the message
    articles = [Article(f"a{n}", OVERLONG_HEADLINE, dt.date(2024, 10, 23), ("Body.",)) for n in range(20)]
    latest = render_latest(ENGLISH, articles[:LATEST_DEFAULT]).splitlines()
    assert len(latest) == 1 + LATEST_DEFAULT and "more" not in latest[-1]
    events = [headline_event(n, OVERLONG_HEADLINE) for n in range(TIMELINE_DEFAULT)]
    timeline = render_timeline(ENGLISH, events, None)
    assert timeline.count("📰 ") == TIMELINE_DEFAULT and "more." not in timeline


def test_a_failed_reloads_reason_of_any_length_is_shown_within_one_message() -> None:
    reason = "corpus/a.txt: " + "a reason that goes on and on " * 500
    text = render_reload_failed(ENGLISH, reason, (1, 2))
    assert shown_length(text) <= MAX_MESSAGE
    assert text.splitlines()[1].startswith("Reason: corpus/a.txt: a reason that goes on")


def test_a_timeline_topic_of_any_length_is_shown_within_one_message() -> None:
    topic = "Umerov " * 580  # as long as a message can be
    events = [headline_event(1, "Umerov held talks")]
    for shown in (render_timeline(ENGLISH, events, topic), render_timeline(ENGLISH, [], topic)):
        assert shown_length(shown) <= MAX_MESSAGE
        assert "<i>Umerov Umerov" in shown.splitlines()[0]
    assert "Umerov held talks" in render_timeline(ENGLISH, events, topic)


def ten_articles(headline: str, body: str, source: str, question: str, told_by: int) -> list[Hit]:
    """Ten articles, each its own heading, linked, with its outlet and `told_by` other tellings."""
    hits = []
    for n in range(10):
        article = Article(
            f"a{n}",
            f"{n} {headline}",
            dt.date(2024, 10, 23),
            (body,),
            url=f"https://x.org/{n}",
            source=source,
        )
        others = tuple(
            dataclasses.replace(article, id=f"b{n}{m}", source=f"{source} {m}") for m in range(told_by)
        )
        passage = Passage(article.id, 0, 0, len(body), body)
        hits.append(Hit(passage, article, 1.0, frozenset(analyze(question)), also_reported_by=others))
    return hits


def test_a_page_too_long_even_shortened_leaves_out_its_last_articles_and_still_goes_out() -> None:
    # Ten articles with headlines, outlets and other tellings of hundreds of emoji, shortened as far
    # as they go, are still too long for one message: sent with the first ones, not refused whole.
    hits = ten_articles("🙂" * 400, "🙂 Talks went on. " * 300, "🙂" * 200, "talks", told_by=3)
    text = render_answer(ENGLISH, hits)
    assert shown_length(text) <= bot_api.MAX_MESSAGE and fits(text)
    assert text.startswith("<b>1. 0 🙂") and 1 < text.count('<a href="') < 10


def test_a_page_of_ten_articles_told_by_other_outlets_keeps_within_the_entities_telegram_shows() -> None:
    # each "Also reported by" is a formatting entity too: counted, the question's words bolded
    # in the passages leave room for it, and the last article's note is still in italics
    market = "Wheat exports rose, corn exports fell and barley exports held; wheat prices, corn prices. " * 3
    hits = ten_articles(
        "Grain report", market, "Agrarian News", "wheat corn barley exports prices", told_by=1
    )
    text = render_answer(ENGLISH, hits)
    assert entities(text) <= bot_api.MAX_ENTITIES and text.count("<i>Also reported by") == 10


def test_a_page_of_passages_full_of_hashtags_keeps_every_heading_and_link_telegram_shows() -> None:
    # Telegram makes an entity of each #tag, $TAG and link it finds in the text itself, and they
    # count against the 100 it shows: uncounted, the question's words bolded beside them pushed
    # the last articles' headings and outlets' links past the 100, shown plain
    market = "#wheat exports rose, #corn exports fell and #barley exports held; $ADM and $BG up."
    hits = ten_articles("Grain report", market, "Agrarian News", "wheat corn barley exports", 0)
    text = render_answer(ENGLISH, hits)
    assert entities(text) <= bot_api.MAX_ENTITIES
    assert "<b>exports</b>" in text  # the question's words still bold, the first of each passage
    assert text.count('">Agrarian News</a>') == 10 and text.count("\n\n<b>") == 9  # every heading, every link


def test_a_page_of_articles_with_two_passages_each_keeps_within_the_entities_telegram_shows() -> None:
    # the question's words bolded are shared among the page's passages, not its articles
    market = "Wheat exports rose, corn exports fell and barley exports held; wheat prices, corn prices. " * 3
    hits = []
    for hit_ in ten_articles("Grain report", market, "Agrarian News", "wheat corn barley exports prices", 0)[
        :5
    ]:
        again = dataclasses.replace(hit_, passage=dataclasses.replace(hit_.passage, position=1))
        hits += [hit_, again]
    text = render_answer(ENGLISH, hits)
    assert entities(text) <= bot_api.MAX_ENTITIES and text.count('">Agrarian News</a>') == 5


def test_a_sentence_that_repeats_the_headline_on_another_day_is_an_event_not_the_headline() -> None:
    # a feed's lead that repeats the headline, dated by its own words: 📰 marks the publication day only
    said = "On October 16, Scholz said he was ready to talk to Putin"
    events = [
        event("2024-10-20", said, "s", said, "2024-10-20"),
        event("2024-10-16", "On October 16, Umerov spoke.", "u", "Umerov speaks", "2024-10-23"),
        event("2024-10-16", said, "s", said, "2024-10-20"),
    ]
    lines = render_timeline(ENGLISH, events, "Scholz").splitlines()
    assert [line for line in lines if line.startswith("📰 ")] == [f"📰 <b>{said}</b> [1]"]
    assert f"• {said} [1]" in lines


def test_a_list_of_headlines_in_emoji_is_measured_in_characters_as_telegram_counts_them() -> None:
    # Telegram's 4,096 are characters (tdlib's `utf8_length`), not the UTF-16 units its entities'
    # offsets are given in: counted as two each, twenty headlines of 100 emoji (2,280 characters)
    # were taken for 4,560 and the last nine left out
    articles = [Article(f"a{n}", "🌾" * 100, dt.date(2024, 10, 23), ("Body.",)) for n in range(20)]
    text = render_latest(ENGLISH, articles)
    assert text.count("🌾" * 100) == 20 and "more." not in text


def test_a_message_of_4096_emoji_fits_and_one_more_does_not() -> None:
    assert fits("🌾" * MAX_MESSAGE) and not fits("🌾" * (MAX_MESSAGE + 1))
    assert shown_length("<b>🌾</b>" * MAX_MESSAGE) == MAX_MESSAGE


def page_passages(body: str, question: str, count: int) -> list[list[str]]:
    """The passages' lines of each article of a page of `count` articles of one `body`."""
    hits = [hit(body, headline=f"{question} {n}", question=question) for n in range(count)]
    return [block.splitlines()[2:] for block in render_answer(ENGLISH, hits).split("\n\n")]


def test_a_page_of_passages_full_of_emoji_shows_each_passage_as_an_answer_of_one_does() -> None:
    # five passages of 700 characters, a fifth of them emoji: some 3,900 characters, within a
    # message, but past 4,096 in UTF-16 units, and every passage was cut by a third for it
    body = "Grain 🌾🚢🌾🚢 left Odesa 🇺🇦🇺🇦 for Istanbul 🌍🌍. " * 20
    (alone,) = page_passages(body, "grain", 1)
    assert page_passages(body, "grain", 5) == [alone] * 5 and len(alone[0]) > 700


def test_a_page_dense_with_ampersands_shows_each_passage_as_an_answer_of_one_does() -> None:
    # `&amp;` is one character of the message: counted as five, a page of "AT&T"s and "P&G"s
    # would be taken for too long and its passages shortened for nothing
    body = "Deals of AT&T & P&G & S&P & M&S & H&M & B&Q & J&J & AB&C. " * 40
    (alone,) = page_passages(body, "deals", 1)
    per_page = Settings.model_fields["top_k"].default
    assert page_passages(body, "deals", per_page) == [alone] * per_page


def test_a_page_of_five_articles_full_of_escapes_shows_each_passage_as_an_answer_of_one_does() -> None:
    # `&amp;` and `&quot;` are one character each once Telegram has read the message: counted
    # as written, five passages of "AT&T"s in quotes (3,493 characters to read) came past
    # MAX_MARKUP, and each was cut by a third
    body = 'Mergers: "AT&T" <-> "P&G", "S&P" <-> "M&S"; ' * 15
    (alone,) = page_passages(body, "mergers", 1)
    assert page_passages(body, "mergers", 5) == [alone] * 5 and ELLIPSIS not in alone[0]


def test_an_alert_whose_passage_alone_holds_more_hashtags_than_telegram_shows_keeps_its_link() -> None:
    # a hundred #tags in the passage shown, and no bold left to take off: the link and the
    # /following after them were past the 100 entities Telegram shows, plain text
    passage = " ".join(["#oil"] * 150)
    alert = PendingAlert(
        1, 7, 7, "oil", 0.9, passage, frozenset({"oil"}), "Oil", dt.date(2024, 10, 1), "https://x.org/a", 0
    )
    text = render_alert(alert)
    assert entities(text) <= MAX_ENTITIES
    assert "\nhttps://x.org/a\n" in text and text.endswith("</i> · /following")
    assert "#oil…" in text  # the passage cut after the tags that fit


def test_a_page_whose_first_passage_is_all_hashtags_keeps_the_next_articles_heading_and_link() -> None:
    tagged = hit(" ".join(["#talks"] * 120), headline="Tags", url="https://x.org/tags")
    plain = hit("Talks went on in Geneva.", headline="Geneva", url="https://x.org/geneva")
    text = render_answer(
        ENGLISH, [tagged, dataclasses.replace(plain, article=dataclasses.replace(plain.article, id="b"))]
    )
    assert entities(text) <= MAX_ENTITIES
    assert "\n\n<b>2. Geneva</b>\n2024-10-23 · <a href=" in text and "#talks…" in text


def test_a_digest_of_fifty_alerts_keeps_every_link_and_drops_an_italic_for_it() -> None:
    # each line's topic in italics and its link are an entity each: fifty lines and the title
    # came to 101, past the 100 Telegram shows, and the last link was plain text
    alerts = [
        PendingAlert(
            n,
            7,
            7,
            "oil",
            0.9,
            "Oil.",
            frozenset({"oil"}),
            "Oil",
            dt.date(2024, 10, 1),
            f"https://x.org/{n}",
            0,
        )
        for n in range(50)
    ]
    text = render_digest(alerts)
    assert entities(text) <= MAX_ENTITIES
    assert text.count("\n  https://x.org/") == 50 and text.count("<i>oil</i>") == 49  # the last topic plain


@pytest.mark.parametrize("language", ["en", "uk", "ru"])
@pytest.mark.parametrize("question", ["\u202a\u202e \u2066\u2069", "\ufe0f", "\u034f\ufe0e"])
def test_no_match_leaves_out_a_question_that_shows_nothing(language: str, question: str) -> None:
    # bidi controls; a variation selector alone (a deleted emoji's), a grapheme joiner
    text = render_no_match(translations(language), question, searchable=False)
    assert "<i>" not in text
    assert "(" in text.splitlines()[0]  # the reason is still given

"""Hits, articles and reports -> Telegram HTML. Pure functions, no I/O.

Everything that comes from the corpus or from a user is escaped here and only here, and
every text is kept within what Telegram takes (`fits`): 4,096 characters as its reader
sees them (`shown_length`), with its formatting within `MAX_MARKUP` (`held_length`), so a
reply is never refused for its size. The words around the corpus's
text come in the reader's language: each renderer is given its `Translations` (`bot.i18n`).
"""

from __future__ import annotations

import functools
import html
import itertools
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from itertools import accumulate
from urllib.parse import urlsplit

from retrieval import Article, Event, Hit, LoadReport, Passage, format_event_date, matched_spans
from retrieval.analyzer import BLANK
from retrieval.snippets import snippet_span

from .i18n import N_, Translations
from .reasons import problem_told

MAX_MESSAGE = 4096
MAX_MARKUP = 8192
"""Telegram also refuses a message whose formatting is too large (links' addresses above
all; near 9,500 characters of it), however short its text: the bound of its text and its
tags and addresses together, with HTML's escapes read (`held_length`)."""
MAX_ENTITIES = 100
"""Telegram shows a message's first 100 formatting entities (bold, italic, a link) and drops
the rest unseen (python-telegram-bot's `MessageLimit.MESSAGE_ENTITIES`)."""
PASSAGE_CHARS = 700
LEAD_CHARS = 2 * PASSAGE_CHARS
"""What an article's lead is cut from: more than a message shows of it. A whole first
paragraph of megabytes (a transcript with no blank line) was read into sentences and
words by each inline query without words, on the bot's event loop: 0.3 s for 1 MB."""
HEADLINE_CHARS = 300
SAME_HEADLINE_CHARS = 3 * HEADLINE_CHARS
"""How far two headlines are compared to tell two articles from one saved twice: the whole
of any headline shorter than `HEADLINE_CHARS` (case-folding makes at most three characters
of one, `ß` two); two longer ones that agree this far are one article."""
COMPACT_HEADLINE_CHARS = 100
"""A headline's length when a page of ten articles would not fit with each one's whole."""
URL_CHARS = 500
ELLIPSIS = "…"
PROBLEMS_SHOWN = 5
TITLE_CHARS = 100
"""An inline result's title: one line in Telegram's list, so a long headline is cut."""
DESCRIPTION_CHARS = 200
"""An inline result's description: Telegram shows two lines of it."""
TIMELINE_SOURCE_CHARS = 120
PASSAGE_BREAK = "\n—\n"
NO_ARTICLES_HELP = N_(
    "I answer questions about news articles, but I hold none yet. Once some are added, just send me "
    "a question in words: I answer with the passage that answers, its headline and its date."
)
NO_ARTICLES = N_("I hold no articles yet, so I cannot answer for now. Please try again once some are added.")
HOW_TO_ADD = N_(
    "To add articles, drop their files into the corpus folder (served within a minute, or at once "
    "with /reload), add a news feed with /feeds add URL, or one article with /add URL."
)
"""Between two passages of one article: they are excerpts, not consecutive paragraphs."""
_TAG = re.compile(r"<[^>]*>")
_FOUND_BY_TELEGRAM = re.compile(
    r"(?<![\w/])[#$@/]\w+"  # hashtags, cashtags, mentions, bot commands
    r"|[\w.+-]+@[\w-]+\.\w+"  # emails
    r"|\b(?:https?://|www\.)\S+|\b[\w-]+\.[a-z]{2,}\b"  # links, with a scheme or by their look
    r"|\+\d[\d ()-]{6,}\d"  # phone numbers, international
)
"""What Telegram makes entities of in a message's text by itself, taken broadly."""
_BIDI_CONTROLS = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))
"""Embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069), left out of what is
shown: one a feed's title, a headline or a passage left open turned the rest of the
message around (a right-to-left override wrote what followed it backwards)."""


_VARIATION_SELECTORS = frozenset(
    [chr(code) for code in range(0xFE00, 0xFE10)]
    + [chr(code) for code in range(0xE0100, 0xE01F0)]
    + ["\u180b", "\u180c", "\u180d", "\u180f"]  # Mongolian's
)
_BLANK = BLANK | _VARIATION_SELECTORS | frozenset("\ufffc\u034f\u030a\u0333\u033f")
"""Letters, symbols and marks that show as nothing: Hangul fillers and the blank Braille
pattern, the favourites of blank names; the object replacement character, which copied text
leaves where a picture was and Telegram reads as a space; variation selectors and the
combining grapheme joiner, which only choose how the character before them looks (an emoji
deleted half way leaves its U+FE0F in the box); and three combining marks that Telegram
takes out of every text. A title of them alone is empty to Telegram, which then refuses a
whole list of inline results."""


def utf16_length(text: str) -> int:
    """Length in UTF-16 code units, the units of Telegram's entities: an emoji is two."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def shown_length(markup: str) -> int:
    """Length of Telegram HTML as Telegram holds it to its limit: the characters of the text
    once parsed (tdlib's `utf8_length`; an emoji is one, though two of its entities' units).

    Tags and a link's address are not counted, and `&amp;` is one character: counting them
    would leave out of an answer articles that fit (ten headlines with their links are
    a thousand characters of addresses). Exact for what `escape` makes: no `<` or `>`
    stands in text or in an attribute. Counted in UTF-16 units, a page of passages a fifth
    emoji, within 4,096 characters, was taken for too long and each passage cut by a third.
    """
    return len(html.unescape(_TAG.sub("", markup)))


def held_length(markup: str) -> int:
    """Length of Telegram HTML with its escapes read: the text as Telegram holds it, plus the
    tags and links' addresses it keeps as formatting, in UTF-16 units: the unit of that bound
    is not known, and these are never fewer than its characters.

    An escape is HTML's, gone once Telegram parses the message: counted as written (`&amp;`
    five characters, `&quot;` six), a page of five passages full of "AT&T"s in quotes came
    past `MAX_MARKUP` with 3,400 characters to read, and each passage was cut by a third.
    """
    return utf16_length(html.unescape(markup))


def fits(markup: str) -> bool:
    """Whether Telegram takes `markup` as one message (see the module's docstring)."""
    return held_length(markup) <= MAX_MARKUP and shown_length(markup) <= MAX_MESSAGE


def escape(text: str) -> str:
    """Escape text for Telegram's HTML parse mode (`<`, `>`, `&`; quotes too, for attributes),
    without bidi controls (`_BIDI_CONTROLS`)."""
    return html.escape(text.translate(_BIDI_CONTROLS), quote=True)


def shorten(text: str, limit: int) -> str:
    """Cut plain text at a word boundary, with an ellipsis, when longer than `limit`; without
    bidi controls (`_BIDI_CONTROLS`), as it is shown.

    Only what can be shown is read: a headline of a megabyte, cut to 300 characters, was
    copied whole at each render first."""
    text = _shown_head(text, limit + 1)
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > limit // 2 else limit].rstrip() + ELLIPSIS


def _shown_head(text: str, most: int) -> str:
    """The first `most` characters of `text` without its bidi controls (all of it if fewer),
    read in growing pieces: a text of controls alone is read to its end, once."""
    head, start, step = "", 0, most
    while len(head) < most and start < len(text):
        head += text[start : start + step].translate(_BIDI_CONTROLS)
        start, step = start + step, step * 2
    return head[:most]


def _one_line_head(text: str, most: int, prepare: Callable[[str], str] | None = None) -> str:
    """The first `most` characters of `text` on one line: its runs of spaces and line breaks
    one space, its bidi controls left out (or `prepare` done to it instead; it must work
    character by character, as case-folding does), all of it if fewer, from the fewest
    characters of `text` that give them: a piece's line is the start of the whole's."""
    end = most
    while True:
        piece = text[:end]
        line = " ".join((prepare(piece) if prepare else piece.translate(_BIDI_CONTROLS)).split())
        if len(line) >= most or end >= len(text):
            return line[:most]
        end *= 2


def highlight(text: str, terms: frozenset[str], most: int | None = None) -> str:
    """Escape `text` and wrap the words whose term is in `terms` in `<b>`, the first `most` if given."""
    pieces, last = [], 0
    for start, end in matched_spans(text, terms)[:most]:
        pieces += [escape(text[last:start]), "<b>", escape(text[start:end]), "</b>"]
        last = end
    return "".join(pieces) + escape(text[last:])


def web_link(url: str | None) -> str | None:
    """`url` if Telegram will accept it as a link (http or https, not absurdly long), else None."""
    if not url or len(url) > URL_CHARS:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme.lower() in ("http", "https") and parts.hostname else None


def byline(article: Article) -> str:
    """`2024-10-23 · <a href=...>Outlet</a>`: the date, and the outlet (or the site) once, linked."""
    link = web_link(article.url)
    name = article.source
    if not name and link:
        name = (urlsplit(link).hostname or "").removeprefix("www.")
    if not name:
        return article.date.isoformat()
    shown = escape(shorten(name, 100))
    return f"{article.date.isoformat()} · " + (f'<a href="{escape(link)}">{shown}</a>' if link else shown)


def render_hit(tr: Translations, rank: int | None, hit: Hit, passage_chars: int = PASSAGE_CHARS) -> str:
    """One hit: bold headline, date and source, the passage with matches in bold."""
    return render_article(tr, rank, [hit], passage_chars)


def render_article(
    tr: Translations,
    rank: int | None,
    hits: Sequence[Hit],
    passage_chars: int = PASSAGE_CHARS,
    compact: bool = False,
    bolds: int | None = None,
    found: int | None = None,
    spans: Callable[[str, frozenset[str], int], tuple[int, int]] = snippet_span,
    bolded: Callable[[str, frozenset[str], int | None], str] = highlight,
) -> str:
    """Hits of one article under one heading (headline, date, outlet or link once), then each passage.

    `rank` numbers the article within an answer; a shared inline result has none.
    `compact` shortens the headline and names one other telling of the story, not three.
    `bolds` bounds the question's words bolded in each passage, `found` the entities Telegram
    finds itself in the headline and in each passage (`found_end`). `spans` and `bolded` are
    `snippet_span` and `highlight`, or remembered ones when a page is rendered many times.
    """
    article = hits[0].article
    number = f"{rank}. " if rank is not None else ""
    headline = shorten(shown_headline(article), COMPACT_HEADLINE_CHARS if compact else HEADLINE_CHARS)
    lines = [f"<b>{number}{escape(within_found(headline, found))}</b>", byline(article)]
    passages = []
    for hit in hits:
        text = hit.passage.text
        start, end = spans(text, hit.matched, passage_chars)
        end = start + found_end(text[start:end], found)
        shown = bolded(text[start:end], hit.matched, bolds)
        passages.append((ELLIPSIS if start > 0 else "") + shown + (ELLIPSIS if end < len(text) else ""))
    lines.append(PASSAGE_BREAK.join(passages))
    others = {other.id: other for hit in hits for other in hit.also_reported_by}
    if others:
        names = escape(also_reported(tr, list(others.values()), most=1 if compact else 3))
        lines.append("<i>" + tr.gettext("Also reported by {sources}").format(sources=names) + "</i>")
    return "\n".join(lines)


def also_reported(tr: Translations, articles: Sequence[Article], most: int = 3) -> str:
    """`Reuters (2024-10-10), AP (2024-10-09) and 2 more`: the other tellings of a story."""
    names = [f"{shorten(a.source or shown_headline(a), 60)} ({a.date.isoformat()})" for a in articles]
    shown = ", ".join(names[:most])
    if len(names) <= most:
        return shown
    return tr.gettext("{sources} and {count} more").format(sources=shown, count=len(names) - most)


def by_article(hits: Sequence[Hit]) -> list[list[Hit]]:
    """Hits grouped by article, each article where it first ranks: a headline is shown once.

    One article saved twice (the same headline, date and outlet under two links or files)
    is one article here too.
    """
    groups: dict[tuple[str, ...], list[Hit]] = {}
    for hit in hits:
        article = hit.article
        headline = shown_headline(article)  # two headlines of bidi controls alone: two articles
        same = (same_headline(headline), article.date.isoformat(), article.source or "")
        groups.setdefault(same, []).append(hit)
    return list(groups.values())


def same_headline(headline: str) -> str:
    """What of `headline` tells one article from another: case-folded, its runs of spaces one
    space, its first `SAME_HEADLINE_CHARS` + 1 characters, read from the fewest characters
    that give them (a piece's line is the start of the whole's: case-folding looks at no
    neighbour). A megabyte's headline was case-folded and split whole for every answer."""
    return _one_line_head(headline, SAME_HEADLINE_CHARS + 1, str.casefold)


def render_answer(tr: Translations, hits: Sequence[Hit], first_rank: int | None = 1) -> str:
    """Several hits in one message, one heading per article, passages shortened until the
    whole fits Telegram's limit. `first_rank=None` leaves the headings unnumbered.

    Fewer of the question's words are bolded while the page holds more entities than
    Telegram shows (`fit_entities`): the hashtags, links and the like that Telegram finds in
    the passages itself count too, and a passage full of #tags left the last headings plain.

    A page is rendered at several passage lengths and for several bounds of entities, each
    passage's window and bolding are found once per length: found again each time, they
    were nine tenths of an answer's 16 ms (ten articles), on the bot's event loop.
    """
    groups = by_article(hits)
    spans, bolded = functools.cache(snippet_span), functools.cache(highlight)
    return fit_entities(
        lambda bolds, found: _answer_page(tr, groups, first_rank, bolds, found, spans, bolded),
        bolds_each(groups),
        per=max(1, len(hits)),
    )


def _answer_page(
    tr: Translations,
    groups: list[list[Hit]],
    first_rank: int | None,
    bolds: int,
    found: int | None,
    spans: Callable[[str, frozenset[str], int], tuple[int, int]] = snippet_span,
    bolded: Callable[[str, frozenset[str], int | None], str] = highlight,
) -> str:
    """A page whose passages bold at most `bolds` words each, and hold `found` entities Telegram
    finds itself, shortened until it fits.

    Whether it fits is summed from each article's lengths (`_Sizes`), never the joined page
    parsed again: the articles' markup is whole, tags and escapes never span two of them."""
    budget = PASSAGE_CHARS

    def rank(position: int) -> int | None:
        return None if first_rank is None else first_rank + position

    def blocks_at(budget: int, compact: bool = False) -> list[str]:
        return [
            render_article(tr, rank(i), group, budget, compact, bolds, found, spans, bolded)
            for i, group in enumerate(groups)
        ]

    while True:
        blocks = blocks_at(budget)
        if _Sizes(blocks).fit() or budget <= 100:
            break
        budget = budget * 2 // 3
    sizes = _Sizes(blocks)
    if not sizes.fit():  # long headlines and many other tellings: every article shorter, none left out
        blocks = blocks_at(budget, compact=True)
        sizes = _Sizes(blocks)
    while not sizes.fit() and len(blocks) > 1:  # only as a last resort: that article is on no page
        blocks.pop()
        sizes = sizes.without_last()
    return ARTICLE_BREAK.join(blocks)


ARTICLE_BREAK = "\n\n"


class _Sizes:
    """The lengths of articles joined by `ARTICLE_BREAK`, as `fits` measures the joined page."""

    def __init__(self, blocks: Sequence[str]) -> None:
        self.held = [held_length(block) for block in blocks]
        self.shown = [shown_length(block) for block in blocks]

    def fit(self) -> bool:
        """Whether the joined articles fit one message (`fits`)."""
        breaks = len(ARTICLE_BREAK) * max(0, len(self.held) - 1)
        return sum(self.held) + breaks <= MAX_MARKUP and sum(self.shown) + breaks <= MAX_MESSAGE

    def without_last(self) -> _Sizes:
        """The sizes without the last article."""
        fewer = _Sizes(())
        fewer.held, fewer.shown = self.held[:-1], self.shown[:-1]
        return fewer


def entity_count(markup: str) -> int:
    """How many entities Telegram makes of `markup`, at most: one a tag, and one each hashtag,
    cashtag, mention, bot command, link, email or phone number it finds in the text itself,
    counted generously (`_FOUND_BY_TELEGRAM`): one too many costs a bolded word, one too few a
    heading or a link past the `MAX_ENTITIES` Telegram shows."""
    text = html.unescape(_TAG.sub("", markup))
    return markup.count("<") - markup.count("</") + len(_FOUND_BY_TELEGRAM.findall(text))


def fit_entities(
    render: Callable[[int, int | None], str],
    marks: int,
    carried: Callable[[str], int] | None = None,
    per: int = 1,
) -> str:
    """`render(marks, found)` within the `MAX_ENTITIES` Telegram shows (`entity_count`): the one
    place that bound is kept for a text that formats what its reader can go without.

    `marks` is how many of those formats the text may carry: the question's words bolded in
    each of `per` passages, headlines in bold, topics in italics. Past the bound, fewer are
    asked for, as many fewer as the entities over (shared by the `per` passages), counted from
    those the text `carried` if it says so (fewer than asked), until none are left.

    Then `found` (None while every text is whole), how many of the entities Telegram finds
    itself each of its texts keeps (a passage's, an event's or a headline's, cut before the
    next: `found_end`), is the most that fit: a passage or an event of a hundred #tags, past
    the bound on its own, pushed what came after it (the next days' headings, an alert's link
    and /following) out of what is shown.
    """
    while True:
        text = render(marks, None)  # texts whole
        over = entity_count(text) - MAX_ENTITIES
        if over <= 0:
            return text
        if marks == 0:
            break
        marks = max(0, (min(marks, carried(text)) if carried else marks) - -(-over // per))
    low, high, text = 0, MAX_ENTITIES - 1, render(0, 0)  # sent as it is if even that is over
    while low <= high:
        middle = (low + high) // 2
        cut = render(0, middle)
        if entity_count(cut) <= MAX_ENTITIES:
            text, low = cut, middle + 1
        else:
            high = middle - 1
    return text


def found_end(text: str, most: int | None) -> int:
    """Where `text` ends to hold at most `most` of the entities Telegram finds in a text itself
    (`_FOUND_BY_TELEGRAM`): before the next, without the spaces before it; all of it if it
    holds no more, or `most` is None."""
    if most is None:
        return len(text)
    past = next(itertools.islice(_FOUND_BY_TELEGRAM.finditer(text), most, None), None)
    return len(text) if past is None else len(text[: past.start()].rstrip())


def within_found(text: str, most: int | None) -> str:
    """`text` holding at most `most` of the entities Telegram finds itself, cut with an ellipsis."""
    end = found_end(text, most)
    return text if end == len(text) else text[:end] + ELLIPSIS


def bolds_each(groups: Sequence[Sequence[Hit]]) -> int:
    """How many of the question's words each passage may bold, so that the headings, links and
    other tellings, which come first, stay within the entities Telegram shows (`MAX_ENTITIES`)."""
    frame = sum(
        1 + byline(group[0].article).count("<a ") + any(hit.also_reported_by for hit in group)
        for group in groups
    )
    return max(0, MAX_ENTITIES - frame) // max(1, sum(map(len, groups)))


def lead(article: Article) -> Hit:
    """An article as a hit on the start of its first paragraph: what sharing an article
    without a question shows. Only as much as no message shows more of (`LEAD_CHARS`)."""
    text = (article.paragraphs[0] if article.paragraphs else article.headline)[:LEAD_CHARS]
    return Hit(Passage(article.id, 0, 0, len(text), text), article, 0.0, frozenset())


def shown_headline(article: Article) -> str:
    """The headline as every reply, alert and the command line show it; the article's first
    words (else its date) for a headline of bidi controls alone, which are left out as
    everywhere: it would show as nothing, an answer's bold heading empty, an inline result's
    title refused (Telegram refuses a whole list for one empty title), a timeline's source
    unnamed. The one place that rule lives: a timeline's events take it from here too
    (`state.published_by`)."""
    for text in (article.headline, *article.paragraphs[:1]):
        if shows(text[:LEAD_CHARS]):  # never the whole of a megabyte's paragraph, nor read whole
            if text is article.headline:
                return text
            return shorten(" ".join(text[:LEAD_CHARS].split()), HEADLINE_CHARS)  # a headline's length
    return article.date.isoformat()


def shows(text: str) -> bool:
    """Whether `text` shows anything: a character that is no space, no control or format
    character (bidi controls, left out of what is shown; zero-width spaces and joiners,
    direction marks, soft hyphens) and no blank character (`_BLANK`)."""
    return any(
        not char.isspace() and char not in _BLANK and unicodedata.category(char) not in ("Cc", "Cf")
        for char in text
    )


def inline_title(article: Article) -> str:
    """An inline result's title: the headline (`shown_headline`), plain text, one line."""
    return shorten(_one_line_head(shown_headline(article), TITLE_CHARS + 1), TITLE_CHARS)


def inline_description(hit: Hit) -> str:
    """An inline result's description: `2024-10-23 · ` and the passage's best sentence, plain text."""
    text = hit.passage.text
    room = DESCRIPTION_CHARS - 13  # the date and its separator
    start, end = snippet_span(text, hit.matched, room)
    snippet = " ".join(text[start:end].split())
    shown = (ELLIPSIS if start > 0 else "") + shorten(snippet, room - 2)
    return f"{hit.article.date.isoformat()} · {shown}"


def render_no_match(tr: Translations, question: str, searchable: bool) -> str:
    """Say that nothing was found and why (no searchable word, or no passage with one), and what to try."""
    why = (
        tr.gettext("no passage contains any of its words")
        if searchable
        else tr.gettext("the question has no searchable words, only stop words or symbols")
    )
    asked = f"<i>{escape(shorten(question.strip(), 200))}</i>"
    found = (  # a question that shows nothing (bidi controls alone) is no echo: not an empty <i></i>
        tr.gettext("I found nothing for {question} ({why}).").format(question=asked, why=why)
        if shows(question)
        else tr.gettext("I found nothing ({why}).").format(why=why)
    )
    return "\n".join(
        [
            found,
            tr.gettext("Try other words (names, places, what happened), or /latest for the newest articles."),
        ]
    )


def render_no_articles(tr: Translations, admin: bool) -> str:
    """The reply to a question, /latest or /timeline while the bot holds no article (started on
    an empty corpus folder); an `admin` is told how to add some."""
    return "\n\n".join([tr.gettext(NO_ARTICLES)] + ([tr.gettext(HOW_TO_ADD)] if admin else []))


def render_latest(tr: Translations, articles: Sequence[Article]) -> str:
    """The newest articles, one line each: date and headline; as many as fit, then a count of the rest
    (twenty headlines of 300 characters are half as long again as a message)."""
    if not articles:
        return tr.gettext("The corpus has no articles yet.")
    count = len(articles)
    title = tr.ngettext("The newest article", "The {count} newest articles", count).format(count=count)
    lines = [f"<b>{title}</b>"]
    for article in articles:
        lines.append(
            f"{article.date.isoformat()} · {escape(shorten(shown_headline(article), HEADLINE_CHARS))}"
        )
    return fit_lines(tr, lines)


def event_date(tr: Translations, event: Event) -> str:
    """`2024-10-16`, `week of 2024-10-14`, `2022-03` or `2022`: as precise as the source."""
    if event.precision == "week":
        return tr.gettext("week of {date}").format(date=event.date.isoformat())
    return format_event_date(event)


def is_headline(event: Event) -> bool:
    """Whether the event is its article's own headline, on its publication day."""
    return event.sentence == " ".join(event.headline.split()) and event.date == event.published


def render_timeline(tr: Translations, events: Sequence[Event], topic: str | None) -> str:
    """Events newest first, grouped by day; each source named once, whole events left out to
    fit and counted ("… and 5 more."), so that a reader who asked for 30 knows why fewer came.

    An article's headline is an event of its publication day: shown there (marked 📰) it
    names its source, and the article's other events point to it with `[n]`. Sources not
    named that way are listed once at the end. An article whose one event is its headline
    needs no number, and with a single source there are none.

    Within the entities Telegram shows (`fit_entities`), as an answer is: headlines full of
    #tags pushed the last days' headings and sources past the 100, shown plain. The last
    headlines lose their bold first (📰 marks them still), then each event keeps only the #tags
    and the like that fit, cut with an ellipsis; no event is left out for it.
    """
    shown_topic = f"<i>{escape(shorten(topic, 100))}</i>" if topic else ""
    if not events and topic:
        nothing = tr.gettext("No dated events about {topic}. Try other words, or /timeline without a topic.")
        return nothing.format(topic=shown_topic)
    if not events:
        return tr.gettext("The corpus holds no dated events yet.")
    title = tr.gettext("Timeline")
    header = f"<b>{title}: {shown_topic}</b>" if topic else f"<b>{title}</b>"

    def timeline(bolds: int, found: int | None) -> str:
        """As many of the events as fit, from all of them at each call: cut to fewer #tags,
        all may fit where the whole texts did not. One at a time from the last, not by
        halving: one more event may make the text shorter (an article's headline shown
        after its other event of the day takes the place of its longer source line)."""
        shown = list(events)
        text = _timeline_text(tr, header, shown, 0, bolds, found)
        while not fits(text) and len(shown) > 1:
            shown.pop()
            text = _timeline_text(tr, header, shown, len(events) - len(shown), bolds, found)
        return text

    return fit_entities(timeline, len(events), lambda text: text.count("📰 <b>"))  # the last headlines' first


def _timeline_text(
    tr: Translations, header: str, events: Sequence[Event], left_out: int, bolds: int, found: int | None
) -> str:
    """The timeline of `events`, the first `bolds` headlines among them in bold, each event and
    source holding at most `found` entities Telegram finds itself."""
    named_inline = {event.article_id for event in events if is_headline(event)}
    counts = Counter(event.article_id for event in events)
    numbers: dict[str, int] = {}
    if len(counts) > 1:
        for event in events:
            if counts[event.article_id] > 1 or event.article_id not in named_inline:
                numbers.setdefault(event.article_id, len(numbers) + 1)
    lines, day = [header], None
    for event in events:
        label = event_date(tr, event)
        if label != day:
            lines += ["", f"<b>{label}</b>"]
            day = label
        mark = f" [{numbers[event.article_id]}]" if event.article_id in numbers else ""
        if is_headline(event):
            headline = escape(within_found(shorten(event.sentence, HEADLINE_CHARS), found))
            lines.append(f"📰 <b>{headline}</b>{mark}" if bolds > 0 else f"📰 {headline}{mark}")
            bolds -= 1
        else:
            lines.append(f"• {escape(within_found(event.sentence, found))}{mark}")
    if left_out:
        lines += ["", tr.gettext("… and {count} more.").format(count=left_out)]
    unnamed = [event for event in _first_of_each(events) if event.article_id not in named_inline]
    if unnamed:
        lines.append("")
    for event in unnamed:
        headline = escape(within_found(shorten(event.headline, TIMELINE_SOURCE_CHARS), found))
        source = f"{headline}, {event.published.isoformat()}"
        if event.article_id in numbers:
            lines.append(f"<i>[{numbers[event.article_id]}] {source}</i>")
        else:
            lines.append("<i>" + tr.gettext("Source: {source}").format(source=source) + "</i>")
    return "\n".join(lines)


def _first_of_each(events: Sequence[Event]) -> list[Event]:
    """One event per article, in the order the articles first appear."""
    return list({event.article_id: event for event in reversed(events)}.values())[::-1]


def render_help(
    tr: Translations,
    example: str | None,
    commands: Sequence[tuple[str, str]],
    articles: int,
    inline_username: str | None = None,
    admin: bool = False,
) -> str:
    """What the bot does, how to ask, its commands, and an example from the current corpus.

    `commands` are (name, description) with the description in English, the catalog's id.
    `inline_username` is the bot's name when inline mode is on. With no article yet, it says
    so, and tells an `admin` how to add some.
    """
    if not articles:
        lines = [tr.gettext(NO_ARTICLES_HELP), ""] + ([tr.gettext(HOW_TO_ADD), ""] if admin else [])
    else:
        lines = [
            tr.ngettext(
                "I answer questions about the {count} news article I hold, with the passage that answers, "
                "its headline and its date. Just send me a question in words.",
                "I answer questions about the {count} news articles I hold, with the passage that answers, "
                "its headline and its date. Just send me a question in words.",
                articles,
            ).format(count=articles),
            "",
        ]
    if example:
        lines += [tr.gettext("For example: {question}").format(question=f"<i>{escape(example)}</i>"), ""]
    if inline_username:
        lines += [
            tr.gettext("In any chat, type {bot} and a question to share an answer there.").format(
                bot=f"@{escape(inline_username)}"
            ),
            "",
        ]
    lines += [f"/{name} – {escape(tr.gettext(description))}" for name, description in commands]
    return "\n".join(lines)


def render_reload(
    tr: Translations, before: tuple[int, int], after: tuple[int, int], report: LoadReport
) -> str:
    """Counts before and after a reload, and the files that could not be loaded."""
    title = tr.gettext("Corpus reloaded.")  # outside the f-string, where the catalogs' extractor finds it
    lines = [
        f"<b>{title}</b>",
        tr.gettext("Articles: {before} → {after}").format(before=before[0], after=after[0]),
        tr.gettext("Passages: {before} → {after}").format(before=before[1], after=after[1]),
    ]
    lines += _problems(tr, report)
    return fit_lines(tr, lines)


def render_reload_failed(tr: Translations, reason: str, serving: tuple[int, int]) -> str:
    """Why a reload failed, and that the old corpus still serves."""
    articles = tr.ngettext("{count} article", "{count} articles", serving[0]).format(count=serving[0])
    passages = tr.ngettext("{count} passage", "{count} passages", serving[1]).format(count=serving[1])
    return fit_lines(
        tr,
        [
            tr.gettext(
                "<b>Reload failed</b>; still serving the previous corpus ({articles}, {passages})."
            ).format(articles=articles, passages=passages),
            tr.gettext("Reason: {reason}").format(reason=escape(shorten(reason, 1000))),
        ],
    )


def _problems(tr: Translations, report: LoadReport) -> list[str]:
    """The first few problems and how many more: read at a glance, and as quick to build for
    30,000 problems as for three (`newsbot stats` lists every one)."""
    count = len(report.problems)
    if not count:
        return [tr.gettext("No problems found.")]
    lines = [
        tr.ngettext(
            "{count:,} file or line could not be loaded:",
            "{count:,} files or lines could not be loaded:",
            count,
        ).format(count=count)
    ]
    shown = report.problems[:PROBLEMS_SHOWN]
    lines += [f"• {_escaped_within(problem_told(problem, tr), 600)}" for problem in shown]
    if count > PROBLEMS_SHOWN:
        lines.append(
            tr.gettext("… and {count:,} more; <code>newsbot stats</code> lists them all.").format(
                count=count - PROBLEMS_SHOWN
            )
        )
    return lines


def _escaped_within(text: str, limit: int) -> str:
    """`text` shortened and escaped into at most `limit` characters: escaping may grow it six-fold."""
    shown = shorten(text, limit // 2)
    while len(escape(shown)) > limit:
        shown = shorten(shown, len(shown) // 2)
    return escape(shown)


def fit_lines(tr: Translations, lines: list[str], entities: bool = False, unread: int = 0) -> str:
    """Join lines, dropping the tail (with a count of what was left out) past the limit, and
    with `entities` past the `MAX_ENTITIES` Telegram shows too (`entity_count`); `unread` more
    lines, never made, are counted as left out whatever fits.

    Measured as Telegram measures it, the text its reader sees (`shown_length`): measured
    escaped, a list of headlines full of `&` or `<` (five and four characters each) lost
    most of its lines. A list's links are few and short, so its markup stays far within
    `MAX_MARKUP`. One pass over the lines' lengths, so that a long list costs no more than
    reading it.
    """
    text = "\n".join(lines)
    if (
        not unread
        and shown_length(text) <= MAX_MESSAGE
        and not (entities and entity_count(text) > MAX_ENTITIES)
    ):
        return text

    def more(count: int) -> str:
        return tr.gettext("… and {count} more.").format(count=count)

    ends = list(accumulate(shown_length(line) + 1 for line in lines))  # each with its newline
    found = list(accumulate(entity_count(line) if entities else 0 for line in lines))  # none span lines
    kept = next(
        (
            kept
            for kept in range(len(lines) if unread else len(lines) - 1, 1, -1)
            if ends[kept - 1] + shown_length(more(len(lines) - kept + unread)) <= MAX_MESSAGE
            and found[kept - 1] <= MAX_ENTITIES
        ),
        1,
    )
    return "\n".join([*lines[:kept], more(len(lines) - kept + unread)])

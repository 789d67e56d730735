"""Hits, articles and reports -> Telegram HTML. Pure functions, no I/O.

Everything that comes from the corpus or from a user is escaped here and only here, and
every text is measured the way Telegram measures it (UTF-16 code units) against its
4,096 limit, so a reply is never refused for its size.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from itertools import accumulate

from retrieval import Article, Event, Hit, LoadReport, format_event_date, matched_spans
from retrieval.snippets import snippet_span

MAX_MESSAGE = 4096
PASSAGE_CHARS = 700
HEADLINE_CHARS = 300
URL_CHARS = 500
ELLIPSIS = "…"
PROBLEMS_SHOWN = 5


def telegram_length(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def escape(text: str) -> str:
    """Escape text for Telegram's HTML parse mode (`<`, `>`, `&`; quotes too, for attributes)."""
    return html.escape(text, quote=True)


def shorten(text: str, limit: int) -> str:
    """Cut plain text at a word boundary, with an ellipsis, when longer than `limit`."""
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > limit // 2 else limit].rstrip() + ELLIPSIS


def highlight(text: str, terms: frozenset[str]) -> str:
    """Escape `text` and wrap the words whose term is in `terms` in `<b>`."""
    pieces, last = [], 0
    for start, end in matched_spans(text, terms):
        pieces += [escape(text[last:start]), "<b>", escape(text[start:end]), "</b>"]
        last = end
    return "".join(pieces) + escape(text[last:])


def render_hit(rank: int, hit: Hit, passage_chars: int = PASSAGE_CHARS) -> str:
    """One hit: bold headline, date and source, the passage with matches in bold, the link."""
    return render_article(rank, [hit], passage_chars)


def render_article(rank: int, hits: Sequence[Hit], passage_chars: int = PASSAGE_CHARS) -> str:
    """Hits of one article under one heading: headline, date and source once, then each passage."""
    article = hits[0].article
    byline = article.date.isoformat() + (
        f" · {escape(shorten(article.source, 100))}" if article.source else ""
    )
    lines = [f"<b>{rank}. {escape(shorten(article.headline, HEADLINE_CHARS))}</b>", byline]
    for hit in hits:
        text = hit.passage.text
        start, end = snippet_span(text, hit.matched, passage_chars)
        shown = highlight(text[start:end], hit.matched)
        lines.append((ELLIPSIS if start > 0 else "") + shown + (ELLIPSIS if end < len(text) else ""))
    if article.url and len(article.url) <= URL_CHARS:
        lines.append(f'<a href="{escape(article.url)}">{escape(shorten(article.url, 80))}</a>')
    others = {other.id: other for hit in hits for other in hit.also_reported_by}
    if others:
        lines.append(f"<i>Also reported by {escape(also_reported(list(others.values())))}</i>")
    return "\n".join(lines)


def also_reported(articles: Sequence[Article], most: int = 3) -> str:
    """`Reuters (2024-10-10), AP (2024-10-09) and 2 more`: the other tellings of a story."""
    names = [f"{shorten(a.source or a.headline, 60)} ({a.date.isoformat()})" for a in articles]
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def by_article(hits: Sequence[Hit]) -> list[list[Hit]]:
    """Hits grouped by article, each article where it first ranks: a headline is shown once."""
    groups: dict[str, list[Hit]] = {}
    for hit in hits:
        groups.setdefault(hit.article.id, []).append(hit)
    return list(groups.values())


def render_answer(hits: Sequence[Hit], first_rank: int = 1) -> str:
    """Several hits in one message, one heading per article, passages shortened until the
    whole fits Telegram's limit."""
    budget = PASSAGE_CHARS
    groups = by_article(hits)
    while True:
        blocks = [render_article(first_rank + i, group, budget) for i, group in enumerate(groups)]
        text = "\n\n".join(blocks)
        if telegram_length(text) <= MAX_MESSAGE or budget <= 100:
            break
        budget = budget * 2 // 3
    while telegram_length(text) > MAX_MESSAGE and len(blocks) > 1:
        blocks.pop()
        text = "\n\n".join(blocks)
    return text


def render_no_match(question: str, reason: str | None) -> str:
    """Say that nothing was found, and what to try instead."""
    why = f" ({escape(reason)})" if reason else ""
    return (
        f"I found nothing for <i>{escape(shorten(question.strip(), 200))}</i>{why}.\n"
        "Try other words (names, places, what happened), or /latest for the newest articles."
    )


def render_latest(articles: Sequence[Article]) -> str:
    """The newest articles, one line each: date and headline."""
    if not articles:
        return "The corpus has no articles yet."
    lines = [f"<b>Latest {len(articles)} articles</b>"]
    for article in articles:
        lines.append(f"{article.date.isoformat()} · {escape(shorten(article.headline, HEADLINE_CHARS))}")
    return "\n".join(lines)


def render_timeline(events: Sequence[Event], topic: str | None) -> str:
    """Events newest first, one line each; whole events are left out rather than a line cut."""
    about = f" about <i>{escape(shorten(topic, 100))}</i>" if topic else ""
    if not events:
        return f"No dated events{about} in the corpus. Try other words, or /timeline without a topic."
    lines = [f"<b>Timeline{about}</b>"]
    for event in events:
        source = f"{escape(shorten(event.headline, 120))}, {event.published.isoformat()}"
        line = f"<b>{format_event_date(event)}</b> {escape(event.sentence)} <i>({source})</i>"
        if telegram_length("\n".join([*lines, line])) > MAX_MESSAGE:
            break
        lines.append(line)
    return "\n".join(lines)


def render_help(example: str | None, commands: Sequence[tuple[str, str]]) -> str:
    """What the bot does, how to ask, its commands and an example from the current corpus."""
    lines = [
        "I answer questions about the news articles I hold, with the passage that answers,",
        "its headline and its date. Just send me a question in words.",
        "",
    ]
    if example:
        lines += [f"For example: <i>{escape(example)}</i>", ""]
    lines += [f"/{name} – {escape(description)}" for name, description in commands]
    return "\n".join(lines)


def render_reload(before: tuple[int, int], after: tuple[int, int], report: LoadReport) -> str:
    """Counts before and after a reload, and the files that could not be loaded."""
    lines = [
        "<b>Corpus reloaded.</b>",
        f"Articles: {before[0]} → {after[0]}",
        f"Passages: {before[1]} → {after[1]}",
    ]
    lines += _problems(report)
    return _fit_lines(lines)


def render_reload_failed(reason: str, serving: tuple[int, int]) -> str:
    """Why a reload failed, and that the old corpus still serves."""
    return _fit_lines(
        [
            "<b>Reload failed</b>; still serving the previous corpus "
            f"({serving[0]} articles, {serving[1]} passages).",
            f"Reason: {escape(shorten(reason, 1000))}",
        ]
    )


def _problems(report: LoadReport) -> list[str]:
    """The first few problems and how many more: read at a glance, and as quick to build for
    30,000 problems as for three (`newsbot stats` lists every one)."""
    count = len(report.problems)
    if not count:
        return ["No problems found."]
    lines = [f"{count:,} file(s) or line(s) could not be loaded:"]
    lines += [f"• {_escaped_within(str(problem), 600)}" for problem in report.problems[:PROBLEMS_SHOWN]]
    if count > PROBLEMS_SHOWN:
        lines.append(f"… and {count - PROBLEMS_SHOWN:,} more; <code>newsbot stats</code> lists them all.")
    return lines


def _escaped_within(text: str, limit: int) -> str:
    """`text` shortened and escaped into at most `limit` units: escaping may grow it six-fold."""
    shown = shorten(text, limit // 2)
    while telegram_length(escape(shown)) > limit:
        shown = shorten(shown, len(shown) // 2)
    return escape(shown)


def _fit_lines(lines: list[str]) -> str:
    """Join lines, dropping the tail (with a count of what was left out) past the limit.

    One pass over the lines' lengths, so that a long list costs no more than reading it.
    """
    text = "\n".join(lines)
    if telegram_length(text) <= MAX_MESSAGE:
        return text
    ends = list(accumulate(telegram_length(line) + 1 for line in lines))  # each with its newline
    kept = next(
        (
            kept
            for kept in range(len(lines) - 1, 1, -1)
            if ends[kept - 1] + telegram_length(f"… and {len(lines) - kept} more.") <= MAX_MESSAGE
        ),
        1,
    )
    return "\n".join([*lines[:kept], f"… and {len(lines) - kept} more."])

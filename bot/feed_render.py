"""Feeds, topics and alerts -> Telegram HTML. Pure functions, no I/O.

Escaping, highlighting and the 4,096-character bound come from `render`, as for answers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from retrieval.snippets import snippet_span

from .render import ELLIPSIS, HEADLINE_CHARS, URL_CHARS, _fit_lines, escape, highlight, shorten
from .statedb import FeedRow, PendingAlert, SavedArticle, TopicRow

ALERT_PASSAGE_CHARS = 500


def render_alert(alert: PendingAlert) -> str:
    """One alert: the headline, its date, the best passage for the topic, the link."""
    text = alert.passage
    start, end = snippet_span(text, alert.terms, ALERT_PASSAGE_CHARS)
    shown = (ELLIPSIS if start else "") + highlight(text[start:end], alert.terms)
    shown += ELLIPSIS if end < len(text) else ""
    return "\n".join(
        [
            f"<b>{escape(shorten(alert.title, HEADLINE_CHARS))}</b>",
            alert.date.isoformat(),
            shown,
            escape(shorten(alert.url, URL_CHARS)),
            f"<i>You follow: {escape(shorten(alert.topic, 100))}</i> · /following",
        ]
    )


def render_digest(alerts: Sequence[PendingAlert]) -> str:
    """Alerts past the hourly limit, one line each, in one message."""
    lines = [f"<b>{len(alerts)} more new articles on your topics</b>"]
    for alert in alerts:
        lines.append(
            f"• {escape(shorten(alert.title, 150))} ({alert.date.isoformat()}), "
            f"on <i>{escape(shorten(alert.topic, 60))}</i>\n  {escape(shorten(alert.url, URL_CHARS))}"
        )
    return _fit_lines(lines)


def render_topics(topics: Sequence[TopicRow], limit: int) -> str:
    """A user's topics, numbered for /unfollow."""
    if not topics:
        return "You follow no topic. Send /follow and a few words, e.g. <code>/follow grain exports</code>."
    lines = [f"<b>You follow {len(topics)} of at most {limit} topics:</b>"]
    lines += [f"{number}. {escape(topic.words)}" for number, topic in enumerate(topics, start=1)]
    lines.append("Stop one with /unfollow N.")
    return _fit_lines(lines)


def render_feeds(feeds: Sequence[FeedRow], interval: int) -> str:
    """The feeds, numbered for /feeds remove, with their health."""
    if not feeds:
        return "No feeds yet. Add one with <code>/feeds add URL</code>."
    every = f"every {interval} minutes" if interval else "by `newsbot fetch` only (FEED_INTERVAL=0)"
    lines = [f"<b>{len(feeds)} feeds</b>, read {every}:"]
    for number, feed in enumerate(feeds, start=1):
        title = escape(shorten(feed.title or feed.name, 80))
        lines.append(
            f"{number}. <b>{title}</b> · {feed.articles} articles in feeds/{escape(feed.name)}/\n"
            f"   {escape(shorten(feed.url, URL_CHARS))}\n   {feed_health(feed)}"
        )
    return _fit_lines(lines)


def feed_health(feed: FeedRow) -> str:
    """`ok, read 2024-05-03 10:15 UTC`, or the last error and since how many rounds."""
    if feed.error:
        rounds = f"{feed.failures} round{'s' if feed.failures != 1 else ''}"
        return f"failing, {rounds} in a row: {escape(shorten(feed.error, 200))}"
    if feed.ok_at is None:
        return "not read yet"
    return f"ok, read {_when(feed.ok_at)}"


def render_added(article: SavedArticle, outcome: str) -> str:
    """The reply to /add: what was saved, or which article it already was."""
    head = {
        "saved": "Added and indexed:",
        "seen": "I have that link already:",
        "duplicate": "I have that article already, from another link:",
    }[outcome]
    return (
        f"{head}\n<b>{escape(shorten(article.title, HEADLINE_CHARS))}</b>\n"
        f"{article.date.isoformat()} · <code>{escape(article.path)}</code>"
    )


def _when(moment: float) -> str:
    return dt.datetime.fromtimestamp(moment, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")

"""Feeds, topics and alerts -> Telegram HTML. Pure functions, no I/O.

Escaping, highlighting and the 4,096-character bound come from `render`, as for answers,
and the words around them from the reader's catalog (`i18n`). Alerts are sent without a
reader's message to take a language from: they get the one the state file kept from the
reader's last topic command, English unless given one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from retrieval.snippets import snippet_span

from .i18n import ENGLISH, Translations, told_record
from .links import shown_url
from .render import (
    ELLIPSIS,
    HEADLINE_CHARS,
    MAX_ENTITIES,
    MAX_MESSAGE,
    URL_CHARS,
    escape,
    fit_entities,
    fit_lines,
    found_end,
    highlight,
    shorten,
    within_found,
)
from .statedb import FeedRow, PendingAlert, SavedArticle, TopicRow

ALERT_PASSAGE_CHARS = 500
DIGEST_LINES = MAX_MESSAGE // len("• 2024-10-24\n")
"""No digest shows more alerts than this: each line holds its bullet and date at least. A
reader's others are counted, not read (`deliver`)."""
FEED_TITLE_CHARS = 80


def render_alert(alert: PendingAlert, tr: Translations = ENGLISH) -> str:
    """One alert: the headline, its date (and the outlet a file dropped in names), the best
    passage for the topic, the link if it has one.

    The topic's words are bolded only as far as the alert stays within the entities Telegram
    shows (`fit_entities`): the link it finds in the URL and the `/following` after the passage
    come last, and the hashtags and the like in the passage count too; past the 100, the
    link was plain text and `/following` no command."""
    return fit_entities(
        lambda most, found: _alert_text(alert, tr, most, found),
        MAX_ENTITIES,
        lambda text: text.count("<b>") - 1,  # the headline's bold is no word
    )


def _alert_text(alert: PendingAlert, tr: Translations, most: int, found: int | None) -> str:
    """An alert that bolds at most `most` of the topic's words, its headline and passage holding
    at most `found` entities Telegram finds itself each."""
    text = alert.passage
    start, end = snippet_span(text, alert.terms, ALERT_PASSAGE_CHARS)
    end = start + found_end(text[start:end], found)
    shown = (ELLIPSIS if start else "") + highlight(text[start:end], alert.terms, most)
    shown += ELLIPSIS if end < len(text) else ""
    link = [escape(shorten(alert.url, URL_CHARS))] if alert.url else []  # a feed item may have none
    return "\n".join(
        [
            f"<b>{escape(within_found(shorten(alert.title, HEADLINE_CHARS), found))}</b>",
            _dated(alert, 100),
            shown,
            *link,
            "<i>"
            + tr.gettext("You follow: {topic}").format(topic=escape(shorten(alert.topic, 100)))
            + "</i> · /following",
        ]
    )


def render_digest(alerts: Sequence[PendingAlert], tr: Translations = ENGLISH, unread: int = 0) -> str:
    """Alerts past the hourly limit, one line each, in one message, and the `unread` ones
    after them counted (`DIGEST_LINES`).

    Within the entities Telegram shows (`fit_entities`): each line's topic in italics and its
    link count, and so do the #tags and the like in its headline; past the 100, the last
    links were plain text. The last topics lose their italics first, then the last lines are
    left out and counted, as those past the length are: each link sent is a link."""
    return fit_entities(
        lambda italics, _found: fit_lines(
            tr, _digest_lines(alerts, tr, italics, len(alerts) + unread), entities=italics == 0, unread=unread
        ),
        len(alerts),
        lambda text: text.count("<i>"),
    )


def _digest_lines(alerts: Sequence[PendingAlert], tr: Translations, italics: int, count: int) -> list[str]:
    """A digest's lines, the first `italics` of them with their topic in italics, under a title
    that counts `count` alerts."""
    title = tr.ngettext(
        "{count} more new article on your topics", "{count} more new articles on your topics", count
    ).format(count=count)
    lines = [f"<b>{title}</b>"]
    for number, alert in enumerate(alerts):
        topic = escape(shorten(alert.topic, 60))
        on_topic = tr.gettext("{headline} ({date}), on {topic}").format(
            headline=escape(shorten(alert.title, 150)),
            date=_dated(alert, 60),
            topic=f"<i>{topic}</i>" if number < italics else topic,
        )
        link = f"\n  {escape(shorten(alert.url, URL_CHARS))}" if alert.url else ""
        lines.append(f"• {on_topic}{link}")
    return lines


def _dated(alert: PendingAlert, outlet_chars: int) -> str:
    """`2024-10-24`, or `2024-10-24 · Outlet` when its article names one: a file dropped in
    may have no link to tell where it comes from."""
    if not alert.source:
        return alert.date.isoformat()
    return f"{alert.date.isoformat()} · {escape(shorten(alert.source, outlet_chars))}"


def render_topics(tr: Translations, topics: Sequence[TopicRow], limit: int) -> str:
    """A user's topics, numbered for /unfollow."""
    if not topics:
        return tr.gettext(
            "You follow no topic. Send /follow and a few words, e.g. <code>/follow grain exports</code>."
        )
    title = tr.ngettext(
        "You follow {count} of at most {limit} topic:",
        "You follow {count} of at most {limit} topics:",
        limit,
    ).format(count=len(topics), limit=limit)
    lines = [f"<b>{title}</b>"]
    lines += [f"{number}. {escape(topic.words)}" for number, topic in enumerate(topics, start=1)]
    lines.append(tr.gettext("Stop one with /unfollow N."))
    return fit_lines(tr, lines)


def render_feeds(tr: Translations, feeds: Sequence[FeedRow], interval: int) -> str:
    """The feeds, numbered for /feeds remove, with their health."""
    if not feeds:
        return tr.gettext("No feeds yet. Add one with <code>/feeds add URL</code>.")
    count = len(feeds)
    if interval:
        title = tr.ngettext(
            "<b>{count} feed</b>, read every {minutes} minutes:",
            "<b>{count} feeds</b>, read every {minutes} minutes:",
            count,
        ).format(count=count, minutes=interval)
    else:
        title = tr.ngettext(
            "<b>{count} feed</b>, read by `newsbot fetch` only (FEED_INTERVAL=0):",
            "<b>{count} feeds</b>, read by `newsbot fetch` only (FEED_INTERVAL=0):",
            count,
        ).format(count=count)
    lines = [title]
    for number, feed in enumerate(feeds, start=1):
        title = escape(feed_title(feed))
        articles = tr.ngettext(
            "{count} article in {folder}", "{count} articles in {folder}", feed.articles
        ).format(count=feed.articles, folder=f"feeds/{escape(feed.name)}/")
        lines.append(
            f"{number}. <b>{title}</b> · {articles}\n"
            f"   {escape(shorten(shown_url(feed.url), URL_CHARS))}\n   {feed_health(feed, tr)}"
        )
    return fit_lines(tr, lines)


def feed_title(feed: FeedRow) -> str:
    """A feed's title as replies name it, plain text: a feed's publisher may title it with pages."""
    return shorten(feed.title or feed.name, FEED_TITLE_CHARS)


def feed_health(feed: FeedRow, tr: Translations = ENGLISH) -> str:
    """`ok, read 2024-05-03 10:15 UTC` (and the older items past `FEED_MAX_ITEMS` it left unread,
    and the malformed XML it read past), or the last error and since how many rounds (also for
    the CLI)."""
    if feed.error:
        return tr.ngettext(
            "failing, {count} round in a row: {error}",
            "failing, {count} rounds in a row: {error}",
            feed.failures,
        ).format(count=feed.failures, error=escape(shorten(last_error(feed, tr), 200)))
    if feed.ok_at is None:
        return tr.gettext("not read yet")
    health = [tr.gettext("ok, read {when}").format(when=_when(feed.ok_at))]
    if feed.unread:
        health.append(
            tr.ngettext(
                "{count} older item left unread (FEED_MAX_ITEMS)",
                "{count} older items left unread (FEED_MAX_ITEMS)",
                feed.unread,
            ).format(count=feed.unread)
        )
    if feed.problem:  # its items read as far as they could be: the publisher may want to know
        health.append(
            tr.gettext("read despite malformed XML ({problem})").format(
                problem=escape(shorten(feed.problem, 200))
            )
        )
    return " · ".join(health)


def render_feed_notices(tr: Translations, feeds: Sequence[FeedRow]) -> str:
    """What each admin is told of feeds failing round after round (`error` set) or reading
    again: one message for all, as a network gone down fails every feed at once."""
    lines = []
    for feed in feeds:
        name = escape(feed_title(feed))
        if feed.error is None:
            lines.append(tr.gettext("✅ The feed <b>{feed}</b> reads again.").format(feed=name))
            continue
        lines.append(
            tr.ngettext(
                "⚠️ The feed <b>{feed}</b> failed {count} round in a row: {error}",
                "⚠️ The feed <b>{feed}</b> failed {count} rounds in a row: {error}",
                feed.failures,
            ).format(feed=name, count=feed.failures, error=escape(shorten(last_error(feed, tr), 200)))
        )
    if any(feed.error is not None for feed in feeds):
        lines.append(tr.gettext("/feeds shows every feed's health; I tell you when each reads again."))
    return fit_lines(tr, lines)


def last_error(feed: FeedRow, tr: Translations) -> str:
    """A failing feed's last error in the language of `tr` where it is an interface text."""
    told = told_record(feed.reason, tr) if feed.reason else None
    return told or feed.error or ""


def render_added(tr: Translations, article: SavedArticle, outcome: str) -> str:
    """The reply to /add: what was saved, or which article it already was."""
    head = {
        "saved": tr.gettext("Added and indexed:"),
        "unindexed": tr.gettext(
            "Saved, but indexing it failed (see the bot's log); I try again within a minute:"
        ),
        "seen": tr.gettext("I have that link already:"),
        "duplicate": tr.gettext("I have that article already, from another link:"),
    }[outcome]
    return (
        f"{head}\n<b>{escape(shorten(article.title, HEADLINE_CHARS))}</b>\n"
        f"{article.date.isoformat()} · <code>{escape(article.path)}</code>"
    )


def _when(moment: float) -> str:
    return dt.datetime.fromtimestamp(moment, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")

"""Articles -> a timeline of dated events, newest first, optionally on a topic.

An event is a sentence anchored to a date (see `dates`), plus each article's headline on
its publication day. When two articles tell the same event (same date, near-identical
sentence) it is listed once, from the newer source.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from .analyzer import analyze
from .dates import anchor_date, might_hold_date
from .models import Article, Event, Precision
from .sentences import sentence_spans
from .stories import similarity

__all__ = ["MAX_SENTENCE", "Timeline", "extract_events", "format_event_date", "timeline_order"]

MAX_SENTENCE = 300
SAME_EVENT = 0.8
_FINENESS: dict[Precision, int] = {"day": 3, "week": 2, "month": 1, "year": 0}


def extract_events(article: Article) -> list[Event]:
    """The article's headline event and every sentence with an anchor date, in text order."""
    events = [_event(article, article.date, "day", article.headline)]
    for paragraph in article.paragraphs:
        if not might_hold_date(paragraph):
            continue
        for start, end in sentence_spans(paragraph):
            sentence = paragraph[start:end]
            anchor = anchor_date(sentence, article.date)
            if anchor is not None:
                events.append(_event(article, anchor.date, anchor.precision, sentence))
    return events


def _event(article: Article, date: dt.date, precision: Precision, sentence: str) -> Event:
    return Event(date, precision, _trim(sentence), article.id, article.headline, article.date)


def _trim(sentence: str) -> str:
    sentence = " ".join(sentence.split())
    if len(sentence) <= MAX_SENTENCE:
        return sentence
    cut = sentence.rfind(" ", 0, MAX_SENTENCE - 1)
    return sentence[: cut if cut > MAX_SENTENCE // 2 else MAX_SENTENCE - 1].rstrip(" ,;:") + "…"


def format_event_date(event: Event) -> str:
    """`YYYY-MM-DD`, `week of YYYY-MM-DD`, `YYYY-MM` or `YYYY`, as precise as the source."""
    if event.precision == "year":
        return f"{event.date.year}"
    if event.precision == "month":
        return event.date.strftime("%Y-%m")
    if event.precision == "week":
        return f"week of {event.date.isoformat()}"
    return event.date.isoformat()


def _newest_first(event: Event) -> tuple[dt.date, int, dt.date, str]:
    """Sort key (descending): coarser events sort after the finer ones of their period."""
    return event.date, _FINENESS[event.precision], event.published, event.article_id


def timeline_order(events: Sequence[Event]) -> list[int]:
    """Positions of the events to show, newest first, each told once (the newer source wins)."""
    candidates = sorted(
        range(len(events)), key=lambda n: (events[n].published, events[n].article_id), reverse=True
    )
    kept: dict[tuple[dt.date, Precision], list[tuple[int, frozenset[str]]]] = {}
    for number in candidates:
        event = events[number]
        sentence_terms = frozenset(analyze(event.sentence))
        same_day = kept.setdefault((event.date, event.precision), [])
        if any(similarity(sentence_terms, seen) >= SAME_EVENT for _, seen in same_day):
            continue  # told already by a newer article
        same_day.append((number, sentence_terms))
    ordered = sorted(
        (number for group in kept.values() for number, _ in group), key=lambda n: _newest_first(events[n])
    )
    ordered.reverse()
    return ordered


class Timeline:
    """All events of a corpus, deduplicated and ordered newest first."""

    def __init__(self, events: Iterable[Event], positions: Sequence[int] = ()) -> None:
        """Wrap events already deduplicated and ordered (see `from_events`).

        `positions` says where each came from in the list `from_events` was given, so
        that a saved timeline can be stored as positions rather than copies.
        """
        self.events: Sequence[Event] = events if isinstance(events, Sequence) else tuple(events)
        self.positions: tuple[int, ...] = tuple(positions)
        self._terms: list[frozenset[str]] | None = None

    @classmethod
    def from_articles(cls, articles: Iterable[Article]) -> Timeline:
        """Extract, deduplicate (newer source wins) and order the events of `articles`."""
        return cls.from_events([event for article in articles for event in extract_events(article)])

    @classmethod
    def from_events(cls, events: Sequence[Event]) -> Timeline:
        """The timeline of events as `extract_events` gives them, duplicates included."""
        order = timeline_order(events)
        return cls((events[number] for number in order), order)

    def latest(self, limit: int, topic: str | None = None) -> list[Event]:
        """The newest `limit` events; with a topic, only those sharing a term with it."""
        if limit <= 0:
            return []
        if topic is None or not topic.strip():
            return list(self.events[:limit])
        wanted = frozenset(analyze(topic))
        chosen = [event for event, terms in zip(self.events, self.terms, strict=True) if terms & wanted]
        return chosen[:limit]

    @property
    def terms(self) -> list[frozenset[str]]:
        """Each event's sentence and headline terms, analyzed on the first topic question."""
        if self._terms is None:
            self._terms = [
                frozenset(analyze(e.sentence)) | frozenset(analyze(e.headline)) for e in self.events
            ]
        return self._terms

"""Articles -> a timeline of dated events, newest first, optionally on a topic.

An event is a sentence anchored to a date (see `dates`), plus each article's headline on
its publication day. When two articles tell the same event (same date, near-identical
sentence) it is listed once, from the newer source.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Iterable, Sequence

from .analyzer import analyze
from .dates import anchor_date, might_hold_date
from .models import Article, Event, Precision
from .sentences import sentence_spans
from .stories import similarity

__all__ = ["MAX_SENTENCE", "Timeline", "extract_events", "format_event_date", "timeline_order"]

MAX_SENTENCE = 300
SAME_EVENT = 0.8
MAX_RIVALS = 100
"""At most about this many kept events of its date an event is compared with, those that
share its rarest terms first, so that ordering stays linear in the events: on a day of
thousands of sentences that each share a common term and no near-duplicate (a file of
`On 1 March 2022 the council met w1x. ... w2x. ...`), the prefix filter alone compared
every pair, which held a build for hours. Only where more kept events of one day than
this share a rare term with a sentence can a near-duplicate of it be listed twice."""
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
    """`YYYY-MM-DD`, `week of YYYY-MM-DD`, `YYYY-MM` or `YYYY`, as precise as the source.

    Cut from `isoformat`, which writes four digits for every year: `strftime("%Y")` writes
    the year 999 as `999` on Linux, which would not line up with the days around it.
    """
    if event.precision == "year":
        return event.date.isoformat()[:4]
    if event.precision == "month":
        return event.date.isoformat()[:7]
    if event.precision == "week":
        return f"week of {event.date.isoformat()}"
    return event.date.isoformat()


def _newest_first(event: Event) -> tuple[dt.date, int, dt.date, str]:
    """Sort key (descending): coarser events sort after the finer ones of their period."""
    return event.date, _FINENESS[event.precision], event.published, event.article_id


def timeline_order(events: Sequence[Event], terms: Sequence[frozenset[str]] | None = None) -> list[int]:
    """Positions of the events to show, newest first, each told once (the newer source wins).

    Events of one date are near-duplicates when their sentences' term sets have a
    Jaccard similarity of at least `SAME_EVENT`. Comparing every pair would be quadratic
    in the events of a day, so each kept event is indexed by a short prefix of its terms
    (rarest first), and a new one is compared only with those sharing a prefix term:
    two sets this similar always do (the prefix filter of all-pairs similarity search),
    up to `MAX_RIVALS` of them. `terms`, each sentence's terms, may come analyzed already
    (by a build's workers).
    """
    if terms is None:
        terms = [frozenset(analyze(event.sentence)) for event in events]
    frequency = Counter(term for these in terms for term in these)
    kept: dict[tuple[dt.date, Precision], tuple[list[int], dict[str, list[int]]]] = {}
    newest_sources_first = sorted(
        range(len(events)), key=lambda n: (events[n].published, events[n].article_id), reverse=True
    )
    for number in newest_sources_first:
        event, these = events[number], terms[number]
        shown, by_prefix = kept.setdefault((event.date, event.precision), ([], {}))
        prefix = _prefix(these, frequency)
        rivals: set[int] = set()
        for term in prefix:  # rarest first: a near-duplicate most likely shares the first
            rivals.update(by_prefix.get(term, ()))
            if len(rivals) >= MAX_RIVALS:
                break
        if any(similarity(these, terms[other]) >= SAME_EVENT for other in rivals):
            continue  # told already by a newer article
        shown.append(number)
        for term in prefix:
            listed = by_prefix.setdefault(term, [])
            if len(listed) < MAX_RIVALS:  # the newest sources' events, the first compared
                listed.append(number)
    ordered = sorted(
        (number for shown, _ in kept.values() for number in shown), key=lambda n: _newest_first(events[n])
    )
    ordered.reverse()
    return ordered


def _prefix(terms: frozenset[str], frequency: Counter[str]) -> list[str]:
    """The rarest terms, enough that any set `SAME_EVENT`-similar to `terms` shares one."""
    size = len(terms) - math.ceil(SAME_EVENT * len(terms) - 1e-9) + 1
    return sorted(terms, key=lambda term: (frequency[term], term))[:size]


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

"""Articles -> a timeline of dated events, newest first, optionally on a topic.

An event is a sentence anchored to a date (see `dates`), plus each article's headline on
its publication day. When two articles tell the same event (same date, near-identical
sentence) it is listed once, from the newer source: the newer of those published by the
day the timeline is settled, so that an article dated later (an embargo, a year mistyped),
which the bot does not show before its date, does not hide an event another article told.
That day is the latest date on Earth (`latest_today`), the bot's cut-off: the machine's
own date, behind it for part of every day, took an article published somewhere already
for one dated later, and let an older source, or a mistyped one the bot hides, tell its event.
A timeline asked as of an earlier day (`Library.timeline_as_of`) settles again the dates that
an article published after that day tells (`order_as_of`): the event is then told by the
newest of the articles published by that day, where it was left out with its later source.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Callable, Collection, Container, Iterable, Sequence
from itertools import chain

import numpy as np
import numpy.typing as npt

from .analyzer import analyze, russian_articles
from .dates import anchor_date, latest_today, might_hold_date
from .models import Article, Event, Precision
from .query import readings
from .sentences import sentence_spans
from .stories import similarity
from .tables import EventTable

__all__ = [
    "MAX_SENTENCE",
    "EventTerms",
    "Timeline",
    "extract_events",
    "format_event_date",
    "order_as_of",
    "timeline_order",
    "updated_order",
]

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
Bucket = tuple[dt.date, Precision]
"""A date and its precision: events are near-duplicates only of events of the same."""


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


def timeline_order(
    events: Sequence[Event], terms: Sequence[frozenset[str]] | None = None, today: dt.date | None = None
) -> list[int]:
    """Positions of the events to show, newest first, each told once (the newer source wins,
    of those published by `today`, the day the timeline is settled: see the module's docstring).

    Events of one date are near-duplicates when their sentences' term sets have a
    Jaccard similarity of at least `SAME_EVENT`. Comparing every pair would be quadratic
    in the events of a day, so each kept event is indexed by a short prefix of its terms
    (rarest first), and a new one is compared only with those sharing a prefix term:
    two sets this similar always do (the prefix filter of all-pairs similarity search),
    up to `MAX_RIVALS` of them. `terms`, each sentence's terms, may come analyzed already
    (by a build's workers). Each date and precision is settled on its own events alone,
    so that an update settles only those its articles touch (`updated_order`).
    """
    shown = [
        number
        for numbers in _by_date(events, range(len(events))).values()
        for number in _told_once(events, numbers, terms, today)
    ]
    return _newest_first_order(events, shown)


def updated_order(
    events: Sequence[Event],
    previous: Iterable[int],
    changed: Collection[Bucket],
    today: dt.date | None = None,
    terms: Sequence[frozenset[str] | None] | None = None,
) -> list[int]:
    """`timeline_order(events)`, from the order of an earlier list of events: `previous`
    holds its positions renumbered into `events` (events since removed left out), and the
    events of every date and precision not in `changed` are those of the earlier list.
    Only the events of `changed` are analyzed and settled again: adding one article to a
    corpus of 15,000 re-analyzed 160,000 sentences, 8 of the update's 10 seconds. `terms`
    holds the sentences' terms where analyzed already (an update's new events), else None.
    """
    shown = [number for number in previous if (events[number].date, events[number].precision) not in changed]
    touched = (number for number, event in enumerate(events) if (event.date, event.precision) in changed)
    for numbers in _by_date(events, touched).values():
        shown += _told_once(events, numbers, terms, today)
    return _newest_first_order(events, shown)


def order_as_of(
    events: EventTable, kept: npt.NDArray[np.int64], again: npt.NDArray[np.int64], now: dt.date
) -> list[int]:
    """The order of the events published by `now`, from an order settled on a later day.

    Which of two tellings of an event is shown is settled for the newest articles: as of a
    day before the retelling was published, the first telling is shown, not neither.
    `kept` holds the earlier order's positions of the dates and precisions that no article
    published after `now` tells, which it keeps as they are; `again` the events published by
    `now` of the other dates, settled here as of `now`, as `timeline_order` would.

    Sorted by the events' columns, not by `Event`s, and merged into `kept` by binary searches
    over them: as of a month before the newest of 15,000 news articles, 41,000 events are
    settled again among 114,000 kept, and making the events the sorts compared took two
    thirds of the time.
    """
    date, precision = events.columns["date"], events.columns["precision"]
    published, named = events.articles.ordinals[events.columns["article"]], events.articles.id_order()
    named = named[events.columns["article"]]
    rows = np.asarray(again, dtype=np.int64)
    # by date and precision, each date's newest source first (`_source_first`), one article's
    # events in their order, as `_told_once` takes them
    source, later = published[rows], published[rows] > now.toordinal()
    rows = rows[np.lexsort((rows, -named[rows], -source, later, date[rows], precision[rows]))]
    bucket = date[rows].astype(np.int64) * len(_FINENESS) + precision[rows]
    starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]]).tolist()
    told: list[int] = []
    for numbers in np.split(rows, starts[1:]):
        ordered = numbers.tolist()
        told += _first_tellings(ordered, {n: frozenset(analyze(events.sentences[n])) for n in ordered})
    # newest first, as `_newest_first_order` sorts, as one key that ascends: a coarser event
    # after the finer ones of its period (precision ascending: day, week, month, year)
    key = np.dtype([("when", np.int64), ("who", np.int64)])

    def keys(numbers: npt.NDArray[np.int64]) -> npt.NDArray[np.void]:
        found = np.empty(len(numbers), dtype=key)
        found["when"] = (precision[numbers] - date[numbers].astype(np.int64) * 4) * (1 << 23)
        found["when"] -= published[numbers]  # an ordinal: under 2**22
        found["who"] = -(named[numbers] * (1 << 32) + numbers)
        return found

    settled = np.asarray(told, dtype=np.int64)
    settled_keys = keys(settled)
    settled = settled[np.argsort(settled_keys, order=("when", "who"))]
    kept = np.asarray(kept, dtype=np.int64)
    order: list[int] = np.insert(kept, np.searchsorted(keys(kept), np.sort(settled_keys)), settled).tolist()
    return order


def _by_date(events: Sequence[Event], numbers: Iterable[int]) -> dict[Bucket, list[int]]:
    """The events `numbers`, in order, by their date and precision."""
    buckets: dict[Bucket, list[int]] = {}
    for number in numbers:
        event = events[number]
        buckets.setdefault((event.date, event.precision), []).append(number)
    return buckets


def _told_once(
    events: Sequence[Event],
    numbers: Sequence[int],
    terms: Sequence[frozenset[str] | None] | None = None,
    today: dt.date | None = None,
) -> list[int]:
    """Those of `numbers`, events of one date and precision, that are not near-duplicates of
    one from a newer source published by `today` (see `timeline_order`). `terms` holds the
    sentences' terms where analyzed already, else None: those are analyzed here."""
    today = today or latest_today()
    sets = {n: _sentence_terms(events, terms, n) for n in numbers}
    return _first_tellings(sorted(numbers, key=lambda n: _source_first(events[n], today), reverse=True), sets)


def _first_tellings(ordered: Sequence[int], sets: dict[int, frozenset[str]]) -> list[int]:
    """Those of `ordered`, events of one date and precision, their sources in the order that
    wins (`_source_first`), that are not near-duplicates of one before them; `sets` holds each
    one's sentence's terms."""
    frequency = Counter(term for these in sets.values() for term in these)
    shown: list[int] = []
    by_prefix: dict[str, list[int]] = {}
    for number in ordered:
        these = sets[number]
        prefix = _prefix(these, frequency)
        rivals: set[int] = set()
        for term in prefix:  # rarest first: a near-duplicate most likely shares the first
            rivals.update(by_prefix.get(term, ()))
            if len(rivals) >= MAX_RIVALS:
                break
        if any(similarity(these, sets[other]) >= SAME_EVENT for other in rivals):
            continue  # told already by a newer article
        shown.append(number)
        for term in prefix:
            listed = by_prefix.setdefault(term, [])
            if len(listed) < MAX_RIVALS:  # the newest sources' events, the first compared
                listed.append(number)
    return shown


def _sentence_terms(
    events: Sequence[Event], terms: Sequence[frozenset[str] | None] | None, number: int
) -> frozenset[str]:
    """Event `number`'s sentence's terms: from `terms` if analyzed already, else analyzed now."""
    known = terms[number] if terms is not None else None
    return known if known is not None else frozenset(analyze(events[number].sentence))


def _source_first(event: Event, today: dt.date) -> tuple[bool, dt.date, str]:
    """Sort key (descending) of the sources of one event: published by `today`, then newest."""
    return event.published <= today, event.published, event.article_id


def _newest_first_order(events: Sequence[Event], shown: Iterable[int]) -> list[int]:
    """`shown` newest first (`_newest_first`); one article's events of one date, last first."""
    return sorted(shown, key=lambda n: (_newest_first(events[n]), n), reverse=True)


def _prefix(terms: frozenset[str], frequency: Counter[str]) -> list[str]:
    """The rarest terms, enough that any set `SAME_EVENT`-similar to `terms` shares one."""
    size = len(terms) - math.ceil(SAME_EVENT * len(terms) - 1e-9) + 1
    return sorted(terms, key=lambda term: (frequency[term], term))[:size]


class Timeline:
    """All events of a corpus, deduplicated and ordered newest first."""

    def __init__(self, events: Iterable[Event], positions: Sequence[int], terms: EventTerms) -> None:
        """Wrap events already deduplicated and ordered (see `from_events`).

        `positions` says where each came from in the list `from_events` was given, so
        that a saved timeline can be stored as positions rather than copies; `terms` are
        the terms of every event of that list, by the same numbers (`EventTerms`), which
        a topic question reads.
        """
        self.events: Sequence[Event] = events if isinstance(events, Sequence) else tuple(events)
        self.positions: tuple[int, ...] = tuple(positions)
        self.terms = terms
        places = np.full(terms.events, -1, dtype=np.int32)  # each event's place, if shown
        places[np.fromiter(self.positions, dtype=np.int64, count=len(self.positions))] = np.arange(
            len(self.positions), dtype=np.int32
        )
        self._places = places

    @classmethod
    def from_articles(cls, articles: Iterable[Article]) -> Timeline:
        """Extract, deduplicate (newer source wins) and order the events of `articles`."""
        articles = list(articles)
        events = [event for article in articles for event in extract_events(article)]
        return cls.from_events(events, russian_articles(articles))

    @classmethod
    def from_events(cls, events: Sequence[Event], russian: Container[str] = frozenset()) -> Timeline:
        """The timeline of events as `extract_events` gives them, duplicates included;
        `russian` holds the ids of their articles that read as Russian (see `EventTerms.of`)."""
        sentences = [frozenset(analyze(event.sentence)) for event in events]
        order = timeline_order(events, sentences)
        return cls((events[number] for number in order), order, EventTerms.of(events, sentences, russian))

    @classmethod
    def updated(
        cls,
        events: Sequence[Event],
        previous: Iterable[int],
        changed: Collection[Bucket],
        terms: EventTerms,
        sentences: Sequence[frozenset[str] | None] | None = None,
    ) -> Timeline:
        """The timeline of `events` as `from_events` makes it, from an earlier one (see `updated_order`);
        `sentences` holds their sentences' terms where analyzed already, else None."""
        order = updated_order(events, previous, changed, terms=sentences)
        return cls((events[number] for number in order), order, terms)

    def latest(
        self,
        limit: int,
        topic: str | None = None,
        names: Callable[[str, tuple[str, ...]], bool] | None = None,
        held: Callable[[str], bool] | None = None,
    ) -> list[Event]:
        """The newest `limit` events; with a topic, only those sharing a term with it, in any
        of its readings (`query.readings`: a short Cyrillic topic may be Ukrainian or Russian;
        `names`: whether the corpus names a word so, `Library.holds_name`; `held`: whether it
        holds a term, a word's other language's cognate, `Library.holds_term`)."""
        if limit <= 0:
            return []
        if topic is None or not topic.strip():
            return list(self.events[:limit])
        found = self._places[self.terms.events_with(chain.from_iterable(readings(topic, names, held)))]
        return [self.events[place] for place in np.sort(found[found >= 0])[:limit].tolist()]


class EventTerms:
    """Each term's events, numbered as in the list of every event (duplicates included),
    ascending, one run a term: an event's terms are those of its sentence and of its
    article's headline.

    An event's headline and sentence are read in its article's language where their own
    words tell neither Ukrainian nor Russian more (`analyzer.russian_articles`), as its
    article's passages are: read alone, the headline "Новости Харькова" of a Russian article
    was Ukrainian (`новіст`), and a Russian topic missed it. Settling the timeline compares
    sentences read alone (`timeline_order`), as an update reads again those it keeps.

    A topic question reads its terms' runs alone. Made with the build, where each event's
    sentence is analyzed anyway, saved with the index and carried across updates
    (`kept`, `joined`): analyzing every event on the first topic question after each
    start, reload and feed update took 3.4 s on 15,000 news articles, and grows with the
    events. An update leaves in `vocabulary` the terms whose last event went, with no
    events; a build starts afresh.
    """

    def __init__(
        self,
        vocabulary: list[str],
        offsets: npt.NDArray[np.int64],
        numbers: npt.NDArray[np.int32],
        events: int,
        ids: dict[str, int] | None = None,
    ) -> None:
        """`numbers[offsets[i]:offsets[i + 1]]` are the events of term `vocabulary[i]`,
        out of `events` in all; `ids` numbers the vocabulary, if made already."""
        self.vocabulary = vocabulary
        self.ids = ids if ids is not None else dict(zip(vocabulary, range(len(vocabulary)), strict=True))
        self.offsets = np.asarray(offsets)
        self.numbers = np.asarray(numbers)  # plain views of a memory map: slicing one costs more
        self.events = events

    @classmethod
    def of(
        cls,
        events: Sequence[Event],
        sentences: Sequence[frozenset[str]] | None = None,
        russian: Container[str] = frozenset(),
    ) -> EventTerms:
        """The terms of each event's sentence (`sentences`, if analyzed alone already) and of
        its article's headline (analyzed once an article). `russian` holds the ids of the
        articles that read as Russian: their sentences are analyzed again, in Russian where
        their own words tell neither language more, and so are their headlines."""
        headlines: dict[str, frozenset[str]] = {}
        pieces: list[frozenset[str]] = []  # each event's sentence's terms, then its headline's
        for number, event in enumerate(events):
            in_russian = event.article_id in russian
            headline = headlines.get(event.article_id)
            if headline is None:
                headline = headlines[event.article_id] = frozenset(analyze(event.headline, in_russian))
            if sentences is not None and not in_russian:
                sentence = sentences[number]
            else:
                sentence = frozenset(analyze(event.sentence, in_russian))
            pieces += (sentence, headline)
        # In order of first use, a piece's new terms sorted: a set's own order is its process's
        # hash seed's, and two builds of one corpus saved different bytes.
        first_use: dict[str, None] = {}
        for piece in pieces:
            if new := piece.difference(first_use):
                first_use.update(dict.fromkeys(sorted(new)))
        vocabulary = list(first_use)
        ids = dict(zip(vocabulary, range(len(vocabulary)), strict=True))
        sizes = np.fromiter(map(len, pieces), dtype=np.int64, count=len(pieces))
        terms = np.fromiter(map(ids.__getitem__, chain.from_iterable(pieces)), np.int64, int(sizes.sum()))
        # by term, then event; a term of both the sentence and the headline once
        span = max(len(events), 1)
        keys = np.sort(terms * span + np.repeat(np.arange(len(pieces)) // 2, sizes))
        first = np.ones(len(keys), dtype=bool)
        first[1:] = keys[1:] != keys[:-1]
        keys = keys[first]
        offsets = np.zeros(len(vocabulary) + 1, dtype=np.int64)
        np.cumsum(np.bincount(keys // span, minlength=len(vocabulary)), out=offsets[1:])
        return cls(vocabulary, offsets, (keys % span).astype(np.int32), len(events), ids)

    @classmethod
    def joined(cls, parts: Sequence[EventTerms]) -> EventTerms:
        """The terms of the lists of events of `parts`, one after the other: a build's chunks,
        or an update's kept events and new ones.

        Terms are numbered in order of first use; each term's run is its runs in `parts`,
        in turn, placed by counting rather than sorted, so that an update of one article
        costs a copy of the arrays, not a sort.
        """
        ids = dict(parts[0].ids) if parts else {}  # the first part's terms keep their numbers
        maps = [np.arange(len(ids), dtype=np.int64)] if parts else []
        for part in parts[1:]:
            found = list(map(ids.get, part.vocabulary))  # at the speed of C: nearly all are known
            if None in found:
                for position, term in enumerate(part.vocabulary):
                    if found[position] is None:
                        found[position] = ids[term] = len(ids)
            maps.append(np.asarray(found, dtype=np.int64))
        sizes = np.zeros(len(ids), dtype=np.int64)
        for part, terms in zip(parts, maps, strict=True):
            sizes[terms] += np.diff(part.offsets)  # a term is once in a part's vocabulary
        offsets = np.zeros(len(ids) + 1, dtype=np.int64)
        np.cumsum(sizes, out=offsets[1:])
        numbers = np.empty(int(offsets[-1]), dtype=np.int32)
        fill, first = offsets[:-1].copy(), 0
        for part, terms in zip(parts, maps, strict=True):
            runs = np.diff(part.offsets)
            places = np.repeat(fill[terms] - part.offsets[:-1], runs) + np.arange(len(part.numbers))
            numbers[places] = part.numbers + first
            fill[terms] += runs
            first += part.events
        return cls(list(ids), offsets, numbers, first, ids)

    def kept(self, keep: npt.NDArray[np.bool_]) -> EventTerms:
        """The terms of the events `keep` marks, numbered anew in order."""
        if keep.all():  # an update that only adds articles
            return self
        terms = np.repeat(np.arange(len(self.vocabulary)), np.diff(self.offsets))
        held = keep[self.numbers]
        renumber = np.cumsum(keep, dtype=np.int64) - 1
        offsets = np.zeros(len(self.vocabulary) + 1, dtype=np.int64)
        np.cumsum(np.bincount(terms[held], minlength=len(self.vocabulary)), out=offsets[1:])
        return EventTerms(
            self.vocabulary,
            offsets,
            renumber[self.numbers[held]].astype(np.int32),
            int(np.sum(keep)),
            self.ids,
        )

    def events_with(self, terms: Iterable[str]) -> npt.NDArray[np.int32]:
        """The numbers of the events holding any of `terms`, ascending."""
        runs = [
            self.numbers[self.offsets[number] : self.offsets[number + 1]]
            for term in set(terms)
            if (number := self.ids.get(term)) is not None
        ]
        found = np.sort(np.concatenate(runs)) if runs else np.empty(0, dtype=np.int32)
        first = np.ones(len(found), dtype=bool)
        first[1:] = found[1:] != found[:-1]
        return found[first]  # not `np.unique`, whose first call imports `numpy.ma`: 6 ms

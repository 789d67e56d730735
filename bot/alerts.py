"""Topic alerts: which new articles match a reader's topic, and how many messages to send.

A topic is matched with the analyzer and BM25 index that answer questions, so "grain
exports" meets "exported grain". Raw BM25 scores grow with the number of words and
their rarity, so one threshold cannot serve every topic; the score is put on a 0-1
scale instead: `relevance` is how far a passage gets from the score of a passage with
none of the topic's words (0) to the best score the topic can reach, every word
present many times (1). Rare words weigh more, as in BM25: a passage with "Abramovich"
but not "talks" goes further than one with "talks" alone. `ALERT_THRESHOLD` was
chosen by measurement.

Alerts are for news that arrives while a reader follows: `is_news` and `news_to` leave
out a new feed's backlog and articles dated days before they arrived or before the topic
was followed; those are indexed and answer questions, and alert no one. A file dropped
into the corpus folder arrives when the bot first serves it (`dropped_articles`); the
corpus served at start alerts no one.

A topic is scored like a question, on at most `LibraryOptions.max_terms` distinct terms
(its most selective), so no topic can hold the index for long. A Cyrillic topic too short
to tell Ukrainian from Russian is read both ways, as a question is (`topic_readings`), and
so, where the corpus holds it, is one whose word an article may write otherwise (the other
language's cognate, `вибори` for `выборы`); a passage's relevance is its best reading's.
Matching is pure and blocking: the bot runs it in worker threads, a few topics at a time,
as it runs searches.

Throttling is pure: `plan_delivery` gets what was sent in the last hour and returns
what to send now; `may_send` tells, before a user's waiting alerts are read, whether
anything can go, and `to_read` how many of them it may use.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np
import numpy.typing as npt

from retrieval import IndexFileError, Library, most_selective, readings
from retrieval.folder import printable

from .articles_out import FEEDS_DIR, text_fingerprint
from .links import canonical_url
from .render import shown_headline, web_link
from .statedb import Dropped, PendingAlert, SavedArticle, TopicRow

__all__ = [
    "ALERT_THRESHOLD",
    "FOLLOW_SLACK",
    "HOUR",
    "MAX_TOPICS",
    "NEWS_WINDOW",
    "DeliveryPlan",
    "Match",
    "arrived_recently",
    "best_first",
    "dropped_articles",
    "is_news",
    "match_articles",
    "may_send",
    "news_to",
    "plan_delivery",
    "relevance",
    "scored_terms",
    "to_read",
    "topic_readings",
    "topic_terms",
]

logger = logging.getLogger(__name__)
ALERT_THRESHOLD = 0.6
"""Measured on 312 hand-labelled (topic, article) pairs of 25 topics (`bench/alerts.py`):
alerts at 0.6 are relevant 86% of the time and catch an estimated 56% of the relevant
articles; 0.5 gives 73% / 74%, 0.7 gives 92% / 34%. An alert interrupts its reader, so
precision counts double: F0.5 is highest at 0.6."""
MAX_TOPICS = 10
MAX_TOPIC_CHARS = 200
HOUR = 3600.0
NEWS_WINDOW = dt.timedelta(days=2)
"""An article dated more than this before it arrived is old news. Dates are calendar days
without an hour, each in its publisher's time zone: a story of late evening in New York
is already the next day in UTC, and a bot down for a night or a feed that lags brings
the day's news a day late. Two days leave room for both; older is an archive (an old
link added by hand, old items a feed republishes), not news."""
FOLLOW_SLACK = dt.timedelta(days=1)
"""An article dated before the day before its topic was followed is not news to the
follower, who asked to hear what happens from then on (a day's slack for time zones)."""


@dataclass(frozen=True, slots=True)
class Match:
    """A topic's best passage in a new article, and how relevant it is."""

    topic: TopicRow
    article: int
    """Position in `library.articles`."""
    passage: int
    """Position in `library.passages`."""
    relevance: float
    matched: frozenset[str]


@dataclass(frozen=True, slots=True)
class DeliveryPlan:
    """What to send one user now: single alerts, then one digest of the rest (maybe empty)."""

    singles: tuple[PendingAlert, ...]
    digest: tuple[PendingAlert, ...]


def topic_readings(library: Library, words: str) -> tuple[tuple[str, ...], ...]:
    """A topic's readings (`retrieval.readings`, as questions are read), each term once a reading."""
    if library.options.plain:
        return (tuple(dict.fromkeys(library.options.terms(words))),)
    return tuple(
        tuple(dict.fromkeys(reading)) for reading in readings(words, library.holds_name, library.holds_term)
    )


def topic_terms(library: Library, words: str) -> tuple[str, ...]:
    """A topic's index terms, each once, in order: those of all its readings, which tell
    the topics a reader follows apart."""
    return tuple(dict.fromkeys(chain.from_iterable(topic_readings(library, words))))


def scored_terms(library: Library, terms: Sequence[str]) -> tuple[str, ...]:
    """The terms a topic is scored on: its `max_terms` most selective, as for a question."""
    index = library.index
    return most_selective(terms, index.doc_freq, library.options.max_terms)


def relevance(
    library: Library, terms: Sequence[str], passages: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """Each passage's BM25 score for `terms` on a 0-1 scale (see the module's docstring)."""
    index = library.index
    params = index.params
    found, scores = index.score(list(terms))
    rarest = float(index.idf.max()) if len(index.idf) else 1.0
    known = [float(index.idf[index.vocabulary[t]]) for t in terms if t in index.vocabulary]
    weights = sum(known) + rarest * (len(terms) - len(known))  # a word no passage has is rare
    floor = sum(known) * params.lower_bound if params.variant == "plus" else 0.0
    ceiling = floor + weights * (params.k1 + 1)
    result = np.zeros(len(passages), dtype=np.float64)
    if not len(found) or ceiling <= floor:
        return result
    where = np.searchsorted(found, passages).clip(max=len(found) - 1)
    hit = found[where] == passages
    result[hit] = (scores[where[hit]] - floor) / (ceiling - floor)
    return np.clip(result, 0.0, 1.0)


def match_articles(
    library: Library,
    articles: Sequence[int],
    topics: Sequence[TopicRow],
    threshold: float = ALERT_THRESHOLD,
) -> list[Match]:
    """Every (topic, article) pair whose best passage reaches `threshold`, best first."""
    if not articles or not topics:
        return []
    owner = library.passages.owner
    passages = np.flatnonzero(np.isin(owner, np.asarray(articles, dtype=np.int64)))
    matches: list[Match] = []
    by_readings: dict[tuple[tuple[str, ...], ...], list[TopicRow]] = {}
    for topic in topics:  # its words analyzed anew: an older analyzer's stored terms may meet nothing
        by_readings.setdefault(topic_readings(library, topic.words), []).append(topic)
    for analyzed, rows in by_readings.items():
        bounded = [scored_terms(library, reading) for reading in analyzed]
        scored = [(terms, relevance(library, terms, passages)) for terms in bounded if terms]
        if not scored:
            continue
        scores = np.max([reading_scores for _, reading_scores in scored], axis=0)  # the best reading's
        best: dict[int, int] = {}
        for row in np.flatnonzero(scores >= threshold).tolist():
            article = int(owner[passages[row]])
            if article not in best or scores[row] > scores[best[article]]:
                best[article] = row
        for article, row in best.items():
            terms = next(terms for terms, reading_scores in scored if reading_scores[row] == scores[row])
            passage = passages[row : row + 1].astype(np.int32)
            matched = frozenset(t for t in terms if library.index.contains(t, passage)[0])
            matches.extend(
                Match(topic, article, int(passages[row]), float(scores[row]), matched) for topic in rows
            )
    return best_first(matches)


def best_first(matches: Sequence[Match]) -> list[Match]:
    """Matches from the most relevant down (then by topic and article, for a stable order)."""
    return sorted(matches, key=lambda match: (-match.relevance, match.topic.id, match.article))


def is_news(article: SavedArticle) -> bool:
    """Whether an article may alert anyone: it is not a new feed's backlog, and it is
    dated at most `NEWS_WINDOW` before it arrived."""
    return not article.backlog and arrived_recently(article.date, article.saved_at)


def arrived_recently(published: dt.date, arrived: float) -> bool:
    """Whether an article dated `published` was dated at most `NEWS_WINDOW` before it arrived."""
    return published >= _utc_day(arrived) - NEWS_WINDOW


def dropped_articles(served: Library, library: Library, now: float) -> tuple[list[Dropped], list[Dropped]]:
    """The articles `library` holds that `served` did not, and those it lost: files dropped
    into the corpus folder, and removed from it (or both, for a file renamed), between the
    two. Both are recorded in the state file (`StateDB.note_dropped`), the first to alert
    as a feed's articles do, the second so that a file renamed, or removed and copied back,
    is known for the article it was and alerts no one.

    Only articles dated at most `NEWS_WINDOW` before `now` are read: older ones alert no
    one whatever becomes of them, and a /reload that brings an archive of 100,000 files
    reads none of their texts. Files under `feeds/` are the feeds' and links' own, which
    the state file knows as theirs: a feed round writes its file before it records it.
    """
    before, after = set(served.articles.ids), set(library.articles.ids)
    return _recent(library, after - before, now), _recent(served, before - after, now)


def _recent(library: Library, corpus_ids: set[str], now: float) -> list[Dropped]:
    found: list[Dropped] = []
    if not corpus_ids:
        return found
    table = library.articles
    for number, corpus_id in enumerate(table.ids):
        path = table.files[number]
        if corpus_id not in corpus_ids or path.startswith(f"{FEEDS_DIR}/"):
            continue
        published = dt.date.fromordinal(int(table.ordinals[number]))
        if not arrived_recently(published, now):
            continue
        try:
            article = table[number]
        except IndexFileError as error:  # its saved text damaged: it alerts no one, as it answers no one
            logger.warning("article %s not looked at for alerts: %s", printable(corpus_id), error)
            continue
        found.append(
            Dropped(
                corpus_id,
                path,
                shown_headline(article),  # as answers head it: a headline of bidi controls alone is blank
                published,
                _link(article.url),
                " ".join(article.source.split()) if article.source else None,  # one line in an alert
                text_fingerprint(article.paragraphs),
            )
        )
    return found


def _link(url: str | None) -> str:
    """A file's `url` as feeds store theirs (`canonical_url`), if it is a web link; else ""."""
    link = web_link(url)
    try:
        return canonical_url(link) if link else ""
    except ValueError:  # a port out of range
        return ""


def news_to(topic: TopicRow, published: dt.date, now: float) -> bool:
    """Whether an article dated `published` is news to the follower of `topic` (`FOLLOW_SLACK`).

    A topic followed "later" than `now`, by a clock that ran fast and was set right since,
    counts as followed now: its follower must not wait for the clock to catch up.
    """
    return published >= _utc_day(min(topic.followed_at, now)) - FOLLOW_SLACK


def _utc_day(moment: float) -> dt.date:
    return dt.datetime.fromtimestamp(moment, dt.UTC).date()


def plan_delivery(
    pending: Sequence[PendingAlert],
    singles_last_hour: int,
    last_digest: float | None,
    now: float,
    per_hour: int,
) -> DeliveryPlan:
    """At most `per_hour` single alerts in any hour; the rest in one digest an hour at most.

    What neither may carry now stays pending for a later call.
    """
    room = max(0, per_hour - singles_last_hour)
    singles, rest = tuple(pending[:room]), tuple(pending[room:])
    return DeliveryPlan(singles, rest if rest and _digest_due(last_digest, now) else ())


def may_send(singles_last_hour: int, last_digest: float | None, now: float, per_hour: int) -> bool:
    """Whether `plan_delivery` may send a user anything now: a single alert or a digest.

    When not, their waiting alerts need not even be read.
    """
    return singles_last_hour < per_hour or _digest_due(last_digest, now)


def to_read(
    singles_last_hour: int, last_digest: float | None, now: float, per_hour: int, digest_lines: int
) -> int:
    """How many of a user's waiting alerts, oldest first, `plan_delivery` may use now: the
    singles the hour has room for, and the `digest_lines` a digest shows if one is due. A
    digest counts the others ("… and 2,900 more") without reading them."""
    room = max(0, per_hour - singles_last_hour)
    return room + (digest_lines if _digest_due(last_digest, now) else 0)


def _digest_due(last_digest: float | None, now: float) -> bool:
    return last_digest is None or now - last_digest >= HOUR

"""The second stage of ranking: the lexical candidates re-scored by meaning and by time.

`Library.search` scores every passage that shares a word with the question (BM25) and
drops those dated after the question; this stage takes the best of them and re-scores
them, so the lexical engine and this stage can change apart:

1. **recency**: a question asked at a date that names no period prefers recent articles
   a little (a question that says "this week" or "latest", more);
2. **meaning**: the cosine between the question's vector and its article's headline and
   lead (`semantic`) is added to the lexical score, normalised by the best candidate's;
3. **coverage**: the share of the question's term weight (idf) that the passage's whole
   article holds is added too, so an article about all of the question beats one whose
   single passage repeats a few of its words;
4. **period**: a question naming a period ("in March 2022", "last year") lifts articles
   published in it (or just after it) and, less, articles that tell of events dated in it.

Pure: arrays in, scores out. The weights were learned on the dev split of the evaluation
set by `bench/learn_ranking.py` (coordinate ascent, cross-validated by weeks; see
docs/quality.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .periods import Period, question_period
from .query import recent_cue

__all__ = ["CorpusSignals", "QueryTerms", "RerankOptions", "article_coverage", "recency_prior", "rerank"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class RerankOptions:
    """The weights of the second stage; 0 turns a signal off."""

    candidates: int = 200
    """How many of the best lexical candidates are re-scored (at least 4 x k are)."""
    semantic_weight: float = 0.25
    """Added: weight x cosine(question, article), beside lexical scores scaled to at most 1."""
    coverage_weight: float = 0.4
    """Added: weight x the share of the question's idf found anywhere in the passage's article."""
    cue_weight: float = 0.3
    cue_days: float = 14.0
    """The prior of a question about the recent past ("this week", "latest", ...)."""
    recency_weight: float = 0.15
    recency_days: float = 60.0
    """The prior of any other question asked at a date that names no period."""
    period_weight: float = 0.2
    """Lift of an article published in the period the question names."""
    period_event_weight: float = 0.2
    """Lift of an article published outside it that tells of an event dated in it."""
    period_slack: float = 0.25
    """An article published up to this share of the period after it (3 days at least) counts as in it."""
    fold_stories: bool = True
    """Fold other articles of a story (close dates, alike vectors) into the best-ranked one."""


@dataclass(frozen=True, slots=True)
class CorpusSignals:
    """What the re-ranking reads of a corpus, by passage and by article."""

    passage_article: npt.NDArray[np.int32]
    article_dates: npt.NDArray[np.int32]
    """Publication dates as ordinals."""
    article_vectors: npt.NDArray[np.float16] | None
    """One unit vector per article (headline and lead); None: no meaning signal."""
    event_keys: Callable[[], npt.NDArray[np.int64]]
    """Every timeline event as article x 2^22 + date ordinal, sorted; made on first use."""
    article_bounds: Callable[[], IntArray]
    """Article i's passages are numbers bounds[i] up to bounds[i + 1]; made on first use."""


@dataclass(frozen=True, slots=True)
class QueryTerms:
    """The question's distinct terms that the index knows, where the index holds their postings."""

    doc_ids: npt.NDArray[np.int32]
    """The index's postings, term row after term row, each row's passage numbers ascending."""
    offsets: IntArray
    """Row r's passages are doc_ids[offsets[r] : offsets[r + 1]]."""
    rows: IntArray
    """The terms' rows."""
    idf: FloatArray
    """Each term's weight, in the order of `rows`."""


EVENT_KEY = 1 << 22
"""Above any date ordinal (year 9999 is 3,652,059), so article and date pack in one int64."""


def recency_prior(
    scores: FloatArray, age_days: npt.NDArray[np.integer], weight: float, days: float
) -> FloatArray:
    """Keep (1 - weight) of each score and scale the rest by exp(-age / days)."""
    return scores * (1 - weight + weight * np.exp(-age_days / days))


def rerank(
    question: str,
    doc_ids: npt.NDArray[np.int32],
    scores: FloatArray,
    signals: CorpusSignals,
    options: RerankOptions,
    now: dt.date | None,
    question_vector: Callable[[], npt.NDArray[np.float32]],
    keep: int,
    terms: QueryTerms | None = None,
    anchor: dt.date | None = None,
) -> tuple[npt.NDArray[np.int32], FloatArray]:
    """The best `max(options.candidates, keep)` candidates and their new scores.

    Without `now` (a question asked at no particular date) there is no recency prior,
    and a relative period ("last year") is resolved against `anchor`, by default the
    newest article.
    """
    limit = max(options.candidates, keep)
    if len(doc_ids) > limit:
        best = np.argpartition(-scores, limit - 1)[:limit]
        doc_ids, scores = doc_ids[best], scores[best]
    articles = signals.passage_article[doc_ids]
    published = signals.article_dates[articles]
    asked = now or anchor or dt.date.fromordinal(int(signals.article_dates.max()))
    period = question_period(question, asked)
    if now is not None and period is None:
        cue = recent_cue(question)
        weight, days = (
            (options.cue_weight, options.cue_days) if cue else (options.recency_weight, options.recency_days)
        )
        if weight:
            scores = recency_prior(scores, now.toordinal() - published.astype(np.int64), weight, days)
    top = float(scores.max())
    scores = scores / top if top > 0 else scores
    if options.semantic_weight and signals.article_vectors is not None:
        # Row by row in float64 rather than one matrix product, whose rounding depends on how
        # many rows there are: a passage's score must not depend on the other candidates.
        vectors = np.asarray(signals.article_vectors[articles], dtype=np.float64)
        cosine = (vectors * question_vector().astype(np.float64)).sum(axis=1)
        scores = scores + options.semantic_weight * cosine
    if options.coverage_weight and terms is not None and len(terms.rows):
        coverage = article_coverage(terms, articles, signals.article_bounds())
        scores = scores + options.coverage_weight * coverage
    if period is not None and (options.period_weight or options.period_event_weight):
        scores = scores * _period_lift(period, articles, published, signals, options)
    return doc_ids, scores


def article_coverage(terms: QueryTerms, articles: npt.NDArray[np.int32], bounds: IntArray) -> FloatArray:
    """For each article, the share of the terms' idf that any of its passages holds.

    BM25 scores a passage; a web search engine scores the whole page, and the article
    that holds all of the question's rare words ("Gelof", "called up", "infielder") is
    more often about it than one whose one passage repeats a few of them. Two searches
    per term and article, in compiled code, over the index's postings as they lie: an
    article's passages are numbered in a run (`kernels.held_in_runs`).
    """
    from . import kernels  # compiled code, loaded by the search that asks for this anyway

    weights = np.asarray(terms.idf, dtype=np.float64)
    total = float(weights.sum())
    if total <= 0:
        return np.zeros(len(articles), dtype=np.float64)
    held = kernels.held_in_runs(terms.doc_ids, terms.offsets, terms.rows, bounds, articles)
    return np.asarray(weights @ held / total, dtype=np.float64)


def _period_lift(
    period: Period,
    articles: npt.NDArray[np.int32],
    published: npt.NDArray[np.int32],
    signals: CorpusSignals,
    options: RerankOptions,
) -> FloatArray:
    slack = max(3, int(period.days * options.period_slack))
    inside = period.holds(published, slack)
    lift = 1 + options.period_weight * inside
    if options.period_event_weight:
        keys = signals.event_keys()
        base = articles.astype(np.int64) * EVENT_KEY
        first = np.searchsorted(keys, base + period.start.toordinal())
        last = np.searchsorted(keys, base + period.end.toordinal())
        lift += options.period_event_weight * ((last > first) & ~inside)
    return np.asarray(lift, dtype=np.float64)

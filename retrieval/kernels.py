"""The index's inner loops, compiled: postings scored, and an exact top-k that skips work.

numba compiles these functions the first time they run and keeps the machine code on
disk (in `NUMBA_CACHE_DIR` if set, else beside this file, else in the user's cache
folder, whichever is writable first), so only the first search on a machine pays for
the compile.

Scores are summed in fixed point: each term's contribution to a document is rounded to a
multiple of 2**-scale (scale chosen per query, at most 2**-40), and the integers add up
exactly in any order. Pruning may visit a document's terms in another order than
exhaustive scoring does; with integers both give the very same score, so equal passages
tie exactly and the tie goes to the newer one, whatever path found them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np

__all__ = [
    "OKAPI",
    "PLUS",
    "L",
    "exhaustive",
    "held_in_runs",
    "matches",
    "summed_rows",
    "term_bound",
    "top_k",
]

logger = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])
OKAPI, L, PLUS = 0, 1, 2
WALK_WHEN_DENSE = 0.4
"""In a window thick with candidates, only non-essential terms whose bounds add up to less
than this fraction of the k-th best score are looked up per candidate; dearer ones are
walked like essential terms (measured: a pasted article's question 75 -> 45 ms at 1m)."""
FIRST_WINDOW = 256
"""The first window's size; each next one doubles, up to the `window` asked for."""
LOWEST = -(2**61)
"""Below any fixed-point score: the threshold while fewer than k documents are kept."""
FLOOR_POSTINGS = 8
"""Without a cap per group, the search starts from a floor for the k-th best found among
the rarest terms' documents, up to this many times k postings of them (see `_floor`)."""


def _compiled(function: F) -> F:
    """Compile `function` with numba, cached on disk where any cache folder is writable."""
    try:
        return cast(F, numba.njit(cache=True, nogil=True, error_model="numpy")(function))
    except RuntimeError as error:  # numba found no writable cache folder at all
        logger.warning("compiled search code is not cached, so each start compiles it: %s", error)
        return cast(F, numba.njit(nogil=True, error_model="numpy")(function))


@_compiled
def _weight(variant: int, tf: int, norm: float, k1: float, delta: float) -> float:
    """A term's BM25 weight in one document before idf, as rank-bm25 computes it.

    `norm` is k1 x the document's length normalisation for Okapi and BM25+, the length
    normalisation itself for BM25L (whose weight rank-bm25 multiplies by tf once more).
    """
    f = float(tf)
    if variant == PLUS:
        return f * (k1 + 1) / (norm + f)
    if variant == OKAPI:
        return f * (k1 + 1) / (f + norm)
    ctd = f / norm
    return f * (k1 + 1) * (ctd + delta) / (k1 + ctd + delta)


@_compiled
def _norm(variant: int, length: int, k1: float, b: float, average: float) -> float:
    """The `norm` of `_weight` for a document of `length` tokens."""
    norm = 1 - b + b * length / average
    return norm if variant == L else k1 * norm


@_compiled
def weight_table(
    variant: int, k1: float, b: float, average: float, delta: float, tfs: int, lengths: int
) -> Any:
    """`_weight` for every term frequency below `tfs` and document length below `lengths`.

    A document's weight depends only on the term's frequency in it and on its length, and
    most postings have a small frequency in a passage of ordinary length: looking the
    weight up spares a division per posting, and gives the very same number.
    """
    table = np.empty((tfs, lengths), np.float64)
    for length in range(lengths):
        norm = _norm(variant, length, k1, b, average)
        for tf in range(tfs):
            table[tf, length] = _weight(variant, tf, norm, k1, delta)
    return table


@_compiled
def _lookup(tf: int, length: int, weighting: Any) -> float:
    """`_weight` of a posting: from the table when it holds it (see `weight_table`)."""
    table, variant, k1, b, average, delta = weighting
    if tf < table.shape[0] and length < table.shape[1]:
        return table[tf, length]  # type: ignore[no-any-return]
    return _weight(variant, tf, _norm(variant, length, k1, b, average), k1, delta)


@_compiled
def _fixed(value: float) -> int:
    """`value`, already in fixed-point units, rounded (the same value, the same integer)."""
    return int(value + 0.5)


@_compiled
def term_bound(postings: Any, weighting: Any, row: int) -> float:
    """The largest `_weight` of a term over the documents holding it."""
    offsets, doc_ids, tfs, lengths = postings
    best = 0.0
    for p in range(offsets[row], offsets[row + 1]):
        best = max(best, _lookup(tfs[p], lengths[doc_ids[p]], weighting))
    return best


@_compiled
def exhaustive(postings: Any, weighting: Any, rows: Any, weights: Any) -> tuple[Any, Any]:
    """Every document holding a query term (ascending) and its fixed-point score.

    `weights` are each term's idf x its count in the query, times the fixed-point scale
    (a power of two, so that the scaled products round as the unscaled ones would).
    """
    offsets, doc_ids, tfs, lengths = postings
    sums = np.zeros(len(lengths), np.int64)
    seen = np.zeros(len(lengths), np.bool_)
    for i in range(len(rows)):
        row, weight = rows[i], weights[i]
        for p in range(offsets[row], offsets[row + 1]):
            doc = doc_ids[p]
            sums[doc] += _fixed(weight * _lookup(tfs[p], lengths[doc], weighting))
            seen[doc] = True
    found = np.flatnonzero(seen).astype(np.int32)
    return found, sums[found]


@_compiled
def matches(offsets: Any, doc_ids: Any, rows: Any, docs: Any) -> Any:
    """For each of `docs` and each term row, whether the document holds the term."""
    found = np.zeros((len(docs), len(rows)), np.bool_)
    for j in range(len(rows)):
        start, end = offsets[rows[j]], offsets[rows[j] + 1]
        for i in range(len(docs)):
            p = _advance(doc_ids, start, end, docs[i])
            found[i, j] = p < end and doc_ids[p] == docs[i]
    return found


@_compiled
def held_in_runs(doc_ids: Any, offsets: Any, rows: Any, bounds: Any, runs: Any) -> Any:
    """For each term row of `rows` (its postings: `doc_ids[offsets[row]:offsets[row + 1]]`,
    ascending) and each of `runs`, whether the row holds a number from `bounds[run]` up to
    `bounds[run + 1]` (ascending too). The runs' edges are searched in ascending order, each
    search galloping on from the last: two a row and run, all rows in one call."""
    count = len(runs)
    edges = np.empty(2 * count, np.int64)
    for i in range(count):
        edges[i] = bounds[runs[i]]
        edges[count + i] = bounds[runs[i] + 1]
    order = np.argsort(edges)
    found = np.empty(2 * count, np.int64)
    held = np.zeros((len(rows), count), np.bool_)
    for t in range(len(rows)):
        p, end = offsets[rows[t]], offsets[rows[t] + 1]
        for i in order:
            p = _advance(doc_ids, p, end, edges[i])
            found[i] = p
        for i in range(count):
            held[t, i] = found[count + i] > found[i]
    return held


@_compiled
def summed_rows(halves: Any, widen: Any, rows: Any) -> Any:
    """The sum of `rows` of a float16 matrix (given as its bits, `halves`), in float32.

    Row after row, as numpy sums a matrix down its first axis, so the result is the very
    one of `matrix[rows].sum(axis=0, dtype=np.float32)`; each float16 is widened by
    looking its bits up in `widen` (all 65,536 of them), several times faster than
    numpy's conversion, which a pasted article's thousand word pieces wait on.
    """
    out = np.zeros(halves.shape[1], np.float32)
    for r in rows:
        row = halves[r]
        for d in range(len(out)):
            out[d] += widen[row[d]]
    return out


@_compiled
def _advance(doc_ids: Any, p: int, end: int, doc: int) -> int:
    """The first position from `p` on whose document is at least `doc` (galloping search)."""
    if p >= end or doc_ids[p] >= doc:
        return p
    step = 1
    low = p
    while low + step < end and doc_ids[low + step] < doc:
        low += step
        step *= 2
    high = min(low + step, end)  # doc_ids[low] < doc <= doc_ids[high], or high == end
    while high - low > 1:
        middle = (low + high) // 2
        if doc_ids[middle] < doc:
            low = middle
        else:
            high = middle
    return high


_DE_BRUIJN = np.uint64(0x03F79D71B4CB0A89)
_BIT_INDEX = np.array(
    [
        0, 1, 48, 2, 57, 49, 28, 3, 61, 58, 50, 42, 38, 29, 17, 4,
        62, 55, 59, 36, 53, 51, 43, 22, 45, 39, 33, 30, 24, 18, 12, 5,
        63, 47, 56, 27, 60, 41, 37, 16, 54, 35, 52, 21, 44, 32, 23, 11,
        46, 26, 40, 15, 34, 20, 31, 10, 25, 14, 19, 9, 13, 8, 7, 6,
    ],
    dtype=np.int64,
)  # fmt: skip


@_compiled
def _final(fixed: int, scale: float, constant: float, age: int, decay: float, days: float) -> float:
    """A document's score as returned: fixed point back to float, the constant, the prior."""
    value = fixed / scale + constant
    if decay > 0.0:
        value *= 1 - decay + decay * np.exp(-age / days)
    return value


@_compiled
def _ceiling(fixed: int, scale: float, constant: float, decay: float) -> float:
    """The highest `_final` any recency can give a document of this fixed-point score."""
    value = fixed / scale + constant
    if decay > 0.0:
        value *= (1 - decay + decay * 1.0) if value >= 0 else (1 - decay)
    return value


@_compiled
def _threshold(score: float, scale: float, constant: float, decay: float) -> int:
    """The least fixed-point score whose ceiling reaches `score`: below it, no document can.

    The ceiling only rises with the fixed-point score, so the search starts where it
    would reach `score` without the prior (just there for a score of 0 or more, which the
    prior's best factor of 1 leaves as it is) and gallops from there: two or three steps
    where halving the whole range took 62, which counted when the k-th best changes
    often (the second ranking stage's 200 candidates).
    """
    guess = (score - constant) * scale
    start = LOWEST if not guess > LOWEST else -LOWEST if guess >= -LOWEST else int(guess)
    step = 1
    if _ceiling(start, scale, constant, decay) >= score:
        high = start  # gallop down to a low whose ceiling is below `score`
        low = max(LOWEST, high - step)
        while low > LOWEST and _ceiling(low, scale, constant, decay) >= score:
            high, step = low, 2 * step
            low = max(LOWEST, high - step)
        if _ceiling(low, scale, constant, decay) >= score:
            return low
    else:
        low = start  # gallop up to a high whose ceiling reaches it (or the top of the range)
        high = min(-LOWEST, low + step)
        while high < -LOWEST and _ceiling(high, scale, constant, decay) < score:
            low, step = high, 2 * step
            high = min(-LOWEST, low + step)
    while high - low > 1:  # ceiling(low) < score <= ceiling(high)
        middle = low + (high - low) // 2
        if _ceiling(middle, scale, constant, decay) >= score:
            high = middle
        else:
            low = middle
    return high


@_compiled
def _better(score: float, recency: int, doc: int, other_score: float, other_recency: int, other: int) -> bool:
    """Rank order: higher score, then newer, then the lower document number."""
    if score != other_score:
        return score > other_score
    if recency != other_recency:
        return recency > other_recency
    return doc < other


@_compiled
def _swap(i: int, j: int, docs: Any, scores: Any, recencies: Any) -> None:
    docs[i], docs[j] = docs[j], docs[i]
    scores[i], scores[j] = scores[j], scores[i]
    recencies[i], recencies[j] = recencies[j], recencies[i]


@_compiled
def _sift_up(i: int, docs: Any, scores: Any, recencies: Any) -> None:
    """Restore the heap (the worst kept document at its root) after entry i was added."""
    while i > 0:
        parent = (i - 1) // 2
        if not _better(scores[parent], recencies[parent], docs[parent], scores[i], recencies[i], docs[i]):
            break
        _swap(i, parent, docs, scores, recencies)
        i = parent


@_compiled
def _sift_down(i: int, count: int, docs: Any, scores: Any, recencies: Any) -> None:
    """Restore the heap of the first `count` entries after entry i was made better."""
    while True:
        worse = 2 * i + 1
        if worse >= count:
            return
        right = worse + 1
        if right < count and _better(
            scores[worse], recencies[worse], docs[worse], scores[right], recencies[right], docs[right]
        ):
            worse = right
        if not _better(scores[i], recencies[i], docs[i], scores[worse], recencies[worse], docs[worse]):
            return
        _swap(i, worse, docs, scores, recencies)
        i = worse


@_compiled
def _offer(
    doc: int,
    score: float,
    when: int,
    k: int,
    docs: Any,
    scores: Any,
    recencies: Any,
    kept: int,
    groups: Any,
    per_group: int,
) -> tuple[int, bool]:
    """Keep `doc` among the best k if it belongs there; return the new count and whether it did.

    The kept documents are a heap with the worst at its root, so that a search for the
    best 200 candidates (the second ranking stage's) costs a few steps an offer, not 200.
    With `groups`, a document whose group already has `per_group` kept documents takes
    the place of the weakest of them if it is better, and is turned away otherwise.
    """
    if len(groups) > 0:
        group = groups[doc]
        same = 0
        weakest = -1
        for i in range(kept):
            if groups[docs[i]] == group:
                same += 1
                if weakest < 0 or _better(
                    scores[weakest], recencies[weakest], docs[weakest], scores[i], recencies[i], docs[i]
                ):
                    weakest = i
        if same >= per_group:
            if not _better(score, when, doc, scores[weakest], recencies[weakest], docs[weakest]):
                return kept, False
            docs[weakest], scores[weakest], recencies[weakest] = doc, score, when
            _sift_down(weakest, kept, docs, scores, recencies)
            return kept, True
    if kept < k:
        docs[kept], scores[kept], recencies[kept] = doc, score, when
        _sift_up(kept, docs, scores, recencies)
        return kept + 1, True
    if not _better(score, when, doc, scores[0], recencies[0], docs[0]):
        return kept, False
    docs[0], scores[0], recencies[0] = doc, score, when
    _sift_down(0, kept, docs, scores, recencies)
    return kept, True


@_compiled
def _floor(
    postings: Any,
    weighting: Any,
    starts: Any,
    ends: Any,
    weights: Any,
    k: int,
    recency: Any,
    until: int,
    scale: float,
    constant: float,
    decay: float,
    days: float,
) -> float:
    """A score that k eligible documents reach at least: -inf when none is found cheaply.

    The eligible documents of the rarest terms (up to `FLOOR_POSTINGS` x k postings of
    them) are scored on those terms alone. A score of part of a document's terms is at
    most its whole score (no weight is negative), and the prior only lowers a lower
    score, so the k-th best of these is at most the k-th best of all. Looking the other
    terms up for a closer floor cost more than it saved.
    """
    _, doc_ids, tfs, lengths = postings
    terms = len(starts)
    dated = len(recency) > 0
    if terms == 0 or weights.min() < 0:  # a term left out would lift a partial score
        return -np.inf
    sizes = ends - starts
    by_size = np.argsort(sizes, kind="mergesort")
    budget = FLOOR_POSTINGS * k
    total = 0
    chosen = 0
    while chosen < terms and total + sizes[by_size[chosen]] <= budget:
        total += sizes[by_size[chosen]]
        chosen += 1
    if total < k:
        return -np.inf
    # the chosen terms' postings of eligible documents, as (document, contribution)
    keys = np.empty(total, np.int64)
    parts = np.empty(total, np.int64)
    filled = 0
    for i in range(chosen):
        t = by_size[i]
        weight = weights[t]
        for p in range(starts[t], ends[t]):
            doc = doc_ids[p]
            if dated and until >= 0 and recency[doc] > until:
                continue
            keys[filled] = doc
            parts[filled] = _fixed(weight * _lookup(tfs[p], lengths[doc], weighting))
            filled += 1
    order = np.argsort(keys[:filled])  # integers add up alike in any order
    docs = np.empty(filled, np.int64)
    fixed = np.zeros(filled, np.int64)
    found = 0
    for j in order:
        if found == 0 or docs[found - 1] != keys[j]:
            docs[found] = keys[j]
            found += 1
        fixed[found - 1] += parts[j]
    if found < k:
        return -np.inf
    docs, fixed = docs[:found], fixed[:found]
    scores = np.empty(len(docs), np.float64)
    for c in range(len(docs)):
        when = recency[docs[c]] if dated else 0
        scores[c] = _final(fixed[c], scale, constant, until - when, decay, days)
    return np.partition(scores, len(docs) - k)[len(docs) - k]  # type: ignore[no-any-return]


@_compiled
def top_k(
    postings: Any,
    weighting: Any,
    rows: Any,
    weights: Any,
    bounds: Any,
    scale: float,
    constant: float,
    k: int,
    recency: Any,
    until: int,
    decay: float,
    days: float,
    groups: Any,
    per_group: int,
    window: int,
) -> tuple[Any, Any]:
    """The best `k` documents sharing a term with the query, and their scores, in rank order.

    Exact: the same documents and scores as scoring every posting, but with MaxScore
    pruning over windows of document ids. Terms are ordered by `bounds` (each term's
    highest fixed-point contribution); the cheapest ones whose bounds together cannot
    lift a document to the k-th best score found so far are "non-essential". Only the
    other terms' postings are walked, a window at a time into a small buffer; the
    non-essential terms are then added a term at a time to the window's candidates,
    dropping each candidate as soon as its score plus the bounds left cannot reach the
    k-th best. In a window thick with candidates, the dearer non-essential terms are
    walked too (see `WALK_WHEN_DENSE`), which costs less than looking each one up.

    `recency` (empty for none) ranks ties to newer documents and, when `until` is at
    least 0, leaves out documents newer than `until`; `decay` > 0 multiplies scores by
    1 - decay + decay * exp(-(until - recency) / days), a factor at most 1 that the
    bounds respect. `groups` (empty for none) keeps at most `per_group` documents of one
    group: the k-th best is then that of this capped selection, which only rises as
    documents arrive, so pruning against it stays exact.

    Without groups the threshold starts at a floor that k documents are known to reach
    (`_floor`), not at the lowest score: the first windows would otherwise keep whatever
    they hold and walk the common terms' postings until k good documents had turned up,
    which for the second ranking stage's 200 candidates is far into the index.
    """
    offsets, doc_ids, tfs, lengths = postings
    size = len(lengths)
    terms = len(rows)
    dated = len(recency) > 0
    starts = np.empty(terms, np.int64)
    ends = np.empty(terms, np.int64)
    for t in range(terms):
        starts[t] = offsets[rows[t]]
        ends[t] = offsets[rows[t] + 1]
    positions = starts.copy()
    order = np.argsort(bounds, kind="mergesort")  # cheapest term first
    prefix = np.zeros(terms + 1, np.int64)  # prefix[i]: total bound of the i cheapest terms
    for i in range(terms):
        prefix[i + 1] = prefix[i] + bounds[order[i]]
    essential = np.empty(terms, np.int64)

    kept_docs = np.empty(k, np.int64)
    kept_scores = np.empty(k, np.float64)
    kept_recency = np.empty(k, np.int64)
    kept = 0
    threshold = LOWEST
    if len(groups) == 0 and k > 1:
        floor = _floor(
            postings, weighting, starts, ends, weights, k, recency, until, scale, constant, decay, days
        )
        if floor > -np.inf:
            threshold = _threshold(floor, scale, constant, decay)

    buffer = np.zeros(window, np.int64)
    marks = np.zeros(window // 64, np.uint64)
    found_docs = np.empty(window, np.int64)
    found_fixed = np.empty(window, np.int64)
    cheap = 0  # terms order[:cheap] are non-essential
    span = min(FIRST_WINDOW, window)  # small at first, so that a k-th best is found early
    while True:
        while cheap < terms and prefix[cheap + 1] < threshold:
            cheap += 1
        count = 0
        low = size
        for i in range(cheap, terms):
            t = order[i]
            if positions[t] < ends[t]:
                essential[count] = t
                count += 1
                low = min(low, doc_ids[positions[t]])
        if count == 0:
            break
        walked = 0
        for e in range(count):
            walked += _walk(
                postings, weighting, essential[e], weights, positions, ends, low, span, buffer, marks
            )
        # many candidates: walk the dearer non-essential terms too, look up only the cheapest
        probed = cheap
        if walked > span // 8:
            while probed > 0 and prefix[probed] > WALK_WHEN_DENSE * threshold:
                probed -= 1
        for i in range(probed, cheap):
            _walk(postings, weighting, order[i], weights, positions, ends, low, span, buffer, marks)
        # the window's candidates, in order: eligible, and able to reach the k-th best
        rest = prefix[probed]
        found = 0
        for w in range((span + 63) // 64):
            bits = marks[w]
            marks[w] = 0
            while bits:
                lowest = bits & (~bits + np.uint64(1))
                bits ^= lowest
                local = w * 64 + _BIT_INDEX[(lowest * _DE_BRUIJN) >> np.uint64(58)]
                fixed = buffer[local]
                buffer[local] = 0
                doc = low + local
                if (dated and until >= 0 and recency[doc] > until) or fixed + rest < threshold:
                    continue
                found_docs[found] = doc
                found_fixed[found] = fixed
                found += 1
        # non-essential terms a term at a time, dearest first, dropping hopeless candidates
        for i in range(probed - 1, -1, -1):
            if found == 0:
                break
            t = order[i]
            rest -= bounds[t]
            weight = weights[t]
            p, end = positions[t], ends[t]
            still = 0
            for c in range(found):
                doc = found_docs[c]
                fixed = found_fixed[c]
                p = _advance(doc_ids, p, end, doc)
                if p < end and doc_ids[p] == doc:
                    fixed += _fixed(weight * _lookup(tfs[p], lengths[doc], weighting))
                if fixed + rest >= threshold:
                    found_docs[still] = doc
                    found_fixed[still] = fixed
                    still += 1
            positions[t] = p
            found = still
        span = min(2 * span, window)
        for c in range(found):
            if found_fixed[c] < threshold:  # the k-th best has risen meanwhile
                continue
            doc = found_docs[c]
            when = recency[doc] if dated else 0
            score = _final(found_fixed[c], scale, constant, until - when, decay, days)
            kept, changed = _offer(
                doc, score, when, k, kept_docs, kept_scores, kept_recency, kept, groups, per_group
            )
            if changed and kept == k:
                threshold = max(threshold, _threshold(kept_scores[0], scale, constant, decay))

    for end in range(kept - 1, 0, -1):  # heap sort: the worst left goes last each time
        _swap(0, end, kept_docs, kept_scores, kept_recency)
        _sift_down(0, end, kept_docs, kept_scores, kept_recency)
    return kept_docs[:kept].astype(np.int32), kept_scores[:kept].copy()


@_compiled
def _walk(
    postings: Any,
    weighting: Any,
    t: int,
    weights: Any,
    positions: Any,
    ends: Any,
    low: int,
    span: int,
    buffer: Any,
    marks: Any,
) -> int:
    """Add term t's contributions to the documents low..low+span-1 into the window's buffer.

    Returns how many postings it walked.
    """
    _, doc_ids, tfs, lengths = postings
    weight = weights[t]
    high = low + span
    end = ends[t]
    start = p = _advance(doc_ids, positions[t], end, low)  # a non-essential term may lag behind
    word, bits = 0, np.uint64(0)  # the marks of one 64-document word, kept in a register
    while p < end:
        doc = doc_ids[p]
        if doc >= high:
            break
        local = doc - low
        buffer[local] += _fixed(weight * _lookup(tfs[p], lengths[doc], weighting))
        if local >> 6 != word:
            marks[word] |= bits
            word, bits = local >> 6, np.uint64(0)
        bits |= np.uint64(1) << np.uint64(local & 63)
        p += 1
    marks[word] |= bits
    positions[t] = p
    return p - start

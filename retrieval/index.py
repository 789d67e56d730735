"""An exact BM25 index over analyzed passages, in numpy arrays.

Scores equal rank-bm25's (`BM25Okapi`, `BM25L`, `BM25Plus`) for the same tokens. Postings
are stored per term (compressed sparse rows), so a question costs time in proportion to
its terms' postings, not to the size of the corpus; and `top` skips most of even those,
finding the same top k as scoring them all would (compiled loops in `kernels`).
"""

from __future__ import annotations

import array
import functools
import itertools
import math
import mmap
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

__all__ = ["BM25Index", "BM25Params", "Ranking", "Variant", "top_k"]

Variant = Literal["okapi", "l", "plus"]
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class BM25Params:
    """A BM25 variant as rank-bm25 defines it, with its parameters.

    `delta` is BM25L's and BM25Plus's lower bound on a matched term's weight (rank-bm25
    defaults: 0.5 and 1.0); `epsilon` is BM25Okapi's floor for negative idf, as a
    fraction of the mean idf.
    """

    variant: Variant = "plus"
    k1: float = 1.5
    b: float = 0.75
    delta: float | None = None
    epsilon: float = 0.25

    def __post_init__(self) -> None:
        if self.variant not in ("okapi", "l", "plus"):
            raise ValueError(f"unknown BM25 variant {self.variant!r}; choose okapi, l or plus")
        if not (0 <= self.k1 < math.inf and 0 <= self.b <= 1):  # false for nan, which passes `k1 < 0`
            raise ValueError(f"BM25 needs k1 >= 0 and 0 <= b <= 1, got k1={self.k1}, b={self.b}")
        if not all(map(math.isfinite, (self.lower_bound, self.epsilon))):
            raise ValueError(f"BM25 needs finite delta and epsilon, got {self.delta} and {self.epsilon}")

    @property
    def lower_bound(self) -> float:
        """The `delta` in force for this variant."""
        if self.delta is not None:
            return self.delta
        return {"okapi": 0.0, "l": 0.5, "plus": 1.0}[self.variant]


@dataclass(frozen=True, slots=True)
class Ranking:
    """What decides a top k besides BM25: recency, an as-of date, a prior, a cap per group.

    `recency` (one value per document, e.g. its date as an ordinal) breaks ties to the
    higher value. With `until`, documents whose recency is above it are left out, and
    `decay` = (weight, days) multiplies each score by
    1 - weight + weight * exp(-(until - recency) / days). `groups` (one per document) and
    `per_group` keep at most that many documents of one group.
    """

    recency: npt.NDArray[np.int32] | None = None
    until: int | None = None
    decay: tuple[float, float] | None = None
    groups: npt.NDArray[np.int32] | None = None
    per_group: int | None = None


@dataclass(frozen=True, slots=True)
class _Prepared:
    rows: IntArray
    weights: FloatArray
    """idf x count in the query, in fixed-point units (times `scale`)."""
    bounds: IntArray
    scale: float
    constant: float


class BM25Index:
    """Postings and statistics for exact BM25 scoring of a fixed set of documents."""

    def __init__(
        self,
        params: BM25Params,
        vocabulary: dict[str, int],
        offsets: IntArray,
        doc_ids: npt.NDArray[np.int32],
        term_freqs: npt.NDArray[np.integer],
        doc_lengths: npt.NDArray[np.int32],
    ) -> None:
        self.params = params
        self.vocabulary = vocabulary
        self.offsets = _frozen(offsets, np.int64)
        self.doc_ids = _frozen(doc_ids, np.int32)
        self.term_freqs = _frozen(term_freqs, np.asarray(term_freqs).dtype.type)
        self.doc_lengths = _frozen(doc_lengths, np.int32)
        self.size = len(doc_lengths)
        self._doc_freqs = np.asarray(np.diff(self.offsets))
        self.idf = _idf(params, self._doc_freqs.astype(np.float64), self.size)
        self._average = float(self.doc_lengths.sum(dtype=np.int64)) / self.size if self.size else 1.0
        self._postings = (self.offsets, self.doc_ids, self.term_freqs, self.doc_lengths)
        self._term_maxima = np.full(len(vocabulary), np.nan)
        """Each term's highest weight before idf, found on the term's first use."""

    @functools.cached_property
    def _weighting(self) -> tuple[Any, ...]:
        """What the compiled code needs to weigh a posting (see `kernels.weight_table`).

        Made on the first search, which is also when numba is loaded: opening an index,
        building one or asking for its statistics does not wait for the compiler.
        """
        from . import kernels

        params = self.params
        variant = {"okapi": kernels.OKAPI, "l": kernels.L, "plus": kernels.PLUS}[params.variant]
        longest = int(self.doc_lengths.max()) if self.size else 0
        average = self._average or 1.0
        table = kernels.weight_table(
            variant,
            params.k1,
            params.b,
            average,
            params.lower_bound,
            TABLE_TFS,
            min(longest + 1, TABLE_LENGTHS),
        )
        return (table, variant, params.k1, params.b, average, params.lower_bound)

    @classmethod
    def build(cls, documents: Iterable[Sequence[str]], params: BM25Params | None = None) -> BM25Index:
        """Index documents given as token lists; document i gets id i.

        Documents may be a generator: each is turned into term ids at once and kept in
        compact arrays (4 bytes a token), never as lists of strings.
        """
        vocabulary: dict[str, int] = {}
        token_ids, lengths = _token_ids(documents, vocabulary)
        return cls.from_token_ids(token_ids, lengths, list(vocabulary), params)

    def updated(self, keep: npt.NDArray[np.bool_], documents: Iterable[Sequence[str]]) -> BM25Index:
        """This index without the documents not in `keep`, plus new documents after them.

        Kept documents are renumbered in order (0, 1, ...) and the new ones follow. Only
        the new documents' tokens are read: the kept ones' postings are moved as they are,
        so a reload after a few changed files costs little more than indexing those.
        Scores equal those of an index built from scratch over the same documents.
        """
        vocabulary = dict(self.vocabulary)
        token_ids, lengths = _token_ids(documents, vocabulary)
        added = BM25Index.from_token_ids(token_ids, lengths, list(vocabulary), self.params)
        old_offsets, old_docs, old_freqs = (np.asarray(part) for part in self._postings[:3])
        still = None if keep.all() else keep[old_docs]
        kept_offsets = old_offsets if still is None else _kept_offsets(old_offsets, still)
        # Each term's row: its kept postings, then the new documents' (ids after the kept ones).
        grown = len(vocabulary) - len(self.vocabulary)
        old_offsets = np.r_[old_offsets, np.full(grown, old_offsets[-1])]
        kept_offsets = np.r_[kept_offsets, np.full(grown, kept_offsets[-1])]
        offsets = kept_offsets + added.offsets
        rows = _Rows(old_offsets, still, added.offsets, int(offsets[-1]))
        renumber = None if still is None else (np.cumsum(keep, dtype=np.int64) - 1).astype(np.int32)
        doc_ids = rows.merged(old_docs, renumber, added.doc_ids + int(keep.sum()), np.dtype(np.int32))
        _release(old_docs)
        wide = np.promote_types(old_freqs.dtype, added.term_freqs.dtype)
        term_freqs = _narrowed(rows.merged(old_freqs, None, added.term_freqs, wide))
        _release(old_freqs)
        used = np.diff(offsets) > 0  # a term only removed documents held would skew Okapi's mean idf
        names = list(vocabulary)
        return BM25Index(
            self.params,
            {names[row]: number for number, row in enumerate(np.flatnonzero(used).tolist())},
            np.r_[offsets[:-1][used], offsets[-1]],
            doc_ids,
            term_freqs,
            np.r_[self.doc_lengths[keep], added.doc_lengths].astype(np.int32),
        )

    @classmethod
    def from_token_ids(
        cls,
        token_ids: npt.NDArray[np.integer],
        doc_lengths: npt.NDArray[np.integer],
        vocabulary: Sequence[str],
        params: BM25Params | None = None,
    ) -> BM25Index:
        """Index documents given as one flat array of term ids and each document's length.

        Vectorised and in chunks of documents: each chunk's (term, document) keys are
        sorted once to give its postings with their term frequencies, which are then
        placed straight into the final arrays (a counting sort by term), so memory
        peaks near the size of the index rather than of all the tokens.
        """
        token_ids = np.asarray(token_ids)
        lengths = np.asarray(doc_lengths, dtype=np.int64)
        starts = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=starts[1:])
        chunks = _chunks(starts, CHUNK_TOKENS)
        doc_freqs = np.zeros(len(vocabulary), dtype=np.int64)
        for first, last in chunks:
            terms, _, _ = _chunk_postings(token_ids, starts, first, last)
            doc_freqs += np.bincount(terms, minlength=len(vocabulary))
        offsets = np.zeros(len(vocabulary) + 1, dtype=np.int64)
        np.cumsum(doc_freqs, out=offsets[1:])
        doc_ids = np.empty(int(offsets[-1]), dtype=np.int32)
        term_freqs = np.empty(int(offsets[-1]), dtype=np.int32)
        fill = offsets[:-1].copy()
        for first, last in chunks:
            terms, docs, counts = _chunk_postings(token_ids, starts, first, last)
            destination = fill[terms] + _rank_in_runs(terms)
            doc_ids[destination] = docs
            term_freqs[destination] = counts
            fill += np.bincount(terms, minlength=len(vocabulary))
        return cls(
            params or BM25Params(),
            {term: number for number, term in enumerate(vocabulary)},
            offsets,
            doc_ids,
            _narrowed(term_freqs),
            lengths.astype(np.int32),
        )

    def postings(self, term: str) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]]:
        """Return the ascending ids of documents holding `term`, and its frequency in each."""
        row = self.vocabulary.get(term)
        if row is None:
            empty = np.empty(0, dtype=np.int32)
            return empty, empty
        return self._row(row)

    def doc_freq(self, term: str) -> int:
        """How many documents hold `term`: read from an array in memory, as a question asks it
        of each of its terms (a pasted article, of hundreds) before any is scored."""
        row = self.vocabulary.get(term)
        return 0 if row is None else int(self._doc_freqs[row])

    def _row(self, row: int) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]]:
        start, end = self.offsets[row], self.offsets[row + 1]
        return self.doc_ids[start:end], self.term_freqs[start:end]

    def score(self, query: Sequence[str]) -> tuple[npt.NDArray[np.int32], FloatArray]:
        """Return the documents sharing a term with `query` (ascending) and their BM25 scores.

        A query term counts as often as it occurs, as in rank-bm25. Documents with no
        query term are left out even where the variant would give them a score. Every
        posting of every query term is scored: the reference that `top` must agree with.
        """
        from . import kernels

        prepared = self._prepare(query)
        if prepared is None:
            return np.empty(0, dtype=np.int32), np.empty(0, dtype=np.float64)
        found, fixed = kernels.exhaustive(self._postings, self._weighting, prepared.rows, prepared.weights)
        return found, fixed / prepared.scale + prepared.constant

    def top(
        self, query: Sequence[str], k: int, ranking: Ranking | None = None
    ) -> tuple[npt.NDArray[np.int32], FloatArray]:
        """The best `k` documents sharing a term with `query`, and their scores, best first.

        The same documents and scores as ranking everything `score` returns (ties to a
        higher `ranking.recency`, then to the lower document number), but pruned: whole
        stretches of the commonest terms' postings are skipped when they cannot change
        the top k (see `kernels.top_k`). `ranking` adds what a search applies on the way:
        an as-of date, a recency prior and a cap per group.
        """
        from . import kernels

        prepared = self._prepare(query)
        if prepared is None or k <= 0:
            return np.empty(0, dtype=np.int32), np.empty(0, dtype=np.float64)
        ranking = ranking or Ranking()
        recency = _NONE if ranking.recency is None else _frozen(ranking.recency, np.int32)
        groups = _NONE if ranking.groups is None or ranking.per_group is None else ranking.groups
        weight, days = ranking.decay or (0.0, 1.0)
        if ranking.until is None or ranking.recency is None:
            weight = 0.0  # the prior counts age from the as-of date
        return kernels.top_k(
            self._postings, self._weighting, prepared.rows, prepared.weights, prepared.bounds,
            prepared.scale, prepared.constant, k, recency, -1 if ranking.until is None else ranking.until,
            weight, days, _frozen(groups, np.int32), ranking.per_group or 0, WINDOW,
        )  # fmt: skip

    def contains(self, term: str, doc_ids: npt.NDArray[np.int32]) -> npt.NDArray[np.bool_]:
        """Tell for each of `doc_ids` whether it holds `term` (postings are sorted)."""
        ids, _ = self.postings(term)
        if not len(ids):
            return np.zeros(len(doc_ids), dtype=bool)
        where = np.searchsorted(ids, doc_ids).clip(max=len(ids) - 1)
        return np.asarray(ids[where] == doc_ids)

    def holding(self, terms: Sequence[str], doc_ids: npt.NDArray[np.int32]) -> npt.NDArray[np.bool_]:
        """For each of `doc_ids` (rows) and each of `terms` (columns), whether the document holds it."""
        from . import kernels

        rows = np.asarray([self.vocabulary.get(term, -1) for term in terms], dtype=np.int64)
        known = rows >= 0
        found = np.zeros((len(doc_ids), len(terms)), dtype=bool)
        if known.any():
            found[:, known] = kernels.matches(self.offsets, self.doc_ids, rows[known], doc_ids)
        return found

    def _prepare(self, query: Sequence[str]) -> _Prepared | None:
        """The query's term rows, weights (idf x count) and bounds, in the units of one scale."""
        vocabulary = self.vocabulary
        counted = [(vocabulary[term], count) for term, count in Counter(query).items() if term in vocabulary]
        if not counted:
            return None
        rows = np.asarray([row for row, _ in counted], dtype=np.int64)
        counts = np.asarray([count for _, count in counted], dtype=np.float64)
        weights = self.idf[rows] * counts
        maxima = self._maxima(rows)
        reach = float(np.abs(weights * maxima).sum())
        # fixed-point units: as fine as 2**-40, but no sum of contributions may pass 2**60
        scale = 2.0 ** min(40, 60 - math.ceil(math.log2(reach + 1)))
        scaled = weights * scale
        bounds = np.where(weights > 0, np.floor(scaled * maxima) + 1, 1).astype(np.int64)
        constant = float(weights.sum()) * self.params.lower_bound if self.params.variant == "plus" else 0.0
        return _Prepared(rows, scaled, bounds, scale, constant)

    def _maxima(self, rows: IntArray) -> FloatArray:
        """The highest weight before idf of each term row, computed once per term."""
        from . import kernels

        maxima = self._term_maxima[rows]
        for position in np.flatnonzero(np.isnan(maxima)).tolist():
            row = int(rows[position])
            found = kernels.term_bound(self._postings, self._weighting, row)
            maxima[position] = self._term_maxima[row] = found
        return maxima


CHUNK_TOKENS = 4_000_000
WINDOW = 4096
"""Documents scored at a time by `top`: the buffer's size (a power of two, a multiple of 64)."""
TABLE_TFS, TABLE_LENGTHS = 32, 4096
"""The weight table's extent (see `kernels.weight_table`); rarer postings are computed."""
_NONE = np.empty(0, dtype=np.int32)
_NONE.flags.writeable = False


def _narrowed(term_freqs: npt.NDArray[np.integer]) -> npt.NDArray[np.integer]:
    """Term frequencies in the smallest type that holds them: a byte each, in practice.

    Scoring a long question reads millions of postings, and memory bandwidth is what
    limits it: a byte instead of four for each frequency makes a posting 5 bytes, not 8.
    """
    largest = int(term_freqs.max()) if len(term_freqs) else 0
    for kind in (np.uint8, np.uint16):
        if largest <= np.iinfo(kind).max:
            return term_freqs.astype(kind, copy=False)
    return term_freqs.astype(np.int32, copy=False)


MERGE_BLOCK = 1 << 22
"""Postings moved at a time when an update merges rows: the temporaries of a block, not of the index."""


def _kept_offsets(offsets: npt.NDArray[np.int64], still: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
    """Row offsets once the postings not `still` held are dropped."""
    counts = np.zeros(len(offsets) - 1, dtype=np.int64)
    filled = offsets[:-1] < offsets[1:]  # `reduceat` sums an empty row as its next value
    counts[filled] = np.add.reduceat(still, offsets[:-1][filled], dtype=np.int64)
    kept = np.zeros(len(offsets), dtype=np.int64)
    np.cumsum(counts, out=kept[1:])
    return kept


@dataclass(frozen=True, slots=True)
class _Rows:
    """How an update merges postings: each term's kept old postings, then its added ones."""

    old_offsets: npt.NDArray[np.int64]
    still: npt.NDArray[np.bool_] | None
    """Which old postings are kept (None: all)."""
    added_offsets: npt.NDArray[np.int64]
    size: int

    def merged(
        self,
        old: npt.NDArray[Any],
        renumber: npt.NDArray[Any] | None,
        added: npt.NDArray[Any],
        dtype: np.dtype[Any],
    ) -> npt.NDArray[Any]:
        """One array of the merged rows, written in place: between two rows that gain
        postings, the old ones move as one run, a block at a time, so that no temporary
        is as large as the index (as `np.insert` and a mask over every posting would be)."""
        out = np.empty(self.size, dtype=dtype)
        gaining = np.flatnonzero(np.diff(self.added_offsets))
        ends = self.old_offsets[gaining + 1].tolist()
        starts, stops = self.added_offsets[gaining].tolist(), self.added_offsets[gaining + 1].tolist()
        written = read = 0
        for end, start, stop in zip([*ends, len(old)], [*starts, 0], [*stops, 0], strict=True):
            for block in range(read, end, MERGE_BLOCK):
                values = old[block : min(block + MERGE_BLOCK, end)]
                if self.still is not None:
                    values = values[self.still[block : min(block + MERGE_BLOCK, end)]]
                if renumber is not None:
                    values = renumber[values]
                out[written : written + len(values)] = values
                written += len(values)
            out[written : written + stop - start] = added[start:stop]
            written, read = written + stop - start, end
        return out


def _release(array: npt.NDArray[Any]) -> None:
    """Let go of the pages of a memory-mapped array read through once (an update's old
    postings): they count in this process's resident memory, as much as the file is large,
    until they are released. They stay in the page cache, and the array stays readable.
    The saved index is mapped read-only; a copy-on-write map would lose what was written."""
    base: Any = array
    while base is not None and not isinstance(base, mmap.mmap):
        base = getattr(base, "base", None)
    if base is not None and hasattr(mmap, "MADV_DONTNEED"):
        base.madvise(mmap.MADV_DONTNEED)


def _frozen(values: npt.ArrayLike, dtype: type[np.generic]) -> npt.NDArray[Any]:
    """A read-only view (a copy only if the type differs), so compiled code sees one array type.

    A memory-mapped array stays one: the view shares its mapping.
    """
    same = isinstance(values, np.ndarray) and values.dtype == dtype
    view = (values if same else np.asarray(values, dtype=dtype)).view()  # type: ignore[union-attr]
    view.flags.writeable = False
    return view


def _token_ids(
    documents: Iterable[Sequence[str]], vocabulary: dict[str, int]
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int64]]:
    """Documents as one flat array of term ids (new terms added to `vocabulary`) and lengths."""
    ids = array.array("i")
    lengths = array.array("q")
    for tokens in documents:
        lengths.append(len(tokens))
        ids.extend([vocabulary.setdefault(token, len(vocabulary)) for token in tokens])
    return np.frombuffer(ids, dtype=np.int32), np.frombuffer(lengths, dtype=np.int64)


def _rank_in_runs(sorted_keys: IntArray) -> IntArray:
    """For each element of a sorted array, how many equal ones come before it."""
    if not len(sorted_keys):
        return sorted_keys
    run_starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    runs = np.diff(np.r_[run_starts, len(sorted_keys)])
    return np.arange(len(sorted_keys)) - np.repeat(run_starts, runs)


def _chunks(starts: IntArray, tokens: int) -> list[tuple[int, int]]:
    """Split documents into runs of about `tokens` tokens: (first, last) document ranges."""
    cuts = np.searchsorted(starts, np.arange(0, starts[-1], tokens), side="right") - 1
    edges = np.unique(np.r_[cuts, len(starts) - 1])
    return [(int(first), int(last)) for first, last in itertools.pairwise(edges)]


def _chunk_postings(
    token_ids: npt.NDArray[np.integer], starts: IntArray, first: int, last: int
) -> tuple[IntArray, IntArray, IntArray]:
    """Postings of documents first..last-1: terms ascending, then documents, with counts."""
    span = last - first
    tokens = token_ids[starts[first] : starts[last]].astype(np.int64)
    local = np.repeat(np.arange(span, dtype=np.int64), np.diff(starts[first : last + 1]))
    keys, counts = np.unique(tokens * span + local, return_counts=True)
    return keys // span, keys % span + first, counts


def _idf(params: BM25Params, doc_freqs: FloatArray, size: int) -> FloatArray:
    """Inverse document frequency exactly as rank-bm25 computes it per variant."""
    present = doc_freqs > 0  # a vocabulary may name terms no document holds: they score nothing
    idf = np.zeros(len(doc_freqs), dtype=np.float64)
    found = doc_freqs[present]
    if params.variant == "plus":
        idf[present] = np.log((size + 1) / found)
    elif params.variant == "l":
        idf[present] = math.log(size + 1) - np.log(found + 0.5)
    else:
        idf[present] = np.log(size - found + 0.5) - np.log(found + 0.5)
        if present.any():
            floor = params.epsilon * float(idf[present].mean())
            idf[present & (idf < 0)] = floor
    return idf


def top_k(
    doc_ids: npt.NDArray[np.int32],
    scores: FloatArray,
    k: int,
    groups: npt.NDArray[np.int32],
    recency: npt.NDArray[np.int32],
    per_group: int | None = None,
) -> list[int]:
    """Pick the best `k` positions of `doc_ids` by score, ties to higher `recency`.

    At most `per_group` documents of one group (an article) are taken, so one long
    article cannot crowd out the rest. Only a small head of the candidates is sorted,
    grown until enough groups are found: top-k without sorting everything.
    """
    if k <= 0 or not len(doc_ids):
        return []
    head = min(len(doc_ids), max(8 * k, 64))
    while True:
        if head < len(doc_ids):
            cut = np.partition(scores, len(scores) - head)[len(scores) - head]
            positions = np.flatnonzero(scores >= cut)
        else:
            positions = np.arange(len(doc_ids))
        order = positions[np.lexsort((-recency[doc_ids[positions]], -scores[positions]))]
        chosen = _cap_per_group(order, doc_ids, groups, k, per_group)
        if len(chosen) == k or len(positions) == len(doc_ids):
            return chosen
        head *= 4


def _cap_per_group(
    order: IntArray,
    doc_ids: npt.NDArray[np.int32],
    groups: npt.NDArray[np.int32],
    k: int,
    per_group: int | None,
) -> list[int]:
    chosen: list[int] = []
    taken: Counter[int] = Counter()
    for position in order.tolist():
        group = int(groups[doc_ids[position]])
        if per_group is not None and taken[group] >= per_group:
            continue
        taken[group] += 1
        chosen.append(position)
        if len(chosen) == k:
            break
    return chosen

"""An exact BM25 index over analyzed passages, in numpy arrays.

Scores equal rank-bm25's (`BM25Okapi`, `BM25L`, `BM25Plus`) for the same tokens, but
only the passages that contain a query term are touched: postings are stored per term
(compressed sparse rows), so a question costs time in proportion to its terms' postings,
not to the size of the corpus.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

__all__ = ["BM25Index", "BM25Params", "Variant", "top_k"]

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
        if self.k1 < 0 or not 0 <= self.b <= 1:
            raise ValueError(f"BM25 needs k1 >= 0 and 0 <= b <= 1, got k1={self.k1}, b={self.b}")

    @property
    def lower_bound(self) -> float:
        """The `delta` in force for this variant."""
        if self.delta is not None:
            return self.delta
        return {"okapi": 0.0, "l": 0.5, "plus": 1.0}[self.variant]


class BM25Index:
    """Postings and statistics for exact BM25 scoring of a fixed set of documents."""

    def __init__(
        self,
        params: BM25Params,
        vocabulary: dict[str, int],
        offsets: IntArray,
        doc_ids: npt.NDArray[np.int32],
        term_freqs: npt.NDArray[np.int32],
        doc_lengths: npt.NDArray[np.int32],
    ) -> None:
        self.params = params
        self.vocabulary = vocabulary
        self.offsets = offsets
        self.doc_ids = doc_ids
        self.term_freqs = term_freqs
        self.doc_lengths = doc_lengths
        self.size = len(doc_lengths)
        doc_freqs = np.diff(offsets).astype(np.float64)
        self.idf = _idf(params, doc_freqs, self.size)
        average = float(doc_lengths.sum()) / self.size if self.size else 1.0
        self.length_norm = 1 - params.b + params.b * doc_lengths / (average or 1.0)

    @classmethod
    def build(cls, documents: Iterable[Sequence[str]], params: BM25Params | None = None) -> BM25Index:
        """Index documents given as token lists; document i gets id i."""
        vocabulary: dict[str, int] = {}
        term_column: list[int] = []
        doc_column: list[int] = []
        tf_column: list[int] = []
        lengths: list[int] = []
        for doc_id, tokens in enumerate(documents):
            lengths.append(len(tokens))
            for token, count in Counter(tokens).items():
                term_column.append(vocabulary.setdefault(token, len(vocabulary)))
                doc_column.append(doc_id)
                tf_column.append(count)
        terms = np.asarray(term_column, dtype=np.int64)
        order = np.argsort(terms, kind="stable")  # keeps doc ids ascending in each row
        offsets = np.zeros(len(vocabulary) + 1, dtype=np.int64)
        np.cumsum(np.bincount(terms, minlength=len(vocabulary)), out=offsets[1:])
        return cls(
            params or BM25Params(),
            vocabulary,
            offsets,
            np.asarray(doc_column, dtype=np.int32)[order],
            np.asarray(tf_column, dtype=np.int32)[order],
            np.asarray(lengths, dtype=np.int32),
        )

    def postings(self, term: str) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]]:
        """Return the ascending ids of documents holding `term`, and its frequency in each."""
        row = self.vocabulary.get(term)
        if row is None:
            empty = np.empty(0, dtype=np.int32)
            return empty, empty
        start, end = self.offsets[row], self.offsets[row + 1]
        return self.doc_ids[start:end], self.term_freqs[start:end]

    def score(self, query: Sequence[str]) -> tuple[npt.NDArray[np.int32], FloatArray]:
        """Return the documents sharing a term with `query` and their BM25 scores.

        A query term counts as often as it occurs, as in rank-bm25. Documents with no
        query term are left out even where the variant would give them a score.
        """
        params = self.params
        k1, delta = params.k1, params.lower_bound
        ids_parts: list[npt.NDArray[np.int32]] = []
        score_parts: list[FloatArray] = []
        constant = 0.0
        for term, count in Counter(query).items():
            row = self.vocabulary.get(term)
            if row is None:
                continue
            ids, tfs = self.postings(term)
            idf = self.idf[row] * count
            tf = tfs.astype(np.float64)
            norm = self.length_norm[ids]
            if params.variant == "okapi":
                part = idf * (tf * (k1 + 1) / (tf + k1 * norm))
            elif params.variant == "plus":
                part = idf * (tf * (k1 + 1) / (k1 * norm + tf))
                constant += idf * delta
            else:
                ctd = tf / norm
                part = idf * tf * (k1 + 1) * (ctd + delta) / (k1 + ctd + delta)
            ids_parts.append(ids)
            score_parts.append(part)
        if not ids_parts:
            return np.empty(0, dtype=np.int32), np.empty(0, dtype=np.float64)
        if len(ids_parts) == 1:
            return ids_parts[0], score_parts[0] + constant
        all_ids = np.concatenate(ids_parts)
        unique, inverse = np.unique(all_ids, return_inverse=True)
        weights = np.concatenate(score_parts)
        scores = np.bincount(inverse, weights=weights, minlength=len(unique)).astype(np.float64)
        return unique.astype(np.int32), scores + constant

    def contains(self, term: str, doc_ids: npt.NDArray[np.int32]) -> npt.NDArray[np.bool_]:
        """Tell for each of `doc_ids` whether it holds `term` (postings are sorted)."""
        ids, _ = self.postings(term)
        if not len(ids):
            return np.zeros(len(doc_ids), dtype=bool)
        where = np.searchsorted(ids, doc_ids).clip(max=len(ids) - 1)
        return np.asarray(ids[where] == doc_ids)


def _idf(params: BM25Params, doc_freqs: FloatArray, size: int) -> FloatArray:
    """Inverse document frequency exactly as rank-bm25 computes it per variant."""
    if params.variant == "plus":
        return np.log((size + 1) / doc_freqs)
    if params.variant == "l":
        return math.log(size + 1) - np.log(doc_freqs + 0.5)
    idf = np.log(size - doc_freqs + 0.5) - np.log(doc_freqs + 0.5)
    if len(idf):
        idf[idf < 0] = params.epsilon * float(idf.mean())
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

"""One story, one answer: near-identical passages from several articles shown once.

Wire copy runs in many outlets, and a developing story is re-published with each update.
Showing the same paragraph three times wastes the reader's screen, so hits whose passages
share most of their words are folded into the newest one, which names the others.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from .analyzer import analyze
from .models import Hit

__all__ = ["SAME_STORY", "fold_same_story", "similarity"]

SAME_STORY = 0.7
"""Jaccard similarity of two passages' term sets from which they tell the same story."""


def similarity(left: frozenset[str], right: frozenset[str]) -> float:
    """Jaccard similarity of two term sets (0 when both are empty)."""
    union = len(left | right)
    return len(left & right) / union if union else 0.0


def fold_same_story(hits: Iterable[Hit], k: int, threshold: float = SAME_STORY) -> list[Hit]:
    """Keep the first `k` distinct stories, in rank order.

    A hit whose passage is near-identical to an earlier kept one is folded into it; the
    kept hit is then the newer of the two (it keeps the better rank), and the older
    article is listed in `also_reported_by`.
    """
    kept: list[Hit] = []
    terms: list[frozenset[str]] = []
    for hit in hits:
        these = frozenset(analyze(hit.passage.text))
        same = next((i for i, seen in enumerate(terms) if similarity(these, seen) >= threshold), None)
        if same is None:
            if len(kept) == k:
                break
            kept.append(hit)
            terms.append(these)
            continue
        kept[same] = _merge(kept[same], hit)
    return kept


def _merge(kept: Hit, duplicate: Hit) -> Hit:
    if kept.article.id == duplicate.article.id:
        return kept
    newer, older = (duplicate, kept) if duplicate.article.date > kept.article.date else (kept, duplicate)
    also = sorted(
        {older.article, *older.also_reported_by, *newer.also_reported_by},
        key=lambda a: (a.date, a.id),
        reverse=True,
    )
    return replace(newer, score=max(kept.score, duplicate.score), also_reported_by=tuple(also))

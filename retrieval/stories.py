"""One story, one answer: the same story from several articles shown once.

Wire copy runs in many outlets, and a developing story is re-published with each update.
Showing the same paragraph three times wastes the reader's screen, so hits whose passages
share most of their words are folded into the newest one, which names the others. Copies
are told apart by their surface words, as near-duplicate detection usually does, not by
the analyzer's terms: a copy has the very words of its original, and reading a passage's
words takes a small part of the time the analyzer takes over words it has not seen. Other
outlets tell the same story in their own words: two articles published within
`STORY_DAYS` of each other whose headline-and-lead vectors are `SAME_ARTICLE_STORY`
alike are one story too, answered by the better-ranked of them.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace

import numpy as np
import numpy.typing as npt

from .models import Hit

__all__ = [
    "SAME_ARTICLE_STORY",
    "SAME_STORY",
    "STORY_DAYS",
    "fold_same_story",
    "same_story_by",
    "similarity",
    "words",
]

SAME_STORY = 0.7
"""Jaccard similarity of two passages' `words` from which they tell the same story."""
STORY_DAYS = 3
SAME_ARTICLE_STORY = 0.85
"""Cosine of two articles' vectors from which, published within `STORY_DAYS`, they are one story."""

SameStory = Callable[[Hit, Hit], bool]


def same_story_by(
    vectors: Mapping[str, npt.NDArray[np.float32]],
    days: int = STORY_DAYS,
    threshold: float = SAME_ARTICLE_STORY,
) -> SameStory:
    """Whether two hits' articles, given their vectors by article id, tell one story."""

    def same(left: Hit, right: Hit) -> bool:
        a, b = left.article, right.article
        if a.id == b.id or abs((a.date - b.date).days) > days:
            return False
        return float(vectors[a.id] @ vectors[b.id]) >= threshold

    return same


_AROUND_WORDS = string.punctuation + "«»‹›“”„‘’‚–—…"
"""What a word may carry on either side in a text split at blanks: `said,` `(Reuters)` `«Укренерго»`."""


def words(text: str) -> frozenset[str]:
    """The distinct words of a passage as folding compares them: case-folded, without the
    punctuation around them (`Said,` is `said`) or apostrophes, which outlets type in three
    ways (`Об'єднаних`, `Об’єднаних`, `Обʼєднаних`), as the analyzer drops them too."""
    folded = text.casefold().replace("'", "").replace("’", "").replace("ʼ", "")
    return frozenset({piece.strip(_AROUND_WORDS) for piece in set(folded.split())}) - {""}


def similarity(left: frozenset[str], right: frozenset[str]) -> float:
    """Jaccard similarity of two sets of words or terms (0 when both are empty); the union
    is counted from the sizes, not made."""
    shared = len(left & right)
    union = len(left) + len(right) - shared
    return shared / union if union else 0.0


def fold_same_story(
    hits: Iterable[Hit], k: int, threshold: float = SAME_STORY, same_story: SameStory | None = None
) -> list[Hit]:
    """Keep the first `k` distinct stories, in rank order.

    A hit whose passage is near-identical to an earlier kept one is folded into it; the
    kept hit is then the newer of the two (it keeps the better rank), and the older
    article is listed in `also_reported_by`. A hit of another article that `same_story`
    says tells the same story is folded into the kept one, which stays as it is.
    """
    kept: list[Hit] = []
    read: list[frozenset[str]] = []
    for hit in hits:
        these = words(hit.passage.text)
        same = next((i for i, seen in enumerate(read) if similarity(these, seen) >= threshold), None)
        if same is not None:
            kept[same] = _merge(kept[same], hit)
            continue
        told = same_story or (lambda _kept, _hit: False)
        story = next((i for i, other in enumerate(kept) if told(other, hit)), None)
        if story is not None:
            kept[story] = _merge(kept[story], hit, keep_newer=False)
            continue
        if len(kept) == k:
            break
        kept.append(hit)
        read.append(these)
    return kept


def _merge(kept: Hit, duplicate: Hit, keep_newer: bool = True) -> Hit:
    if kept.article.id == duplicate.article.id or any(
        a.id == duplicate.article.id for a in kept.also_reported_by
    ):
        return kept
    newer, older = (duplicate, kept) if duplicate.article.date > kept.article.date else (kept, duplicate)
    if not keep_newer:
        newer, older = kept, duplicate
    also = sorted(
        {older.article, *older.also_reported_by, *newer.also_reported_by},
        key=lambda a: (a.date, a.id),
        reverse=True,
    )
    return replace(newer, score=max(kept.score, duplicate.score), also_reported_by=tuple(also))

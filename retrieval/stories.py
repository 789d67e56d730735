"""One story, one answer: the same story from several articles shown once.

Wire copy runs in many outlets, and a developing story is re-published with each update.
Showing the same paragraph three times wastes the reader's screen, so hits whose passages
share most of their words are folded into the newest one, which names the others (a copy
published more than `STORY_DAYS` apart is folded into the better-ranked one: another year's
strike in the same words is another event, and a question may name its period). Copies
are told apart by their surface words, as near-duplicate detection usually does, not by
the analyzer's terms: a copy has the very words of its original, and reading a passage's
words takes a small part of the time the analyzer takes over words it has not seen. Most
hits are not copies of one another, and telling so needs no reading at all: a build saves
each passage's `WordMarks` (how many distinct words it has and which of 512 marks they
set), and two passages whose marks cannot reach `SAME_STORY` are not compared. Other
outlets tell the same story in their own words: two articles published within
`STORY_DAYS` of each other whose headline-and-lead vectors are `SAME_ARTICLE_STORY`
alike are one story too, answered by the better-ranked of them.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import xxhash

from .models import Hit

__all__ = [
    "MARKS",
    "SAME_ARTICLE_STORY",
    "SAME_STORY",
    "STORY_DAYS",
    "WordMarks",
    "fold_same_story",
    "marked",
    "may_be_same",
    "same_story_by",
    "similarity",
    "word_marks",
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


MARKS = 512
"""The marks a passage's words set: each word sets one, chosen by a hash of it."""
_POWERS = [1 << mark for mark in range(MARKS)]


class WordMarks(NamedTuple):
    """What a passage's `words` tell of its likeness to another's without being read:
    how many there are, and which of `MARKS` marks they set (bit n of `bits`)."""

    size: int
    bits: int


def word_marks(text: str) -> WordMarks:
    """The `WordMarks` of a passage's text, as a build saves them."""
    return marked(words(text))


def marked(found: frozenset[str]) -> WordMarks:
    """The `WordMarks` of a set of `words`."""
    bits = 0
    for word in found:
        bits |= _POWERS[xxhash.xxh3_64_intdigest(word.encode("utf-8", "surrogatepass")) % MARKS]
    return WordMarks(len(found), bits)


def may_be_same(left: WordMarks, right: WordMarks, threshold: float = SAME_STORY) -> bool:
    """False when two passages' `words` cannot be `threshold` alike, by their marks alone.

    Every mark set by one passage and not by the other was set by a word the other lacks,
    so each such mark takes one word out of what the two can share; the similarity those
    shared words could give is computed as `similarity` computes it, and division rounds
    monotonically, so a pair this says False for has a lower `similarity` too.
    """
    shared = min(
        left.size - (left.bits & ~right.bits).bit_count(),
        right.size - (right.bits & ~left.bits).bit_count(),
    )
    union = left.size + right.size - shared
    return (shared / union if union else 0.0) >= threshold


def similarity(left: frozenset[str], right: frozenset[str]) -> float:
    """Jaccard similarity of two sets of words or terms (0 when both are empty); the union
    is counted from the sizes, not made."""
    shared = len(left & right)
    union = len(left) + len(right) - shared
    return shared / union if union else 0.0


def fold_same_story(
    hits: Iterable[Hit],
    k: int,
    threshold: float = SAME_STORY,
    same_story: SameStory | None = None,
    marks: Callable[[Hit], WordMarks | None] | None = None,
) -> list[Hit]:
    """Keep the first `k` distinct stories, in rank order.

    A hit whose passage is near-identical to an earlier kept one is folded into it; the
    kept hit is then the newer of the two (it keeps the better rank) if they were
    published within `STORY_DAYS` of each other (an update of the story), else the
    better-ranked, and the other article is listed in `also_reported_by`. A hit of another
    article that `same_story` says tells the same story is folded into the kept one, which
    stays as it is.
    `marks` gives a hit's saved `WordMarks`, if known: two passages whose marks say they
    cannot be alike are not read (the same folding, with less reading).
    """
    kept: list[Hit] = []
    first: list[Hit] = []  # each kept story's first hit, whose passage it is compared by
    first_marks: list[WordMarks | None] = []
    read: dict[int, frozenset[str]] = {}
    for hit in hits:
        mark = marks(hit) if marks is not None else None
        these: frozenset[str] | None = None
        same = None
        for i, (seen, seen_mark) in enumerate(zip(first, first_marks, strict=True)):
            if mark is not None and seen_mark is not None and not may_be_same(mark, seen_mark, threshold):
                continue
            if these is None:
                these = words(hit.passage.text)
            if i not in read:
                read[i] = words(seen.passage.text)
            if similarity(these, read[i]) >= threshold:
                same = i
                break
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
        if these is not None:
            read[len(kept)] = these
        kept.append(hit)
        first.append(hit)
        first_marks.append(mark)
    return kept


def _merge(kept: Hit, duplicate: Hit, keep_newer: bool = True) -> Hit:
    if kept.article.id == duplicate.article.id or any(
        a.id == duplicate.article.id for a in kept.also_reported_by
    ):
        return kept
    newer, older = (duplicate, kept) if duplicate.article.date > kept.article.date else (kept, duplicate)
    if not keep_newer or abs((duplicate.article.date - kept.article.date).days) > STORY_DAYS:
        # a copy of another year (an annual strike, a monthly decision in the same words) is
        # another event: the one ranked first stays, as a question naming its period asked
        newer, older = kept, duplicate
    also = sorted(
        {older.article, *older.also_reported_by, *newer.also_reported_by},
        key=lambda a: (a.date, a.id),
        reverse=True,
    )
    return replace(newer, score=max(kept.score, duplicate.score), also_reported_by=tuple(also))

"""Question -> query terms: which words of a question are matched, and how many.

Every rewriting of a question before it is scored lives here: words about time or quiz
form are left out, a question about the recent past is recognised, and a question's
cost is bounded by keeping only its most selective terms.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence

__all__ = ["DEFAULT_MAX_TERMS", "RECENT_CUES", "most_selective", "topical"]

DEFAULT_MAX_TERMS = 32
"""Distinct terms a question is scored on: more than any question asked in words has,
far fewer than the hundreds of a pasted article (measured with `bench/query_cap.py`)."""

QUIZ_NOISE = re.compile(
    r"\b(?:which (?:one )?of (?:the following|these)|according to (?:reports|news reports)|"
    r"what is the name of|in the news)\b",
    re.IGNORECASE,
)
RECENT_CUES = re.compile(
    r"\b(?:this (?:week|month|year)|last week|latest|recent(?:ly)?|now|today|currently|so far)\b",
    re.IGNORECASE,
)


@functools.lru_cache(maxsize=64)
def topical(question: str) -> str:
    """The question without words about time or quiz form, which match passages at random.

    "this week" or "which of the following" say when or how something is asked, not what
    about; left in, `week` and `follow` would match any passage that uses them. A question
    made only of such words is kept whole.

    The last 64 questions are remembered: a search rewrites its question twice, for its
    terms and for its vector, and a pasted article takes 0.1 to 0.2 ms each time. The
    cache is keyed by the question alone, all this reads, and searches in several
    threads may share it (at worst two of them rewrite the same question).
    """
    stripped = QUIZ_NOISE.sub(" ", RECENT_CUES.sub(" ", question))
    return stripped if stripped.strip(" ?.!") else question


def most_selective(terms: Sequence[str], doc_freq: Callable[[str], int], limit: int) -> tuple[str, ...]:
    """The question's terms, keeping only its `limit` most selective distinct ones.

    Scoring costs time in proportion to the postings of the terms scored, so a question
    of thousands of characters of common words could hold the index for a long time
    (search engines cap query clauses for the same reason). The terms found in the
    fewest passages carry the most weight in BM25 and cost the least, so they are kept;
    terms no passage holds come last, as they can match nothing. Ties go to the term
    asked first. Kept terms keep their order and repeats (a repeated term counts more);
    a question with at most `limit` distinct terms is returned whole.
    """
    distinct = list(dict.fromkeys(terms))
    if len(distinct) <= limit:
        return tuple(terms)
    frequency = {term: doc_freq(term) for term in distinct}
    ranked = sorted(distinct, key=lambda term: (frequency[term] == 0, frequency[term]))
    kept = set(ranked[:limit])
    return tuple(term for term in terms if term in kept)

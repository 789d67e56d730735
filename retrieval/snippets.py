"""Which part of a passage to show when all of it does not fit.

A reader should see the sentence that answers the question, not the passage's first
lines: the window is centred on the sentence with the most question terms and grows
by whole sentences around it.
"""

from __future__ import annotations

import functools

from .analyzer import matched_spans, matched_terms
from .sentences import sentence_spans

__all__ = ["snippet_span"]


def snippet_span(text: str, terms: frozenset[str], max_chars: int) -> tuple[int, int]:
    """Return `(start, end)` of at most `max_chars` characters of `text` worth showing."""
    if len(text) <= max_chars:
        return 0, len(text)
    sentences, best = _best_sentence(text, terms)
    start, end = sentences[best]
    if end - start > max_chars:
        return _cut_around_first_match(text, (start, end), terms, max_chars)
    before, after = best - 1, best + 1
    while True:
        grown = False
        if after < len(sentences) and sentences[after][1] - start <= max_chars:
            end, after, grown = sentences[after][1], after + 1, True
        if before >= 0 and end - sentences[before][0] <= max_chars:
            start, before, grown = sentences[before][0], before - 1, True
        if not grown:
            return start, end


@functools.lru_cache(maxsize=256)
def _best_sentence(text: str, terms: frozenset[str]) -> tuple[tuple[tuple[int, int], ...], int]:
    """The sentences of `text` and which holds the most of `terms`: the same whatever the
    window's length, and remembered for the next, since a reply is rendered at several
    lengths until it fits (weighing every sentence again was most of a reply's time)."""
    sentences = tuple(sentence_spans(text)) or ((0, len(text)),)
    best = max(range(len(sentences)), key=lambda i: (_weight(text, sentences[i], terms), -i))
    return sentences, best


def _weight(text: str, span: tuple[int, int], terms: frozenset[str]) -> tuple[int, int]:
    found = matched_terms(text[span[0] : span[1]], terms)  # a sentence may be too short to tell its language
    return len(set(found)), len(found)


def _cut_around_first_match(
    text: str, span: tuple[int, int], terms: frozenset[str], max_chars: int
) -> tuple[int, int]:
    start, end = span
    first = _first_match(text, start, end, terms)
    start = max(start, min(first - max_chars // 4, end - max_chars))
    if start > span[0]:
        space = text.find(" ", start, first)
        start = space + 1 if space >= 0 else start
    cut = start + max_chars
    if cut >= end:
        return start, end
    space = text.rfind(" ", start + 1, cut)
    return start, space if space > start else cut


@functools.lru_cache(maxsize=256)
def _first_match(text: str, start: int, end: int, terms: frozenset[str]) -> int:
    """Where the first of `terms` in `text[start:end]` starts (`start` if none): remembered
    as `_best_sentence` is."""
    return next((s + start for s, _ in matched_spans(text[start:end], terms)), start)

"""Article -> passages: the units the index ranks and the bot shows.

Paragraphs are what a writer meant as one thought, so they are the natural passages.
Very short ones (a one-line update) are merged into their neighbour, because alone they
carry too few words for BM25 to rank them sensibly; very long ones are split at sentence
boundaries, so that an answer is not buried in a wall of text.
"""

from __future__ import annotations

from .models import Article, Passage
from .sentences import sentence_spans

__all__ = ["DEFAULT_MAX_CHARS", "DEFAULT_MIN_CHARS", "split_passages"]

DEFAULT_MIN_CHARS = 800
DEFAULT_MAX_CHARS = 2500

Span = tuple[int, int]


def split_passages(
    article: Article,
    min_chars: int = DEFAULT_MIN_CHARS,
    max_chars: int = DEFAULT_MAX_CHARS,
) -> tuple[Passage, ...]:
    """Cut an article body into passages of roughly `min_chars` to `max_chars`."""
    if min_chars < 0 or max_chars < 1 or min_chars > max_chars:
        raise ValueError(
            f"passage bounds min_chars={min_chars}, max_chars={max_chars} are invalid: "
            "need 0 <= min_chars <= max_chars and max_chars >= 1"
        )
    text = article.text
    pieces = [
        piece
        for paragraph in _paragraph_spans(article.paragraphs)
        for piece in _split_long(text, paragraph, max_chars)
    ]
    return tuple(
        Passage(article.id, position, start, end, text[start:end])
        for position, (start, end) in enumerate(_merge_short(pieces, min_chars, max_chars))
    )


def _paragraph_spans(paragraphs: tuple[str, ...]) -> list[Span]:
    spans = []
    offset = 0
    for paragraph in paragraphs:
        spans.append((offset, offset + len(paragraph)))
        offset += len(paragraph) + 2  # the "\n\n" of Article.text
    return spans


def _split_long(text: str, span: Span, max_chars: int) -> list[Span]:
    """Pack whole sentences into pieces of at most `max_chars` where possible."""
    start, end = span
    if end - start <= max_chars:
        return [span]
    pieces: list[Span] = []
    piece_start = piece_end = start
    for s_start, s_end in sentence_spans(text[start:end]):
        s_start, s_end = s_start + start, s_end + start
        if s_end - piece_start > max_chars and piece_end > piece_start:
            pieces.append((piece_start, piece_end))
            piece_start = s_start
        piece_end = s_end
        while piece_end - piece_start > max_chars:  # one sentence longer than a passage
            cut = _word_cut(text, piece_start, piece_start + max_chars)
            pieces.append((piece_start, cut))
            piece_start = _skip_blanks(text, cut, piece_end)
    if piece_end > piece_start:
        pieces.append((piece_start, piece_end))
    return pieces


def _word_cut(text: str, start: int, limit: int) -> int:
    cut = text.rfind(" ", start + 1, limit)
    return cut if cut > start else limit


def _skip_blanks(text: str, position: int, end: int) -> int:
    while position < end and text[position].isspace():
        position += 1
    return position


def _merge_short(pieces: list[Span], min_chars: int, max_chars: int) -> list[Span]:
    """Let a short piece absorb the pieces after it until it is long enough.

    A short piece left at the very end joins the one before it instead.
    """
    merged: list[Span] = []
    for start, end in pieces:
        if merged and _fits_short(merged[-1], end, min_chars, max_chars):
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    if len(merged) > 1:
        last_start, last_end = merged[-1]
        if last_end - last_start < min_chars and _fits(merged[-2], last_end, max_chars):
            merged[-2:] = [(merged[-2][0], last_end)]
    return merged


def _fits_short(span: Span, new_end: int, min_chars: int, max_chars: int) -> bool:
    return span[1] - span[0] < min_chars and _fits(span, new_end, max_chars)


def _fits(span: Span, new_end: int, max_chars: int) -> bool:
    return new_end - span[0] <= max_chars

"""An answer in pages that a reader turns with ◀ and ▶.

A page holds whole articles, about `per_page` passages: an article's passages are never
split across two pages, so a headline appears once in the whole answer. The number of
pages is capped (`MAX_PAGES`), and so is the search behind them: one search of
`per_page * MAX_PAGES` hits serves every page, and the same search (question, "as of"
date, size) ranks the same way each time, so page 1 shown again is page 1 as first seen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from retrieval import Hit

from .render import by_article

MAX_PAGES = 5
INLINE_RESULTS = 10
"""The most results an inline answer lists."""
PAGE_PREFIX = "page"
COUNTER = "noop"
"""Data of the "2/5" button: a label that does nothing when pressed."""


@dataclass(frozen=True, slots=True)
class Page:
    """One page of an answer: its hits, and the rank of its first article in the whole answer."""

    hits: tuple[Hit, ...]
    first_rank: int


def hits_needed(per_page: int) -> int:
    """How many hits a question's search fetches: enough to fill every page, and at least
    the ten results of inline mode, which asks with the same number so that a question
    ranks alike in a message and inline (the ranking's candidates depend on it)."""
    return max(per_page * MAX_PAGES, INLINE_RESULTS)


def paginate(hits: Sequence[Hit], per_page: int) -> list[Page]:
    """Whole articles, about `per_page` passages a page (one article's passages may overfill
    a page rather than be split), at most `MAX_PAGES` pages."""
    pages: list[Page] = []
    current: list[list[Hit]] = []
    rank = 1
    for group in by_article(hits):
        if current and sum(map(len, current)) + len(group) > per_page:
            pages.append(Page(tuple(hit for article in current for hit in article), rank))
            rank, current = rank + len(current), []
            if len(pages) == MAX_PAGES:
                return pages
        current.append(group)
    if current:
        pages.append(Page(tuple(hit for article in current for hit in article), rank))
    return pages


def page_keyboard(key: str, number: int, total: int) -> InlineKeyboardMarkup | None:
    """`◀ 2/5 ▶` for page `number` of `total` (1-based); none for a single page.

    The data (under Telegram's 64 bytes) names the question's key and the page to show.
    """
    if total <= 1:
        return None
    row = []
    if number > 1:
        row.append(InlineKeyboardButton("◀", callback_data=f"{PAGE_PREFIX}:{key}:{number - 1}"))
    row.append(InlineKeyboardButton(f"{number}/{total}", callback_data=COUNTER))
    if number < total:
        row.append(InlineKeyboardButton("▶", callback_data=f"{PAGE_PREFIX}:{key}:{number + 1}"))
    return InlineKeyboardMarkup([row])

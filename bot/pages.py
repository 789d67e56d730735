"""An answer in pages that a reader turns with ◀ and ▶.

A page holds whole articles, about `per_page` passages: an article's passages are never
split across two pages, so a headline appears once in the whole answer. The number of
pages is capped (`MAX_PAGES`), and so is the search behind them: one search of
`per_page * MAX_PAGES` hits serves every page, and the same search (question, "as of"
date, size) ranks the same way each time, so page 1 shown again is page 1 as first seen;
once the corpus has changed, an answer whose pages would differ has expired (`layout`).
"""

from __future__ import annotations

import hashlib
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


def layout(pages: Sequence[Page]) -> bytes:
    """What an answer's pages show, page by page (which passage of which article), in 16 bytes.

    A press searches again; once the corpus has changed (a /reload, a feed's new articles)
    that search may rank otherwise, and the page it shows would not be the page first seen:
    a headline on two pages, another on none. Two equal layouts show the same pages.
    """
    digest = hashlib.blake2b(digest_size=16)
    for page in pages:
        for hit in page.hits:
            digest.update(f"{hit.article.id}\0{hit.passage.position}\0".encode("utf-8", "surrogatepass"))
        digest.update(b"\1")
    return digest.digest()


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

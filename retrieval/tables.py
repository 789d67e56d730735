"""Articles, passages and timeline events by position, made on demand, not held as objects.

An archive of a million passages would cost seconds to turn into Python objects at
start-up, and most are never shown; a question needs only the few it returns. The
tables keep compact columns (numpy arrays, and a way to read each article's body) and
build an `Article`, `Passage` or `Event` when it is asked for.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import operator
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar, overload

import numpy as np
import numpy.typing as npt

from .models import Article, Event, Passage, Precision
from .stories import WordMarks

__all__ = ["ArticleColumns", "ArticleTable", "EventTable", "PassageTable", "encoded_body", "paragraphs_of"]

ArticleColumns = dict[str, list[str | None]]
"""`id`, `headline`, `url`, `source`, `caption` and `file` (its corpus path), a list each."""
FIELDS = ("id", "headline", "url", "source", "caption")
T = TypeVar("T")
PRECISIONS: tuple[Precision, ...] = ("day", "week", "month", "year")
PARAGRAPH_BREAK = "\n\n"
"""Paragraphs are whitespace-normalised, so this never occurs inside one."""


def encoded_body(article: Article) -> bytes:
    """An article's paragraphs as UTF-8, joined by blank lines: its body as a table stores it."""
    return PARAGRAPH_BREAK.join(article.paragraphs).encode("utf-8")


def paragraphs_of(text: str) -> tuple[str, ...]:
    """`tuple(text.split(PARAGRAPH_BREAK))`, in half its time or less.

    `str.split` tries a two-character separator at every position of the text (5 to 15 µs
    for an article of 5,000 to 8,000 characters, a quarter of making a hit from a text in
    the page cache); a line break, one character, is found by `memchr`. Each break is the
    first of a pair, as split takes them: leftmost first, the two never shared with the next.
    """
    found = []
    start = 0
    find = text.find
    at = find("\n")
    while at >= 0:
        if text.startswith("\n", at + 1):
            found.append(text[start:at])
            start = at + 2
            at = find("\n", start)
        else:  # a line break alone: never in a saved body, whose paragraphs are whitespace-normalised
            at = find("\n", at + 1)
    found.append(text[start:])
    return tuple(found)


class _Table(Sequence[T]):
    """A sequence whose items are made by `_item` from columns, one at a time."""

    def _item(self, number: int) -> T:
        raise NotImplementedError

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[T]: ...
    def __getitem__(self, index: int | slice) -> T | Sequence[T]:
        if isinstance(index, slice):
            return [self._item(i) for i in range(*index.indices(len(self)))]
        if not -len(self) <= index < len(self):
            raise IndexError(f"{type(self).__name__} index out of range")
        return self._item(index % len(self))

    def __iter__(self) -> Iterator[T]:
        return (self._item(i) for i in range(len(self)))


class ArticleTable(_Table[Article]):
    """The corpus's articles in index order, as columns and a way to read each body.

    `ids`, `headlines`, `files` (each article's corpus path) and `ordinals` (publication
    dates) are always at hand; a whole `Article`, with its text, is made only when indexed.
    """

    def __init__(
        self,
        columns: ArticleColumns,
        ordinals: npt.NDArray[np.int32],
        body: Callable[[int], bytes],
        made: Sequence[Article] | None = None,
    ) -> None:
        """`body(n)` is article n's paragraphs as UTF-8, joined by blank lines; `made`,
        the articles themselves where they are in memory already."""
        self.columns = columns
        self.ids: list[str] = columns["id"]  # type: ignore[assignment]
        self.headlines: list[str] = columns["headline"]  # type: ignore[assignment]
        self.files: list[str] = columns["file"]  # type: ignore[assignment]
        self.ordinals = np.asarray(ordinals)
        self.body = body
        self._made = made
        self._id_order: npt.NDArray[np.int64] | None = None
        self._by_id: npt.NDArray[np.int64] | None = None

    @classmethod
    def in_memory(cls, articles: Sequence[Article], files: Sequence[str]) -> ArticleTable:
        """A table over articles already built, e.g. by the corpus loader."""
        articles = tuple(articles)
        columns: ArticleColumns = {name: [getattr(a, name) for a in articles] for name in FIELDS}
        columns["file"] = list(files)
        ordinals = np.asarray([a.date.toordinal() for a in articles], dtype=np.int32)
        return cls(columns, ordinals, lambda number: encoded_body(articles[number]), articles)

    @classmethod
    def joined(
        cls, old: ArticleTable, kept: npt.NDArray[np.int64], added: Sequence[Article], files: Sequence[str]
    ) -> ArticleTable:
        """The `kept` articles of `old`, in order, then `added` (from `files`): a reload's articles."""
        fresh = cls.in_memory(added, files)
        rows = kept.tolist()
        columns = {name: [old.columns[name][i] for i in rows] + fresh.columns[name] for name in old.columns}
        ordinals = np.r_[old.ordinals[kept], fresh.ordinals].astype(np.int32)

        def body(number: int) -> bytes:
            return old.body(rows[number]) if number < len(rows) else fresh.body(number - len(rows))

        return cls(columns, ordinals, body)

    def _item(self, number: int) -> Article:
        return self._made[number] if self._made is not None else self.with_text(number)[0]

    def id_order(self) -> npt.NDArray[np.int64]:
        """Each article's place among them by id, in Python's order of strings; made once.

        Ids are unique, and a build lists its files in order, so they are often in order
        already: then each is in its place, which a pass of comparisons tells (6 ms for
        250,000 articles, where the sort took 26 ms; 0.19 s for ids in no order)."""
        if self._id_order is None:
            ids = self.ids
            if all(map(operator.lt, ids, itertools.islice(ids, 1, None))):
                self._id_order = np.arange(len(ids), dtype=np.int64)
            else:
                order = np.empty(len(ids), dtype=np.int64)
                order[sorted(range(len(ids)), key=ids.__getitem__)] = np.arange(len(ids))
                self._id_order = order
        return self._id_order

    def number(self, identifier: str) -> int | None:
        """The number of the article whose id is `identifier`, None if none's is: a search
        among the ids in order (`id_order`, which every timeline makes), not a pass over all."""
        if self._by_id is None:
            order = self.id_order()
            by_id = np.empty_like(order)
            by_id[order] = np.arange(len(order))
            self._by_id = by_id
        ids = self.ids
        place = bisect.bisect_left(self._by_id, identifier, key=lambda number: ids[number])
        if place < len(ids) and ids[number := int(self._by_id[place])] == identifier:
            return number
        return None

    def with_text(self, number: int) -> tuple[Article, str]:
        """Article `number` (0 <= number < len) and its `text`, decoded once from its body:
        a hit's passage is cut from the text, which `Article.text` would join again."""
        if self._made is not None:
            made = self._made[number]
            return made, made.text
        columns = self.columns
        text = self.body(number).decode("utf-8")
        article = Article(
            self.ids[number],
            self.headlines[number],
            dt.date.fromordinal(int(self.ordinals[number])),
            paragraphs_of(text),
            columns["url"][number],
            columns["source"][number],
            columns["caption"][number],
        )
        return article, text

    def __len__(self) -> int:
        return len(self.ids)


class PassageTable(_Table[Passage]):
    """Passages as spans of their article's text: `owner` article and `spans` (start, end),
    with each one's `WordMarks` as `word_counts` and rows of `marks`.

    Passages of one article are consecutive and articles come in table order, so
    `owner` is sorted.
    """

    def __init__(
        self,
        articles: Sequence[Article],
        owner: npt.NDArray[np.int32],
        spans: npt.NDArray[np.int64],
        word_counts: npt.NDArray[np.int32],
        marks: npt.NDArray[np.uint64],
    ):
        self.articles = articles
        self.owner = owner
        self.spans = spans
        self.word_counts = word_counts
        self.marks = marks
        first = np.searchsorted(owner, owner, side="left") if len(owner) else owner
        self.positions = np.arange(len(owner)) - first

    def __len__(self) -> int:
        return len(self.owner)

    def _item(self, number: int) -> Passage:
        return self.in_article(number, self.articles[int(self.owner[number])])

    def word_marks(self, numbers: npt.NDArray[np.integer]) -> list[WordMarks]:
        """The `WordMarks` of the passages `numbers`, as their build saved them."""
        rows = np.asarray(self.marks[numbers], dtype="<u8")
        sizes = self.word_counts[numbers].tolist()
        return [
            WordMarks(size, int.from_bytes(row.tobytes(), "little"))
            for size, row in zip(sizes, rows, strict=True)
        ]

    def in_article(self, number: int, article: Article, text: str | None = None) -> Passage:
        """Passage `number`, cut from its `article` made already (and its `text`, if at hand):
        a hit needs both, and making an article reads and decodes its body."""
        start, end = self.spans[number].tolist()
        whole = article.text if text is None else text
        return Passage(article.id, int(self.positions[number]), start, end, whole[start:end])


class EventTable(_Table[Event]):
    """Timeline events as columns, each `Event` made when asked for.

    An event's article gives its id, headline and publication date, so only the date,
    precision, sentence and article position are stored; `rows` picks and orders a
    subset (a timeline) without copying the columns.
    """

    def __init__(
        self,
        articles: ArticleTable,
        columns: dict[str, npt.NDArray[np.int32]],
        sentences: Sequence[str],
        rows: Sequence[int] | None = None,
    ) -> None:
        self.articles = articles
        self.columns = {name: np.asarray(column) for name, column in columns.items()}  # not memmap: faster
        self.sentences = sentences
        self.rows = rows

    @classmethod
    def of(cls, events: Sequence[Event], articles: ArticleTable) -> EventTable:
        """The columns of events whose articles are all in `articles`."""
        position = {identifier: number for number, identifier in enumerate(articles.ids)}
        columns = {
            "date": np.asarray([e.date.toordinal() for e in events], dtype=np.int32),
            "precision": np.asarray([PRECISIONS.index(e.precision) for e in events], dtype=np.int32),
            "article": np.asarray([position[e.article_id] for e in events], dtype=np.int32),
        }
        return cls(articles, columns, [e.sentence for e in events])

    def select(self, rows: Sequence[int]) -> EventTable:
        """These events at `rows`, in that order."""
        return EventTable(self.articles, self.columns, self.sentences, rows)

    def __len__(self) -> int:
        return len(self.sentences) if self.rows is None else len(self.rows)

    def _item(self, number: int) -> Event:
        row = int(self.rows[number]) if self.rows is not None else number
        article = int(self.columns["article"][row])
        return Event(
            dt.date.fromordinal(int(self.columns["date"][row])),
            PRECISIONS[int(self.columns["precision"][row])],
            self.sentences[row],
            self.articles.ids[article],
            self.articles.headlines[article],
            dt.date.fromordinal(int(self.articles.ordinals[article])),
        )

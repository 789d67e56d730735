"""Articles, passages, their index and timeline as one value.

The bot holds exactly one `Library` and replaces it whole on reload, so a question is
always answered from a consistent corpus, never from half of an old one and half of a
new one.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, overload

import numpy as np
import numpy.typing as npt

from . import store
from .analyzer import analyze, plain_terms
from .corpus import load_corpus
from .errors import CorpusError, IndexFileError
from .index import BM25Index, BM25Params, top_k
from .models import Article, Hit, LoadReport, Passage, SearchResult
from .passages import DEFAULT_MAX_CHARS, DEFAULT_MIN_CHARS, split_passages
from .stories import fold_same_story
from .timeline import Timeline

__all__ = ["Library", "LibraryOptions", "PassageTable"]

logger = logging.getLogger(__name__)
DEFAULT_PER_ARTICLE = 2
QUIZ_NOISE = re.compile(
    r"\b(?:which (?:one )?of (?:the following|these)|according to (?:reports|news reports)|"
    r"what is the name of|in the news)\b",
    re.IGNORECASE,
)
RECENT_CUES = re.compile(
    r"\b(?:this (?:week|month|year)|last week|latest|recent(?:ly)?|now|today|currently|so far)\b",
    re.IGNORECASE,
)


def topical(question: str) -> str:
    """The question without words about time or quiz form, which match passages at random.

    "this week" or "which of the following" say when or how something is asked, not what
    about; left in, `week` and `follow` would match any passage that uses them. A question
    made only of such words is kept whole.
    """
    stripped = QUIZ_NOISE.sub(" ", RECENT_CUES.sub(" ", question))
    return stripped if stripped.strip(" ?.!") else question


@dataclass(frozen=True, slots=True)
class LibraryOptions:
    """How articles become ranked passages."""

    min_chars: int = DEFAULT_MIN_CHARS
    max_chars: int = DEFAULT_MAX_CHARS
    bm25: BM25Params = field(default_factory=BM25Params)
    plain: bool = False
    recency: Literal["off", "cues", "always"] = "cues"
    """When a question asked at a date prefers recent articles: never, when it says so, always."""
    recency_weight: float = 0.3
    recency_days: float = 14.0
    """The prior keeps (1 - weight) of a score and adds weight x exp(-age / days) of it."""
    """The baseline for evaluation: plain lower-cased words, no stemming, no stop words, no headline."""

    def terms(self, text: str) -> list[str]:
        """The analyzer these options choose, for passages and questions alike."""
        return plain_terms(text) if self.plain else analyze(text)

    def record(self) -> dict[str, Any]:
        """The options as saved beside an index, so that one built otherwise is not reused."""
        return {**store.options_record(self.min_chars, self.max_chars, self.bm25), "plain": self.plain}


class PassageTable(Sequence[Passage]):
    """Passages made on demand from article texts and spans.

    A million `Passage` objects would cost seconds to create at start-up; a question
    needs only the few it returns.
    """

    def __init__(
        self, articles: Sequence[Article], owner: npt.NDArray[np.int32], spans: npt.NDArray[np.int64]
    ):
        self.articles = articles
        self.owner = owner
        self.spans = spans
        first = np.searchsorted(owner, owner, side="left") if len(owner) else owner
        self.positions = np.arange(len(owner)) - first

    def __len__(self) -> int:
        return len(self.owner)

    @overload
    def __getitem__(self, index: int) -> Passage: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Passage]: ...
    def __getitem__(self, index: int | slice) -> Passage | Sequence[Passage]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        article = self.articles[int(self.owner[index])]
        start, end = (int(x) for x in self.spans[index])
        return Passage(article.id, int(self.positions[index]), start, end, article.text[start:end])

    def __iter__(self) -> Iterator[Passage]:
        return (self[i] for i in range(len(self)))


@dataclass(frozen=True, slots=True)
class Library:
    """A searchable corpus: build it with `Library.load` or `Library.from_articles`."""

    articles: tuple[Article, ...]
    passages: PassageTable
    index: BM25Index
    report: LoadReport
    timeline: Timeline
    passage_recency: npt.NDArray[np.int32]
    """For each passage, its article's date as an ordinal: ties go to newer news."""
    options: LibraryOptions

    @property
    def passage_article(self) -> npt.NDArray[np.int32]:
        """For each passage, the position of its article in `articles`."""
        return self.passages.owner

    @classmethod
    def load(
        cls,
        folder: str | os.PathLike[str],
        options: LibraryOptions | None = None,
        index_dir: str | os.PathLike[str] | None = None,
    ) -> Library:
        """Read and index a corpus folder; raise `CorpusError` if nothing can serve.

        Bad files do not raise: they are listed in `report.problems`. With `index_dir`,
        a saved index of the unchanged corpus is memory-mapped instead of rebuilt, and a
        new build is saved there for the next start.
        """
        root = Path(folder)
        options = options or LibraryOptions()
        if index_dir is None:
            return cls._build(root, options)
        cache = Path(index_dir)
        try:
            parts, _ = store.load_saved(cache, root, options.record())
            return cls._from_parts(parts, options)
        except IndexFileError as why:
            logger.info("rebuilding the index: %s", why)
        if not root.is_dir():
            raise CorpusError(f"corpus folder {str(root)!r} does not exist or is not a folder")
        corpus_print = store.fingerprint(root)  # before reading: a change during the build makes it stale
        library = cls._build(root, options)
        try:
            store.save(cache, root, corpus_print, options.record(), library._parts())
        except OSError as error:
            logger.warning("could not save the index in %s: %s", cache, error)
        return library

    @classmethod
    def _build(cls, root: Path, options: LibraryOptions) -> Library:
        articles, report = load_corpus(root)
        if not articles:
            reasons = "; ".join(str(problem) for problem in report.problems[:3]) or "it holds no files"
            raise CorpusError(f"corpus folder {str(root)!r} has no readable article: {reasons}")
        return cls.from_articles(articles, report, options)

    @classmethod
    def from_articles(
        cls,
        articles: list[Article],
        report: LoadReport | None = None,
        options: LibraryOptions | None = None,
    ) -> Library:
        """Index articles already in memory (the pure half of `load`)."""
        options = options or LibraryOptions()
        spans: list[tuple[int, int]] = []
        owner: list[int] = []

        def passage_terms() -> Iterator[list[str]]:
            """Each passage's terms in turn, headline first, so no list of all of them is kept."""
            for number, article in enumerate(articles):
                headline_terms = [] if options.plain else analyze(article.headline)
                for passage in split_passages(article, options.min_chars, options.max_chars):
                    spans.append((passage.start, passage.end))
                    owner.append(number)
                    yield headline_terms + options.terms(passage.text)

        index = BM25Index.build(passage_terms(), options.bm25)
        return cls._assemble(
            tuple(articles),
            np.asarray(owner, dtype=np.int32),
            np.asarray(spans, dtype=np.int64).reshape(-1, 2),
            index,
            report or LoadReport(files=0, articles=len(articles)),
            Timeline.from_articles(articles),
            options,
        )

    @classmethod
    def _from_parts(cls, parts: dict[str, Any], options: LibraryOptions) -> Library:
        index = BM25Index(
            options.bm25,
            {term: number for number, term in enumerate(parts["vocabulary"])},
            parts["offsets"],
            parts["doc_ids"],
            parts["term_freqs"],
            parts["doc_lengths"],
        )
        articles = tuple(parts["articles"])
        return cls._assemble(
            articles,
            parts["passage_article"],
            parts["passage_spans"],
            index,
            parts["report"],
            Timeline(parts["events"]),
            options,
        )

    @classmethod
    def _assemble(
        cls,
        articles: tuple[Article, ...],
        owner: npt.NDArray[np.int32],
        spans: npt.NDArray[np.int64],
        index: BM25Index,
        report: LoadReport,
        timeline: Timeline,
        options: LibraryOptions,
    ) -> Library:
        ordinals = np.asarray([a.date.toordinal() for a in articles], dtype=np.int32)
        return cls(
            articles=articles,
            passages=PassageTable(articles, owner, spans),
            index=index,
            report=report,
            timeline=timeline,
            passage_recency=ordinals[owner] if len(owner) else ordinals[:0],
            options=options,
        )

    def _parts(self) -> dict[str, Any]:
        return {
            **store.index_parts(self.index),
            "passage_article": self.passages.owner,
            "passage_spans": self.passages.spans,
            "articles": self.articles,
            "events": self.timeline.events,
            "report": self.report,
        }

    def search(
        self,
        question: str,
        k: int = 5,
        per_article: int | None = DEFAULT_PER_ARTICLE,
        now: dt.date | None = None,
    ) -> SearchResult:
        """Rank passages for a question; an unanswerable question gets a reason, not an error.

        Only passages sharing at least one term with the question are returned; equal
        scores go to the newer article; at most `per_article` passages of one article;
        near-identical passages of several articles are one story, shown once. With
        `now`, the question is answered as if asked that day: no article dated after it.
        """
        terms = tuple(self.options.terms(topical(question)))
        if not terms:
            return SearchResult((), terms, "the question has no searchable words, only stop words or symbols")
        doc_ids, scores = self.index.score(terms)
        if now is not None and len(doc_ids):
            known = self.passage_recency[doc_ids] <= now.toordinal()
            doc_ids, scores = doc_ids[known], scores[known]
            if self._wants_recent(question):
                age = now.toordinal() - self.passage_recency[doc_ids]
                weight, days = self.options.recency_weight, self.options.recency_days
                scores = scores * (1 - weight + weight * np.exp(-age / days))
        if not len(doc_ids):
            return SearchResult((), terms, "no passage contains any of its words")
        owner = self.passages.owner
        chosen = top_k(doc_ids, scores, 2 * k, owner, self.passage_recency, per_article)
        picked = doc_ids[chosen]
        matched = {term: self.index.contains(term, picked) for term in set(terms)}
        hits = [
            Hit(
                passage=self.passages[doc],
                article=self.articles[owner[doc]],
                score=float(scores[position]),
                matched=frozenset(term for term, found in matched.items() if found[row]),
            )
            for row, (position, doc) in enumerate(zip(chosen, picked.tolist(), strict=True))
        ]
        return SearchResult(tuple(fold_same_story(hits, k)), terms)

    def _wants_recent(self, question: str) -> bool:
        mode = self.options.recency
        return mode == "always" or (mode == "cues" and RECENT_CUES.search(question) is not None)

    def latest(self, count: int) -> list[Article]:
        """The newest `count` articles, newest first (ties by id, for a stable order)."""
        ordered = sorted(self.articles, key=lambda a: a.id)
        return sorted(ordered, key=lambda a: a.date, reverse=True)[: max(count, 0)]

    @property
    def vocabulary_size(self) -> int:
        """How many distinct terms the index holds."""
        return len(self.index.vocabulary)

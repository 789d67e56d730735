"""Articles, passages and their index as one value.

The bot holds exactly one `Library` and replaces it whole on reload, so a question is
always answered from a consistent corpus, never from half of an old one and half of a
new one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from .analyzer import analyze
from .corpus import load_corpus
from .errors import CorpusError
from .index import BM25Index, BM25Params, top_k
from .models import Article, Hit, LoadReport, Passage, SearchResult
from .passages import DEFAULT_MAX_CHARS, DEFAULT_MIN_CHARS, split_passages
from .timeline import Timeline

__all__ = ["Library", "LibraryOptions"]

DEFAULT_PER_ARTICLE = 2


@dataclass(frozen=True, slots=True)
class LibraryOptions:
    """How articles become ranked passages."""

    min_chars: int = DEFAULT_MIN_CHARS
    max_chars: int = DEFAULT_MAX_CHARS
    bm25: BM25Params = field(default_factory=BM25Params)


@dataclass(frozen=True, slots=True)
class Library:
    """A searchable corpus: build it with `Library.load` or `Library.from_articles`."""

    articles: tuple[Article, ...]
    passages: tuple[Passage, ...]
    index: BM25Index
    report: LoadReport
    passage_article: npt.NDArray[np.int32]
    """For each passage, the position of its article in `articles`."""
    passage_recency: npt.NDArray[np.int32]
    """For each passage, its article's date as an ordinal: ties go to newer news."""
    timeline: Timeline

    @classmethod
    def load(cls, folder: str | os.PathLike[str], options: LibraryOptions | None = None) -> Library:
        """Read and index a corpus folder; raise `CorpusError` if nothing can serve.

        Bad files do not raise: they are listed in `report.problems`.
        """
        articles, report = load_corpus(folder)
        if not articles:
            reasons = "; ".join(str(problem) for problem in report.problems[:3]) or "it holds no files"
            raise CorpusError(f"corpus folder {str(folder)!r} has no readable article: {reasons}")
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
        passages: list[Passage] = []
        tokens: list[list[str]] = []
        owner: list[int] = []
        for number, article in enumerate(articles):
            headline_terms = analyze(article.headline)
            for passage in split_passages(article, options.min_chars, options.max_chars):
                passages.append(passage)
                tokens.append(headline_terms + analyze(passage.text))
                owner.append(number)
        index = BM25Index.build(tokens, options.bm25)
        passage_article = np.asarray(owner, dtype=np.int32)
        ordinals = np.asarray([a.date.toordinal() for a in articles], dtype=np.int32)
        return cls(
            articles=tuple(articles),
            passages=tuple(passages),
            index=index,
            report=report or LoadReport(files=0, articles=len(articles)),
            passage_article=passage_article,
            passage_recency=ordinals[passage_article] if len(owner) else ordinals[:0],
            timeline=Timeline.from_articles(articles),
        )

    def search(
        self, question: str, k: int = 5, per_article: int | None = DEFAULT_PER_ARTICLE
    ) -> SearchResult:
        """Rank passages for a question; an unanswerable question gets a reason, not an error.

        Only passages sharing at least one term with the question are returned; equal
        scores go to the newer article; at most `per_article` passages of one article.
        """
        terms = tuple(analyze(question))
        if not terms:
            return SearchResult((), terms, "the question has no searchable words, only stop words or symbols")
        doc_ids, scores = self.index.score(terms)
        if not len(doc_ids):
            return SearchResult((), terms, "no passage contains any of its words")
        chosen = top_k(doc_ids, scores, k, self.passage_article, self.passage_recency, per_article)
        picked = doc_ids[chosen]
        matched = {term: self.index.contains(term, picked) for term in set(terms)}
        hits = tuple(
            Hit(
                passage=self.passages[doc],
                article=self.articles[self.passage_article[doc]],
                score=float(scores[position]),
                matched=frozenset(term for term, found in matched.items() if found[row]),
            )
            for row, (position, doc) in enumerate(zip(chosen, picked.tolist(), strict=True))
        )
        return SearchResult(hits, terms)

    def latest(self, count: int) -> list[Article]:
        """The newest `count` articles, newest first (ties by id, for a stable order)."""
        ordered = sorted(self.articles, key=lambda a: a.id)
        return sorted(ordered, key=lambda a: a.date, reverse=True)[: max(count, 0)]

    @property
    def vocabulary_size(self) -> int:
        """How many distinct terms the index holds."""
        return len(self.index.vocabulary)

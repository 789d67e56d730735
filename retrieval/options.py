"""How articles become ranked passages: the options a library is built and searched with.

Apart from `library`, so that the build (`indexing`) and the library that runs it both
read them without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from . import store
from .analyzer import VERSION as ANALYZER_VERSION
from .analyzer import analyze, plain_terms
from .index import BM25Params
from .passages import DEFAULT_MAX_CHARS, DEFAULT_MIN_CHARS
from .query import DEFAULT_MAX_TERMS
from .rerank import RerankOptions
from .semantic import DEFAULT_DIMS, model_name

__all__ = ["LibraryOptions"]


@dataclass(frozen=True, slots=True)
class LibraryOptions:
    """How articles become ranked passages."""

    min_chars: int = DEFAULT_MIN_CHARS
    max_chars: int = DEFAULT_MAX_CHARS
    bm25: BM25Params = field(default_factory=BM25Params)
    plain: bool = False
    """The baseline for evaluation: plain lower-cased words (no stemming, stop words or
    headline terms), questions taken whole, no recency prior."""
    headline_weight: int = 1
    """How many times the headline's terms count in each of its passages."""
    recency: Literal["off", "cues", "always"] = "cues"
    """When a question asked at a date prefers recent articles: never, when it says so, always."""
    recency_weight: float = 0.3
    recency_days: float = 14.0
    """The prior keeps (1 - weight) of a score and adds weight x exp(-age / days) of it."""
    lexical_only: bool = False
    """Rank by words alone, as before meaning and periods were added (the `recency*`
    options above are that ranking's); otherwise the candidates go through `rerank`."""
    rerank: RerankOptions = field(default_factory=RerankOptions)
    semantic_dims: int = DEFAULT_DIMS
    """Width of the article vectors built with the index (64, 128 or 256)."""
    max_terms: int = DEFAULT_MAX_TERMS
    """A question is scored on at most this many distinct terms, its most selective ones,
    so that no question can hold the index for long (see `query.most_selective`)."""

    def __post_init__(self) -> None:
        if self.max_terms < 1:
            raise ValueError(f"max_terms must be at least 1, got {self.max_terms}")

    def terms(self, text: str, russian_article: bool = False) -> list[str]:
        """The analyzer these options choose, for passages and questions alike."""
        return plain_terms(text) if self.plain else analyze(text, russian_article)

    def record(self) -> dict[str, Any]:
        """The options as saved beside an index, so that one built otherwise is not reused."""
        record = {
            **store.options_record(self.min_chars, self.max_chars, self.bm25),
            "plain": self.plain,
            "analyzer": ANALYZER_VERSION,
            "semantic": model_name(self.semantic_dims),
        }
        return record if self.headline_weight == 1 else {**record, "headline_weight": self.headline_weight}

    @property
    def reranked(self) -> bool:
        """Whether searches go through the second stage (meaning, periods, recency)."""
        return not (self.lexical_only or self.plain)

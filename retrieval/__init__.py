"""Passage retrieval over a folder of news articles: load, analyze, rank with BM25.

A library on its own: it imports nothing of the Telegram bot.
"""

from .analyzer import analyze, analyze_spans, article_is_russian, matched_spans
from .corpus import load_corpus
from .dates import iso_day, latest_today
from .errors import CorpusError, IndexFileError, MissingCorpusError, NoArticleError, RetrievalError
from .index import BM25Index, BM25Params
from .library import Library
from .models import Article, Event, Hit, LoadProblem, LoadReport, Passage, SearchResult
from .options import LibraryOptions
from .passages import split_passages
from .progress import BuildStep, ProgressLog
from .query import most_selective, readings
from .reasons import REASONS, Reason
from .sentences import sentence_spans
from .shelf import read_as_corpus
from .timeline import Timeline, format_event_date

__all__ = [
    "REASONS",
    "Article",
    "BM25Index",
    "BM25Params",
    "BuildStep",
    "CorpusError",
    "Event",
    "Hit",
    "IndexFileError",
    "Library",
    "LibraryOptions",
    "LoadProblem",
    "LoadReport",
    "MissingCorpusError",
    "NoArticleError",
    "Passage",
    "ProgressLog",
    "Reason",
    "RetrievalError",
    "SearchResult",
    "Timeline",
    "analyze",
    "analyze_spans",
    "article_is_russian",
    "format_event_date",
    "iso_day",
    "latest_today",
    "load_corpus",
    "matched_spans",
    "most_selective",
    "read_as_corpus",
    "readings",
    "sentence_spans",
    "split_passages",
]

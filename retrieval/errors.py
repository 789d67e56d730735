"""Exceptions raised by retrieval; the bot and the command line turn them into words.

RetrievalError
 +-- CorpusError     the corpus folder cannot serve: unreadable, no article
 |    +-- MissingCorpusError  there is no such folder
 |    +-- NoArticleError      no file in it loads; its report says why of each
 +-- IndexFileError  a saved index is missing, stale or corrupt (callers rebuild)
"""

from __future__ import annotations

from .models import LoadReport
from .reasons import Reason


class RetrievalError(Exception):
    """Base of every error retrieval raises on purpose: the message is the English of `reason`,
    which a caller may word in another language (see `reasons`), or a plain message."""

    def __init__(self, reason: Reason | str) -> None:
        super().__init__(reason)
        self.reason = reason if isinstance(reason, Reason) else None


class CorpusError(RetrievalError):
    """The corpus as a whole cannot be used; single bad files go to the load report."""


class MissingCorpusError(CorpusError):
    """The corpus folder does not exist (or is not a folder): the caller says how to name another."""


class NoArticleError(CorpusError):
    """No file of the corpus folder loads: the message names the first problems, `report`
    holds every one, for `newsbot stats` to list as it lists them of any corpus."""

    NAMED = 3
    """How many of the report's problems the message names (the `problems` of its reason)."""

    def __init__(self, reason: Reason | str, report: LoadReport) -> None:
        super().__init__(reason)
        self.report = report

    def __reduce__(self) -> tuple[type[NoArticleError], tuple[Reason | str, LoadReport]]:
        return type(self), (self.reason or str(self), self.report)


class IndexFileError(RetrievalError):
    """A saved index cannot be trusted and must be rebuilt."""

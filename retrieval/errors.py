"""Exceptions raised by retrieval; the bot and the command line turn them into words.

RetrievalError
 +-- CorpusError     the corpus folder cannot serve: unreadable, no article
 |    +-- MissingCorpusError  there is no such folder
 |    +-- NoArticleError      no file in it loads; its report says why of each
 +-- IndexFileError  a saved index is missing, stale or corrupt (callers rebuild)
"""

from __future__ import annotations

from .models import LoadReport


class RetrievalError(Exception):
    """Base of every error retrieval raises on purpose."""


class CorpusError(RetrievalError):
    """The corpus as a whole cannot be used; single bad files go to the load report."""


class MissingCorpusError(CorpusError):
    """The corpus folder does not exist (or is not a folder): the caller says how to name another."""


class NoArticleError(CorpusError):
    """No file of the corpus folder loads: the message names the first problems, `report`
    holds every one, for `newsbot stats` to list as it lists them of any corpus."""

    def __init__(self, message: str, report: LoadReport) -> None:
        super().__init__(message)
        self.report = report

    def __reduce__(self) -> tuple[type[NoArticleError], tuple[str, LoadReport]]:
        return type(self), (str(self), self.report)


class IndexFileError(RetrievalError):
    """A saved index cannot be trusted and must be rebuilt."""

"""Exceptions raised by retrieval; the bot and the command line turn them into words.

RetrievalError
 +-- CorpusError     the corpus folder cannot serve: unreadable, no article
 |    +-- MissingCorpusError  there is no such folder
 +-- IndexFileError  a saved index is missing, stale or corrupt (callers rebuild)
"""


class RetrievalError(Exception):
    """Base of every error retrieval raises on purpose."""


class CorpusError(RetrievalError):
    """The corpus as a whole cannot be used; single bad files go to the load report."""


class MissingCorpusError(CorpusError):
    """The corpus folder does not exist (or is not a folder): the caller says how to name another."""


class IndexFileError(RetrievalError):
    """A saved index cannot be trusted and must be rebuilt."""

"""What the bot keeps between updates: the library it serves and the questions behind buttons."""

from __future__ import annotations

import secrets
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from retrieval import Library

from .fairness import QuestionRateLimit
from .reloading import Reloads


class QueryStore:
    """Questions behind "More" buttons, by a short random key.

    Telegram allows 64 bytes of callback data, far less than a question, so the button
    carries a key. The oldest keys are forgotten first; a forgotten key is a stale button.
    """

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._questions: OrderedDict[str, str] = OrderedDict()

    def add(self, question: str) -> str:
        """Remember a question and return its key (8 URL-safe characters)."""
        key = secrets.token_urlsafe(6)
        self._questions[key] = question
        while len(self._questions) > self.capacity:
            self._questions.popitem(last=False)
        return key

    def get(self, key: str) -> str | None:
        """The question behind `key`, or None if it was never issued or is forgotten."""
        return self._questions.get(key)


@dataclass
class BotState:
    """The bot's mutable state; `library` is replaced whole by a reload."""

    library: Library
    corpus_dir: Path
    index_dir: Path
    admin_ids: frozenset[int]
    top_k: int
    fairness: QuestionRateLimit
    queries: QueryStore = field(default_factory=QueryStore)
    reloads: Reloads = field(default_factory=Reloads)

    @property
    def sizes(self) -> tuple[int, int]:
        """Articles and passages now served."""
        return len(self.library.articles), len(self.library.passages)

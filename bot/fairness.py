"""Per-user question limits, so one person cannot crowd out everyone else.

A sliding window: over `limit` questions in `window` seconds, the user gets one polite
"slow down" and then silence until the window has room again. Pure: the caller passes
the clock.
"""

from __future__ import annotations

from collections import deque
from enum import Enum


class Verdict(Enum):
    """What to do with one question."""

    ANSWER = "answer"
    WARN = "warn"
    """Over the limit for the first time in this window: say so once."""
    IGNORE = "ignore"


class QuestionRateLimit:
    """Sliding-window counter of answered questions per user."""

    def __init__(self, limit: int, window: float = 60.0, max_users: int = 100_000) -> None:
        self.limit = limit
        self.window = window
        self.max_users = max_users
        self._asked: dict[int, deque[float]] = {}
        self._warned: dict[int, float] = {}

    def check(self, user_id: int, now: float) -> Verdict:
        """Count a question from `user_id` at time `now` (seconds) and judge it."""
        times = self._asked.setdefault(user_id, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        if len(times) < self.limit:
            times.append(now)
            self._warned.pop(user_id, None)
            return Verdict.ANSWER
        if user_id in self._warned:
            return Verdict.IGNORE
        self._warned[user_id] = now
        self._forget_idle(now)
        return Verdict.WARN

    def _forget_idle(self, now: float) -> None:
        if len(self._asked) <= self.max_users:
            return
        for user_id in [u for u, t in self._asked.items() if not t or t[-1] <= now - self.window]:
            del self._asked[user_id]
            self._warned.pop(user_id, None)

"""Per-sender limits on questions and "More" presses, so no one can crowd out everyone else.

A sliding window: over `limit` requests in `window` seconds, the sender gets one polite
"slow down" and then silence until the window has room again. Senders idle for longer
than the window are forgotten, once per window, so memory follows the senders active in
the last two windows, not everyone ever seen. Pure: the caller passes the clock.
"""

from __future__ import annotations

import bisect
import math
from enum import Enum


class Verdict(Enum):
    """What to do with one request."""

    ANSWER = "answer"
    WARN = "warn"
    """Over the limit for the first time in this window: say so once."""
    IGNORE = "ignore"


class QuestionRateLimit:
    """Sliding-window counter of answered requests per sender (a user, or a chat for anonymous ones)."""

    def __init__(self, limit: int, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self._asked: dict[int, list[float]] = {}  # lists, not deques: a fifth of the memory
        self._warned: set[int] = set()
        self._swept = -math.inf

    def __len__(self) -> int:
        """How many senders are remembered."""
        return len(self._asked)

    def check(self, sender: int, now: float) -> Verdict:
        """Count a request from `sender` at time `now` (seconds) and judge it."""
        if now - self._swept >= self.window:
            self._forget_idle(now)
        times = self._asked.get(sender)
        if times is None:
            times = self._asked[sender] = []
        del times[: bisect.bisect_right(times, now - self.window)]  # times only grow: a monotonic clock
        if len(times) < self.limit:
            times.append(now)
            self._warned.discard(sender)
            return Verdict.ANSWER
        if sender in self._warned:
            return Verdict.IGNORE
        self._warned.add(sender)
        return Verdict.WARN

    def _forget_idle(self, now: float) -> None:
        """Drop senders with nothing in the window: they would be answered afresh anyway."""
        self._swept = now
        self._asked = {
            sender: times for sender, times in self._asked.items() if times and times[-1] > now - self.window
        }
        self._warned &= self._asked.keys()

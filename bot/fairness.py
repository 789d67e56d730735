"""Per-sender limits on questions and "More" presses, so no one can crowd out everyone else,
and how often a chat over its share of updates in flight is told so (`BusyNotes`).

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


class BusyNotes:
    """When each chat was last told that the bot is busy: at most once every `every` seconds.

    A chat over its share of updates in flight has its further updates dropped; the first
    one that asks the bot something gets a note, the others in the next minute nothing, so
    the notes themselves cannot flood a chat that Telegram already limits. Chats told more
    than `every` seconds ago are forgotten, once per `every`. Pure: the caller passes the clock.
    """

    def __init__(self, every: float = 60.0) -> None:
        self.every = every
        self._told: dict[int, float] = {}
        self._swept = -math.inf

    def __len__(self) -> int:
        """How many chats are remembered."""
        return len(self._told)

    def due(self, chat: int, now: float) -> bool:
        """Whether `chat` is to be told now (and if so, remember that it was)."""
        if now - self._swept >= self.every:
            self._swept = now
            self._told = {known: at for known, at in self._told.items() if now - at < self.every}
        told = self._told.get(chat)
        if told is not None and now - told < self.every:
            return False
        self._told[chat] = now
        return True

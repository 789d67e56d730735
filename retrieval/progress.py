"""How far a long job has come, told through a callback: the library itself never prints.

`Library.load` calls its `progress` callback with a `BuildStep` when a build (or an
update of the files that changed) starts, as each chunk of files has been read and
analyzed, and once the index is saved. What to show is the caller's choice: a terminal
wants a bar; a log (the bot's, a cron job's) wants a few lines, which `ProgressLog` writes:
one at the start, one every tenth of the way or half minute, whichever comes first (as
often as steps come), and one at the end, each with its counts.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

__all__ = ["BuildStep", "ProgressLog", "counted"]

logger = logging.getLogger(__name__)


def counted(number: int, noun: str) -> str:
    """`1 article`, `2,500 articles`: a count and its noun, plural unless it is one."""
    return f"{number:,} {noun}" if number == 1 else f"{number:,} {noun}s"


@dataclass(frozen=True, slots=True)
class BuildStep:
    """How far a build is: `done` of `total` files read and analyzed, and what they held."""

    kind: Literal["build", "update"]
    """A build reads every file; an update only those that changed (`total` is theirs)."""
    done: int
    total: int
    articles: int = 0
    passages: int = 0
    finished: bool = False
    """The index is saved (or, if it could not be, built in memory) and about to serve."""

    def counts(self) -> str:
        """What the files read so far held: `1 article, 3 passages`."""
        return f"{counted(self.articles, 'article')}, {counted(self.passages, 'passage')}"


class ProgressLog:
    """Log lines for a job counted in `unit`s: at its start, each time it enters another of
    `parts` equal parts of the way or `seconds` after the last line (at the pace of its
    steps), and at its end.

    Called with a `BuildStep`, it logs a build's steps; `update` serves any other job.
    """

    def __init__(
        self,
        what: str = "build",
        unit: str = "file",
        log: logging.Logger = logger,
        parts: int = 10,
        seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.what, self.unit, self.log = what, unit, log
        self.parts, self.seconds, self.clock = parts, seconds, clock
        self._started: float | None = None
        self._last_time = 0.0
        self._last_part = 0

    def __call__(self, step: BuildStep) -> None:
        self.what = step.kind
        self.update(step.done, step.total, step.counts() if step.done else "", step.finished)

    def update(self, done: int, total: int, counts: str = "", finished: bool = False) -> None:
        """Log the job's start on its first call (or with `done` 0), its end when `finished`, and
        as due between."""
        now = self.clock()
        if self._started is None or (done == 0 and not finished):  # another job, or one begun again
            self._started = self._last_time = now
            self._last_part = 0
            self.log.info("%s: started, %s", self.what, counted(total, self.unit))
        elapsed = now - self._started
        if finished:
            self._started = None
            tail = f": {counts}" if counts else ""
            self.log.info("%s: done, %s%s in %.1f s", self.what, counted(done, self.unit), tail, elapsed)
            return
        part = done * self.parts // total if total else self.parts  # in whole numbers: 0.3 - 0.2 < 0.1
        if done and (part > self._last_part or now - self._last_time >= self.seconds):
            self._last_time, self._last_part = now, part
            tail = f", {counts}" if counts else ""
            self.log.info(
                "%s: %s of %s (%d%%)%s, %.0f s",
                self.what,
                f"{done:,}",
                counted(total, self.unit),
                100 * done // total if total else 100,
                tail,
                elapsed,
            )

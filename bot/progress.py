"""Progress of long commands on stderr: a bar on a terminal, a few log lines anywhere else.

An index build, `newsbot eval` and `newsbot fetch` can take minutes. On a terminal, tqdm
draws a bar with counts, rate and time left, redrawn in place. Anywhere else (a pipe, a
file, cron) a bar would be a smear of carriage returns, so `retrieval.ProgressLog` logs a
line at the start, every tenth of the way and at the end instead. While a command runs,
log records go to stderr above any bar (`console_logging`), never through it.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tqdm import tqdm

from retrieval import BuildStep, ProgressLog
from retrieval.progress import counted

from .logs import LOG_FORMAT

__all__ = ["Bar", "console_logging", "counted", "meter", "on_terminal"]

logger = logging.getLogger(__name__)

PROGRESS_LOGGERS = ("retrieval.progress", __name__)
"""Where `ProgressLog` writes, for a build and for the other commands."""
BUILD_KINDS = {"build": "indexing", "update": "updating"}


def on_terminal() -> bool:
    """Whether stderr is a terminal, where a bar can be redrawn in place."""
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # no stderr, or closed
        return False


class Bar:
    """A tqdm bar on stderr, for one job at a time: made at the job's first step (`done` 0)
    and closed, left on screen, at its last."""

    def __init__(self, what: str, unit: str) -> None:
        self.what, self.unit = what, unit
        self._bar: tqdm[Any] | None = None

    def __call__(self, step: BuildStep) -> None:
        """Show a build's step (see `retrieval.progress`)."""
        self.what = BUILD_KINDS[step.kind]
        self.update(step.done, step.total, step.counts() if step.done else "", step.finished)

    def update(self, done: int, total: int, counts: str = "", finished: bool = False) -> None:
        """Move the bar to `done` of `total`, with `counts` after it."""
        if self._bar is None or (done == 0 and not finished):
            self.close()
            self._bar = tqdm(
                total=total, desc=self.what, unit=f" {self.unit}s", file=sys.stderr, dynamic_ncols=True
            )
        bar = self._bar
        bar.total = total
        if counts:
            bar.set_postfix_str(counts, refresh=False)
        bar.update(done - bar.n)
        if finished:
            self.close()

    def close(self) -> None:
        """End the bar where it is (a job stopped half way shows how far it came)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None


@contextmanager
def meter(what: str, unit: str, bar: bool | None = None) -> Iterator[Bar | ProgressLog]:
    """A bar on a terminal (or if `bar`), else log lines, for a job of `what` counted in `unit`;
    a bar is closed however the job ends. Called with `BuildStep`s, it shows a build."""
    shown = Bar(what, unit) if (on_terminal() if bar is None else bar) else ProgressLog(what, unit, logger)
    try:
        yield shown
    finally:
        if isinstance(shown, Bar):
            shown.close()


class ConsoleHandler(logging.Handler):
    """Writes records to stderr above any bar being drawn, which is then drawn again below."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:
            self.handleError(record)


@contextmanager
def console_logging(level: str, progress_lines: bool) -> Iterator[None]:
    """Log records of `level` and above to stderr while a command runs, and progress lines
    (`ProgressLog`) too if `progress_lines`; as it was before, afterwards."""
    handler = ConsoleHandler()
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root = logging.getLogger()
    progress = [logging.getLogger(name) for name in PROGRESS_LOGGERS]
    levels = [root.level, *(log.level for log in progress)]
    root.addHandler(handler)
    root.setLevel(level)
    if progress_lines:
        for log in progress:
            log.setLevel(logging.INFO)
    try:
        yield
    finally:
        root.removeHandler(handler)
        for log, before in zip([root, *progress], levels, strict=True):
            log.setLevel(before)

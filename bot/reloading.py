"""Reading a corpus again while the bot keeps answering, and dropping it when the bot stops.

The work is done in a child process (`python -m retrieval`), which checks every file and
saves the new index; the bot then maps it in a thread, which takes a fraction of a
second. Analyzing text in a thread of the bot itself would hold the interpreter lock for
most of the reload and slow every answer meanwhile. The same child, started as the bot
starts serving (`Reloads.catch_up`), finds what the start's cheap check cannot see: a
file edited in place. A stopping bot does not wait for either (a reload may take
minutes): `Reloads.abandon` kills the child at once and the old library stays. What the
child logs (a build's start, how far it is, its end, any warning) is logged here as it
comes, under the child's logger names, so the bot's log tells how a long build goes.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import re
import signal
import sys
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from retrieval import CorpusError, Library, LibraryOptions, ProgressLog
from retrieval.shelf import holder_waited_for

from .i18n import N_, Told
from .settings import secret_variables

__all__ = [
    "IndexingKilled",
    "Reloads",
    "catch_up",
    "in_daemon_thread",
    "index_in_child_process",
    "open_saved",
    "reload_library",
    "signal_name",
]

logger = logging.getLogger(__name__)
T = TypeVar("T")
Waiting = Callable[[str], None]
"""Told, with the holder's process id ("" if unknown), that the indexing waits for another
process that holds the saved index (`newsbot ask` suspended with Ctrl-Z, a second bot)."""
_LOG_LINE = re.compile(r"(DEBUG|INFO|WARNING|ERROR|CRITICAL) ([\w.]+): (.*)")
"""A record as `python -m retrieval` logs it (its `LOG_FORMAT`)."""


class Reloads:
    """One reload at a time, which a stopping bot abandons at once.

    An admin's /reload, the update for the articles a feed round brought and the check
    of every file after a start all run here: a second caller waits for the first, so two
    never read the corpus at once.
    """

    def __init__(self) -> None:
        self._task: asyncio.Future[Library] | None = None
        self._turn = asyncio.Lock()
        self._stopping = False
        self._reloads = 0

    @property
    def running(self) -> bool:
        """Whether a reload is in progress (or waiting for its turn); a start's check is not one."""
        return self._reloads > 0

    async def run(
        self,
        corpus: Path,
        index_dir: Path,
        options: LibraryOptions | None = None,
        waiting: Waiting | None = None,
        turn_taken: Callable[[], None] | None = None,
        allow_empty: Callable[[], bool] = lambda: False,
    ) -> Library | None:
        """The library read again from `corpus`, or None if the bot stopped first; `waiting`
        is told if it waits for another process holding the saved index, `turn_taken` once
        the reloads it waited for are done and served (what it finds served then is what it
        changes), and `allow_empty` then asked whether a library of no article may come of
        it (while the bot serves none, see `BotState.reload`).

        Raises `CorpusError` when the corpus cannot be read; the caller keeps the old library.
        """
        self._reloads += 1
        try:
            work = lambda: reload_library(corpus, index_dir, options, waiting, allow_empty())  # noqa: E731
            return await self._in_turn(work, turn_taken)
        finally:
            self._reloads -= 1

    async def catch_up(self, corpus: Path, index_dir: Path, served: Library) -> Library | None:
        """The library of `corpus` as it is now, after a check of every file: `served` itself
        if none changed since it was saved; None if the bot stopped first. It ranks as
        `served` does.

        Raises `CorpusError` when the changed corpus cannot be read.
        """
        return await self._in_turn(lambda: catch_up(corpus, index_dir, served))

    async def _in_turn(
        self, work: Callable[[], Awaitable[Library]], turn_taken: Callable[[], None] | None = None
    ) -> Library | None:
        async with self._turn:
            if self._stopping:
                return None
            if turn_taken is not None:
                turn_taken()
            task = self._task = asyncio.ensure_future(work())
            try:
                await asyncio.wait([task])
            finally:
                task.cancel()  # if this wait itself was cancelled; a finished task ignores it
                self._task = None
            return None if task.cancelled() else task.result()

    def abandon(self) -> None:
        """Stop the reload in progress, if any: its child process is killed, nothing is swapped in;
        reloads waiting for their turn do not start."""
        self._stopping = True
        if self._task is not None:
            self._task.cancel()


async def reload_library(
    corpus: Path,
    index_dir: Path,
    options: LibraryOptions | None = None,
    waiting: Waiting | None = None,
    allow_empty: bool = False,
) -> Library:
    """Index `corpus` in a child process, then map what it saved (or build here, if it could not).

    `options` only choose how the library ranks (`LEXICAL_ONLY`): the child builds the same
    index either way. `waiting`: see `index_in_child_process`; it is told too if the read here
    waits for the holder (after a failed child, which may have held nothing). `allow_empty`:
    a corpus of no readable article makes a library of none rather than `NoArticleError`.
    """
    indexed = await index_in_child_process(corpus, index_dir, waiting, allow_empty)
    loop = asyncio.get_running_loop()
    told = None if waiting is None else lambda pid: loop.call_soon_threadsafe(waiting, pid)
    return await in_daemon_thread(open_saved, corpus, index_dir, indexed, options, told, allow_empty)


async def catch_up(corpus: Path, index_dir: Path, served: Library) -> Library:
    """Check every file of `corpus` in a child process, which saves an update if any changed;
    then the library it saved, which is `served` if that is still the saved one. A `served`
    library of no article may be followed by another of none (its files' problems changed)."""
    allow_empty = not len(served.articles)
    indexed = await index_in_child_process(corpus, index_dir, allow_empty=allow_empty)
    if indexed and served.is_current():
        return served
    return await in_daemon_thread(open_saved, corpus, index_dir, indexed, served.options, None, allow_empty)


def open_saved(
    corpus: Path,
    index_dir: Path,
    checked: bool,
    options: LibraryOptions | None = None,
    waiting: Waiting | None = None,
    allow_empty: bool = False,
) -> Library:
    """The saved library of `corpus`: after the child `checked` every file, only the corpus
    folders are looked at again; otherwise every file is, and the index updated here, in
    turn with other processes (`waiting` is told, in this thread, if it waits for one)."""
    if checked:
        library = Library.open_current(corpus, index_dir, options, check="folders")
        if library is not None:
            return library
    return Library.load(
        corpus, options, index_dir, progress=ProgressLog(), waiting=waiting, allow_empty=allow_empty
    )


async def index_in_child_process(
    corpus: Path, index_dir: Path, waiting: Waiting | None = None, allow_empty: bool = False
) -> bool:
    """Build or update the saved index of `corpus` in a child process, and wait for it.

    Tells whether the child succeeded, and never raises for a failed build: the load that
    follows reports the corpus's problem (or builds in this process if the index could
    not be saved). A child killed by a signal raises `CorpusError`: most often the system
    ran out of memory and killed it, and the same build here would take as much memory
    and the bot with it. A cancelled wait, as at shutdown, kills the child; so does this
    process's exit, as the child's standard input then closes. The child's environment
    holds none of the bot's secrets. What it logs is logged here as it comes (`relay_log`),
    and `waiting` is told at once if the child waits for another process that holds the
    saved index, which may hold it for as long as it is suspended. `allow_empty`: the child
    saves a corpus of no readable article as a library of none (`Library.load`).
    """
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "retrieval",
        str(corpus),
        str(index_dir),
        *(["--allow-empty"] if allow_empty else []),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env=environment_without_secrets(),
    )
    assert child.stderr is not None
    try:
        said = await relay_log(child.stderr, waiting=waiting)
        code = await child.wait()
    except asyncio.CancelledError:
        child.kill()
        # reaped while the loop runs: else its exit and its pipes' closing reach a loop a
        # stopping bot has closed, and print "Event loop is closed" tracebacks in its log
        await child.wait()
        raise
    if code < 0:
        raise IndexingKilled(-code)
    if code != 0:
        reason = "\n".join(said)[-500:]
        logger.warning("indexing in a child process failed (%s): %s", code, reason)
    return code == 0


class IndexingKilled(Told, CorpusError):
    """A reload failed as a signal ended its indexing process; told in the admin's language."""

    def __init__(self, number: int) -> None:
        super().__init__(self._text(number), signal=signal_name(number))

    @staticmethod
    def _text(number: int) -> str:
        if number == signal.SIGKILL:
            return N_(
                "the indexing process was killed by {signal} (the system kills it so when memory "
                "runs out); the corpus was not read again"
            )
        return N_("the indexing process was killed by {signal}; the corpus was not read again")


def signal_name(number: int) -> str:
    """A signal's name as `kill -l` prints it, a real-time one's too (`SIGRTMIN+6`), which
    `signal.Signals` does not name: "killed by 40" said nothing."""
    try:
        return signal.Signals(number).name
    except ValueError:
        low, high = getattr(signal, "SIGRTMIN", 0), getattr(signal, "SIGRTMAX", -1)
        return f"SIGRTMIN+{number - low}" if low < number <= high else f"signal {number}"


async def relay_log(
    stream: asyncio.StreamReader, keep: int = 20, waiting: Waiting | None = None
) -> list[str]:
    """Log each record a child writes to `stream`, at its level and under its logger's name,
    until the stream ends; the last `keep` other lines (an error message, a traceback).
    `waiting` is told when a record says the child waits for the saved index's holder."""
    other: collections.deque[str] = collections.deque(maxlen=keep)
    while True:
        try:
            line = await stream.readline()
        except ValueError:  # a line over the stream's limit: dropped, and the next one read
            continue
        if not line:
            return list(other)
        text = line.decode(errors="replace").rstrip("\n")
        record = _LOG_LINE.fullmatch(text)
        if record is None:
            other.append(text)
        else:
            level, name, message = record.groups()
            logging.getLogger(name).log(logging.getLevelNamesMapping()[level], "%s", message)
            if waiting is not None and (holder := holder_waited_for(message)) is not None:
                waiting(holder)


def environment_without_secrets() -> dict[str, str]:
    """This process's environment minus the secret settings, for a child that needs none of them."""
    secrets = secret_variables()
    return {name: value for name, value in os.environ.items() if name.upper() not in secrets}


async def in_daemon_thread(function: Callable[..., T], *args: Any) -> T:
    """Run blocking work off the event loop in a thread that never delays the process's exit.

    A stopping bot abandons a reload in progress instead of waiting for it; the old
    library stays untouched because the new one is only swapped in on success.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def work() -> None:
        try:
            result = function(*args)
        except BaseException as error:  # handed to the awaiting coroutine
            loop.call_soon_threadsafe(_settle, future, None, error)
        else:
            loop.call_soon_threadsafe(_settle, future, result, None)

    threading.Thread(target=work, name="newsbot-reload", daemon=True).start()
    return await future


def _settle(future: asyncio.Future[T], result: T | None, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)  # type: ignore[arg-type]

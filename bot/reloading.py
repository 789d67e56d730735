"""Reading a corpus again while the bot keeps answering, and dropping it when the bot stops.

The work is done in a child process (`python -m retrieval`), which saves the new index;
the bot then maps it in a thread, which takes a fraction of a second. Analyzing text in
a thread of the bot itself would hold the interpreter lock for most of the reload and
slow every answer meanwhile. A stopping bot does not wait for a reload (it may take
minutes): `Reloads.abandon` kills the child at once and the old library stays.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from retrieval import Library, LibraryOptions

from .settings import secret_variables

__all__ = ["Reloads", "in_daemon_thread", "index_in_child_process", "reload_library"]

logger = logging.getLogger(__name__)
T = TypeVar("T")


class Reloads:
    """One reload at a time, which a stopping bot abandons at once.

    An admin's /reload and the update for the articles a feed round brought both run
    here: a second caller waits for the first, so two never read the corpus at once.
    """

    def __init__(self) -> None:
        self._task: asyncio.Task[Library] | None = None
        self._turn = asyncio.Lock()
        self._stopping = False

    @property
    def running(self) -> bool:
        """Whether a reload is in progress (or waiting for its turn)."""
        return self._task is not None or self._turn.locked()

    async def run(
        self, corpus: Path, index_dir: Path, options: LibraryOptions | None = None
    ) -> Library | None:
        """The library read again from `corpus`, or None if the bot stopped first.

        Raises `CorpusError` when the corpus cannot be read; the caller keeps the old library.
        """
        async with self._turn:
            if self._stopping:
                return None
            task = self._task = asyncio.create_task(reload_library(corpus, index_dir, options))
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


async def reload_library(corpus: Path, index_dir: Path, options: LibraryOptions | None = None) -> Library:
    """Index `corpus` in a child process, then map what it saved (or build here, if it could not).

    `options` only choose how the library ranks (`LEXICAL_ONLY`): the child builds the same
    index either way.
    """
    await index_in_child_process(corpus, index_dir)
    return await in_daemon_thread(Library.load, corpus, options, index_dir)


async def index_in_child_process(corpus: Path, index_dir: Path) -> None:
    """Build or update the saved index of `corpus` in a child process, and wait for it.

    Never raises for a failed build: the load that follows reports the corpus's problem
    (or builds in this process if the index could not be saved). A cancelled wait, as at
    shutdown, kills the child; so does this process's exit, as the child's standard
    input then closes. The child's environment holds none of the bot's secrets.
    """
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "retrieval",
        str(corpus),
        str(index_dir),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env=environment_without_secrets(),
    )
    try:
        _, errors = await child.communicate()
    except asyncio.CancelledError:
        child.kill()
        raise
    if child.returncode != 0:
        reason = errors.decode(errors="replace")[-500:]
        logger.warning("indexing in a child process failed (%s): %s", child.returncode, reason)


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

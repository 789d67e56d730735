"""A fetched page's article, or a feed an admin adds, read in a child process within a budget,
a few at a time.

An admin's /add used to read its page (trafilatura, `bot.extract`) in a worker thread of
the bot: up to some 6 s of CPU for a page of the 50,000 elements `MAX_ELEMENTS` allows, in
the threads the bot's searches run in. A few such pages at once took them all, and every
chat's question waited for the first page to be read. Here each page is read by
`python -m bot.extracting`, a process of its own (started afresh, never forked from the bot
and its threads: some 0.25 s and 40 MB), at most `READ_AT_ONCE` at a time; the others wait
their turn, and their senders are told (`queued`). A reader gets `READ_CPU_SECONDS` of CPU
(the system ends it past them, `RLIMIT_CPU`) and `READ_SECONDS` in all; past either it is
killed and the page is `PageNotRead`, slow. A stopping bot kills the readers at once
(`PageReader.abandon`), and a reader whose bot is gone (its standard input closed) exits.

A feed an admin adds (`/feeds add`) is parsed the same way (`read_feed`): feedparser took some
6 s of CPU for a document of 50,000 items (3.5 MB, within `FEED_MAX_BYTES`) in those same
threads, and a handful of them held every chat's answer. The feeds' rounds read their feeds
and pages in a child process of their own already (`bot.feed_jobs`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import os
import resource
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .extract import Extracted, ExtractError, decode_html, extract_article
from .i18n import N_, Told

__all__ = [
    "READ_AT_ONCE",
    "READ_CPU_SECONDS",
    "READ_SECONDS",
    "FeedOutline",
    "PageNotRead",
    "PageReader",
    "ReadAbandoned",
]

logger = logging.getLogger(__name__)

READ_AT_ONCE = 2
"""Pages read at once: one a core of a small server, which keeps the others for answers."""
READ_CPU_SECONDS = 20
"""CPU seconds a page may take: the heaviest page `MAX_ELEMENTS` lets through takes some 6."""
READ_SECONDS = 60.0
"""Seconds a page may take in all, from its reader's start: a reader the machine starves or
that someone stopped (SIGSTOP) does not hold a turn for ever."""


class PageNotRead(Told):
    """A page whose reader was ended past its budget (`slow`), or ended without an answer."""

    def __init__(self, text: str, /, *, slow: bool = False, **values: object) -> None:
        super().__init__(text, **values)
        self.slow = slow


class ReadAbandoned(Exception):
    """The bot is stopping: the page was not read, and no one is told."""


@dataclass(frozen=True, slots=True)
class FeedOutline:
    """What adding a feed needs of its document: its title and how many items it has; or, for an
    HTML page that is no feed, the feeds it announces."""

    title: str | None
    entries: int
    announced: tuple[str, ...] = ()


class PageReader:
    """Reads pages in child processes, `at_once` at a time, each within its budget."""

    def __init__(
        self, at_once: int = READ_AT_ONCE, cpu_seconds: int = READ_CPU_SECONDS, seconds: float = READ_SECONDS
    ) -> None:
        self.at_once = at_once
        self.cpu_seconds = cpu_seconds
        self.seconds = seconds
        self._slots = asyncio.Semaphore(at_once)
        self._reading = 0
        self._waiting = 0
        self._children: set[asyncio.subprocess.Process] = set()
        self._stopping = False

    async def read(
        self, content: bytes, charset: str | None, url: str, queued: Callable[[int], None] | None = None
    ) -> Extracted:
        """The article of a page; `ExtractError` when it holds none, `PageNotRead` when its reader
        took too long or failed, `ReadAbandoned` when the bot stops first. `queued` is told how
        many pages are ahead when this one must wait for its turn."""
        header = {"kind": "article", "url": url, "charset": charset}
        return _from_json(await self._read(header, content, queued))

    async def read_feed(
        self,
        content: bytes,
        content_type: str | None,
        url: str,
        discover: bool = False,
        queued: Callable[[int], None] | None = None,
    ) -> FeedOutline:
        """A feed document's outline; with `discover`, an HTML page that is no feed gives the feeds
        it announces instead. `FeedParseError` when it is no feed (and announces none); otherwise
        as `read`."""
        from .feeds import FeedParseError

        header = {"kind": "feed", "url": url, "content_type": content_type, "discover": discover}
        result = await self._read(header, content, queued)
        if "error" in result:
            raise FeedParseError(result["error"], **result["values"])
        return FeedOutline(result["title"], result["entries"], tuple(result["announced"]))

    async def _read(
        self, header: dict[str, Any], content: bytes, queued: Callable[[int], None] | None = None
    ) -> dict[str, Any]:
        """The child's answer for one document, once a reader is free."""
        url = header["url"]
        ahead = self._reading + self._waiting
        if ahead >= self.at_once and queued is not None:
            queued(ahead)
        self._waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self._waiting -= 1
        self._reading += 1
        try:
            if self._stopping:
                raise ReadAbandoned(url)
            return await self._in_child(header, content)
        finally:
            self._reading -= 1
            self._slots.release()

    def abandon(self) -> None:
        """Kill the readers at work; pages waiting for their turn are not read."""
        self._stopping = True
        for child in self._children:
            with contextlib.suppress(ProcessLookupError):
                child.kill()

    async def _in_child(self, header: dict[str, Any], content: bytes) -> dict[str, Any]:
        # imported here, not in the child, which needs neither and would load the index code
        from .reloading import environment_without_secrets, signal_name

        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.extracting",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=environment_without_secrets(),
        )
        assert child.stdin is not None and child.stdout is not None and child.stderr is not None
        self._children.add(child)
        url, what = header["url"], "feed" if header["kind"] == "feed" else "page"  # for the log
        header = {**header, "length": len(content), "cpu_seconds": self.cpu_seconds}
        try:
            async with asyncio.timeout(self.seconds):
                child.stdin.write(json.dumps(header).encode() + b"\n" + content)
                with contextlib.suppress(ConnectionError):  # it ended already: its exit tells why
                    await child.stdin.drain()
                output, errors = await asyncio.gather(child.stdout.read(), child.stderr.read())
                code = await child.wait()
        except TimeoutError:
            child.kill()
            await child.wait()
            logger.warning(
                "%s %s not read: its reader took over %g seconds, and was killed", what, url, self.seconds
            )
            raise PageNotRead(N_("more than {seconds:g} seconds"), slow=True, seconds=self.seconds) from None
        except asyncio.CancelledError:
            child.kill()
            await child.wait()  # reaped while the loop runs, as `reloading` does
            raise
        finally:
            self._children.discard(child)
            child.stdin.close()
        if self._stopping:
            raise ReadAbandoned(url)
        if code == -signal.SIGXCPU:
            logger.warning("%s %s not read: its reader took over %d s of CPU", what, url, self.cpu_seconds)
            raise PageNotRead(N_("more than {seconds:g} seconds"), slow=True, seconds=self.cpu_seconds)
        if code != 0:
            reason = signal_name(-code) if code < 0 else f"exit {code}"
            logger.warning(
                "%s %s not read: its reader ended (%s): %s", what, url, reason, errors.decode()[-1000:]
            )
            raise PageNotRead(N_("the process reading it ended ({reason})"), reason=reason)
        result: dict[str, Any] = json.loads(output)
        return result


def _to_json(extracted: Extracted) -> dict[str, Any]:
    date = extracted.date.isoformat() if extracted.date else None
    return {
        "title": extracted.title,
        "date": date,
        "paragraphs": extracted.paragraphs,
        "site": extracted.site,
    }


def _from_json(result: dict[str, Any]) -> Extracted:
    if "error" in result:
        raise ExtractError(result["error"], **result["values"])
    date = dt.date.fromisoformat(result["date"]) if result["date"] else None
    return Extracted(result["title"], date, tuple(result["paragraphs"]), result["site"])


def _article(content: bytes, header: dict[str, Any]) -> dict[str, Any]:
    try:
        return _to_json(extract_article(decode_html(content, header["charset"]), header["url"]))
    except ExtractError as error:
        return {"error": error.text, "values": error.values}


def _feed(content: bytes, header: dict[str, Any]) -> dict[str, Any]:
    from .feeds import FeedParseError, discover_feeds, parse_feed  # here: a page's reader needs none

    try:
        parsed = parse_feed(content, header["url"], header["content_type"])
    except FeedParseError as error:
        announced = discover_feeds(content, header["url"]) if header["discover"] else []
        if not announced:
            return {"error": error.text, "values": error.values}
        return {"title": None, "entries": 0, "announced": announced}
    return {"title": parsed.title, "entries": len(parsed.entries), "announced": []}


def main() -> int:
    """Read one page or feed from standard input (a JSON header line, then its bytes); print
    what it holds, or why it holds nothing to read, as JSON."""
    header = json.loads(sys.stdin.buffer.readline())
    content = sys.stdin.buffer.read(header["length"])
    threading.Thread(target=_exit_when_stdin_closes, daemon=True).start()
    cpu, most = header["cpu_seconds"], resource.getrlimit(resource.RLIMIT_CPU)[1]
    if most != resource.RLIM_INFINITY:  # a lower limit set for the bot stays
        cpu = min(cpu, most - 1)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))  # SIGXCPU at the first, SIGKILL at the second
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # SIGXCPU dumps no core
    result = (_feed if header["kind"] == "feed" else _article)(content, header)
    sys.stdout.write(json.dumps(result))
    return 0


def _exit_when_stdin_closes() -> None:
    """End this process once the bot is gone: the bot holds its standard input open until the answer."""
    while os.read(sys.stdin.fileno(), 4096):
        pass
    os._exit(3)


if __name__ == "__main__":
    sys.exit(main())

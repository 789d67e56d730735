"""/add through the real bot, as a process: its reply's time, and another chat's answer meanwhile.

    python bench/add_link.py                   # this checkout's bot
    python bench/add_link.py --code ../main    # another checkout's bot, with this Python

Serves on 127.0.0.1 a news page of some 40 KB (an article among menus, a sidebar of links,
scripts) and a hostile page (50,000 elements, no article: some 6 s of the extractor's CPU),
and prints medians over `--runs` runs of:

- the time from an admin's /add of a new normal page to its "Added and indexed" reply;
- another chat's answer to a question asked while nothing else runs, while one hostile page
  is read, and while `--heavy` hostile pages are (each run new pages, asked once all are
  fetched);
- the bot's peak memory (VmHWM) and the largest page reader's (`python -m bot.extracting`),
  sampled while it runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import children, peak_memory_kb  # noqa: E402
from fakes.bot_api import Call, FakeBotApi  # noqa: E402
from fakes.newsroom import Newsroom, article_page, paragraphs  # noqa: E402

TOKEN = "100000:add-link-bench-token"
ADMIN = 1
READER = 7
QUESTION = "Who negotiated with Abramovich?"
ELEMENTS = 50_000 - 20
"""Under `bot.extract.MAX_ELEMENTS`: the heaviest page the extractor still reads."""


def normal_page(number: int) -> bytes:
    sidebar = "".join(f"<li><a href='/world/{n}'>Another story number {n}</a></li>" for n in range(300))
    scripts = "<script>var tracker = {};</script>" * 20
    body = paragraphs(f"story-{number}", count=12, words=60)
    return article_page(
        f"Harbour story {number}", body, furniture=f"<aside><ul>{sidebar}</ul></aside>{scripts}"
    )


def hostile_page() -> bytes:
    return ("<html><head><title>Hostile</title></head><body><article>" + "<p> </p>" * ELEMENTS).encode()


def reader_peak_kb(pid: int) -> int:
    """A page reader's peak resident set; 0 for any other process, or one gone."""
    try:
        return peak_memory_kb(pid) if b"bot.extracting" in Path(f"/proc/{pid}/cmdline").read_bytes() else 0
    except OSError:
        return 0


def replied(call: Call) -> bool:
    """Whether a message to the admin answers an /add (not one that tells it waits)."""
    return not call.params["text"].startswith("Your link is in line")


async def answered_in(api: FakeBotApi) -> float:
    """Seconds from a question to its answer, in the reader's chat."""
    before = len(api.sent(chat_id=READER))
    started = time.monotonic()
    api.push_message(QUESTION, user_id=READER)
    await api.wait_for(chat_id=READER, count=before + 1, timeout=600)
    return time.monotonic() - started


@contextlib.asynccontextmanager
async def bot_process(api: FakeBotApi, code: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    """The bot of the checkout `code` as a process, polling `api`, over a copy of the shipped
    corpus in a scratch folder (links saved in it), its first search done; stopped after."""
    with tempfile.TemporaryDirectory() as scratch:
        env = {
            "TELEGRAM_BOT_TOKEN": api.token,
            "TELEGRAM_BASE_URL": api.base_url,
            "CORPUS_DIR": str(Path(scratch) / "corpus"),
            "INDEX_DIR": str(Path(scratch) / "index"),
            "STATE_DIR": str(Path(scratch) / "state"),
            "ADMIN_IDS": str(ADMIN),
            "FEED_INTERVAL": "0",
            "FEED_HOST_DELAY": "0",
            "FEED_PRIVATE_NETWORKS": "127.0.0.0/8",
            "LOG_LEVEL": "WARNING",
        }
        shutil.copytree(ROOT / "corpus", Path(scratch) / "corpus")
        bot = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", cwd=code, env={**os.environ, **env}
        )
        try:
            await api.wait_for("getUpdates", timeout=600)
            await answered_in(api)  # the first search compiles
            yield bot
        finally:
            bot.terminate()
            await bot.wait()


def median(seconds: list[float]) -> str:
    return f"{statistics.median(seconds) * 1000:.0f} ms"


async def run(args: argparse.Namespace) -> None:
    site = await Newsroom().start()
    api = FakeBotApi(TOKEN)
    await api.start()
    readers_peak = 0
    try:
        async with bot_process(api, args.code) as bot:
            idle = [await answered_in(api) for _ in range(args.runs)]
            adds = []
            for number in range(args.runs):
                url = site.put(f"story-{number}.html", normal_page(number))
                before = len(api.sent(chat_id=ADMIN))
                started = time.monotonic()
                api.push_message(f"/add {url}", user_id=ADMIN)
                (reply,) = (await api.wait_for(chat_id=ADMIN, count=before + 1, timeout=600))[before:]
                adds.append(time.monotonic() - started)
                assert reply.params["text"].startswith("Added and indexed"), reply.params["text"]
            during: dict[int, list[float]] = {}
            for heavy in sorted({1, args.heavy}) if args.heavy else []:
                during[heavy] = []
                for number in range(args.runs):
                    urls = [
                        site.put(f"hostile-{heavy}-{number}-{n}.html", hostile_page()) for n in range(heavy)
                    ]
                    before = len(api.sent(chat_id=ADMIN))
                    for url in urls:
                        api.push_message(f"/add {url}", user_id=ADMIN)
                    while not all(site.hits(url.rsplit("/", 1)[1]) for url in urls):
                        await asyncio.sleep(0.01)
                    await asyncio.sleep(0.2)  # downloaded: their reading has begun
                    during[heavy].append(await answered_in(api))
                    while len([call for call in api.sent(chat_id=ADMIN)[before:] if replied(call)]) < heavy:
                        for child in children(bot.pid):
                            readers_peak = max(readers_peak, reader_peak_kb(child))
                        await asyncio.sleep(0.05)
            bot_peak = peak_memory_kb(bot.pid)
    finally:
        await api.stop()
        await site.stop()

    print(f"code {args.code}, {args.runs} runs, medians")
    print(f"/add of a normal page ({len(normal_page(0)) // 1000} KB) to its reply: {median(adds)}")
    print(f"another chat's answer, idle: {median(idle)}")
    for heavy, seconds in during.items():
        print(f"another chat's answer while {heavy} hostile page(s) are read: {median(seconds)}")
    print(f"peak memory: bot {bot_peak / 1024:.0f} MB, largest page reader {readers_peak / 1024:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--code", type=Path, default=ROOT, help="the checkout whose bot runs (default this one)"
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--heavy", type=int, default=6, help="hostile pages added at once (default 6; 0: no hostile page)"
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()

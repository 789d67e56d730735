"""/feeds add through the real bot, as a process: another chat's answer while hostile feeds are added.

    python bench/add_feed.py                   # this checkout's bot
    python bench/add_feed.py --code ../main    # another checkout's bot, with this Python

Serves on 127.0.0.1 hostile documents of 50,000 items and no feed in them (3.5 MB, gzipped
to 130 KB; some 6 s of feedparser's CPU each, then "not an RSS or Atom feed") and prints medians over `--runs`
runs of another chat's answer to a question asked while nothing else runs, and while
`--heavy` of them are added at once (each run new ones, asked once all are fetched), and of
the time until the last of them is answered.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.add_link import ADMIN, answered_in, bot_process, median  # noqa: E402
from fakes.bot_api import FakeBotApi  # noqa: E402
from fakes.newsroom import RSS, Newsroom, hostile_feed  # noqa: E402

TOKEN = "100000:add-feed-bench-token"


async def run(args: argparse.Namespace) -> None:
    site = await Newsroom().start()
    api = FakeBotApi(TOKEN)
    await api.start()
    feed = hostile_feed()
    gzipped = gzip.compress(feed)  # a small download: the parsing, not the fetching, is measured
    try:
        async with bot_process(api, args.code):
            idle = [await answered_in(api) for _ in range(args.runs)]
            during, added = [], []
            for number in range(args.runs):
                urls = [
                    site.put(f"hostile-{number}-{n}.xml", gzipped, RSS, headers={"Content-Encoding": "gzip"})
                    for n in range(args.heavy)
                ]
                before = len(api.sent(chat_id=ADMIN))
                started = time.monotonic()
                for url in urls:
                    api.push_message(f"/feeds add {url}", user_id=ADMIN)
                while not all(site.hits(url.rsplit("/", 1)[1]) for url in urls):
                    await asyncio.sleep(0.01)
                await asyncio.sleep(0.2)  # downloaded: their parsing has begun
                during.append(await answered_in(api))
                await api.wait_for(chat_id=ADMIN, count=before + args.heavy, timeout=600)
                added.append(time.monotonic() - started)
    finally:
        await api.stop()
        await site.stop()

    print(f"code {args.code}, {args.runs} runs, medians")
    print(f"another chat's answer, idle: {median(idle)}")
    heavy = f"{args.heavy} hostile documents of {len(feed) // 1000} KB"
    print(f"another chat's answer while {heavy} are added: {median(during)}")
    print(f"the {args.heavy} /feeds add to their last reply: {median(added)}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--code", type=Path, default=ROOT, help="the checkout whose bot runs (default this one)"
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--heavy", type=int, default=6, help="hostile documents added at once (default 6)")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()

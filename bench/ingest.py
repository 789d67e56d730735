"""Getting news in, timed: feeds -> saved articles -> answerable -> alerts sent.

    python bench/ingest.py [--feeds 50] [--items 40] [--archive 20000] [--host-delay 0]

Serves `--feeds` feeds of `--items` summary-only items each, one feed per host on
127.0.0.2, 127.0.0.3, ... (so the per-host pace applies as it would to real
publishers), each item's page about 40 KB of HTML (menus, sidebar, scripts around the
article), so every article costs a page download and a trafilatura extraction. Then:

1. one round (`fetch_round`, as `newsbot fetch` and the bot's poll run it): articles
   per second through download + extraction + save;
2. the real bot (over a fake Bot API on 127.0.0.1, on the shipped corpus plus a
   generated archive of `--archive` passages): one follower per feed, then one poll
   as the bot runs it (the round in a child process; every 15 seconds meanwhile and
   once after it, the update through the reload path, matching and alerts): the time
   from the round's end to all the new articles being answerable, and each alert's
   latency from its article's save to its message.

Left out: the real network (DNS, TLS, distant and slow servers), which dominate a real
round; at the bot's default pace (FEED_HOST_DELAY=1, `--host-delay 1` here), a feed of 40
new items takes at least 40 seconds whatever the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.alerts import topic_terms  # noqa: E402
from bot.app import build_application  # noqa: E402
from bot.feed_jobs import feed_service, poll_now  # noqa: E402
from bot.fetching import FetchOptions  # noqa: E402
from bot.ingest import IngestOptions, fetch_round  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.statedb import open_state  # noqa: E402
from fakes.bot_api import FakeBotApi  # noqa: E402
from fakes.corpora import generate_corpus  # noqa: E402
from fakes.newsroom import RSS, Item, Newsroom, article_page, paragraphs, rss  # noqa: E402
from retrieval import Library  # noqa: E402

TOKEN = "123456:bench-token"
LOOPBACK = "127.0.0.0/8"
"""Where the sites run: allowed, as an operator allows an intranet (only public addresses are, by default)."""
WHEN = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=2)
"""Items are news: alerts go out only for articles dated shortly before they arrive."""


def furniture(seed: int) -> str:
    """About 38 KB of what surrounds an article on a real page: links, teasers, a script."""
    chooser = random.Random(seed)
    links = "".join(
        f"<li><a href='/s/{chooser.randrange(10**6)}'>Related story {n}</a></li>" for n in range(300)
    )
    teasers = "".join(f"<div class='teaser'><p>{p}</p></div>" for p in paragraphs(f"t{seed}", count=20))
    script = "<script>var config = {" + ",".join(f"k{n}: {n}" for n in range(1500)) + "};</script>"
    return f"<aside><ul>{links}</ul>{teasers}</aside>{script}"


def topic_words(feed: int) -> str:
    """Two made-up words only feed `feed`'s first article is about."""
    return f"zorvak{feed} quellin{feed}"


async def serve(feeds: int, items: int) -> list[Newsroom]:
    """One news site per feed, each on its own loopback address."""
    sites = [await Newsroom(f"127.0.0.{2 + number}").start() for number in range(feeds)]
    for number, site in enumerate(sites):
        entries = []
        for item in range(items):
            title = f"Feed {number} story {item}"
            body = paragraphs(f"{number}-{item}", count=5)
            if item == 0:
                words = topic_words(number)
                title = f"{words} {title}"
                body = [f"The {words} report was published today; {words} matters." * 3, *body]
            page = article_page(title, body, furniture=furniture(number * 1000 + item))
            entries.append(Item(title, site.put(f"{item}.html", page), WHEN + dt.timedelta(minutes=item)))
        site.put("feed.xml", rss(f"Site {number}", entries), RSS)
    return sites


def subscribe(state_dir: Path, sites: list[Newsroom], read_before: bool = False) -> None:
    """Add a feed per site; `read_before`: as feeds read in an earlier round, so that what they
    serve now is news that alerts (a new feed's first read is its backlog, and alerts no one)."""
    db = open_state(state_dir)
    for number, site in enumerate(sites):
        feed = db.add_feed(site.url("feed.xml"), f"site{number}", f"Site {number}")
        if read_before:
            db.feed_checked(feed.id, etag=None, last_modified=None, title=None)
    db.close()


async def throughput(sites: list[Newsroom], work: Path, host_delay: float) -> float:
    """One round into an empty corpus; returns articles per second."""
    fetch = FetchOptions(host_delay=host_delay, timeout=60, private_networks=(LOOPBACK,))
    options = IngestOptions(work / "corpus", work / "state", fetch)
    subscribe(options.state_dir, sites)
    started = time.perf_counter()
    report = await fetch_round(options)
    seconds = time.perf_counter() - started
    print(f"round: {report.summary()}")
    rate = len(report.saved) / seconds
    print(f"  {len(report.saved)} articles in {seconds:.1f} s: {rate:.1f} articles/s (pace {host_delay} s)")
    return rate


async def bot_poll(sites: list[Newsroom], work: Path, archive: int, host_delay: float) -> None:
    """The bot's poll: round in a child, then answerable; alert latencies."""
    corpus = work / "bot-corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    if archive:
        (corpus / "archive").mkdir()
        generate_corpus(corpus / "archive", archive, seed=14)
    index_dir, state_dir = work / "bot-index", work / "bot-state"
    subscribe(state_dir, sites, read_before=True)
    print(f"bot corpus: shipped + {archive:,} generated passages; indexing it first ...")
    library = Library.load(corpus, index_dir=index_dir)
    api = FakeBotApi(TOKEN)
    await api.start()
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        telegram_bot_token=TOKEN,
        telegram_base_url=api.base_url,
        corpus_dir=corpus,
        index_dir=index_dir,
        state_dir=state_dir,
        feed_interval=0,
        feed_host_delay=host_delay,
        feed_timeout=60,
        alerts_per_hour=100,
        feed_private_networks=LOOPBACK,
    )
    application = build_application(settings, library)
    for job in application.job_queue.jobs():  # the poll and its follow-up are run by hand, timed
        job.schedule_removal()
    await application.initialize()
    await application.start()
    service = feed_service(application)
    for number in range(len(sites)):  # one follower per feed, as /follow stores them
        words = topic_words(number)
        service.db.follow(5000 + number, 5000 + number, words, topic_terms(library, words), 10)
    try:
        report = await poll_now(application)  # the bot's own poll: the round, then the update
        answerable = time.time()
        assert report is not None and service.round_ended_at is not None
        print(f"bot round (child process): {report.summary()}")
        last = len(sites) - 1  # each feed's first article answers its topic; the last is there at any --feeds
        hits = application.bot_data["state"].library.search(topic_words(last), k=1).hits
        assert hits and f"Feed {last} story 0" in hits[0].article.headline, "new articles not answerable"
        print(
            f"  from the round's end to all {len(report.saved)} new articles answerable: "
            f"{answerable - service.round_ended_at:.2f} s"
        )
        saved = {article.title: article.saved_at for article in service.db.articles()}
        latencies = []
        for call in api.sent("sendMessage"):
            title = call.params["text"].split("</b>")[0].removeprefix("<b>")
            if title in saved:
                latencies.append(_wall(call.at) - saved[title])
        latencies.sort()
        print(
            f"  alert latency, article saved -> message sent ({len(latencies)} alerts): "
            f"median {statistics.median(latencies):.2f} s, "
            f"p90 {latencies[int(0.9 * (len(latencies) - 1))]:.2f} s, "
            f"max {latencies[-1]:.2f} s"
        )
    finally:
        await application.stop()
        await application.shutdown()
        await api.stop()


_MONOTONIC_TO_WALL = time.time() - time.monotonic()


def _wall(monotonic: float) -> float:
    return monotonic + _MONOTONIC_TO_WALL


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--feeds", type=int, default=50)
    parser.add_argument("--items", type=int, default=40)
    parser.add_argument("--archive", type=int, default=20_000, help="generated passages in the bot's corpus")
    parser.add_argument("--host-delay", type=float, default=0.0, help="seconds between requests to one host")
    args = parser.parse_args()
    sites = await serve(args.feeds, args.items)
    work = Path(tempfile.mkdtemp(prefix="newsbot-ingest-"))
    try:
        await throughput(sites, work / "round", args.host_delay)
        await bot_poll(sites, work / "bot", args.archive, args.host_delay)
    finally:
        for site in sites:
            await site.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())

"""Rounds over feeds served on 127.0.0.1: what lands, what is skipped, and every fault alone."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import gzip
import html
import itertools
import logging
import os
import signal
import sqlite3
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import h11._readers
import lxml.html
import pytest
import yaml

from bot.feed_jobs import run_round_in_child
from bot.fetching import Fetcher, FetchError, FetchOptions
from bot.i18n import translations
from bot.ingest import MAX_ATTEMPTS, FeedCheck, IngestOptions, NotAnArticle, add_feed, add_link, fetch_round
from bot.links import LinkError, canonical_url
from bot.statedb import StateDB, open_state
from fakes.newsroom import RSS, Item, Newsroom, article_page, atom, paragraphs, rss
from retrieval import Library
from tests.conftest import (
    LOCAL_NETWORKS,
    WRITE_ARTICLE,
    cancelled_with_children_stopped,
    child_processes,
    signalled_at_rename,
)

WHEN = dt.datetime(2024, 5, 3, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def options(tmp_path: Path) -> IngestOptions:
    fetch = FetchOptions(timeout=6.0, max_bytes=1_000_000, host_delay=0.0, private_networks=LOCAL_NETWORKS)
    return IngestOptions(tmp_path / "corpus", tmp_path / "state", fetch)


@pytest.fixture
def db(options: IngestOptions) -> Iterator[StateDB]:
    with contextlib.closing(open_state(options.state_dir)) as opened:
        yield opened


def publish(site: Newsroom, name: str, count: int = 2, *, dated: bool = True, atom_feed: bool = False) -> str:
    """Serve `count` article pages and a summary-only feed of them; return the feed's URL."""
    items = []
    for number in range(count):
        title = f"{name} story {number}"
        url = site.put(f"{name}/{number}.html", article_page(title, paragraphs(f"{name}{number}")))
        items.append(Item(title, url, WHEN + dt.timedelta(hours=number) if dated else None))
    document = atom(name, items) if atom_feed else rss(name, items)
    return site.put(f"{name}/feed.xml", document, RSS)


def subscribe(db: StateDB, *urls: str) -> None:
    for number, url in enumerate(urls):
        db.add_feed(url, f"feed{number}", f"Feed {number}")


def front_matters(options: IngestOptions) -> dict[str, dict[str, str]]:
    """Every saved file (relative path) -> its front matter."""
    found = {}
    for path in sorted(options.corpus_dir.rglob("*.md")):
        found[path.relative_to(options.corpus_dir).as_posix()] = yaml.safe_load(
            path.read_text().split("---")[1]
        )
    return found


async def test_a_round_removes_what_a_writer_killed_mid_write_left_but_not_a_live_writers(
    options: IngestOptions, db: StateDB
) -> None:
    # a round killed as the bot stopped, and `newsbot fetch` suspended with Ctrl-Z, both
    # between writing an article and renaming it, an hour ago
    signalled_at_rename(WRITE_ARTICLE, signal.SIGKILL, str(options.corpus_dir), "daily")
    live = signalled_at_rename(WRITE_ARTICLE, signal.SIGSTOP, str(options.corpus_dir), "links")
    try:
        feeds = options.corpus_dir / "feeds"
        left = sorted(feeds.glob("*/.story.md.*.tmp"))
        assert [path.parent.name for path in left] == ["daily", "links"]
        for path in left:
            os.utime(path, (time.time() - 3600,) * 2)
        await fetch_round(options)
        assert sorted(feeds.glob("*/.story.md.*.tmp")) == left[1:]  # the live writer's stays
    finally:
        live.send_signal(signal.SIGCONT)
        assert live.wait(timeout=120) == 0
    assert sorted(path.relative_to(feeds).as_posix() for path in feeds.rglob("*")) == [
        "daily",
        "links",
        "links/story.md",
    ]


async def test_a_round_saves_each_article_as_an_md_file_the_corpus_loads(
    site: Newsroom, options: IngestOptions, db: StateDB
) -> None:
    subscribe(db, publish(site, "rss", 2), publish(site, "atom", 2, atom_feed=True))
    report = await fetch_round(options)
    assert (len(report.saved), report.problems) == (4, [])
    files = front_matters(options)
    assert sorted(files) == sorted(report.saved)
    assert all(path.startswith(("feeds/feed0/", "feeds/feed1/")) for path in files)
    first = files[next(p for p in files if "rss-story-0" in p)]
    assert first == {
        "title": "rss story 0",
        "date": "2024-05-03",
        "url": site.url("rss/0.html"),
        "source": "Feed 0",
        "date_source": "feed",
    }
    library = Library.load(options.corpus_dir)
    assert len(library.articles) == 4 and not library.report.problems
    hit = library.search("rss story 0", k=1).hits[0]
    assert hit.article.url == site.url("rss/0.html")
    assert hit.passage.text.startswith(paragraphs("rss0")[0][:40])  # the page's text, not the teaser


def whole_story_feed(site: Newsroom, name: str, feed_title: str, headline: str) -> str:
    """Serve a feed `name` of one story whose whole text it carries; return the feed's URL."""
    content = "".join(f"<p>{p}</p>" for p in paragraphs(name, count=3))
    item = Item(headline, site.url(f"{name}/story.html"), WHEN, content=content)
    return site.put(f"{name}.xml", rss(feed_title, [item]), RSS)


async def test_a_feed_titled_at_great_length_brings_articles_the_corpus_loads(
    site: Newsroom, options: IngestOptions, db: StateDB
) -> None:
    # the feed's title is each article's outlet: 18,000 characters of it made a front
    # matter over the 16 KB the corpus reads, and every article a file it refused
    title = "Daily news " * 1700
    db.add_feed(whole_story_feed(site, "long", title, "Story"), "long", None)
    report = await fetch_round(options)
    assert len(report.saved) == 1
    library = Library.load(options.corpus_dir)
    assert library.report.problems == ()
    (article,) = library.articles
    assert article.source is not None and title.startswith(article.source.removesuffix("…"))


async def test_a_headline_in_four_byte_letters_is_saved_under_a_name_the_system_takes(
    site: Newsroom, options: IngestOptions, db: StateDB
) -> None:
    # 60 letters of a CJK extension (4 bytes each in UTF-8) made a file name of 265 bytes:
    # the system refused it (at most 255), and the item was tried again every round, never saved
    title = "\U00020000\U0002a700" * 30
    subscribe(db, whole_story_feed(site, "cjk", "CJK", title))
    report = await fetch_round(options)
    assert (len(report.saved), report.problems) == (1, [])
    (article,) = Library.load(options.corpus_dir).articles
    assert article.headline == title


async def test_full_text_in_the_feed_is_used_without_fetching_the_page(
    site: Newsroom, options: IngestOptions, db: StateDB
) -> None:
    body = paragraphs("full", count=3)
    content = "".join(f"<p>{p}</p>" for p in body)
    url = site.url("full/never-served.html")
    subscribe(db, site.put("full.xml", rss("Full", [Item("Whole", url, WHEN, content=content)]), RSS))
    report = await fetch_round(options)
    assert len(report.saved) == 1
    assert site.hits("full/never-served.html") == []
    assert (options.corpus_dir / report.saved[0]).read_text().endswith("\n\n".join(body) + "\n")


async def test_an_unchanged_feed_costs_a_304_and_nothing_is_saved_twice(
    site: Newsroom, options: IngestOptions, db: StateDB
) -> None:
    feed = publish(site, "daily", 3)
    subscribe(db, feed)
    assert len((await fetch_round(options)).saved) == 3
    again = await fetch_round(options)
    assert (again.unchanged, again.saved) == (1, [])
    second_request = site.hits("daily/feed.xml")[-1]
    assert second_request.headers["If-None-Match"]  # conditional GET with the ETag
    assert len(site.hits("daily/0.html")) == 1  # the page was not fetched again
    assert len(front_matters(options)) == 3


@pytest.mark.parametrize(
    "validator",
    [
        {"etag": '"café-2024"'},
        {"headers": {"Last-Modified": "Пт, 03 мая 2024 09:00:00 GMT"}},  # a date in the server's locale
    ],
)
async def test_a_feed_whose_validators_are_not_ascii_is_still_read_every_round(
    site: Newsroom, options: IngestOptions, db: StateDB, validator: dict[str, object]
) -> None:
    # A header value outside ASCII cannot be sent back in a request: sent as a validator
    # of the next read, it failed that read and every one after it, the feed dead for good.
    feed = publish(site, "daily", 2)
    vars(site.resources["daily/feed.xml"]).update(validator)
    subscribe(db, feed)
    assert len((await fetch_round(options)).saved) == 2
    publish(site, "daily", 3)
    vars(site.resources["daily/feed.xml"]).update(validator)
    again = await fetch_round(options)
    assert (len(again.saved), again.problems) == (1, [])
    assert db.feeds()[0].error is None


def block_folder(options: IngestOptions, name: str) -> Path:
    """Put a file where feed `name`'s folder goes, so its articles cannot be saved (as on a full disk)."""
    blocked = options.corpus_dir / "feeds" / name
    blocked.parent.mkdir(parents=True)
    blocked.write_text("a file where the feed's folder goes")
    return blocked


async def test_an_item_that_cannot_be_written_is_tried_again_next_round(
    site: Newsroom, options: IngestOptions, db: StateDB
) -> None:
    # A full disk or a corpus folder the bot may not write: the feed's validators must not be
    # kept, or the unchanged feed answers 304 and its items wait until the publisher adds one.
    subscribe(db, publish(site, "daily", 2))
    blocked = block_folder(options, "feed0")
    first = await fetch_round(options)
    assert first.saved == [] and len(first.problems) == 2
    assert all(
        "could not be saved" in problem and "tried again next round" in problem for problem in first.problems
    )
    blocked.unlink()
    second = await fetch_round(options)
    assert (len(second.saved), second.problems) == (2, [])
    # the feed's first read: its items are still the publisher's backlog, which alerts no one
    assert [article.backlog for article in db.articles()] == [True, True]


async def test_an_item_that_cannot_be_written_costs_its_link_none_of_its_tries(
    site: Newsroom, options: IngestOptions, db: StateDB
) -> None:
    subscribe(db, publish(site, "daily", 1))
    blocked = block_folder(options, "feed0")
    for _ in range(MAX_ATTEMPTS + 1):
        assert (await fetch_round(options)).saved == []
    blocked.unlink()
    assert len((await fetch_round(options)).saved) == 1


async def test_an_item_the_state_file_cannot_record_leaves_no_file_and_is_tried_again_next_round(
    site: Newsroom, options: IngestOptions, db: StateDB
) -> None:
    # The article is written, then the state file refuses it (full, or locked past its wait by
    # another process): a file it does not know would be indexed and alert no one, and the
    # feed's validators kept would leave the item unread until the publisher adds one.
    subscribe(db, publish(site, "daily", 1))
    refusing = sqlite3.connect(db.path, isolation_level=None)
    refusing.execute(
        "CREATE TRIGGER full BEFORE INSERT ON articles"
        " BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
    )
    first = await fetch_round(options)
    assert first.saved == [] and len(first.problems) == 1 and "tried again next round" in first.problems[0]
    assert not list((options.corpus_dir / "feeds").rglob("*.md"))  # no file the state file does not know
    refusing.execute("DROP TRIGGER full")
    refusing.close()
    second = await fetch_round(options)
    assert (len(second.saved), second.problems) == (1, [])
    assert [article.path for article in db.articles()] == second.saved
    assert [article.backlog for article in db.articles()] == [True]  # the feed's first read: alerts no one


async def test_a_feed_whose_read_the_state_file_cannot_record_costs_no_other_feed_its_round(
    site: Newsroom, options: IngestOptions, db: StateDB
) -> None:
    # The state file full, or locked past its wait, as one feed's read is recorded: the round
    # stopped there with a traceback, its report lost and the feeds still being read cut off.
    subscribe(db, publish(site, "first", 1), publish(site, "second", 1))
    refusing = sqlite3.connect(db.path, isolation_level=None)
    refusing.execute(
        "CREATE TRIGGER full BEFORE UPDATE ON feeds WHEN NEW.name = 'feed0'"
        " BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
    )
    site.resources["second/feed.xml"].delay = 0.5  # still being read when the first is recorded
    report = await fetch_round(options)
    assert sorted(Path(path).parent.name for path in report.saved) == ["feed0", "feed1"]  # in either order
    (problem,) = report.problems
    assert problem.startswith("feed feed0 (") and "could not be recorded in the state file" in problem
    refusing.execute("DROP TRIGGER full")
    refusing.close()
    assert (await fetch_round(options)).problems == []


async def test_a_changed_feed_brings_only_its_new_items(
    site: Newsroom, options: IngestOptions, db: StateDB
) -> None:
    subscribe(db, publish(site, "daily", 2))
    await fetch_round(options)
    publish(site, "daily", 3)  # one more item; the first two are unchanged
    report = await fetch_round(options)
    assert [Path(p).name.split("-")[3:6] for p in report.saved] == [["daily", "story", "2"]]
    assert len(site.hits("daily/0.html")) == 1


async def test_a_new_feeds_first_read_is_its_backlog_and_what_comes_later_is_not(
    site: Newsroom, options: IngestOptions, db: StateDB
) -> None:
    subscribe(db, site.fault("daily/feed.xml", status=503))
    await fetch_round(options)  # a failed read saves nothing: the next one is still the first
    publish(site, "daily", 2)
    await fetch_round(options)
    publish(site, "daily", 3)
    await fetch_round(options)
    assert sorted((Path(a.path).name.split("-")[5], a.backlog) for a in db.articles()) == [
        ("0", True),
        ("1", True),
        ("2", False),
    ]


async def test_the_same_item_in_two_feeds_is_saved_once(
    site: Newsroom, options: IngestOptions, db: StateDB
) -> None:
    page = site.put("shared.html", article_page("Shared story", paragraphs("shared")))
    one = site.put("one.xml", rss("One", [Item("Shared story", page, WHEN)]), RSS)
    two = site.put("two.xml", rss("Two", [Item("Shared story", page + "?utm_source=two#top", WHEN)]), RSS)
    subscribe(db, one, two)
    report = await fetch_round(options)
    assert len(report.saved) == 1 and len(front_matters(options)) == 1


async def test_the_same_text_under_two_addresses_is_saved_once(
    site: Newsroom, options: IngestOptions, db: StateDB
) -> None:
    body = paragraphs("syndicated")
    one = site.put("a/story.html", article_page("Syndicated", body))
    two = site.put("b/copy.html", article_page("Syndicated (copy)", body))
    subscribe(db, site.put("one.xml", rss("One", [Item("S", one, WHEN)]), RSS))
    await fetch_round(options)
    subscribe_second = site.put("two.xml", rss("Two", [Item("S copy", two, WHEN)]), RSS)
    db.add_feed(subscribe_second, "second", "Second")
    report = await fetch_round(options)
    assert (report.saved, report.duplicates) == ([], 1)
    assert len(front_matters(options)) == 1


FEED_FAULTS = [
    # (what the bad feed does, what the round must report)
    ({"status": 404}, "404 Not Found"),
    ({"status": 500}, "500 Internal Server Error"),
    ({"delay": 30.0}, "within 6 s"),  # the server never answers in time
    ({"redirect": "/bad/feed.xml"}, "redirects (a loop?)"),  # redirects to itself
    ({"body": b"<rss><channel><item><<>>garbage", "content_type": RSS}, "malformed XML"),
    ({"body": b"this is not xml <<<>>>", "content_type": RSS}, "not an RSS or Atom feed"),
    ({"body": b"<rss>" + b" " * 50_000_000, "content_type": RSS}, "over the 1,000,000-byte limit"),  # 50 MB
    ({"endless": True, "content_type": RSS}, "over the 1,000,000-byte limit"),  # 50 MB+ without a length
    ({"redirect": "file:///etc/passwd"}, "redirected to a file: address"),
]


@pytest.mark.parametrize(("fault", "reason"), FEED_FAULTS)
async def test_a_bad_feed_is_logged_and_skipped_and_every_other_feed_lands(
    site: Newsroom,
    options: IngestOptions,
    db: StateDB,
    caplog: pytest.LogCaptureFixture,
    fault: dict[str, object],
    reason: str,
) -> None:
    caplog.set_level(logging.WARNING)
    bad = site.fault("bad/feed.xml", **fault)
    subscribe(db, publish(site, "good", 2), bad, publish(site, "also", 1))
    report = await fetch_round(options)
    assert len(report.saved) == 3
    (problem,) = report.problems
    assert problem.startswith("feed feed1 (") and reason in problem
    assert reason in caplog.text
    failing = db.feeds()[1]
    assert (failing.failures, reason in (failing.error or "")) == (1, True)


async def test_a_huge_feed_being_parsed_costs_no_other_feed_its_deadline(
    site: Newsroom, options: IngestOptions, db: StateDB
) -> None:
    # 9 MB of items holding only markup to sanitise (no link nor title: read, then left out),
    # gzipped to a small download: seconds of parsing while another feed's answer is on its way
    markup = html.escape("<b>a</b> " * 100)
    items = "".join(f"<item><description>{markup}</description></item>" for _ in range(4000))
    huge = f'<?xml version="1.0"?><rss version="2.0"><channel><title>Huge</title>{items}</channel></rss>'
    big = site.put("huge.xml", gzip.compress(huge.encode()), RSS, headers={"Content-Encoding": "gzip"})
    publisher = await Newsroom("127.0.0.2").start()
    try:
        content = "".join(f"<p>{p}</p>" for p in paragraphs("late", count=3))
        item = Item("Late but in time", publisher.url("late.html"), WHEN, content=content)
        late = publisher.put("late.xml", rss("Late", [item]), RSS, delay=1.0)  # well within its 3 s
        subscribe(db, big, late)
        roomy = dataclasses.replace(options.fetch, max_bytes=20_000_000)
        report = await fetch_round(dataclasses.replace(options, fetch=roomy))
    finally:
        await publisher.stop()
    assert (len(report.saved), report.problems) == (1, [])


async def test_a_slow_sites_many_items_are_left_for_the_next_round_once_its_time_is_up(
    site: Newsroom, options: IngestOptions, db: StateDB
) -> None:
    # 40 summary-only items whose pages never answer in time, one after the other on their
    # host: the round lasted 40 deadlines (hours at 1,000 items and 20 s), and no feed was read
    # again until it ended.
    slow = await Newsroom("127.0.0.2").start()
    try:
        items = [Item(f"Slow {n}", slow.fault(f"{n}.html", delay=30.0), WHEN) for n in range(40)]
        whole = "".join(f"<p>{p}</p>" for p in paragraphs("whole"))  # needs no page, so no time
        daily = site.put(
            "daily.xml", rss("Daily", [Item("Whole", site.url("whole.html"), WHEN, content=whole)]), RSS
        )
        subscribe(db, slow.put("feed.xml", rss("Slow", items), RSS), daily)
        brief = dataclasses.replace(options, round_seconds=1.0)
        report = await asyncio.wait_for(fetch_round(brief), 60)  # a hang guard: 240 s without a bound
        assert [Path(path).parent.name for path in report.saved] == ["feed1"]
        tried = len([r for r in slow.requests if r.path.endswith(".html")])
        assert tried < 40
        assert (  # those not started and the one cut off at the round's end
            f"feed feed0 ({slow.url('feed.xml')}): 40 items left for the next round"
            in "\n".join(report.problems)
        )
        assert db.link_outcome(canonical_url(items[-1].link)) == ("failed", 0)  # no try spent
        for number in range(40):
            slow.put(f"{number}.html", article_page(f"Slow {number}", paragraphs(f"slow{number}")))
        again = await asyncio.wait_for(fetch_round(options), 60)
        # the feed read again, not a 304 (its validators were not kept): what was left lands,
        # as the backlog of its feed's first read, which alerts no one
        assert (len(again.saved), again.problems) == (40, [])
        assert [article.backlog for article in db.articles()] == [True] * 41
    finally:
        await slow.stop()


async def test_downloads_still_going_when_the_rounds_time_is_up_are_cancelled_and_what_arrived_is_kept(
    site: Newsroom, options: IngestOptions, db: StateDB
) -> None:
    # a feed that never answered and a page trickled in a byte at a time each held the round
    # for their whole FEED_TIMEOUT past its time, and what the other feeds had brought (to be
    # indexed once the round ends) waited with them; the page then cost one of its three tries
    stalled = await Newsroom("127.0.0.2").start()
    try:
        silent = stalled.fault("silent.xml", gate=asyncio.Event())  # never answers
        trickled = site.fault("trickle.html", drip=0.05)  # each byte in httpx's time: 20 s in all
        whole = "".join(f"<p>{p}</p>" for p in paragraphs("whole"))  # needs no page
        items = [Item("Whole", site.url("whole.html"), WHEN, content=whole), Item("Slow", trickled, WHEN)]
        daily = site.put("daily.xml", rss("Daily", items), RSS)
        subscribe(db, silent, daily)
        report = await fetch_round(dataclasses.replace(options, round_seconds=3.0))
        (saved,) = report.saved  # the whole text, alone: no file begun for the page cut off
        assert sorted(options.corpus_dir.rglob("*.md")) == [options.corpus_dir / saved]
        assert Path(saved).parent.name == "feed1"
        assert report.problems == [
            f"feed feed0 ({silent}): left for the next round, this one's time being up",
            f"feed feed1 ({daily}): 1 items left for the next round, this one's time being up",
        ]
        assert db.link_outcome(canonical_url(trickled)) == ("failed", 0)  # no try spent
        assert [(feed.error, feed.failures) for feed in db.feeds()] == [
            ("left for the next round, this one's time being up", 1),
            (None, 0),
        ]
        late = "".join(f"<p>{p}</p>" for p in paragraphs("late"))
        item = Item("Stalled no more", stalled.url("late.html"), WHEN, content=late)
        stalled.put("silent.xml", rss("Silent", [item]), RSS)
        site.put("trickle.html", article_page("Slow", paragraphs("slow")))
        again = await asyncio.wait_for(fetch_round(options), 60)
        assert (len(again.saved), again.problems) == (2, [])
    finally:
        await stalled.stop()


async def test_a_feed_that_disappears_is_reported_failing_and_the_others_go_on(
    site: Newsroom, options: IngestOptions, db: StateDB
) -> None:
    subscribe(db, publish(site, "gone", 1), publish(site, "stays", 1))
    await fetch_round(options)
    site.remove("gone/feed.xml")
    publish(site, "stays", 2)
    report = await fetch_round(options)
    assert len(report.saved) == 1 and "404" in report.problems[0]
    gone, stays = db.feeds()
    assert gone.failures == 1 and stays.error is None and stays.articles == 2


ITEM_FAULTS = [
    # (the item's link, how its page answers, what the round must report)
    ("missing.html", None, "404 Not Found"),
    ("broken.html", {"status": 500}, "500 Internal Server Error"),
    ("slow.html", {"delay": 30.0}, "within 6 s"),
    ("drip.html", {"drip": 0.25}, "within 6 s"),  # each byte in httpx's time: 100 s in all
    ("loop.html", {"redirect": "/loop.html"}, "redirects"),
    ("huge.html", {"endless": True}, "byte limit"),
    ("report.pdf", {"body": b"%PDF-1.4", "content_type": "application/pdf"}, "application/pdf, not HTML"),
    ("index.html", {"body": b"<html><body><nav>Home</nav></body></html>"}, "no article text"),
    ("cached.html", {"status": 304}, "304 Not Modified (attempt 1 of 3)"),  # though nothing was compared
    ("file:///etc/passwd", None, "not file:"),
    ("javascript:alert(document.cookie)", None, "not javascript:"),
    ("", None, "no link"),
]


@pytest.mark.parametrize(("link", "page", "reason"), ITEM_FAULTS)
async def test_a_bad_item_is_logged_and_skipped_and_the_feeds_other_items_land(
    site: Newsroom,
    options: IngestOptions,
    db: StateDB,
    caplog: pytest.LogCaptureFixture,
    link: str,
    page: dict[str, object] | None,
    reason: str,
) -> None:
    caplog.set_level(logging.WARNING)
    if page is not None:
        site.fault(link, **page)
    url = site.url(link) if link and ":" not in link else link
    good = [
        Item(f"good {n}", site.put(f"g{n}.html", article_page(f"good {n}", paragraphs(f"g{n}"))), WHEN)
        for n in range(2)
    ]
    subscribe(db, site.put("feed.xml", rss("Mixed", [good[0], Item("Bad one", url, WHEN), good[1]]), RSS))
    report = await fetch_round(options)
    assert len(report.saved) == 2
    (problem,) = report.problems
    assert reason in problem and reason in caplog.text
    assert all("Bad one" not in text["title"] for text in front_matters(options).values())


async def test_items_linking_or_redirecting_to_a_private_address_are_refused_and_the_others_land(
    site: Newsroom, options: IngestOptions, db: StateDB
) -> None:
    publisher = await Newsroom("127.0.0.2").start()  # the only network allowed; 127.0.0.1 is not
    try:
        secret = site.put("secret.html", article_page("Internal memo", paragraphs("memo")))
        good = publisher.put("good.html", article_page("Harbour reopens", paragraphs("good")))
        items = [
            Item("Internal memo", secret, WHEN),
            Item("Moved", publisher.fault("moved.html", redirect=secret), WHEN),
            Item("Harbour reopens", good, WHEN),
        ]
        subscribe(db, publisher.put("feed.xml", rss("Publisher", items), RSS))
        only_publisher = dataclasses.replace(options.fetch, private_networks=("127.0.0.2",))
        report = await fetch_round(dataclasses.replace(options, fetch=only_publisher))
    finally:
        await publisher.stop()
    assert [Path(path).name.split("-")[3:5] for path in report.saved] == [["harbour", "reopens"]]
    assert len(report.problems) == 2
    assert all("refused: 127.0.0.1 is a loopback address, not a public one" in p for p in report.problems)
    assert site.requests == []  # the memo was never fetched


async def test_a_failing_item_is_tried_again_next_round_then_given_up(
    site: Newsroom, options: IngestOptions, db: StateDB
) -> None:
    site.fault("flaky.html", status=503)
    subscribe(db, site.put("feed.xml", rss("F", [Item("Flaky", site.url("flaky.html"), WHEN)]), RSS))
    for attempt in (1, 2, 3):  # the README: tried again in the next two rounds, then given up
        report = await fetch_round(options)
        assert f"attempt {attempt} of 3" in report.problems[0]
    assert (await fetch_round(options)).problems == []  # given up: no more requests for it
    assert len(site.hits("flaky.html")) == 3


async def test_a_link_listed_many_times_is_fetched_once_a_round_and_tried_in_as_many_rounds(
    site: Newsroom, options: IngestOptions, db: StateDB
) -> None:
    # A live blog's updates, each an item linking to the one page (`#update-N`), and the story
    # also in the publisher's second feed: each was a request, and a failed attempt, of its own.
    site.fault("live.html", status=503)
    updates = [Item(f"Update {n}", site.url(f"live.html#update-{n}"), WHEN) for n in range(4)]
    top = site.put("top.xml", rss("Top", updates[:1]), RSS)
    subscribe(db, site.put("feed.xml", rss("Live", updates), RSS), top)
    for attempt in (1, 2):
        report = await fetch_round(options)
        assert len(site.hits("live.html")) == attempt  # one request a round
        assert {problem.split(": ", 1)[1] for problem in report.problems} == {
            f"503 Service Unavailable (attempt {attempt} of 3)"
        }
    site.put("live.html", article_page("Live", paragraphs("live")))
    assert len((await fetch_round(options)).saved) == 1  # its third try, as for a link listed once


def whole(seed: str) -> str:
    """An article's whole text as a feed carries it (`content:encoded`)."""
    return "".join(f"<p>{p}</p>" for p in paragraphs(seed, count=3))


def updates(page: str, count: int, *, ids: bool = True, dated: bool = True) -> list[Item]:
    """A live blog's updates, newest first, each with its whole text, all under the one `page`."""
    return [
        Item(
            f"Update {n}",
            page,
            WHEN + dt.timedelta(minutes=n) if dated else None,
            content=whole(f"update{n}"),
            guid=f"live-{n}" if ids else None,
        )
        for n in reversed(range(count))
    ]


async def test_a_live_blogs_updates_with_their_own_text_and_ids_are_each_an_article(
    site: Newsroom, options: IngestOptions, db: StateDB
) -> None:
    # Each update carries its whole text and an id of its own, all under the live page's one
    # address: the first was saved, and every other update, then and later, was lost.
    page = site.url("live.html")  # never served: the feed's text is whole
    subscribe(db, site.put("feed.xml", rss("Live", updates(page, 3)), RSS))
    assert len((await fetch_round(options)).saved) == 3
    site.put("feed.xml", rss("Live", updates(page, 4)), RSS)
    report = await fetch_round(options)
    assert (len(report.saved), report.duplicates, report.problems) == (1, 0, [])
    assert site.hits("live.html") == []
    articles = Library.load(options.corpus_dir).articles
    assert sorted(article.headline for article in articles) == [f"Update {n}" for n in range(4)]
    assert {article.url for article in articles} == {page}  # readers are sent to the page


async def test_a_round_parses_each_items_whole_text_once(
    site: Newsroom, options: IngestOptions, db: StateDB, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An item with an id and its whole text had that text parsed into paragraphs twice a
    # round: once to know the item by (`_keys`), once to save it (`entry`).
    parsed: list[str] = []
    parse = lxml.html.fragment_fromstring

    def counted(fragment: str, *args: object, **kwargs: object) -> lxml.html.HtmlElement:
        parsed.append(fragment)
        return parse(fragment, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(lxml.html, "fragment_fromstring", counted)
    subscribe(db, site.put("feed.xml", rss("Live", updates(site.url("live.html"), 3)), RSS))
    assert len((await fetch_round(options)).saved) == 3
    assert sorted(parsed) == sorted(whole(f"update{n}") for n in range(3))


async def test_undated_updates_sharing_a_page_fetch_it_once_a_round_for_their_date(
    site: Newsroom, options: IngestOptions, db: StateDB
) -> None:
    page = site.put("live.html", article_page("Live", paragraphs("live"), date=dt.date(2024, 5, 2)))
    subscribe(db, site.put("feed.xml", rss("Live", updates(page, 3, dated=False)), RSS))
    assert len((await fetch_round(options)).saved) == 3
    assert len(site.hits("live.html")) == 1
    dates = {(meta["date"], meta["date_source"]) for meta in front_matters(options).values()}
    assert dates == {("2024-05-02", "page")}


async def test_an_item_saved_under_its_link_alone_is_not_saved_again_once_its_feed_gives_ids(
    site: Newsroom, options: IngestOptions, db: StateDB
) -> None:
    # What a state file holds from before items were told apart by their ids, or from a feed
    # that gave none: one update saved under the page's address, the others never. Once
    # the ids count, that update is not saved a second time, though edited since; the others land.
    page = site.url("live.html")
    subscribe(db, site.put("feed.xml", rss("Live", updates(page, 3, ids=False)), RSS))
    (first,) = (await fetch_round(options)).saved
    edited = [dataclasses.replace(item, content=whole(f"{item.title} edited")) for item in updates(page, 3)]
    site.put("feed.xml", rss("Live", edited), RSS)
    assert len((await fetch_round(options)).saved) == 2
    assert (await fetch_round(options)).saved == []
    headlines = [article.title for article in db.articles()]
    assert sorted(headlines) == [f"Update {n}" for n in range(3)]
    assert (options.corpus_dir / first).exists()


async def test_an_item_without_a_link_is_saved_when_it_carries_its_text_and_an_id(
    site: Newsroom, options: IngestOptions, db: StateDB
) -> None:
    items = [
        Item("Council notice", "", WHEN, content=whole("notice"), guid="notice-1"),
        Item("Teaser", "", WHEN, guid="teaser-1"),  # nothing to read it from
        Item("Whole, no id", "", WHEN, content=whole("anonymous")),  # nothing to know it again by
    ]
    subscribe(db, site.url("feed.xml"))
    for order in (items, items[::-1]):  # read again (a new order is a new document): known by its id
        site.put("feed.xml", rss("Notices", order), RSS)
        report = await fetch_round(options)
        assert [problem.split(": ", 1)[1] for problem in report.problems] == ["the item has no link"] * 2
    (meta,) = front_matters(options).values()
    assert (meta["title"], meta["source"], "url" in meta) == ("Council notice", "Feed 0", False)
    (article,) = Library.load(options.corpus_dir).articles
    assert (article.url, article.source) == (None, "Feed 0")  # the outlet is shown, linked to nothing


async def test_an_item_that_fails_once_lands_when_it_recovers(
    site: Newsroom, options: IngestOptions, db: StateDB
) -> None:
    site.fault("late.html", status=503)
    subscribe(db, site.put("feed.xml", rss("F", [Item("Late", site.url("late.html"), WHEN)]), RSS))
    assert (await fetch_round(options)).saved == []
    site.put("late.html", article_page("Late", paragraphs("late")))
    assert len((await fetch_round(options)).saved) == 1  # the feed was read again, not a 304


async def test_undated_items_take_the_pages_date_then_the_fetch_time_and_say_which(
    site: Newsroom, options: IngestOptions, db: StateDB
) -> None:
    paged = site.put("paged.html", article_page("Paged", paragraphs("paged"), date=dt.date(2023, 11, 5)))
    bare = site.put("bare.html", article_page("Bare", paragraphs("bare"), date=None))
    items = [Item("Dated", site.put("dated.html", article_page("D", paragraphs("d"))), WHEN)]
    items += [Item("Paged", paged), Item("Bare", bare)]
    subscribe(db, site.put("feed.xml", rss("Undated", items), RSS))
    before = dt.datetime.now(dt.UTC).date()
    await fetch_round(options)
    dates = {meta["title"]: (meta["date"], meta["date_source"]) for meta in front_matters(options).values()}
    assert dates["Dated"] == ("2024-05-03", "feed")
    assert dates["Paged"] == ("2023-11-05", "page")
    assert dates["Bare"][1] == "fetch time"
    assert before <= dt.date.fromisoformat(dates["Bare"][0]) <= dt.datetime.now(dt.UTC).date()


async def test_a_date_in_the_future_is_not_believed(
    site: Newsroom, options: IngestOptions, db: StateDB
) -> None:
    future = dt.datetime(2999, 1, 1, tzinfo=dt.UTC)
    page = site.put("f.html", article_page("F", paragraphs("f"), date=dt.date(2024, 1, 2)))
    subscribe(db, site.put("feed.xml", rss("F", [Item("F", page, future)]), RSS))
    await fetch_round(options)
    (meta,) = front_matters(options).values()
    assert (meta["date"], meta["date_source"]) == ("2024-01-02", "page")


@pytest.mark.parametrize(
    "placeholder",
    [
        dt.datetime(1, 1, 1, tzinfo=dt.UTC),  # a zero time (Go, .NET): Hugo's undated posts
        dt.datetime(1900, 1, 1, tzinfo=dt.UTC),  # a spreadsheet's or database's day zero
        dt.datetime(1970, 1, 1, tzinfo=dt.UTC),  # Unix time 0
        dt.datetime(1969, 12, 31, 19, tzinfo=dt.timezone(dt.timedelta(hours=-5))),  # 0 west of UTC
    ],
)
async def test_a_placeholder_date_before_1970_is_not_believed(
    site: Newsroom, options: IngestOptions, db: StateDB, placeholder: dt.datetime
) -> None:
    # saved as published on 0001-01-01 (date_source: feed), answers showing that date
    page = site.put("p.html", article_page("P", paragraphs("p"), date=dt.date(2024, 1, 2)))
    bare = site.put("b.html", article_page("B", paragraphs("b"), date=None))
    whole_text = "".join(f"<p>{p}</p>" for p in paragraphs("w", count=3))
    items = [Item("Paged", page, placeholder), Item("Bare", bare, placeholder)]
    items.append(Item("Whole", site.url("w.html"), placeholder, content=whole_text))
    subscribe(db, site.put("feed.xml", rss("F", items), RSS))
    before = dt.datetime.now(dt.UTC).date()
    await fetch_round(options)
    dates = {meta["title"]: (meta["date"], meta["date_source"]) for meta in front_matters(options).values()}
    assert dates["Paged"] == ("2024-01-02", "page")
    assert {dates["Bare"][1], dates["Whole"][1]} == {"fetch time"}
    assert {dt.date.fromisoformat(dates[title][0]) >= before for title in ("Bare", "Whole")} == {True}


@pytest.mark.parametrize(
    ("charset", "header"),
    [
        ("windows-1251", True),  # declared by the server
        ("windows-1251", False),  # declared only by the page's <meta charset>
        ("koi8-r", False),
        ("iso-8859-1", True),
    ],
)
async def test_a_page_in_another_encoding_is_read_right(
    site: Newsroom, options: IngestOptions, db: StateDB, charset: str, header: bool
) -> None:
    text = (
        ["Переговоры о зерне продолжились в Стамбуле, сообщили в министерстве. " * 5] * 2
        if "iso" not in charset
        else ["Le café du marché a rouvert après la grève des dockers du port. " * 5] * 2
    )
    content_type = f"text/html; charset={charset}" if header else "text/html"
    page = site.put(
        "p.html",
        article_page("Заголовок" if "iso" not in charset else "Café", text, charset=charset),
        content_type,
    )
    subscribe(db, site.put("feed.xml", rss("Enc", [Item("Encoded", page, WHEN)]), RSS))
    report = await fetch_round(options)
    saved = (options.corpus_dir / report.saved[0]).read_text(encoding="utf-8")
    assert text[0].strip() in saved


@pytest.mark.parametrize("byte_order", ["utf-16-be", "utf-16-le"])
async def test_a_page_declared_utf16_without_a_byte_order_mark_is_read_in_its_byte_order(
    site: Newsroom, options: IngestOptions, db: StateDB, byte_order: str
) -> None:
    # read as little-endian whatever its order: a big-endian page, as RFC 2781 reads UTF-16
    # without a mark, was CJK noise, refused as "no article text found on the page"
    text = ["Переговоры о зерне продолжились в Стамбуле, сообщили в министерстве. " * 5] * 2
    body = article_page("Заголовок", text).decode("utf-8").replace('<meta charset="utf-8">', "")
    page = site.put("p.html", body.encode(byte_order), "text/html; charset=utf-16")
    subscribe(db, site.put("feed.xml", rss("Enc", [Item("Encoded", page, WHEN)]), RSS))
    report = await fetch_round(options)
    assert report.problems == []
    assert text[0].strip() in (options.corpus_dir / report.saved[0]).read_text(encoding="utf-8")


async def test_a_feed_declared_utf16_without_a_byte_order_mark_is_read_in_its_byte_order(
    site: Newsroom, options: IngestOptions, db: StateDB
) -> None:
    # a big-endian feed served as charset=utf-16 was read little-endian: "not an RSS or Atom feed"
    items = [Item("Заголовок", site.url("z.html"), WHEN, content=whole("z"))]
    document = rss("Стрічка", items).decode("utf-8").replace('encoding="utf-8"', 'encoding="utf-16"')
    subscribe(db, site.put("feed.xml", document.encode("utf-16-be"), f"{RSS}; charset=utf-16"))
    report = await fetch_round(options)
    assert (len(report.saved), report.problems) == (1, [])
    assert front_matters(options)[report.saved[0]]["title"] == "Заголовок"


async def test_a_feed_never_writes_outside_its_folder_whatever_its_titles_or_urls_say(
    site: Newsroom, options: IngestOptions, db: StateDB, tmp_path: Path
) -> None:
    evil_titles = [
        "../../../../escaped",
        "/etc/passwd",
        "..",
        "a/../../b",
        "x\x00y",
        "~root/.ssh/authorized_keys",
    ]
    items = [
        Item(
            title, site.put(f"p{n}", article_page(title, paragraphs(f"evil{n}"))) + "?to=../../../x.md", WHEN
        )
        for n, title in enumerate(evil_titles)
    ]
    subscribe(db, site.put("feed.xml", rss("../../../tmp/evil", items), RSS))
    db.add_feed(publish(site, "named", 1), "second", "../../outside")
    before = {path for path in tmp_path.rglob("*") if path.is_file()}
    report = await fetch_round(options)
    created = {path for path in tmp_path.rglob("*") if path.is_file()} - before
    folder = options.corpus_dir / "feeds"
    articles = {path for path in created if path.suffix == ".md"}
    assert len(articles) == len(evil_titles) + 1 == len(report.saved)
    assert all(path.parent.parent == folder for path in articles)
    assert {path.parent.name for path in articles} == {"feed0", "second"}
    assert all(path.is_relative_to(options.state_dir) for path in created - articles)


async def test_a_folder_symlinked_elsewhere_is_refused_and_nothing_is_written_there(
    site: Newsroom, options: IngestOptions, db: StateDB, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (options.corpus_dir / "feeds").mkdir(parents=True)
    (options.corpus_dir / "feeds" / "feed0").symlink_to(outside)
    subscribe(db, publish(site, "daily", 2))
    report = await fetch_round(options)
    assert report.saved == [] and len(report.problems) == 2 and "outside" in report.problems[0]
    assert list(outside.iterdir()) == []


async def test_requests_say_who_is_asking_and_keep_a_polite_pace_per_host(
    site: Newsroom, options: IngestOptions, db: StateDB
) -> None:
    polite = IngestOptions(
        options.corpus_dir,
        options.state_dir,
        FetchOptions(host_delay=0.2, timeout=5, private_networks=LOCAL_NETWORKS),
    )
    subscribe(db, publish(site, "daily", 4))
    await fetch_round(polite)
    assert len(site.requests) == 5
    assert all(r.headers["User-Agent"].startswith("newsbot/") for r in site.requests)
    starts = sorted(request.at for request in site.requests)
    assert min(b - a for a, b in itertools.pairwise(starts)) >= 0.19


async def test_a_redirect_to_another_host_keeps_that_hosts_pace(
    site: Newsroom, options: IngestOptions, db: StateDB
) -> None:
    # only an item's first host was paced: items whose links on one host redirect to another
    # reached the other at once, beside its own items' requests, however polite its pace
    publisher = await Newsroom("127.0.0.2").start()
    try:
        items = []
        for n in range(6):
            page = publisher.put(f"{n}.html", article_page(f"Story {n}", paragraphs(f"story {n}")))
            link = page if n % 2 else site.fault(f"go/{n}", redirect=page)  # half of them through a redirect
            items.append(Item(f"Story {n}", link, WHEN))
        subscribe(db, site.put("feed.xml", rss("Harbour Times", items), RSS))
        polite = dataclasses.replace(options, fetch=dataclasses.replace(options.fetch, host_delay=0.2))
        report = await fetch_round(polite)
    finally:
        await publisher.stop()
    assert (len(report.saved), report.problems) == (6, [])
    assert len(publisher.requests) == 6
    starts = sorted(request.at for request in publisher.requests)
    assert min(b - a for a, b in itertools.pairwise(starts)) >= 0.19


async def test_two_rounds_at_once_save_each_article_exactly_once(
    site: Newsroom, options: IngestOptions, db: StateDB
) -> None:
    subscribe(db, publish(site, "one", 6), publish(site, "two", 6))
    reports = await asyncio.gather(fetch_round(options), fetch_round(options))
    assert sum(len(report.saved) for report in reports) == 12
    assert len(front_matters(options)) == 12 == db.articles_count()


async def test_add_link_saves_the_article_under_links(
    site: Newsroom, options: IngestOptions, db: StateDB
) -> None:
    url = site.put(
        "story.html", article_page("A linked story", paragraphs("linked"), date=dt.date(2024, 4, 1))
    )
    added = await add_link(db, options, url)
    assert (added.outcome, added.article.title, added.article.date) == (
        "saved",
        "A linked story",
        dt.date(2024, 4, 1),
    )
    assert added.article.path.startswith("feeds/links/2024-04-01-a-linked-story-")
    assert (await add_link(db, options, url + "#again")).outcome == "seen"


@pytest.mark.parametrize(
    ("path", "page", "error", "reason"),
    [
        ("missing.html", None, FetchError, "404"),
        ("slow.html", {"delay": 30.0}, FetchError, "within 6 s"),
        ("doc.pdf", {"body": b"%PDF", "content_type": "application/pdf"}, NotAnArticle, "not HTML"),
        ("empty.html", {"body": b"<html><body>Hi</body></html>"}, NotAnArticle, "no article text"),
        # "not modified" to a request that compared with nothing: a broken cache in front of the site
        ("cached.html", {"status": 304}, FetchError, "304 Not Modified"),
    ],
)
async def test_add_link_failures_say_why(
    site: Newsroom,
    options: IngestOptions,
    db: StateDB,
    path: str,
    page: dict[str, object] | None,
    error: type[Exception],
    reason: str,
) -> None:
    if page is not None:
        site.fault(path, **page)
    with pytest.raises(error, match=reason):
        await add_link(db, options, site.url(path))
    assert db.articles_count() == 0


async def raw_answer(head: bytes) -> tuple[asyncio.Server, str]:
    """A server on 127.0.0.1 that answers every request with `head` and the body "hello",
    as written: what aiohttp would not send (a Content-Length that is no number)."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(head + b"\r\n\r\nhello")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/story.html"


@pytest.mark.parametrize(
    ("head", "english", "ukrainian"),
    [
        # the site connected and answered, so "cannot connect: bad Content-Length" misled the admin
        (b"HTTP/1.1 200 OK\r\nContent-Length: abc", "malformed answer", "некоректну відповідь"),
        ("HTTP/1.1 200 OK\r\nContent-Length: \u0663".encode(), "malformed answer", "некоректну відповідь"),
        (b"HTTP/1.1 200 OK\r\nbroken header line", "malformed answer", "некоректну відповідь"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 100", "broke off", "розірвав"),  # 5 bytes of 100, then closed
    ],
    ids=["length-in-letters", "length-in-arabic-digits", "header-without-colon", "body-cut-short"],
)
async def test_a_site_that_answers_against_http_is_told_as_such_in_the_admins_language(
    options: IngestOptions, db: StateDB, head: bytes, english: str, ukrainian: str
) -> None:
    server, url = await raw_answer(head)
    try:
        with pytest.raises(FetchError) as raised:
            await add_link(db, options, url)
    finally:
        server.close()
    told = raised.value.told(translations("uk"))
    assert english in str(raised.value) and not str(raised.value).startswith("cannot connect")
    assert ukrainian in told and not told.startswith("не вдалося з'єднатися")
    assert db.articles_count() == 0


async def raw_server(answer: bytes) -> tuple[asyncio.Server, str]:
    """A server on 127.0.0.1 that reads a request, writes `answer` as it is, and closes."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(answer)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/story.html"


CUT_SHORT = {
    "closed-without-answering": (
        b"",
        "closed the connection without answering",
        "закрив з'єднання, не відповівши",
    ),
    "body-cut-short": (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhello", "broke off", "розірвав"),
    "chunks-cut-short": (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
        "broke off",
        "розірвав",
    ),
    "length-in-letters": (
        b"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\nhello",
        "malformed answer",
        "некоректну",
    ),
}


@pytest.mark.parametrize("reworded", [False, True], ids=["as-worded", "reworded"])
@pytest.mark.parametrize(("answer", "english", "ukrainian"), CUT_SHORT.values(), ids=CUT_SHORT.keys())
async def test_a_connection_cut_short_is_told_by_what_happened_not_by_the_http_librarys_words(
    options: IngestOptions,
    db: StateDB,
    monkeypatch: pytest.MonkeyPatch,
    answer: bytes,
    english: str,
    ukrainian: str,
    reworded: bool,
) -> None:
    # the two kinds were told apart by the English of the HTTP library's messages ("Server
    # disconnected without", "peer closed connection without sending complete message body"):
    # a release that words them otherwise ("reworded", as h11 may) made a body cut short "a
    # malformed answer (...)", in the library's English inside the admin's own language
    if reworded:

        def cut(self: object) -> None:
            raise h11.RemoteProtocolError("connection lost mid-body")

        monkeypatch.setattr(h11._readers.ContentLengthReader, "read_eof", cut)
        monkeypatch.setattr(h11._readers.ChunkedReader, "read_eof", cut)
    server, url = await raw_server(answer)
    try:
        with pytest.raises(FetchError) as raised:
            await add_link(db, options, url)
    finally:
        server.close()
    assert english in str(raised.value), str(raised.value)
    assert ukrainian in raised.value.told(translations("uk"))
    assert db.articles_count() == 0


def gzipped_zeros(megabytes: int) -> bytes:
    """`megabytes` MB of zero bytes, gzipped: about a thousandth of that."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = b"\0" * (1 << 20)
    return b"".join([*(packer.compress(zeros) for _ in range(megabytes)), packer.flush()])


def raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


async def test_a_page_of_more_elements_than_an_article_page_has_is_refused_before_extraction(
    site: Newsroom, options: IngestOptions, db: StateDB
) -> None:
    # extraction's cost grows faster than a page's elements: 12,500 paragraphs took 0.7 s,
    # 50,000 took 5.8 s, and 200,000 (5.7 MB, within FEED_MAX_BYTES) 156 s of the bot's CPU
    body = "".join(f"<p>{number}</p>" for number in range(60_000))  # 0.7 MB
    page = f"<html><head><title>List</title></head><body><article>{body}</article></body></html>"
    site.put("list.html", page)
    with pytest.raises(NotAnArticle, match=r"60,00\d elements; I read article pages of at most 50,000"):
        await add_link(db, options, site.url("list.html"))
    assert db.articles_count() == 0


@pytest.mark.parametrize("encoding", ["gzip", "gzip, gzip"])
async def test_a_compression_bomb_is_refused_without_being_inflated(
    site: Newsroom, options: IngestOptions, db: StateDB, encoding: str
) -> None:
    # 200 MB in 200 KB of gzip, or in 1 KB gzipped twice: the cap is on what it inflates to,
    # and inflating must stop there, not inflate each network chunk (or layer) whole first
    bomb = gzipped_zeros(200)
    body = gzip.compress(bomb) if encoding == "gzip, gzip" else bomb
    site.fault("bomb.html", body=body, headers={"Content-Encoding": encoding})
    tracemalloc.start()
    try:
        with pytest.raises(FetchError, match=r"byte limit|stacked encodings"):
            await add_link(db, options, site.url("bomb.html"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 10 * options.fetch.max_bytes
    assert db.articles_count() == 0


@pytest.mark.parametrize(
    ("encoding", "pack"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", raw_deflate),  # without the zlib header, as some servers send it
        ("identity", lambda data: data),
    ],
)
async def test_a_page_served_compressed_is_read(
    site: Newsroom, options: IngestOptions, db: StateDB, encoding: str, pack: Callable[[bytes], bytes]
) -> None:
    page = article_page("Harbour reopens", paragraphs("harbour"))
    site.fault("a.html", body=pack(page), headers={"Content-Encoding": encoding})
    added = await add_link(db, options, site.url("a.html"))
    assert added.outcome == "saved" and added.article.title == "Harbour reopens"


@pytest.mark.parametrize("encoding", ["identity", "gzip"])  # the bound holds for what a page inflates to
async def test_a_download_of_feed_max_bytes_is_read_and_one_byte_more_is_refused(
    site: Newsroom, options: IngestOptions, encoding: str
) -> None:
    limit = options.fetch.max_bytes
    pack = gzip.compress if encoding == "gzip" else bytes
    async with Fetcher(options.fetch) as fetcher:
        for size in (limit, limit + 1):
            site.fault(f"{size}.html", body=pack(b"a" * size), headers={"Content-Encoding": encoding})
            if size == limit:
                page = await fetcher.get(site.url(f"{size}.html"), accept="text/html")
                assert page is not None and len(page.content) == limit
            else:
                with pytest.raises(FetchError, match=f"over the {limit:,}-byte limit"):
                    await fetcher.get(site.url(f"{size}.html"), accept="text/html")


async def test_a_download_has_one_deadline_over_all_its_redirects(
    site: Newsroom, options: IngestOptions
) -> None:
    # four hops, each answering well within the timeout: together they are past it
    brief = dataclasses.replace(options.fetch, timeout=1.5)
    for hop in range(3):
        site.fault(f"hop{hop}", redirect=site.url(f"hop{hop + 1}"), delay=0.6)
    site.fault("hop3", body=article_page("Late", paragraphs("late")), delay=0.6)
    async with Fetcher(brief) as fetcher:
        with pytest.raises(FetchError, match=r"within 1\.5 s") as failed:
            await fetcher.get(site.url("hop0"), accept="text/html")
    assert failed.value.kind == "timeout"


@pytest.mark.parametrize("link", ["file:///etc/passwd", "javascript:alert(1)", "ftp://x.org/a"])
async def test_add_link_fetches_only_http(options: IngestOptions, db: StateDB, link: str) -> None:
    with pytest.raises(LinkError, match="only http"):
        await add_link(db, options, link)


async def test_a_feed_removed_while_its_round_reads_it_keeps_the_articles_the_round_saves(
    site: Newsroom, options: IngestOptions, db: StateDB
) -> None:
    subscribe(db, publish(site, "gone", 1))
    held = asyncio.Event()
    page = "gone/0.html"
    site.put(page, article_page("gone story 0", paragraphs("gone0")), gate=held)
    round_ = asyncio.create_task(fetch_round(options))
    async with asyncio.timeout(30):
        while not site.hits(page):  # the round reads the feed's item now
            await asyncio.sleep(0.01)
    db.remove_feed(db.feeds()[0].id)
    held.set()
    report = await round_
    assert (len(report.saved), report.problems) == (1, [])
    (saved,) = db.articles()  # known to the state file, as the file in the corpus is
    assert sorted(front_matters(options)) == [saved.path] == report.saved


async def test_a_cancelled_feed_round_returns_once_its_killed_child_is_reaped(options: IngestOptions) -> None:
    # A stopping bot cancels its jobs and closes its event loop just after; a child reaped
    # later reached a closed loop, and its pipes wrote "Event loop is closed" tracebacks.
    feed_round = run_round_in_child(options, stopping=lambda: False)
    children = await cancelled_with_children_stopped(
        feed_round, lambda: child_processes("bot.ingest", options.state_dir)
    )
    assert [pid for pid in children if Path(f"/proc/{pid}").exists()] == []


async def test_a_feed_added_under_a_removed_feeds_name_gets_a_folder_of_its_own(
    site: Newsroom, options: IngestOptions, db: StateDB
) -> None:
    # the removed feed's articles stay in its folder, which /feeds remove says to delete
    # to drop them: a new feed of the same name saved into it, and went with them
    old = add_feed(db, FeedCheck(publish(site, "old", 2), "World Desk", 2), None)
    first = (await fetch_round(options)).saved
    db.remove_feed(old.id)
    new = add_feed(db, FeedCheck(publish(site, "new", 2), "World Desk", 2), None)
    assert (old.name, new.name) == ("world-desk", "world-desk-2")
    assert len((await fetch_round(options)).saved) == 2
    folder = options.corpus_dir / "feeds" / old.name
    assert sorted(f"feeds/{old.name}/{path.name}" for path in folder.iterdir()) == sorted(first)


async def test_a_rounds_report_reaches_the_bot_whatever_line_breaks_a_site_puts_in_its_problems(
    site: Newsroom, options: IngestOptions, db: StateDB
) -> None:
    # a content type with a NEL (U+0085) in it, which a site is free to send: the round's
    # report, one line of JSON from the child, was cut at it and lost
    page = site.put("odd.html", b"%PDF-1.4", content_type="application/pdf\u0085x")
    subscribe(db, site.put("feed.xml", rss("F", [Item("Odd", page, WHEN)]), RSS))
    report = await run_round_in_child(options, stopping=lambda: False)
    assert report is not None
    assert len(report.problems) == 1 and "\x85" in report.problems[0]


def whole_stories(site: Newsroom, hours_ago: list[int]) -> str:
    """Serve a feed of stories carrying their whole text, story N dated N hours before `WHEN`,
    listed in the order of `hours_ago`; return the feed's URL."""
    items = [
        Item(
            f"Story {n}",
            site.url(f"{n}.html"),
            WHEN - dt.timedelta(hours=n),
            content="".join(f"<p>{p}</p>" for p in paragraphs(f"story {n}", count=3)),
        )
        for n in hours_ago
    ]
    return site.put("feed.xml", rss("Harbour Times", items), RSS)


async def test_a_round_reads_a_feeds_newest_items_up_to_the_limit_and_tells_how_many_it_left(
    site: Newsroom, options: IngestOptions, db: StateDB
) -> None:
    # a 10 MB feed of 160,000 tiny items was read whole every round, each item started at once
    subscribe(db, whole_stories(site, [7, 0, 11, 3, 9, 1, 5, 10, 2, 8, 4, 6]))
    report = await fetch_round(dataclasses.replace(options, max_items=5))
    saved = sorted(matter["title"] for matter in front_matters(options).values())
    assert saved == [f"Story {n}" for n in range(5)] and len(report.saved) == 5  # the newest, by date
    assert report.problems == [
        f"feed feed0 ({site.url('feed.xml')}): 7 older items left unread, past FEED_MAX_ITEMS=5"
    ]
    assert db.feeds()[0].unread == 7
    again = await fetch_round(dataclasses.replace(options, max_items=5))  # unchanged: a 304, still 7 left
    assert (again.unchanged, again.saved, db.feeds()[0].unread) == (1, [], 7)
    whole_stories(site, [12, 7, 0, 11, 3, 9, 1, 5, 10, 2, 8, 4, 6])  # changed: read again, limit raised
    more = await fetch_round(dataclasses.replace(options, max_items=20))
    assert (len(more.saved), more.problems, db.feeds()[0].unread) == (8, [], 0)


async def test_a_round_starts_a_bounded_number_of_a_feeds_items_at_once(
    site: Newsroom, options: IngestOptions, db: StateDB
) -> None:
    # every item of the feed was started at once: one task each, 160,000 of them for a 10 MB feed
    gate = asyncio.Event()
    items = []
    for n in range(200):
        url = site.put(f"{n}.html", article_page(f"Story {n}", paragraphs(f"story {n}")), gate=gate)
        items.append(Item(f"Story {n}", url, WHEN - dt.timedelta(minutes=n)))
    subscribe(db, site.put("feed.xml", rss("Harbour Times", items), RSS))
    round_ = asyncio.create_task(fetch_round(options))
    async with asyncio.timeout(60):
        while not site.hits("0.html"):  # the first page asked for, and held
            await asyncio.sleep(0.02)
    held = len(asyncio.all_tasks())
    gate.set()
    report = await round_
    assert len(report.saved) == 200 and report.problems == []
    assert held < 60


def tokened(site: Newsroom, token: str, guids: list[str]) -> str:
    """Serve a feed of summary-only stories whose links carry `token` in their query, as a
    publisher's per-visit session does, each story known by its guid; return the feed's URL."""
    items = []
    for number, guid in enumerate(guids):
        page = site.put(f"{number}.html", article_page(f"Story {number}", paragraphs(f"story {number}")))
        items.append(Item(f"Story {number}", f"{page}?sid={token}", WHEN, guid=guid))
    return site.put("feed.xml", rss("Harbour Times", items), RSS)


async def test_an_item_whose_links_query_changes_every_round_is_known_by_its_id_and_not_fetched_again(
    site: Newsroom, options: IngestOptions, db: StateDB
) -> None:
    # each round fetched every item's page again, found its text a duplicate and kept one more
    # link: 200 requests a round to the publisher, and 19,200 rows a day in the state file
    guids = ["harbour-1", "harbour-2", "harbour-3"]
    subscribe(db, tokened(site, "a1", guids))
    assert len((await fetch_round(options)).saved) == 3
    links = _links(db)
    for token in ("b2", "c3", "d4"):
        tokened(site, token, guids)
        report = await fetch_round(options)
        assert (report.saved, report.duplicates, report.problems) == ([], 0, [])
    assert sum(len(site.hits(f"{n}.html")) for n in range(3)) == 3
    assert _links(db) == links


async def test_an_item_without_an_id_whose_link_changes_every_round_is_known_by_its_title_and_date(
    site: Newsroom, options: IngestOptions, db: StateDB
) -> None:
    # items without a guid whose links carry a new token each round (`?sid=N`) had each page
    # fetched again every round, only to be found a duplicate by its text: 200 requests a round
    pages = {n: site.put(f"{n}.html", article_page(f"Story {n}", paragraphs(f"story {n}"))) for n in range(5)}

    def listed(round_: int, numbers: list[int], titles: dict[int, str] | None = None) -> None:
        items = [
            Item(
                (titles or {}).get(n, f"Story {n}"), f"{pages[n]}?sid={round_}", WHEN - dt.timedelta(hours=n)
            )
            for n in numbers
        ]
        site.put("feed.xml", rss("Harbour Times", items), RSS)

    subscribe(db, site.url("feed.xml"))
    listed(0, [1, 2, 3])
    assert len((await fetch_round(options)).saved) == 3
    for round_ in (1, 2):
        listed(round_, [1, 2, 3])
        report = await fetch_round(options)
        assert (report.saved, report.duplicates, report.problems) == ([], 0, [])
    assert [len(site.hits(f"{n}.html")) for n in (1, 2, 3)] == [1, 1, 1]
    listed(3, [0, 1, 2, 3], {2: "Story 2, corrected"})  # a new story, and a headline changed
    report = await fetch_round(options)
    assert len(report.saved) == 1 and report.duplicates == 1 and report.problems == []
    assert [len(site.hits(f"{n}.html")) for n in range(4)] == [1, 1, 2, 1]
    assert len(db.articles()) == 4


async def test_items_without_an_id_that_share_a_title_and_date_in_a_round_are_known_by_their_links(
    site: Newsroom, options: IngestOptions, db: StateDB
) -> None:
    # two items of one feed with one headline and date cannot be told apart by them: each is
    # read by its link, as before, and neither is taken for the other
    pages = {n: site.put(f"{n}.html", article_page(f"Story {n}", paragraphs(f"story {n}"))) for n in range(2)}
    items = [Item("Briefing", f"{pages[n]}?sid=0", WHEN) for n in range(2)]
    subscribe(db, site.put("feed.xml", rss("Harbour Times", items), RSS))
    assert len((await fetch_round(options)).saved) == 2
    site.put(
        "feed.xml", rss("Harbour Times", [Item("Briefing", f"{pages[n]}?sid=1", WHEN) for n in range(2)]), RSS
    )
    report = await fetch_round(options)
    assert report.duplicates == 2 and report.problems == []
    assert [len(site.hits(f"{n}.html")) for n in range(2)] == [2, 2]


async def test_items_that_share_an_id_under_other_addresses_are_each_saved(
    site: Newsroom, options: IngestOptions, db: StateDB
) -> None:
    # a feed that numbers its items by their place (guid 1 the newest), or gives them all one
    subscribe(db, tokened(site, "a1", ["1", "1", "2"]))
    assert len((await fetch_round(options)).saved) == 3
    # and one whose stories' addresses differ in their query alone
    items = [Item(f"Story {n}", site.url(f"s?id={n}"), WHEN, content=whole(str(n)), guid="1") for n in (3, 4)]
    site.put("feed.xml", rss("Harbour Times", items), RSS)
    assert len((await fetch_round(options)).saved) == 2


def _links(db: StateDB) -> int:
    """The links the state file keeps."""
    with contextlib.closing(sqlite3.connect(db.path)) as reader:
        return int(reader.execute("SELECT count(*) FROM links").fetchone()[0])


def backlog_of(db: StateDB) -> dict[str, bool]:
    return {article.title: article.backlog for article in db.articles()}


async def test_items_a_raised_feed_max_items_lets_in_are_backlog_and_a_new_item_is_news(
    site: Newsroom, options: IngestOptions, db: StateDB
) -> None:
    # the items past the old limit, older than every item read before, were saved as news, and
    # alerted readers to what the publisher had had for days
    subscribe(db, site.put("feed.xml", rss("Harbour Times", []), RSS))
    await fetch_round(options)  # the feed's first read, some time ago: what comes from now on is news
    whole_stories(site, [1, 2, 3, 4])
    await fetch_round(dataclasses.replace(options, max_items=2))
    assert backlog_of(db) == {"Story 1": False, "Story 2": False}
    whole_stories(site, [0, 1, 2, 3, 4])  # a new story, and the limit raised
    report = await fetch_round(dataclasses.replace(options, max_items=10))
    assert len(report.saved) == 3 and report.problems == []
    assert backlog_of(db) == {
        "Story 1": False,
        "Story 2": False,
        "Story 0": False,
        "Story 3": True,
        "Story 4": True,
    }


@pytest.mark.parametrize("dated", [True, False], ids=["dated", "undated"])
async def test_older_items_a_changed_feed_brings_up_are_backlog(
    site: Newsroom, options: IngestOptions, db: StateDB, dated: bool
) -> None:
    # a publisher that shows its ten newest items took two down: the two that came up from
    # below, never read before, were saved as news
    subscribe(db, site.put("feed.xml", rss("Harbour Times", []), RSS))
    await fetch_round(options)

    def show(numbers: list[int]) -> None:
        items = [
            Item(
                f"Story {n}",
                site.url(f"{n}.html"),
                WHEN - dt.timedelta(hours=n) if dated else None,
                content="".join(f"<p>{p}</p>" for p in paragraphs(f"story {n}", count=3)),
            )
            for n in numbers
        ]
        site.put("feed.xml", rss("Harbour Times", items), RSS)

    show([2, 3])
    await fetch_round(options)
    show([0, 3, 4, 5])  # one new at the top; 2 taken down, 4 and 5 come up from below
    await fetch_round(options)
    assert backlog_of(db) == {
        "Story 2": False,
        "Story 3": False,
        "Story 0": False,
        "Story 4": True,
        "Story 5": True,
    }


async def test_links_of_a_feed_that_rotate_are_forgotten_once_unlisted_and_no_item_is_read_again(
    site: Newsroom, options: IngestOptions, db: StateDB
) -> None:
    # items without an id whose links carry a new token each round (`?sid=N`) left one more row
    # each in the state file every round, for good: 200 items at 96 rounds a day, 19,200 a day
    # (undated: a dated item is known by its headline and date, and read once)
    subscribe(db, site.put("feed.xml", rss("Harbour Times", []), RSS))
    await fetch_round(options)
    pages = {n: site.put(f"{n}.html", article_page(f"Story {n}", paragraphs(f"story {n}"))) for n in range(3)}

    def listed(round_: int) -> None:
        items = [Item(f"Story {n}", f"{pages[n]}?sid={round_}") for n in range(3)]
        site.put("feed.xml", rss("Harbour Times", items), RSS)

    for round_ in range(4):
        listed(round_)
        await fetch_round(options)
    links = sqlite3.connect(options.state_dir / "newsbot.sqlite3")
    assert links.execute("SELECT count(*) FROM links").fetchone() == (12,)  # 3 saved, 9 duplicates
    # days pass: the links of the last round are listed again, the earlier ones no longer
    with links:
        links.execute("UPDATE links SET listed_at = listed_at - 4 * 86400, seen_at = seen_at - 4 * 86400")
    hits = len(site.requests)
    report = await fetch_round(options)  # the feed unchanged: a 304, nothing forgotten
    assert report.unchanged == 1 and links.execute("SELECT count(*) FROM links").fetchone() == (12,)
    listed(3)
    site.resources["feed.xml"].etag = '"changed"'
    report = await fetch_round(options)
    assert (report.saved, report.duplicates, report.problems) == ([], 0, [])
    assert len(site.requests) == hits + 2  # the two reads of the feed: no item page again
    kept = links.execute("SELECT url, outcome FROM links ORDER BY url").fetchall()
    assert len(kept) == 6  # the 3 saved, and the 3 links listed now
    assert sorted(outcome for _, outcome in kept) == ["duplicate"] * 3 + ["saved"] * 3
    assert all(url.endswith("sid=3") for url, outcome in kept if outcome == "duplicate")
    assert len(db.articles()) == 3


async def test_an_articles_link_is_saved_and_shown_without_tracking_parameters(
    site: Newsroom, options: IngestOptions, db: StateDB
) -> None:
    # the saved file kept the feed's `?utm_source=rss&...`, and answers and alerts showed it
    page = site.put("story.html", article_page("Harbour story", paragraphs("harbour")))
    tracked = f"{page}?utm_source=rss&id=7&utm_medium=feed&fbclid=IwAR0&gclid=Cj0&mc_cid=ab12&mc_eid=cd34"
    subscribe(db, site.put("feed.xml", rss("Harbour Times", [Item("Harbour story", tracked, WHEN)]), RSS))
    report = await fetch_round(options)
    assert len(report.saved) == 1
    ((_, matter),) = front_matters(options).items()
    assert matter["url"] == f"{page}?id=7"
    assert (await add_link(db, options, f"{page}?id=7")).outcome == "seen"  # one article, with or without
    assert (await add_link(db, options, f"{page}?utm_campaign=spring&id=7")).outcome == "seen"
    linked = site.put("linked.html", article_page("Linked story", paragraphs("linked")))
    added = await add_link(db, options, f"{linked}?utm_source=newsletter&utm_content=top#comments")
    assert added.outcome == "saved" and added.article.url == linked
    assert front_matters(options)[added.article.path]["url"] == f"{linked}#comments"

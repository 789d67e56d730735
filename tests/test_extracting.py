"""Pages read in child processes (`bot.extracting`): the same article, its reasons, its budget, a stop."""

from __future__ import annotations

import asyncio
import datetime as dt
import os

import pytest

from bot.extract import MAX_ELEMENTS, ExtractError, decode_html, extract_article
from bot.extracting import FeedOutline, PageNotRead, PageReader, ReadAbandoned
from bot.feeds import FeedParseError, parse_feed
from fakes.newsroom import Item, article_page, paragraphs, rss
from tests.e2e.test_reading import heavy_page, readers

URL = "http://news.example/harbour"


async def test_a_page_read_in_a_child_is_the_article_read_here() -> None:
    page = article_page("Harbour reopens", paragraphs("harbour"), dt.date(2024, 4, 30))
    read = await PageReader().read(page, "utf-8", URL)
    assert read == extract_article(decode_html(page, "utf-8"), URL)
    assert read.date == dt.date(2024, 4, 30) and read.title == "Harbour reopens"


async def test_a_page_with_no_article_tells_why_with_its_values() -> None:
    page = ("<html><body>" + "<p>x</p>" * (MAX_ELEMENTS + 1) + "</body></html>").encode()
    with pytest.raises(ExtractError) as raised:
        await PageReader().read(page, None, URL)
    assert raised.value.values == {"count": MAX_ELEMENTS + 3, "most": MAX_ELEMENTS}
    assert str(raised.value) == "the page has 50,003 elements; I read article pages of at most 50,000"


async def test_a_feed_read_in_a_child_is_the_feed_parsed_here() -> None:
    document = rss("Harbour Times", [Item(f"Story {n}", f"{URL}/{n}", None) for n in range(3)])
    parsed = parse_feed(document, URL)
    read = await PageReader().read_feed(document, "application/rss+xml", URL)
    assert read == FeedOutline(parsed.title, len(parsed.entries)) == FeedOutline("Harbour Times", 3)


async def test_a_page_that_is_no_feed_gives_the_feeds_it_announces_or_why() -> None:
    page = b'<html><head><link rel="alternate" type="application/rss+xml" href="/rss"></head></html>'
    read = await PageReader().read_feed(page, "text/html", URL, discover=True)
    assert read.announced == ("http://news.example/rss",)
    with pytest.raises(FeedParseError) as raised:  # not asked to look: the reason, as parse_feed's
        await PageReader().read_feed(page, "text/html", URL)
    with pytest.raises(FeedParseError) as here:
        parse_feed(page, URL, "text/html")
    assert (raised.value.text, raised.value.values) == (here.value.text, here.value.values)


@pytest.mark.parametrize(("budget", "seconds"), [({"cpu_seconds": 1}, 1), ({"seconds": 0.5}, 0.5)])
async def test_a_reader_past_its_budget_is_killed_and_the_page_is_slow(
    budget: dict[str, float], seconds: float
) -> None:
    with pytest.raises(PageNotRead) as raised:
        await PageReader(**budget).read(heavy_page(), None, URL)  # type: ignore[arg-type]
    assert raised.value.slow and raised.value.values == {"seconds": seconds}
    assert readers(os.getpid()) == []


async def test_a_stop_kills_the_reader_at_work_and_reads_no_page_waiting() -> None:
    reader, told = PageReader(at_once=1), list[int]()
    first = asyncio.ensure_future(reader.read(heavy_page(), None, URL))
    async with asyncio.timeout(60):
        while not readers(os.getpid()):
            await asyncio.sleep(0.01)
    second = asyncio.ensure_future(reader.read(heavy_page(), None, URL, told.append))
    await asyncio.sleep(0)
    assert told == [1]  # one page ahead of it
    reader.abandon()
    for read in (first, second):
        with pytest.raises(ReadAbandoned):
            await read
    assert readers(os.getpid()) == []

"""Feed documents of every dialect -> entries, and the feeds an HTML page announces."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from types import FrameType

import pytest

from bot import feeds
from bot.feeds import FeedParseError, discover_feeds, parse_feed
from fakes.newsroom import Item, atom, rss

BASE = "http://news.example/feed.xml"
WHEN = dt.datetime(2024, 5, 3, 9, 30, tzinfo=dt.UTC)

RSS_091 = b"""<?xml version="1.0"?><rss version="0.91"><channel><title>Old</title>
<item><title>One</title><link>http://news.example/1</link><description>Teaser</description></item>
</channel></rss>"""
RSS_10 = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
 xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="http://news.example/"><title>RDF</title></channel>
<item rdf:about="http://news.example/1"><title>One</title><link>http://news.example/1</link>
<dc:date>2024-05-03T09:30:00Z</dc:date></item></rdf:RDF>"""


@pytest.mark.parametrize(
    ("document", "title", "dated"),
    [
        (RSS_091, "Old", False),
        (RSS_10, "RDF", True),
        (rss("Two", [Item("One", "http://news.example/1", WHEN)]), "Two", True),
        (atom("Atom", [Item("One", "http://news.example/1", WHEN)]), "Atom", True),
    ],
)
def test_every_dialect_gives_the_entry_link_title_and_date(document: bytes, title: str, dated: bool) -> None:
    feed = parse_feed(document, BASE)
    assert feed.title == title
    (entry,) = feed.entries
    assert (entry.link, entry.title) == ("http://news.example/1", "One")
    assert entry.published == (WHEN if dated else None)


def test_full_content_and_summary_are_told_apart() -> None:
    items = [Item("Full", "http://n/1", content="<p>Whole text</p>"), Item("Teaser", "http://n/2")]
    full, teaser = parse_feed(rss("F", items), BASE).entries
    assert full.content == "<p>Whole text</p>" and teaser.content is None
    assert teaser.summary == "A short teaser."


def test_an_items_id_is_its_rss_guid_or_atom_id() -> None:
    items = [Item("One", "http://n/1", guid="tag:n,2024:1"), Item("Two", "http://n/2")]
    assert [entry.id for entry in parse_feed(rss("F", items), BASE).entries] == ["tag:n,2024:1", None]
    assert [entry.id for entry in parse_feed(atom("F", items), BASE).entries] == [
        "tag:n,2024:1",
        "http://n/2",
    ]


def test_relative_links_resolve_against_the_feed_address() -> None:
    (entry,) = parse_feed(rss("F", [Item("One", "/world/1")]), BASE).entries
    assert entry.link == "http://news.example/world/1"


@pytest.mark.parametrize(
    ("document", "why"),
    [
        (b"this is not xml <<<>>>", "not an RSS or Atom feed"),
        (b"<html><head><title>Home</title></head><body><p>News</p></body></html>", "HTML, not a feed"),
        (b"", "not an RSS or Atom feed"),
        (b'{"json": true}', "not an RSS or Atom feed"),
    ],
)
def test_what_is_no_feed_is_a_feed_parse_error(document: bytes, why: str) -> None:
    with pytest.raises(FeedParseError, match=why):
        parse_feed(document, BASE)


def test_a_truncated_feed_keeps_the_entries_it_has_and_says_it_is_malformed() -> None:
    document = rss("Cut", [Item("One", "http://n/1"), Item("Two", "http://n/2")])[:-40]
    feed = parse_feed(document, BASE)
    assert [entry.link for entry in feed.entries][:1] == ["http://n/1"]
    assert feed.problem


@pytest.mark.parametrize(
    "reference",
    [
        b"&#99999999999;",  # beyond any integer a character is made of: OverflowError
        b"&#x110000;",  # beyond Unicode: ValueError
        b"&#xD800;",  # half of a UTF-16 pair, no character alone: UnicodeEncodeError
        b"&#55296;",  # the same, in decimal
    ],
)
def test_a_reference_to_no_character_is_malformed_xml_and_the_items_are_read_anyway(reference: bytes) -> None:
    # the feed reader raised on it, and the feed failed every round as an unexpected fault
    document = rss("Harbour Times", [Item("Ferry resumes", "http://n/1"), Item("Storm", "http://n/2")])
    feed = parse_feed(
        document.replace(b"Times", b"Times " + reference).replace(b"Storm", b"Storm" + reference), BASE
    )
    assert feed.title == "Harbour Times \ufffd"
    assert [(entry.title, entry.link) for entry in feed.entries] == [
        ("Ferry resumes", "http://n/1"),
        ("Storm\ufffd", "http://n/2"),
    ]
    assert feed.problem is not None and "reference to invalid character number" in feed.problem
    lone = rss("Harbour Times", []).replace(b"Times", b"Times " + reference)
    with pytest.raises(FeedParseError, match="malformed XML: no item could be read"):
        parse_feed(lone, BASE)


TWO = rss("Harbour Times", [Item("Ferry", "http://n/1"), Item("Storm", "http://n/2")])
TEASER = b"<description>A short teaser.</description></item>"


@pytest.mark.parametrize(
    ("document", "malformed"),
    [
        # the feed reader's handlers store an element's value in what its start prepared
        # (the item's links, tags; the feed's textinput) and raised KeyError or IndexError
        # where that was not there: the whole feed failed as an unexpected fault.
        # `<>` repeats the last tag (`<link>`); `</item` ends the item before it ends
        (
            TWO.replace(b"<link>http://example.invalid/</link>", b"").replace(TEASER, b"<></item</link>", 1),
            True,
        ),
        (TWO.replace(TEASER, b"<category>Sea</item</category>", 1), True),  # its `tags`
        # an image's link inside an item that ends after the item's own: IndexError
        (
            TWO.replace(
                b"<link>http://n/1</link>",
                b"<image><link>http://n/i.png</image></link><link>http://n/1</link>",
                1,
            ),
            True,
        ),
        # well-formed: a GML point whose coordinate system's EPSG code is no number: ValueError
        (
            TWO.replace(b'version="2.0"', b'version="2.0" xmlns:gml="http://www.opengis.net/gml"').replace(
                TEASER, b'<gml:Point srsName="EPSG:4326x"><gml:pos>45 10</gml:pos></gml:Point></item>', 1
            ),
            False,
        ),
        # well-formed: a GML polygon whose ring's coordinates are no numbers: the feed reader's
        # ring was None, and it raised TypeError taking its coordinates
        (
            TWO.replace(
                b'version="2.0"',
                b'version="2.0" xmlns:georss="http://www.georss.org/georss" xmlns:gml="http://www.opengis.net/gml"',
            ).replace(
                TEASER,
                b"<georss:where><gml:Polygon><gml:exterior><gml:LinearRing><gml:posList>north east"
                b"</gml:posList></gml:LinearRing></gml:exterior></gml:Polygon></georss:where></item>",
                1,
            ),
            False,
        ),
        # well-formed: a search box inside an item
        (
            TWO.replace(
                b"</item>", b"<textinput><title>Find</title><link>http://n/find</link></textinput></item>", 1
            ),
            False,
        ),
    ],
)
def test_an_element_out_of_its_place_is_left_out_and_the_items_are_read(
    document: bytes, malformed: bool
) -> None:
    feed = parse_feed(document, BASE)
    assert feed.title == "Harbour Times"
    assert [(entry.title, entry.link) for entry in feed.entries] == [
        ("Ferry", "http://n/1"),
        ("Storm", "http://n/2"),
    ]
    assert (feed.problem is not None) == malformed


@pytest.mark.parametrize(
    "namespace",
    [
        "http://purl.org/rss/1.0/modules/\u00a0content/",  # a no-break space: ValueError
        "http://purl.org/rss/1.0/modules/\u0085content/",  # a next-line control (NEL)
        "http://purl.org/rss/1.0/modules/\u2003content/\u3000x",  # two, of other kinds
    ],
    ids=["no-break space", "next line", "em and ideographic spaces"],
)
def test_a_namespace_whose_name_holds_whitespace_costs_no_item_and_is_told(namespace: str) -> None:
    # Python's XML reader splits an element's namespace from its name at any whitespace, and
    # the feed reader raised ValueError on the pieces: the whole feed failed as an unexpected
    # fault, every round, for one odd character in a namespace's name
    items = [
        Item("Ferry", "http://n/1", WHEN, content="<p>The ferry resumed.</p>"),
        Item("Storm", "http://n/2"),
    ]
    document = rss("Harbour Times", items).replace(
        b"http://purl.org/rss/1.0/modules/content/", namespace.encode()
    )
    feed = parse_feed(document, BASE)
    assert feed.title == "Harbour Times"
    assert [(entry.title, entry.link) for entry in feed.entries] == [
        ("Ferry", "http://n/1"),
        ("Storm", "http://n/2"),
    ]
    assert feed.entries[0].published == WHEN
    assert feed.problem is not None and "namespace" in feed.problem and repr(namespace) in feed.problem


def test_a_feed_cut_where_its_item_ends_before_its_link_is_read_as_malformed_xml() -> None:
    document = (
        b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Harbour Times</title>'
        b"<item><title>Ferry</title><link>http://n/1</link><></item</link>"
    )
    feed = parse_feed(document, BASE)
    assert [(entry.title, entry.link) for entry in feed.entries] == [("Ferry", "http://n/1")]
    assert feed.problem == "<unknown>:1:144: not well-formed (invalid token)"


def test_an_items_title_left_open_past_its_end_leaves_the_feeds_title_its_own() -> None:
    # feedparser stored the title where it ended, in the feed: the item's title and what
    # followed up to the next </title> became the feed's title ("Ferryhttp://n/2Volcano")
    document = (
        b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Harbour Times</title>'
        b"<item><link>http://n/1</link><title>Ferry</item>"
        b"<item><link>http://n/2</link><title>Volcano</title></item></channel></rss>"
    )
    feed = parse_feed(document, BASE)
    assert (feed.title, feed.entries[0].link) == ("Harbour Times", "http://n/1")
    assert feed.problem == "<unknown>:1:137: mismatched tag"


@pytest.mark.parametrize(
    "end",
    [
        b"</item>",
        b"<description>A teaser</item>",  # two elements left open
        b"<item>",  # the next item opens while the title is open: it was read as the title's text
    ],
)
def test_the_items_after_an_item_that_leaves_an_element_open_are_read(end: bytes) -> None:
    # feedparser read what followed, up to the next </title>, as the open title's text: the
    # next item was lost
    document = (
        b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Harbour Times</title>'
        b"<item><link>http://n/1</link><title>Ferry"
        + end
        + b"<item><link>http://n/2</link><title>Volcano</title></item>"
        b"<item><link>http://n/3</link><title>Storm</title></item></channel></rss>"
    )
    feed = parse_feed(document, BASE)
    assert feed.title == "Harbour Times"
    assert [(entry.title, entry.link) for entry in feed.entries] == [
        (None, "http://n/1"),  # its title left out
        ("Volcano", "http://n/2"),
        ("Storm", "http://n/3"),
    ]
    assert feed.problem is not None and "mismatched tag" in feed.problem


@pytest.mark.parametrize(
    ("encoding", "bom", "declared"),
    [
        ("utf-8", "", "undefined"),  # a codec that decodes nothing: UnicodeError
        ("ascii", "", "punycode"),  # one of host names, which raises on a document in ASCII
        ("utf-8", "\ufeff", "undefined"),
        ("utf-16-le", "\ufeff", "undefined"),  # the encoding the BOM tells is read
        ("utf-16-be", "", "undefined"),  # or that '<?' is written in
        ("utf-32-le", "\ufeff", "punycode"),
    ],
)
def test_a_declared_encoding_that_decodes_no_text_is_passed_over(
    encoding: str, bom: str, declared: str
) -> None:
    # Python knows these names, but the feed reader raised on them where it passes over a
    # name it does not know, and the feed failed every round as an unexpected fault
    document = rss("Harbour Times", [Item("Ferry resumes", "http://n/1")]).decode()
    document = bom + document.replace('encoding="utf-8"', f'encoding="{declared}"')
    feed = parse_feed(document.encode(encoding), BASE)
    assert (feed.title, feed.problem) == ("Harbour Times", None)
    assert [(entry.title, entry.link) for entry in feed.entries] == [("Ferry resumes", "http://n/1")]


@pytest.mark.parametrize(
    ("name", "content_type", "encoding"),
    [
        (b"\xff\xfe", None, "utf-8"),
        (b"utf-8\xa0", None, "utf-8"),
        (b"\xff\xfe", "application/rss+xml; charset=windows-1251", "cp1251"),  # the other name is read
    ],
)
def test_a_declared_encoding_whose_name_is_no_utf8_is_passed_over(
    name: bytes, content_type: str | None, encoding: str
) -> None:
    # no charset has such a name, but the feed reader raised UnicodeDecodeError on it, and the
    # feed failed every round as an unexpected fault
    document = rss("Гавань", [Item("Ferry resumes", "http://n/1")]).decode().replace("utf-8", "@@", 1)
    feed = parse_feed(document.encode(encoding).replace(b"@@", name), BASE, content_type)
    assert (feed.title, feed.problem) == ("Гавань", None)
    assert [(entry.title, entry.link) for entry in feed.entries] == [("Ferry resumes", "http://n/1")]


@pytest.mark.parametrize(
    ("charset", "title"),
    [("undefined", "Гавань"), ('"undefined"; format=flowed', "Гавань"), ("punycode", "Harbour Times")],
)
def test_a_charset_in_the_header_that_decodes_no_text_is_passed_over(charset: str, title: str) -> None:
    document = rss(title, [Item("Ferry resumes", "http://n/1")])
    feed = parse_feed(document, BASE, f"application/rss+xml; charset={charset}")
    assert (feed.title, feed.entries[0].title, feed.problem) == (title, "Ferry resumes", None)


def test_an_impossible_date_is_no_date() -> None:
    document = RSS_091.replace(
        b"<description>", b"<pubDate>Mon, 99 Foo 20245 99:99:99</pubDate><description>"
    )
    (entry,) = parse_feed(document, BASE).entries
    assert entry.published is None


def test_external_entities_are_not_read() -> None:
    document = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/hostname">]>'
        b'<rss version="2.0"><channel><title>t&x;</title><item><title>&x;</title>'
        b"<link>http://n/1</link></item></channel></rss>"
    )
    hostname = open("/etc/hostname").read().strip()  # noqa: SIM115
    feed = parse_feed(document, BASE)
    assert hostname not in (feed.title or "") + (feed.entries[0].title or "")


def test_discover_feeds_finds_announced_rss_and_atom() -> None:
    page = b"""<html><head>
    <link rel="alternate" type="application/rss+xml" href="/rss.xml">
    <link rel="alternate" type="application/atom+xml" href="https://other.example/atom">
    <link rel="stylesheet" href="/style.css"></head><body></body></html>"""
    assert discover_feeds(page, "http://news.example/") == [
        "http://news.example/rss.xml",
        "https://other.example/atom",
    ]
    assert discover_feeds(b"<html></html>", "http://news.example/") == []


def test_reading_nested_elements_costs_in_proportion_to_their_number() -> None:
    # each element's end, and each start, looked through every element open: 20,000 nested
    # elements (100 KB) took 11 s to read, 100,000 seven minutes, a round held up as long
    def steps(depth: int) -> int:
        """The lines the feed reader's own code runs to read `depth` nested elements."""
        document = rss("Harbour Times", [Item("Ferry", "http://n/1")]).replace(
            b"</item>", b"<x>" * depth + b"</x>" * depth + b"</item>", 1
        )
        count = 0

        def trace(frame: FrameType, event: str, arg: object) -> Callable[..., object] | None:
            nonlocal count
            if frame.f_code.co_filename != feeds.__file__:
                return None
            count += event == "line"
            return trace

        sys.settrace(trace)
        try:
            feed = parse_feed(document, BASE)
        finally:
            sys.settrace(None)
        assert [entry.link for entry in feed.entries] == ["http://n/1"]
        return count

    assert steps(2000) < 3 * steps(1000)


def _dated(title: str, hours_ago: int | None) -> feeds.FeedEntry:
    when = None if hours_ago is None else WHEN - dt.timedelta(hours=hours_ago)
    return feeds.FeedEntry(f"http://news.example/{title}", title, when, None, None)


@pytest.mark.parametrize(
    ("ages", "kept"),
    [
        ([3, 0, 2, 1], ["1", "3"]),  # listed in no order: the dates decide
        ([0, 1, 2, 3], ["0", "1"]),  # newest first, as most feeds list them
        ([None, None, None], ["0", "1"]),  # no dates: the feed's own order, newest first
        ([9, 5, None], ["1", "2"]),  # undated below a 5-hour-old item: as old as it, newer than 9 hours
        ([None, 5, 0], ["0", "2"]),  # undated at the top of the feed: its newest
        ([2, 2, 2], ["0", "1"]),  # ties keep the feed's order
        ([1, 0], ["0", "1"]),  # no more than the limit: all, in the feed's order
    ],
)
def test_the_newest_items_are_kept_by_their_dates_and_the_feeds_order(
    ages: list[int | None], kept: list[str]
) -> None:
    entries = tuple(_dated(str(number), age) for number, age in enumerate(ages))
    newest, left = feeds.newest(entries, 2)
    assert sorted(entry.title or "" for entry in newest) == kept
    assert left == len(ages) - len(kept)
    assert [entry.title for entry in newest] == [e.title for e in entries if e in newest]  # feed order


@pytest.mark.parametrize(
    ("ages", "seen", "older"),
    [
        # the limit raised: the items past the old one are older than every item read before
        ([0, 1, 2, 3], "ss..", "..oo"),
        # one new item at the top, and the older ones the raised limit lets in
        ([0, 1, 2, 3, 4], ".ss..", "...oo"),
        ([3, 0, 2, 1], "..ss", "o..."),  # listed in no order: the dates decide
        ([5, 0, 9, 1], "s...", "..o."),  # newer than the oldest item seen: news, wherever listed
        ([None, None, None], ".s.", "..o"),  # no dates: the feed's order
        ([9, None, 5], "s..", ".o."),  # undated below a 9-hour-old item seen: as old, and listed after
        ([2, 2, 2], ".s.", "..."),  # dated as the oldest seen: not older, though listed below it
        ([None, 2, 3, None], ".s..", "..oo"),  # undated below the oldest seen: as old, listed after
        ([0, 1], "..", ".."),  # nothing seen: nothing to be older than
        ([0, 1], "ss", ".."),  # all seen
    ],
)
def test_an_item_older_than_every_item_seen_is_told(ages: list[int | None], seen: str, older: str) -> None:
    entries = tuple(_dated(str(number), age) for number, age in enumerate(ages))
    told = feeds.older_than_seen(entries, [mark == "s" for mark in seen])
    assert "".join("o" if old else "." for old in told) == older

"""RSS 0.9x / 1.0 / 2.0 and Atom documents -> entries, with feedparser. Pure.

feedparser reads every dialect and the common mistakes in the wild; what it cannot read
at all is a `FeedParseError`, so one broken feed never costs a round the others.
"""

from __future__ import annotations

import calendar
import codecs
import datetime as dt
import functools
import re
import xml.sax
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import feedparser
import lxml.html

from .i18n import N_, Told

__all__ = [
    "FEED_TYPES",
    "FeedEntry",
    "FeedParseError",
    "ParsedFeed",
    "discover_feeds",
    "newest",
    "older_than_seen",
    "parse_feed",
]

EARLIEST = dt.datetime(1970, 1, 2, tzinfo=dt.UTC)
"""An item dated before this gives a placeholder, not its date: the zero time of Go and .NET
(0001-01-01, Hugo's undated posts), of spreadsheets (1900-01-01), of Unix (1970-01-01, and
1969-12-31 west of UTC). It was saved as published then, answers showing 0001-01-01."""

FEED_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/rdf+xml",
    "application/xml",
    "text/xml",
)
ACCEPT_FEED = ", ".join(FEED_TYPES) + ", */*;q=0.5"
_CHARACTER_REFERENCE = re.compile(rb"&#(?:([0-9]+)|[xX]([0-9a-fA-F]+));")
_XML_DECLARED_ENCODING = re.compile(rb"""^<\?.*encoding=['"](.*?)['"].*\?>""")  # as feedparser finds it
_SNIFFED = (  # the document's first bytes -> its encoding, as feedparser sniffs them: (BOM, encoding)
    (codecs.BOM_UTF32_BE, "utf-32be"),
    (codecs.BOM_UTF32_LE, "utf-32le"),
    (codecs.BOM_UTF16_BE, "utf-16be"),
    (codecs.BOM_UTF16_LE, "utf-16le"),
    (codecs.BOM_UTF8, "utf-8"),
)
_MARKERS = (  # '<?' in encodings that are no superset of ASCII, without a BOM
    (b"\x4c\x6f\xa7\x94", "cp037"),
    (b"\x00\x3c\x00\x3f", "utf-16be"),
    (b"\x3c\x00\x3f\x00", "utf-16le"),
    (b"\x00\x00\x00\x3c", "utf-32be"),
    (b"\x3c\x00\x00\x00", "utf-32le"),
)


def _skipped_where_it_fails(handler: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(handler)
    def handle(self: object, *args: Any) -> Any:
        try:
            return handler(self, *args)
        except (LookupError, ValueError, TypeError):
            return None

    return handle


def _forgiving(parser: type) -> type:
    """`parser` with each element's handler skipped where it fails: feedparser's handlers
    store an element's value in what its start prepared (the item's `links`, `tags`, the
    feed's `textinput`), and raised KeyError or IndexError where that is not there, as when
    a truncated item ends before its `<link>` does (`</item</link>`) or a `<textinput>`
    sits in an item; the whole feed was lost. So it was where a handler reads a value it
    cannot (ValueError: a GML point whose coordinate system's EPSG code is no number,
    `srsName="EPSG:4326x"`). Such an element's value is left out, the rest of the feed
    read. So too where a handler meets a value its own reading of another gave up on
    (TypeError: a GML polygon whose ring's coordinates are no numbers, `<gml:posList>north
    east</gml:posList>`, read as no ring, whose coordinates were then taken). (A start's
    handler is the last thing `unknown_starttag` does; an end's is `_end_*`
    or `pop`, before `unknown_endtag` closes the element.)"""
    names = ["unknown_starttag", "pop", *(name for name in dir(parser) if name.startswith("_end_"))]
    return type(
        parser.__name__, (parser,), {name: _skipped_where_it_fails(getattr(parser, name)) for name in names}
    )


def _stored_where_begun(parser: Any) -> type:
    """`parser` storing no element's value past the item it began in: feedparser stores a
    value where the parser is at the element's end, so an item's `<title>` left open past
    the item's end (`<title>Ferry</item>`) became the feed's title, with all up to the next
    `</title>` (the next item's link and title). Such a value is left out, and the item's end
    ends it: feedparser read what followed as the open element's text, and the next item was
    lost. So does the next item's start (`<title>Ferry<item>`), which ends the item open, as
    items do not nest: feedparser read the next item as markup in the open title's text."""

    def where(self: Any) -> int:  # the item the parser is in (counted from 1), 0 outside items
        return len(self.entries) if self.inentry else 0

    def push(self: Any, element: str, expecting_text: object) -> None:
        parser.push(self, element, expecting_text)
        self.__dict__.setdefault("begun_in", []).append(where(self))
        if element == "item":  # counted: looking through every element open at each tag cost
            self.items_open = getattr(self, "items_open", 0) + 1  # n² (100,000 nested: 7 minutes)

    def pop(self: Any, element: str, strip_whitespace: int = 1) -> Any:
        if not (self.elementstack and self.elementstack[-1][0] == element):
            return parser.pop(self, element, strip_whitespace)  # not the element open: nothing popped
        if element == "item":
            self.items_open -= 1  # the stack's first step below, whatever fails after it
        if self.begun_in.pop() == where(self):
            return parser.pop(self, element, strip_whitespace)
        places = self.inentry, self.infeed, self.insource
        self.inentry = self.infeed = self.insource = 0  # in no item nor feed, the value is stored nowhere
        try:
            return parser.pop(self, element, strip_whitespace)
        finally:
            self.inentry, self.infeed, self.insource = places

    def left_open_in_item(self: Any) -> bool:  # an item is open, and an element inside it
        return getattr(self, "items_open", 0) > 0 and self.elementstack[-1][0] != "item"

    def unknown_starttag(self: Any, tag: str, attrs: Any) -> Any:
        prefix, _, local = tag.rpartition(":")
        if (
            local in ("item", "entry")
            and not self.namespacemap.get(prefix, prefix)  # an item of the feed's, not of a namespace's
            and left_open_in_item(self)
        ):
            unknown_endtag(self, tag)  # items do not nest: the one open ends, and what it left open
        return parser.unknown_starttag(self, tag, attrs)

    def unknown_endtag(self: Any, tag: str) -> None:
        if tag.rpartition(":")[2] in ("item", "entry") and left_open_in_item(self):
            places = self.inentry, self.infeed, self.insource
            self.inentry = self.infeed = self.insource = 0  # the elements left open are stored nowhere
            try:
                while self.elementstack[-1][0] != "item":
                    self.pop(self.elementstack[-1][0])
            finally:
                self.inentry, self.infeed, self.insource = places
            self.incontent = 0  # no item is inside a content element
            self.contentparams.clear()
        parser.unknown_endtag(self, tag)

    return type(
        parser.__name__,
        (parser,),
        {"push": push, "pop": pop, "unknown_starttag": unknown_starttag, "unknown_endtag": unknown_endtag},
    )


def _loose_where_strict_fails(parser: Any) -> type:
    """The XML `parser` giving way to the lenient one where it cannot read the document:
    Python's XML reader splits an element's name from its namespace's at whitespace, so a
    namespace whose name holds any (a no-break space, `modules/\u00a0content/`) gave the
    feed reader a name of three or more pieces, on which it raised ValueError, and the whole
    feed failed, every round, as an unexpected fault. Such a namespace, or any other fault of
    the XML reader's handlers, is now an XML error at its place (told as the feed's problem),
    and feedparser reads the document with its lenient reader, as it does malformed XML."""

    def start_prefix_mapping(self: Any, prefix: str | None, uri: str) -> None:
        if uri and any(char.isspace() for char in uri):
            raise xml.sax.SAXParseException(
                f"namespace {uri[:80]!r} has whitespace in its name", None, self._locator
            )
        parser.startPrefixMapping(self, prefix, uri)

    def at_its_place(handler: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(handler)
        def handle(self: Any, *args: Any) -> Any:
            try:
                return handler(self, *args)
            except xml.sax.SAXException:
                raise
            except Exception as error:
                raise xml.sax.SAXParseException(
                    f"{type(error).__name__}: {error}", error, self._locator
                ) from None

        return handle

    methods = {
        name: at_its_place(getattr(parser, name)) for name in ("startElementNS", "endElementNS", "characters")
    }
    return type(
        parser.__name__, (parser,), {**methods, "startPrefixMapping": at_its_place(start_prefix_mapping)}
    )


# feedparser.parse builds its parsers from these two names (the package imports its `api`)
feedparser.api.StrictFeedParser = _loose_where_strict_fails(
    _forgiving(_stored_where_begun(feedparser.api.StrictFeedParser))
)
feedparser.api.LooseFeedParser = _forgiving(_stored_where_begun(feedparser.api.LooseFeedParser))


class FeedParseError(Told, ValueError):
    """A document that is no readable feed; the message says what was found."""


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One item of a feed, as the feed tells it."""

    link: str | None
    title: str | None
    published: dt.datetime | None
    """UTC; None when the item carries no (valid) date."""
    content: str | None
    """The full article as HTML, when the feed carries it (`content:encoded`, Atom `content`)."""
    summary: str | None
    id: str | None = None
    """The item's own id (RSS `guid`, Atom `id`), which tells apart items that share a link."""


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """A feed's title and its entries, in the feed's order."""

    title: str | None
    entries: tuple[FeedEntry, ...]
    problem: str | None = None
    """Set when the XML was malformed but entries could still be read (debris without a link
    or a title is left out)."""


def parse_feed(content: bytes, url: str, content_type: str | None = None) -> ParsedFeed:
    """Parse a downloaded feed; relative links resolve against `url`."""
    content, content_type = _charsets_that_decode_no_text_left_out(content, content_type)
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    try:
        parsed = feedparser.parse(content, response_headers=headers, sanitize_html=True)
        first_unreadable = None
    except (OverflowError, ValueError):
        # feedparser's lenient reader, which reads what is not well-formed XML, raises on a
        # reference to no character (`&#99999999999;`, `&#xD800;`): read with U+FFFD there
        content, first_unreadable = _without_references_to_no_character(content)
        if first_unreadable is None:
            raise
        parsed = feedparser.parse(content, response_headers=headers, sanitize_html=True)
    error = parsed.get("bozo_exception")
    # Only broken XML counts; feedparser also flags harmless things, like a wrong declared charset.
    problem = _describe(error) if isinstance(error, xml.sax.SAXException) else None
    if first_unreadable is not None and not _before(error, first_unreadable):  # the first the XML parser met
        line, column = first_unreadable
        problem = f"<unknown>:{line}:{column}: reference to invalid character number"  # as the parser says it
    entries = tuple(entry for entry in map(_entry, parsed.entries) if entry.link or entry.title)
    if not entries and (problem or not parsed.get("version")):
        if _looks_like_html(content):
            found, broken = N_("HTML, not a feed"), N_("HTML, not a feed ({problem})")
        elif parsed.get("version"):
            found = N_("malformed XML: no item could be read")
            broken = N_("malformed XML: no item could be read ({problem})")
        else:
            found, broken = N_("not an RSS or Atom feed"), N_("not an RSS or Atom feed ({problem})")
        raise FeedParseError(broken, problem=problem) if problem else FeedParseError(found)
    title = _text(parsed.feed.get("title"))
    return ParsedFeed(title, entries, problem)


def newest(entries: tuple[FeedEntry, ...], most: int) -> tuple[tuple[FeedEntry, ...], int]:
    """The `most` newest of `entries`, in the feed's order, and how many were left out.

    Newest by the items' dates; an undated item is as old as the dated one above it in the
    feed (the newest, at its top), as feeds list their items newest first. Ties keep the
    feed's order. A feed of 160,000 items must not cost a round 160,000 articles.
    """
    if len(entries) <= most:
        return entries, 0
    chosen = sorted(_newest_first(entries)[:most])
    return tuple(entries[number] for number in chosen), len(entries) - most


def older_than_seen(entries: tuple[FeedEntry, ...], seen: Sequence[bool]) -> tuple[bool, ...]:
    """For each of `entries`, whether it is one not `seen` before that is older than every one
    that was: dated before the oldest of them; or, undated, listed below it (as `newest` reads
    an undated item: as old as the dated one above it). Such an item is the publisher's
    backlog, not news: one a raised `FEED_MAX_ITEMS` lets in, or one that comes up from below
    as the publisher takes newer ones down. A dated item of the same date as the oldest seen
    is not older, wherever it is listed: a publisher may add the day's items at the bottom."""
    ages = _ages(entries)
    rank = {number: place for place, number in enumerate(_newest_first(entries))}
    known = [number for number, was in enumerate(seen) if was]
    if not known:
        return (False,) * len(entries)
    oldest = max(known, key=rank.__getitem__)

    def older(number: int) -> bool:
        if entries[number].published is not None:
            return ages[number] < ages[oldest]
        return rank[number] > rank[oldest]

    return tuple(not was and older(number) for number, was in enumerate(seen))


def _ages(entries: tuple[FeedEntry, ...]) -> list[float]:
    """Each entry's date as a timestamp; an undated one takes the dated one's above it (the
    newest, `inf`, at the top of the feed)."""
    ages: list[float] = []
    above = float("inf")
    for entry in entries:
        if entry.published is not None:
            above = entry.published.timestamp()
        ages.append(above)
    return ages


def _newest_first(entries: tuple[FeedEntry, ...]) -> list[int]:
    """The places of `entries`, newest first; see `newest`."""
    ages = _ages(entries)
    # stable: of equal dates, the first in the feed first
    return sorted(range(len(entries)), key=lambda number: -ages[number])


def discover_feeds(html: bytes, base_url: str) -> list[str]:
    """Feed addresses an HTML page announces (`<link rel="alternate" type="application/rss+xml">`)."""
    try:
        tree = lxml.html.fromstring(html)
    except (ValueError, lxml.etree.ParserError):
        return []
    found = []
    for link in tree.iterfind(".//link"):
        rel = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").lower()
        href = link.get("href")
        if "alternate" in rel and kind in FEED_TYPES[:3] and href:
            found.append(urljoin(base_url, href.strip()))
    return list(dict.fromkeys(found))


def _entry(raw: Any) -> FeedEntry:
    contents = [c.get("value") for c in raw.get("content") or () if c.get("value")]
    return FeedEntry(
        link=_text(raw.get("link")),
        title=_text(raw.get("title")),
        published=_moment(raw),
        content=max(contents, key=len) if contents else None,
        summary=_text(raw.get("summary")),
        id=_text(raw.get("id")),
    )


def _moment(raw: Any) -> dt.datetime | None:
    """The item's date, None if it gives none but a placeholder (`EARLIEST`)."""
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = dict.get(raw, key)  # the plain lookup: feedparser's own maps one key to another
        if value:
            try:
                moment = dt.datetime.fromtimestamp(calendar.timegm(value), dt.UTC)
            except (OverflowError, ValueError, OSError):
                continue
            if moment >= EARLIEST:
                return moment
    return None


def _text(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _looks_like_html(content: bytes) -> bool:
    head = content[:2048].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<html" in head


def _without_references_to_no_character(content: bytes) -> tuple[bytes, tuple[int, int] | None]:
    """`content` with each character reference that names no character (beyond Unicode, or
    a surrogate) made U+FFFD's; and the line and column of the first, counted as the XML
    parser counts them, or None if there was none."""
    first: tuple[int, int] | None = None

    def replace(match: re.Match[bytes]) -> bytes:
        nonlocal first
        decimal, hexadecimal = match.groups()
        digits = (decimal or hexadecimal).lstrip(b"0")
        if len(digits) <= 7:  # else beyond Unicode (and perhaps too long for `int` to read)
            code = int(digits or b"0", 10 if decimal else 16)
            if code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF:
                return match[0]
        if first is None:
            before = content[: match.start()]
            line = before[before.rfind(b"\n") + 1 :]
            first = before.count(b"\n") + 1, len(line.decode("utf-8", "replace"))
        return b"&#xFFFD;"

    return _CHARACTER_REFERENCE.sub(replace, content), first


def _charsets_that_decode_no_text_left_out(
    content: bytes, content_type: str | None
) -> tuple[bytes, str | None]:
    """`content` and its `content_type` without a charset they declare whose codec Python
    knows but decodes no text with (`undefined`, `punycode` on ASCII), nor an XML
    declaration's name that is no UTF-8 (`encoding="\\xff\\xfe"`, no charset's): the feed
    reader passes over a name it does not know, or one whose bytes do not decode, and reads
    the feed as UTF-8 (or by the next name declared), as a browser does; on these it raised."""
    bom, encoding = next(((bom, name) for bom, name in _SNIFFED if content.startswith(bom)), (b"", None))
    if not bom:
        encoding = next((name for marker, name in _MARKERS if content.startswith(marker)), None)
    body = content[len(bom) :]  # what the names are tried on
    if content_type:
        kind, *parameters = content_type.split(";")  # as feedparser reads the header
        charset = [
            value
            for key, _, value in (p.partition("=") for p in parameters)
            if key.strip().lower() == "charset"
        ]
        others = [p for p in parameters if p.partition("=")[0].strip().lower() != "charset"]
        if charset and not _decodes_or_is_passed_over(charset[-1].strip().strip("\"'"), body):
            content_type = ";".join([kind, *others])
        elif charset and encoding in ("utf-16be", "utf-16le") and _codec(charset[-1]) == "utf-16":
            # no byte order mark: the order its first bytes show, where Python reads UTF-16
            # little-endian, and a big-endian feed was "not an RSS or Atom feed"
            content_type = ";".join([kind, *others, f" charset={encoding}"])
    try:
        head = body.decode(encoding).encode("utf-8") if encoding else body
    except UnicodeDecodeError:
        return content, content_type  # nor does feedparser find a declaration then
    declared = _XML_DECLARED_ENCODING.match(head)
    if declared and not _declared_name_is_read(declared[1], body):
        # the encoding its first bytes tell (UTF-16 ...), else none: encoding=""
        head = head[: declared.start(1)] + (encoding or "").encode() + head[declared.end(1) :]
        content = bom + (head.decode("utf-8").encode(encoding) if encoding else head)
    return content, content_type


def _codec(charset: str) -> str | None:
    """The name of the codec Python reads `charset` with (`UTF16` -> `utf-16`); None if none."""
    try:
        return codecs.lookup(charset.strip().strip("\"'")).name
    except (LookupError, ValueError):
        return None


def _declared_name_is_read(name: bytes, content: bytes) -> bool:
    """Whether feedparser reads an XML declaration's encoding `name` without raising: it
    reads the name as UTF-8, strictly, then decodes `content` so or passes the name over."""
    try:
        charset = name.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return _decodes_or_is_passed_over(charset.lower(), content)


def _decodes_or_is_passed_over(charset: str, content: bytes) -> bool:
    """Whether feedparser decodes `content` as `charset`, or passes over the name (one it
    does not know, or one the bytes are not in); not when the codec raises otherwise."""
    try:
        content.decode(charset)
    except (UnicodeDecodeError, LookupError):
        pass
    except Exception:  # UnicodeError: `undefined` decodes nothing, `punycode` only names of hosts
        return False
    return True


def _before(error: object, place: tuple[int, int]) -> bool:
    """Whether the XML parser's `error` is at a line and column before `place`."""
    if not isinstance(error, xml.sax.SAXParseException):
        return False
    return (error.getLineNumber(), error.getColumnNumber()) < place


def _describe(error: object) -> str:
    text = " ".join(str(error).split())[:160]
    return text or type(error).__name__

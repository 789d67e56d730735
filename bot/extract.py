"""A web page -> the article in it: headline, date and paragraphs, with trafilatura. Pure.

trafilatura is the well-kept extractor that separates an article from its page's menus,
adverts and comments, and reads its date from the markup (meta tags, `<time>`, JSON-LD,
the URL) with htmldate. Pages are decoded here, not by guesswork alone: the HTTP
charset first, then the page's own `<meta charset>`, then UTF-8, then detection.
"""

from __future__ import annotations

import codecs
import datetime as dt
import re
from dataclasses import dataclass

import lxml.html
from charset_normalizer import from_bytes
from trafilatura import bare_extraction

from .i18n import N_, Told
from .links import shown_url

__all__ = ["ExtractError", "Extracted", "decode_html", "extract_article", "html_paragraphs"]

MIN_ARTICLE_CHARS = 200
"""Less text than this is a teaser, a login wall or an index page, not an article."""
MAX_ELEMENTS = 50_000
"""A page of more elements than this is no article page, and is not extracted: extraction's
cost grows faster than their number (12,500 paragraphs 0.7 s, 50,000 5.8 s, 200,000 in
5.7 MB 156 s of CPU), where a heavy news page has some thousands."""
_START_TAG = re.compile(r"<[A-Za-z]")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)
_SPACES = re.compile(r"\s+")
_BLOCKS = frozenset(
    "p div section article header footer h1 h2 h3 h4 h5 h6 ul ol li blockquote pre figure figcaption "
    "table tr dl dt dd".split()
)
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t\r\f\v\xa0]*\n")
# Only dates the page declares (meta tags, <time>, JSON-LD, URL), never a guess from its text;
# and no latest date of htmldate's own: it turned a date after the machine's today (tomorrow in
# UTC, already today where the outlet is) into its month's 1st, a fresh story 27 days old. The
# ingest judges what is too far ahead (`_plausible`).
_DATE_OPTIONS = {"extensive_search": False, "original_date": True, "max_date": "2999-12-31"}


class ExtractError(Told, ValueError):
    """A page that holds no article; the message says what was found instead."""


@dataclass(frozen=True, slots=True)
class Extracted:
    """What a page says about its article."""

    title: str | None
    date: dt.date | None
    paragraphs: tuple[str, ...]
    site: str | None = None


def decode_html(content: bytes, charset: str | None = None) -> str:
    """Bytes of a page -> text: the declared charset when it decodes, else the best guess."""
    candidates = [charset] if charset else []
    if content.startswith(codecs.BOM_UTF8):
        candidates.insert(0, "utf-8-sig")
    meta = _META_CHARSET.search(content[:4096])
    if meta:
        candidates.append(meta.group(1).decode("ascii"))
    candidates.append("utf-8")
    for name in candidates:
        try:
            return content.decode(_in_byte_order(name, content))
        except (LookupError, UnicodeError):  # UnicodeError: a codec of no text (`undefined`, `punycode`)
            continue
    guess = from_bytes(content[:200_000]).best()
    return content.decode(guess.encoding if guess else "cp1252", errors="replace")


def _in_byte_order(charset: str, content: bytes) -> str:
    """`utf-16` without a byte order mark as its order, told by where the zero bytes of its
    markup fall: Python reads it little-endian, and a big-endian page (RFC 2781's reading)
    came out as CJK noise with no article in it."""
    try:
        marked = content[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
        if marked or codecs.lookup(charset).name != "utf-16":
            return charset
    except (LookupError, ValueError):  # no such charset: `decode` tells
        return charset
    head = content[:4096]
    return "utf-16-be" if head[0::2].count(0) > head[1::2].count(0) else "utf-16-le"


def extract_article(html: str, url: str) -> Extracted:
    """The article of a page; `ExtractError` when it holds no article text, or too many elements."""
    elements = sum(1 for _ in _START_TAG.finditer(html))
    if elements > MAX_ELEMENTS:
        raise ExtractError(
            N_("the page has {count:,} elements; I read article pages of at most {most:,}"),
            count=elements,
            most=MAX_ELEMENTS,
        )
    document = bare_extraction(
        html,
        url=shown_url(url),  # which names the site by its address where the page does not: no login
        with_metadata=True,
        include_comments=False,
        include_tables=False,
        date_extraction_params=_DATE_OPTIONS,
    )
    text = getattr(document, "text", None) or ""
    title = _clean(getattr(document, "title", None) or "") or None
    paragraphs = [p for p in (_clean(line) for line in text.split("\n")) if p]
    if paragraphs and title and paragraphs[0].casefold() == title.casefold():
        paragraphs = paragraphs[1:]  # the headline repeated as the first line of the text
    if sum(len(p) for p in paragraphs) < MIN_ARTICLE_CHARS:
        raise ExtractError(N_("no article text found on the page"))
    return Extracted(
        title=title,
        date=_date(getattr(document, "date", None)),
        paragraphs=tuple(paragraphs),
        site=_clean(getattr(document, "sitename", None) or "") or None,
    )


def html_paragraphs(fragment: str) -> list[str]:
    """A feed's HTML content -> its paragraphs: block elements and blank lines (`<br><br>`) part them."""
    if not fragment.strip():
        return []
    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (ValueError, lxml.etree.ParserError):
        return [text] if (text := _clean(re.sub(r"<[^>]*>", " ", fragment))) else []
    for element in root.iter():
        if element.tag == "br":
            element.tail = "\n" + _no_controls(element.tail)
        elif element.tag in _BLOCKS:
            element.text = "\n\n" + _no_controls(element.text)
            element.tail = "\n\n" + _no_controls(element.tail)
    text = _no_controls(root.text_content())
    return [p for p in (_clean(part) for part in _PARAGRAPH_BREAK.split(text)) if p]


def _no_controls(text: str | None) -> str:
    """`text` with a space for each control character lxml reads from `&#11;` or `&#27;` but
    refuses to be given back: the whole item was lost (a vertical tab from a word processor)."""
    return _CONTROLS.sub(" ", text or "")


def _clean(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def _date(value: object) -> dt.date | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None

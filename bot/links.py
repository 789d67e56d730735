"""Web addresses as feeds and readers give them: checked, and reduced to one canonical form.

The same article reaches us as `HTTP://Example.com:80/a?utm_source=x#top` from one feed
and `http://example.com/a` from another; the canonical form makes them one key, so it
is fetched and saved once. Only http(s) addresses are ever fetched: a `file://` or
`javascript:` link in a feed must not make the bot read local files or run anything.
Pure functions.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from .i18n import N_, Told

__all__ = [
    "URL_IN_TEXT",
    "LinkError",
    "canonical_url",
    "checked_url",
    "malformed",
    "shown_url",
    "without_tracking",
]

SCHEMES = ("http", "https")
MAX_URL = 2048
# Query parameters that say how a reader arrived, not which article it is.
TRACKING = re.compile(
    r"^(?:utm_\w+|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|igshid|yclid|_hsenc|_hsmi|ref_src|cmpid|ito)$",
    re.IGNORECASE,
)
URL_IN_TEXT = re.compile(r"^\s*((?:[A-Za-z][\w+.-]*://|javascript:|data:|mailto:)\S+)\s*$", re.IGNORECASE)
"""A message that is one address and nothing else (any scheme, so that bad ones get an answer)."""


class LinkError(Told, ValueError):
    """An address that cannot be fetched; the message says why, for the admin who sent it."""


_PARSERS_WORDS = (  # why a URL parser (urllib's, httpx's) refused an address, as it says it
    (re.compile(r"Invalid IPv[46] address: (.*)"), N_("{host} is not a valid IP address")),
    (
        re.compile(r"(.*) does not appear to be an IPv4 or IPv6 address"),
        N_("{host} is not a valid IP address"),
    ),
    (re.compile(r"Invalid IDNA hostname: (.*)"), N_("{host} is not a valid host name")),
    (
        re.compile(r"netloc (.*) contains invalid characters under NFKC normalization"),
        N_("{host} is not a valid host name"),
    ),
    (re.compile(r"Invalid IPv6 URL"), N_("the address has an unclosed [")),
    (re.compile(r"Invalid port.*"), N_("the address has an invalid port")),
    (re.compile(r"URL (?:component '\w+' )?too long"), N_("the address is too long")),
    (re.compile(r"Invalid URL component '\w+'"), N_("the address contains spaces or control characters")),
)


def malformed(reason: str) -> LinkError:
    """Why a URL parser refused an address, as the admin is told it: the parser's English,
    which a Ukrainian admin got inside their sentence, read for its kind and the host it names."""
    for words, text in _PARSERS_WORDS:
        if found := words.fullmatch(reason):
            return LinkError(text, host=found[1]) if words.groups else LinkError(text)
    return LinkError(N_("the address is malformed"))


def checked_url(text: str) -> str:
    """The address in `text`, stripped, if it is an http(s) URL with a host; else `LinkError`."""
    url = text.strip().strip("<>")
    if not url:
        raise LinkError(N_("no address given"))
    if len(url) > MAX_URL:
        raise LinkError(
            N_("the address is {length:,} characters long; at most {most:,} are accepted"),
            length=len(url),
            most=MAX_URL,
        )
    if any(ord(char) < 33 for char in url):
        raise LinkError(N_("the address contains spaces or control characters"))
    try:
        parts = urlsplit(url)
    except ValueError as error:  # an unclosed `[` of an IPv6 address, or no address in it
        raise malformed(str(error)) from None
    scheme = parts.scheme.lower()
    if not scheme or (not parts.netloc and scheme not in SCHEMES and "." in scheme):
        raise LinkError(N_("the address does not start with http:// or https://"))
    if scheme not in SCHEMES:
        raise LinkError(
            N_("only http:// and https:// addresses can be fetched, not {scheme}:"), scheme=scheme
        )
    try:
        hostname, _ = parts.hostname, parts.port  # the port is checked when read
    except ValueError:
        raise LinkError(N_("the address has an invalid port")) from None
    if not hostname:
        raise LinkError(N_("the address has no host name"))
    try:
        hostname.encode("idna")
    except UnicodeError:  # an empty label (a doubled dot) or one of over 63 letters
        raise LinkError(N_("{host} is not a valid host name"), host=repr(hostname)) from None
    return url


def canonical_url(url: str) -> str:
    """One spelling per address: lower-case scheme and host, no login, default port, fragment
    or tracking parameters, the other parameters sorted, the path's escapes normalised."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if ":" in host:  # IPv6
        host = f"[{host}]"
    port = parts.port
    if port is not None and (scheme, port) not in (("http", 80), ("https", 443)):
        host = f"{host}:{port}"
    path = quote(unquote(parts.path), safe="/:@!$&'()*+,;=-._~") or "/"
    query = sorted(
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if not TRACKING.match(key)
    )
    return urlunsplit((scheme, host, path, urlencode(query), ""))


def shown_url(url: str) -> str:
    """The address an article is saved and shown with: `url` less its tracking parameters
    (`without_tracking`) and any user name and password in it. A link to a newsroom's own
    system, its login in the address, was shown with it to every reader the article answered;
    the page is still fetched with it."""
    url = without_tracking(url)
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def without_tracking(url: str) -> str:
    """`url` as its publisher wrote it, less the query parameters that say how a reader arrived
    (`utm_source`, `fbclid`, `gclid`, `mc_cid` ...: `TRACKING`). The other parameters, their
    order and escapes, and the fragment stay as they were; `canonical_url` reads the two alike."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    kept = [piece for piece in parts.query.split("&") if not TRACKING.match(unquote(piece.partition("=")[0]))]
    return urlunsplit(parts._replace(query="&".join(kept)))

"""Downloading feeds and pages politely, within bounds.

Publishers are paced (one request at a time per host, `host_delay` seconds apart, each host
a download's redirects reach in its own turn) and told who is asking (a descriptive
User-Agent); a feed that has not changed costs them a 304 thanks to conditional GET (ETag /
Last-Modified). Every download has a deadline for the whole transfer (its redirects
included), not only between bytes, and a size cap checked while reading, so a slow drip or
a 50 MB answer cannot stall or swamp a round. The cap holds for the decompressed bytes, and
inflating stops there: a few kilobytes of gzip can inflate to gigabytes in one step (httpx
inflates a whole chunk, and each of stacked encodings, before anyone can count the bytes).
Failures come back as `FetchError` with a short reason that a log line or an admin can read.

Every request, redirects included, goes to public addresses only, unless their network is
one the operator allows (`private_networks`): see `bot.addresses`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Literal
from urllib.parse import urlsplit

import h11
import httpx

from .addresses import AddressRefused, HostNotResolved, PublicOnlyTransport, parse_networks
from .i18n import N_, Told
from .links import LinkError, checked_url, malformed

__all__ = ["FetchError", "FetchOptions", "Fetcher", "Page"]

DEFAULT_USER_AGENT = "newsbot/0.1 (news feed reader for a Telegram question-answering bot)"
ACCEPT_ENCODING = "gzip, deflate"
"""The content codings `_Inflater` reads, one at a time."""
_LEFT_FOR_NEXT_ROUND = N_("left for the next round, this one's time being up")
FailureKind = Literal["status", "timeout", "too_large", "redirects", "network", "address", "deferred"]


@dataclass(frozen=True, slots=True)
class FetchOptions:
    """How to download: deadline, size cap, pace per host, identity."""

    timeout: float = 20.0
    max_bytes: int = 10_000_000
    host_delay: float = 1.0
    user_agent: str = DEFAULT_USER_AGENT
    max_redirects: int = 5
    concurrency: int = 8
    """Downloads in flight at once, over all hosts."""
    private_networks: tuple[str, ...] = ()
    """Networks fetched from although not public (`10.20.0.0/16`): an intranet's feeds."""


@dataclass(frozen=True, slots=True)
class Page:
    """A successful download: the final address (after redirects), its bytes and headers."""

    url: str
    content: bytes
    media_type: str
    """`text/html`, `application/rss+xml`, ... lower-cased, without parameters."""
    charset: str | None
    etag: str | None = None
    last_modified: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


class FetchError(Told):
    """A download that failed; `str()` is a short reason such as `404 Not Found`."""

    def __init__(
        self, reason: str, kind: FailureKind, status: int | None = None, /, **values: object
    ) -> None:
        super().__init__(reason, **values)
        self.kind = kind
        self.status = status


class Fetcher:
    """An HTTP client for one round of downloads; use it as an async context manager."""

    def __init__(self, options: FetchOptions | None = None) -> None:
        self.options = options or FetchOptions()
        self._client: httpx.AsyncClient | None = None
        self._hosts: dict[str, tuple[asyncio.Lock, list[float]]] = {}
        self._slots = asyncio.Semaphore(self.options.concurrency)

    async def __aenter__(self) -> Fetcher:
        options = self.options
        transport = PublicOnlyTransport(
            parse_networks(options.private_networks),
            limits=httpx.Limits(max_connections=options.concurrency),
        )
        self._client = httpx.AsyncClient(
            follow_redirects=False,  # followed by `get`, each host in its turn
            timeout=httpx.Timeout(options.timeout),
            headers={"User-Agent": options.user_agent},
            transport=transport,
            event_hooks={"response": [_refuse_other_schemes]},
        )
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def get(
        self,
        url: str,
        *,
        accept: str,
        etag: str | None = None,
        last_modified: str | None = None,
        deadline: float | None = None,
    ) -> Page | None:
        """Download `url`; None when the server says it has not changed since `etag` or `last_modified` (304).

        A download whose turn (its host's, or a free slot) comes past `deadline` (monotonic
        time) is not started, and one still going then is cancelled: `FetchError` of kind
        "deferred" either way. A site trickling a page in held a round past its time.
        """
        try:
            checked_url(url)
            address = _readable(url)
        except LinkError as error:
            raise FetchError(error.text, "address", **error.values) from None
        headers = {"Accept": accept, "Accept-Encoding": ACCEPT_ENCODING}
        # a validator outside ASCII (a Last-Modified in the server's locale) cannot be sent:
        # the feed is read whole instead, where sending it failed this read and every later one
        if etag and etag.isascii():
            headers["If-None-Match"] = etag
        if last_modified and last_modified.isascii():
            headers["If-Modified-Since"] = last_modified
        ends: float | None = None  # when the whole download, over all its redirects, is late
        for _ in range(self.options.max_redirects + 1):
            # each host it reaches in its turn: only the first one's was kept, and a redirect
            # to another reached it at once, beside that host's own requests
            queued = time.monotonic()
            async with self._turn(address.raw_host.decode("ascii"), deadline):
                now = time.monotonic()  # the time spent waiting for a turn is not the site's
                ends = now + self.options.timeout if ends is None else ends + (now - queued)
                try:
                    got = await self._get(address, headers, ends if deadline is None else min(ends, deadline))
                except FetchError as error:
                    if error.kind == "timeout" and deadline is not None and time.monotonic() >= deadline:
                        raise FetchError(_LEFT_FOR_NEXT_ROUND, "deferred") from None
                    raise
            if not isinstance(got, httpx.URL):
                return got
            address = got  # a redirect: its host's lock was let go before the next one's is taken
        raise FetchError(
            N_("more than {count} redirects (a loop?)"), "redirects", count=self.options.max_redirects
        )

    @contextlib.asynccontextmanager
    async def _turn(self, host: str, deadline: float | None) -> AsyncIterator[None]:
        """Wait for `host`'s turn, and a free slot: one request at a time per host, `host_delay` apart."""
        lock, last = self._hosts.setdefault(host, (asyncio.Lock(), [0.0]))
        async with lock:
            _in_time(deadline)
            wait = last[0] + self.options.host_delay - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            async with self._slots:  # taken only to download, never to wait for a host
                _in_time(deadline)
                try:
                    yield
                finally:
                    last[0] = time.monotonic()

    async def _get(self, url: httpx.URL, headers: dict[str, str], ends: float) -> Page | httpx.URL | None:
        """One request: the page, None for "not changed", or the address it redirects to.
        `ends`: the monotonic time by which the whole download, its redirects included, is done."""
        assert self._client is not None, "use the Fetcher in `async with`"
        limit = self.options.max_bytes
        response: httpx.Response | None = None  # set once the site answered: its body is read then
        try:
            async with asyncio.timeout(ends - time.monotonic()):
                async with self._client.stream("GET", url, headers=headers) as response:
                    if response.next_request is not None:  # a redirect, checked (`_refuse_other_schemes`)
                        return response.next_request.url
                    if response.status_code == 304 and (
                        "If-None-Match" in headers or "If-Modified-Since" in headers
                    ):
                        return None  # else a broken cache's answer, a failure as any other status
                    if not response.is_success:
                        reason = f"{response.status_code} {response.reason_phrase}".strip()
                        raise FetchError(reason, "status", response.status_code)  # as the server says it
                    declared = response.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > limit:
                        raise FetchError(
                            N_("{size:,} bytes, over the {limit:,}-byte limit"),
                            "too_large",
                            size=int(declared),
                            limit=limit,
                        )
                    inflater = _Inflater(response.headers.get("content-encoding", ""), limit)
                    chunks = [inflater.feed(chunk) async for chunk in response.aiter_raw()]
                    chunks.append(inflater.finish())
                    content_type = response.headers.get("content-type", "")
                    return Page(
                        url=str(response.url),
                        content=b"".join(chunks),
                        media_type=content_type.split(";")[0].strip().lower(),
                        charset=response.charset_encoding,
                        etag=response.headers.get("etag"),
                        last_modified=response.headers.get("last-modified"),
                        headers=dict(response.headers),
                    )
        except AddressRefused as error:
            if error.named_by_address:
                raise FetchError(
                    N_(
                        "refused: {address} is a {kind} address, not a public one"
                        " (FEED_PRIVATE_NETWORKS lists networks to allow)"
                    ),
                    "address",
                    address=error.address,
                    kind=error.kind,
                ) from None
            raise FetchError(
                N_(
                    "refused: {host} resolves to {address}, a {kind} address, not a public one"
                    " (FEED_PRIVATE_NETWORKS lists networks to allow)"
                ),
                "address",
                host=error.host,
                address=error.address,
                kind=error.kind,
            ) from None
        except HostNotResolved as error:
            raise FetchError(error.reason.text, "network", **error.reason.values) from None
        except TimeoutError:
            raise FetchError(
                N_("no complete answer within {seconds:g} s"), "timeout", seconds=self.options.timeout
            ) from None
        except httpx.TimeoutException:
            raise FetchError(
                N_("no answer within {seconds:g} s"), "timeout", seconds=self.options.timeout
            ) from None
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            raise _network_failure(error, _cut_short(response)) from None


def _readable(url: str) -> httpx.URL:
    """`url` as httpx reads it to fetch it, or `LinkError` naming the fault in the admin's
    language: httpx said it in its own English (a host it reads no address in, 999.1.1.1),
    and raised UnicodeError, which no one caught, on a host with a label in the form of an
    IDNA name that decodes to none (`xn--a`)."""
    try:
        address = httpx.URL(url)
        _ = address.host  # decoded to make the request: a label `xn--a` decodes to nothing
    except httpx.InvalidURL as error:
        raise malformed(str(error)) from None
    except UnicodeError:  # idna.IDNAError
        raise LinkError(N_("{host} is not a valid host name"), host=repr(urlsplit(url).hostname)) from None
    return address


async def _refuse_other_schemes(response: httpx.Response) -> None:
    """Refuse a redirect to an address that is not http(s), or that httpx cannot read, as its
    answer comes: httpx looked up the host of an `ftp://` one before refusing it (a host that
    does not resolve was told instead), and refused a `mailto:` one, or one with a host it
    reads no address in (`http://999.1.1.1/`), as a malformed URL in its own English
    (`checked_url` took the link's own scheme)."""
    location = response.headers.get("location") if response.is_redirect else None
    if not location:
        return
    try:
        scheme = urlsplit(location).scheme.lower()
        if scheme in ("http", "https", ""):  # "": relative, to the same host
            _readable(location)
    except (ValueError, LinkError):  # LinkError is a ValueError too
        raise FetchError(
            N_("redirected to a malformed address ({address})"), "address", address=location[:200]
        ) from None
    if scheme not in ("http", "https", ""):
        raise FetchError(
            N_("redirected to a {scheme}: address, and only http:// and https:// addresses can be fetched"),
            "address",
            scheme=scheme,
        )


_CODINGS = ("gzip", "x-gzip", "deflate")
_UNREAD_CODINGS = ("br", "zstd", "compress", "x-compress")
"""Compressions a server may send although not asked for them: their bytes are no page."""


class _Inflater:
    """A response's raw bytes -> its content, `limit` bytes at most, whatever the coding.

    Each step inflates at most one byte past what is left of `limit`, so a compression
    bomb costs no more memory than an honest page of the limit's size.
    """

    def __init__(self, encoding: str, limit: int) -> None:
        named = [c.strip().lower() for c in encoding.split(",")]
        if unread := next((c for c in named if c in _UNREAD_CODINGS), None):
            # unasked for (ACCEPT_ENCODING): read as they are, a brotli page was "no article
            # text found on the page", a brotli feed "malformed XML"
            raise FetchError(
                N_("served in the {encoding} encoding, which I do not read"), "network", encoding=unread
            )
        # as httpx does, a coding it does not know (`utf-8`, `none`: misconfigured servers) is ignored
        codings = [c for c in named if c in _CODINGS]
        if len(codings) > 1:
            raise FetchError(
                N_("served in stacked encodings, which I do not read ({encoding})"),
                "network",
                encoding=encoding.strip(),
            )
        self.coding = codings[0] if codings else None
        # gzip and zlib headers are told apart by zlib itself (32); raw deflate is tried on failure
        self._inflate = zlib.decompressobj(zlib.MAX_WBITS | 32) if self.coding else None
        self._raw_deflate = self.coding == "deflate"
        self._started = False
        self.limit = limit
        self.size = 0

    def feed(self, data: bytes) -> bytes:
        """The content in the next raw chunk; `FetchError` once the whole is over the limit."""
        if self._inflate is not None:
            data = self._decompress(data)
        return self._count(data)

    def finish(self) -> bytes:
        """What the decompressor still holds at the end of the response."""
        if self._inflate is None:
            return b""
        try:
            return self._count(self._inflate.flush())
        except zlib.error as error:
            raise FetchError(
                N_("broken {coding} content: {error}"), "network", coding=self.coding, error=error
            ) from None

    def _decompress(self, data: bytes) -> bytes:
        assert self._inflate is not None
        room = self.limit - self.size + 1  # one byte past the limit tells that it is over
        try:
            out = self._inflate.decompress(data, room)
        except zlib.error as error:
            if not (self._raw_deflate and not self._started):
                raise FetchError(
                    N_("broken {coding} content: {error}"), "network", coding=self.coding, error=error
                ) from None
            self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)  # "deflate" sent without its zlib header
            self._raw_deflate = False
            return self._decompress(data)
        self._started = True
        return out

    def _count(self, data: bytes) -> bytes:
        self.size += len(data)
        if self.size > self.limit:
            raise FetchError(N_("over the {limit:,}-byte limit"), "too_large", limit=self.limit)
        return data


def _in_time(deadline: float | None) -> None:
    if deadline is not None and time.monotonic() >= deadline:
        raise FetchError(_LEFT_FOR_NEXT_ROUND, "deferred")


def _cut_short(response: httpx.Response | None) -> bool | None:
    """Whether a failure while reading an answer's body left the body short of what its head
    announced: its Content-Length, or chunks (which end only with an empty one); None when no
    answer had come (the failure came before its head was read)."""
    if response is None:
        return None
    if "chunked" in response.headers.get("transfer-encoding", "").lower():
        return True
    declared = response.headers.get("content-length", "")
    return declared.isdigit() and response.num_bytes_downloaded < int(declared)


def _network_failure(error: Exception, cut_short: bool | None = None) -> FetchError:
    """A connection's failure as the admin is told it: the common ones in their language,
    any other as the library says it. A site that answered against HTTP (a Content-Length
    that is no number) is told so, not as one that could not be reached. Told apart by what
    happened (`cut_short`: see `_cut_short`) and by the exceptions' types, never by the
    HTTP library's words, which a release may change."""
    causes: list[BaseException] = []
    cause: BaseException | None = error
    while cause is not None and len(causes) < 10:
        causes.append(cause)
        cause = cause.__cause__ or cause.__context__
    for cause in causes:
        if isinstance(cause, ssl.SSLCertVerificationError):  # its reason as OpenSSL words it
            why = cause.verify_message or _one_line(cause)
            return FetchError(
                N_("cannot connect: the site's certificate is not valid ({error})"), "network", error=why
            )
        if isinstance(cause, ConnectionRefusedError):
            return FetchError(N_("cannot connect: the site refused the connection"), "network")
        if isinstance(cause, ConnectionResetError):
            return FetchError(N_("the site broke off the connection"), "network")
    if isinstance(error, httpx.RemoteProtocolError):  # connected, and answered against HTTP
        # no HTTP parser's fault under it: httpcore's own, the connection ended before any answer
        if cut_short is None and not any(isinstance(cause, h11.RemoteProtocolError) for cause in causes):
            return FetchError(N_("the site closed the connection without answering"), "network")
        if cut_short:
            return FetchError(N_("the site broke off the connection"), "network")
        return FetchError(N_("the site sent a malformed answer ({error})"), "network", error=_one_line(error))
    return FetchError(N_("cannot connect: {error}"), "network", error=_one_line(error))


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())[:200] or type(error).__name__

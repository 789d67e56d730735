"""A small news site on 127.0.0.x serving the feeds and pages a test writes, faults included.

Paths answer what `put` stored (with an ETag, honouring conditional GET), or a planned
fault: a status, a delay, a redirect, an endless body, a drip. Every request is recorded, so a
test can check the User-Agent, the validators sent and the pace per host. Builders
write RSS, Atom and article pages with text made from a seed, so every article differs.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import html
import random
import ssl
import time
from dataclasses import dataclass, field
from email.utils import format_datetime

from aiohttp import web

HTML = "text/html; charset=utf-8"
RSS = "application/rss+xml"
WORDS = (
    "minister harbour council river election ferry budget strike grain talks vote court bridge "
    "storm museum festival airport treaty school hospital market union police mayor rail port "
    "energy drought harvest coast summit parliament opposition ceasefire refugees inflation "
    "tariff satellite vaccine flood wildfire protest merger lawsuit pipeline reactor"
).split()


@dataclass
class Resource:
    """What one path answers."""

    body: bytes = b""
    content_type: str = HTML
    status: int = 200
    reason: str | None = None
    """The status line's words, when not the usual ones (`404 Not Found`)."""
    delay: float = 0.0
    """Seconds to wait before answering (a slow server)."""
    redirect: str | None = None
    endless: bool = False
    """Stream zeros until the client gives up (a huge response)."""
    drip: float = 0.0
    """Seconds between the bytes of a body sent one at a time (a slow drip, each byte in time)."""
    etag: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    gate: asyncio.Event | None = None
    """Answer only once this is set (a test acts while the request is held)."""


@dataclass
class Request:
    """One request the site received."""

    path: str
    headers: dict[str, str]
    at: float = field(default_factory=time.monotonic)


class Newsroom:
    """The site; `url(path)` is the address of a path on it."""

    def __init__(self, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> None:
        self.host = host
        self.tls = tls
        """With a server context, the site speaks https."""
        self.port = 0
        self.resources: dict[str, Resource] = {}
        self.requests: list[Request] = []
        self._runner: web.AppRunner | None = None

    async def start(self) -> Newsroom:
        app = web.Application()
        app.router.add_route("GET", "/{path:.*}", self._handle)
        # a client that gives up cancels its (slow) request, so stopping never waits for one
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0, ssl_context=self.tls)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def url(self, path: str, host: str | None = None) -> str:
        """The address of `path` on this site (by another name for it, with `host`)."""
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{host or self.host}:{self.port}/{path.lstrip('/')}"

    def put(self, path: str, body: bytes | str, content_type: str = HTML, **kw: object) -> str:
        """Serve `body` at `path` (with an ETag made from it); return its URL."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        etag = '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
        self.resources[path.lstrip("/")] = Resource(data, content_type, etag=etag, **kw)  # type: ignore[arg-type]
        return self.url(path)

    def fault(self, path: str, **kw: object) -> str:
        """Make `path` answer with a fault (status, delay, redirect, endless, drip); return its URL."""
        self.resources[path.lstrip("/")] = Resource(**kw)  # type: ignore[arg-type]
        return self.url(path)

    def remove(self, path: str) -> None:
        """Make `path` a 404 from now on."""
        self.resources.pop(path.lstrip("/"), None)

    def hits(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path.lstrip("/")]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        self.requests.append(Request(path, dict(request.headers)))
        resource = self.resources.get(path)
        if resource is None:
            return web.Response(status=404, text="not found")
        if resource.delay:
            await asyncio.sleep(resource.delay)
        if resource.gate is not None:
            await resource.gate.wait()
        if resource.redirect is not None:
            raise web.HTTPFound(resource.redirect)
        if resource.endless:
            response = web.StreamResponse(headers={"Content-Type": resource.content_type})
            await response.prepare(request)
            chunk = b"\0" * 65536
            try:
                for _ in range(2000):  # 128 MB at most: bounded, whoever stops reading
                    await response.write(chunk)
            except (ConnectionResetError, RuntimeError):
                pass
            return response
        if resource.drip:
            response = web.StreamResponse(headers={"Content-Type": resource.content_type})
            await response.prepare(request)
            for _ in range(400):  # bounded, whoever stops reading
                await asyncio.sleep(resource.drip)
                await response.write(b" ")
            return response
        if resource.etag and request.headers.get("If-None-Match") == resource.etag:
            return web.Response(status=304, headers={"ETag": resource.etag})
        headers = {"Content-Type": resource.content_type, **resource.headers}
        if resource.etag:
            headers["ETag"] = resource.etag
        return web.Response(
            status=resource.status, reason=resource.reason, body=resource.body, headers=headers
        )


def paragraphs(seed: str, count: int = 4, words: int = 45) -> list[str]:
    """Plausible, distinct news paragraphs made from `seed`."""
    chooser = random.Random(seed)
    made = []
    for _ in range(count):
        sentence = [chooser.choice(WORDS) for _ in range(words)]
        made.append(" ".join(sentence).capitalize() + ".")
    return made


def article_page(
    title: str,
    body: list[str],
    date: dt.date | None = None,
    charset: str = "utf-8",
    furniture: str = "",
) -> bytes:
    """A news page: menus and a footer around an `<article>` with a headline and paragraphs.

    `furniture` is more HTML after the footer (sidebars, scripts), to make the page as heavy as real ones.
    """
    meta = f'<meta property="article:published_time" content="{date.isoformat()}">' if date else ""
    paras = "".join(f"<p>{html.escape(p)}</p>" for p in body)
    page = (
        f'<!DOCTYPE html><html><head><meta charset="{charset}"><title>{html.escape(title)} | Daily</title>'
        f"{meta}</head><body><nav><a href='/'>Home</a> <a href='/world'>World</a></nav>"
        f"<article><h1>{html.escape(title)}</h1>{paras}</article>"
        f"<footer>Subscribe to our newsletter. All rights reserved.</footer>{furniture}</body></html>"
    )
    return page.encode(charset)


@dataclass(frozen=True)
class Item:
    """A feed item to write: a link and what the feed says about it."""

    title: str
    link: str
    date: dt.datetime | None = None
    summary: str = "A short teaser."
    content: str | None = None
    """Full article HTML (`content:encoded` / Atom `content`), or None for summary only."""
    guid: str | None = None
    """The item's id (RSS `guid`, not a permalink; Atom `id`, where the link stands in without one)."""


def rss(title: str, items: list[Item]) -> bytes:
    """An RSS 2.0 feed."""
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>',
        f"<title>{html.escape(title)}</title><link>http://example.invalid/</link>",
    ]
    for item in items:
        parts.append(f"<item><title>{html.escape(item.title)}</title>")
        if item.link:
            parts.append(f"<link>{html.escape(item.link)}</link>")
        if item.guid:
            parts.append(f'<guid isPermaLink="false">{html.escape(item.guid)}</guid>')
        if item.date:
            parts.append(f"<pubDate>{format_datetime(item.date)}</pubDate>")
        parts.append(f"<description>{html.escape(item.summary)}</description>")
        if item.content:
            parts.append(f"<content:encoded>{html.escape(item.content)}</content:encoded>")
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "".join(parts).encode("utf-8")


def hostile_feed(items: int = 50_000) -> bytes:
    """A document of `items` items and nothing a feed has (no RSS or Atom root, no item with a
    title or a link): 50,000 (3.5 MB, within `FEED_MAX_BYTES`) take feedparser some 6 s of CPU
    on a 2-core machine to find it is "not an RSS or Atom feed"."""
    item = "<item><description>&lt;p&gt;Story {}&lt;/p&gt;</description></item>"
    body = "".join(item.format(n) for n in range(items))
    return f"<data>{body}</data>".encode()


def atom(title: str, items: list[Item]) -> bytes:
    """An Atom 1.0 feed."""
    parts = [
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">',
        f"<title>{html.escape(title)}</title><id>urn:feed</id><updated>2024-05-01T00:00:00Z</updated>",
    ]
    for item in items:
        parts.append(
            f'<entry><title>{html.escape(item.title)}</title><link href="{html.escape(item.link)}"/>'
            f"<id>{html.escape(item.guid or item.link)}</id>"
        )
        if item.date:
            parts.append(f"<updated>{item.date.isoformat()}</updated>")
        parts.append(f"<summary>{html.escape(item.summary)}</summary>")
        if item.content:
            parts.append(f'<content type="html">{html.escape(item.content)}</content>')
        parts.append("</entry>")
    parts.append("</feed>")
    return "".join(parts).encode("utf-8")

"""Fetching from public addresses only: which addresses are public, and the transport that keeps to them.

Every refusal here happens before a connection is made, so the private addresses named
are only ever judged, never contacted; the sites fetched from run on 127.0.0.x.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import trustme

from bot.addresses import (
    Address,
    HostNotResolved,
    PublicOnlyTransport,
    not_public,
    parse_networks,
    refusal,
    resolve_host,
)
from bot.fetching import Fetcher, FetchError, FetchOptions
from bot.i18n import translations
from bot.settings import SettingsError, load_settings
from fakes.newsroom import Newsroom, article_page, paragraphs
from tests.conftest import LOCAL_NETWORKS

ONLY_PUBLIC = FetchOptions(timeout=5.0, host_delay=0.0)
PAGE = article_page("Harbour reopens", paragraphs("harbour"))


@pytest.fixture
async def other_site() -> AsyncIterator[Newsroom]:
    """A second site, on 127.0.0.2: the one a test allows, while 127.0.0.1 stays refused."""
    newsroom = await Newsroom("127.0.0.2").start()
    yield newsroom
    await newsroom.stop()


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fc00::1", "private"),  # unique local
        ("169.254.169.254", "link-local"),  # a cloud's metadata service
        ("fe80::1", "link-local"),
        ("0.0.0.0", "wildcard"),
        ("::", "wildcard"),
        ("224.0.0.1", "multicast"),  # Python calls it global
        ("ff02::1", "multicast"),
        ("240.0.0.1", "private"),  # reserved for future use
        ("100.64.0.1", "special-purpose"),  # carrier-grade NAT: neither private nor global
        ("192.0.2.1", "private"),  # documentation
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped: the IPv4 address it reaches
        ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1, which Python calls global
        ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 of 169.254.169.254
        ("::7f00:1", "reserved"),  # the old IPv4-compatible form of 127.0.0.1
        ("8.8.8.8", None),
        ("93.184.216.34", None),
        ("2606:4700::1111", None),
        ("::ffff:8.8.8.8", None),
    ],
)
def test_not_public_names_what_each_address_is(address: str, kind: str | None) -> None:
    assert not_public(ipaddress.ip_address(address)) == kind


def addresses(*texts: str) -> list[Address]:
    return [ipaddress.ip_address(text) for text in texts]


def test_a_host_with_any_address_that_is_not_public_is_refused_unless_its_network_is_allowed() -> None:
    mixed = addresses("8.8.8.8", "10.0.0.7")  # a public name that also points inside
    assert (
        refusal("news.example", mixed, ())
        == "news.example resolves to 10.0.0.7, a private address, not a public one"
    )
    assert refusal("news.example", mixed, parse_networks("10.0.0.0/24")) is None
    assert refusal("127.0.0.1", addresses("127.0.0.1"), parse_networks("10.0.0.0/8")) == (
        "127.0.0.1 is a loopback address, not a public one"
    )
    assert refusal("[::1]", addresses("::1"), ()) == "::1 is a loopback address, not a public one"
    assert refusal("0.0.0.0", addresses("0.0.0.0"), ()) == "0.0.0.0 is a wildcard address, not a public one"
    assert refusal("news.example", addresses("8.8.8.8", "2606:4700::1111"), ()) is None


def test_networks_are_read_from_a_comma_separated_setting() -> None:
    assert parse_networks(" 10.20.0.0/16, 192.168.1.7,,::1 ") == (
        ipaddress.ip_network("10.20.0.0/16"),
        ipaddress.ip_network("192.168.1.7/32"),
        ipaddress.ip_network("::1/128"),
    )
    assert load_settings(_env_file=None, feed_private_networks="10.0.0.0/8").feed_private_networks == (
        ipaddress.ip_network("10.0.0.0/8"),
    )
    with pytest.raises(SettingsError, match=r"FEED_PRIVATE_NETWORKS: .*'intranet' is no network"):
        load_settings(_env_file=None, feed_private_networks="10.0.0.0/8,intranet")


def test_by_default_no_network_is_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FEED_PRIVATE_NETWORKS")
    assert load_settings(_env_file=None).feed_private_networks == ()


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_a_private_address_is_refused_before_connecting(site: Newsroom, host: str) -> None:
    site.put("page.html", PAGE)
    async with Fetcher(ONLY_PUBLIC) as fetcher:
        with pytest.raises(
            FetchError, match=r"^refused: .*(127\.0\.0\.1|::1),? (is )?a loopback address"
        ) as refused:
            await fetcher.get(site.url("page.html", host=host), accept="text/html")
    assert refused.value.kind == "address"
    assert site.requests == []  # never contacted


async def test_a_redirect_to_a_private_address_is_refused_before_it_is_followed(
    site: Newsroom, other_site: Newsroom
) -> None:
    secret = site.put("secret.html", PAGE)
    other_site.fault("story.html", redirect=secret)
    allowed = FetchOptions(timeout=5.0, host_delay=0.0, private_networks=("127.0.0.2",))
    async with Fetcher(allowed) as fetcher:
        with pytest.raises(FetchError, match=r"^refused: 127\.0\.0\.1 is a loopback address"):
            await fetcher.get(other_site.url("story.html"), accept="text/html")
    assert len(other_site.hits("story.html")) == 1 and site.requests == []


async def test_a_request_goes_to_the_address_that_was_checked_under_its_own_host_name(
    other_site: Newsroom,
) -> None:
    other_site.put("page.html", PAGE)
    lookups: list[str] = []

    async def resolve(host: str, port: int) -> list[Address]:
        lookups.append(host)
        return addresses("127.0.0.2")  # where the system would say 127.0.0.1, where nothing listens

    url = other_site.url("page.html", host="localhost")
    transport = PublicOnlyTransport(parse_networks(LOCAL_NETWORKS), resolve=resolve)
    async with httpx.AsyncClient(transport=transport) as client:
        response = await client.get(url)
    assert response.status_code == 200 and response.content == PAGE
    assert str(response.url) == url  # the caller sees the name, not the address
    assert other_site.requests[-1].headers["Host"] == f"localhost:{other_site.port}"
    assert lookups == ["localhost"]  # looked up once, by the check; the connection made no lookup of its own


async def test_https_to_the_checked_address_still_checks_the_certificate_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    authority = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("localhost").configure_cert(server)
    authority.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))  # trusted as a public CA would be
    secure = await Newsroom(tls=server).start()
    try:
        secure.put("page.html", PAGE)
        options = FetchOptions(timeout=5.0, host_delay=0.0, private_networks=LOCAL_NETWORKS)
        async with Fetcher(options) as fetcher:
            page = await fetcher.get(secure.url("page.html", host="localhost"), accept="text/html")
            assert page is not None and page.content == PAGE
            with pytest.raises(FetchError, match="certificate is not valid"):  # issued to localhost only
                await fetcher.get(secure.url("page.html"), accept="text/html")
    finally:
        await secure.stop()


async def test_feeds_are_fetched_directly_whatever_proxy_the_environment_names(
    site: Newsroom, other_site: Newsroom, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a proxy would resolve the names itself, out of reach of the check of each address
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.setenv(name, f"http://127.0.0.2:{other_site.port}")
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    site.put("page.html", PAGE)
    options = FetchOptions(timeout=5.0, host_delay=0.0, private_networks=LOCAL_NETWORKS)
    async with Fetcher(options) as fetcher:
        page = await fetcher.get(site.url("page.html"), accept="text/html")
    assert page is not None and page.content == PAGE
    assert len(site.hits("page.html")) == 1 and other_site.requests == []


async def test_host_lookups_that_hang_hold_none_of_the_threads_questions_are_searched_in(
    site: Newsroom, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A name whose DNS servers never answer: each lookup outlived its fetch's deadline in a
    # thread of the event loop's default pool, where questions are searched (and Telegram's
    # own addresses looked up), until none was left and the bot answered no one.
    released = threading.Event()
    looked_up: list[str] = []
    system_lookup = socket.getaddrinfo

    def resolver(host: object, *args: object, **kwargs: object) -> object:
        if str(host).endswith(".hang.test"):
            looked_up.append(str(host))
            released.wait(120)
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        return system_lookup(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    pool = 4  # the default pool of a machine of few cores (min(32, cores + 4) threads)
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(pool))
    options = FetchOptions(timeout=0.5, host_delay=0.0, private_networks=LOCAL_NETWORKS)
    hanging = [f"http://n{n}.hang.test/feed.xml" for n in range(pool + 1)]
    try:
        async with Fetcher(options) as fetcher:
            failed = await asyncio.gather(
                *(fetcher.get(url, accept="*/*") for url in hanging + hanging[:1] * 2), return_exceptions=True
            )
            assert all(isinstance(error, FetchError) and error.kind == "timeout" for error in failed)
            async with asyncio.timeout(60):  # a guard against a hang only
                assert await asyncio.to_thread(str, "searched") == "searched"  # as a question is
                site.put("page.html", PAGE)  # and other hosts are still fetched
                page = await fetcher.get(site.url("page.html"), accept="text/html")
                assert page is not None and page.content == PAGE
    finally:
        released.set()
    assert sorted(looked_up) == sorted(set(looked_up))  # a name fetched thrice was looked up once


async def test_a_lookup_that_could_not_start_leaves_the_name_to_be_looked_up_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A process at its limit of threads: the lookup's thread would not start, and the name
    # stayed "being looked up" for good, so that every later fetch of it waited in vain.
    start = threading.Thread.start

    def no_thread(thread: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", no_thread)
    with pytest.raises(httpx.ConnectError, match="can't start new thread"):
        await resolve_host("localhost", 80)
    monkeypatch.setattr(threading.Thread, "start", start)
    async with asyncio.timeout(60):  # a guard against a hang only
        found = await resolve_host("localhost", 80)
    assert ipaddress.ip_address("127.0.0.1") in found or ipaddress.ip_address("::1") in found


@pytest.mark.parametrize(
    ("errno", "strerror", "english", "ukrainian"),
    [
        (socket.EAI_NONAME, "Name or service not known", "no such host name", "хоста з таким ім'ям немає"),
        (
            socket.EAI_AGAIN,
            "Temporary failure in name resolution",
            "the name server did not answer",
            "DNS-сервер",
        ),
        (
            socket.EAI_FAIL,
            "Non-recoverable failure",
            "Non-recoverable failure",
            "Non-recoverable failure",
        ),  # as it is
    ],
)
async def test_why_a_name_did_not_resolve_is_told_in_the_readers_language(
    monkeypatch: pytest.MonkeyPatch, errno: int, strerror: str, english: str, ukrainian: str
) -> None:
    # the resolver's own English was told inside a translated frame: "не вдалося з'єднатися:
    # cannot resolve news.example: Name or service not known"
    def failing(*args: object, **kwargs: object) -> list[object]:
        raise socket.gaierror(errno, strerror)

    monkeypatch.setattr(socket, "getaddrinfo", failing)
    with pytest.raises(HostNotResolved) as raised:
        await resolve_host("news.example", 80)
    assert str(raised.value).startswith(f"cannot resolve news.example: {english}")
    told = raised.value.reason.told(translations("uk"))
    assert told.startswith("не вдалося знайти адресу news.example: ") and ukrainian in told

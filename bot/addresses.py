"""Which network addresses the bot fetches from: public ones, and the networks an operator allows.

A feed is a third party. Its item links, the redirects its pages answer with and the feed
a page announces can each point at the bot's own machine (127.0.0.1, ::1), its private
network (10.x, 192.168.x, fc00::/7) or a cloud's metadata service (169.254.169.254); what
the bot fetched there would be saved into the corpus, where any user can read it. So
`PublicOnlyTransport` resolves the host of every request (each redirect is a request of
its own), refuses it before connecting if any address the name resolves to is not public,
and then connects to the very address it checked: a second lookup, which a hostile DNS
server could answer with 127.0.0.1 (DNS rebinding), never happens. TLS still checks the
certificate against the host name. Networks an operator trusts (an intranet feed, the
tests' 127.0.0.1) are allowed by name, and only those.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import threading
from collections.abc import Awaitable, Callable, Iterable, Sequence
from concurrent.futures import Future
from typing import Any

import httpx

from .i18n import N_, Told

__all__ = [
    "Address",
    "AddressRefused",
    "HostNotResolved",
    "Network",
    "PublicOnlyTransport",
    "not_public",
    "parse_networks",
    "refusal",
    "refused_address",
    "resolve_host",
]

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolve = Callable[[str, int], Awaitable[list[Address]]]
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
"""IPv6 addresses that a NAT64 gateway turns into the IPv4 address in their last 32 bits."""
LOOKUPS_AT_ONCE = 16
"""Host lookups running at once; past that, a fetch fails at once rather than wait for one."""
_lookup_slots = threading.BoundedSemaphore(LOOKUPS_AT_ONCE)
_looking_up: dict[tuple[str, int], Future[list[Any]]] = {}
"""Each name's lookup in flight, by name and port, which later fetches of that name share."""
_NO_SUCH_NAME = {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)}
"""What the resolver says of a name that has no address: "Name or service not known"."""


class AddressRefused(Exception):
    """A request to an address that is not public and not allowed; the message says which."""

    def __init__(self, host: str, address: Address, kind: str) -> None:
        self.host, self.address, self.kind = host, str(address), kind
        """The host asked for, the address it is or resolves to, and what kind of address that is."""
        where = f"{address} is" if self.named_by_address else f"{host} resolves to {address},"
        super().__init__(f"{where} a {kind} address, not a public one")

    @property
    def named_by_address(self) -> bool:
        """Whether the host asked for was the address itself (`http://127.0.0.1/`)."""
        return self.address == self.host.strip("[]")


class HostNotResolved(httpx.ConnectError):
    """A host name that leads to no address; `reason` says why in any reader's language."""

    def __init__(self, text: str, /, **values: object) -> None:
        self.reason = Told(text, **values)
        super().__init__(str(self.reason))


def not_public(address: Address) -> str | None:
    """What kind of non-public address this is ("loopback", "private", ...), or None if public.

    An IPv6 address that carries an IPv4 one (`::ffff:127.0.0.1`, 6to4, NAT64) is judged by
    the IPv4 address it reaches.
    """
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return not_public(embedded)
    kinds = (
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),  # 169.254.169.254: cloud metadata
        ("multicast", address.is_multicast),
        ("wildcard", address.is_unspecified),  # 0.0.0.0, ::: "a unspecified address" read badly
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        ("special-purpose", not address.is_global),  # 100.64.0.0/10 and the like
    )
    return next((kind for kind, found in kinds if found), None)


def refusal(host: str, addresses: Sequence[Address], allowed: Sequence[Network]) -> str | None:
    """Why a request to `host`, which resolves to `addresses`, is refused; None if it is not."""
    refused = refused_address(host, addresses, allowed)
    return None if refused is None else str(refused)


def refused_address(
    host: str, addresses: Sequence[Address], allowed: Sequence[Network]
) -> AddressRefused | None:
    """The refusal of a request to `host`, which resolves to `addresses`; None if it is not refused.

    One address that is neither public nor allowed refuses the host: its name's owner
    chose to point it there.
    """
    for address in addresses:
        kind = not_public(address)
        if kind is not None and not any(address in network for network in allowed):
            return AddressRefused(host, address, kind)
    return None


def parse_networks(text: str | Iterable[object]) -> tuple[Network, ...]:
    """`10.0.0.0/8, 127.0.0.1` (or its parts) -> networks; `ValueError` names a bad one."""
    parts = text.split(",") if isinstance(text, str) else text
    networks = []
    for part in (str(part).strip() for part in parts):
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(
                f"{part!r} is no network: write an address or a prefix like 10.20.0.0/16"
            ) from None
    return tuple(networks)


async def resolve_host(host: str, port: int) -> list[Address]:
    """The addresses `host` resolves to, in the system's order of preference.

    Each lookup runs in a daemon thread of its own, not in the event loop's default pool:
    questions are searched there, and Telegram's own addresses looked up, and a resolver
    that hangs held its threads past every fetch's deadline until none was left. A name
    being looked up is not looked up again meanwhile, so one that hangs holds one thread
    however often it is fetched, and at most `LOOKUPS_AT_ONCE` run at once. The fetch's
    deadline ends the wait; the lookup runs on, and a stopping process does not wait for it.
    """
    lookup = _looking_up.get((host, port))
    if lookup is None:
        if not _lookup_slots.acquire(blocking=False):
            raise HostNotResolved(
                N_("cannot resolve {host}: {count} lookups wait for the resolver"),
                host=host,
                count=LOOKUPS_AT_ONCE,
            )
        lookup = _looking_up[host, port] = Future()
        lookup.set_running_or_notify_cancel()  # a fetch past its deadline cancels its wait, not the lookup
        try:
            threading.Thread(
                target=_look_up, args=(host, port, lookup), name="host-lookup", daemon=True
            ).start()
        except RuntimeError as error:  # no thread to be had: the next fetch of the name tries again
            del _looking_up[host, port]
            _lookup_slots.release()
            lookup.set_exception(error)
            raise HostNotResolved(N_("cannot resolve {host}: {error}"), host=host, error=error) from None
    try:
        found = await asyncio.wrap_future(lookup)
    except socket.gaierror as error:
        if error.errno in _NO_SUCH_NAME:
            raise HostNotResolved(N_("cannot resolve {host}: no such host name"), host=host) from None
        if error.errno == socket.EAI_AGAIN:
            raise HostNotResolved(
                N_("cannot resolve {host}: the name server did not answer; try again later"), host=host
            ) from None
        raise HostNotResolved(  # as the system says it
            N_("cannot resolve {host}: {error}"), host=host, error=error.strerror or error
        ) from None
    except UnicodeError:  # a redirect to a name with an empty label (a doubled dot) or too long a one
        raise HostNotResolved(N_("cannot resolve {host}: not a valid host name"), host=host) from None
    return list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in found))


def _look_up(host: str, port: int, lookup: Future[list[Any]]) -> None:
    """Look `host` up for `resolve_host`, in this thread, and hand the outcome to `lookup`."""
    try:
        try:
            found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_ADDRCONFIG)
        finally:  # the next fetch of the name looks it up anew
            del _looking_up[host, port]
            _lookup_slots.release()
    except Exception as error:  # handed to whoever waits
        lookup.set_exception(error)
    else:
        lookup.set_result(found)


class PublicOnlyTransport(httpx.AsyncBaseTransport):
    """An httpx transport that sends each request to an address it resolved and checked itself.

    Connections are pooled per host (a pool of httpx's own transport each), so a
    connection made for one name is never reused for another that shares its address.
    The addresses of a name are tried in turn until one connects.
    """

    def __init__(
        self, allowed: Sequence[Network] = (), resolve: Resolve = resolve_host, **pool_options: Any
    ) -> None:
        self.allowed = tuple(allowed)
        self._resolve = resolve
        self._pool_options = pool_options
        self._pools: dict[tuple[str, str, int], httpx.AsyncHTTPTransport] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Resolve, check, then send to each checked address in turn until one connects."""
        url = request.url
        host = url.raw_host.decode("ascii")
        port = url.port or (443 if url.scheme == "https" else 80)
        addresses = await self._resolve(host, port)
        if not addresses:
            raise HostNotResolved(N_("cannot resolve {host}: no address"), host=host)
        refused = refused_address(host, addresses, self.allowed)
        if refused is not None:
            raise refused
        key = (url.scheme, host, port)
        pool = self._pools.get(key)
        if pool is None:
            pool = self._pools[key] = httpx.AsyncHTTPTransport(**self._pool_options)
        extensions = dict(request.extensions)
        if url.scheme == "https":
            extensions["sni_hostname"] = host  # the certificate is checked against the name
        failed: httpx.TransportError | None = None
        for address in addresses:
            pinned = httpx.Request(
                request.method,
                url.copy_with(host=str(address)),
                headers=request.headers,  # its Host header names the host, not the address
                stream=request.stream,
                extensions=extensions,
            )
            try:
                return await pool.handle_async_request(pinned)
            except (httpx.ConnectError, httpx.ConnectTimeout) as error:
                failed = error
        assert failed is not None
        raise failed

    async def aclose(self) -> None:
        """Close every host's pool."""
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.aclose()

"""Getting replies through Telegram's limits and hiccups, each one at most once.

`AIORateLimiter` keeps bursts under Telegram's flood limits and waits out a 429's
`retry_after`. On top of it, a request that surely did not reach Telegram is tried again
with exponential backoff: one Telegram answered with a 5xx (it did not act on it), or one
whose connection could not be opened (refused, connect timeout, no free connection in the
pool). A request that was sent and then got no answer (a read timeout, a connection
dropped after the request was written) may well have been acted on: a message is then
not sent again, since the user would get it twice, and `MaybeDelivered` says so. Requests
that are harmless to repeat (reads, settings) are retried either way. (`getUpdates` is
left to the updater, which has its own retry loop.)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

import httpx
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError
from telegram.ext import AIORateLimiter

__all__ = ["MaybeDelivered", "RetryingRateLimiter", "repeatable", "surely_not_delivered"]

logger = logging.getLogger(__name__)

JSONResult = bool | dict[str, Any] | list[dict[str, Any]]
# httpx raises these before a byte of the request has left: Telegram never saw it.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class MaybeDelivered(NetworkError):
    """A request that got no answer after it was sent: Telegram may have acted on it."""

    def __init__(self, endpoint: str, error: NetworkError) -> None:
        super().__init__(f"{endpoint} got no answer ({error}); it may have reached Telegram: not sent again")
        self.endpoint = endpoint


def surely_not_delivered(error: NetworkError) -> bool:
    """Whether Telegram surely did not act on the request that failed with `error`.

    python-telegram-bot raises `NetworkError` / `TimedOut` *from* the httpx exception when
    no answer came, and with no httpx cause when Telegram answered with an error status.
    """
    cause = error.__cause__
    if isinstance(cause, httpx.HTTPError):
        return isinstance(cause, NOT_SENT)
    return cause is None or isinstance(cause, TelegramError)  # an error status (its body unparsable)


def repeatable(endpoint: str) -> bool:
    """Whether doing `endpoint` twice has the effect of doing it once (reads and settings)."""
    return endpoint.startswith(("get", "set")) or endpoint == "deleteWebhook"


class RetryingRateLimiter(AIORateLimiter):
    """Telegram's flood limits, plus retries with backoff of what surely did not arrive."""

    def __init__(self, network_retries: int = 4, first_delay: float = 0.5, max_delay: float = 8.0) -> None:
        super().__init__(max_retries=3)
        self.network_retries = network_retries
        self.first_delay = first_delay
        self.max_delay = max_delay

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, JSONResult]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> JSONResult:
        """Send one request; retry it with backoff only where a second copy cannot hurt.

        Chat actions ("typing…") are not messages and skip the flood limiter, so that
        they do not halve the rate at which answers can go out.
        """
        if endpoint == "sendChatAction":
            return await callback(*args, **kwargs)
        delay = self.first_delay
        for attempt in range(self.network_retries + 1):
            try:
                return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
            except (RetryAfter, BadRequest):  # waited out already / a fault of the request itself
                raise
            except NetworkError as error:
                if endpoint == "getUpdates":
                    raise
                if not (surely_not_delivered(error) or repeatable(endpoint)):
                    raise MaybeDelivered(endpoint, error) from error
                if attempt == self.network_retries:
                    raise
                logger.info("%s failed (%s); retry %d in %.1f s", endpoint, error, attempt + 1, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_delay)
        raise AssertionError("unreachable")  # pragma: no cover

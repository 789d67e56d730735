"""Getting replies through Telegram's limits and hiccups.

`AIORateLimiter` keeps bursts under Telegram's flood limits and waits out a 429's
`retry_after`. On top of it, a reply that meets a 5xx or a dropped connection is tried
again with exponential backoff: a passing network fault must not cost a user an answer.
(`getUpdates` is left to the updater, which has its own retry loop.)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import BadRequest, NetworkError, RetryAfter
from telegram.ext import AIORateLimiter

logger = logging.getLogger(__name__)

JSONResult = bool | dict[str, Any] | list[dict[str, Any]]


class RetryingRateLimiter(AIORateLimiter):
    """Telegram's flood limits, plus retries with backoff on network faults."""

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
        """Send one request, retrying network faults (not 4xx errors) with backoff.

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
                if endpoint == "getUpdates" or attempt == self.network_retries:
                    raise
                logger.info("%s failed (%s); retry %d in %.1f s", endpoint, error, attempt + 1, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_delay)
        raise AssertionError("unreachable")  # pragma: no cover

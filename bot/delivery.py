"""Getting replies through Telegram's limits and hiccups, each one at most once.

`AIORateLimiter` keeps bursts under Telegram's flood limits. A 429 (`RetryAfter`) that names
a chat is waited out by that chat alone (one that names none, such as an inline query's
answer, by the requests of its kind, and only within `QUERY_WINDOW` of its query), for at
most `MAX_FLOOD_WAIT` seconds: the rate limiter paused every chat for it, so that one group
asked to wait held up every answer, and for as long as Telegram asked (hours, for a bot that
flooded a chat). A wait longer than that is not waited: the message is not sent
(`FloodWait`), nor is any other to that chat until the wait is over. A message to a group
that has just become a supergroup (Telegram refuses it with the supergroup's id,
`ChatMigrated`) goes to the supergroup: the question was asked there, as far as its asker
can tell. From then on the supergroup is the chat: a later message to the group goes
straight there, and a 429 is waited out by the supergroup, whose own messages (its updates
come from its own id) wait with it; `on_moved` is told, so that what the bot keeps of the
group moves there too. On top of it, a request that surely did not reach
Telegram is tried again with exponential backoff: one Telegram answered with a 5xx (it did
not act on it), or one whose connection could not be opened (refused, connect timeout, no
free connection in the pool). A request that was sent and then got no answer (a read
timeout, a connection dropped after the request was written) may well have been acted on: a
message is then not sent again, since the user would get it twice, and `MaybeDelivered`
says so. Requests that are harmless to repeat (reads, settings) are retried either way.
(`getUpdates` never comes here: python-telegram-bot sends it past the rate limiter, and
`bot.polling` waits out its 429.)
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import httpx
from telegram.error import BadRequest, ChatMigrated, NetworkError, RetryAfter, TelegramError
from telegram.ext import AIORateLimiter

__all__ = [
    "MAX_FLOOD_WAIT",
    "QUERY_WINDOW",
    "FloodWait",
    "MaybeDelivered",
    "RetryingRateLimiter",
    "answering_query",
    "repeatable",
    "surely_not_delivered",
]

logger = logging.getLogger(__name__)

JSONResult = bool | dict[str, Any] | list[dict[str, Any]]
# httpx raises these before a byte of the request has left: Telegram never saw it.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
MAX_FLOOD_WAIT = 30.0
"""The longest wait a 429 for one chat is waited out (seconds): a group's own limit of 20
messages a minute asks for less. An answer later than that is better asked again, and a stop
(40 s of grace in the Compose and systemd files) would not wait for it."""
FLOOD_RETRIES = 3
"""How often one message is tried again after a 429 for its chat."""
QUERY_WINDOW = 10.0
"""How long after an inline query or a button press Telegram takes its answer (seconds; later it
refuses it, "query is too old"). A 429 for such an answer is waited out only within it: an
answer that could go out only later is dropped at once (`FloodWait`), not queued to go out
stale or be refused."""
_answer_by: ContextVar[float | None] = ContextVar("answer_by", default=None)


class MaybeDelivered(NetworkError):
    """A request that got no answer after it was sent: Telegram may have acted on it."""

    def __init__(self, endpoint: str, error: NetworkError) -> None:
        super().__init__(f"{endpoint} got no answer ({error}); it may have reached Telegram: not sent again")
        self.endpoint = endpoint


class FloodWait(TelegramError):
    """Telegram asked a chat to wait longer than `MAX_FLOOD_WAIT` (or again after each try): the
    message was not sent, and is not sent again."""

    def __init__(self, chat_id: object, seconds: float) -> None:
        endpoint = isinstance(chat_id, str) and chat_id[:1].isalpha()  # a request that names no chat
        where = str(chat_id) if endpoint else f"chat {chat_id}"
        super().__init__(f"not sent: Telegram asks {where} to wait {seconds:.0f} s (429)")
        self.chat_id = chat_id
        self.seconds = seconds


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
        self._resume: dict[object, float] = {}  # chat -> when Telegram takes its messages again (loop time)
        self._moved: dict[object, int] = {}  # group -> the supergroup it became (`ChatMigrated`)
        self.on_moved: Callable[[int, int], Awaitable[None]] | None = None
        """Awaited with a group's id and its supergroup's when Telegram refuses a message to the
        group, before the message goes to the supergroup (`app` moves the group's state file rows)."""

    def knows_moves(self, moves: Mapping[int, int]) -> None:
        """Groups known to have become supergroups, by the supergroup's id (kept in the state
        file): after a restart, a message to one goes straight to its supergroup, not to the
        group first, to be refused."""
        for group, supergroup in moves.items():
            self._moved[group] = supergroup

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
        chat = data.get("chat_id")
        moved = self._moved.get(chat)
        if moved is not None and endpoint == "sendMessage" and _readdress(args, moved):
            chat = moved  # a group known to be a supergroup now: not asked for first, to be refused
        if chat is not None:  # a 429 is waited out by its chat alone (`_for_chat`)
            callback = self._for_chat(callback, chat, endpoint)
        elif endpoint != "getUpdates":  # an inline or button answer: by its kind alone, as a chat
            callback = self._for_chat(callback, endpoint, endpoint)
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

    def _for_chat(
        self, callback: Callable[..., Coroutine[Any, Any, JSONResult]], chat: object, endpoint: str
    ) -> Callable[..., Coroutine[Any, Any, JSONResult]]:
        """`callback`, waiting out a 429 for `chat` (and the wait of an earlier one) itself, and
        sent to the supergroup a group became. A request that names no chat (an inline
        query's or a button press's answer) is kept apart by its endpoint in place of a chat:
        its 429 paused every request of the bot, every chat's answers with it.

        Once sent to the supergroup, its 429 is the supergroup's: recorded against the group,
        it held later messages to the group, which go to the supergroup anyway, and let the
        supergroup's own answers through to be refused again.

        The rate limiter never sees the 429, so it pauses no other chat: it runs `callback`
        inside its limits, which hold nothing while it waits.
        """

        async def send(*args: Any, **kwargs: Any) -> JSONResult:
            target, deadline = chat, _answer_by.get()  # the chat the message goes to now
            for attempt in range(FLOOD_RETRIES + 1):
                await self._chat_free(target, deadline)
                try:
                    return await callback(*args, **kwargs)
                except ChatMigrated as error:
                    if target != chat or endpoint != "sendMessage" or not _readdress(args, error.new_chat_id):
                        raise  # once: the supergroup is no group to upgrade
                    target = self._moved[chat] = error.new_chat_id
                    logger.info("chat %s became supergroup %s: sent there", chat, target)
                    if self.on_moved is not None and isinstance(chat, int):
                        await self.on_moved(chat, target)
                except RetryAfter as error:
                    seconds = max(0.0, _seconds(error.retry_after)) + 0.1
                    self._pause(target, seconds)
                    late = deadline is not None and asyncio.get_running_loop().time() + seconds > deadline
                    if seconds > MAX_FLOOD_WAIT or attempt == FLOOD_RETRIES or late:
                        raise FloodWait(target, seconds) from None
                    logger.info("Telegram asks chat %s to wait %.1f s (429); sent then", target, seconds)
            raise AssertionError("unreachable")  # pragma: no cover

        return send

    async def _chat_free(self, chat: object, deadline: float | None = None) -> None:
        """Wait until `chat` takes messages again; refuse at once a wait too long to make, or one
        that would end past `deadline` (loop time)."""
        resume = self._resume.get(chat)
        if resume is None:
            return
        left = resume - asyncio.get_running_loop().time()
        if left <= 0:
            return
        if left > MAX_FLOOD_WAIT or (deadline is not None and resume > deadline):
            raise FloodWait(chat, left)
        await asyncio.sleep(left)

    def _pause(self, chat: object, seconds: float) -> None:
        """Remember that `chat` takes no message for `seconds`; forget the waits that are over."""
        now = asyncio.get_running_loop().time()
        self._resume = {known: at for known, at in self._resume.items() if at > now}
        self._resume[chat] = max(self._resume.get(chat, now), now + seconds)


@contextmanager
def answering_query(arrived: float) -> Iterator[None]:
    """Send the requests made inside as the answer to a query (inline, a button press) that
    `arrived` at this loop time: within `QUERY_WINDOW` of it, or not at all (`FloodWait`)."""
    token = _answer_by.set(arrived + QUERY_WINDOW)
    try:
        yield
    finally:
        _answer_by.reset(token)


def _readdress(args: tuple[Any, ...], chat_id: int) -> bool:
    """Point the message in `args` (python-telegram-bot's endpoint and data) at `chat_id`, quoting
    nothing; whether it could. The supergroup numbers its messages anew: the question's number
    there may be another message's, which the answer would quote. (An edit is not sent there
    for that reason: it could rewrite another answer of the bot's.)"""
    data = args[1] if len(args) > 1 and isinstance(args[1], dict) else None
    if data is None or "chat_id" not in data:
        return False
    data["chat_id"] = chat_id
    data.pop("reply_parameters", None)
    return True


def _seconds(wait: dt.timedelta | int | float) -> float:
    """A 429's `retry_after` in seconds: a `timedelta` as `PTB_TIMEDELTA` has it, else a number."""
    return wait.total_seconds() if isinstance(wait, dt.timedelta) else float(wait)

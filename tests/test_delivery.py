"""Which failed requests may be sent again: the pure half of `bot.delivery`."""

from __future__ import annotations

import httpx
import pytest
from telegram.error import NetworkError, TelegramError, TimedOut

from bot.delivery import repeatable, surely_not_delivered


def failed(cause: BaseException | None, error: NetworkError | None = None) -> NetworkError:
    """The error python-telegram-bot raises, chained to `cause` as it does."""
    error = error or NetworkError("failed")
    error.__cause__ = cause
    return error


@pytest.mark.parametrize(
    ("error", "not_delivered"),
    [
        (failed(httpx.ConnectError("refused")), True),  # no connection: nothing was sent
        (failed(httpx.ConnectTimeout("slow"), TimedOut()), True),
        (failed(httpx.PoolTimeout("busy"), TimedOut()), True),  # never left the pool
        (failed(None, NetworkError("Bad Gateway")), True),  # Telegram answered 5xx: not acted on
        (failed(TelegramError("Invalid server response")), True),  # an error status, body unparsable
        (failed(httpx.ReadTimeout("late"), TimedOut()), False),  # sent; the answer did not come
        (failed(httpx.RemoteProtocolError("Server disconnected without sending a response.")), False),
        (failed(httpx.WriteError("reset")), False),  # part of it may have left
        (failed(OSError("unknown")), False),  # an unknown fault: assume it may have arrived
    ],
)
def test_only_requests_that_never_reached_telegram_count_as_not_delivered(
    error: NetworkError, not_delivered: bool
) -> None:
    assert surely_not_delivered(error) is not_delivered


@pytest.mark.parametrize(
    ("endpoint", "harmless"),
    [
        ("getMe", True),
        ("setMyCommands", True),
        ("deleteWebhook", True),
        ("sendMessage", False),  # a second copy reaches the user
        ("editMessageText", False),  # a second edit fails: "message is not modified"
        ("answerCallbackQuery", False),  # a query is answered once
        ("deleteMessage", False),  # a second delete fails
    ],
)
def test_only_reads_and_settings_are_repeatable(endpoint: str, harmless: bool) -> None:
    assert repeatable(endpoint) is harmless

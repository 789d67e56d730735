"""Before serving: ask the Bot API whether it knows the token, try the webhook's port, and
register the webhook.

python-telegram-bot reports a refused token with an exception whose message holds the
whole token, after logging a traceback of its own. Asking once, by hand, before the bot
starts turns a typo in `TELEGRAM_BOT_TOKEN` or `TELEGRAM_BASE_URL` into one line that
names the setting to fix, and it fails before a long first index build, not after. A
webhook port in use, or an address the machine lacks, is told the same way, and so is a
`WEBHOOK_URL` the Bot API refuses to post to (a host it cannot resolve, a private address),
which python-telegram-bot's start would try again every 30 s forever.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from telegram import Bot
from telegram.error import BadRequest, NetworkError, TelegramError
from tornado.netutil import bind_sockets

from .settings import TELEGRAM_API, SettingsError


async def check_token(token: str, base_url: str) -> None:
    """Raise `SettingsError` when the Bot API refuses `getMe`: 401 for the token, 404 for the URL.

    Any other answer, an outage included, is left to the bot's start-up, which waits
    outages out. The raw status is read, so that the library logs no traceback.
    """
    bot = Bot(token, base_url=base_url)  # builds the request URL as the running bot will
    try:
        async with bot.request as request:
            status, _ = await request.do_request(f"{bot.base_url}/getMe", "POST")
    except NetworkError:
        return
    problem = describe_refusal(status, base_url)
    if problem:
        raise SettingsError(problem)


async def check_webhook(token: str, base_url: str, options: Mapping[str, Any]) -> None:
    """Register the webhook as the start will (`app.webhook_options`); raise `SettingsError` when
    the Bot API refuses it (400), with its reason. Any other failure, an outage included, is
    left to the start, which registers it again and waits outages out."""
    bot = Bot(token, base_url=base_url)
    try:
        async with bot:
            await bot.set_webhook(
                options["webhook_url"],
                secret_token=options["secret_token"],
                allowed_updates=options["allowed_updates"],
            )
    except BadRequest as error:
        raise SettingsError(
            f"WEBHOOK_URL: the Bot API refuses {options['webhook_url']!r} ({error.message}); "
            "give the public https URL Telegram reaches this bot at"
        ) from None
    except TelegramError:
        return


def describe_refusal(status: int, base_url: str) -> str | None:
    """The one line for a refused `getMe`, naming the setting to fix; None if it was not refused."""
    if status == HTTPStatus.UNAUTHORIZED:
        return (
            f"TELEGRAM_BOT_TOKEN: rejected by the Bot API at {base_url} (401 Unauthorized); "
            "copy the token from @BotFather again"
        )
    if status != HTTPStatus.NOT_FOUND:
        return None
    if base_url == TELEGRAM_API:  # Telegram answers 404 to a token that is not even well-formed
        return (
            "TELEGRAM_BOT_TOKEN: malformed, Telegram does not know it (404 Not Found); "
            "it looks like 123456789:AA... as @BotFather gives it"
        )
    return (
        f"TELEGRAM_BASE_URL: {base_url} has no Bot API (getMe answered 404 Not Found); "
        f"use {TELEGRAM_API} or your Bot API server's address ending in /bot"
    )


def check_listen(address: str, port: int) -> None:
    """Raise `SettingsError` when the webhook's server could not listen on `address:port`
    (a port in use, an address this machine does not have): said before a long first
    build, in one line, not as a traceback after it. Bound as the server binds, then let go."""
    try:
        sockets = bind_sockets(port, address)
    except OSError as error:
        raise SettingsError(
            f"WEBHOOK_LISTEN, WEBHOOK_PORT: cannot listen on {address}:{port} ({error.strerror or error}); "
            "use an address of this machine (0.0.0.0 for all) and a port no other program holds"
        ) from None
    for sock in sockets:
        sock.close()

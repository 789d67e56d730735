"""`newsbot run --webhook` as a process: only Telegram, which knows the secret, gets in."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from fakes.bot_api import FakeBotApi
from tests.conftest import SHIPPED_CORPUS
from tests.e2e.conftest import ADMIN, SECRET_HALF, TOKEN, newsbot_run

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MB = 1 << 20


@dataclass
class WebhookBot:
    """A `newsbot run --webhook` process, the fake Bot API it registered with, and its secret."""

    process: asyncio.subprocess.Process
    api: FakeBotApi
    url: str
    port: int
    secret: str

    async def post(self, update: dict[str, Any], secret: str | None) -> int:
        """POST `update` as Telegram would (with `secret`, if any); return the HTTP status."""
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers[SECRET_HEADER] = secret
        async with (
            aiohttp.ClientSession() as session,
            session.post(self.url, data=json.dumps(update), headers=headers) as response,
        ):
            return response.status

    def peak_memory_kb(self) -> int:
        """The process's peak resident memory so far (VmHWM)."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        raise AssertionError("no VmHWM in /proc status")


@pytest.fixture
async def webhook_bot(
    tmp_path: Path, unused_tcp_port: int, request: pytest.FixtureRequest
) -> AsyncIterator[WebhookBot]:
    """The bot in webhook mode with no WEBHOOK_SECRET_TOKEN set, its URL's path `/hook` unless the
    test names another (`indirect`); stopped with SIGTERM after the test."""
    api = FakeBotApi(TOKEN)
    await api.start()
    url = f"http://127.0.0.1:{unused_tcp_port}{getattr(request, 'param', '/hook')}"
    process = await newsbot_run(
        api,
        tmp_path,
        "--webhook",
        CORPUS_DIR=str(SHIPPED_CORPUS),
        ADMIN_IDS=str(ADMIN),
        WEBHOOK_URL=url,
        WEBHOOK_LISTEN="127.0.0.1",
        WEBHOOK_PORT=str(unused_tcp_port),
        LOG_LEVEL="debug",
    )
    try:
        (registered,) = await api.wait_for("setWebhook", timeout=60)
        assert registered.params["url"] == url
        assert set(registered.params["allowed_updates"]) == {
            "message",
            "edited_message",
            "callback_query",
            "inline_query",
        }
        bot = WebhookBot(process, api, url, unused_tcp_port, registered.params.get("secret_token", ""))
        await listening(unused_tcp_port)
        # the search code compiles in the background as the bot starts: tests measure after it
        started = await read_until(process, "search code compiled")
        # read on while the test runs: a debug log left in a full pipe would block the bot
        rest = asyncio.create_task(process.stderr.read())  # type: ignore[union-attr]
        yield bot
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 60)
        log = started + (await asyncio.wait_for(rest, 60)).decode()
        assert process.returncode == 0
        assert SECRET_HALF.lower() not in log.lower()
        assert not bot.secret or bot.secret not in log  # the generated secret is redacted like the token
        assert "reload of" not in log and "refused /reload" not in log  # no forged update reached a handler
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await api.stop()


async def test_without_a_configured_secret_a_random_one_is_registered(webhook_bot: WebhookBot) -> None:
    assert len(webhook_bot.secret) >= 32
    assert webhook_bot.secret.replace("-", "").replace("_", "").isalnum()  # the characters Telegram allows


async def test_a_forged_update_is_refused_and_telegrams_is_answered(webhook_bot: WebhookBot) -> None:
    forged_reload = message_update(1, "/reload", user_id=ADMIN)
    assert await webhook_bot.post(forged_reload, secret=None) == 403
    assert await webhook_bot.post(forged_reload, secret="guessed") == 403
    assert await webhook_bot.post(message_update(2, "Who negotiated with Abramovich?"), secret=None) == 403
    assert await webhook_bot.post(message_update(3, "/help"), secret=webhook_bot.secret) == 200
    (reply,) = await webhook_bot.api.wait_for("sendMessage", chat_id=7)
    assert "/timeline" in reply.params["text"]  # the answer to /help, not to the forged question
    assert webhook_bot.api.sent("sendMessage", chat_id=ADMIN) == []


async def test_an_oversized_body_is_refused_before_it_is_read(webhook_bot: WebhookBot) -> None:
    # a 90 MB Content-Length is refused at once, though no byte of the body was sent
    head = await raw_post(webhook_bot.port, webhook_bot.secret, content_length=90 * MB, body_bytes=0)
    assert head.startswith(b"HTTP/1.1 400")
    before = webhook_bot.peak_memory_kb()
    for _ in range(3):  # bodies of unknown length are cut off once past the cap
        await raw_post(webhook_bot.port, None, content_length=None, body_bytes=90 * MB)
    assert webhook_bot.peak_memory_kb() - before < 30 * 1024  # 90 MB bodies held whole would add far more
    assert await webhook_bot.post(message_update(4, "/help"), secret=webhook_bot.secret) == 200
    await webhook_bot.api.wait_for("sendMessage", chat_id=7)  # and it keeps serving


async def test_a_body_one_byte_over_a_mebibyte_is_refused(webhook_bot: WebhookBot) -> None:
    head = await raw_post(webhook_bot.port, webhook_bot.secret, content_length=MB + 1, body_bytes=0)
    assert head.startswith(b"HTTP/1.1 400")  # from the Content-Length alone, even with the secret
    assert await webhook_bot.post(message_update(5, "/help"), secret=webhook_bot.secret) == 200
    (reply,) = await webhook_bot.api.wait_for("sendMessage", chat_id=7)
    assert "/timeline" in reply.params["text"]


async def test_only_the_path_of_webhook_url_is_served(webhook_bot: WebhookBot) -> None:
    elsewhere = webhook_bot.url.replace("/hook", "/other")
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            elsewhere,
            data=json.dumps(message_update(6, "/reload", user_id=ADMIN)),
            headers={"Content-Type": "application/json", SECRET_HEADER: webhook_bot.secret},
        ) as response,
    ):
        assert response.status == 404  # even with the secret: no handler sees it
    assert await webhook_bot.post(message_update(7, "/help"), secret=webhook_bot.secret) == 200
    (reply,) = await webhook_bot.api.wait_for("sendMessage", chat_id=7)
    assert "/timeline" in reply.params["text"]
    assert webhook_bot.api.sent("sendMessage", chat_id=ADMIN) == []


def message_update(update_id: int, text: str, user_id: int = 7) -> dict[str, Any]:
    """A private message as Telegram posts it to a webhook, with the command entity it would add."""
    message: dict[str, Any] = {
        "message_id": update_id,
        "date": int(time.time()),
        "chat": {"id": user_id, "type": "private"},
        "from": {"id": user_id, "is_bot": False, "first_name": "U"},
        "text": text,
    }
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {"update_id": update_id, "message": message}


async def raw_post(port: int, secret: str | None, content_length: int | None, body_bytes: int) -> bytes:
    """POST to /hook by hand, sending `body_bytes` (chunked when `content_length` is None); return
    the status line the server answered with, or b"" if it closed the connection first."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = ["POST /hook HTTP/1.1", f"Host: 127.0.0.1:{port}", "Content-Type: application/json"]
    if secret is not None:
        head.append(f"{SECRET_HEADER}: {secret}")
    head.append(
        f"Content-Length: {content_length}" if content_length is not None else "Transfer-Encoding: chunked"
    )
    try:
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
        chunk = b" " * MB
        for _ in range(body_bytes // MB):
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            await writer.drain()
        if content_length is None:
            writer.write(b"0\r\n\r\n")
            await writer.drain()
        return await asyncio.wait_for(reader.readline(), 60)
    except (ConnectionResetError, BrokenPipeError):  # refused mid-body: the server hung up
        return b""
    finally:
        writer.close()


async def read_until(process: asyncio.subprocess.Process, text: str) -> str:
    """The process's log up to and including the first line holding `text`."""
    assert process.stderr is not None
    lines: list[str] = []
    while not lines or text not in lines[-1]:
        line = await asyncio.wait_for(process.stderr.readline(), 120)
        if not line:
            raise AssertionError(f"the bot ended its log before {text!r}:\n{''.join(lines)}")
        lines.append(line.decode())
    return "".join(lines)


async def listening(port: int) -> None:
    """Wait until something accepts connections on `port` (the webhook server starts after setWebhook)."""
    for _ in range(3000):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.01)
            continue
        writer.close()
        return
    raise AssertionError(f"nothing listens on port {port}")


@pytest.mark.parametrize("webhook_bot", ["", "/", "/hook+1", "/(bot)"], indirect=True)
async def test_the_path_of_webhook_url_is_served_as_written(webhook_bot: WebhookBot) -> None:
    # README: WEBHOOK_URL's path is the path served. A URL with none (a host of the bot's own,
    # `https://bot.example.com`) was served at /telegram, and one whose path holds a character
    # a pattern reads (`+`, `(`) at a path no request has: Telegram's every post got a 404.
    assert await webhook_bot.post(message_update(8, "/help"), secret=webhook_bot.secret) == 200
    (reply,) = await webhook_bot.api.wait_for("sendMessage", chat_id=7)
    assert "/timeline" in reply.params["text"]

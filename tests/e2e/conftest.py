"""The real bot, built by `build_application`, polling a fake Bot API server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.app import build_application
from bot.render import telegram_length
from bot.settings import Settings
from retrieval import Library
from tests.conftest import SHIPPED_CORPUS
from tests.e2e.fake_api import Call, FakeBotApi

TOKEN = "123456:TEST-token-that-must-never-be-logged"
SECRET_HALF = TOKEN.split(":")[1]
ADMIN = 42


@dataclass
class RunningBot:
    """A started bot and the fake server it talks to."""

    api: FakeBotApi
    application: Any
    settings: Settings
    corpus: Path

    async def ask(self, text: str, *, user_id: int = 7, **extra: Any) -> Call:
        """Send a message and return the bot's next reply in that chat."""
        chat_id = extra.get("chat_id", user_id)
        before = len(self.api.sent("sendMessage", chat_id))
        self.api.push_message(text, user_id=user_id, **extra)
        calls = await self.api.wait_for("sendMessage", chat_id=chat_id, count=before + 1)
        return calls[before]


StartBot = Callable[..., Awaitable[RunningBot]]


async def wait_for_log(caplog: pytest.LogCaptureFixture, text: str, timeout: float = 30) -> None:
    """Wait until a log record holding `text` has been written."""
    async with asyncio.timeout(timeout):
        while not any(text in record.getMessage() for record in caplog.records):
            await asyncio.sleep(0.02)


@pytest.fixture
async def start_bot(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> AsyncIterator[StartBot]:
    """Start the bot over a copy of the shipped corpus (from its saved index with `saved_index`);
    settings can be overridden."""
    caplog.set_level(logging.DEBUG)
    started: list[RunningBot] = []

    async def start(saved_index: bool = False, **overrides: Any) -> RunningBot:
        corpus = tmp_path / "corpus"
        if not corpus.exists():
            shutil.copytree(SHIPPED_CORPUS, corpus)
        api = FakeBotApi(TOKEN)
        await api.start()
        values: dict[str, Any] = {
            "telegram_bot_token": TOKEN,
            "telegram_base_url": api.base_url,
            "corpus_dir": corpus,
            "index_dir": tmp_path / "index",
            "admin_ids": frozenset({ADMIN}),
            **overrides,
        }
        settings = Settings(_env_file=None, **values)
        if saved_index:  # as `newsbot run` serves: the index saved in INDEX_DIR, opened after checks
            Library.load(settings.corpus_dir, index_dir=settings.index_dir)
            library = Library.open_current(settings.corpus_dir, settings.index_dir)
            assert library is not None
        else:
            library = Library.load(settings.corpus_dir)
        application = build_application(settings, library)
        await application.initialize()
        await application.post_init(application)
        await application.start()
        await application.updater.start_polling(poll_interval=0.0, timeout=1)
        running = RunningBot(api, application, settings, corpus)
        started.append(running)
        return running

    yield start

    for running in started:
        if running.application.updater.running:
            await running.application.updater.stop()
        if running.application.running:
            await running.application.stop()
        await running.application.shutdown()
        await running.api.stop()
        for call in running.api.calls:  # every text the bot sent fits Telegram's limit
            if "text" in call.params:
                assert telegram_length(call.params["text"]) <= 4096
    assert SECRET_HALF.lower() not in caplog.text.lower()  # the token, in any case, whole or half

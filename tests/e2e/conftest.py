"""The real bot, built by `build_application`, polling a fake Bot API server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import html
import logging
import os
import random
import re
import shutil
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import IO, Any

import pytest

from bot import render
from bot.app import ALLOWED_UPDATES, build_application
from bot.reloading import reload_library
from bot.settings import Settings
from fakes.bot_api import Call, FakeBotApi, shown_length
from retrieval import Library
from tests.conftest import SHIPPED_CORPUS, article

TOKEN = "123456:TEST-token-that-must-never-be-logged"
SECRET_HALF = TOKEN.split(":")[1]
ADMIN = 42
# a sticker's and a photo's fields as Telegram sends them, for the messages that are not text
STICKER = {
    "file_id": "s",
    "file_unique_id": "s",
    "type": "regular",
    "width": 1,
    "height": 1,
    "is_animated": False,
    "is_video": False,
}
PHOTO = [{"file_id": "p", "file_unique_id": "p", "width": 1, "height": 1}]


DISCUSSION_GROUP = {"chat_id": -100, "chat_type": "supergroup"}
_CHANNEL = {"id": -1009, "type": "channel", "title": "Harbour Times"}
CHANNEL_FORWARD = {
    "is_automatic_forward": True,
    "sender_chat": _CHANNEL,
    "forward_origin": {"type": "channel", "chat": _CHANNEL, "message_id": 12, "date": 0},
}
"""A channel's post as Telegram forwards it into the group linked for its comments."""


GRAIN_NEWS = [
    (
        "Izmail port doubles its grain exports",
        "Izmail on the Danube doubled grain exports in a month, barges queueing for days.",
    ),
    (
        "Egypt buys Ukrainian wheat again",
        "Cairo's state buyer returned to Ukrainian grain exports after a pause of two years.",
    ),
    (
        "Farmers in Odesa region count losses",
        "Drones hit silos near Odesa; farmers fear grain exports will slow before harvest.",
    ),
    (
        "Poland reopens its border to transit",
        "Warsaw lifted the ban on transit, and grain exports by rail resumed to Gdansk.",
    ),
    (
        "Insurers cut war premiums for ships",
        "Lloyd's brokers cut war-risk premiums, making grain exports cheaper to insure.",
    ),
    (
        "Barley harvest beats forecasts",
        "A wet spring gave record barley yields, lifting grain exports from the south.",
    ),
    (
        "Railway adds wagons for the harvest",
        "Ukrzaliznytsia added four thousand hopper wagons to carry grain exports to ports.",
    ),
    (
        "China signs a corn contract",
        "A Chinese importer signed for a million tonnes of corn, the largest of grain exports this year.",
    ),
    (
        "Mines found off the Romanian coast",
        "Navy divers cleared two mines near Constanta, on the route of grain exports.",
    ),
    (
        "Prices for sunflower oil fall",
        "Sunflower oil fell to a three-year low while grain exports rose in September.",
    ),
    (
        "Danube ferry line opens",
        "A new ferry from Orlivka to Isaccea speeds lorries carrying grain exports.",
    ),
    (
        "World Food Programme thanks Kyiv",
        "The agency said grain exports from Ukraine fed twelve million people in Africa.",
    ),
]
GRAIN = {
    f"grain-{n:02}.txt": article(f"2024-09-{n + 10:02}", headline, body)
    for n, (headline, body) in enumerate(GRAIN_NEWS, start=1)
}
"""Twelve one-passage articles, each its own story, on grain exports: with the shipped one,
thirteen articles answer "grain exports"."""


NOTHING = re.compile(r"I found nothing for <i>(.*?)</i>")


def nothing_for(answer: Call) -> str:
    """The question a "found nothing" answer names: what tells one answer from another where
    nothing else does (a private chat's answers quote no question)."""
    found = NOTHING.search(answer.params["text"])
    assert found is not None, answer.params["text"][:200]
    return html.unescape(found.group(1))


def rendered_where(
    monkeypatch: pytest.MonkeyPatch, *names: str, module: ModuleType = render
) -> list[tuple[str, bool]]:
    """Record each call of `module`'s `names` from now on (`bot.render`'s unless told): its name,
    and whether the event loop ran it (True) or a worker thread did (False). Recorded in each
    of the bot's modules that imported it by name too, as `bot.feed_jobs` does `bot.feed_render`'s."""
    calls: list[tuple[str, bool]] = []
    for name in names:
        real = getattr(module, name)

        def recorded(*args: Any, real: Any = real, name: str = name, **kwargs: Any) -> Any:
            try:
                asyncio.get_running_loop()
                calls.append((name, True))
            except RuntimeError:  # no loop runs in this thread: a worker's
                calls.append((name, False))
            return real(*args, **kwargs)

        ours = [loaded for key, loaded in sys.modules.items() if key == "bot" or key.startswith("bot.")]
        for loaded in ours:
            if getattr(loaded, name, None) is real:
                monkeypatch.setattr(loaded, name, recorded)
    return calls


@dataclass
class RunningBot:
    """A started bot and the fake server it talks to."""

    api: FakeBotApi
    application: Any
    settings: Settings
    corpus: Path

    async def ask(self, text: str, *, user_id: int = 7, quoted: bool | None = None, **extra: Any) -> Call:
        """Send a message and return the bot's answer to it: the chat's next message, which must
        answer this one and no other.

        In a group the bot quotes the message it answers (`reply_parameters`), so the answer must
        quote this one: the answer to an earlier message of the chat is never taken for its
        own. In a private chat the bot quotes nothing, and the answer must quote nothing; there
        the answer is told by the chat's order alone, so a test that sends other messages to the
        chat first waits for their answers before it asks. `quoted` sets the expectation
        where it differs (True: must quote this message, False: must quote none)."""
        chat_id = extra.get("chat_id", user_id)
        message_id = extra.pop("message_id", None) or self.api.new_message_id()
        if quoted is None:
            quoted = extra.get("chat_type", "private") != "private"
        before = len(self.api.sent("sendMessage", chat_id))
        self.api.push_message(text, user_id=user_id, message_id=message_id, **extra)
        answer = (await self.api.wait_for("sendMessage", chat_id=chat_id, count=before + 1))[before]
        replied = answer.params.get("reply_parameters")
        if quoted:
            assert replied is not None and replied["message_id"] == message_id, (
                f"the chat's next message answers {replied and replied['message_id']}, not {message_id}: "
                f"{answer.params['text'][:200]!r}"
            )
        else:
            assert replied is None, f"quotes {replied['message_id']}: {answer.params['text'][:200]!r}"
        return answer


StartBot = Callable[..., Awaitable[RunningBot]]

NEWSBOT = str(Path(sys.executable).with_name("newsbot"))


def clean_env(**values: str) -> dict[str, str]:
    """This process's environment without the bot's settings a test may set, then `values`."""
    keep = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TELEGRAM_", "WEBHOOK_", "CORPUS_", "ADMIN_"))
    }
    return {**keep, **values}


async def newsbot_run(
    api: FakeBotApi,
    cwd: Path,
    *args: str,
    stdout: int = asyncio.subprocess.PIPE,
    stderr: int | IO[bytes] = asyncio.subprocess.PIPE,
    preexec_fn: Callable[[], None] | None = None,
    **values: str,
) -> asyncio.subprocess.Process:
    """`newsbot run ARGS` as a process in `cwd`, against `api` with the test token and the
    settings `values` (`CORPUS_DIR="..."`, which may name another `TELEGRAM_BASE_URL` or
    `TELEGRAM_BOT_TOKEN`); its stderr is a pipe unless `stderr` is given (a file, for a log
    that no one reads until the end), and `preexec_fn` runs in the child before it starts."""
    env = clean_env(**{"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_BASE_URL": api.base_url, **values})
    return await asyncio.create_subprocess_exec(
        NEWSBOT, "run", *args, cwd=cwd, env=env, stdout=stdout, stderr=stderr, preexec_fn=preexec_fn
    )


@pytest.fixture
def unused_tcp_port() -> int:
    """A free port on 127.0.0.1 below the range the system hands out to servers on port 0 and
    to outgoing connections, where pytest-asyncio's own is found: the bot binds it a moment or
    seconds later, and on a busy machine another server or connection can be given a port of
    that range meanwhile."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    for port in random.sample(range(1024, low), 100):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:  # a program listens on it
                continue
        return port
    raise AssertionError(f"no free port from 1024 to {low - 1}")


async def wait_for_log(caplog: pytest.LogCaptureFixture, text: str, timeout: float = 30) -> None:
    """Wait until a log record holding `text` has been written."""
    async with asyncio.timeout(timeout):
        while not any(text in record.getMessage() for record in caplog.records):
            await asyncio.sleep(0.02)


@pytest.fixture
async def start_bot(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> AsyncIterator[StartBot]:
    """Start the bot over a copy of the shipped corpus and any `articles` (from its saved index
    with `saved_index`, after `then` changed the corpus, on the check of its folders as
    `newsbot run` starts; with `first_build`, after `then`, indexed as `newsbot run` indexes a
    corpus it finds no saved index of); settings can be overridden."""
    caplog.set_level(logging.DEBUG)
    started: list[RunningBot] = []

    async def start(
        saved_index: bool = False,
        articles: dict[str, str] | None = None,
        then: Callable[[Path], None] | None = None,
        first_build: bool = False,
        **overrides: Any,
    ) -> RunningBot:
        corpus = tmp_path / "corpus"
        if not corpus.exists():
            shutil.copytree(SHIPPED_CORPUS, corpus)
        for name, text in (articles or {}).items():  # more articles beside the shipped one
            (corpus / name).write_text(text, encoding="utf-8")
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
        if first_build:  # in a child process, which saves the index (or here, if it cannot)
            if then is not None:
                then(corpus)
            library = await reload_library(settings.corpus_dir, settings.index_dir)
        elif saved_index:  # as `newsbot run` serves: the index saved in INDEX_DIR, opened after checks
            # as `newsbot run` starts: on a folder with no readable article too, as a library of none
            Library.load(settings.corpus_dir, index_dir=settings.index_dir, allow_empty=True)
            if then is not None:  # the corpus changes while the bot is stopped
                then(corpus)
            check = "files" if then is None else "folders"  # `newsbot run` checks folders only
            library = Library.open_current(settings.corpus_dir, settings.index_dir, check=check)
            assert library is not None
        else:
            library = Library.load(settings.corpus_dir)
        application = build_application(settings, library, check_corpus=then is not None and not first_build)
        await application.initialize()
        await application.post_init(application)
        await application.start()
        await application.updater.start_polling(poll_interval=0.0, timeout=1, allowed_updates=ALLOWED_UPDATES)
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
        assert running.api.too_long == []  # every text the bot sent fits Telegram's limit ...
        for call in running.api.calls:  # ... and so does every inline result's message
            for result in call.params.get("results", []):
                content = result["input_message_content"]
                assert shown_length(content["message_text"], content.get("parse_mode")) <= 4096
    assert SECRET_HALF.lower() not in caplog.text.lower()  # the token, in any case, whole or half

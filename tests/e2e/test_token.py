"""The token never leaks: not into logs, exit messages, the indexing child or a core file."""

from __future__ import annotations

import asyncio
import logging
import resource
import signal
from pathlib import Path

import pytest

from bot.reloading import index_in_child_process
from fakes.bot_api import FakeBotApi, Fault
from tests.conftest import SHIPPED_CORPUS
from tests.e2e.conftest import ADMIN, SECRET_HALF, TOKEN, StartBot, newsbot_run

CHILD_FAILED = "indexing in a child process failed"


def leaked(text: str | bytes, secret: str = SECRET_HALF) -> bool:
    """Whether `secret` appears in `text`, in any case."""
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return secret.lower() in text.lower()


async def test_a_400_that_echoes_the_url_is_logged_without_the_token(
    start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await start_bot()
    # python-telegram-bot capitalises the description: the token arrives lower-cased
    bot.api.fail("sendMessage", Fault(400, f"Bad Request: wrong url {bot.api.base_url}{TOKEN}/sendMessage"))
    update_id = bot.api.push_message("Abramovich", user_id=7)
    (sorry,) = await bot.api.wait_for("sendMessage", chat_id=7)
    assert "something went wrong" in sorry.params["text"]
    (failure,) = [r for r in caplog.records if r.getMessage() == f"update {update_id} failed"]
    assert failure.exc_text and "Wrong url http://127.0.0.1" in failure.exc_text  # the echo was logged ...
    assert "/bot[token redacted]/sendmessage" in failure.exc_text  # ... with the token hidden
    assert not leaked(caplog.text)


@pytest.mark.parametrize(
    ("path", "answer", "named"),
    [
        ("bot", "401 Unauthorized", "TELEGRAM_BOT_TOKEN: rejected"),  # the server knows another token
        ("wrong/bot", "404 Not Found", "TELEGRAM_BASE_URL: http://127.0.0.1"),  # no Bot API there
        # the token pasted into the URL too, as Telegram's documentation writes request URLs
        (f"bot{TOKEN}/", "404 Not Found", "TELEGRAM_BASE_URL: http://127.0.0.1"),
    ],
)
async def test_a_refused_token_or_url_exits_2_with_one_line_and_no_token(
    tmp_path: Path, index_dir_in_tmp: Path, path: str, answer: str, named: str
) -> None:
    api = FakeBotApi("654321:the-token-this-server-knows")
    await api.start()
    try:
        returncode, stdout, stderr = await run_to_the_end(
            api,
            tmp_path,
            TELEGRAM_BASE_URL=f"http://127.0.0.1:{api.port}/{path}",
            CORPUS_DIR=str(SHIPPED_CORPUS),
        )
    finally:
        await api.stop()
    assert returncode == 2
    lines = stderr.decode().strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"newsbot: {named}") and answer in lines[0]
    assert not leaked(stdout + stderr)
    assert not index_dir_in_tmp.exists()  # it stopped before building anything


async def test_a_token_refused_after_an_outage_exits_2_without_a_traceback(tmp_path: Path) -> None:
    api = FakeBotApi(TOKEN)
    await api.start()
    # the check before start-up meets the outage and lets the bot start; then the token is refused
    api.fail("getMe", Fault(502, "Bad Gateway"), Fault(502, "Bad Gateway"), Fault(401, "Unauthorized"))
    try:
        returncode, stdout, stderr = await run_to_the_end(
            api, tmp_path, CORPUS_DIR=str(SHIPPED_CORPUS), LOG_LEVEL="debug"
        )
    finally:
        await api.stop()
    assert returncode == 2
    assert stderr.decode().strip().splitlines()[-1].startswith("newsbot: TELEGRAM_BOT_TOKEN: rejected")
    assert "[token redacted]" in stderr.decode()  # the library logged the refusal, redacted
    assert not leaked(stdout + stderr)


async def test_the_indexing_child_gets_no_secrets_and_nothing_dumps_core(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "seed.txt").write_bytes((SHIPPED_CORPUS / "000_eba0014b280aac67.txt").read_bytes())
    filler = " date 2024-01-01 Filler {n}\n\n" + "Weather report number {n} with rain and wind. " * 40
    for number in range(2000):  # the first start builds the index in a child for a second or more
        (corpus / f"filler-{number}.txt").write_text(filler.format(n=number))
    api = FakeBotApi(TOKEN)
    await api.start()
    process = await newsbot_run(
        api,
        tmp_path,
        preexec_fn=allow_core_files,
        WEBHOOK_SECRET_TOKEN="hook-secret-of-this-test",
        CORPUS_DIR=str(corpus),
        ADMIN_IDS=str(ADMIN),
        LOG_LEVEL="debug",
    )
    try:
        child = await running_child(process.pid, b"retrieval")
        await api.wait_for("deleteWebhook", timeout=120)  # serving
        bot_limits = Path(f"/proc/{process.pid}/limits").read_text()
        api.push_message("/reload", user_id=ADMIN)  # a reload runs the child again
        (reply,) = await api.wait_for("sendMessage", chat_id=ADMIN, timeout=120)
        assert "Corpus reloaded" in reply.params["text"]
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 60)
    finally:
        if process.returncode is None:
            process.kill()
        await api.stop()
    environ, child_limits = child
    assert b"TELEGRAM_BOT_TOKEN=" not in environ and b"WEBHOOK_SECRET_TOKEN=" not in environ
    assert not leaked(environ) and not leaked(environ, "hook-secret-of-this-test")
    assert b"CORPUS_DIR=" in environ  # the rest of the environment is passed on
    assert core_file_limit(bot_limits) == "0" and core_file_limit(child_limits) == "0"
    log = stderr.decode()
    assert process.returncode == 0
    assert CHILD_FAILED not in log and "Fatal Python error" not in log  # at start and at the reload
    assert not leaked(log)


async def test_a_failed_indexing_child_is_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    await index_in_child_process(tmp_path / "no-such-corpus", tmp_path / "index")
    (record,) = [r for r in caplog.records if r.getMessage().startswith(CHILD_FAILED)]
    assert record.levelno == logging.WARNING


async def test_a_reload_logs_no_failed_child(start_bot: StartBot, caplog: pytest.LogCaptureFixture) -> None:
    bot = await start_bot()
    assert "Corpus reloaded" in (await bot.ask("/reload", user_id=ADMIN)).params["text"]
    assert CHILD_FAILED not in caplog.text


async def run_to_the_end(api: FakeBotApi, cwd: Path, **values: str) -> tuple[int | None, bytes, bytes]:
    """Run `newsbot run` against `api` with the settings `values` until it exits by itself:
    its exit code, stdout and stderr."""
    process = await newsbot_run(api, cwd, **values)
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return process.returncode, stdout, stderr


async def running_child(parent: int, marker: bytes) -> tuple[bytes, str]:
    """The environment and resource limits of `parent`'s child whose command line holds `marker`."""
    for _ in range(6000):
        for status in Path("/proc").glob("[0-9]*/status"):
            folder = status.parent
            try:
                if f"\nPPid:\t{parent}\n" not in status.read_text():
                    continue
                if marker not in (folder / "cmdline").read_bytes().split(b"\0"):
                    continue
                return (folder / "environ").read_bytes(), (folder / "limits").read_text()
            except OSError:  # it exited meanwhile
                continue
        await asyncio.sleep(0.01)
    raise AssertionError(f"no child of {parent} running {marker!r} was seen")


def allow_core_files() -> None:
    """Start as from a shell with `ulimit -c unlimited` (or as high as the hard limit lets):
    where core files are off already, as on many test machines, the bot's own turning them
    off would go unchecked."""
    _, hard = resource.getrlimit(resource.RLIMIT_CORE)
    resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))


def core_file_limit(limits: str) -> str:
    """The soft limit on core file size from a /proc/PID/limits text."""
    (line,) = [line for line in limits.splitlines() if line.startswith("Max core file size")]
    return line.split()[4]

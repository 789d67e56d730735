"""`newsbot run` and `python -m bot` as processes, the way a user starts the bot."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import shutil
import signal
import socket
import sqlite3
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.statedb import DB_NAME, open_state
from fakes.bot_api import FakeBotApi, Fault
from tests.conftest import SHIPPED_CORPUS, article, damage_state, indexing_processes
from tests.e2e.conftest import NEWSBOT, TOKEN, clean_env, newsbot_run


async def run_to_exit(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    """Run `command` to its end (killed if it outlives a minute): its exit code and its stderr."""
    process = await asyncio.create_subprocess_exec(
        *command, cwd=cwd, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        _, stderr = await asyncio.wait_for(process.communicate(), 60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, stderr.decode()


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    """A fake Bot API for a run that ends at start: it answers the token's check and setWebhook."""
    fake = FakeBotApi(TOKEN)
    await fake.start()
    yield fake
    await fake.stop()


@pytest.mark.parametrize("command", [[NEWSBOT, "run"], [sys.executable, "-m", "bot"]])
async def test_missing_token_exits_2_naming_the_variable(command: list[str], tmp_path: Path) -> None:
    returncode, stderr = await run_to_exit(command, tmp_path, clean_env())
    assert returncode == 2
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "TELEGRAM_BOT_TOKEN" in lines[0]


async def test_webhook_without_url_exits_2(tmp_path: Path) -> None:
    returncode, stderr = await run_to_exit(
        [NEWSBOT, "run", "--webhook"], tmp_path, clean_env(TELEGRAM_BOT_TOKEN=TOKEN)
    )
    assert returncode == 2
    assert "WEBHOOK_URL" in stderr


@pytest.mark.parametrize(
    "url",
    [
        "http://bot.example.com/telegram",  # Telegram posts over https only
        "https://bot.example.com:8080/telegram",  # ... and to ports 443, 80, 88 and 8443 only
    ],
)
async def test_a_webhook_url_telegram_would_refuse_exits_2_naming_it(tmp_path: Path, url: str) -> None:
    env = clean_env(TELEGRAM_BOT_TOKEN=TOKEN, CORPUS_DIR=str(SHIPPED_CORPUS), WEBHOOK_URL=url)
    # before any request: a refused setWebhook was retried every 30 s forever
    returncode, stderr = await run_to_exit([NEWSBOT, "run", "--webhook"], tmp_path, env)
    assert returncode == 2
    (line,) = stderr.splitlines()
    assert line.startswith("newsbot: WEBHOOK_URL: ") and url in line and "443, 80, 88 or 8443" in line


async def test_a_refused_webhook_url_that_holds_the_token_is_named_without_it(tmp_path: Path) -> None:
    url = f"http://bot.example.com/{TOKEN}"  # the token as the webhook's path, as many bots make it
    env = clean_env(TELEGRAM_BOT_TOKEN=TOKEN, CORPUS_DIR=str(SHIPPED_CORPUS), WEBHOOK_URL=url)
    returncode, stderr = await run_to_exit([NEWSBOT, "run", "--webhook"], tmp_path, env)
    assert returncode == 2
    (line,) = stderr.splitlines()
    assert line.startswith("newsbot: WEBHOOK_URL: ") and "'http://bot.example.com/[token redacted]'" in line


@pytest.mark.parametrize("secret", ["two words", "s3cret!", "x" * 257, "таємниця"])
async def test_a_webhook_secret_telegram_would_refuse_exits_2_without_showing_it(
    tmp_path: Path, unused_tcp_port: int, secret: str, api: FakeBotApi
) -> None:
    # the fake takes any secret; Telegram refuses these, and its refusal was retried forever
    env = clean_env(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_BASE_URL=api.base_url,
        CORPUS_DIR=str(SHIPPED_CORPUS),
        WEBHOOK_URL=f"http://127.0.0.1:{unused_tcp_port}/hook",
        WEBHOOK_LISTEN="127.0.0.1",
        WEBHOOK_PORT=str(unused_tcp_port),
        WEBHOOK_SECRET_TOKEN=secret,
    )
    returncode, stderr = await run_to_exit([NEWSBOT, "run", "--webhook"], tmp_path, env)
    assert returncode == 2
    (line,) = stderr.splitlines()
    assert line.startswith("newsbot: WEBHOOK_SECRET_TOKEN: ") and "A-Z, a-z, 0-9, _ and -" in line
    assert secret not in line and api.sent("setWebhook") == []


@pytest.mark.parametrize("listen", ["127.0.0.1", "192.0.2.1"])  # a port in use; an address not this machine's
async def test_a_webhook_port_the_bot_cannot_listen_on_exits_2_before_the_build(
    tmp_path: Path, listen: str, api: FakeBotApi
) -> None:
    # another program on the port: one the system gives it, never one found free a moment before
    holder = socket.create_server(("127.0.0.1", 0))
    port = holder.getsockname()[1]
    env = clean_env(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_BASE_URL=api.base_url,
        CORPUS_DIR=str(SHIPPED_CORPUS),
        INDEX_DIR=str(tmp_path / "index"),
        WEBHOOK_URL=f"http://127.0.0.1:{port}/hook",
        WEBHOOK_LISTEN=listen,
        WEBHOOK_PORT=str(port),
    )
    try:
        returncode, stderr = await run_to_exit([NEWSBOT, "run", "--webhook"], tmp_path, env)
    finally:
        holder.close()
    assert returncode == 2  # a traceback and 1 before, after the build
    (line,) = stderr.splitlines()
    where = f"{listen}:{port}"
    assert line.startswith(f"newsbot: WEBHOOK_LISTEN, WEBHOOK_PORT: cannot listen on {where} (")
    assert not (tmp_path / "index").exists() and api.sent("setWebhook") == []


@pytest.mark.parametrize(
    "refusal",
    [
        "Bad Request: bad webhook: Failed to resolve host: Name or service not known",  # a typo in the host
        "Bad Request: bad webhook: IP address 10.0.0.5 is reserved",  # an address Telegram does not post to
    ],
)
async def test_a_webhook_url_the_bot_api_refuses_exits_2_with_its_reason_before_the_build(
    tmp_path: Path, unused_tcp_port: int, api: FakeBotApi, refusal: str
) -> None:
    api.fail("setWebhook", *[Fault(400, refusal)] * 100)  # refused at every try: it was tried every 30 s
    env = clean_env(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_BASE_URL=api.base_url,
        CORPUS_DIR=str(SHIPPED_CORPUS),
        INDEX_DIR=str(tmp_path / "index"),
        WEBHOOK_URL=f"http://127.0.0.1:{unused_tcp_port}/hook",
        WEBHOOK_LISTEN="127.0.0.1",
        WEBHOOK_PORT=str(unused_tcp_port),
    )
    returncode, stderr = await run_to_exit([NEWSBOT, "run", "--webhook"], tmp_path, env)
    assert returncode == 2
    (line,) = stderr.splitlines()
    assert line.startswith("newsbot: WEBHOOK_URL: the Bot API refuses ")
    assert refusal.split("webhook: ")[1].lower() in line.lower()  # as python-telegram-bot words it
    assert not (tmp_path / "index").exists()


async def test_a_damaged_state_file_stops_the_start_with_exit_2_and_what_to_do(
    tmp_path: Path, api: FakeBotApi
) -> None:
    """The bot started on it, and /feeds, alerts and feed rounds failed while it ran, writing into it."""
    damage_state(tmp_path / "state", "backup beside a newer WAL")
    env = clean_env(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_BASE_URL=api.base_url,
        CORPUS_DIR=str(SHIPPED_CORPUS),
        STATE_DIR=str(tmp_path / "state"),
        INDEX_DIR=str(tmp_path / "index"),
    )
    returncode, stderr = await run_to_exit([NEWSBOT, "run"], tmp_path, env)
    assert returncode == 2
    line = stderr.splitlines()[-1]
    assert line.startswith("newsbot: state file ") and DB_NAME in line and "restore it from a backup" in line
    assert api.sent("getUpdates") == []
    assert not (tmp_path / "index").exists()  # said before a build, which may take an hour


@pytest.mark.parametrize("end", ["\n", "\r\n", " "])
async def test_a_token_read_with_its_line_end_is_sent_without_it(
    tmp_path: Path, end: str, api: FakeBotApi
) -> None:
    """As a secret file passed into the environment brings it (Docker, Kubernetes): the start
    failed with a traceback at the token's check, or the token was refused."""
    damage_state(tmp_path / "state", "backup beside a newer WAL")  # the start stops right after the check
    env = clean_env(
        TELEGRAM_BOT_TOKEN=TOKEN + end,
        TELEGRAM_BASE_URL=api.base_url,
        CORPUS_DIR=str(SHIPPED_CORPUS),
        STATE_DIR=str(tmp_path / "state"),
    )
    returncode, stderr = await run_to_exit([NEWSBOT, "run"], tmp_path, env)
    assert returncode == 2
    assert stderr.splitlines()[-1].startswith("newsbot: state file "), stderr  # the token was taken
    assert len(api.sent("getMe")) == 1


@pytest.mark.parametrize("given", ["CORPUS_DIR", "--corpus"])
async def test_a_state_dir_inside_the_corpus_folder_stops_the_start_naming_both(
    tmp_path: Path, api: FakeBotApi, given: str
) -> None:
    # The state file, its -wal and -shm were read as articles of unknown extension (each /reload
    # listed them), and their every write changed the corpus that the watch and reloads read.
    corpus = tmp_path / "corpus"
    shutil.copytree(SHIPPED_CORPUS, corpus)
    settings = {
        "STATE_DIR": str(corpus / "state"),
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_BASE_URL": api.base_url,
    }
    command = [NEWSBOT, "run"]
    if given == "CORPUS_DIR":
        settings["CORPUS_DIR"] = str(corpus)
    else:
        command += ["--corpus", str(corpus)]
    returncode, stderr = await run_to_exit(command, tmp_path, clean_env(**settings))
    assert returncode == 2
    (line,) = stderr.splitlines()
    assert line.startswith(f"newsbot: STATE_DIR {str(corpus / 'state')!r} lies inside the corpus folder "), (
        line
    )
    assert f"{given} {str(corpus)!r}" in line and "move it out" in line
    assert not (corpus / "state").exists()  # nothing was written there
    assert api.sent("getMe") == []  # refused as a bad setting is, before anything else


async def test_a_hidden_state_dir_inside_the_corpus_folder_is_no_part_of_the_corpus(tmp_path: Path) -> None:
    # As the index's folder may be: a name that starts with a dot is not read as articles.
    corpus = tmp_path / "corpus"
    shutil.copytree(SHIPPED_CORPUS, corpus)
    api = FakeBotApi(TOKEN)
    await api.start()
    process = await newsbot_run(
        api,
        tmp_path,
        stdout=asyncio.subprocess.DEVNULL,
        CORPUS_DIR=str(corpus),
        STATE_DIR=str(corpus / ".state"),
        ADMIN_IDS="42",
    )
    try:
        serving = asyncio.ensure_future(api.wait_for("getUpdates", timeout=120))
        exited = asyncio.ensure_future(process.wait())
        await asyncio.wait([serving, exited], return_when=asyncio.FIRST_COMPLETED)
        if exited.done():  # refused as a STATE_DIR read as articles is, at once, with exit code 2
            serving.cancel()
            assert process.stderr is not None
            raise AssertionError(f"exit code {process.returncode}: {(await process.stderr.read()).decode()}")
        await serving
        api.push_message("/follow grain", user_id=7)  # a write of the state file
        (followed,) = await api.wait_for("sendMessage", chat_id=7, timeout=60)
        assert "Following" in followed.params["text"]
        state_files = sorted(path.name for path in (corpus / ".state").iterdir())
        api.push_message("/reload", user_id=42)
        (report,) = await api.wait_for("sendMessage", chat_id=42, timeout=120)
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 60)
    finally:
        if process.returncode is None:
            process.kill()
        await api.stop()
    # the state file and its log lay in the corpus folder while it was read ...
    assert {DB_NAME, f"{DB_NAME}-wal"} <= set(state_files), state_files
    # ... and neither the start nor the reload read them as articles
    assert "Articles: 1 → 1" in report.params["text"]
    assert "No problems found." in report.params["text"]
    assert DB_NAME not in stderr.decode()
    assert process.returncode == 0


@pytest.mark.parametrize("inside", ["\x07", " "])
async def test_a_token_with_a_control_character_or_a_space_inside_exits_2_without_showing_it(
    tmp_path: Path, inside: str
) -> None:
    token = TOKEN.replace("-", inside, 1)  # no request can carry it
    returncode, stderr = await run_to_exit(
        [NEWSBOT, "run"], tmp_path, clean_env(TELEGRAM_BOT_TOKEN=token, CORPUS_DIR=str(SHIPPED_CORPUS))
    )
    assert returncode == 2
    (line,) = stderr.splitlines()
    assert line.startswith("newsbot: TELEGRAM_BOT_TOKEN: holds a space or a control character")
    assert "must-never" not in line


async def test_run_answers_over_http_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    api = FakeBotApi(TOKEN)
    await api.start()
    process = await newsbot_run(api, tmp_path, CORPUS_DIR=str(SHIPPED_CORPUS), LOG_LEVEL="debug")
    try:
        await api.wait_for("deleteWebhook")
        api.push_message("Who negotiated with Abramovich?", user_id=7)
        (reply,) = await api.wait_for("sendMessage", chat_id=7)
        assert "Abramovich" in reply.params["text"]
        # only the kinds of update it acts on: a group's reactions never take its share
        assert api.allowed_updates == {"message", "edited_message", "callback_query", "inline_query"}
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 60)
    finally:
        if process.returncode is None:
            process.kill()
        await api.stop()
    assert process.returncode == 0
    log = stderr.decode()
    # the first start built the index in a child process, whose progress the bot logged
    assert "INFO retrieval.progress: build: started, 1 file\n" in log
    assert "INFO retrieval.progress: build: done, 1 file: 1 article, 2 passages in " in log
    assert "sendMessage" in log  # DEBUG logging was on ...
    assert TOKEN not in log and TOKEN.split(":")[1] not in log  # ... and still no token


async def test_sigterm_during_a_reload_kills_the_child_keeps_the_old_index_and_exits_at_once(
    tmp_path: Path,
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "seed.txt").write_bytes((SHIPPED_CORPUS / "000_eba0014b280aac67.txt").read_bytes())
    filler = " date 2024-01-01 Filler {n}\n\n" + "Weather report number {n} with rain and wind. " * 40
    for number in range(3000):  # seconds of indexing: the child is caught long before it is done
        (corpus / f"filler-{number}.txt").write_text(filler.format(n=number))
    api = FakeBotApi(TOKEN)
    await api.start()
    process = await newsbot_run(api, tmp_path, CORPUS_DIR=str(corpus), ADMIN_IDS="42")
    frozen: list[int] = []
    try:
        await api.wait_for("deleteWebhook", timeout=120)
        cache = tmp_path / ".newsbot-index"
        saved = {path: path.stat().st_mtime_ns for path in cache.rglob("*")}
        for number in range(3000):  # every file changed: the reload reads them all again
            with (corpus / f"filler-{number}.txt").open("a") as stream:
                stream.write("\n\nA late correction about the wind.\n")
        api.push_message("/reload", user_id=42)
        async with asyncio.timeout(60):
            while not (frozen := indexing_processes(corpus)):
                await asyncio.sleep(0.01)
        for pid in frozen:  # the reload can now never finish: a stop that waited for it would hang
            os.kill(pid, signal.SIGSTOP)
        last = api.push_message("Who negotiated with Abramovich?", user_id=7)
        (reply,) = await api.wait_for("sendMessage", chat_id=7)
        assert "Abramovich" in reply.params["text"]  # answered while the reload runs
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 60)
    finally:
        if process.returncode is None:
            process.kill()
        for pid in frozen:  # only if the bot left one behind
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        await api.stop()
    assert process.returncode == 0
    assert "reload abandoned" in stderr.decode()
    assert api.sent("sendMessage", 42) == []  # no "reloaded" report
    assert api.sent("getUpdates")[-1].params["offset"] == last + 1  # processed updates are confirmed
    assert not indexing_processes(corpus)  # the bot killed the (frozen) child before it exited
    assert {path: path.stat().st_mtime_ns for path in cache.rglob("*")} == saved  # cache untouched


def held_deleted(pid: int, folder: Path) -> set[str]:
    """The files below `folder` that process `pid` maps or holds open though they were removed."""
    maps = Path(f"/proc/{pid}/maps").read_text().splitlines()
    held = {line.split(None, 5)[-1] for line in maps if line.endswith(" (deleted)")}
    for descriptor in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):  # closed since it was listed
            held.add(os.readlink(descriptor))
    return {path for path in held if path.startswith(str(folder)) and path.endswith(" (deleted)")}


async def test_a_reload_lets_the_first_saved_build_go_from_the_disk(tmp_path: Path) -> None:
    # The library the bot started with stayed referenced for as long as it ran: after the
    # first /reload its build, removed by the reload's save, stayed mapped and open, a whole
    # index's size of disk in use that no folder showed (1.4 GB at a million passages).
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "seed.txt").write_bytes((SHIPPED_CORPUS / "000_eba0014b280aac67.txt").read_bytes())
    api = FakeBotApi(TOKEN)
    await api.start()
    process = await newsbot_run(
        api,
        tmp_path,
        stdout=asyncio.subprocess.DEVNULL,
        CORPUS_DIR=str(corpus),
        ADMIN_IDS="42",
        INDEX_DIR=str(tmp_path / "index"),
    )
    try:
        await api.wait_for("getUpdates", timeout=120)
        (corpus / "ferry.txt").write_text(article("2024-10-24", "Ferry to Zanzibar", "The ferry sailed."))
        api.push_message("/reload", user_id=42)
        await api.wait_for("sendMessage", chat_id=42, timeout=120)
        api.push_message("Zanzibar ferry", user_id=7)
        (answer,) = await api.wait_for("sendMessage", chat_id=7)
        assert "Zanzibar" in answer.params["text"]  # the reloaded library serves
        held = held_deleted(process.pid, tmp_path / "index")
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.communicate(), 60)
    finally:
        if process.returncode is None:
            process.kill()
        await api.stop()
    assert held == set()


async def test_run_with_corpus_reloads_that_folder_not_the_default_one(tmp_path: Path) -> None:
    # `newsbot run --corpus DIR` served DIR at start, while /reload, the watch of the folder,
    # the check of every file and the feeds took CORPUS_DIR's default, corpus/ in the working
    # folder: a /reload swapped in the articles found there, and DIR's were answered no more.
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "ferry.txt").write_text(
        article("2024-10-24", "Ferry to Zanzibar", "The ferry sailed to Zanzibar.")
    )
    shutil.copytree(SHIPPED_CORPUS, tmp_path / "corpus")  # the default folder, there too
    api = FakeBotApi(TOKEN)
    await api.start()
    process = await newsbot_run(
        api, tmp_path, "--corpus", str(mine), stdout=asyncio.subprocess.DEVNULL, ADMIN_IDS="42"
    )
    try:
        await api.wait_for("getUpdates", timeout=120)
        api.push_message("/reload", user_id=42)
        (report,) = await api.wait_for("sendMessage", chat_id=42, timeout=120)
        api.push_message("Zanzibar ferry", user_id=7)
        (answer,) = await api.wait_for("sendMessage", chat_id=7)
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.communicate(), 60)
    finally:
        if process.returncode is None:
            process.kill()
        await api.stop()
    assert "Corpus reloaded" in report.params["text"]
    assert "Ferry to Zanzibar" in answer.params["text"]


BOUND = 5


async def start_newsbot(api: FakeBotApi, cwd: Path, **values: str) -> asyncio.subprocess.Process:
    """`newsbot run` over the shipped corpus against `api`, ready once it polls."""
    polls = len(api.sent("getUpdates"))
    process = await newsbot_run(
        api, cwd, stdout=asyncio.subprocess.DEVNULL, CORPUS_DIR=str(SHIPPED_CORPUS), **values
    )
    await api.wait_for("getUpdates", count=polls + 1, timeout=120)
    return process


async def confirmed(api: FakeBotApi, offset: int, after: int = 0) -> None:
    """Wait until a `getUpdates` (past the first `after` ones) confirms the updates before `offset`."""
    async with asyncio.timeout(60):
        while not any(seen >= offset for seen, _ in api.confirmations[after:]):
            await asyncio.sleep(0.01)


async def burst_stopped_then_restarted(tmp_path: Path, stop: signal.Signals, answered: int) -> dict[int, int]:
    """60 questions in batches of 20, answered slowly; the bot gets `stop` once it confirmed the
    first batch and sent `answered` answers; a restarted bot answers the rest. Replies per user."""
    api = FakeBotApi(TOKEN)
    await api.start()
    api.batch = 20
    api.latency["sendMessage"] = 0.05
    processes = []
    try:
        processes.append(await start_newsbot(api, tmp_path, MAX_UNANSWERED_UPDATES=str(BOUND)))
        users = range(600, 660)
        last = max(api.push_message(f"zzq{user}", user_id=user) for user in users)
        await confirmed(api, 21)  # the first batch is confirmed (and, with the bound, nearly answered)
        await api.wait_for("sendMessage", count=answered, timeout=60)
        processes[0].send_signal(stop)
        await asyncio.wait_for(processes[0].communicate(), 60)
        assert processes[0].returncode == (0 if stop == signal.SIGTERM else -signal.SIGKILL)
        before = len(api.confirmations)
        processes.append(await start_newsbot(api, tmp_path, MAX_UNANSWERED_UPDATES=str(BOUND)))
        await confirmed(api, last + 1, after=before)  # the restarted bot took all that was left ...
        processes[1].send_signal(signal.SIGTERM)  # ... and answers it before it exits
        await asyncio.wait_for(processes[1].communicate(), 60)
        assert processes[1].returncode == 0
    finally:
        for process in processes:
            if process.returncode is None:
                process.kill()
        await api.stop()
    return {user: len(api.sent("sendMessage", user)) for user in users}


async def test_a_hard_kill_mid_burst_loses_at_most_the_bound(tmp_path: Path) -> None:
    replies = await burst_stopped_then_restarted(tmp_path, signal.SIGKILL, answered=0)  # the worst moment
    lost = [user for user, count in replies.items() if count == 0]
    assert len(lost) <= BOUND  # only what was confirmed and not yet answered
    # answered but not yet confirmed (at most the batch being taken) are answered again
    assert sum(count - 1 for count in replies.values() if count > 1) <= 20


async def test_sigterm_mid_burst_answers_what_it_took_and_a_restart_answers_the_rest_once(
    tmp_path: Path,
) -> None:
    replies = await burst_stopped_then_restarted(tmp_path, signal.SIGTERM, answered=25)  # mid-batch
    assert set(replies.values()) == {1}  # none lost, none answered twice


def queue_alert(state_dir: Path, user: int, headline: str) -> None:
    """Queue an alert for `user` in the state file, as a matched article leaves one."""
    db = open_state(state_dir)
    try:
        db.follow(user, user, "Zanzibar ferry", ("zanzibar", "ferri"), limit=10)
        _, saved = db.claim_article(
            url=f"https://news.example.com/{user}",
            text_hash=f"text-{user}",
            path=f"feeds/links/{user}.md",
            title=headline,
            date=dt.date.today(),
            feed_id=None,
        )
        alert = (user, user, saved.id, "Zanzibar ferry", 0.9, "The Zanzibar ferry sailed.", "zanzibar")
        db.queue_alerts([alert], [saved.id])
    finally:
        db.close()


async def test_a_hard_kill_while_an_alert_is_on_its_way_never_sends_it_twice(tmp_path: Path) -> None:
    # Telegram has taken the alert, and the bot is killed before it learns so: the restarted bot
    # must not send it again. (The alert queued after the kill shows that delivery has run.)
    api = FakeBotApi(TOKEN)
    await api.start()
    api.latency["sendMessage"] = 10.0  # acted on at once, answered long after the kill
    state_dir = Path(os.environ["STATE_DIR"])
    queue_alert(state_dir, 7, "Zanzibar ferry service resumes")
    processes = []
    try:
        processes.append(await start_newsbot(api, tmp_path, FEED_INTERVAL="0"))
        await api.wait_for("sendMessage", chat_id=7, timeout=60)
        processes[0].kill()
        await processes[0].wait()
        api.latency["sendMessage"] = 0.0
        queue_alert(state_dir, 8, "A second Zanzibar ferry")
        processes.append(await start_newsbot(api, tmp_path, FEED_INTERVAL="0"))
        await api.wait_for("sendMessage", chat_id=8, timeout=60)  # delivery ran, longest waiting first
    finally:
        for process in processes:
            if process.returncode is None:
                process.kill()
        await api.stop()
    assert len(api.sent("sendMessage", 7)) == 1


async def test_a_hard_kill_while_an_alert_is_on_its_way_leaves_none_of_its_passages_in_the_state_file(
    tmp_path: Path,
) -> None:
    # What a sent alert showed is cleared as it is taken for sending, in the same write: a
    # kill before Telegram answers leaves neither a second alert nor the reader's passages.
    api = FakeBotApi(TOKEN)
    await api.start()
    api.held[7] = asyncio.Event()  # Telegram never answers the alert
    state_dir = Path(os.environ["STATE_DIR"])
    db = open_state(state_dir)
    db.follow(7, 7, "Zanzibar ferry", ("zanzibar", "ferri"), limit=10)
    db.follow(7, 7, "ferry", ("ferri",), limit=10)
    _, saved = db.claim_article(
        url="https://news.example.com/7",
        text_hash="t7",
        path="feeds/links/7.md",
        title="Ferry",
        date=dt.date.today(),
        feed_id=None,
    )
    passages = {
        "Zanzibar ferry": "The Zanzibar ferry sailed at dawn. " * 150,
        "ferry": "A ferry came in. " * 300,
    }
    db.queue_alerts(
        [(7, 7, saved.id, topic, 0.9, passage, "ferri") for topic, passage in passages.items()], [saved.id]
    )
    process = await start_newsbot(api, tmp_path, FEED_INTERVAL="0")
    try:
        async with asyncio.timeout(60):
            while db.pending_alerts(7):  # until the bot takes it for sending
                await asyncio.sleep(0.05)
        process.kill()
        await process.wait()
    finally:
        api.held[7].set()
        if process.returncode is None:
            process.kill()
        await api.stop()
    db.close()
    open_state(state_dir).close()  # as the next start finds it
    for file in state_dir.iterdir():
        assert b"sailed at dawn" not in file.read_bytes() and b"came in" not in file.read_bytes()
    with contextlib.closing(sqlite3.connect(state_dir / DB_NAME)) as kept:  # never to be sent again
        assert kept.execute("SELECT user_id, article_id, kind FROM alerts WHERE sent_at > 0").fetchall() == [
            (7, saved.id, "alert")
        ]

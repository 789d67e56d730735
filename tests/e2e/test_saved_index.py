"""The running bot and its saved index: damage under it is never shown, and /reload repairs it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import resource
import shutil
import signal
import subprocess
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from bot.feed_jobs import settle
from bot.state import BotState
from fakes.bot_api import Call
from retrieval import Library
from retrieval import folder as folder_module
from retrieval.store import DAMAGED, POINTER, TEXTS
from tests.conftest import (
    BUILD_INDEX,
    SHIPPED_CORPUS,
    alive,
    article,
    indexing_processes,
    saved_place,
    signalled_at_rename,
)
from tests.e2e.conftest import ADMIN, RunningBot, StartBot, wait_for_log

QUESTION = "Who negotiated with Abramovich?"
RECENT_S = folder_module.RECENT_NS / 1e9  # as shipped, before `fine_clock` sets it to 0


def served(bot: RunningBot) -> Library:
    """The library the bot serves now."""
    state: BotState = bot.application.bot_data["state"]
    return state.library


def current_build(index_dir: Path) -> Path:
    place = saved_place(index_dir)
    return place / (place / POINTER).read_text().split()[0]


@pytest.mark.parametrize("how", ["truncate", "edit"])
async def test_texts_damaged_under_the_running_bot_are_never_shown_and_reload_rebuilds(
    start_bot: StartBot, caplog: pytest.LogCaptureFixture, how: str
) -> None:
    bot = await start_bot(saved_index=True)
    answer = (await bot.ask(QUESTION)).params["text"]
    assert "Abramovich" in answer
    build = current_build(bot.settings.index_dir)
    with (build / TEXTS).open("r+b") as texts:  # in place, as an editor or a failing disk would
        if how == "truncate":
            texts.truncate(100)  # memory-mapped, this killed the bot with SIGBUS
        else:
            texts.seek(200)
            texts.write(b"FORGED")

    assert (await bot.ask(QUESTION)).params["text"] == answer  # read again from the corpus file
    damage = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(damage) == 1 and f"{TEXTS}: article 0" in damage[0] and "saved index damaged" in damage[0]
    assert (build / DAMAGED).exists()

    assert "Corpus reloaded" in (await bot.ask("/reload", user_id=ADMIN)).params["text"]
    rebuilt = current_build(bot.settings.index_dir)
    assert rebuilt != build and not (rebuilt / DAMAGED).exists()
    assert (await bot.ask(QUESTION)).params["text"] == answer
    assert "FORGED" not in str(bot.api.calls)


@pytest.mark.parametrize("planted", ["symlink", "fifo"])
async def test_texts_damaged_under_the_running_bot_are_marked_so_in_a_new_file_whatever_was_planted_there(
    start_bot: StartBot, tmp_path: Path, planted: str
) -> None:
    # Whoever may write the index folder can plant a link or a named pipe at the name of the
    # mark that a damaged saved index gets (`damaged`). The mark was written through a link
    # (over the file it leads to: the bot's .env, its state file), and into a pipe no one
    # reads it waited for good, holding a search thread and the answer, and a stop with them.
    bot = await start_bot(saved_index=True)
    answer = (await bot.ask(QUESTION)).params["text"]
    build = current_build(bot.settings.index_dir)
    precious = tmp_path / "precious.env"
    precious.write_text("TELEGRAM_BOT_TOKEN=kept\n")
    if planted == "symlink":
        (build / DAMAGED).symlink_to(precious)
    else:
        os.mkfifo(build / DAMAGED)
    with (build / TEXTS).open("r+b") as texts:
        texts.seek(200)
        texts.write(b"FORGED")
    try:
        assert (await bot.ask(QUESTION)).params["text"] == answer  # read again from the corpus file
    finally:
        if (build / DAMAGED).is_fifo():  # let a writer stuck on it go, whatever the outcome
            with contextlib.suppress(OSError):
                os.close(os.open(build / DAMAGED, os.O_RDONLY | os.O_NONBLOCK))
    assert precious.read_text() == "TELEGRAM_BOT_TOKEN=kept\n"
    assert (build / DAMAGED).is_file() and not (build / DAMAGED).is_symlink()
    assert f"{TEXTS}: article 0" in (build / DAMAGED).read_text()
    assert "Corpus reloaded" in (await bot.ask("/reload", user_id=ADMIN)).params["text"]
    assert current_build(bot.settings.index_dir) != build


async def test_reload_replaces_texts_edited_while_the_bot_runs_before_any_answer_reads_them(
    start_bot: StartBot,
) -> None:
    """/reload checks every saved text at open, so an edit nobody has read yet does not survive it."""
    bot = await start_bot(saved_index=True)
    build = current_build(bot.settings.index_dir)
    with (build / TEXTS).open("r+b") as texts:
        texts.seek(200)
        texts.write(b"FORGED")
    assert "Corpus reloaded" in (await bot.ask("/reload", user_id=ADMIN)).params["text"]
    rebuilt = current_build(bot.settings.index_dir)
    assert rebuilt != build
    assert b"FORGED" not in (rebuilt / TEXTS).read_bytes()
    assert "Abramovich" in (await bot.ask(QUESTION)).params["text"]


@contextlib.asynccontextmanager
async def reload_behind_a_suspended_holder(
    bot: RunningBot,
) -> AsyncIterator[tuple[subprocess.Popen[bytes], Call]]:
    """An admin's /reload behind a build suspended (SIGSTOP) as it saves the index: the
    holder and the bot's first reply; the holder goes on when the block ends, and ends well."""
    holder = await asyncio.to_thread(
        signalled_at_rename, BUILD_INDEX, signal.SIGSTOP, str(bot.corpus), str(bot.settings.index_dir)
    )
    try:
        bot.api.push_message("/reload", user_id=ADMIN)
        (notice,) = await bot.api.wait_for("sendMessage", chat_id=ADMIN, timeout=120)
        yield holder, notice
    finally:
        holder.send_signal(signal.SIGCONT)
    assert await asyncio.to_thread(holder.wait, 120) == 0


async def test_a_reload_behind_a_suspended_holder_of_the_index_says_so_at_once_and_reports_when_it_goes_on(
    start_bot: StartBot,
) -> None:
    # `newsbot ask` suspended with Ctrl-Z while it saves the index /reload reads: the admin
    # waited with no word why, for as long as it stayed suspended
    bot = await start_bot()
    async with reload_behind_a_suspended_holder(bot) as (holder, notice):
        said = (
            f"Another process (pid {holder.pid}) is working on the saved index, perhaps suspended with Ctrl-Z"
        )
        assert notice.params["text"].startswith(said)
        assert bot.application.bot_data["state"].reloads.running  # waiting still, not failed
    report = (await bot.api.wait_for("sendMessage", chat_id=ADMIN, count=2, timeout=120))[1]
    assert "Corpus reloaded" in report.params["text"]
    assert "Abramovich" in (await bot.ask(QUESTION)).params["text"]


async def test_an_admin_who_blocked_the_bot_is_forgotten_at_the_notice_that_their_reload_waits(
    start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    # README: a reader who blocks the bot loses their topics once Telegram refuses a message
    # to them. The notice that a /reload waits for another process is one: its 403 forgets the
    # admin then, not only at the report, which waits as long as that process stays suspended.
    bot = await start_bot()
    await bot.ask("/follow grain exports", user_id=ADMIN)
    holder = await asyncio.to_thread(
        signalled_at_rename, BUILD_INDEX, signal.SIGSTOP, str(bot.corpus), str(bot.settings.index_dir)
    )
    try:
        bot.api.blocked.add(ADMIN)
        bot.api.push_message("/reload", user_id=ADMIN)
        async with asyncio.timeout(60):
            while "blocked the bot" not in caplog.text and "that its command waits" not in caplog.text:
                await asyncio.sleep(0.02)
        assert bot.application.bot_data["state"].reloads.running  # the reload still waits
        assert f"user {ADMIN} blocked the bot" in caplog.text
        assert bot.application.bot_data["feeds"].db.topics() == []
    finally:
        holder.send_signal(signal.SIGCONT)
    assert await asyncio.to_thread(holder.wait, 120) == 0


async def test_a_stop_while_a_reload_waits_for_a_suspended_holder_of_the_index_ends_the_reload_alone(
    start_bot: StartBot,
) -> None:
    bot = await start_bot()
    async with reload_behind_a_suspended_holder(bot) as (holder, _told_why_it_waits):
        waiting = indexing_processes(bot.corpus)  # the reload's own child, not the holder
        assert waiting and holder.pid not in waiting
        await bot.application.updater.stop()
        await bot.application.stop()  # at once, though the holder may stay suspended for days
        assert not any(alive(pid) for pid in waiting) and alive(holder.pid)
    assert len(bot.api.sent("sendMessage", ADMIN)) == 1  # no report of a reload that never ran


@pytest.fixture
def fine_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Trust the times of folders changed just now (see tests/test_store.py)."""
    monkeypatch.setattr(folder_module, "RECENT_NS", 0)


def edit_in_place(corpus: Path) -> None:
    """An editor saves over an article while the bot is stopped: no folder changes."""
    path = corpus / "000_eba0014b280aac67.txt"
    path.write_text(path.read_text().replace("Abramovich", "Berezovsky"))


async def test_an_edit_in_place_before_a_start_is_served_once_the_background_check_finds_it(
    start_bot: StartBot, caplog: pytest.LogCaptureFixture, fine_clock: None
) -> None:
    """The start serves the saved index on the folders' check; the check of every file, in a
    child process, then finds the edit and the bot swaps in the updated index, answering meanwhile."""
    bot = await start_bot(saved_index=True, then=edit_in_place)
    await bot.ask("Who negotiated with Abramovich?")  # answered, from the saved or the updated index
    await wait_for_log(caplog, "corpus changed since it was saved", timeout=120)
    assert "Berezovsky" in (await bot.ask("Who negotiated with Berezovsky?")).params["text"]
    assert "Abramovich" not in (await bot.ask("Who negotiated with Abramovich?")).params["text"]
    assert bot.application.bot_data["state"].library.is_current()


async def test_an_unchanged_corpus_is_checked_in_the_background_and_kept(
    start_bot: StartBot, caplog: pytest.LogCaptureFixture, fine_clock: None
) -> None:
    bot = await start_bot(saved_index=True, then=lambda corpus: None)
    served = bot.application.bot_data["state"].library
    await wait_for_log(caplog, "every corpus file is as the saved index was built from", timeout=120)
    assert bot.application.bot_data["state"].library is served
    assert "Abramovich" in (await bot.ask("Who negotiated with Abramovich?")).params["text"]


async def test_a_stop_during_the_background_check_kills_its_child_and_keeps_the_saved_index(
    start_bot: StartBot, caplog: pytest.LogCaptureFixture, fine_clock: None, tmp_path: Path
) -> None:
    """The check of every file after a start is abandoned as a reload is: the bot stops at
    once, its child with it, and the index saved before stays the one served."""
    corpus = tmp_path / "corpus"  # the bot's corpus (see `start_bot`), written here first
    shutil.copytree(SHIPPED_CORPUS, corpus)
    filler = "Weather report number {n} with rain and wind. " * 40
    for n in range(3000):  # seconds of reading for the child
        path = corpus / f"filler-{n}.txt"
        path.write_text(article("2024-01-01", f"Filler {n}", filler.format(n=n)))
        os.utime(path, (1e9, 1e9))
    # settled: the build's worker processes (which `fine_clock` does not reach) trust their
    # change times, which no `utime` sets back
    await asyncio.sleep(RECENT_S)

    def correct_every_filler(corpus: Path) -> None:  # in place, while the bot is stopped
        for path in corpus.glob("filler-*.txt"):
            with path.open("a") as stream:
                stream.write("\n\nA late correction about the wind.\n")

    bot = await start_bot(saved_index=True, then=correct_every_filler)
    state = bot.application.bot_data["state"]
    served = state.library
    frozen: list[int] = []
    try:
        async with asyncio.timeout(60):
            while not (frozen := indexing_processes(bot.corpus)):
                await asyncio.sleep(0.01)
        for pid in frozen:  # the check can now never finish: a stop that waited for it would hang
            os.kill(pid, signal.SIGSTOP)
        assert "Abramovich" in (await bot.ask(QUESTION)).params["text"]  # answered meanwhile
        await bot.application.updater.stop()
        await asyncio.wait_for(bot.application.stop(), 60)
        await wait_for_log(caplog, "background check of the corpus abandoned")
        assert not indexing_processes(bot.corpus)  # the stop killed the (frozen) child
    finally:
        for pid in frozen:  # only if the bot left one behind
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    assert state.library is served and served.is_current()  # nothing swapped in, nothing saved over it


FULL_AT = 256 * 1024
ARCHIVE = {
    "archive.txt": article(
        "2023-01-01",
        "Harbour archive",
        *(
            f"Log {n}: the harbour master noted ships, tides and the weather on day {n}. " * 12
            for n in range(400)
        ),
    )
}
"""An article of some 380 KB: no saved index of a corpus holding it fits in `FULL_AT`."""


@pytest.fixture
def full_disk() -> Iterator[Callable[[], None]]:
    """Once called, no file this process or a child of it writes may grow past `FULL_AT`
    (EFBIG, as ENOSPC on a full disk): the state file still fits, a saved index does not."""
    before = resource.getrlimit(resource.RLIMIT_FSIZE)

    def fill() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (FULL_AT, before[1]))

    yield fill
    resource.setrlimit(resource.RLIMIT_FSIZE, before)


async def test_reload_serves_a_corpus_edited_in_place_when_its_index_cannot_be_saved(
    start_bot: StartBot, caplog: pytest.LogCaptureFixture, fine_clock: None, full_disk: Callable[[], None]
) -> None:
    """The indexer's update is in memory only; the bot must not take the saved index, which
    still looks current to a check of the folders, for the corpus as it is now."""
    bot = await start_bot(saved_index=True, articles=ARCHIVE)
    assert "Abramovich" in (await bot.ask(QUESTION)).params["text"]
    edit_in_place(bot.corpus)
    full_disk()
    assert "Corpus reloaded" in (await bot.ask("/reload", user_id=ADMIN)).params["text"]
    assert "File too large" in caplog.text  # the save was refused, and said so
    assert "Berezovsky" in (await bot.ask("Who negotiated with Berezovsky?")).params["text"]
    assert "Abramovich" not in (await bot.ask(QUESTION)).params["text"]


async def test_an_edit_in_place_before_a_start_is_served_when_its_index_cannot_be_saved(
    start_bot: StartBot, caplog: pytest.LogCaptureFixture, fine_clock: None, full_disk: Callable[[], None]
) -> None:
    def edit_on_a_full_disk(corpus: Path) -> None:
        edit_in_place(corpus)
        full_disk()

    bot = await start_bot(saved_index=True, articles=ARCHIVE, then=edit_on_a_full_disk)
    outcomes = ("corpus changed since it was saved", "every corpus file is as the saved index was built from")
    async with asyncio.timeout(120):
        while not any(outcome in caplog.text for outcome in outcomes):
            await asyncio.sleep(0.02)
    assert outcomes[0] in caplog.text and "File too large" in caplog.text
    assert "Berezovsky" in (await bot.ask("Who negotiated with Berezovsky?")).params["text"]


FERRY = article("2024-10-24", "Zanzibar ferry resumes", "The Zanzibar ferry service resumed on Monday.")
KITE = article("2024-10-25", "Kite festival in Galle", "Thousands flew kites over the Galle fort on Sunday.")


def space_freed() -> None:
    """The full disk has room again (undoes `full_disk`)."""
    _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, hard))


async def test_files_dropped_in_after_a_full_disk_episode_are_served(
    start_bot: StartBot, full_disk: Callable[[], None]
) -> None:
    # the library read while the save failed was served from memory, and had no record of its
    # folders: the every-minute look took that as "nothing changed" for the rest of the run
    bot = await start_bot(saved_index=True, articles=ARCHIVE)
    full_disk()
    (bot.corpus / "ferry.txt").write_text(FERRY, encoding="utf-8")
    await settle(bot.application)  # served from memory, the save refused
    assert "Zanzibar ferry resumes" in (await bot.ask("Zanzibar ferry")).params["text"]
    space_freed()
    (bot.corpus / "kite.txt").write_text(KITE, encoding="utf-8")
    await settle(bot.application)
    assert "Kite festival in Galle" in (await bot.ask("Galle kites")).params["text"]
    assert served(bot).is_current()  # read again once there was room: saved, and mapped from the disk


async def test_a_bot_whose_first_save_failed_serves_the_files_dropped_in(
    start_bot: StartBot, caplog: pytest.LogCaptureFixture, fine_clock: None, full_disk: Callable[[], None]
) -> None:
    # `newsbot run` on a full disk built the corpus in memory and never looked at its folders again
    bot = await start_bot(first_build=True, articles=ARCHIVE, then=lambda corpus: full_disk())
    assert "File too large" in caplog.text and served(bot).build is None  # served from memory
    caplog.clear()
    await settle(bot.application)
    assert "the corpus folder changed" not in caplog.text  # a look at the folders, no read
    (bot.corpus / "desk").mkdir()
    (bot.corpus / "desk" / "ferry.txt").write_text(FERRY, encoding="utf-8")
    await settle(bot.application)  # the disk still full: read, and served from memory
    assert "Zanzibar ferry resumes" in (await bot.ask("Zanzibar ferry")).params["text"]
    space_freed()
    (bot.corpus / "desk" / "ferry.txt").rename(bot.corpus / "kite.txt")
    (bot.corpus / "kite.txt").write_text(KITE, encoding="utf-8")
    await settle(bot.application)
    assert "Kite festival in Galle" in (await bot.ask("Galle kites")).params["text"]
    assert "Zanzibar ferry resumes" not in (await bot.ask("Zanzibar ferry")).params["text"]
    assert served(bot).is_current()

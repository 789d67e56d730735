"""The running bot and its saved index: damage under it is never shown, and /reload repairs it."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from retrieval import folder as folder_module
from retrieval.store import DAMAGED, POINTER, TEXTS
from tests.conftest import saved_place
from tests.e2e.conftest import ADMIN, StartBot, wait_for_log

QUESTION = "Who negotiated with Abramovich?"


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

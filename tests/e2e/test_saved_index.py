"""The running bot and its saved index: damage under it is never shown, and /reload repairs it."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from retrieval.store import DAMAGED, POINTER, TEXTS
from tests.e2e.conftest import ADMIN, StartBot

QUESTION = "Who negotiated with Abramovich?"


def current_build(index_dir: Path) -> Path:
    return index_dir / (index_dir / POINTER).read_text().split()[0]


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

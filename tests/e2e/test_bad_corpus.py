"""A corpus full of bad entries never stops the bot, at start-up or on /reload.

The bot runs as `newsbot run`, a process against the fake Bot API on 127.0.0.1, so that
a bot that would hang on a bad entry is killed and fails the test instead of the suite.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from fakes.bot_api import FakeBotApi
from tests.conftest import HOSTILE, SHIPPED_CORPUS, add_hostile, article
from tests.e2e.conftest import ADMIN, TOKEN, newsbot_run

SAFETY_NET = 120
"""Seconds after which a reply that never comes fails the test instead of hanging it."""


def add_every_hostile_entry(corpus: Path) -> list[str]:
    """Every kind of hostile entry, and a `.jsonl` of 30,000 broken lines; their report names
    (of those lines, the first hundred, and one that counts the rest)."""
    names = [add_hostile(corpus, kind) for kind in HOSTILE]
    (corpus / "junk.jsonl").write_text("\n".join("{broken" for _ in range(30_000)))
    return [*names, *(f"junk.jsonl:{line}" for line in range(1, 101)), "junk.jsonl"]


@asynccontextmanager
async def running_bot(tmp_path: Path, corpus: Path) -> AsyncIterator[tuple[FakeBotApi, Path]]:
    """`newsbot run` over `corpus`, serving once it has started; yields the fake API and its log."""
    api = FakeBotApi(TOKEN)
    await api.start()
    log = tmp_path / "stderr.log"  # a file, not a pipe nobody reads until the end
    with log.open("wb") as stderr:
        process = await newsbot_run(
            api,
            tmp_path,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=stderr,
            CORPUS_DIR=str(corpus),
            INDEX_DIR=str(tmp_path / "index"),
            ADMIN_IDS=str(ADMIN),
        )
    try:
        polling = asyncio.ensure_future(api.wait_for("deleteWebhook", timeout=SAFETY_NET))
        exited = asyncio.ensure_future(process.wait())
        await asyncio.wait([polling, exited], return_when=asyncio.FIRST_COMPLETED)
        assert not exited.done(), f"exit {process.returncode}: {log.read_text()[-500:]}"
        await polling
        yield api, log
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()
        await api.stop()


async def test_reload_over_hostile_entries_lists_five_problems_and_a_count(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(SHIPPED_CORPUS, corpus)
    async with running_bot(tmp_path, corpus) as (api, _):
        problems = add_every_hostile_entry(corpus)
        (corpus / "chess.txt").write_text(
            article("2024-10-24", "Chess olympiad ends", "India won the chess olympiad in Budapest.")
        )
        api.push_message("/reload", user_id=ADMIN)
        (reply,) = await api.wait_for("sendMessage", chat_id=ADMIN, timeout=SAFETY_NET)
        text = reply.params["text"]
        assert "Corpus reloaded" in text
        assert "Articles: 1 → 2" in text
        assert f"{len(problems):,} files or lines could not be loaded:" in text
        bullets = [line[2:].split(": ", 1)[0] for line in text.split("\n") if line.startswith("• ")]
        assert bullets == ["big.jsonl:1", "caf\\xe9.txt", "deep.md", "junk.jsonl:1", "junk.jsonl:2"]
        assert text.endswith(f"… and {len(problems) - 5:,} more; <code>newsbot stats</code> lists them all.")
        api.push_message("Who won the chess olympiad?", user_id=7)
        api.push_message("zyzzyva memo", user_id=8)  # the article a link out of the folder points to
        (chess,) = await api.wait_for("sendMessage", chat_id=7, timeout=SAFETY_NET)
        (memo,) = await api.wait_for("sendMessage", chat_id=8, timeout=SAFETY_NET)
    assert "India <b>won</b> the <b>chess</b> <b>olympiad</b>" in chess.params["text"]
    assert "I found nothing" in memo.params["text"]


async def test_run_starts_and_answers_over_a_corpus_with_hostile_entries(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(SHIPPED_CORPUS, corpus)
    problems = add_every_hostile_entry(corpus)
    async with running_bot(tmp_path, corpus) as (api, log):
        api.push_message("Who negotiated with Abramovich?", user_id=7)
        (reply,) = await api.wait_for("sendMessage", chat_id=7, timeout=SAFETY_NET)
    assert "Abramovich" in reply.params["text"]
    skipped = [line for line in log.read_text().splitlines() if "skipped" in line]
    assert "skipped big.jsonl:1: holds a 5,000-digit number" in skipped[0]
    assert f"skipped {len(problems) - 20:,} more; `newsbot stats` lists every problem" in skipped[-1]
    assert len(skipped) == 21  # the first twenty and a count, never a flood


@pytest.mark.parametrize(
    "files", [{}, {"broken.txt": "no date line\n\nbody\n"}], ids=["empty", "one-bad-file"]
)
async def test_run_starts_on_a_corpus_with_no_readable_article_and_serves_the_first_one_added(
    tmp_path: Path, files: dict[str, str]
) -> None:
    # `newsbot run` exited 2 before polling: a folder that feeds were to fill (an empty volume,
    # `install -d`) restarted in a loop, and no admin could send the /feeds add that fills it
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in files.items():
        (corpus / name).write_text(text)
    async with running_bot(tmp_path, corpus) as (api, log):
        api.push_message("/help", user_id=7)
        api.push_message("Who won the chess olympiad?", user_id=8)
        (help_text,) = await api.wait_for("sendMessage", chat_id=7, timeout=SAFETY_NET)
        (nothing,) = await api.wait_for("sendMessage", chat_id=8, timeout=SAFETY_NET)
        (corpus / "chess.txt").write_text(
            article("2024-10-24", "Chess olympiad ends", "India won the chess olympiad in Budapest.")
        )
        api.push_message("/reload", user_id=ADMIN)
        (reloaded,) = await api.wait_for("sendMessage", chat_id=ADMIN, timeout=SAFETY_NET)
        api.push_message("Who won the chess olympiad?", user_id=8)
        answered = (await api.wait_for("sendMessage", chat_id=8, count=2, timeout=SAFETY_NET))[1]
    assert "I hold none yet" in help_text.params["text"]
    assert nothing.params["text"].startswith("I hold no articles yet")
    assert "Articles: 0 → 1" in reloaded.params["text"]
    assert "India <b>won</b> the <b>chess</b> <b>olympiad</b>" in answered.params["text"]
    logged = log.read_text()
    assert "has no readable article" in logged and "serving none until one is added" in logged
    assert ("skipped broken.txt: line 1 is not" in logged) == bool(files)

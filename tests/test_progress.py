"""How far a build is: steps from the library, log lines from them, and the bot's log of its child."""

from __future__ import annotations

import itertools
import logging
from pathlib import Path

import pytest

from bot.reloading import index_in_child_process
from retrieval import BuildStep, Library, ProgressLog
from retrieval.store import MANIFEST
from tests.conftest import WriteCorpus, article, saved_place


class Clock:
    """Seconds that pass only when a test says so."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("steps", "lines"),
    [
        # a step of 5% is not worth a line; 10% more than the last line is
        (
            [(0, 0), (5, 1), (10, 2), (15, 3), (60, 4)],
            [
                "build: started, 100 files",
                "build: 10 of 100 files (10%), 2 s",
                "build: 60 of 100 files (60%), 4 s",
            ],
        ),
        # a slow build says how far it is at least every half minute, whatever the share
        (
            [(0, 0), (1, 31), (2, 40), (3, 62)],
            [
                "build: started, 100 files",
                "build: 1 of 100 files (1%), 31 s",
                "build: 3 of 100 files (3%), 62 s",
            ],
        ),
        # every tenth is told, although 0.3 - 0.2 < 0.1 in floating point
        (
            [(0, 0), (10, 1), (20, 2), (30, 3)],
            [
                "build: started, 100 files",
                "build: 10 of 100 files (10%), 1 s",
                "build: 20 of 100 files (20%), 2 s",
                "build: 30 of 100 files (30%), 3 s",
            ],
        ),
        # a step that skips a tenth is told once
        (
            [(0, 0), (15, 1), (35, 2)],
            [
                "build: started, 100 files",
                "build: 15 of 100 files (15%), 1 s",
                "build: 35 of 100 files (35%), 2 s",
            ],
        ),
        # a job begun again (an update that turned into a build) is told from its new start
        (
            [(0, 0), (50, 1), (0, 2), (100, 5, True)],
            [
                "build: started, 100 files",
                "build: 50 of 100 files (50%), 1 s",
                "build: started, 100 files",
                "build: done, 100 files in 3.0 s",
            ],
        ),
        # the end is always told, with the time it took
        ([(0, 0), (100, 7.5, True)], ["build: started, 100 files", "build: done, 100 files in 7.5 s"]),
    ],
)
def test_progress_lines_come_every_tenth_or_half_minute_and_at_the_end(
    caplog: pytest.LogCaptureFixture, steps: list[tuple[float, ...]], lines: list[str]
) -> None:
    caplog.set_level(logging.INFO, logger="retrieval.progress")
    clock = Clock()
    log = ProgressLog(clock=clock)
    for done, at, *finished in steps:
        clock.now = 100.0 + at
        log.update(int(done), 100, finished=bool(finished))
    assert [record.getMessage() for record in caplog.records] == lines


def test_progress_lines_name_counts_in_the_singular_for_one(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="retrieval.progress")
    log = ProgressLog()
    log(BuildStep("build", 0, 1))
    log(BuildStep("build", 1, 1, articles=1, passages=1, finished=True))
    assert caplog.records[0].getMessage() == "build: started, 1 file"
    assert caplog.records[1].getMessage().startswith("build: done, 1 file: 1 article, 1 passage in ")


def big_corpus(write_corpus: WriteCorpus, files: int) -> Path:
    filler = "Weather report number {n} with rain and wind over the harbour. " * 20
    return write_corpus(
        {f"f{n:04d}.txt": article("2024-01-01", f"Filler {n}", filler.format(n=n)) for n in range(files)}
    )


def test_a_build_over_workers_tells_each_chunk_in_order_then_that_it_is_saved(
    write_corpus: WriteCorpus, tmp_path: Path
) -> None:
    root = big_corpus(write_corpus, 40)
    steps: list[BuildStep] = []
    library = Library.load(root, index_dir=tmp_path / "index", workers=2, progress=steps.append)
    assert steps[0] == BuildStep("build", 0, 40)  # files listed, nothing read yet
    chunks = steps[1:-1]
    assert len(chunks) == 8  # 4 chunks a worker: 5 files each
    assert [step.done for step in chunks] == list(range(5, 41, 5))
    assert [step.articles for step in chunks] == list(range(5, 41, 5))
    assert all(a.passages < b.passages for a, b in itertools.pairwise(chunks))
    assert steps[-1] == BuildStep(
        "build", 40, 40, len(library.articles), len(library.passages), finished=True
    )
    assert (saved_place(tmp_path / "index") / "current").exists()  # told once it is saved

    steps.clear()
    Library.load(root, index_dir=tmp_path / "index", progress=steps.append)
    assert steps == []  # opened as saved: no build, nothing to tell
    (root / "f0007.txt").write_text(article("2024-01-02", "Changed", "Snow now."))
    (root / "new.txt").write_text(article("2024-01-03", "New", "Sun later."))
    updated = Library.load(root, index_dir=tmp_path / "index", progress=steps.append)
    assert steps == [
        BuildStep("update", 0, 2),
        BuildStep("update", 2, 2, len(updated.articles), len(updated.passages), finished=True),
    ]


def test_a_build_in_memory_tells_its_start_and_end(write_corpus: WriteCorpus) -> None:
    root = big_corpus(write_corpus, 3)
    steps: list[BuildStep] = []
    library = Library.load(root, progress=steps.append)
    assert steps == [
        BuildStep("build", 0, 3),
        BuildStep("build", 3, 3, 3, len(library.passages), finished=True),
    ]


async def test_the_bot_logs_what_its_indexing_child_logs_as_it_comes(
    write_corpus: WriteCorpus, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    root = big_corpus(write_corpus, 3)
    assert await index_in_child_process(root, tmp_path / "index")
    told = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "retrieval.progress"]
    assert told[0] == ("INFO", "build: started, 3 files")
    assert any(text.startswith("build: 3 of 3 files (100%), 3 articles, 3 passages, ") for _, text in told)
    assert told[-1][0] == "INFO" and told[-1][1].startswith(
        "build: done, 3 files: 3 articles, 3 passages in "
    )

    caplog.clear()
    manifest = saved_place(tmp_path / "index") / str(Library.load(root, index_dir=tmp_path / "index").build)
    (manifest / MANIFEST).write_text("{}")  # damaged: the child warns, then builds again
    assert await index_in_child_process(root, tmp_path / "index")
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.name for r in warnings] == ["retrieval.library"]
    assert "saved index not used, building it again" in warnings[0].getMessage()
    assert "build: started, 3 files" in caplog.text


async def test_a_failed_child_is_logged_with_what_it_printed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    missing = tmp_path / "missing"
    assert not await index_in_child_process(missing, tmp_path / "index")
    (failed,) = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert failed.startswith("indexing in a child process failed (1): ")
    assert "does not exist" in failed

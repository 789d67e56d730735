"""`python -m retrieval CORPUS INDEX_DIR`: the index built apart from the bot, as /reload does."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

from retrieval import Library
from tests.conftest import SHIPPED_CORPUS, WriteCorpus


def index(corpus: Path, cache: Path, **run: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "retrieval", str(corpus), str(cache)],
        capture_output=True,
        text=True,
        timeout=60,
        **run,  # type: ignore[call-overload]
    )


def test_builds_the_saved_index_the_bot_then_maps(tmp_path: Path) -> None:
    done = index(SHIPPED_CORPUS, tmp_path / "index", stdin=subprocess.DEVNULL)  # as from cron
    assert done.returncode == 0, done.stderr
    assert "1 articles, 2 passages indexed" in done.stdout
    library = Library.open_current(SHIPPED_CORPUS, tmp_path / "index")
    assert library is not None
    assert "Abramovich" in library.search("Who negotiated with Abramovich?").hits[0].passage.text


def test_an_unreadable_corpus_exits_1_with_the_reason(write_corpus: WriteCorpus, tmp_path: Path) -> None:
    done = index(write_corpus({"bad.txt": "no date line"}), tmp_path / "index", stdin=subprocess.DEVNULL)
    assert done.returncode == 1
    assert "has no readable article" in done.stderr
    assert index(tmp_path / "missing", tmp_path / "index").returncode == 1


def test_bad_usage_exits_2() -> None:
    done = subprocess.run([sys.executable, "-m", "retrieval"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "usage: python -m retrieval CORPUS INDEX_DIR" in done.stderr


def test_with_a_pipe_as_stdin_it_exits_0_after_the_build(tmp_path: Path) -> None:
    # as the bot runs it: the pipe stays open until the child has exited
    with (tmp_path / "stderr").open("w+b") as errors:
        child = subprocess.Popen(
            [sys.executable, "-m", "retrieval", str(SHIPPED_CORPUS), str(tmp_path / "index")],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
        assert child.stdin is not None
        with child.stdin:
            returncode = child.wait(timeout=60)
        errors.seek(0)
        stderr = errors.read().decode()
    assert returncode == 0, stderr
    assert "Fatal Python error" not in stderr


def no_file_over_a_byte() -> None:
    """In the child: every write past a file's first byte fails (EFBIG), as on a full disk."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (1, resource.RLIM_INFINITY))


def test_an_index_it_cannot_save_exits_4_not_0(tmp_path: Path) -> None:
    """Exit 0 tells the bot the saved index matches the corpus; it must not be said of one
    built in memory only, which the bot would then not serve."""
    done = index(SHIPPED_CORPUS, tmp_path / "index", stdin=subprocess.DEVNULL, preexec_fn=no_file_over_a_byte)
    assert done.returncode == 4, done.stderr
    assert "could not save the index" in done.stderr and "File too large" in done.stderr
    assert done.stdout == ""
    assert Library.open_current(SHIPPED_CORPUS, tmp_path / "index") is None

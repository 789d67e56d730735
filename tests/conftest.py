"""Shared fixtures: the shipped corpus, a writer of small corpora on disk, a guard against hangs."""

from __future__ import annotations

import multiprocessing
import resource
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_CORPUS = ROOT / "corpus"

WriteCorpus = Callable[[dict[str, str | bytes]], Path]
T = TypeVar("T")
CHILD_MEMORY = 4 << 30
"""How much more memory than its parent a child of `finishes` may take: ample for a test."""


@pytest.fixture(autouse=True)
def index_dir_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep every test's saved index out of the working tree."""
    folder = tmp_path / "saved-index"
    monkeypatch.setenv("INDEX_DIR", str(folder))
    return folder


@pytest.fixture
def write_corpus(tmp_path: Path) -> WriteCorpus:
    """Write `{relative path: text or bytes}` under a fresh folder and return it."""

    def write(files: dict[str, str | bytes]) -> Path:
        root = tmp_path / "corpus"
        root.mkdir(exist_ok=True)
        for name, content in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
        return root

    return write


def article(date: str, headline: str, *paragraphs: str) -> str:
    """An article in the house `.txt` format."""
    return f" date {date} {headline}\n\n" + "\n\n".join(paragraphs) + "\n"


def finishes(function: Callable[..., T], *args: Any, timeout: float = 120) -> T:
    """`function(*args)`, run in a child process so that a hang or a runaway read fails the
    test instead of hanging the suite or exhausting the machine's memory.

    The time and memory limits are only a safety net for a call that would never return
    (a read of a named pipe, or of `/dev/zero`); tests assert on what the call returns,
    never on how long it took. The result and any exception must pickle.
    """
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)

    def run() -> None:
        pages = int(Path("/proc/self/statm").read_text().split()[0])
        limit = pages * resource.getpagesize() + CHILD_MEMORY
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        try:
            send.send((True, function(*args)))
        except BaseException as error:  # handed back to the test
            send.send((False, error))

    child = context.Process(target=run, daemon=True)
    child.start()
    try:
        if not receive.poll(timeout):
            pytest.fail(f"{getattr(function, '__qualname__', function)} never returned")
        returned, value = receive.recv()
    except EOFError:
        pytest.fail(f"{getattr(function, '__qualname__', function)} died: exit code {child.exitcode}")
    finally:
        child.kill()
        child.join()
    if not returned:
        raise value
    return value  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Served:
    """What `Library.load` gave, as plain values that cross from a child process."""

    problems: list[str]
    articles: list[str]
    memory_mapped: bool
    answers: dict[str, list[str]]
    """Each question asked: the ids of the articles of its hits."""


def load_in_child(corpus: Path, index_dir: Path | None = None, *questions: str) -> Served:
    """`Library.load` of `corpus` in a child process (see `finishes`), and what it serves."""
    return finishes(_serve, corpus, index_dir, questions)


def _serve(corpus: Path, index_dir: Path | None, questions: tuple[str, ...]) -> Served:
    from retrieval import Library

    library = Library.load(corpus, index_dir=index_dir)
    return Served(
        [problem.path for problem in library.report.problems],
        list(library.articles.ids),
        isinstance(library.index.doc_ids, np.memmap),
        {question: [hit.article.id for hit in library.search(question).hits] for question in questions},
    )

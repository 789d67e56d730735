"""Shared fixtures: the shipped corpus and a writer of small corpora on disk."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_CORPUS = ROOT / "corpus"

WriteCorpus = Callable[[dict[str, str | bytes]], Path]


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

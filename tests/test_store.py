"""The saved index: reused while the corpus is unchanged, rebuilt whenever in doubt."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from retrieval import Library, LibraryOptions
from retrieval.store import POINTER
from tests.conftest import SHIPPED_CORPUS, WriteCorpus, article


def memory_mapped(library: Library) -> bool:
    return isinstance(library.index.doc_ids, np.memmap)


@pytest.fixture
def corpus(write_corpus: WriteCorpus) -> Path:
    root = write_corpus(
        {"chess.txt": article("2024-10-29", "Chess", "On October 28, India won the olympiad.")}
    )
    shutil.copy(SHIPPED_CORPUS / "000_eba0014b280aac67.txt", root / "seed.txt")
    return root


def current(cache: Path) -> Path:
    return cache / (cache / POINTER).read_text()


def test_unchanged_corpus_is_served_from_the_saved_index(corpus: Path, tmp_path: Path) -> None:
    cache = tmp_path / "index"
    built = Library.load(corpus, index_dir=cache)
    assert not memory_mapped(built)
    loaded = Library.load(corpus, index_dir=cache)
    assert memory_mapped(loaded)
    for question in ("Who negotiated with Abramovich?", "chess olympiad", "humanitarian corridor"):
        assert loaded.search(question) == built.search(question)
    assert loaded.timeline.latest(20) == built.timeline.latest(20)
    assert loaded.report == built.report
    assert list(loaded.passages) == list(built.passages)


def test_touching_a_file_without_changing_it_keeps_the_index(corpus: Path, tmp_path: Path) -> None:
    cache = tmp_path / "index"
    Library.load(corpus, index_dir=cache)
    os.utime(corpus / "chess.txt", (1, 1))
    assert memory_mapped(Library.load(corpus, index_dir=cache))


@pytest.mark.parametrize("change", ["edit", "add", "remove"])
def test_a_changed_corpus_is_rebuilt(corpus: Path, tmp_path: Path, change: str) -> None:
    cache = tmp_path / "index"
    Library.load(corpus, index_dir=cache)
    if change == "edit":
        (corpus / "chess.txt").write_text(
            article("2024-10-29", "Chess", "On October 28, Norway won the olympiad.")
        )
    elif change == "add":
        (corpus / "go.txt").write_text(article("2024-10-30", "Go", "A go tournament in Seoul ended."))
    else:
        (corpus / "chess.txt").unlink()
    rebuilt = Library.load(corpus, index_dir=cache)
    assert not memory_mapped(rebuilt)
    assert len(rebuilt.articles) == {"edit": 2, "add": 3, "remove": 1}[change]
    assert memory_mapped(Library.load(corpus, index_dir=cache))  # and saved again


def test_other_build_options_are_not_reused(corpus: Path, tmp_path: Path) -> None:
    cache = tmp_path / "index"
    Library.load(corpus, index_dir=cache)
    assert not memory_mapped(Library.load(corpus, LibraryOptions(min_chars=50), index_dir=cache))


@pytest.mark.parametrize(
    "damage",
    [
        "truncate-array",
        "corrupt-array",
        "format-version",
        "missing-pointer",
        "garbage-manifest",
        "short-vocabulary",
    ],
)
def test_a_damaged_index_is_rebuilt_never_trusted(corpus: Path, tmp_path: Path, damage: str) -> None:
    cache = tmp_path / "index"
    expected = Library.load(corpus, index_dir=cache).search("Abramovich")
    folder = current(cache)
    if damage == "truncate-array":
        data = (folder / "doc_ids.npy").read_bytes()
        (folder / "doc_ids.npy").write_bytes(data[: len(data) // 2])
    elif damage == "corrupt-array":
        (folder / "offsets.npy").write_bytes(b"\x93NUMPY garbage")
    elif damage == "format-version":
        manifest = json.loads((folder / "manifest.json").read_text())
        manifest["format"] = 0
        (folder / "manifest.json").write_text(json.dumps(manifest))
    elif damage == "missing-pointer":
        (cache / POINTER).unlink()
    elif damage == "garbage-manifest":
        (folder / "manifest.json").write_text("{not json")
    else:
        words = (folder / "vocabulary.txt").read_text().split("\n")
        (folder / "vocabulary.txt").write_text("\n".join(words[:-3]))
    library = Library.load(corpus, index_dir=cache)
    assert not memory_mapped(library)
    assert library.search("Abramovich") == expected


def test_an_unwritable_cache_does_not_stop_the_load(corpus: Path, tmp_path: Path) -> None:
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("x")
    library = Library.load(corpus, index_dir=blocked)
    assert library.search("chess").hits


def test_hidden_cache_inside_the_corpus_is_not_an_article(corpus: Path) -> None:
    Library.load(corpus, index_dir=corpus / ".newsbot-index")
    library = Library.load(corpus, index_dir=corpus / ".newsbot-index")
    assert memory_mapped(library)
    assert library.report.problems == ()

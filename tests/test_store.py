"""The saved index: reused while the corpus is unchanged, rebuilt whenever in doubt."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from retrieval import BM25Params, CorpusError, Library, LibraryOptions
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
    return cache / (cache / POINTER).read_text().split()[0]


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
    assert len(rebuilt.articles) == {"edit": 2, "add": 3, "remove": 1}[change]
    found = {"edit": "Norway olympiad", "add": "Seoul", "remove": "Abramovich"}[change]
    assert rebuilt.search(found).hits
    assert not rebuilt.search({"edit": "India", "add": "zyzzyva", "remove": "olympiad"}[change]).hits
    assert memory_mapped(Library.load(corpus, index_dir=cache))  # and saved again


def test_other_build_options_are_not_reused(corpus: Path, tmp_path: Path) -> None:
    cache = tmp_path / "index"
    Library.load(corpus, index_dir=cache)
    assert not memory_mapped(Library.load(corpus, LibraryOptions(min_chars=50), index_dir=cache))


@pytest.mark.parametrize("damage", ["older-format", "missing-pointer", "missing-folder"])
def test_an_index_not_of_this_format_or_gone_is_rebuilt(
    corpus: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: str
) -> None:
    """Damage to each saved file, five ways, is tested in test_store_faults."""
    caplog.set_level(logging.INFO, logger="retrieval")
    cache = tmp_path / "index"
    expected = Library.load(corpus, index_dir=cache).search("Abramovich")
    folder = current(cache)
    if damage == "older-format":  # format 3 named the build alone
        (cache / POINTER).write_text(folder.name)
    elif damage == "missing-pointer":
        (cache / POINTER).unlink()
    else:
        shutil.rmtree(folder)
    caplog.clear()
    library = Library.load(corpus, index_dir=cache)
    assert not memory_mapped(library)
    assert library.search("Abramovich") == expected
    warned = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warned) == (0 if damage == "missing-pointer" else 1)
    assert memory_mapped(Library.load(corpus, index_dir=cache))


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


def feed(*records: tuple[str, str, str]) -> str:
    return "\n".join(
        json.dumps({"id": key, "title": title, "date": "2024-10-25", "text": text})
        for key, title, text in records
    )


def same_answers(updated: Library, fresh: Library) -> None:
    for question in ("Who negotiated with Abramovich?", "chess olympiad", "go tournament", "grain ships"):
        assert updated.search(question) == fresh.search(question)
        assert updated.search(question, now=dt.date(2024, 10, 24)) == fresh.search(
            question, now=dt.date(2024, 10, 24)
        )
    assert updated.timeline.latest(50) == fresh.timeline.latest(50)
    assert updated.latest(10) == fresh.latest(10)
    assert updated.report == fresh.report
    assert sorted(updated.passages, key=lambda p: (p.article_id, p.position)) == sorted(
        fresh.passages, key=lambda p: (p.article_id, p.position)
    )
    assert updated.vocabulary_size == fresh.vocabulary_size


@pytest.mark.parametrize("variant", ["plus", "okapi", "l"])
def test_a_changed_corpus_is_updated_to_what_a_fresh_build_gives(
    corpus: Path, tmp_path: Path, variant: str
) -> None:
    options = LibraryOptions(bm25=BM25Params(variant=variant))  # type: ignore[arg-type]
    (corpus / "feeds").mkdir()
    (corpus / "feeds" / "a.jsonl").write_text(feed(("1", "Grain", "Grain ships left Odesa on October 20.")))
    (corpus / "feeds" / "b.jsonl").write_text(
        feed(("1", "Grain", "A copy."), ("2", "Ports", "Ports reopened."))
    )
    (corpus / "broken.txt").write_text("no date line\n\nbody")
    cache = tmp_path / "index"
    Library.load(corpus, options, index_dir=cache)

    (corpus / "chess.txt").write_text(
        article("2024-10-29", "Chess", "On October 28, Norway won the olympiad.")
    )
    (corpus / "go.txt").write_text(article("2024-10-30", "Go", "A go tournament in Seoul ended yesterday."))
    (corpus / "feeds" / "a.jsonl").unlink()  # frees id 1 for b.jsonl
    (corpus / "broken.txt").write_text(article("2024-10-21", "Fixed", "Grain ships were inspected."))
    updated = Library.load(corpus, options, index_dir=cache)

    same_answers(updated, Library.load(corpus, options))
    same_answers(Library.load(corpus, options, index_dir=cache), updated)  # saved, then served as is


def test_an_update_reads_only_the_files_that_changed(
    corpus: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="retrieval")
    cache = tmp_path / "index"
    Library.load(corpus, index_dir=cache)
    chess = corpus / "chess.txt"
    stat = chess.stat()
    # Same size and time: to the fingerprint an unchanged file, so it must not be read again.
    chess.write_text(article("2024-10-29", "Chess", "On October 28, Ghana won the olympiad."))
    os.utime(chess, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    (corpus / "go.txt").write_text(article("2024-10-30", "Go", "A go tournament in Seoul ended."))
    updated = Library.load(corpus, index_dir=cache)
    assert updated.search("go tournament Seoul").hits[0].article.id == "go"
    assert updated.search("India olympiad").hits[0].article.id == "chess"
    assert not updated.search("Ghana").hits
    assert "corpus files changed: 1; reading only those again" in caplog.text


def test_a_dangling_link_is_reported_not_fatal_with_a_saved_index(corpus: Path, tmp_path: Path) -> None:
    (corpus / "gone.txt").symlink_to(tmp_path / "nowhere.txt")
    for _ in range(2):  # build and save, then serve the saved index
        library = Library.load(corpus, index_dir=tmp_path / "index")
        assert [problem.path for problem in library.report.problems] == ["gone.txt"]
        assert library.search("chess olympiad").hits


def test_open_current_serves_only_an_unchanged_saved_corpus(corpus: Path, tmp_path: Path) -> None:
    cache = tmp_path / "index"
    assert Library.open_current(corpus, cache) is None  # nothing saved yet
    Library.load(corpus, index_dir=cache)
    opened = Library.open_current(corpus, cache)
    assert opened is not None and memory_mapped(opened)
    assert opened.search("chess olympiad").hits
    (corpus / "go.txt").write_text(article("2024-10-30", "Go", "A go tournament in Seoul ended."))
    assert Library.open_current(corpus, cache) is None  # changed: never served stale


def test_an_emptied_corpus_is_an_error_not_an_empty_library(corpus: Path, tmp_path: Path) -> None:
    cache = tmp_path / "index"
    Library.load(corpus, index_dir=cache)
    for path in corpus.iterdir():
        path.unlink()
    (corpus / "broken.txt").write_text("no date line")
    with pytest.raises(CorpusError, match=r"has no readable article: broken\.txt: line 1"):
        Library.load(corpus, index_dir=cache)

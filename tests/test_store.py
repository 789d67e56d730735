"""The saved index: reused while the corpus is unchanged, rebuilt whenever in doubt."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import logging
import os
import resource
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np
import pytest
import xxhash

from retrieval import (
    BM25Params,
    CorpusError,
    Library,
    LibraryOptions,
    LoadProblem,
    NoArticleError,
    analyze,
    indexing,
    store,
)
from retrieval import folder as folder_module
from retrieval.folder import CorpusFolder, corpus_files, not_read
from retrieval.shelf import LOCK
from retrieval.store import CHECKED, MANIFEST, POINTER, TEXTS, fingerprint
from tests.conftest import SHIPPED_CORPUS, WriteCorpus, article, finishes, load_in_child, saved_place


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
    place = saved_place(cache)
    return place / (place / POINTER).read_text().split()[0]


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


def test_article_vectors_are_saved_and_memory_mapped(corpus: Path, tmp_path: Path) -> None:
    cache = tmp_path / "index"
    built = Library.load(corpus, index_dir=cache)
    loaded = Library.load(corpus, index_dir=cache)
    assert isinstance(loaded.article_vectors, np.memmap)
    assert np.array_equal(loaded.article_vectors, built.article_vectors)
    assert loaded.article_vectors.shape == (2, 256)
    narrow = LibraryOptions(semantic_dims=64)  # another width is another build
    assert not memory_mapped(Library.load(corpus, narrow, index_dir=cache))
    assert Library.load(corpus, narrow, index_dir=cache).article_vectors.shape == (2, 64)


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


def test_an_index_saved_by_an_older_analyzer_is_rebuilt(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "index"
    with monkeypatch.context() as older:
        older.setattr("retrieval.options.ANALYZER_VERSION", 1)
        Library.load(corpus, index_dir=cache)
    assert not memory_mapped(Library.load(corpus, index_dir=cache))
    assert memory_mapped(Library.load(corpus, index_dir=cache))


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
        (folder.parent / POINTER).write_text(folder.name)
    elif damage == "missing-pointer":
        (folder.parent / POINTER).unlink()
    else:
        shutil.rmtree(folder)
    caplog.clear()
    library = Library.load(corpus, index_dir=cache)
    assert not memory_mapped(library)
    assert library.search("Abramovich") == expected
    warned = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warned) == (0 if damage == "missing-pointer" else 1)
    assert memory_mapped(Library.load(corpus, index_dir=cache))


def saved_as_format(cache: Path, version: int, arrays: tuple[str, ...], files: tuple[str, ...] = ()) -> None:
    """Makes the current saved index look as an older format `version` saved it: without `arrays`
    (and other `files`), its manifest and pointer rewritten to match."""
    folder = current(cache)
    manifest = json.loads((folder / MANIFEST).read_bytes())
    for name in (*(f"{array}.npy" for array in arrays), *files):
        (folder / name).unlink()
        del manifest["files"][name]
    for array in arrays:
        del manifest["sizes"][array]
    manifest["format"] = version
    written = json.dumps(manifest).encode()
    (folder / MANIFEST).write_bytes(written)
    (folder.parent / POINTER).write_text(f"{folder.name} {xxhash.xxh3_64_hexdigest(written)}\n")


def test_an_index_saved_before_the_timeline_terms_is_rebuilt_for_its_format(
    corpus: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Format 6 saved no terms of the timeline's events: such an index is built again, as
    any index of another format, rather than opened and its topics found by nothing."""
    cache = tmp_path / "index"
    expected = Library.load(corpus).timeline.latest(10, "olympiad")
    Library.load(corpus, index_dir=cache)
    saved_as_format(cache, 6, ("event_term_offsets", "event_term_numbers"), ("event_terms.txt",))
    caplog.set_level(logging.INFO, logger="retrieval")
    library = Library.load(corpus, index_dir=cache)
    assert not memory_mapped(library)
    assert "saved index not used, building it again: saved index format 6 is not 9" in caplog.text
    assert library.timeline.latest(10, "olympiad") == expected != []
    assert memory_mapped(Library.load(corpus, index_dir=cache))


def test_an_index_saved_before_the_passages_word_marks_is_rebuilt_for_its_format(
    corpus: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Format 7 saved no word marks of its passages, which story folding reads: such an index
    is built again, with them, rather than opened and each search failing."""
    cache = tmp_path / "index"
    Library.load(corpus, index_dir=cache)
    saved_as_format(cache, 7, ("passage_words", "passage_marks"))
    caplog.set_level(logging.INFO, logger="retrieval")
    library = Library.load(corpus, index_dir=cache)
    assert not memory_mapped(library)
    assert "saved index not used, building it again: saved index format 7 is not 9" in caplog.text
    assert library.search("Abramovich").hits
    saved = Library.load(corpus, index_dir=cache)
    assert memory_mapped(saved)
    marks = saved.passages.marks
    assert isinstance(marks, np.memmap) and marks.shape == (len(saved.passages), 8)


def test_an_index_saved_before_problems_were_told_by_kind_is_built_again_with_their_kinds(
    corpus: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Such an index kept each problem in English alone: built again, as any index of other
    code is, its problems are told by kind, which the bot words in each admin's language."""
    (corpus / "broken.txt").write_bytes(b" date 2024-01-01 Talks\n\nGen\xe8ve.\n")
    cache = tmp_path / "index"
    Library.load(corpus, index_dir=cache)
    folder = current(cache)
    manifest = json.loads((folder / MANIFEST).read_bytes())
    manifest["report"]["problems"] = [saved[:3] for saved in manifest["report"]["problems"]]
    manifest["code"] = "0" * 16  # the code before
    written = json.dumps(manifest).encode()
    (folder / MANIFEST).write_bytes(written)
    (folder.parent / POINTER).write_text(f"{folder.name} {xxhash.xxh3_64_hexdigest(written)}\n")
    caplog.set_level(logging.INFO, logger="retrieval")
    library = Library.load(corpus, index_dir=cache)
    assert (
        "saved index not used, building it again: saved index was made by other newsbot code" in caplog.text
    )
    (problem,) = library.report.problems
    assert (problem.kind, problem.facts, problem.reason) == (
        "not_utf8",
        (("byte", 27),),
        "is not UTF-8 text (byte 27)",
    )
    assert store._problem(["broken.txt", "is not UTF-8 text (byte 27)", None]).kind == ""  # its English alone


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
    # an article's passages are numbered in a run, which the article coverage of the ranking reads
    assert all((np.diff(library.passages.owner) >= 0).all() for library in (updated, fresh))
    # the kept articles' vectors moved as they were, the changed ones' made anew: as a full build's
    assert dict(zip(updated.articles.ids, updated.article_vectors.tolist(), strict=True)) == dict(
        zip(fresh.articles.ids, fresh.article_vectors.tolist(), strict=True)
    )


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


def test_a_new_file_that_wants_a_kept_articles_id_is_updated_as_a_fresh_build_would(
    corpus: Path, tmp_path: Path
) -> None:
    # chess.md beside a served chess.txt: both wanted `chess`, and the first in path order,
    # the new chess.md, put out chess.txt (reported as its duplicate) in a build from scratch
    cache = tmp_path / "index"
    Library.load(corpus, index_dir=cache)
    (corpus / "chess.md").write_text("---\ntitle: Chess\ndate: 2024-10-30\n---\nOn October 29, Norway won.\n")
    fresh = Library.load(corpus)
    assert fresh.report.problems == ()
    updated = Library.load(corpus, index_dir=cache)  # reads chess.md, and chess.txt again for its id
    same_answers(updated, fresh)
    assert updated.search("Norway won").hits[0].article.id == "chess.md"
    assert updated.search("India won").hits[0].article.id == "chess.txt"
    (corpus / "chess.md").unlink()  # the id goes back to chess.txt
    back = Library.load(corpus, index_dir=cache)
    same_answers(back, Library.load(corpus))
    assert back.search("India won").hits[0].article.id == "chess"


def test_files_that_want_one_id_arriving_one_by_one_are_all_served_as_a_fresh_build_would(
    corpus: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "index"
    record = {"id": "b", "title": "Tunnel", "date": "2024-10-01", "text": "The tunnel flooded."}
    arrivals = {
        "a.txt": article("2024-10-01", "Ferry", "The ferry sailed at dawn."),
        "x#b.txt": article("2024-10-01", "Harbour", "The harbour froze."),  # before the record it meets
        "x.jsonl": json.dumps(record) + "\n",
        "a.md": "---\ntitle: Bridge\ndate: 2024-10-01\n---\nThe bridge opened at noon.\n",
        "x.JSONL": json.dumps(record | {"title": "Canal", "text": "The canal froze."}) + "\n",
    }
    served = {"a.txt": "a", "x#b.txt": "x#b", "x.jsonl": "x#b", "a.md": "a.md", "x.JSONL": "x.JSONL#b"}
    asked = {
        "a.txt": "ferry",
        "x#b.txt": "harbour",
        "x.jsonl": "tunnel",
        "a.md": "bridge",
        "x.JSONL": "canal",
    }
    arrived: list[str] = []
    for name, text in arrivals.items():
        (corpus / name).write_text(text)
        arrived.append(name)
        updated = Library.load(corpus, index_dir=cache)  # reads the new file, and those it meets again
        fresh = Library.load(corpus)
        assert fresh.report.problems == updated.report.problems == ()
        assert sorted(updated.articles.ids) == sorted(fresh.articles.ids)
        assert served[name] in updated.articles.ids
        for earlier in arrived:  # every file that came is answered, under its own headline
            assert updated.search(asked[earlier]).hits[0].article.headline.lower() == asked[earlier]
    assert sorted(updated.articles.ids) == sorted(
        ["chess", "seed", "a.txt", "a.md", "x#b.txt", "x.jsonl#b", "x.JSONL#b"]
    )
    for name in ("x.JSONL", "a.md", "x.jsonl"):  # and as they go, the ids go back
        (corpus / name).unlink()
        updated = Library.load(corpus, index_dir=cache)
        assert sorted(updated.articles.ids) == sorted(Library.load(corpus).articles.ids)
    assert sorted(updated.articles.ids) == ["a", "chess", "seed", "x#b"]


def test_a_corpus_without_a_searchable_word_is_served_from_its_saved_index(
    write_corpus: WriteCorpus, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # no term at all: the saved vocabulary was read back as one empty term, which failed
    # the postings' check, so every start warned of a damaged index and built it again
    root = write_corpus({"signs.txt": article("2024-10-23", "😀", "😀 😀 — the!")})
    built = Library.load(root, index_dir=tmp_path / "index")
    caplog.set_level(logging.WARNING, logger="retrieval")
    served = Library.load(root, index_dir=tmp_path / "index")
    assert "saved index not used" not in caplog.text
    assert served.build == built.build and served.vocabulary_size == 0
    assert served.search("😀").reason == built.search("😀").reason


def test_an_update_reads_only_the_files_that_changed(
    corpus: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(folder_module, "RECENT_NS", 0)  # trust times of just now
    caplog.set_level(logging.INFO, logger="retrieval")
    cache = tmp_path / "index"
    chess = corpus / "chess.txt"
    an_hour_ago = time.time_ns() - 3600 * 10**9
    os.utime(chess, ns=(an_hour_ago, an_hour_ago))
    Library.load(corpus, index_dir=cache)
    # Rewritten with the same size and its time set back (`touch -r`, `cp -p`, `rsync -t`):
    # its change time moved, so it is read again; once, it kept serving the old text.
    chess.write_text(article("2024-10-29", "Chess", "On October 28, Ghana won the olympiad."))
    os.utime(chess, ns=(an_hour_ago, an_hour_ago))
    (corpus / "go.txt").write_text(article("2024-10-30", "Go", "A go tournament in Seoul ended."))
    updated = Library.load(corpus, index_dir=cache)
    assert updated.search("go tournament Seoul").hits[0].article.id == "go"
    assert updated.search("Ghana olympiad").hits[0].article.id == "chess"
    assert not updated.search("India").hits
    assert "corpus files changed: 2; reading only those again" in caplog.text


def test_an_index_saved_with_modification_times_is_rebuilt_for_its_format(
    corpus: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Format 8 kept each file's modification time, which can be set back: such an index is
    built again, its prints now of change times, rather than compared with the wrong time."""
    cache = tmp_path / "index"
    Library.load(corpus, index_dir=cache)
    saved_as_format(cache, 8, ())
    caplog.set_level(logging.INFO, logger="retrieval")
    library = Library.load(corpus, index_dir=cache)
    assert not memory_mapped(library)
    assert "saved index not used, building it again: saved index format 8 is not 9" in caplog.text
    assert library.search("India olympiad").hits[0].article.id == "chess"
    assert memory_mapped(Library.load(corpus, index_dir=cache))


def test_an_update_analyzes_each_new_event_once(corpus: Path, tmp_path: Path) -> None:
    cache = tmp_path / "index"
    Library.load(corpus, index_dir=cache)
    sentence = "On October 27, Armenia drew with Norway in Budapest."  # one of a paragraph's two
    text = article("2024-10-30", "Round", f"The last round began. {sentence}", "On October 29, Ukraine won.")
    (corpus / "round.txt").write_text(text)
    analyzed: list[str] = []

    def watch(frame: FrameType, event: str, arg: object) -> None:
        """Note each call of the analyzer, as a profiler sees it."""
        if event == "call" and frame.f_code is analyze.__code__:
            analyzed.append(frame.f_locals["text"])

    sys.setprofile(watch)
    try:
        updated = Library.load(corpus, index_dir=cache)
    finally:
        sys.setprofile(None)
    assert sentence in [event.sentence for event in updated.timeline.latest(5, "Armenia Norway")]
    assert analyzed.count(sentence) == 1  # for the topics' lists and the timeline's order alike
    assert analyzed.count("On October 29, Ukraine won.") == 1


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


class _OpenPause:
    """Holds one thread as it opens a file of a given name, once: an audit hook, which cannot
    be removed, so one for the whole test process, doing nothing while no thread is named."""

    def __init__(self) -> None:
        self.thread: int | None = None
        self.name = ""
        self.paused, self.go_on = threading.Event(), threading.Event()
        sys.addaudithook(self._hook)

    def _hook(self, event: str, arguments: tuple[Any, ...]) -> None:
        if event != "open" or self.thread != threading.get_ident():
            return
        path = arguments[0]
        if isinstance(path, str) and os.path.basename(path) == self.name:
            self.thread = None
            self.paused.set()
            self.go_on.wait()

    def arm(self, name: str) -> None:
        self.thread, self.name = threading.get_ident(), name
        self.paused.clear()
        self.go_on.clear()

    def release(self) -> None:
        self.thread = None
        self.go_on.set()


@functools.cache
def open_pause() -> _OpenPause:
    return _OpenPause()


@pytest.mark.parametrize(
    "paused_at",
    [
        MANIFEST,  # the pointer read, no file of its build opened yet
        TEXTS,  # its arrays checked and mapped, its texts not yet opened
        "print_sizes.npy",  # opened whole, its corpus fingerprint not yet read
    ],
)
def test_a_build_removed_by_two_saves_while_it_is_opened_gives_the_current_one_not_a_rebuild(
    corpus: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture, paused_at: str
) -> None:
    # The bot opens the saved index without taking turns (at start, after its indexer); a
    # `/reload` and the folder watch save twice while it opens the build the pointer named.
    # Each save removes the build before it: the open failed, warned "building it again",
    # and the bot started its indexer, or waited for the lock to open the index again.
    cache = tmp_path / "index"
    first = Library.load(corpus, index_dir=cache)
    pause = open_pause()

    def open_current() -> Library | None:
        pause.arm(paused_at)
        return Library.open_current(corpus, cache)

    with ThreadPoolExecutor(1) as pool:
        opening = pool.submit(open_current)
        try:
            assert pause.paused.wait(60)
            for name in ("go", "tennis"):
                news = article("2024-10-30", name.title(), f"A {name} tournament ended.")
                (corpus / f"{name}.txt").write_text(news)
                Library.load(corpus, index_dir=cache)  # as another process saves: it takes turns
        finally:
            pause.release()
        opened = opening.result()
    assert not (saved_place(cache) / first.build).exists()  # removed under the reader
    assert opened is not None and opened.build == store.current_build(saved_place(cache))
    assert [hit.article.id for hit in opened.search("tennis tournament").hits][:1] == ["tennis"]
    assert "building it again" not in caplog.text


def test_an_open_outlived_by_a_save_leaves_the_newer_builds_record_of_its_folders(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The bot opens the saved index at start, checking every file, while another process saves
    # a new build (a file added). The open, recording its check after that save, wrote its
    # older build's record over the newer one's: the next start found no record of the
    # current build and checked every file again instead of only the folders.
    monkeypatch.setattr(folder_module, "RECENT_NS", 0)  # trust the folders' times of just now
    cache = tmp_path / "index"
    Library.load(corpus, index_dir=cache)
    pause = open_pause()

    def open_current() -> Library | None:
        pause.arm(LOCK)  # every file checked, its check about to be recorded
        return Library.open_current(corpus, cache)

    with ThreadPoolExecutor(1) as pool:
        opening = pool.submit(open_current)
        try:
            assert pause.paused.wait(60)
            (corpus / "go.txt").write_text(article("2024-10-30", "Go", "A go tournament ended."))
            newer = Library.load(corpus, index_dir=cache)  # as another process saves: it takes turns
        finally:
            pause.release()
        opened = opening.result()
    assert opened is not None and not opened.is_current()
    assert newer.is_current() and newer.build is not None
    assert store.looks_unchanged(saved_place(cache), corpus, newer.build)


def test_a_library_is_current_until_its_corpus_is_saved_again(corpus: Path, tmp_path: Path) -> None:
    """What lets the bot keep the library it serves when the check of every file finds no change."""
    cache = tmp_path / "index"
    served = Library.load(corpus, index_dir=cache)
    assert served.is_current() and Library.load(corpus, index_dir=cache).is_current()
    (corpus / "go.txt").write_text(article("2024-10-30", "Go", "A go tournament in Seoul ended."))
    updated = Library.load(corpus, index_dir=cache)
    assert updated.is_current() and not served.is_current()
    assert not Library.load(corpus).is_current()  # built in memory: nothing saved to be current with


def test_an_emptied_corpus_is_an_error_not_an_empty_library(corpus: Path, tmp_path: Path) -> None:
    cache = tmp_path / "index"
    Library.load(corpus, index_dir=cache)
    for path in corpus.iterdir():
        path.unlink()
    (corpus / "broken.txt").write_text("no date line")
    with pytest.raises(CorpusError, match=r"has no readable article: broken\.txt: line 1"):
        Library.load(corpus, index_dir=cache)


def test_a_library_of_no_article_is_saved_only_when_allowed(tmp_path: Path) -> None:
    # a bot started on a folder that feeds are to fill serves a library of none, and its watch
    # needs that saved (with its folders' stamps) to see the first file dropped in
    cache, served = tmp_path / "index", tmp_path / "served"
    served.mkdir()
    (served / "broken.txt").write_text("no date line")
    empty = Library.load(served, index_dir=cache, allow_empty=True)
    assert len(empty.articles) == 0 and empty.is_current()
    assert [problem.path for problem in empty.report.problems] == ["broken.txt"]
    with pytest.raises(NoArticleError, match=r"has no readable article: broken\.txt: line 1"):
        Library.load(served, index_dir=cache)  # `newsbot ask` over what the bot saved: as before
    assert empty.is_current()
    (served / "chess.txt").write_text(article("2024-10-24", "Chess", "India won the chess olympiad."))
    first = Library.load(served, index_dir=cache)  # an update of the saved library of none
    assert first.search("chess olympiad").hits[0].article.id == "chess" and first.is_current()
    (served / "chess.txt").unlink()
    with pytest.raises(NoArticleError):  # articles are never replaced by none, unless allowed
        Library.load(served, index_dir=cache)
    assert first.is_current()
    assert len(Library.load(served, index_dir=cache, allow_empty=True).articles) == 0


def test_a_file_edited_and_reverted_while_the_build_reads_it_is_read_again(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chess = corpus / "chess.txt"
    original = chess.read_text()
    edited = original.replace("India", "Qatar")  # same size: only the content tells
    real_load_files = indexing.load_files

    def load_while_edited(*args: Any, **kwargs: Any) -> Any:
        """A writer edits the file just as the build reads it, and reverts it after."""
        chess.write_text(edited)
        try:
            return real_load_files(*args, **kwargs)
        finally:
            chess.write_text(original)

    monkeypatch.setattr(indexing, "load_files", load_while_edited)
    cache = tmp_path / "index"
    assert Library.load(corpus, index_dir=cache).search("Qatar").hits  # the build read the edit
    monkeypatch.undo()
    again = Library.load(corpus, index_dir=cache)
    assert again.search("India olympiad").hits
    assert not again.search("Qatar").hits
    assert memory_mapped(Library.load(corpus, index_dir=cache))  # and then saved as it is


def test_an_edit_within_the_same_clock_tick_as_the_build_is_seen(corpus: Path, tmp_path: Path) -> None:
    chess = corpus / "chess.txt"
    cache = tmp_path / "index"
    Library.load(corpus, index_dir=cache)
    stat = chess.stat()
    # A file system's clock ticks in steps: a write right after the build may keep the time.
    chess.write_text(chess.read_text().replace("India", "Qatar"))
    os.utime(chess, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    library = Library.load(corpus, index_dir=cache)
    assert library.search("Qatar olympiad").hits
    assert not library.search("India").hits


def test_the_fingerprint_lists_exactly_the_entries_the_loader_reads(corpus: Path, tmp_path: Path) -> None:
    os.mkfifo(corpus / "pipe.txt")
    (corpus / "zero.txt").symlink_to("/dev/zero")
    (corpus / "alias.txt").symlink_to(corpus / "chess.txt")
    (corpus / "linked-folder").symlink_to(tmp_path)
    (corpus / os.fsdecode(b"caf\xe9.txt")).write_text(article("2024-01-01", "Cafe", "Body."))
    (corpus / ".hidden.txt").write_text("not part of the corpus")
    printed = finishes(fingerprint, corpus)
    assert set(printed) == {CorpusFolder(corpus).name(path) for path in corpus_files(corpus)}
    assert set(printed) == {
        "alias.txt",
        "caf\\xe9.txt",
        "chess.txt",
        "linked-folder",
        "pipe.txt",
        "seed.txt",
        "zero.txt",
    }
    assert printed["alias.txt"][2] == printed["chess.txt"][2]  # the content hash of the target
    assert printed["pipe.txt"][:2] == [None, None]  # not read, and why
    assert str(not_read(printed["pipe.txt"])).startswith("is a named pipe")


def test_pipes_links_and_bad_names_with_a_saved_index_are_problems_saved_and_served(
    corpus: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text(article("2024-01-01", "Secret", "The zyzzyva memo stays private."))
    os.mkfifo(corpus / "pipe.txt")
    (corpus / "zero.txt").symlink_to("/dev/zero")
    (corpus / "secret.txt").symlink_to(elsewhere)
    (corpus / os.fsdecode(b"caf\xe9.txt")).write_text(article("2024-01-01", "Cafe", "Body."))
    cache = tmp_path / "index"
    expected = ["caf\\xe9.txt", "pipe.txt", "secret.txt", "zero.txt"]
    built = load_in_child(corpus, cache)
    assert built.problems == expected
    served = load_in_child(corpus, cache, "zyzzyva memo")
    assert served.memory_mapped  # the fingerprint saw nothing change
    assert served.problems == expected
    assert served.answers == {"zyzzyva memo": []}


def test_an_update_reports_new_bad_entries_and_forgets_fixed_ones(corpus: Path, tmp_path: Path) -> None:
    cache = tmp_path / "index"
    Library.load(corpus, index_dir=cache)
    bad_name = corpus / os.fsdecode(b"caf\xe9.txt")
    bad_name.write_text(article("2024-01-01", "Cafe", "Espresso prices rose."))
    os.mkfifo(corpus / "pipe.txt")
    (corpus / "leap.md").write_text("---\ntitle: Leap\ndate: 2024-02-30\n---\nBody.\n")
    updated = load_in_child(corpus, cache)
    assert updated.problems == ["caf\\xe9.txt", "leap.md", "pipe.txt"]

    bad_name.rename(corpus / "cafe.txt")
    (corpus / "pipe.txt").unlink()
    (corpus / "leap.md").write_text("---\ntitle: Leap\ndate: 2024-02-29\n---\nBody.\n")
    fixed = load_in_child(corpus, cache, "espresso")
    assert fixed.problems == []
    assert fixed.answers == {"espresso": ["cafe"]}
    assert sorted(fixed.articles) == ["cafe", "chess", "leap", "seed"]


def test_a_file_named_as_a_jsonl_line_is_a_file_of_its_own_in_an_update(corpus: Path, tmp_path: Path) -> None:
    # `feed.jsonl:2` is a file (of no known kind) as well as how line 2 of `feed.jsonl` is
    # shown: an update of either file changes that file's problems alone.
    cache = tmp_path / "index"
    feed, named = corpus / "feed.jsonl", corpus / "feed.jsonl:2"
    feed.write_text(record(1, "Kelp farms grew.") + "not json\n")
    named.write_text("anything")
    built = load_in_child(corpus, cache)
    assert built.problems == ["feed.jsonl:2", "feed.jsonl:2"]  # the line, then the file

    named.unlink()
    assert load_in_child(corpus, cache).problems == ["feed.jsonl:2"]  # the line's, still bad
    named.write_text("anything")
    load_in_child(corpus, cache)
    feed.write_text(record(1, "Kelp farms grew."))
    updated = Library.load(corpus, index_dir=cache)
    assert [(problem.path, problem.line) for problem in updated.report.problems] == [("feed.jsonl:2", None)]


def test_problems_saved_before_lines_were_kept_apart_read_as_lines() -> None:
    # an index saved by an earlier version holds `[where, reason]`: it opens with its lines
    assert store._problem(["feed.jsonl:12", "is not valid JSON"]) == LoadProblem(
        "feed.jsonl", "is not valid JSON", 12
    )
    assert store._problem(["chess.txt", "has no date"]) == LoadProblem("chess.txt", "has no date")
    assert store._problem(["feed.jsonl:2", "unknown", None]) == LoadProblem("feed.jsonl:2", "unknown")


def record(number: int, text: str) -> str:
    return json.dumps({"id": number, "title": f"Record {number}", "date": "2024-01-03", "text": text}) + "\n"


@pytest.mark.parametrize("workers", [1, 2])  # one chunk; a chunk a file, merged in order
def test_files_really_named_as_others_would_be_shown_stay_apart(
    corpus: Path, tmp_path: Path, workers: int
) -> None:
    cache = tmp_path / "index"
    (corpus / os.fsdecode(b"caf\xe9.txt")).write_text(article("2024-01-01", "Cafe", "Espresso prices rose."))
    twin = corpus / "caf\\xe9.txt"  # a UTF-8 name, spelled as the one above is escaped
    twin.write_text(article("2024-01-02", "Tea", "Oolong prices rose."))
    first, second = corpus / "sea\n.jsonl", corpus / "sea\\n.jsonl"  # a line break; a backslash and n
    first.write_text(record(1, "Kelp farms grew."))
    second.write_text(record(1, "Krill stocks fell."))  # the same record id

    def found(library: Library, words: str) -> list[str]:
        return [hit.article.id for hit in library.search(words).hits]

    built = Library.load(corpus, index_dir=cache, workers=workers)
    assert found(built, "oolong") == ["caf\\\\xe9"]
    assert (found(built, "kelp"), found(built, "krill")) == (["sea\\n#1"], ["sea\\\\n#1"])
    assert [problem.path for problem in built.report.problems] == ["caf\\xe9.txt"]  # not UTF-8
    twin.write_text(article("2024-01-02", "Tea", "Matcha prices fell sharply."))
    first.write_text(record(1, "Seaweed farms shrank."))
    updated = Library.load(corpus, index_dir=cache)
    assert found(updated, "matcha") == ["caf\\\\xe9"] and not found(updated, "oolong")
    assert found(updated, "seaweed") == ["sea\\n#1"] and not found(updated, "kelp")
    second.write_text(record(1, "Plankton stocks recovered."))
    again = Library.load(corpus, index_dir=cache)
    assert found(again, "plankton") == ["sea\\\\n#1"] and not found(again, "krill")
    assert Library.load(corpus, index_dir=cache).build == again.build  # as saved: nothing seen changed


def test_a_link_moved_from_outside_the_folder_to_inside_is_followed(corpus: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text(article("2024-01-01", "Secret", "The zyzzyva memo stays private."))
    (corpus / "drafts").mkdir()
    (corpus / "drafts" / "go.txt").write_text(article("2024-10-30", "Go", "A go tournament in Seoul ended."))
    link = corpus / "link.txt"
    link.symlink_to(elsewhere)
    cache = tmp_path / "index"
    assert not Library.load(corpus, index_dir=cache).search("zyzzyva").hits
    link.unlink()
    link.symlink_to(corpus / "drafts" / "go.txt")
    library = Library.load(corpus, index_dir=cache)
    assert sorted(library.articles.ids) == ["chess", "drafts/go", "link", "seed"]
    assert library.report.problems == ()


def test_a_word_hundreds_of_times_in_a_new_passage_keeps_its_count(corpus: Path, tmp_path: Path) -> None:
    """Saved term frequencies take a byte each while they fit; an update must widen, not wrap."""
    cache = tmp_path / "index"
    Library.load(corpus, index_dir=cache)
    (corpus / "drill.txt").write_text(article("2024-10-30", "Drill", "drill " * 300))
    updated = Library.load(corpus, index_dir=cache)
    assert updated.search("drill") == Library.load(corpus).search("drill")


def edit_in_place(path: Path) -> None:
    """Change what a file says without touching its folder, as an editor saving over it does."""
    path.write_text(path.read_text().replace("India", "Norway"))


@pytest.fixture
def fine_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Trust every time at once. Times a second old are not trusted (a later change in the
    same tick of a coarse file system clock would not show); a test cannot wait that long
    at each step, and its steps lie whole loads apart, many ticks of this machine's clock."""
    monkeypatch.setattr(folder_module, "RECENT_NS", 0)


@pytest.mark.parametrize("change", ["add", "remove", "rename", "add-folder", "remove-in-folder", "link"])
def test_the_folder_check_sees_files_added_removed_or_renamed(
    corpus: Path, tmp_path: Path, fine_clock: None, change: str
) -> None:
    (corpus / "drafts").mkdir()
    (corpus / "drafts" / "go.txt").write_text(article("2024-10-30", "Go", "A go tournament in Seoul ended."))
    cache = tmp_path / "index"
    Library.load(corpus, index_dir=cache)
    assert Library.open_current(corpus, cache, check="folders") is not None
    if change == "add":
        (corpus / "new.txt").write_text(article("2024-10-31", "New", "A new article."))
    elif change == "remove":
        (corpus / "chess.txt").unlink()
    elif change == "rename":
        (corpus / "chess.txt").rename(corpus / "chess2.txt")
    elif change == "add-folder":
        (corpus / "drafts" / "more").mkdir()
        (corpus / "drafts" / "more" / "new.txt").write_text(article("2024-10-31", "New", "A new article."))
    elif change == "remove-in-folder":
        (corpus / "drafts" / "go.txt").unlink()
    else:  # a link pointed elsewhere is a new entry too
        (corpus / "alias.txt").symlink_to(corpus / "drafts" / "go.txt")
    assert Library.open_current(corpus, cache, check="folders") is None


def test_the_folder_check_misses_an_edit_in_place_which_the_full_check_sees(
    corpus: Path, tmp_path: Path, fine_clock: None
) -> None:
    """What docs/speed.md promises for a start: an edit in place waits for the check of every file."""
    cache = tmp_path / "index"
    Library.load(corpus, index_dir=cache)
    edit_in_place(corpus / "chess.txt")
    stale = Library.open_current(corpus, cache, check="folders")
    assert stale is not None and stale.search("India olympiad").hits  # served as saved
    assert Library.open_current(corpus, cache) is None  # every file: changed
    assert Library.load(corpus, index_dir=cache).search("Norway olympiad").hits


def test_the_folder_check_reads_again_files_whose_time_it_cannot_trust(
    corpus: Path, tmp_path: Path, fine_clock: None
) -> None:
    chess = corpus / "chess.txt"
    ahead = time.time_ns() + 3600 * 10**9  # a time in the future cannot tell a later change
    os.utime(chess, ns=(ahead, ahead))
    cache = tmp_path / "index"
    Library.load(corpus, index_dir=cache)
    assert Library.open_current(corpus, cache, check="folders") is not None
    chess.write_text(chess.read_text().replace("India", "Qatar"))  # same size, same time
    os.utime(chess, ns=(ahead, ahead))
    assert Library.open_current(corpus, cache, check="folders") is None


@pytest.mark.parametrize("name", ["bell\x07.txt", "two\nlines.txt", "back\\slash.txt"])
def test_a_file_dated_ahead_whose_name_is_shown_escaped_looks_unchanged_once_read(
    corpus: Path, tmp_path: Path, fine_clock: None, name: str
) -> None:
    # Its print is kept under its name as shown (`bell\u0007.txt`), which the look at the
    # folders read as the file's path: no such file, so the corpus never looked unchanged, and
    # the bot's watch read the folder again every round, waiting longer after each.
    odd = corpus / name
    odd.write_text(article("2024-10-30", "Odd", "A file with an odd name."))
    ahead = time.time_ns() + 3600 * 10**9
    os.utime(odd, ns=(ahead, ahead))
    cache = tmp_path / "index"
    library = Library.load(corpus, index_dir=cache)
    assert library.folders_unchanged(corpus) is True
    assert Library.open_current(corpus, cache, check="folders") is not None
    odd.write_text(article("2024-10-30", "Odd", "A file with an odd nose."))  # same size, same time
    os.utime(odd, ns=(ahead, ahead))
    assert library.folders_unchanged(corpus) is False


@contextlib.contextmanager
def full_disk() -> Iterator[None]:
    """No file grows past its first byte meanwhile (EFBIG, as on a full disk)."""
    before = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1, before[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, before)


@pytest.mark.parametrize("saved_before", [False, True], ids=["built", "updated"])
def test_a_library_read_when_its_save_failed_tells_whether_its_folders_changed(
    corpus: Path, tmp_path: Path, fine_clock: None, saved_before: bool
) -> None:
    # built or updated in memory, it had no record of its folders (None): the bot took that for
    # "unchanged" and served no file dropped in for the rest of its run
    cache = tmp_path / "index"
    if saved_before:
        Library.load(corpus, index_dir=cache)
    (corpus / "ferry.txt").write_text(article("2024-10-24", "Ferry resumes", "The Zanzibar ferry resumed."))
    with full_disk():
        library = Library.load(corpus, index_dir=cache)
    assert library.build is None and library.search("Zanzibar ferry").hits  # served from memory
    assert library.folders_unchanged(corpus) is True
    (corpus / "desk").mkdir()
    assert library.folders_unchanged(corpus) is False
    assert Library.load(corpus).folders_unchanged(corpus) is None  # read with nowhere to save it


def test_a_folder_changed_within_a_clock_tick_is_checked_file_by_file(corpus: Path, tmp_path: Path) -> None:
    """Right after a change, a folder's times cannot show the next one: every file is checked."""
    cache = tmp_path / "index"
    Library.load(corpus, index_dir=cache)  # the corpus folder was written just now
    edit_in_place(corpus / "chess.txt")
    assert Library.open_current(corpus, cache, check="folders") is None


@pytest.mark.parametrize("damage", ["garbage", "other-build", "missing"])
def test_a_damaged_or_stale_folder_record_means_a_check_of_every_file(
    corpus: Path, tmp_path: Path, fine_clock: None, damage: str
) -> None:
    cache = tmp_path / "index"
    Library.load(corpus, index_dir=cache)
    record = saved_place(cache) / CHECKED
    if damage == "garbage":
        record.write_bytes(record.read_bytes()[:-3] + b"!!}")
    elif damage == "other-build":
        record.write_text(record.read_text().replace(current(cache).name, "build-elsewhere"))
    else:
        record.unlink()
    edit_in_place(corpus / "chess.txt")
    assert Library.open_current(corpus, cache, check="folders") is None


def test_a_check_of_every_file_that_finds_no_change_lets_the_next_start_check_folders(
    corpus: Path, tmp_path: Path, fine_clock: None
) -> None:
    cache = tmp_path / "index"
    Library.load(corpus, index_dir=cache)
    (corpus / "passing.txt").write_text("a file that comes and goes changes the folder, not the corpus")
    (corpus / "passing.txt").unlink()
    record = (saved_place(cache) / CHECKED).read_bytes()
    assert memory_mapped(Library.load(corpus, index_dir=cache))  # unchanged, and recorded so
    assert (saved_place(cache) / CHECKED).read_bytes() != record
    edit_in_place(corpus / "chess.txt")
    assert Library.open_current(corpus, cache, check="folders") is not None  # folders only now


@pytest.fixture
def opened() -> Iterator[list[str]]:
    """The names of the files this process opens while a test runs, seen by an audit hook.

    Python raises an `open` audit event for every file opened, in every thread; the hook
    only listens, and is switched off when the test ends (a hook cannot be removed).
    """
    names: list[str] = []
    listening = [True]

    def hook(event: str, arguments: tuple[Any, ...]) -> None:
        if listening[0] and event == "open" and isinstance(arguments[0], str | bytes | os.PathLike):
            names.append(os.path.basename(os.fsdecode(arguments[0])))

    sys.addaudithook(hook)
    yield names
    listening[0] = False


def test_a_file_touched_but_unchanged_is_read_once_not_at_every_check(
    corpus: Path, tmp_path: Path, opened: list[str], fine_clock: None
) -> None:
    hour_ago = time.time_ns() - 3600 * 10**9
    for path in corpus.iterdir():
        os.utime(path, ns=(hour_ago, hour_ago))
    cache = tmp_path / "index"
    built = Library.load(corpus, index_dir=cache)
    chess = corpus / "chess.txt"
    os.utime(chess, ns=(hour_ago, hour_ago + 60 * 10**9))  # `touch`: a new time, the same content
    opened.clear()
    assert Library.load(corpus, index_dir=cache).build == built.build  # /reload: unchanged, served as saved
    assert "chess.txt" in opened  # its time changed: its content was read to tell
    for check in (lambda: Library.load(corpus, index_dir=cache), lambda: Library.open_current(corpus, cache)):
        opened.clear()
        library = check()
        assert library is not None and library.build == built.build
        assert "chess.txt" not in opened  # the time was recorded as found: not read again

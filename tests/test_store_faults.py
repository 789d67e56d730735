"""A damaged saved index is rebuilt or refused, never served and never fatal.

Every saved file is damaged five ways on disk, with the library stopped and while it is
serving; each time the answers must equal a fresh build's, and the damage must be named
in exactly one log line.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import json
import logging
import os
import random
import shutil
import stat
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from retrieval import Library
from retrieval.shelf import MARKER
from retrieval.store import CHECKED, DAMAGED, FILES, MANIFEST, MAPPED, POINTER, TEXTS
from tests.conftest import ROOT, SHIPPED_CORPUS, article, saved_place

EVAL_CORPUS = ROOT / "tests" / "fixtures" / "eval" / "corpus"
QUESTIONS = (
    "Who negotiated with Abramovich?",
    "Which country won the chess olympiad in Budapest?",
    "Which harbour reopened after three months of repairs?",
    "Near which town did a volcano erupt in Iceland?",
    "grain ships Odesa",
    "ferry",
)
SAVED_FILES = (POINTER, MANIFEST, *FILES)


def truncate_to_half(data: bytes) -> bytes:
    return data[: len(data) // 2]


def truncate_to_zero(data: bytes) -> bytes:
    return b""


def flip_a_middle_byte(data: bytes) -> bytes:
    return flipped(data, [len(data) // 2])


def flip_the_last_byte(data: bytes) -> bytes:
    return flipped(data, [len(data) - 1])


def flip_random_bits(data: bytes) -> bytes:
    rng = random.Random(len(data))  # fixed per file: the same bits on every run
    changed = bytearray(data)
    for _ in range(3):
        bit = rng.randrange(8 * len(data))
        changed[bit // 8] ^= 1 << bit % 8
    return bytes(changed)


def flipped(data: bytes, positions: list[int]) -> bytes:
    changed = bytearray(data)
    for position in positions:
        changed[position] ^= 0xFF
    return bytes(changed)


MUTATIONS: tuple[Callable[[bytes], bytes], ...] = (
    truncate_to_half,
    truncate_to_zero,
    flip_a_middle_byte,
    flip_the_last_byte,
    flip_random_bits,
)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small real corpus: eight articles in two formats, dated events, one bad file."""
    root = tmp_path_factory.mktemp("faults") / "corpus"
    shutil.copytree(EVAL_CORPUS, root)
    shutil.copy(SHIPPED_CORPUS / "000_eba0014b280aac67.txt", root / "umerov.txt")
    grain = {"id": "1", "title": "Grain", "date": "2024-10-25", "text": "Grain ships left Odesa."}
    (root / "feeds.jsonl").write_text(json.dumps(grain) + "\n")
    (root / "broken.txt").write_text("no date line\n\nbody")
    return root


@pytest.fixture(scope="module")
def fresh(corpus: Path) -> Library:
    """What every damaged index must answer like: a build from the files, never saved."""
    return Library.load(corpus)


@pytest.fixture(scope="module")
def pristine(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved index of `corpus`, copied for each test to damage."""
    cache = tmp_path_factory.mktemp("pristine") / "index"
    Library.load(corpus, index_dir=cache)
    return cache


@pytest.fixture
def cache(pristine: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "index"
    shutil.copytree(pristine, copy)
    return copy


def saved_file(cache: Path, name: str) -> Path:
    place = saved_place(cache)
    if name == POINTER:
        return place / POINTER
    return place / (place / POINTER).read_text().split()[0] / name


def same_answers(library: Library, fresh: Library) -> None:
    """Every answer, article, passage and event (by topic too) equals the fresh build's (every text read)."""
    for question in QUESTIONS:
        assert library.search(question) == fresh.search(question)
        assert library.search(question, now=dt.date(2024, 3, 12)) == fresh.search(
            question, now=dt.date(2024, 3, 12)
        )
        assert library.timeline.latest(100, question) == fresh.timeline.latest(100, question)
    assert list(library.articles) == list(fresh.articles)
    assert list(library.passages) == list(fresh.passages)
    assert library.timeline.latest(100) == fresh.timeline.latest(100)
    assert library.latest(20) == fresh.latest(20)
    assert library.report == fresh.report


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]


def memory_mapped(library: Library) -> bool:
    return isinstance(library.index.doc_ids, np.memmap)


def test_every_saved_file_is_damaged_here(pristine: Path) -> None:
    """The fault matrix covers each file the index holds, and each is long enough to damage."""
    folder = saved_file(pristine, MANIFEST).parent
    assert sorted(path.name for path in folder.iterdir()) == sorted([MANIFEST, *FILES])
    assert all(saved_file(pristine, name).stat().st_size >= 2 for name in SAVED_FILES)


@pytest.mark.parametrize("mutate", MUTATIONS, ids=lambda mutate: mutate.__name__)
@pytest.mark.parametrize("name", SAVED_FILES)
def test_a_damaged_saved_file_is_rebuilt_and_named_once_never_served(
    corpus: Path,
    fresh: Library,
    cache: Path,
    caplog: pytest.LogCaptureFixture,
    name: str,
    mutate: Callable[[bytes], bytes],
) -> None:
    caplog.set_level(logging.INFO, logger="retrieval")
    path = saved_file(cache, name)
    path.write_bytes(mutate(path.read_bytes()))

    same_answers(Library.load(corpus, index_dir=cache), fresh)  # a start, then every text read
    [line] = warnings(caplog)
    assert name in line

    caplog.clear()  # the next start: the damage was rebuilt, or is now, and never again
    same_answers(Library.load(corpus, index_dir=cache), fresh)
    caplog.clear()
    again = Library.open_current(corpus, cache)
    assert again is not None and memory_mapped(again)
    same_answers(again, fresh)
    assert warnings(caplog) == []


@pytest.mark.parametrize("mutate", MUTATIONS[2:], ids=lambda mutate: mutate.__name__)
def test_the_indexer_finds_texts_damaged_in_place_before_serving(
    corpus: Path,
    fresh: Library,
    cache: Path,
    caplog: pytest.LogCaptureFixture,
    mutate: Callable[[bytes], bytes],
) -> None:
    """`python -m retrieval` (start with a stale index, /reload) checks every text at open."""
    caplog.set_level(logging.INFO, logger="retrieval")
    path = saved_file(cache, TEXTS)
    path.write_bytes(mutate(path.read_bytes()))
    library = Library.load(corpus, index_dir=cache, check_texts=True)
    [line] = warnings(caplog)
    assert f"{TEXTS} does not match its checksum" in line
    assert not memory_mapped(library)  # rebuilt, not opened
    same_answers(library, fresh)


def damage_in_place(path: Path, how: str) -> None:
    """Change a file as an editor or a broken disk would, without replacing it."""
    with path.open("r+b") as stream:
        if how == "truncate":
            stream.truncate(path.stat().st_size // 2)
        else:
            stream.seek(path.stat().st_size // 2)
            byte = stream.read(1)
            stream.seek(-1, 1)
            stream.write(bytes([byte[0] ^ 0xFF]))


@pytest.mark.parametrize("how", ["truncate", "edit"])
@pytest.mark.parametrize("name", [name for name in SAVED_FILES if name.removesuffix(".npy") not in MAPPED])
def test_damage_under_a_running_library_is_never_shown_and_a_reload_rebuilds(
    corpus: Path, fresh: Library, cache: Path, caplog: pytest.LogCaptureFixture, name: str, how: str
) -> None:
    caplog.set_level(logging.INFO, logger="retrieval")
    running = Library.open_current(corpus, cache)
    assert running is not None and memory_mapped(running)
    assert running.search(QUESTIONS[0]) == fresh.search(QUESTIONS[0])
    folder = saved_file(cache, MANIFEST).parent
    damage_in_place(saved_file(cache, name), how)

    same_answers(running, fresh)  # the texts are read again now; everything else was read at open
    lines = warnings(caplog)
    assert len(lines) == (1 if name == TEXTS else 0) and all(TEXTS in line for line in lines)

    caplog.clear()  # /reload: the indexer in a child process, then the bot opens what it saved
    Library.load(corpus, index_dir=cache, check_texts=True)
    reloaded = Library.load(corpus, index_dir=cache)
    assert memory_mapped(reloaded)
    assert saved_file(cache, MANIFEST).parent != folder and not (folder / DAMAGED).exists()
    same_answers(reloaded, fresh)


def test_an_article_damaged_whose_file_changed_since_is_left_out_not_shown(
    corpus: Path, fresh: Library, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Its saved text cannot be trusted and its file no longer holds it: answers skip it."""
    root, cache = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(corpus, root)
    Library.load(root, index_dir=cache)
    running = Library.open_current(root, cache)
    assert running is not None
    question = "Which country won the chess olympiad in Budapest?"
    assert running.search(question).hits[0].article.id == "chess"
    texts = saved_file(cache, TEXTS)
    texts.write_bytes(flipped(texts.read_bytes(), list(range(texts.stat().st_size))))  # every article
    (root / "chess.txt").write_text(article("2024-09-23", "Chess", "Norway won the olympiad."))

    hits = running.search(question).hits
    assert hits and "chess" not in [hit.article.id for hit in hits]
    assert [hit.passage for hit in hits] == [
        hit.passage for hit in fresh.search(question, k=10).hits if hit.article.id != "chess"
    ][: len(hits)]
    assert [a.id for a in running.latest(20)] == [a.id for a in fresh.latest(20) if a.id != "chess"]
    assert len(warnings(caplog)) == 1


def test_an_article_damaged_in_a_file_whose_name_is_shown_escaped_is_read_from_that_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Its file was looked for under the name as shown (`bell\u0007.txt`), which no file has:
    # the article was left out of answers while its own file still held it.
    root, cache = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(SHIPPED_CORPUS, root)
    (root / "bell\x07.txt").write_text(article("2024-09-23", "Chess", "Norway won the chess olympiad."))
    Library.load(root, index_dir=cache)
    running = Library.open_current(root, cache)
    assert running is not None
    texts = saved_file(cache, TEXTS)
    texts.write_bytes(flipped(texts.read_bytes(), list(range(texts.stat().st_size))))  # every article
    (hit,) = running.search("Which country won the chess olympiad?").hits[:1]
    assert hit.article.id == "bell\\u0007" and "Norway" in hit.passage.text
    assert len(warnings(caplog)) == 1


def test_an_article_damaged_whose_id_keeps_its_extension_is_read_from_its_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # chess.txt beside chess.md is served as `chess.txt`, which its file, read alone, does not
    # name: the id it wants is looked for, or the article is left out while its file holds it
    root, cache = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(SHIPPED_CORPUS, root)
    (root / "chess.txt").write_text(article("2024-09-23", "Chess", "Norway won the chess olympiad."))
    (root / "chess.md").write_text("---\ntitle: Go\ndate: 2024-09-24\n---\nA go tournament ended in Seoul.\n")
    Library.load(root, index_dir=cache)
    running = Library.open_current(root, cache)
    assert running is not None
    texts = saved_file(cache, TEXTS)
    texts.write_bytes(flipped(texts.read_bytes(), list(range(texts.stat().st_size))))  # every article
    (hit,) = running.search("Which country won the chess olympiad?").hits[:1]
    assert hit.article.id == "chess.txt" and "Norway" in hit.passage.text
    (hit,) = running.search("go tournament in Seoul").hits[:1]
    assert hit.article.id == "chess.md" and "Seoul" in hit.passage.text
    assert len(warnings(caplog)) == 1


def test_every_file_and_folder_reaches_the_disk_before_the_pointer_switch(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A power cut after the switch must not find a pointer to files still only in memory."""
    events: list[tuple[str, str]] = []
    fsync, replace = os.fsync, os.replace

    def recording_fsync(descriptor: int) -> None:
        events.append(("fsync", os.readlink(f"/proc/self/fd/{descriptor}")))
        fsync(descriptor)

    def recording_replace(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
        events.append(("replace", str(target)))
        replace(source, target)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    monkeypatch.setattr(os, "replace", recording_replace)
    cache = tmp_path / "index"
    Library.load(corpus, index_dir=cache)
    place = saved_place(cache)
    switch = events.index(("replace", str(place / POINTER)))
    flushed = {path for kind, path in events[:switch] if kind == "fsync"}
    build = saved_file(cache, MANIFEST).parent
    assert {str(path) for path in build.iterdir()} | {str(build), str(place / f".{POINTER}.tmp")} <= flushed
    assert events[switch + 1 :] == [("fsync", str(place))]  # the rename itself


def test_an_index_is_saved_where_folders_cannot_be_flushed(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Network shares and FUSE file systems answer a folder's fsync with EINVAL; files they flush."""
    fsync = os.fsync

    def files_only(descriptor: int) -> None:
        if stat.S_ISDIR(os.fstat(descriptor).st_mode):
            raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))
        fsync(descriptor)

    monkeypatch.setattr(os, "fsync", files_only)
    cache = tmp_path / "index"
    built = Library.load(corpus, index_dir=cache)
    assert built.build is not None  # saved, not built in memory
    reopened = Library.open_current(corpus, cache)
    assert reopened is not None and memory_mapped(reopened)
    same_answers(reopened, built)


@pytest.mark.parametrize("name", [f"{name}.npy" for name in MAPPED])
def test_mapped_arrays_edited_under_a_running_library_are_rebuilt_by_the_next_reload(
    corpus: Path, fresh: Library, cache: Path, caplog: pytest.LogCaptureFixture, name: str
) -> None:
    """They stay memory-mapped while serving (see docs/reliability.md); a reload checks them again."""
    caplog.set_level(logging.INFO, logger="retrieval")
    running = Library.open_current(corpus, cache)
    assert running is not None
    damage_in_place(saved_file(cache, name), "edit")
    Library.load(corpus, index_dir=cache, check_texts=True)  # /reload: the indexer, then the bot
    [line] = warnings(caplog)
    assert f"{name} does not match its checksum" in line
    reloaded = Library.load(corpus, index_dir=cache)
    assert memory_mapped(reloaded)
    same_answers(reloaded, fresh)


@pytest.mark.parametrize("planted", ["fifo", "symlink"])
def test_a_damage_mark_that_is_no_file_is_damage_and_never_waited_on(
    corpus: Path, fresh: Library, cache: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture, planted: str
) -> None:
    # Whoever may write the index folder can plant a named pipe or a link at the name of the
    # mark a damaged build gets (`damaged`). Opening the index read the mark whole: a
    # pipe no one writes held the start (or a /reload) for good, and a link to /dev/zero would
    # read until memory ran out. A mark of any kind is damage: the index is built again.
    folder = saved_file(cache, MANIFEST).parent
    mark = folder / DAMAGED
    if planted == "fifo":
        os.mkfifo(mark)
    else:
        big = tmp_path / "big"
        big.write_bytes(b"x" * 5_000_000)
        mark.symlink_to(big)
    released = threading.Event()

    def release() -> None:  # a hang guard: let a reader stuck on the pipe go
        released.set()
        with contextlib.suppress(OSError):
            os.close(os.open(mark, os.O_WRONLY | os.O_NONBLOCK))

    guard = threading.Timer(60, release)
    guard.start()
    try:
        library = Library.load(corpus, index_dir=cache)
    finally:
        guard.cancel()
    assert not released.is_set()
    assert saved_file(cache, MANIFEST).parent != folder  # built again
    same_answers(library, fresh)
    (line,) = [line for line in warnings(caplog) if "damaged while serving" in line]
    assert len(line) < 2000


@pytest.mark.parametrize("name", [POINTER, CHECKED, MANIFEST, MARKER])
def test_a_saved_file_that_is_a_named_pipe_is_never_waited_on(
    corpus: Path, fresh: Library, cache: Path, name: str
) -> None:
    # A named pipe planted at the name of the pointer, the record of the last check, a
    # manifest or a place's `corpus` file held every start (and every build, which reads the
    # `corpus` file of each place) until someone wrote to it; a link to /dev/zero read until
    # memory ran out. Each is a file that cannot be read: the index is built again.
    place = saved_place(cache)
    path = saved_file(cache, MANIFEST) if name == MANIFEST else place / name
    if name == MARKER:  # read by a build: the one of a corpus whose index was never saved
        (place / POINTER).unlink()
    path.unlink()
    os.mkfifo(path)
    done, released = threading.Event(), threading.Event()

    def release() -> None:  # a hang guard: let each reader stuck on the pipe go, while the load runs
        while not done.wait(60):
            released.set()
            with contextlib.suppress(OSError):
                os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))

    guard = threading.Thread(target=release)
    guard.start()
    try:
        library = Library.load(corpus, index_dir=cache)
    finally:
        done.set()
        guard.join()
    assert not released.is_set()
    same_answers(library, fresh)
    assert Library.open_current(corpus, cache) is not None  # saved, and served as saved from now on


def test_texts_damaged_while_serving_are_marked_under_an_index_folder_named_in_no_utf8(
    corpus: Path, fresh: Library, tmp_path: Path
) -> None:
    # A path need not be UTF-8 (`caf\xe9`): the mark's reason names the texts' path, and
    # writing it as UTF-8 raised UnicodeEncodeError, which failed the answer that met the
    # damage and left no mark, so that no later start or /reload rebuilt the index.
    cache = tmp_path / os.fsdecode(b"caf\xe9") / "index"
    Library.load(corpus, index_dir=cache)
    running = Library.open_current(corpus, cache)
    assert running is not None
    damage_in_place(saved_file(cache, TEXTS), "edit")
    same_answers(running, fresh)
    assert b"/caf\xe9/" in saved_file(cache, DAMAGED).read_bytes()  # the path's own bytes

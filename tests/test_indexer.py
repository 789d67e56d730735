"""`python -m retrieval CORPUS INDEX_DIR`: the index built apart from the bot, as /reload does."""

from __future__ import annotations

import asyncio
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import retrieval
from bot.reloading import index_in_child_process, reload_library
from retrieval import Library, shelf, store
from retrieval import folder as folder_module
from tests.conftest import (
    BUILD_INDEX,
    SHIPPED_CORPUS,
    WriteCorpus,
    article,
    cancelled_with_children_stopped,
    indexing_processes,
    signalled_at_rename,
)


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


def test_with_allow_empty_a_corpus_of_no_article_is_saved(write_corpus: WriteCorpus, tmp_path: Path) -> None:
    # as for a bot that serves no article yet (`newsbot run` on an empty folder)
    root = write_corpus({"bad.txt": "no date line"})
    done = subprocess.run(
        [sys.executable, "-m", "retrieval", str(root), str(tmp_path / "index"), "--allow-empty"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "0 articles, 0 passages indexed" in done.stdout
    library = Library.open_current(root, tmp_path / "index")
    assert library is not None and len(library.articles) == 0


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


def test_a_second_indexer_of_one_corpus_waits_for_the_first_and_builds_nothing(tmp_path: Path) -> None:
    """Two processes on one corpus's index (two bots, or `newsbot ask` while the bot builds)
    take turns; otherwise the first to finish removes the other's half-written build, which
    then builds everything again in memory."""
    corpus, cache = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    for n in range(3000):  # seconds of indexing: the first is caught long before it is done
        path = corpus / f"filler-{n}.txt"
        path.write_text(article("2024-01-01", f"Filler {n}", f"Weather report number {n} with rain. " * 40))
        os.utime(path, (1e9, 1e9))
    run = [sys.executable, "-m", "retrieval", str(corpus), str(cache)]
    with (tmp_path / "first.log").open("w+") as log:
        first = subprocess.Popen(run, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log)
        frozen: list[int] = []
        try:
            deadline = time.monotonic() + 60  # a guard against a hang, not a measure
            while not list(cache.glob("*/build-*")) and time.monotonic() < deadline:
                time.sleep(0.01)
            frozen = indexing_processes(corpus)  # the first, mid-build (its workers then wait on it)
            for pid in frozen:
                os.kill(pid, signal.SIGSTOP)
            assert frozen and not list(cache.glob("*/current"))
            second = subprocess.Popen(
                run, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
            said = said_until_it_waits(second)
            for pid in frozen:
                os.kill(pid, signal.SIGCONT)
            frozen = []
            out, rest = second.communicate(timeout=120)
            said.append(rest.decode())
            assert first.wait(timeout=120) == 0
        finally:
            for pid in frozen:
                os.kill(pid, signal.SIGCONT)
            first.kill()
        log.seek(0)
        assert "could not save" not in log.read()
    assert second.returncode == 0, said
    assert "build: started" not in "".join(said)  # it opened the first one's index
    assert b"3000 articles" in out
    library = Library.open_current(corpus, cache)
    assert library is not None and len(library.articles) == 3000


def said_until_it_waits(indexer: subprocess.Popen[bytes]) -> list[str]:
    """The lines an indexer logs until it says it waits for another process, or ends."""
    assert indexer.stderr is not None
    said = []
    while line := indexer.stderr.readline().decode():
        said.append(line)
        if "waiting for it" in line:
            break
    return said


FERRY = article("2024-05-01", "Ferry", "The ferry sails.")


@pytest.mark.parametrize(
    ("number", "left"),
    [(1, f".{shelf.MARKER}.tmp"), (2, f".{store.CHECKED}.tmp"), (3, f".{store.POINTER}.tmp")],
)
def test_a_temporary_of_a_build_killed_before_its_rename_is_removed_by_the_next_start(
    write_corpus: WriteCorpus, tmp_path: Path, number: int, left: str
) -> None:
    # killed (SIGKILL, memory run out) after writing the corpus's name, the folder check or
    # the pointer, before renaming it into place: each stayed until that very file was saved again
    corpus, cache = (
        write_corpus({"a.txt": article("2024-05-01", "Ferry", "The ferry sails.")}),
        tmp_path / "index",
    )
    signalled_at_rename(BUILD_INDEX, signal.SIGKILL, str(corpus), str(cache), number=number)
    place = shelf.place(cache, corpus)
    assert [path.name for path in place.glob(".*.tmp")] == [left]
    done = index(corpus, cache, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    assert list(place.glob(".*.tmp")) == []


def test_a_build_suspended_before_its_rename_keeps_its_temporary_and_is_named_by_the_next(
    write_corpus: WriteCorpus, tmp_path: Path
) -> None:
    """`newsbot ask` suspended with Ctrl-Z while it saves: the next indexer (the bot's
    /reload) says which process it waits for, removes nothing of it, and both finish once
    it goes on."""
    corpus, cache = (
        write_corpus({"a.txt": article("2024-05-01", "Ferry", "The ferry sails.")}),
        tmp_path / "index",
    )
    suspended = signalled_at_rename(BUILD_INDEX, signal.SIGSTOP, str(corpus), str(cache), number=3)
    place = shelf.place(cache, corpus)
    try:
        run = [sys.executable, "-m", "retrieval", str(corpus), str(cache)]
        second = subprocess.Popen(
            run, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        said = said_until_it_waits(second)
        assert f"another process (process {suspended.pid}) is working on the saved index" in said[-1]
        assert [path.name for path in place.glob(".*.tmp")] == [f".{store.POINTER}.tmp"]
    finally:
        suspended.send_signal(signal.SIGCONT)
    assert suspended.wait(timeout=120) == 0
    assert second.wait(timeout=120) == 0
    assert list(place.glob(".*.tmp")) == []
    assert Library.open_current(corpus, cache) is not None


def test_a_check_suspended_before_renaming_its_record_keeps_its_temporary_while_another_checks(
    write_corpus: WriteCorpus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `newsbot ask` suspended with Ctrl-Z as it records that the corpus is unchanged, while
    # the bot starts on the same index: the bot's record removed the other's temporary at
    # its fixed name and wrote its own there, which the other then renamed as its own
    monkeypatch.setattr(folder_module, "RECENT_NS", 0)  # trust times of just now (tests/test_store.py)
    corpus, cache = write_corpus({"a.txt": FERRY}), tmp_path / "index"
    Library.load(corpus, index_dir=cache)
    place = shelf.place(cache, corpus)
    recorded = (place / store.CHECKED).read_bytes()
    (corpus / "draft.txt").touch()  # the folder changes, its articles do not: a new record
    (corpus / "draft.txt").unlink()
    check = (
        "from retrieval import Library, folder\nfolder.RECENT_NS = 0\n"
        "Library.open_current(sys.argv[1], sys.argv[2])\n"
    )
    suspended = signalled_at_rename(check, signal.SIGSTOP, str(corpus), str(cache))
    try:
        assert [path.name for path in place.glob(".*.tmp")] == [f".{store.CHECKED}.tmp"]
        assert Library.open_current(corpus, cache) is not None  # served, as the bot starts
        assert [path.name for path in place.glob(".*.tmp")] == [f".{store.CHECKED}.tmp"]
    finally:
        suspended.send_signal(signal.SIGCONT)
    assert suspended.wait(timeout=120) == 0
    assert list(place.glob(".*.tmp")) == []
    assert (place / store.CHECKED).read_bytes() != recorded  # the suspended one's record, renamed


def test_an_index_saved_by_an_older_release_is_built_again_by_the_upgraded_code(
    write_corpus: WriteCorpus, tmp_path: Path
) -> None:
    """An upgrade keeps INDEX_DIR, and the corpus is unchanged: the index must still be read
    with the new code, which may read articles otherwise. Here the older release is one
    whose YAML reading left out an article titled "Yes" (a referendum's result)."""
    older = tmp_path / "older"
    shutil.copytree(Path(retrieval.__file__).parent, older / "retrieval")
    reader = older / "retrieval" / "corpus.py"
    source = reader.read_text()
    assert '    "tag:yaml.org,2002:bool",\n' in source
    reader.write_text(source.replace('    "tag:yaml.org,2002:bool",\n', "", 1))
    corpus = write_corpus(
        {
            "vote.md": "---\ntitle: Yes\ndate: 2024-05-01\n---\nThe referendum on the constitution passed.\n",
            "chess.txt": article("2024-10-01", "Chess olympiad", "India won the chess olympiad."),
            "go.txt": article("2024-10-02", "Go", "A go tournament in Seoul ended."),
        }
    )
    for path in corpus.iterdir():
        os.utime(path, (1e9, 1e9))  # settled: the time alone tells the files are unchanged
    cache = tmp_path / "index"
    older_release = {**os.environ, "PYTHONPATH": str(older)}
    done = index(corpus, cache, stdin=subprocess.DEVNULL, cwd=older, env=older_release)
    assert done.returncode == 0, done.stderr
    assert "2 articles" in done.stdout  # the older release's reading
    assert index(corpus, cache, stdin=subprocess.DEVNULL).returncode == 0  # the upgrade's first start
    library = Library.open_current(corpus, cache)
    assert library is not None and not library.report.problems
    assert library.search("referendum constitution").hits[0].article.headline == "Yes"


def test_an_upgrade_of_a_library_that_reads_articles_makes_the_saved_index_another_codes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`pip install --upgrade` of the stemmer, the lemmas, the vectors or the YAML reader, with
    newsbot as it was, reads articles otherwise too: the saved index is built again."""
    installed = store.metadata.version
    assert store._code_digest() == store.CODE
    for package in store.READING_PACKAGES:
        with monkeypatch.context() as patched:
            patched.setattr(
                store.metadata, "version", lambda name, p=package: "99.0" if name == p else installed(name)
            )
            assert store._code_digest() != store.CODE, package


def killed_mid_build(corpus: Path, cache: Path) -> None:
    """Run the indexer until its build has started, then kill it as the system does (SIGKILL)."""
    child = subprocess.Popen(
        [sys.executable, "-m", "retrieval", str(corpus), str(cache)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert child.stderr is not None
    try:
        while line := child.stderr.readline().decode():
            if "build: started" in line:
                break
    finally:
        child.kill()
        child.wait(timeout=60)
        child.stderr.close()
    assert not list(cache.glob("*/current")), "the build ended before it was killed"


def test_builds_killed_one_after_another_leave_no_more_than_one_behind(tmp_path: Path) -> None:
    """An indexer the system kills for memory, started again and again (a restart policy),
    must not fill the disk with the half-written builds of each try: the next build, under
    way or saved, is all there is."""
    corpus, cache = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    long_read = " ".join(f"Weather report {n} with rain in district {n % 97}." for n in range(120_000))
    for n in range(3):  # seconds of analysis each: the build is caught long before it is done
        (corpus / f"archive-{n}.txt").write_text(article("2024-01-01", f"Archive {n}", long_read))
    killed_mid_build(corpus, cache)
    killed_mid_build(corpus, cache)
    assert len(list(cache.glob("*/build-*"))) == 1


async def test_a_cancelled_reload_returns_once_its_killed_child_is_reaped(
    write_corpus: WriteCorpus, tmp_path: Path
) -> None:
    # A stopping bot cancels its reload and closes its event loop just after; a child reaped
    # later reached a closed loop, and its pipes wrote "Event loop is closed" tracebacks.
    corpus = write_corpus({f"f{n:03d}.txt": article("2024-01-01", f"Filler {n}", "Rain.") for n in range(50)})
    reload = index_in_child_process(corpus, tmp_path / "index")
    children = await cancelled_with_children_stopped(reload, lambda: indexing_processes(corpus))
    assert [pid for pid in children if Path(f"/proc/{pid}").exists()] == []


async def test_a_reload_whose_child_failed_says_so_when_it_waits_for_a_suspended_holder_itself(
    write_corpus: WriteCorpus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # after a failed indexing child (here one that cannot start at all) the bot reads the
    # corpus itself, which waits for the saved index's holder too: the admin heard nothing
    corpus, cache = write_corpus({"ferry.txt": FERRY}), tmp_path / "index"
    holder = await asyncio.to_thread(
        signalled_at_rename, BUILD_INDEX, signal.SIGSTOP, str(corpus), str(cache)
    )
    told: asyncio.Queue[str] = asyncio.Queue()
    try:
        monkeypatch.setattr(sys, "executable", shutil.which("false"))
        reload = asyncio.ensure_future(reload_library(corpus, cache, waiting=told.put_nowait))
        async with asyncio.timeout(120):
            assert await told.get() == str(holder.pid)
        assert not reload.done()
    finally:
        holder.send_signal(signal.SIGCONT)
    assert await asyncio.to_thread(holder.wait, 120) == 0
    library = await reload
    assert library.search("ferry").hits

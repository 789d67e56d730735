"""One saved index per corpus folder: switching folders, or evaluating elsewhere, evicts nothing."""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from retrieval import CorpusError, Library, LibraryOptions, shelf
from retrieval.store import CHECKED, POINTER, current_build
from tests.conftest import SHIPPED_CORPUS, article


def memory_mapped(library: Library) -> bool:
    return isinstance(library.index.doc_ids, np.memmap)


def corpus(tmp_path: Path, name: str, words: str) -> Path:
    root = tmp_path / name
    root.mkdir(parents=True)
    (root / "a.txt").write_text(article("2024-05-01", f"{words} headline", f"A story about {words}."))
    (root / "b.txt").write_text(article("2024-05-02", "Other news", "Rain over the harbour."))
    return root


def test_each_corpus_folder_keeps_its_own_saved_index(tmp_path: Path) -> None:
    index = tmp_path / "index"
    first, second = corpus(tmp_path, "first", "ferries"), corpus(tmp_path, "second", "glaciers")
    built = Library.load(first, index_dir=index)
    Library.load(second, index_dir=index)
    again = Library.load(first, index_dir=index)  # after the other folder: still its own, as saved
    assert memory_mapped(again) and again.build == built.build and again.is_current()
    assert again.search("ferries").hits and not again.search("glaciers").hits
    assert memory_mapped(Library.load(second, index_dir=index))
    assert Library.open_current(first, index, check="folders") is not None  # as `newsbot run` starts


def test_a_build_with_other_options_never_evicts_the_default_one(tmp_path: Path) -> None:
    index, root = tmp_path / "index", corpus(tmp_path, "news", "ferries")
    default = Library.load(root, index_dir=index)
    for options in (LibraryOptions(min_chars=50), LibraryOptions(plain=True)):  # as `newsbot eval` may
        assert not memory_mapped(Library.load(root, options, index_dir=index))
    kept = Library.open_current(root, index)
    assert kept is not None and kept.build == default.build
    assert LibraryOptions(lexical_only=True).record() == LibraryOptions().record()  # the bot's either way


def test_a_place_is_named_after_its_folder_and_keyed_by_the_resolved_path(tmp_path: Path) -> None:
    index = tmp_path / "index"
    news = corpus(tmp_path, "news", "ferries")
    (tmp_path / "link").symlink_to(news)
    assert shelf.place(index, tmp_path / "link") == shelf.place(index, news)  # one folder, one index
    assert shelf.place(index, news).name.startswith("news-")
    assert shelf.place(index, news, custom=True).name.endswith("-custom")
    other = corpus(tmp_path / "elsewhere", "news", "ferries")  # the same name in another place
    assert shelf.place(index, other) != shelf.place(index, news)
    assert shelf.place(index, Path("/")).name.startswith("root-")
    odd = tmp_path / "Новини 2024 ⁄ архів"
    assert shelf.place(index, odd).name.startswith("2024-")  # only portable characters in the name


def long_ago(place: Path) -> None:
    """Date the mark that `place`'s corpus folder is missing back past `shelf.GONE_FOR`."""
    then = time.time() - shelf.GONE_FOR - 60
    os.utime(place / shelf.MISSING, (then, then))


def test_indexes_of_folders_that_are_gone_are_removed_after_a_build(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="retrieval")
    index = tmp_path / "index"
    kept, gone, later = (corpus(tmp_path, name, name) for name in ("kept", "gone", "later"))
    for root in (kept, gone):
        Library.load(root, index_dir=index)
    Library.load(gone, LibraryOptions(min_chars=50), index_dir=index)
    foreign = index / "notes"  # not made by newsbot: left alone, whatever it holds
    foreign.mkdir()
    (foreign / "corpus").write_text(str(tmp_path / "nowhere"))
    shutil.rmtree(gone)
    Library.load(later, index_dir=index)  # the first build to miss the folder only marks its places
    assert shelf.place(index, gone).exists() and shelf.place(index, gone, custom=True).exists()
    for custom in (False, True):
        long_ago(shelf.place(index, gone, custom))
    Library.load(later, LibraryOptions(min_chars=50), index_dir=index)
    assert not shelf.place(index, gone).exists() and not shelf.place(index, gone, custom=True).exists()
    assert shelf.place(index, kept).exists() and foreign.exists()
    assert f"removed the saved index of {gone.resolve()}: that folder no longer exists" in caplog.text
    assert memory_mapped(Library.load(kept, index_dir=index))


def test_an_index_is_kept_for_30_days_after_its_folder_went_missing_and_removed_after(tmp_path: Path) -> None:
    index, day = tmp_path / "index", 24 * 3600
    gone = corpus(tmp_path, "gone", "ferries")
    Library.load(gone, index_dir=index)
    shutil.rmtree(gone)
    for number, days in enumerate([0, 29, 30], start=1):  # the README's 30 days: at 29 kept, at 30 removed
        if days:
            then = time.time() - days * day - 60
            os.utime(shelf.place(index, gone) / shelf.MISSING, (then, then))
        Library.load(corpus(tmp_path, f"other-{number}", "harbour"), index_dir=index)  # a build elsewhere
        assert shelf.place(index, gone).exists() is (days < 30)


def test_a_folder_missing_for_a_while_keeps_its_index_when_others_are_built(tmp_path: Path) -> None:
    index = tmp_path / "index"
    news, other, third = (corpus(tmp_path, name, name) for name in ("news", "other", "third"))
    built = Library.load(news, index_dir=index)
    news.rename(tmp_path / "news-away")  # a share not mounted, a folder renamed for a minute
    Library.load(other, index_dir=index)  # `newsbot ask --corpus other` meanwhile: a build
    long_ago(shelf.place(index, news))  # however long it stayed away
    (tmp_path / "news-away").rename(news)
    back = Library.load(news, index_dir=index)
    assert memory_mapped(back) and back.build == built.build  # served as saved, not built again
    assert not (shelf.place(index, news) / shelf.MISSING).exists()  # using it again cleared the mark
    news.rename(tmp_path / "news-away")  # missing again: for a while from now, not since the first time
    Library.load(third, index_dir=index)
    assert current_build(shelf.place(index, news)) == built.build


def test_a_saved_index_of_the_earlier_layout_is_moved_to_its_place_not_built_again(tmp_path: Path) -> None:
    index, root = tmp_path / "index", corpus(tmp_path, "news", "ferries")
    built = Library.load(root, index_dir=index)
    place = shelf.place(index, root)
    for name in (POINTER, CHECKED, str(built.build)):  # as the earlier layout saved it: at the top
        (place / name).rename(index / name)
    shutil.rmtree(place)
    opened = Library.open_current(root, index, check="folders")  # as the upgraded bot starts
    assert opened is not None and opened.build == built.build
    assert opened.search("ferries").hits
    assert current_build(index) is None and current_build(place) == built.build


@pytest.mark.parametrize("why", ["other-options", "already-placed"])
def test_a_saved_index_of_the_earlier_layout_of_no_use_is_removed(tmp_path: Path, why: str) -> None:
    index, root = tmp_path / "index", corpus(tmp_path, "news", "ferries")
    options = LibraryOptions(min_chars=50) if why == "other-options" else LibraryOptions()
    old = Library.load(root, options, index_dir=index)
    place = shelf.place(index, root, custom=why == "other-options")
    for name in (POINTER, str(old.build)):
        (place / name).rename(index / name)
    if why == "already-placed":
        Library.load(root, index_dir=tmp_path / "elsewhere")
        shutil.copytree(shelf.place(tmp_path / "elsewhere", root), place, dirs_exist_ok=True)
    library = Library.load(root, index_dir=index)
    assert library.search("ferries").hits
    assert current_build(index) is None and not (index / str(old.build)).exists()


def test_the_shipped_corpus_and_an_evaluation_corpus_share_an_index_folder(tmp_path: Path) -> None:
    index = tmp_path / "index"
    bot = Library.load(SHIPPED_CORPUS, index_dir=index)
    Library.load(Path(__file__).parent / "fixtures" / "eval" / "corpus", index_dir=index)
    assert sorted(path.name.rsplit("-", 1)[0] for path in index.iterdir()) == ["corpus", "corpus"]
    reopened = Library.open_current(SHIPPED_CORPUS, index, check="folders")
    assert reopened is not None and reopened.build == bot.build


@pytest.mark.parametrize("inside", ["index", "world/index", "."])
def test_an_index_folder_the_corpus_would_read_is_refused_with_the_fix(tmp_path: Path, inside: str) -> None:
    """Its saved files were read as articles (dozens of load problems, `vocabulary.txt` among
    them), and each save changed the corpus, so every start and reload read it again."""
    root = corpus(tmp_path, "news", "ferries")
    fix = r"lies inside the corpus folder .* move it out .* a name that starts with a dot"
    with pytest.raises(CorpusError, match=fix):
        Library.load(root, index_dir=root / inside)
    with pytest.raises(CorpusError, match=fix):
        Library.open_current(root, root / inside, check="folders")
    assert sorted(path.name for path in root.iterdir()) == ["a.txt", "b.txt"]  # nothing made there


@pytest.mark.parametrize("inside", [".index", ".cache/index"])
def test_a_hidden_index_folder_inside_the_corpus_is_never_read(tmp_path: Path, inside: str) -> None:
    root = corpus(tmp_path, "news", "ferries")
    Library.load(root, index_dir=root / inside)
    again = Library.load(root, index_dir=root / inside)
    assert memory_mapped(again) and again.report.problems == () and len(again.articles) == 2


def test_an_index_folder_whose_file_system_has_no_locks_still_saves_and_serves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """An NFS share whose lock service is not running answers every lock with ENOLCK (No
    locks available): the index is used without taking turns, as where no lock file can be
    made, not refused at every start and /reload."""

    def no_locks(descriptor: int, operation: int) -> None:
        raise OSError(errno.ENOLCK, os.strerror(errno.ENOLCK))

    monkeypatch.setattr(fcntl, "flock", no_locks)
    caplog.set_level(logging.WARNING, logger="retrieval")
    root, cache = corpus(tmp_path, "news", "harbour"), tmp_path / "index"
    built = Library.load(root, index_dir=cache)
    assert built.build is not None and built.search("harbour").hits
    assert Library.load(root, index_dir=cache).build == built.build  # served as saved
    assert "No locks available" in caplog.text


def test_an_index_folder_without_locks_is_warned_of_once_not_at_every_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # every start, /reload, feed round and `newsbot ask` takes the lock: on such a share the
    # same warning filled the log, one a lock
    def no_locks(descriptor: int, operation: int) -> None:
        raise OSError(errno.ENOLCK, os.strerror(errno.ENOLCK))

    monkeypatch.setattr(fcntl, "flock", no_locks)
    caplog.set_level(logging.WARNING, logger="retrieval")
    root, cache = corpus(tmp_path, "news", "harbour"), tmp_path / "index"
    for _ in range(3):
        assert Library.load(root, index_dir=cache).search("harbour").hits
    other = shelf.place(cache, corpus(tmp_path, "other", "glaciers"))
    for place in (shelf.place(cache, root), other, other):
        with shelf.exclusive(place) as held:
            assert held  # used without the lock
    warned = [record.getMessage() for record in caplog.records if "cannot lock" in record.getMessage()]
    assert len(warned) == 2 and str(other) in warned[1]  # once for each index folder


def test_a_build_never_writes_through_a_link_planted_at_its_temporary_files(tmp_path: Path) -> None:
    # the pointer, the folder check and the corpus name are written at fixed names, then
    # renamed: a link planted there by whoever may write the index folder had a build
    # overwrite the file it led to (the bot's .env, its state file) with the pointer
    index, root = tmp_path / "index", corpus(tmp_path, "news", "ferries")
    Library.load(root, index_dir=index)
    place = shelf.place(index, root)
    victims = {}
    for name in (f".{POINTER}.tmp", f".{CHECKED}.tmp", f".{shelf.MARKER}.tmp"):
        victims[name] = tmp_path / f"victim{name}"
        victims[name].write_text("keep me\n")
        (place / name).symlink_to(victims[name])
    for name in (POINTER, shelf.MARKER):  # a build from scratch writes all three
        (place / name).unlink()
    Library.load(root, index_dir=index)
    assert [victim.read_text() for victim in victims.values()] == ["keep me\n"] * 3
    again = Library.load(root, index_dir=index)
    assert memory_mapped(again) and again.search("ferries").hits


def test_a_build_removes_nothing_through_a_place_swapped_for_a_link(tmp_path: Path) -> None:
    # a build removes the builds of its place that are not current (a killed one's): with
    # the place swapped for a link, it removed every build-* folder where the link led
    index, root = tmp_path / "index", corpus(tmp_path, "news", "ferries")
    Library.load(root, index_dir=index)
    place = shelf.place(index, root)
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "build-theirs").mkdir(parents=True)
    (elsewhere / "build-theirs" / "kept.txt").write_text("keep me")
    shutil.rmtree(place)
    place.symlink_to(elsewhere)
    with pytest.raises(CorpusError, match="symbolic link"):
        Library.load(root, index_dir=index)
    assert sorted(path.name for path in elsewhere.rglob("*")) == ["build-theirs", "kept.txt"]


def test_pruning_neither_removes_nor_makes_a_file_through_a_link_in_the_index_folder(tmp_path: Path) -> None:
    # a link named as a place, to a folder naming that place's corpus: the prune after a
    # build removed the `missing` file where it led, or made one there
    index, news = tmp_path / "index", corpus(tmp_path, "news", "ferries")
    Library.load(news, index_dir=index)
    links = {}
    for name, named in (("found", tmp_path / "other"), ("gone", tmp_path / "nowhere")):
        folder = tmp_path / name
        folder.mkdir()
        (folder / shelf.MARKER).write_bytes(os.fsencode(named) + b"\n")
        links[name] = folder
    (tmp_path / "other").mkdir()
    (links["found"] / shelf.MISSING).write_text("keep me")
    for folder, named in ((links["found"], tmp_path / "other"), (links["gone"], tmp_path / "nowhere")):
        shelf.place(index, named).symlink_to(folder)
    Library.load(corpus(tmp_path, "later", "glaciers"), index_dir=index)  # a build, then a prune
    assert (links["found"] / shelf.MISSING).read_text() == "keep me"
    assert not (links["gone"] / shelf.MISSING).exists()


def test_a_link_planted_at_the_lock_file_is_replaced_and_the_lock_still_taken(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # the lock file is never opened through a link; one planted there had the index used
    # by every process without the lock, two builds at once, and nothing logged
    root = corpus(tmp_path, "news", "ferries")
    place = shelf.place(tmp_path / "index", root)
    place.mkdir(parents=True)
    victim = tmp_path / "victim"
    victim.write_text("keep me\n")
    (place / shelf.LOCK).symlink_to(victim)
    caplog.set_level(logging.WARNING, logger="retrieval")
    with shelf.exclusive(place) as held, shelf.exclusive(place, wait=False) as second:
        assert held and not second
    assert not (place / shelf.LOCK).is_symlink()
    assert victim.read_text() == "keep me\n"
    assert f"lock file in {place} was a symbolic link; replaced" in caplog.text


STOPPED_ON_A_LINK = (
    "import os, signal, sys\n"
    "from pathlib import Path\n"
    "from retrieval import shelf\n"
    "def on_a_link(frame, event, arg):\n"
    "    if event == 'return' and frame.f_code.co_name == 'is_symlink' and arg is True:\n"
    "        sys.setprofile(None)\n"
    "        os.kill(os.getpid(), signal.SIGSTOP)\n"
    "sys.setprofile(on_a_link)\n"
    "with shelf.exclusive(Path(sys.argv[1]), wait=False) as held:\n"
    "    print(held, flush=True)\n"
)
"""Code for a child that takes the lock of the place `argv[1]` without waiting, and prints
whether it got it; it stops itself (SIGSTOP) as it finds a link at the lock file."""


def test_a_link_at_the_lock_file_found_by_two_processes_at_once_still_lets_one_hold_it(
    tmp_path: Path,
) -> None:
    # both found the link; the first replaced it with a file and locked that, then the
    # second removed that file, the first one's lock with it, and locked a file of its own
    place = tmp_path / "index" / "place"
    place.mkdir(parents=True)
    victim = tmp_path / "victim"
    victim.write_text("keep me\n")
    (place / shelf.LOCK).symlink_to(victim)
    other = subprocess.Popen([sys.executable, "-c", STOPPED_ON_A_LINK, str(place)], stdout=subprocess.PIPE)
    try:
        _, status = os.waitpid(other.pid, os.WUNTRACED)
        assert os.WIFSTOPPED(status)  # it found the link
        with shelf.exclusive(place) as held:
            assert held
            other.send_signal(signal.SIGCONT)
            printed, _ = other.communicate(timeout=120)
    finally:
        other.kill()
        other.wait()
    assert printed == b"False\n"  # the place was held
    assert victim.read_text() == "keep me\n" and not (place / shelf.LOCK).is_symlink()

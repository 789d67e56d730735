"""The command line as a terminal user meets it: a bar or log lines on stderr, Ctrl-C, `| head`.

Every case runs the installed `newsbot` (or `python -m retrieval`) as a real process, and
waits on what it says or does (a line on stderr, a connection), never on the clock.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import signal
import socket
import struct
import subprocess
import sys
import termios
import threading
from pathlib import Path

import pytest

from bot.cli import main
from bot.statedb import open_state
from retrieval import Library
from tests.conftest import ROOT, SHIPPED_CORPUS, WriteCorpus, alive, article, children_of

NEWSBOT = str(Path(sys.executable).with_name("newsbot"))
EVAL_CORPUS = ROOT / "tests" / "fixtures" / "eval" / "corpus"
EVAL_QUESTIONS = ROOT / "tests" / "fixtures" / "eval" / "questions.jsonl"
INTERRUPTED, BROKEN_PIPE = 130, 141


def environment(**values: str) -> dict[str, str]:
    """This process's environment (INDEX_DIR and STATE_DIR in the test's folder), no corpus setting."""
    kept = {k: v for k, v in os.environ.items() if k not in ("CORPUS_DIR", "TELEGRAM_BOT_TOKEN", "ADMIN_IDS")}
    return {**kept, **values}


def quiet(stderr: str) -> bool:
    """Nothing a user should not see: no traceback, no complaint about a lost stream."""
    return not any(word in stderr for word in ("Traceback", "Exception ignored", "BrokenPipeError"))


def archive(write_corpus: WriteCorpus, files: int = 3000) -> Path:
    """A corpus that takes seconds to build, over worker processes."""
    filler = "Weather report number {n} with rain and wind over the harbour. " * 60
    return write_corpus(
        {f"f{n:04d}.txt": article("2024-01-01", f"Filler {n}", filler.format(n=n)) for n in range(files)}
    )


# --- stdout read by a program that stops reading ---------------------------------------


def test_ask_into_a_pipe_closed_early_exits_quietly_with_sigpipes_status() -> None:
    process = subprocess.Popen(
        [NEWSBOT, "ask", "Who negotiated with Abramovich?", "--corpus", str(SHIPPED_CORPUS)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment(),
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # the reader is gone before the answer is written
    stderr = process.stderr.read()
    assert process.wait() == BROKEN_PIPE  # as `seq 100000 | head -1` leaves seq
    assert quiet(stderr), stderr


def test_a_long_listing_piped_into_head_exits_quietly(write_corpus: WriteCorpus) -> None:
    root = write_corpus({"good.txt": article("2024-01-01", "Good", "Fine text.")})
    for n in range(30):  # 30 files of 200 problem lines: some 3,000 listed (a file lists its first 100)
        (root / f"junk-{n}.jsonl").write_text("\n".join("{broken" for _ in range(200)))
    Library.load(root, index_dir=os.environ["INDEX_DIR"])  # built before: only the listing is timed
    newsbot = subprocess.Popen(
        [NEWSBOT, "stats", "--corpus", str(root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environment(),
    )
    head = subprocess.Popen(["head", "-2"], stdin=newsbot.stdout, stdout=subprocess.PIPE)
    assert newsbot.stdout is not None and newsbot.stderr is not None
    newsbot.stdout.close()  # head alone reads it: its exit breaks the pipe
    shown, _ = head.communicate()
    stderr = newsbot.stderr.read().decode()
    assert newsbot.wait() == BROKEN_PIPE  # the listing (250 KB) is far larger than a pipe holds
    assert shown.decode().splitlines() == ["files       31", "articles    1"]
    assert quiet(stderr), stderr


# --- output that cannot be written ---------------------------------------------------------


@pytest.mark.parametrize("args", [["stats"], ["ask", "Who negotiated with Abramovich?", "--json"]])
def test_output_to_a_full_disk_exits_2_with_one_line_not_1(args: list[str]) -> None:
    with open("/dev/full", "w") as full:  # every write fails: No space left on device
        done = subprocess.run(
            [NEWSBOT, *args, "--corpus", str(SHIPPED_CORPUS)],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            env=environment(),
        )
    assert done.returncode == 2  # not 1, which tells a script that nothing was found
    assert done.stderr.splitlines()[-1] == "newsbot: [Errno 28] No space left on device"
    assert quiet(done.stderr), done.stderr


def test_a_closed_stdout_exits_2_saying_so_before_the_work() -> None:
    done = subprocess.run(
        ["sh", "-c", 'exec "$0" "$@" >&-', NEWSBOT, "ask", "Abramovich", "--corpus", str(SHIPPED_CORPUS)],
        stderr=subprocess.PIPE,
        text=True,
        env=environment(),
    )
    assert done.returncode == 2  # not 1, "nothing found", with a traceback
    assert done.stderr == "newsbot: [Errno 9] stdout is closed; send the output somewhere, as > /dev/null\n"


@pytest.mark.parametrize(
    ("question", "code", "hits"), [("Abramovich", 0, True), ("zzyzx", 1, False)], ids=["found", "nothing"]
)
def test_a_closed_stderr_leaves_stdout_the_answer_alone(question: str, code: int, hits: bool) -> None:
    # A first build logs how far it is, and "Nothing found" is said on stderr: with stderr
    # closed (`2>&-`) both went to stdout, into the JSON a script reads.
    done = subprocess.run(
        ["sh", "-c", 'exec "$0" "$@" 2>&-', NEWSBOT, "ask", question, "--json"],
        stdout=subprocess.PIPE,
        text=True,
        env=environment(CORPUS_DIR=str(SHIPPED_CORPUS)),
    )
    assert done.returncode == code
    assert bool(json.loads(done.stdout)) == hits, done.stdout


def test_hits_that_cannot_be_written_exit_2_naming_the_file(tmp_path: Path) -> None:
    done = subprocess.run(
        [NEWSBOT, "eval", str(EVAL_QUESTIONS), "--corpus", str(EVAL_CORPUS), "--hits-out", str(tmp_path)],
        capture_output=True,
        text=True,
        env=environment(),
    )
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1] == f"newsbot: [Errno 21] Is a directory: '{tmp_path}'"
    assert quiet(done.stderr), done.stderr


# --- Ctrl-C ---------------------------------------------------------------------------------


def interrupted_when(command: list[str], heard: str, **run: object) -> tuple[int, str, list[int]]:
    """Run `command` in a session of its own, send SIGINT to its process group (as Ctrl-C in a
    terminal does) once stderr says `heard`; its exit code, its stderr, and the build workers
    it had then."""
    process = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env=environment(),
        **run,  # type: ignore[call-overload]
    )
    assert process.stderr is not None
    said, workers = [], []
    for line in process.stderr:
        said.append(line)
        if heard in line:
            workers = [pid for pid, argv in children_of(process.pid).items() if b"retrieval.indexing" in argv]
            os.killpg(process.pid, signal.SIGINT)
            break
    said.append(process.stderr.read())
    return process.wait(), "".join(said), workers


@pytest.mark.parametrize("command", ["ask", "indexer"])
def test_ctrl_c_during_a_build_exits_130_without_a_traceback(
    write_corpus: WriteCorpus, tmp_path: Path, command: str
) -> None:
    root, index = archive(write_corpus), tmp_path / "index"
    argv = {
        "ask": [NEWSBOT, "ask", "harbour wind", "--corpus", str(root)],
        "indexer": [sys.executable, "-m", "retrieval", str(root), str(index)],
    }[command]
    # the first chunk's line: the workers are at work on the others
    code, stderr, workers = interrupted_when(argv, "of 3,000 files (", cwd=tmp_path)
    assert code == INTERRUPTED
    assert quiet(stderr), stderr
    cores = len(os.sched_getaffinity(0))  # a worker a core, none on one (see retrieval.indexing)
    assert "build: done" not in stderr and len(workers) == (cores if cores > 1 else 0)  # mid-build ...
    assert not any(alive(pid) for pid in workers)  # ... which the build stopped as it stopped
    searched = index if command == "indexer" else Path(os.environ["INDEX_DIR"])
    assert not list(searched.rglob("current")) and not list(searched.rglob("build-*"))  # nothing half-made


def test_ctrl_c_during_an_update_leaves_the_saved_index_as_it_was(write_corpus: WriteCorpus) -> None:
    root = write_corpus(
        {"keep.txt": article("2024-01-01", "Lighthouse", "The lighthouse keeper counted ships.")}
    )
    index = Path(os.environ["INDEX_DIR"])
    Library.load(root, index_dir=index)
    saved = {path: path.read_bytes() for path in index.rglob("*") if path.is_file()}
    archive(write_corpus)  # 3,000 new files: an update that reads them for seconds
    argv = [NEWSBOT, "ask", "lighthouse", "--corpus", str(root)]
    code, stderr, _ = interrupted_when(argv, "update: started, 3,000 files")
    assert code == INTERRUPTED
    assert quiet(stderr), stderr
    assert "update: done" not in stderr
    assert {path: path.read_bytes() for path in index.rglob("*") if path.is_file()} == saved
    for added in root.glob("f*.txt"):
        added.unlink()
    served = Library.open_current(root, index)  # the corpus as it was saved: served as saved, unbuilt
    assert served is not None and list(served.articles.ids) == ["keep"]


def test_ctrl_c_during_eval_exits_130_without_a_traceback(tmp_path: Path) -> None:
    lines = EVAL_QUESTIONS.read_text().splitlines()
    many = tmp_path / "many.jsonl"
    copies = ({**json.loads(lines[n % len(lines)]), "qid": f"q{n}"} for n in range(20_000))
    many.write_text("".join(json.dumps(copy) + "\n" for copy in copies))
    code, stderr, _ = interrupted_when(
        [NEWSBOT, "eval", str(many), "--corpus", str(EVAL_CORPUS)], "eval: started"
    )
    assert code == INTERRUPTED
    assert quiet(stderr), stderr
    assert "eval: done" not in stderr


def test_ctrl_c_during_a_feed_round_exits_130_without_a_traceback(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # takes the connection, never answers
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/feed.xml"
        db = open_state(Path(os.environ["STATE_DIR"]))
        db.add_feed(url, "silent", "Silent")
        db.close()
        process = subprocess.Popen(
            [NEWSBOT, "fetch", "--corpus", str(tmp_path / "corpus")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
            env=environment(FEED_TIMEOUT="600"),
        )
        silent.settimeout(120)  # a safety net only: the wait ends when the round connects
        connection, _ = silent.accept()
        with connection:
            os.killpg(process.pid, signal.SIGINT)
            assert process.stderr is not None
            stderr = process.stderr.read()
            code = process.wait()
    assert code == INTERRUPTED
    assert quiet(stderr), stderr
    assert "fetch: started, 1 feed" in stderr


# --- a bar on a terminal, log lines anywhere else ---------------------------------------


def on_a_terminal(command: list[str]) -> tuple[int, str, str]:
    """Run `command` with stderr on a pseudo-terminal 100 columns wide; exit code, stdout and
    what the terminal received."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    received: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                data = os.read(leader, 65536)
            except OSError:  # the last writer closed the terminal
                return
            if not data:
                return
            received.append(data)

    reader = threading.Thread(target=drain)
    reader.start()
    try:
        process = subprocess.run(
            command, stdout=subprocess.PIPE, stderr=follower, text=True, env=environment()
        )
    finally:
        os.close(follower)
        reader.join()
        os.close(leader)
    return process.returncode, process.stdout, b"".join(received).decode(errors="replace")


def test_a_terminal_shows_bars_for_the_build_and_the_evaluation() -> None:
    code, out, screen = on_a_terminal([NEWSBOT, "eval", str(EVAL_QUESTIONS), "--corpus", str(EVAL_CORPUS)])
    assert code == 0 and out.startswith("9 questions")
    assert "indexing: 100%|" in screen and "7/7" in screen and "7 articles, 8 passages" in screen
    assert "eval: 100%|" in screen and "9/9" in screen
    assert "\r" in screen  # drawn in place
    assert "INFO" not in screen  # no log lines beside the bars


def test_anywhere_else_the_build_and_evaluation_write_log_lines_with_counts() -> None:
    done = subprocess.run(
        [NEWSBOT, "eval", str(EVAL_QUESTIONS), "--corpus", str(EVAL_CORPUS)],
        capture_output=True,
        text=True,
        env=environment(),
    )
    assert done.returncode == 0
    lines = done.stderr.splitlines()
    assert "INFO bot.progress: build: started, 7 files" in lines[0]
    assert any("build: done, 7 files: 7 articles, 8 passages in " in line for line in lines)
    assert any("eval: started, 9 questions" in line for line in lines)
    assert "eval: done, 9 questions in " in lines[-1]
    assert "\r" not in done.stderr


# --- one saved index per corpus folder -------------------------------------------------------


def test_eval_elsewhere_leaves_the_bots_index_in_place_and_reused(capsys: pytest.CaptureFixture[str]) -> None:
    index = Path(os.environ["INDEX_DIR"])
    bot = Library.load(SHIPPED_CORPUS, index_dir=index)  # as `newsbot run` saved it
    assert main(["eval", str(EVAL_QUESTIONS), "--corpus", str(EVAL_CORPUS)]) == 0
    assert main(["eval", str(EVAL_QUESTIONS), "--corpus", str(SHIPPED_CORPUS), "--k1", "1.2"]) == 0
    capsys.readouterr()
    kept = Library.open_current(SHIPPED_CORPUS, index, check="folders")  # as the bot's next start
    assert kept is not None and kept.build == bot.build
    assert main(["ask", "Abramovich", "--corpus", str(SHIPPED_CORPUS)]) == 0
    assert "build: " not in capsys.readouterr().err  # served as saved: nothing built again


# --- words for a wrong setting -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "env", "named"),
    [
        (["ask", "q", "--corpus", "gone"], {}, "this one was given with --corpus"),
        (["stats"], {"CORPUS_DIR": "gone"}, "this one is set by CORPUS_DIR"),
        (["timeline"], {}, "without either, it is corpus/ in the current folder"),
    ],
)
def test_a_missing_corpus_folder_says_how_to_point_at_one(
    tmp_path: Path, argv: list[str], env: dict[str, str], named: str
) -> None:
    done = subprocess.run(
        [NEWSBOT, *argv], capture_output=True, text=True, cwd=tmp_path, env=environment(**env)
    )
    assert done.returncode == 2
    (line,) = done.stderr.splitlines()
    assert line.startswith("newsbot: corpus folder ") and "does not exist" in line
    assert "point at your articles with --corpus DIR, or CORPUS_DIR=DIR in .env" in line and named in line


def test_an_index_dir_inside_the_corpus_says_how_to_fix_it(write_corpus: WriteCorpus, tmp_path: Path) -> None:
    root = write_corpus({"a.txt": article("2024-01-01", "Ferries", "The ferry left at dawn.")})
    done = subprocess.run(
        [NEWSBOT, "stats", "--corpus", str(root)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environment(INDEX_DIR=str(root / "index")),
    )
    assert done.returncode == 2
    (line,) = done.stderr.splitlines()
    assert line.startswith("newsbot: index folder ") and "inside the corpus folder" in line
    assert "move it out" in line and "starts with a dot" in line


@pytest.mark.parametrize("value", ["@alice", "42,@bob", "alice"])
def test_admin_ids_by_name_asks_for_numbers_and_says_how_to_find_yours(tmp_path: Path, value: str) -> None:
    done = subprocess.run(
        [NEWSBOT, "stats", "--corpus", str(SHIPPED_CORPUS)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environment(ADMIN_IDS=value),
    )
    assert done.returncode == 2
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"newsbot: ADMIN_IDS: '{value.split(',')[-1]}' is not a user id: write numeric")
    assert "@userinfobot" in line and "'refused /reload from user <your id>'" in line

"""Shared fixtures: the shipped corpus, a writer of small corpora on disk, a guard against hangs."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import resource
import shutil
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pytest
from hypothesis import settings

from bot.statedb import DB_NAME, StateDB, open_state
from fakes.newsroom import Newsroom
from retrieval.warmup import compile_search

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_CORPUS = ROOT / "corpus"

WriteCorpus = Callable[[dict[str, str | bytes]], Path]
T = TypeVar("T")
CHILD_MEMORY = 4 << 30
"""How much more memory than its parent a child of `finishes` may take: ample for a test."""


settings.register_profile("busy-machine", deadline=None)
settings.load_profile("busy-machine")
"""No wall-clock deadline per example: a busy machine, or a first Cyrillic word loading the
Ukrainian dictionary (seconds), would fail a property that holds."""


LOCAL_NETWORKS = ("127.0.0.0/8", "::1")
"""Where the tests' news sites run: allowed to fetch from, as an operator allows an intranet."""


def pytest_configure(config: pytest.Config) -> None:
    """Let the processes the tests start take Ctrl-C as a terminal user's would. Started as a
    background job of a script (`.ci/run &`, a CI runner), the suite inherits SIGINT ignored,
    every child would inherit that too, and each test of Ctrl-C would see its command run on
    to the end. A handler of Python's own is reset to the default in a child."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session", autouse=True)
def search_compiled() -> None:
    """Compile the search code before any test waits on an answer with a deadline: a clean
    clone's first search would otherwise spend its deadline in the compiler."""
    compile_search()


@pytest.fixture(autouse=True)
def index_dir_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep every test's saved index and state file out of the working tree; let feeds be
    fetched from the tests' sites on 127.0.0.1."""
    folder = tmp_path / "saved-index"
    monkeypatch.setenv("INDEX_DIR", str(folder))
    monkeypatch.setenv("STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("FEED_PRIVATE_NETWORKS", ",".join(LOCAL_NETWORKS))
    return folder


def saved_place(index_dir: Path) -> Path:
    """The place of the one corpus with a saved index in `index_dir` (see `retrieval.shelf`)."""
    (place,) = [folder for folder in index_dir.iterdir() if (folder / "current").exists()]
    return place


@pytest.fixture
async def site() -> AsyncIterator[Newsroom]:
    """A news site on 127.0.0.1 (`fakes.newsroom`), stopped after the test."""
    newsroom = await Newsroom().start()
    yield newsroom
    await newsroom.stop()


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


HOSTILE = (
    "impossible-date",
    "deep-front-matter",
    "5000-digits",
    "half-a-utf16-pair",
    "name-not-utf8",
    "named-pipe",
    "dev-zero",
    "link-out",
)
"""Corpus entries that each stopped a whole load once: how, in `add_hostile`."""


def add_hostile(root: Path, kind: str) -> str:
    """Put one hostile entry of `kind` (see `HOSTILE`) in the corpus `root`; return its report name."""
    if kind == "impossible-date":  # PyYAML raised ValueError, not YAMLError
        (root / "leap.md").write_text("---\ntitle: Leap\ndate: 2024-02-30\n---\nBody.\n")
        return "leap.md"
    if kind == "deep-front-matter":  # RecursionError
        (root / "deep.md").write_text("---\ntitle: x\nx: " + "[" * 3000 + "]" * 3000 + "\n---\nBody.\n")
        return "deep.md"
    if kind == "5000-digits":  # ValueError: Exceeds the limit (4300 digits)
        (root / "big.jsonl").write_text('{"id": 1, "n": ' + "1" * 5000 + "}\n")
        return "big.jsonl:1"
    if kind == "half-a-utf16-pair":  # a JSON escape: UnicodeEncodeError when the index was saved
        record = '{"id": 1, "title": "T", "date": "2024-01-01", "text": "\\udcff"}'
        (root / "surrogate.jsonl").write_text(record)
        return "surrogate.jsonl:1"
    if kind == "name-not-utf8":  # UnicodeEncodeError when the index was saved
        (root / os.fsdecode(b"caf\xe9.txt")).write_text(article("2024-01-01", "Cafe", "Body."))
        return "caf\\xe9.txt"
    if kind == "named-pipe":  # reading it waited forever
        os.mkfifo(root / "pipe.txt")
        return "pipe.txt"
    if kind == "dev-zero":  # reading it never ended
        (root / "zero.txt").symlink_to("/dev/zero")
        return "zero.txt"
    elsewhere = root.parent / "elsewhere.txt"  # a link out of the folder: it was read and served
    elsewhere.write_text(article("2024-01-01", "Private", "The zyzzyva memo is not for the corpus."))
    (root / "secret.txt").symlink_to(elsewhere)
    return "secret.txt"


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
        [problem.where for problem in library.report.problems],
        list(library.articles.ids),
        isinstance(library.index.doc_ids, np.memmap),
        {question: [hit.article.id for hit in library.search(question).hits] for question in questions},
    )


def children_of(pid: int) -> dict[int, bytes]:
    """The child processes of `pid`, with their command lines."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found[int(stat.parent.name)] = (stat.parent / "cmdline").read_bytes()
        except (OSError, ValueError):  # gone meanwhile
            continue
    return found


def alive(pid: int) -> bool:
    """Whether process `pid` exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def child_processes(module: str, path: Path) -> list[int]:
    """Process ids of live `python -m <module>` processes whose arguments name `path`, as it
    is or written in JSON (a feed round's options, where `ї` is `\\u0457`)."""
    names = (str(path).encode(), json.dumps(str(path))[1:-1].encode())
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if module.encode() in args and any(name in arg for arg in args for name in names):
            found.append(int(cmdline.parent.name))
    return found


def indexing_processes(corpus: Path) -> list[int]:
    """Process ids of live `python -m retrieval` processes working on `corpus`."""
    return child_processes("retrieval", corpus)


async def kill_indexing(corpus: Path) -> None:
    """Wait for the indexing child of `corpus` to run, then kill it as the system does when
    memory runs out (SIGKILL)."""
    async with asyncio.timeout(60):
        while not (children := indexing_processes(corpus)):
            await asyncio.sleep(0.01)
    for pid in children:
        os.kill(pid, signal.SIGKILL)


async def cancelled_with_children_stopped(
    work: Coroutine[Any, Any, Any], children: Callable[[], list[int]]
) -> list[int]:
    """Start `work`, stop its child processes where they are once they run (so that they are
    caught before they are done, however fast the machine), cancel it and wait for it to end.
    Returns the children's ids."""
    task = asyncio.ensure_future(work)
    async with asyncio.timeout(60):  # a guard against a hang only: the wait ends when they run
        while not (found := children()):
            await asyncio.sleep(0.01)
    for pid in found:
        os.kill(pid, signal.SIGSTOP)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    return found


AT_RENAME = (
    "import os, signal, sys\n"
    "renames = 0\n"
    "def at_rename(frame, event, arg):\n"
    "    global renames\n"
    "    if event == 'c_call' and arg is os.replace:\n"
    "        renames += 1\n"
    "        if renames == int(os.environ['AT_RENAME_NUMBER']):\n"
    "            os.kill(os.getpid(), getattr(signal, os.environ['AT_RENAME']))\n"
    "sys.setprofile(at_rename)\n"
)


BUILD_INDEX = "from retrieval import Library\nLibrary.load(sys.argv[1], index_dir=sys.argv[2])\n"
"""Code for `signalled_at_rename`: a build of the saved index of the corpus `argv[1]` in
`argv[2]`, as `newsbot ask` or the bot's indexer makes it."""


WRITE_ARTICLE = (
    "from pathlib import Path\nfrom bot.articles_out import write_article\n"
    "write_article(Path(sys.argv[1]), sys.argv[2], 'story.md', '---\\ntitle: T\\n---\\n\\nText.\\n')\n"
)
"""Code for `signalled_at_rename`: an article written to `feeds/<argv[2]>/story.md` of the
corpus `argv[1]`, as a feed round or `/add` writes one."""


def signalled_at_rename(
    code: str, how: signal.Signals, *args: str, number: int = 1
) -> subprocess.Popen[bytes]:
    """Run Python `code` in a child that sends itself `how` as it is about to rename a file into
    place (`os.replace`, the `number`th time): a writer killed (SIGKILL) or suspended with
    Ctrl-Z (SIGSTOP) between writing a temporary and renaming it. Returns once it is dead
    or stopped; a stopped one goes on at SIGCONT."""
    environment = {**os.environ, "AT_RENAME": how.name, "AT_RENAME_NUMBER": str(number)}
    child = subprocess.Popen([sys.executable, "-c", AT_RENAME + code, *args], env=environment)
    if how == signal.SIGSTOP:
        _, status = os.waitpid(child.pid, os.WUNTRACED)
        assert os.WIFSTOPPED(status), f"the writer ended before its rename: {status}"
    else:
        assert child.wait(timeout=120) == -how
    return child


def damage_state(folder: Path, how: str) -> None:
    """A state file of feeds that opens, yet holds damage its reads would meet later."""
    db = open_state(folder)
    for n in range(300):
        db.add_feed(f"http://n/{n}/rss", f"feed-{n}", "A feed with a long title " * 20)
    db.close()  # checkpointed: every row in the file itself
    path = folder / DB_NAME
    if how == "bad page":  # a page of the middle zeroed, as a failing disk leaves it
        with path.open("r+b") as stream:
            stream.seek(path.stat().st_size // 3 // 4096 * 4096)
            stream.write(bytes(8192))
        return
    # a backup restored beside the WAL of a later run, killed, which it did not come with
    shutil.copy(path, folder / "backup")
    later = (
        "import os, sys; from pathlib import Path; from bot.statedb import open_state\n"
        "db = open_state(Path(sys.argv[1]))\n"
        "for n in range(300, 700):\n"
        "    db.add_feed(f'http://m/{n}/rss', f'feed-{n}', 'A later feed ' * 60)\n"
        "    if n % 3 == 0:\n"
        "        db.remove_feed(n - 299)\n"
        "os._exit(9)  # killed: the WAL stays\n"
    )
    subprocess.run([sys.executable, "-c", later, str(folder)], check=False, timeout=60)
    assert (folder / f"{DB_NAME}-wal").stat().st_size > 0
    os.replace(folder / "backup", path)


@pytest.fixture
def state_files_closed(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Close, once the test ends, every state file its module's `open_state` opened: an open
    connection holds the file, its -wal and -shm until the garbage collector's pass."""
    opened: list[StateDB] = []

    def open_and_close_later(state_dir: Path) -> StateDB:
        opened.append(open_state(state_dir))
        return opened[-1]

    monkeypatch.setattr(request.module, "open_state", open_and_close_later)
    yield
    for db in opened:
        db.close()

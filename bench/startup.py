"""Start-up time and memory: building an index from article files, then starting from it.

    python bench/startup.py --passages 100000      # or 1000000 for the archive scale
    python bench/startup.py --passages 1000000 --corpus /tmp/archive   # keep the corpus for the next run

Generates a corpus of article files (four paragraphs each, Zipf vocabulary; kept in
`--corpus` if given, and reused when it is there already), then runs each step in a fresh
process, as a restarted bot would, up to its first answer:

- first start: `Library.load` builds and saves the index (reading and analysis spread
  over worker processes); also its peak memory, summed over the whole process tree;
- restart with the full check up front (`Library.load`, as `newsbot ask` does, and as
  `newsbot run` opens the index right after building it);
- restart, as `newsbot run` does it: the saved index opened after the cheap check (the
  corpus folders' times), then the full check the bot runs in the background
  (`python -m retrieval`: every file's size and time, and every saved text's checksum);
- start after 1% more passages arrived in new files (only those are read);
- the checksum pass that every opening of a saved index makes (XXH3 over every saved file
  but the article texts, which are checked one by one as they are read).

With `--build-cost N`, only the first start is timed, N times as the bot builds and N times
without the second ranking stage's article vectors (each worker's `article_vectors` made
zeros, so the embedder is never loaded, and the first answer by words alone), in turns,
each into an index folder of its own: what the second stage costs a build, which may be
at most 1.5 times the build without it. `LEXICAL_ONLY` cannot show that, as a build makes
the vectors whatever it says (switching it needs no rebuild).

Memory is sampled every 50 ms from /proc (resident memory of the process and all its
descendants, summed; the tree is listed again every 0.5 s); the sum of each process's own
peak (`VmHWM`) is printed beside it as an upper bound that no short spike can escape. The
last column is the processor time of the whole tree, which tells what a machine busy with
other work hides in the wall time.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fakes.corpora import generate_corpus  # noqa: E402

PROBE = """
import json, logging, sys, time
started = time.perf_counter()
logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
from retrieval import Library
corpus, index, question, how = sys.argv[1:5]
if how == "cheap":
    library = Library.open_current(corpus, index, check="folders")
    assert library is not None, "the cheap check refused an unchanged corpus"
elif how == "lexical":
    from retrieval import LibraryOptions
    library = Library.load(corpus, LibraryOptions(lexical_only=True), index_dir=index)
else:
    library = Library.load(corpus, index_dir=index)
hits = library.search(question).hits
seconds = time.perf_counter() - started
from pathlib import Path
from retrieval import shelf, store
place = shelf.place(Path(index), Path(corpus))
folders = store.looks_unchanged(place, Path(corpus), store.current_build(place))
own = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())["VmHWM"]
found = {"seconds": seconds, "passages": len(library.passages), "hits": len(hits), "folders": folders,
         "own_peak": int(own.split()[0]) * 1024}
print(json.dumps(found))
"""
CHECK = """
import mmap, sys, time
from pathlib import Path
import xxhash
from retrieval import shelf, store
place = shelf.place(Path(sys.argv[1]), Path(sys.argv[2]))
folder = place / store.current_build(place)
started, size = time.perf_counter(), 0
for path in folder.iterdir():
    if path.name != "texts.bin" and path.stat().st_size:
        with path.open("rb") as stream, mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ) as data:
            xxhash.xxh3_64_hexdigest(data)
            size += len(data)
print(f"{time.perf_counter() - started:.3f} {size / 1e6:.0f}")
"""
VECTORLESS = """
import numpy as np
from retrieval import indexing


def _no_vectors(articles, options):
    return np.zeros((len(articles), options.semantic_dims), dtype=np.float16)


indexing.article_vectors = _no_vectors
"""
"""A `sitecustomize` for the build without the article vectors: the probe and its workers
(which inherit `PYTHONPATH`) import it as they start."""


@dataclass(frozen=True)
class Run:
    """A step's wall time, its output, and the process tree's memory."""

    seconds: float
    stdout: str
    stderr: str
    peak_sum: int
    """The largest sum of resident memory over the tree seen in one sample, in bytes."""
    peak_bound: int
    """The sum of each process's own peak resident memory: an upper bound of the tree's peak."""
    cpu: float
    """Processor seconds of the whole tree (user and system): what a machine of its own would
    spend, which a busy machine's wall time does not tell."""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--corpus", type=Path, help="keep the generated corpus here (reused if present)")
    parser.add_argument(
        "--build-cost",
        type=int,
        metavar="N",
        help="time only the first build, N times with and N without the article vectors, in turns",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        corpus = args.corpus or Path(scratch) / "corpus"
        index = Path(scratch) / "index"
        vocabulary = corpus_of(corpus, args.passages, args.seed)
        question = " ".join(vocabulary[500:503])
        if args.build_cost:
            build_cost(corpus, Path(scratch), question, args.build_cost)
            return
        try:
            measure(corpus, index, question, args)
        finally:
            shutil.rmtree(corpus / "new", ignore_errors=True)  # a kept corpus stays as generated


def corpus_of(corpus: Path, passages: int, seed: int) -> list[str]:
    """The generated corpus's vocabulary, generating it first unless `corpus` holds it already."""
    words = corpus / ".vocabulary.json"
    if words.exists():
        return list(json.loads(words.read_text()))
    corpus.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    vocabulary = generate_corpus(corpus, passages, seed)
    print(f"generated {passages:,} passages in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    words.write_text(json.dumps(vocabulary))
    return vocabulary


def measure(corpus: Path, index: Path, question: str, args: argparse.Namespace) -> None:
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start")
    print(f"{'':<44} {'to answer':>9}  {'peak memory (tree)':>20}  {'CPU (tree)':>9}")
    first = probe(corpus, index, question, "load")
    show("first start (build and save)", first)
    for line in first.stderr.splitlines():
        if line.startswith("build:"):
            print(f"    {line}")
    # as `newsbot run` does after a build: every file checked, which records the folders
    show("restart: full check first (Library.load)", probe(corpus, index, question, "load"))
    cheap = probe(corpus, index, question, "cheap")
    if not json.loads(cheap.stdout)["folders"]:
        print("  (a folder changed within two seconds: every file was checked)")
    show("restart: folders checked, as newsbot run", cheap)
    started = time.perf_counter()
    indexer = sample([sys.executable, "-m", "retrieval", str(corpus), str(index)])
    show("  then every file checked in the background", indexer, time.perf_counter() - started)
    (corpus / "new").mkdir()
    generate_corpus(corpus / "new", max(args.passages // 100, 4), args.seed + 1)
    show("start after 1% new passages", probe(corpus, index, question, "load"))
    check = subprocess.run(
        [sys.executable, "-c", CHECK, str(index), str(corpus)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    seconds, megabytes = check.stdout.split()
    print(f"{'of a start: checksums at open':<44} {float(seconds):>7.3f} s  ({megabytes} MB checked)")


def build_cost(corpus: Path, scratch: Path, question: str, rounds: int) -> None:
    """The first build with and without the article vectors, `rounds` of each, in turns."""
    (scratch / "vectorless").mkdir()
    (scratch / "vectorless" / "sitecustomize.py").write_text(VECTORLESS)
    paths = (str(ROOT), str(scratch / "vectorless"), os.environ.get("PYTHONPATH"))
    path = os.pathsep.join(filter(None, paths))
    kinds = {"as built": ("load", None), "without vectors": ("lexical", {**os.environ, "PYTHONPATH": path})}
    runs: dict[str, list[Run]] = {kind: [] for kind in kinds}
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start")
    for turn in range(rounds * len(kinds)):
        kind = list(kinds)[(turn + turn // len(kinds)) % len(kinds)]  # which goes first alternates
        how, environment = kinds[kind]
        index = scratch / f"index-{turn}"
        runs[kind].append(probe(corpus, index, question, how, environment))
        shutil.rmtree(index)
        show(f"first start, {kind}", runs[kind][-1])
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    medians = {kind: _medians(found) for kind, found in runs.items()}
    for kind, (seconds, cpu, peak) in medians.items():
        own = statistics.median(json.loads(run.stdout)["own_peak"] for run in runs[kind])
        print(
            f"median, {kind:<16} {seconds:>7.1f} s, {cpu:>7.1f} s CPU, {peak / 1e9:.2f} GB"
            f" (the building process alone {own / 1e9:.2f} GB)"
        )
    (seconds, cpu, peak), (bare_seconds, bare_cpu, bare_peak) = medians.values()
    print(f"ratio: wall {seconds / bare_seconds:.2f}, CPU {cpu / bare_cpu:.2f}, peak {peak / bare_peak:.2f}")


def _medians(runs: list[Run]) -> tuple[float, float, float]:
    """The median time to the first answer, processor time and peak memory (tree sum) of runs."""
    return (
        statistics.median(float(json.loads(run.stdout)["seconds"]) for run in runs),
        statistics.median(run.cpu for run in runs),
        statistics.median(run.peak_sum for run in runs),
    )


def probe(
    corpus: Path, index: Path, question: str, how: str, environment: dict[str, str] | None = None
) -> Run:
    return sample([sys.executable, "-c", PROBE, str(corpus), str(index), question, how], environment)


def show(label: str, run: Run, seconds: float | None = None) -> None:
    if seconds is None:
        result = json.loads(run.stdout)
        seconds = float(result["seconds"])
        label = f"{label} ({result['passages']:,} passages, {result['hits']} hits)"
    memory = f"{run.peak_sum / 1e9:.2f} GB (<= {run.peak_bound / 1e9:.2f})"
    print(f"{label:<44} {seconds:>7.2f} s  {memory:>20}  {run.cpu:>7.1f} s")


def sample(command: list[str], environment: dict[str, str] | None = None) -> Run:
    """Run `command` to its end, sampling the memory of its process tree."""
    started, spent = time.perf_counter(), cpu_of_children()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen(
            command, stdout=out, stderr=err, cwd=ROOT, stdin=subprocess.DEVNULL, env=environment
        )
        peak_sum, peaks, tree = 0, dict[int, int](), [child.pid]
        for samples in itertools.count():
            if child.poll() is not None:
                break
            if samples % 10 == 0:  # the tree is listed every 0.5 s; its memory read every 50 ms
                tree = descendants(child.pid)
            now = 0
            for pid in tree:
                rss, hwm = memory_of(pid)
                now += rss
                peaks[pid] = max(peaks.get(pid, 0), hwm)
            peak_sum = max(peak_sum, now)
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if child.returncode != 0:
        raise SystemExit(f"{command[:3]} failed ({child.returncode}):\n{stderr[-2000:]}")
    return Run(seconds, stdout, stderr, peak_sum, sum(peaks.values()), cpu_of_children() - spent)


def cpu_of_children() -> float:
    """Processor seconds of every child process waited for, and of their own such children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def descendants(root: int) -> list[int]:
    """`root` and every process below it, from the parent ids in /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):  # gone meanwhile
            continue
        children.setdefault(parent, []).append(int(stat.parent.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def memory_of(pid: int) -> tuple[int, int]:
    """Resident memory now and at its peak (`VmRSS`, `VmHWM`), in bytes; 0 once the process is gone."""
    values = {"VmRSS": 0, "VmHWM": 0}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in values:
                values[key] = int(value.split()[0]) * 1024
    except OSError:
        pass
    return values["VmRSS"], values["VmHWM"]


if __name__ == "__main__":
    main()

"""How long the bot's log stays silent while a first build runs, and what it says.

    python bench/build_log.py --articles 20000                 # generates the corpus in a temporary folder
    python bench/build_log.py --corpus /tmp/c20k --code OLD --code .   # OLD: another checkout; one corpus

Runs `python -m retrieval CORPUS INDEX_DIR` with a fresh index folder, as the bot runs it
on its first start and on /reload, once for each `--code` checkout (put on the import
path, the interpreter and packages being this one's), and prints for each: the build's
wall time, how many lines its log wrote, and the longest silence between the start, any
two lines and the end. The bot logs whatever this child logs, as it comes.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fakes.corpora import generate_corpus  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--articles", type=int, default=20_000, help="articles to generate (four passages each)"
    )
    parser.add_argument("--corpus", type=Path, help="use (or generate once into) this folder")
    parser.add_argument("--code", type=Path, action="append", help="a checkout to run (default: this one)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        corpus = args.corpus or Path(scratch) / "corpus"
        if not corpus.exists() or not any(corpus.iterdir()):
            corpus.mkdir(parents=True, exist_ok=True)
            generate_corpus(corpus, 4 * args.articles, args.seed)
        files = sum(1 for _ in corpus.iterdir())
        print(f"corpus: {files:,} files in {corpus}; machine load average {os.getloadavg()[0]:.1f}")
        for code in args.code or [ROOT]:
            seconds, lines, silence = timed_build(
                code.resolve(), corpus, Path(scratch) / f"index-{code.name}"
            )
            print(
                f"{code!s:<30} build {seconds:6.1f} s, {lines:3d} log lines, longest silence {silence:6.1f} s"
            )


def timed_build(code: Path, corpus: Path, index: Path) -> tuple[float, int, float]:
    """Wall time, log lines and the longest gap between them (the start and the end included)."""
    environment = {**os.environ, "PYTHONPATH": str(code)}
    started = time.monotonic()
    child = subprocess.Popen(
        [sys.executable, "-m", "retrieval", str(corpus), str(index)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=environment,
        cwd=code,
    )
    assert child.stderr is not None
    moments = [started]
    for _ in child.stderr:
        moments.append(time.monotonic())
    child.wait()
    ended = time.monotonic()
    gaps = [later - earlier for earlier, later in zip(moments, [*moments[1:], ended], strict=True)]
    return ended - started, len(moments) - 1, max(gaps)


if __name__ == "__main__":
    main()

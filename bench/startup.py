"""Start-up time: building an index from article files, then starting from the saved index.

    python bench/startup.py --passages 100000      # or 1000000 for the archive scale

Generates a corpus of article files (four paragraphs each, Zipf vocabulary), then times
`Library.load` with an index folder three times: the first builds and saves, the second
finds the corpus unchanged and memory-maps the saved index, the third finds 1% more
passages in new files and reads only those. Each load runs in a fresh process, as a
restarted bot would, and answers one question to show it is serving. Last, it times the
checksum pass that every opening of a saved index makes (XXH3 over every saved file but
the article texts, which are checked one by one as they are read), in a fresh process too.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import generate_corpus  # noqa: E402

PROBE = """
import sys, time
started = time.perf_counter()
from retrieval import Library
library = Library.load(sys.argv[1], index_dir=sys.argv[2])
hits = library.search(sys.argv[3]).hits
print(f"{time.perf_counter() - started:.2f} {len(library.passages)} {len(hits)}")
"""
CHECK = """
import mmap, sys, time
from pathlib import Path
import xxhash
index = Path(sys.argv[1])
folder = index / (index / "current").read_text().split()[0]
started, size = time.perf_counter(), 0
for path in folder.iterdir():
    if path.name != "texts.bin" and path.stat().st_size:
        with path.open("rb") as stream, mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ) as data:
            xxhash.xxh3_64_hexdigest(data)
            size += len(data)
print(f"{time.perf_counter() - started:.3f} {size / 1e6:.0f}")
"""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        corpus, index = Path(scratch) / "corpus", Path(scratch) / "index"
        corpus.mkdir()
        started = time.perf_counter()
        vocabulary = generate_corpus(corpus, args.passages, args.seed)
        print(
            f"generated {args.passages:,} passages in {time.perf_counter() - started:.0f} s", file=sys.stderr
        )
        question = " ".join(vocabulary[500:503])
        runs = ["first start (build and save)", "next start (saved index)", "start after 1% new passages"]
        for label in runs:
            if label == runs[2]:
                (corpus / "new").mkdir()
                generate_corpus(corpus / "new", max(args.passages // 100, 4), args.seed + 1)
            done = subprocess.run(
                [sys.executable, "-c", PROBE, str(corpus), str(index), question],
                capture_output=True,
                text=True,
                cwd=ROOT,
                check=True,
            )
            seconds, passages, hits = done.stdout.split()
            print(f"{label:<30} {float(seconds):>7.2f} s  ({int(passages):,} passages, {hits} hits)")
        check = subprocess.run(
            [sys.executable, "-c", CHECK, str(index)], capture_output=True, text=True, cwd=ROOT, check=True
        )
        seconds, megabytes = check.stdout.split()
        print(f"{'of a start: checksums at open':<30} {float(seconds):>7.3f} s  ({megabytes} MB checked)")


if __name__ == "__main__":
    main()

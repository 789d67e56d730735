"""The first `/timeline` topic question after a start, and what the timeline costs a build,
the saved index and a one-article update.

    python bench/timeline.py --corpus data/rtqa/corpus --code OLD --code .   # OLD: another checkout

For each `--code` checkout (put on the import path, the interpreter and packages being
this one's), over one copy of the corpus (hard links), each step in a fresh process:

- build: `Library.load` with an empty index folder builds and saves the index (wall
  time, and the processor time of the process and its workers up to then, start-up
  included, which a busy machine's wall time hides);
- the saved build's size on disk, and the part of it that is the timeline's terms;
- start: `Library.load` opens the saved index (every file checked), then the first topic
  question, then the median of the other topics' first questions;
- one article added, as a feed's item arrives: `Library.load` reads it, updates and saves
  the index (what the bot's indexing child does); then a start on that update and its
  first topic question.

The answers to every topic (30 events each), after the build and after the update, are
printed as a digest: checkouts that find the same events print the same digests.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

TOPICS = (
    "Ukraine grain exports",
    "election",
    "inflation interest rates",
    "Twitter Musk",
    "earthquake",
    "Supreme Court abortion",
    "World Cup",
    "strike workers",
    "report",
)
PROBE = """
import hashlib, json, resource, statistics, sys, time
from retrieval import Library
corpus, index = sys.argv[1:3]
topics = sys.argv[3:]
started = time.perf_counter()
library = Library.load(corpus, index_dir=index)
loaded = time.perf_counter()
used = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
cpu = sum(usage.ru_utime + usage.ru_stime for usage in used)  # up to here: workers were waited for
seconds, answers = [], []
for topic in topics:
    asked = time.perf_counter()
    events = library.timeline.latest(30, topic)
    seconds.append(time.perf_counter() - asked)
    answers.append([(e.date.isoformat(), e.precision, e.sentence, e.article_id) for e in events])
digest = hashlib.sha256(json.dumps(answers).encode()).hexdigest()[:16]
print(json.dumps({"load": loaded - started, "cpu": cpu, "topics": seconds, "digest": digest,
                  "events": len(library.timeline.events)}))
"""
ARTICLE = """ date 2024-12-20 Council approves the harbour budget

On December 19, the city council approved the harbour budget after a long debate.

Grain exports through the harbour rose in November, officials said on Thursday.
"""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, required=True, help="a corpus folder (not changed)")
    parser.add_argument("--code", type=Path, action="append", help="a checkout to run (default: this one)")
    args = parser.parse_args()
    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory() as scratch:
        corpus = Path(scratch) / "corpus"
        link_tree(args.corpus, corpus)
        files = sum(1 for path in corpus.rglob("*") if path.is_file())
        print(
            f"corpus: {files:,} files; machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}"
        )
        for number, code in enumerate(args.code or [root]):
            print(f"{code.resolve()}:")
            report(code.resolve(), corpus, Path(scratch) / f"index-{number}")
            (corpus / "zz-new-article.txt").unlink()


def report(code: Path, corpus: Path, index: Path) -> None:
    """Run each step of one checkout and print its figures."""
    built = probe(code, corpus, index)
    print(
        f"  build and save                     {built['load']:7.2f} s, {built['cpu']:.1f} s processor "
        f"(workers too; {built['events']:,} events shown)"
    )
    size, terms = saved_size(index)
    print(f"  saved index                        {size / 1e6:7.1f} MB  (timeline terms {terms / 1e6:.1f} MB)")
    start = probe(code, corpus, index)
    show("start", start)
    (corpus / "zz-new-article.txt").write_text(ARTICLE, encoding="utf-8")
    updated = probe(code, corpus, index)
    print(f"  one article added: update and save {updated['load']:7.2f} s, {updated['cpu']:.1f} s processor")
    show("start after the update", probe(code, corpus, index))
    print(f"  answers' digests: built {built['digest']}, updated {updated['digest']}")


def show(label: str, run: dict[str, object]) -> None:
    topics: list[float] = run["topics"]  # type: ignore[assignment]
    print(
        f"  {label:<34} {run['load']:7.2f} s; first topic question {1000 * topics[0]:8.2f} ms, "
        f"the others' median {1000 * statistics.median(topics[1:]):.2f} ms"
    )


def probe(code: Path, corpus: Path, index: Path) -> dict[str, object]:
    environment = {**os.environ, "PYTHONPATH": str(code)}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(corpus), str(index), *TOPICS],
        capture_output=True,
        text=True,
        cwd=code,
        env=environment,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{code} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def saved_size(index: Path) -> tuple[int, int]:
    """Bytes of the current saved build, and of its timeline terms' files."""
    builds = [folder for folder in index.rglob("build-*") if folder.is_dir()]
    files = [path for folder in builds for path in folder.iterdir()]
    terms = sum(path.stat().st_size for path in files if path.name.startswith("event_term"))
    return sum(path.stat().st_size for path in files), terms


def link_tree(source: Path, target: Path) -> None:
    """A copy of `source` whose files are hard links: instant, and the corpus itself is left as it is."""
    for folder, _, names in os.walk(source):
        here = target / Path(folder).relative_to(source)
        here.mkdir(parents=True, exist_ok=True)
        for name in names:
            os.link(Path(folder) / name, here / name)


if __name__ == "__main__":
    main()

"""The second ranking stage's cost: the build with and without article vectors, and per question.

    python bench/ranking.py --sizes 100k,1m

For each size a generated corpus of article files (four passages an article,
pseudo-words; see `bench/load.py`) is loaded as the bot loads it, and the table shows
what the second ranking stage costs: the build with and without the article vectors (the
embedding timed on its own), and each question's time asked at a date, words alone
(`lexical_only`) against the default, p50 of both and of the difference. Absolute times
vary by machine; ratios less so.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fakes.corpora import generate_corpus  # noqa: E402
from retrieval import Library, LibraryOptions  # noqa: E402
from retrieval.semantic import article_text, embedder  # noqa: E402

QUESTIONS = 200


def parse_size(text: str) -> int:
    text = text.strip().lower()
    factor = {"k": 1_000, "m": 1_000_000}.get(text[-1], 1)
    return int(float(text.rstrip("km")) * factor)


def percentiles(values: list[float]) -> tuple[float, float]:
    if len(values) < 2:
        return values[0], values[0]
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[98]


def ranking_cost(size: int, seed: int) -> dict[str, Any]:
    """Build and per-question cost of the ranking stage on a generated corpus of `size` passages."""
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        vocabulary = generate_corpus(folder, size, seed)
        embedder()  # the model's files, loaded once per process like the bot's
        started = time.perf_counter()
        library = Library.load(folder)
        build = time.perf_counter() - started
    texts = [article_text(article) for article in library.articles]
    started = time.perf_counter()
    embedder().embed(texts)
    vectors = time.perf_counter() - started
    lexical = dataclasses.replace(library, options=LibraryOptions(lexical_only=True))
    rng = random.Random(seed)
    questions = [" ".join(rng.sample(vocabulary[200:5000], 3)) for _ in range(QUESTIONS)]
    now = dt.date.fromordinal(int(library.articles.ordinals.max()))
    times: dict[str, list[float]] = {"lexical": [], "default": []}
    for question in questions[:5]:
        library.search(question, now=now)  # warm the buffers and the event keys
    for question in questions:
        for name, served in (("lexical", lexical), ("default", library)):
            started = time.perf_counter()
            served.search(question, k=5, now=now)
            times[name].append((time.perf_counter() - started) * 1000)
    added = [d - w for d, w in zip(times["default"], times["lexical"], strict=True)]
    return {
        "size": len(library.passages),
        "articles": len(library.articles),
        "build": build,
        "vectors": vectors,
        "lexical_p50": percentiles(times["lexical"])[0],
        "default_p50": percentiles(times["default"])[0],
        "added_p50": percentiles(added)[0],
    }


def print_ranking(rows: list[dict[str, Any]]) -> None:
    print("\nranking stage: build with and without article vectors; top 5 asked at a date, ms")
    header = (
        "passages  articles  build s  of it vectors s  without s  ratio"
        "  p50 words alone  p50 default  added p50"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        without = row["build"] - row["vectors"]
        print(
            f"{row['size']:>8,} {row['articles']:>9,} {row['build']:>8.1f} {row['vectors']:>16.1f}"
            f" {without:>10.1f} {row['build'] / without:>6.2f}x"
            f" {row['lexical_p50']:>16.2f} {row['default_p50']:>12.2f} {row['added_p50']:>10.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="100k", help="comma-separated passage counts: 100k,1m")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rows = []
    for size in [parse_size(s) for s in args.sizes.split(",") if s.strip()]:
        print(f"ranking stage {size:,} ...", file=sys.stderr, flush=True)
        rows.append(ranking_cost(size, args.seed))
    print_ranking(rows)


if __name__ == "__main__":
    main()

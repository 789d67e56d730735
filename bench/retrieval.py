"""Retrieval benchmark: our BM25 index against rank-bm25 on the same tokens.

    python bench/retrieval.py --sizes 10k,100k        # add 1m for the archive scale
    python bench/retrieval.py --sizes 10k --corpus corpus
    python bench/retrieval.py --sizes 0 --ranking 100k,1m   # the ranking stage's cost only

For each size, a seeded synthetic corpus (Zipf vocabulary of 200,000 words, passages of
40 to 120 tokens, 200 questions of 3 to 10 mid-frequency words) is indexed by both; the
table shows build time, peak memory, top-5 query latency (p50, p99), the speed-up and
the top-10 agreement (ids and scores to 1e-6). At 1m, rank-bm25 answers a sample of 20
questions. With --corpus it also times the analyzer and indexing a real folder.

With --ranking, for each size a generated corpus of article files (four passages an
article, pseudo-words; see `bench/load.py`) is loaded as the bot loads it, and the table
shows what the second ranking stage costs: the build with and without the article
vectors (the embedding timed on its own), and each question's time asked at a date,
words alone (`lexical_only`) against the default, p50 of both and of the difference.
Absolute times vary by machine; ratios less so.
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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rank_bm25 import BM25L, BM25Okapi, BM25Plus

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import generate_corpus  # noqa: E402
from retrieval import BM25Index, BM25Params, Library, LibraryOptions, analyze  # noqa: E402
from retrieval.corpus import load_corpus  # noqa: E402
from retrieval.index import top_k  # noqa: E402
from retrieval.semantic import article_text, embedder  # noqa: E402

VOCABULARY = 200_000
QUESTIONS = 200
RANK_BM25 = {"okapi": BM25Okapi, "l": BM25L, "plus": BM25Plus}


@dataclass
class Corpus:
    token_ids: np.ndarray
    lengths: np.ndarray
    questions: list[list[int]]


def parse_size(text: str) -> int:
    text = text.strip().lower()
    factor = {"k": 1_000, "m": 1_000_000}.get(text[-1], 1)
    return int(float(text.rstrip("km")) * factor)


def synthetic(size: int, seed: int) -> Corpus:
    """Zipf-distributed token ids, seeded, and questions of mid-frequency words."""
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, VOCABULARY + 1)
    cdf = np.cumsum(weights / weights.sum())
    lengths = rng.integers(40, 121, size=size)
    token_ids = np.searchsorted(cdf, rng.random(int(lengths.sum()))).astype(np.int32)
    questions = [
        rng.choice(np.arange(1_000, 20_000), size=int(rng.integers(3, 11)), replace=False).tolist()
        for _ in range(QUESTIONS)
    ]
    return Corpus(token_ids, lengths, questions)


def reset_peak() -> int:
    """Reset the process's peak resident memory to now (Linux) and return the current RSS in kB."""
    Path("/proc/self/clear_refs").write_text("5")
    return memory_kb("VmRSS")


def memory_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def measured(build: Callable[[], Any]) -> tuple[Any, float, float]:
    """Run `build`; return its result, seconds, and peak memory above the start in MB."""
    before = reset_peak()
    started = time.perf_counter()
    result = build()
    seconds = time.perf_counter() - started
    return result, seconds, (memory_kb("VmHWM") - before) / 1024


def percentiles(values: list[float]) -> tuple[float, float]:
    if len(values) < 2:
        return values[0], values[0]
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[98]


def run_size(size: int, params: BM25Params, seed: int, oracle_sample: int | None) -> dict[str, Any]:
    corpus = synthetic(size, seed)
    words = [f"w{i}" for i in range(VOCABULARY)]
    ours, ours_build, ours_memory = measured(
        lambda: BM25Index.from_token_ids(corpus.token_ids, corpus.lengths, words, params)
    )
    index_mb = sum(a.nbytes for a in (ours.offsets, ours.doc_ids, ours.term_freqs, ours.doc_lengths)) / 2**20
    groups = np.arange(size, dtype=np.int32)
    recency = np.zeros(size, dtype=np.int32)

    def ours_top(question: list[int], k: int) -> tuple[list[int], list[float]]:
        ids, scores = ours.score([words[t] for t in question])
        chosen = top_k(ids, scores, k, groups, recency, per_group=None)
        return ids[chosen].tolist(), scores[chosen].tolist()

    for question in corpus.questions[:5]:
        ours_top(question, 5)  # warm the buffers
    ours_times = []
    for question in corpus.questions:
        started = time.perf_counter()
        ours_top(question, 5)
        ours_times.append((time.perf_counter() - started) * 1000)

    oracle_class = RANK_BM25[params.variant]
    extra = {"delta": params.lower_bound} if params.variant != "okapi" else {"epsilon": params.epsilon}

    def build_oracle() -> Any:
        documents = np.split(corpus.token_ids, np.cumsum(corpus.lengths)[:-1])
        return oracle_class([d.tolist() for d in documents], k1=params.k1, b=params.b, **extra)

    oracle, oracle_build, oracle_memory = measured(build_oracle)
    sample = corpus.questions[:oracle_sample] if oracle_sample else corpus.questions
    oracle_times, agree = [], 0
    for question in sample:
        started = time.perf_counter()
        scores = oracle.get_scores(question)
        top = np.argpartition(-scores, 5)[:5]
        top = top[np.argsort(-scores[top])]
        oracle_times.append((time.perf_counter() - started) * 1000)
        agree += agrees(scores, *ours_top(question, 10), baseline=oracle_baseline(oracle, question))
    del oracle
    return {
        "size": size,
        "ours_build": ours_build,
        "ours_memory": ours_memory,
        "index_mb": index_mb,
        "ours_p50": percentiles(ours_times)[0],
        "ours_p99": percentiles(ours_times)[1],
        "oracle_build": oracle_build,
        "oracle_memory": oracle_memory,
        "oracle_p50": percentiles(oracle_times)[0],
        "oracle_p99": percentiles(oracle_times)[1],
        "agree": f"{agree}/{len(sample)}",
    }


def oracle_baseline(oracle: Any, question: list[int]) -> float:
    """What rank-bm25 gives a document sharing no word with the question (BM25+ is not 0)."""
    return (
        float(sum((oracle.idf.get(t) or 0) * getattr(oracle, "delta", 0) for t in question))
        if isinstance(oracle, BM25Plus)
        else 0.0
    )


def agrees(scores: np.ndarray, ids: list[int], got: list[float], baseline: float) -> bool:
    """Our top 10 equals rank-bm25's: same scores to 1e-6 rank by rank, the same documents
    (or documents of equal score swapped), and past our last hit only documents that
    share no word with the question (which we never return)."""
    expected = np.argsort(-scores, kind="stable")[:10]
    n = len(ids)
    if not np.allclose(got, scores[expected[:n]], atol=1e-6, rtol=0):
        return False
    if not np.allclose(np.sort(scores[ids]), np.sort(scores[expected[:n]]), atol=1e-6, rtol=0):
        return False
    return n == 10 or bool(np.all(np.abs(scores[expected[n:]] - baseline) <= 1e-6))


def label(size: int) -> str:
    return f"{size // 1_000_000}m" if size >= 1_000_000 else f"{size // 1_000}k"


def print_table(rows: list[dict[str, Any]], params: BM25Params) -> None:
    print(f"\nBM25 variant {params.variant}, k1={params.k1}, b={params.b}; top 5; times in ms unless noted")
    header = "size  engine     build s  peak MB  index MB  p50 ms   p99 ms    speed-up p50  top-10 agreement"
    print(header)
    print("-" * len(header))
    for row in rows:
        speedup = row["oracle_p50"] / row["ours_p50"] if row["ours_p50"] else float("inf")
        print(
            f"{label(row['size']):<5} newsbot  {row['ours_build']:>8.1f} {row['ours_memory']:>8.0f}"
            f" {row['index_mb']:>9.0f} {row['ours_p50']:>7.2f} {row['ours_p99']:>8.2f}"
            f"    {speedup:>10.0f}x  {row['agree']}"
        )
        print(
            f"{'':<5} rank-bm25{row['oracle_build']:>8.1f} {row['oracle_memory']:>8.0f}"
            f" {'':>9} {row['oracle_p50']:>7.1f} {row['oracle_p99']:>8.1f}"
        )


def real_text(folder: Path) -> None:
    """Analyzer throughput and the time to index a real folder of articles."""
    articles, report = load_corpus(folder)
    texts = [p for a in articles for p in (a.headline, *a.paragraphs)]
    words = sum(len(t.split()) for t in texts)
    repeat = max(1, 2_000_000 // max(words, 1))
    started = time.perf_counter()
    terms = sum(len(analyze(t)) for _ in range(repeat) for t in texts)
    seconds = time.perf_counter() - started
    print(f"\nreal text: {folder} ({len(articles)} articles, {len(report.problems)} problems)")
    print(f"analyzer  {words * repeat / seconds / 1e6:.2f} M words/s ({terms / seconds / 1e6:.2f} M terms/s)")
    started = time.perf_counter()
    library = Library.load(folder)
    print(f"indexing  {time.perf_counter() - started:.2f} s for {len(library.passages):,} passages")


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
    parser.add_argument("--sizes", default="10k,100k", help="comma-separated passage counts: 10k,100k,1m")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--corpus", type=Path, help="also time the analyzer and indexing of this folder")
    parser.add_argument(
        "--ranking", metavar="SIZES", help="also time the ranking stage at these passage counts: 100k,1m"
    )
    args = parser.parse_args()
    params = BM25Params()
    rows = []
    for size in [parse_size(s) for s in args.sizes.split(",") if s.strip() and parse_size(s)]:
        print(f"size {label(size)} ...", file=sys.stderr, flush=True)
        rows.append(run_size(size, params, args.seed, oracle_sample=20 if size >= 1_000_000 else None))
    if rows:
        print_table(rows, params)
    if args.corpus:
        real_text(args.corpus)
    if args.ranking:
        ranking = []
        for size in [parse_size(s) for s in args.ranking.split(",") if s.strip()]:
            print(f"ranking stage {label(size)} ...", file=sys.stderr, flush=True)
            ranking.append(ranking_cost(size, args.seed))
        print_ranking(ranking)


if __name__ == "__main__":
    main()

"""The query term cap: what it costs in answers, and what it saves in time.

    python bench/query_cap.py                                   # eval fixture + 100,000 generated passages
    python bench/query_cap.py --questions data/rtqa/dev.jsonl --corpus data/rtqa/corpus

A question is scored on at most `max_terms` distinct terms, its most selective ones. For
each cap this prints:
- questions: of the questions file, how many get other passages or scores than with no
  cap (and the most distinct terms any of them has);
- pasted articles: the first 4,090 characters (Telegram's limit) of sampled articles of
  the corpus asked as questions, how often the article itself comes first;
- over a generated corpus (`--generate`, default 100,000 passages): p50 / p95 search time
  of 4,090-character questions of the most frequent words, and of pasted articles.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import FREQUENT_WORDS, LONG_QUESTION_CHARS, long_question  # noqa: E402
from fakes.corpora import generate_corpus  # noqa: E402
from retrieval import Library  # noqa: E402
from retrieval.evaluation import parse_questions  # noqa: E402

UNCAPPED = 1_000_000
CAPS = (8, 16, 32, 64, 128, UNCAPPED)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--questions", type=Path, default=ROOT / "tests/fixtures/eval/questions.jsonl")
    parser.add_argument("--corpus", type=Path, default=ROOT / "tests/fixtures/eval/corpus")
    parser.add_argument("--pasted", type=int, default=500, help="articles pasted as questions (sample)")
    parser.add_argument("--generate", type=int, default=100_000, metavar="PASSAGES")
    parser.add_argument("--timed", type=int, default=50, help="questions timed per kind and cap")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    library = Library.load(args.corpus)
    questions = parse_questions(args.questions.read_text(encoding="utf-8"))
    pasted = sample_articles(library, args.pasted, rng)
    widest = max(len(set(library.query_terms(q.question))) for q in questions)
    print(f"{len(questions)} questions of {args.questions.name} (at most {widest} distinct terms each)")
    print(f"{len(pasted)} articles of {args.corpus.name} pasted as questions")
    uncapped = capped(library, UNCAPPED)
    expected = [uncapped.search(q.question, k=10, now=q.question_date) for q in questions]
    for cap in CAPS:
        bounded = capped(library, cap)
        changed = sum(
            bounded.search(q.question, k=10, now=q.question_date) != answer
            for q, answer in zip(questions, expected, strict=True)
        )
        found = sum(first_article(bounded, text) == article_id for article_id, text in pasted)
        print(f"cap {label(cap):>5}: {changed} questions answered otherwise; pasted article first {found}")

    with tempfile.TemporaryDirectory() as scratch:
        corpus = Path(scratch)
        print(f"generating {args.generate:,} passages ...", file=sys.stderr)
        vocabulary = generate_corpus(corpus, args.generate, args.seed)
        generated = Library.load(corpus)
        frequent = [long_question(rng, vocabulary[:FREQUENT_WORDS]) for _ in range(args.timed)]
        articles = sample_articles(generated, args.timed, rng)
        print(f"search time over {len(generated.passages):,} generated passages, p50 / p95:")
        for cap in CAPS:
            bounded = capped(generated, cap)
            found = sum(first_article(bounded, text) == article_id for article_id, text in articles)
            pasted_time = timed(bounded.search, [text for _, text in articles])
            print(
                f"cap {label(cap):>5}: {LONG_QUESTION_CHARS:,} characters of frequent words "
                f"{timed(bounded.search, frequent)}; pasted articles {pasted_time} "
                f"(own article first {found}/{len(articles)})"
            )


def capped(library: Library, cap: int) -> Library:
    """The same library, scoring questions on at most `cap` distinct terms."""
    return dataclasses.replace(library, options=dataclasses.replace(library.options, max_terms=cap))


def sample_articles(library: Library, count: int, rng: random.Random) -> list[tuple[str, str]]:
    """(id, first 4,090 characters of headline and text) of up to `count` articles."""
    numbers = rng.sample(range(len(library.articles)), min(count, len(library.articles)))
    articles = [library.articles[number] for number in numbers]
    return [(a.id, f"{a.headline}\n\n{a.text}"[:LONG_QUESTION_CHARS]) for a in articles]


def first_article(library: Library, question: str) -> str | None:
    hits = library.search(question, k=1).hits
    return hits[0].article.id if hits else None


def timed(search: Callable[[str], object], questions: list[str]) -> str:
    took = []
    for question in questions:
        started = time.perf_counter()
        search(question)
        took.append((time.perf_counter() - started) * 1000)
    cuts = statistics.quantiles(took, n=20)
    return f"{statistics.median(took):.1f} / {cuts[18]:.1f} ms"


def label(cap: int) -> str:
    return "none" if cap == UNCAPPED else str(cap)


if __name__ == "__main__":
    main()

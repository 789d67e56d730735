"""Where the gold article ranks when it is not in the first five: recall at depth.

    python bench/recall_depth.py data/rtqa/dev.jsonl --corpus data/rtqa/corpus

Each question of the file that has gold articles and a date is asked through
`Library.search`, at its date and without one, for its first 50 passages: at most two
an article, they rank 25 to 50 distinct articles, so a gold article placed 26th to 50th
is seen only where the passages reach that deep, and counts as deeper where they do not.
The script prints, in Markdown:

1. the candidate ceiling: how often a gold article is among the lexical candidates the
   second stage re-scores (`RerankOptions.candidates`) and among the first 1,000;
2. where the first gold article ranks among distinct articles (as an answer numbers
   its headings): 1, 2-5, 6-10, 11-20, 21-50, deeper, or not a candidate at all;
3. the misses of article R@5 by kind: whether one of the first five articles holds an
   answer string although the labels do not call it gold (the labels are each
   question's own web search results whose text holds the answer, so another outlet's
   report of the same event is not gold), and how deep the gold article is.

"Older news" are the questions whose newest gold article is more than 30 days older than
the question (the guard set of `newsbot eval`).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import dev_split  # noqa: E402
from retrieval import Library  # noqa: E402
from retrieval.evaluation import Question  # noqa: E402
from retrieval.index import Ranking  # noqa: E402
from retrieval.rerank import RerankOptions  # noqa: E402

GUARD_DAYS = 30
DEEP = 1000
PASSAGES = 50
BUCKETS = ("1", "2-5", "6-10", "11-20", "21-50", "deeper", "not a candidate")


@dataclass(frozen=True, slots=True)
class Depth:
    """One question asked one way: where its gold article is, and what came first."""

    question: Question
    dated: bool
    older: bool
    in_candidates: bool
    """A gold article is among the lexical candidates the second stage re-scores."""
    in_deep: bool
    """... among the first `DEEP` lexical candidates."""
    article_rank: int | None
    """The first gold article's place among the distinct articles of the first `PASSAGES`."""
    answer_in_top5: bool
    """One of the first five articles holds an answer string."""


def bucket(rank: int | None, in_candidates: bool) -> str:
    """Where the first gold article ranks among distinct articles, in `BUCKETS`' terms."""
    if rank is None:
        return "deeper" if in_candidates else "not a candidate"
    return next(
        name
        for name, top in (("1", 1), ("2-5", 5), ("6-10", 10), ("11-20", 20), ("21-50", 50))
        if rank <= top
    )


def measure(library: Library, questions: Sequence[Question]) -> list[Depth]:
    """Every question at its date and without one, through the bot's own search."""
    ids, owner = library.articles.ids, library.passages.owner
    row = {article: number for number, article in enumerate(ids)}
    published = library.articles.ordinals
    candidates = RerankOptions().candidates
    found = []
    for question in questions:
        assert question.question_date is not None
        gold = {row[g] for g in question.gold_article_ids if g in row}
        newest = max((int(published[g]) for g in gold), default=None)
        older = newest is not None and question.question_date.toordinal() - newest > GUARD_DAYS
        answers = [answer.lower() for answer in question.answers if answer]
        terms = library.query_terms(question.question)
        for dated in (True, False):
            now = question.question_date if dated else None
            until = now.toordinal() if now else None
            doc_ids, _ = library.index.top(terms, DEEP, Ranking(library.passage_recency, until=until))
            rows = owner[doc_ids].tolist()  # best first
            hits = library.search(question.question, k=PASSAGES, now=now).hits
            articles = list(dict.fromkeys(hit.article.id for hit in hits))
            rank = next((n for n, a in enumerate(articles, start=1) if row[a] in gold), None)
            top5 = [library.articles[row[a]] for a in articles[:5]]
            holds = any(any(answer in f"{a.headline}\n{a.text}".lower() for answer in answers) for a in top5)
            found.append(
                Depth(
                    question,
                    dated,
                    older,
                    any(r in gold for r in rows[:candidates]),
                    any(r in gold for r in rows),
                    rank,
                    holds,
                )
            )
    return found


def share(part: int, whole: int) -> str:
    """A count and its share of the whole."""
    return f"{part} ({part / whole:.3f})" if whole else "0"


def fraction(part: int, whole: int) -> str:
    """A share to three places, or a dash for an empty group (a small set may have no older news)."""
    return f"{part / whole:.3f}" if whole else "-"


def tables(depths: Sequence[Depth]) -> str:
    """The depth table and the misses of article R@5 by kind, in Markdown."""
    ways: dict[str, Callable[[Depth], bool]] = {
        "asked at their date": lambda d: d.dated,
        "older news, at their date": lambda d: d.dated and d.older,
        "the other (recent) news, at their date": lambda d: d.dated and not d.older,
        "without a date": lambda d: not d.dated,
    }
    lines = [
        f"| questions | in the {RerankOptions().candidates} candidates | in the first 1,000 | "
        + " | ".join(f"gold article {b}" for b in BUCKETS)
        + " | article R@5 | gold or an answer-holding article in the first 5 |",
        "| --- " * (5 + len(BUCKETS)) + "|",
    ]
    misses: dict[str, Counter[tuple[bool, str]]] = {}
    for name, chosen in ways.items():
        picked = [d for d in depths if chosen(d)]
        n = len(picked)
        counts = Counter(bucket(d.article_rank, d.in_candidates) for d in picked)
        hit5 = sum(1 for d in picked if d.article_rank is not None and d.article_rank <= 5)
        either = sum(
            1 for d in picked if (d.article_rank is not None and d.article_rank <= 5) or d.answer_in_top5
        )
        cells = [share(sum(d.in_candidates for d in picked), n), share(sum(d.in_deep for d in picked), n)]
        cells += [share(counts[b], n) for b in BUCKETS] + [fraction(hit5, n), fraction(either, n)]
        lines.append(f"| {name} ({n}) | " + " | ".join(cells) + " |")
        missed = [d for d in picked if d.article_rank is None or d.article_rank > 5]
        misses[name] = Counter((d.answer_in_top5, bucket(d.article_rank, d.in_candidates)) for d in missed)
    deep = BUCKETS[2:]
    lines += [
        "",
        "| misses of article R@5 | one of the first 5 articles holds an answer | "
        + " | ".join(f"gold {b}" for b in deep)
        + " | all |",
        "| --- " * (3 + len(deep)) + "|",
    ]
    for name, kinds in misses.items():
        for holds in (True, False):
            cells = [str(kinds[(holds, b)]) for b in deep] + [str(sum(kinds[(holds, b)] for b in deep))]
            lines.append(f"| {name} | {'yes' if holds else 'no'} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    dev_split.add_arguments(parser)
    questions, library = dev_split.load(parser.parse_args())
    print(f"asking {len(questions)} questions ...", file=sys.stderr, flush=True)
    print(tables(measure(library, questions)))


if __name__ == "__main__":
    main()

"""Query expansion by pseudo-relevance feedback (RM3), measured on the dev split.

    python bench/expansion.py data/rtqa/dev.jsonl --corpus data/rtqa/corpus [--cost]
    python bench/expansion.py --synthetic 100k

RM3 takes the best N passages of a first pass as relevant, weighs each of their terms by
its frequency in a passage (over the passage's length) times the passage's score, keeps
the M heaviest that are not question terms (in at least 2 passages, at most `max_df` of
them), and asks again with the question's terms at weight 1 - lambda and the expansion
terms at lambda (each BM25 term score times idf times its weight). The feedback passages'
terms come from a forward index (term rows per passage), made here by transposing the
saved postings, which hold the same numbers ordered by term.

Each question of the file that has gold articles is asked at its date and without one
(the candidates of `bench/learn_ranking.py`), then ranked by the bot's own `rerank`
(today's weights, story folding left out) after one of:
  rescored     the 200 first-pass candidates re-scored with the expanded query;
  second pass  a second first-stage pass with the expanded query (its top 200);
  article      the share of the expansion terms' weight that each candidate's article
               holds, added after `rerank` with a weight (the way the article's share of
               the question's own terms is), so the weight is searched, not fixed.
Feedback comes from the first pass's order ("bm25") or the re-ranked one ("rerank"), from
the passages themselves or from their articles' first passage (headline and lead); "short"
variants expand only questions of at most 6 distinct terms. `--cost` times the steps per
question (CPU medians, at the question's date); `--synthetic 100k` does so on
`bench/retrieval.py`'s made-up corpus of that many passages, for its short and news questions.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import math
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import dev_split  # noqa: E402
from bench.learn_ranking import DEPTH, Asked, ask_all  # noqa: E402
from retrieval import Library, LibraryOptions, analyze, kernels  # noqa: E402
from retrieval.index import WINDOW, BM25Index, Ranking, top_k  # noqa: E402
from retrieval.rerank import QueryTerms, RerankOptions, article_coverage, rerank  # noqa: E402

FloatArray = npt.NDArray[np.float64]
Expansion = list[tuple[int, float]]
"""Expansion terms as (term row, weight), weights summing to 1."""
NONE = np.empty(0, dtype=np.int32)


@dataclass(frozen=True, slots=True)
class Forward:
    """Each passage's term rows and their frequencies: the postings ordered by passage."""

    offsets: npt.NDArray[np.int64]
    rows: npt.NDArray[np.int32]
    freqs: npt.NDArray[np.integer]

    @classmethod
    def of(cls, index: BM25Index) -> Forward:
        offsets = np.asarray(index.offsets)
        rows = np.repeat(np.arange(len(offsets) - 1, dtype=np.int32), np.diff(offsets))
        order = np.argsort(np.asarray(index.doc_ids), kind="stable")
        starts = np.zeros(index.size + 1, dtype=np.int64)
        np.cumsum(np.bincount(np.asarray(index.doc_ids), minlength=index.size), out=starts[1:])
        return cls(starts, rows[order], np.asarray(index.term_freqs)[order])

    def terms(self, passage: int) -> tuple[list[int], list[int]]:
        start, end = self.offsets[passage], self.offsets[passage + 1]
        return self.rows[start:end].tolist(), self.freqs[start:end].tolist()


@dataclass(frozen=True, slots=True)
class Variant:
    name: str
    passages: int = 10
    terms: int = 10
    weight: float = 0.3
    """lambda: the expansion terms' share of the query."""
    max_df: float = 0.1
    feedback: str = "rerank"
    source: str = "passage"
    select: str = "rm3"
    """rm3: weight as RM3 gives it; idf: that weight times the term's idf."""
    longest: int | None = None
    """Expand only questions of at most this many distinct terms."""
    sparse: float | None = None
    """Expand only when the best re-ranked candidate's article holds less than this share
    of the question's idf: where the words may be missing, not everywhere."""


def expansion(
    library: Library,
    forward: Forward,
    question: set[int],
    docs: Sequence[int],
    scores: FloatArray,
    variant: Variant,
) -> Expansion:
    """The `variant.terms` heaviest feedback terms of the best `variant.passages` passages."""
    index = library.index
    if variant.source == "lead":
        bounds = library.rerank_signals().article_bounds()
        docs = bounds[library.passages.owner[np.asarray(docs)]].tolist()
    top = scores[: variant.passages]
    weights = (top / top.max()).tolist()
    mass: dict[int, float] = {}
    for doc, weight in zip(docs[: variant.passages], weights, strict=False):
        length = float(index.doc_lengths[doc])
        rows, freqs = forward.terms(int(doc))
        for row, freq in zip(rows, freqs, strict=True):
            mass[row] = mass.get(row, 0.0) + weight * freq / length
    doc_freqs = np.diff(np.asarray(index.offsets))
    most = variant.max_df * index.size
    found = [(w, r) for r, w in mass.items() if r not in question and 2 <= doc_freqs[r] <= most]
    if variant.select == "idf":
        found = [(w * float(index.idf[r]), r) for w, r in found]
    chosen = sorted(found, reverse=True)[: variant.terms]
    total = sum(w for w, _ in chosen)
    return [(r, w / total) for w, r in chosen] if total else []


def term_weights(index: BM25Index, row: int, docs: npt.NDArray[np.int32]) -> FloatArray:
    """BM25+'s weight of term `row` in each of `docs` before idf, 0 where absent (no delta)."""
    start, end = index.offsets[row], index.offsets[row + 1]
    ids, freqs = index.doc_ids[start:end], index.term_freqs[start:end]
    where = np.searchsorted(ids, docs).clip(max=max(len(ids) - 1, 0))
    tf = np.where(ids[where] == docs, freqs[where], 0).astype(np.float64)
    params = index.params
    norm = params.k1 * (1 - params.b + params.b * index.doc_lengths[docs] / index._average)
    return np.asarray(tf * (params.k1 + 1) / (norm + tf))


def weighted_top(
    index: BM25Index, weights: dict[int, float], k: int, until: int | None, recency: npt.NDArray[np.int32]
) -> tuple[npt.NDArray[np.int32], FloatArray]:
    """`index.top` with a weight per term row (idf x weight) rather than a count per term."""
    rows = np.asarray(list(weights), dtype=np.int64)
    scaled = np.asarray([weights[r] for r in rows.tolist()]) * index.idf[rows]
    maxima = index._maxima(rows)
    scale = 2.0 ** min(40, 60 - math.ceil(math.log2(float((scaled * maxima).sum()) + 1)))
    bounds = np.floor(scaled * scale * maxima).astype(np.int64) + 1
    constant = float(scaled.sum()) * index.params.lower_bound
    return kernels.top_k(  # type: ignore[no-any-return]
        index._postings, index._weighting, rows, scaled * scale, bounds, scale, constant, k, recency,
        -1 if until is None else until, 0.0, 1.0, NONE, 0, WINDOW,
    )  # fmt: skip


class Lab:
    """The cached candidates of every question and the variants' figures over them."""

    def __init__(self, library: Library, asked: list[Asked]) -> None:
        self.library, self.asked = library, asked
        self.forward = Forward.of(library.index)
        self.signals = library.rerank_signals()
        self.today = RerankOptions()
        self.reranked = [self._rerank(one) for one in asked]

    def _rerank(self, one: Asked) -> tuple[npt.NDArray[np.int32], FloatArray]:
        if not len(one.doc_ids):
            return one.doc_ids, one.scores
        now = one.question.question_date if one.dated else None
        return rerank(
            one.question.question, one.doc_ids, one.scores, self.signals, self.today, now,
            lambda: one.vector, 4 * DEPTH, one.terms,
        )  # fmt: skip

    def best_share(self, position: int) -> float:
        """The share of the question's idf the best re-ranked candidate's article holds."""
        docs, scores = self.reranked[position]
        best = self.library.passages.owner[docs[np.argmax(scores) : np.argmax(scores) + 1]]
        terms = self.asked[position].terms
        if not len(terms.rows):
            return 1.0
        return float(article_coverage(terms, best, self.signals.article_bounds())[0])

    def question_rows(self, one: Asked) -> list[int]:
        vocabulary = self.library.index.vocabulary
        return [vocabulary[t] for t in self.library.query_terms(one.question.question) if t in vocabulary]

    def expand(self, position: int, variant: Variant) -> tuple[list[int], Expansion]:
        one = self.asked[position]
        rows = self.question_rows(one)
        if not len(one.doc_ids) or (variant.longest is not None and len(set(rows)) > variant.longest):
            return rows, []
        if variant.sparse is not None and self.best_share(position) >= variant.sparse:
            return rows, []
        if variant.feedback == "bm25":
            docs, scores = one.doc_ids, one.scores
        else:
            docs, scores = self.reranked[position]
            order = np.argsort(-scores, kind="stable")
            docs, scores = docs[order], scores[order]
        return rows, expansion(self.library, self.forward, set(rows), docs.tolist(), scores, variant)

    def rescored(self, variant: Variant) -> list[Asked]:
        out = []
        for position, one in enumerate(self.asked):
            rows, terms = self.expand(position, variant)
            if not terms:
                out.append(one)
                continue
            extra = sum(
                w * self.library.index.idf[r] * term_weights(self.library.index, r, one.doc_ids)
                for r, w in terms
            )
            scores = (1 - variant.weight) / len(rows) * one.scores + variant.weight * extra
            out.append(dataclasses.replace(one, scores=scores))
        return out

    def second_pass(self, variant: Variant) -> list[Asked]:
        library, out = self.library, []
        owner, ids = library.passages.owner, library.articles.ids
        for position, one in enumerate(self.asked):
            rows, terms = self.expand(position, variant)
            if not terms:
                out.append(one)
                continue
            weights: dict[int, float] = {}
            for row in rows:
                weights[row] = weights.get(row, 0.0) + (1 - variant.weight) / len(rows)
            for row, weight in terms:
                weights[row] = weights.get(row, 0.0) + variant.weight * weight
            until = (
                one.question.question_date.toordinal() if one.dated and one.question.question_date else None
            )
            docs, scores = weighted_top(library.index, weights, 200, until, library.passage_recency)
            gold = np.asarray([ids[a] in one.question.gold_article_ids for a in owner[docs].tolist()], bool)
            answers = [a.lower() for a in one.question.answers if a]
            texts = [library.passages[int(d)].text.lower() for d in docs]
            answer = np.asarray([any(a in text for a in answers) for text in texts], bool)
            out.append(dataclasses.replace(one, doc_ids=docs, scores=scores, gold=gold, answer=answer))
        return out

    def article_share(self, variant: Variant) -> list[FloatArray]:
        bounds = self.signals.article_bounds()
        shares = []
        for position in range(len(self.asked)):
            _, terms = self.expand(position, variant)
            index = self.library.index
            rows = np.asarray([r for r, _ in terms], dtype=np.int64)
            postings = QueryTerms(index.doc_ids, index.offsets, rows, np.asarray([w for _, w in terms]))
            articles = self.library.passages.owner[self.reranked[position][0]]
            shares.append(
                article_coverage(postings, articles, bounds) if len(rows) else np.zeros(len(articles))
            )
        return shares

    def figures(
        self, asked: Sequence[Asked], added: Sequence[FloatArray] | None = None, weight: float = 0.0
    ) -> str:
        """Gold R@1, R@5, MRR@10, gold + answer R@1, older news R@1, and R@1 and R@5 without a date."""
        ways: dict[str, Callable[[Asked], bool]] = {
            "dated": lambda a: a.dated,
            "older": lambda a: a.dated and a.older,
            "undated": lambda a: not a.dated,
        }
        found = {}
        for way, chosen in ways.items():
            picked = [p for p, one in enumerate(asked) if chosen(one)]
            found[way] = self._metrics(asked, picked, added, weight)
        dated, older, undated = found["dated"], found["older"], found["undated"]
        cells = [*dated, older[0], undated[0], undated[1]]
        return " | ".join(f"{value:.3f}" for value in cells)

    def _metrics(
        self, asked: Sequence[Asked], picked: list[int], added: Sequence[FloatArray] | None, weight: float
    ) -> list[float]:
        library = self.library
        hits: list[list[float]] = [[], [], [], []]
        for position in picked:
            one = asked[position]
            if not len(one.doc_ids):
                for values in hits:
                    values.append(0.0)
                continue
            docs, scores = self._rerank(one) if one is not self.asked[position] else self.reranked[position]
            if added is not None:
                scores = scores + weight * added[position]
            rows = top_k(docs, scores, DEPTH, library.passages.owner, library.passage_recency, 2)
            by_doc = {int(d): i for i, d in enumerate(one.doc_ids.tolist())}
            labels = [by_doc[int(docs[r])] for r in rows]
            gold = [rank for rank, row in enumerate(labels, start=1) if one.gold[row]]
            first = gold[0] if gold else None
            hits[0].append(first == 1)
            hits[1].append(first is not None and first <= 5)
            hits[2].append(1 / first if first else 0.0)
            hits[3].append(bool(labels) and bool(one.gold[labels[0]] and one.answer[labels[0]]))
        return [float(np.mean(values)) for values in hits]


RESCORED = (
    Variant("first-pass order, N 10, M 10, lambda 0.3", feedback="bm25"),
    Variant("first-pass order, N 10, M 10, lambda 0.1", weight=0.1, feedback="bm25"),
    Variant("re-ranked order, N 10, M 10, lambda 0.1", weight=0.1),
    Variant("re-ranked order, N 10, M 10, lambda 0.2", weight=0.2),
    Variant("re-ranked order, N 5, M 10, lambda 0.2", passages=5, weight=0.2),
    Variant("re-ranked order, N 10, M 5, lambda 0.05", terms=5, weight=0.05),
    Variant("re-ranked order, N 10, M 20, lambda 0.5", terms=20, weight=0.5),
    Variant("re-ranked order, N 10, M 10, lambda 0.2, df at most 2%", weight=0.2, max_df=0.02),
    Variant("re-ranked order, N 10, M 10, lambda 0.1, terms by weight x idf", weight=0.1, select="idf"),
    Variant("re-ranked order, N 10, M 10, lambda 0.2, headline and lead", weight=0.2, source="lead"),
    Variant("re-ranked order, N 10, M 10, lambda 0.3, short questions", longest=6),
    Variant("re-ranked order, N 10, M 10, lambda 0.5, short questions", weight=0.5, longest=6),
    Variant(
        "re-ranked order, N 10, M 10, lambda 0.2, best article under 60% of the idf", weight=0.2, sparse=0.6
    ),
    Variant(
        "re-ranked order, N 10, M 10, lambda 0.2, best article under 75% of the idf", weight=0.2, sparse=0.75
    ),
    Variant(
        "re-ranked order, N 10, M 10, lambda 0.2, best article under 90% of the idf", weight=0.2, sparse=0.9
    ),
)
SECOND_PASS = (
    Variant("first-pass order, N 10, M 10, lambda 0.3", feedback="bm25"),
    Variant("re-ranked order, N 10, M 10, lambda 0.1", weight=0.1),
    Variant("re-ranked order, N 10, M 10, lambda 0.3, short questions", longest=6),
)
ARTICLE = (
    Variant("re-ranked order, N 10, M 10"),
    Variant("re-ranked order, N 10, M 10, headline and lead", source="lead"),
)
ARTICLE_WEIGHTS = (-0.1, 0.05, 0.1, 0.2, 0.3)


def quality(lab: Lab) -> None:
    print(
        "| expansion | R@1 | R@5 | MRR@10 | gold + answer R@1 | older news R@1 | R@1 / R@5 without a date |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    print(f"| none (today) | {lab.figures(lab.asked)} |", flush=True)
    for variant in RESCORED:
        print(f"| candidates re-scored: {variant.name} | {lab.figures(lab.rescored(variant))} |", flush=True)
    for variant in SECOND_PASS:
        second = lab.second_pass(variant)
        print(f"| second pass: {variant.name} | {lab.figures(second)} |", flush=True)
        missed = [(a, b) for a, b in zip(lab.asked, second, strict=True) if a.dated and not a.gold.any()]
        found = sum(bool(b.gold.any()) for _, b in missed)
        print(
            f"(at their date, {len(missed)} with no gold among the first pass's 200: {found} in this one's)"
        )
    for variant in ARTICLE:
        shares = lab.article_share(variant)
        for weight in ARTICLE_WEIGHTS:
            figures = lab.figures(lab.asked, shares, weight)
            print(f"| article's share of the terms x {weight:g}: {variant.name} | {figures} |", flush=True)


STEPS = ("search", "first", "select", "rescore", "analyze", "second")


def cost(library: Library, questions: Sequence[tuple[str, dt.date]]) -> dict[str, float]:
    """CPU per question of each step (median, ms): `Library.search` whole, the first pass,
    choosing the expansion terms from the forward index, re-scoring the 200 candidates,
    analysing the 10 best passages' text (the forward index's alternative) and a second
    first-stage pass with the expanded query."""
    index = library.index
    started = time.process_time()
    forward = Forward.of(index)
    print(
        f"forward index: {len(index.doc_ids):,} postings transposed in {time.process_time() - started:.2f} s"
    )
    variant = Variant("timed")
    vocabulary = index.vocabulary
    steps: dict[str, list[float]] = {name: [] for name in STEPS}
    for question, now in questions:
        clock = time.process_time()
        library.search(question, now=now)
        steps["search"].append(time.process_time() - clock)
        terms = library.query_terms(question)
        clock = time.process_time()
        docs, scores = index.top(terms, 200, Ranking(library.passage_recency, until=now.toordinal()))
        steps["first"].append(time.process_time() - clock)
        rows = [vocabulary[t] for t in terms if t in vocabulary]
        if not len(docs):
            continue
        clock = time.process_time()
        added = expansion(library, forward, set(rows), docs.tolist(), scores, variant)
        steps["select"].append(time.process_time() - clock)
        clock = time.process_time()
        sum(w * index.idf[r] * term_weights(index, r, docs) for r, w in added)
        steps["rescore"].append(time.process_time() - clock)
        texts = [library.passages[int(d)].text for d in docs[:10]]
        clock = time.process_time()
        for text in texts:
            analyze(text)
        steps["analyze"].append(time.process_time() - clock)
        weights = {row: 0.7 / len(rows) for row in rows} | {row: 0.3 * w for row, w in added}
        clock = time.process_time()
        weighted_top(index, weights, 200, now.toordinal(), library.passage_recency)
        steps["second"].append(time.process_time() - clock)
    return {name: statistics.median(values) * 1000 for name, values in steps.items()}


def synthetic_cost(size: int, seed: int = 7, count: int = 200) -> None:
    """`cost` over `bench/retrieval.py`'s made-up corpus and its short and news questions."""
    from bench import retrieval as bench

    language = bench.Language(seed)
    with tempfile.TemporaryDirectory() as scratch:
        corpus = Path(scratch) / "corpus"
        corpus.mkdir()
        bench.write_corpus(corpus, size, language, seed)
        library = Library.load(corpus, LibraryOptions(), index_dir=Path(scratch) / "index")
        asked = dt.date.fromordinal(int(library.articles.ordinals.max()) + 1)
        questions = bench.make_questions(language, count, seed)
        for kind in ("short", "news"):
            figures = cost(library, [(q, asked) for q in questions[kind]])
            print(f"{bench.label(size)} {kind}: " + ", ".join(f"{n} {figures[n]:.2f} ms" for n in STEPS))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    dev_split.add_arguments(parser, required=False)
    parser.add_argument("--cost", action="store_true", help="time the steps on the dev questions instead")
    parser.add_argument(
        "--synthetic", help="time the steps on bench/retrieval.py's corpus of this size (100k)"
    )
    args = parser.parse_args()
    if args.synthetic:
        from bench.retrieval import parse_size

        synthetic_cost(parse_size(args.synthetic))
        return
    if args.questions is None or args.corpus is None:
        parser.error("give the questions file and --corpus, or --synthetic SIZE")
    questions, library = dev_split.load(args)
    print(f"{library.index.size:,} passages, {len(questions)} questions", file=sys.stderr, flush=True)
    if args.cost:
        figures = cost(library, [(q.question, q.question_date) for q in questions if q.question_date])
        print(", ".join(f"{name} {figures[name]:.2f} ms" for name in STEPS))
        return
    weeks = dev_split.weeks(questions)
    quality(Lab(library, ask_all(library, questions, weeks)))


if __name__ == "__main__":
    main()

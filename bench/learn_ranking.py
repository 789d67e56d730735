"""Learn the second ranking stage's weights on the dev split, cross-validated by weeks.

    python bench/learn_ranking.py data/rtqa/dev.jsonl --corpus data/rtqa/corpus

Each question of the file that has gold articles is asked once through the lexical
engine, at its date and without one (the same candidates `Library.search` re-scores);
then the weights of `rerank.RerankOptions` are searched by coordinate ascent, one weight
at a time over a grid, on the very `rerank` the bot runs, to maximise gold R@1 + gold-
and-answer R@1 + MRR@10 / 2 over both ways of asking. The weeks are cut into five
contiguous folds: weights learned on four folds rank the fifth, never a question of a
week they were learned on, and the table shows those held-out figures beside today's
weights. The last line gives the weights learned on every week: the constants of
`RerankOptions`. `--without-date` learns the weights that act on a question asked
without a date (meaning, coverage, periods) from those questions alone, over a wider
grid: whether that case would gain from weights of its own. Story folding is left out
(it only hides duplicates), so figures differ from `newsbot eval`'s by a few thousandths.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import dev_split  # noqa: E402
from retrieval import Library  # noqa: E402
from retrieval.evaluation import Question  # noqa: E402
from retrieval.index import Ranking, top_k  # noqa: E402
from retrieval.rerank import QueryTerms, RerankOptions, rerank  # noqa: E402

GRID: dict[str, tuple[float, ...]] = {
    "semantic_weight": (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4),
    "coverage_weight": (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6),
    "recency_weight": (0.0, 0.05, 0.1, 0.15, 0.2, 0.3),
    "cue_weight": (0.0, 0.1, 0.2, 0.3, 0.4, 0.5),
    "period_weight": (0.0, 0.1, 0.2, 0.3, 0.4),
}
UNDATED_GRID: dict[str, tuple[float, ...]] = {
    "semantic_weight": (0.0, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6),
    "coverage_weight": (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0),
    "period_weight": (0.0, 0.1, 0.2, 0.3, 0.4),
    "period_event_weight": (0.0, 0.1, 0.2, 0.3, 0.4),
}
"""Without a date there is no recency prior: only these weights act."""
FOLDS = 5
DEPTH = 10
GUARD_DAYS = 30


@dataclass(frozen=True, slots=True)
class Asked:
    """One question asked one way, with what `rerank` needs and the candidates' labels."""

    question: Question
    week: str
    dated: bool
    doc_ids: npt.NDArray[np.int32]
    scores: npt.NDArray[np.float64]
    vector: npt.NDArray[np.float32]
    terms: QueryTerms
    gold: npt.NDArray[np.bool_]
    """Candidates of a gold article."""
    answer: npt.NDArray[np.bool_]
    """Candidates whose passage holds an answer."""
    older: bool
    """Its newest gold article is more than `GUARD_DAYS` older than it: the guard set."""


def ask_all(library: Library, questions: Sequence[Question], weeks: dict[str, str]) -> list[Asked]:
    """Every question's lexical candidates, at its date and without one."""
    owner, ids = library.passages.owner, library.articles.ids
    published = dict(zip(ids, library.articles.ordinals.tolist(), strict=True))
    asked = []
    for question in questions:
        assert question.question_date is not None
        newest = max((published[g] for g in question.gold_article_ids if g in published), default=None)
        older = newest is not None and question.question_date.toordinal() - newest > GUARD_DAYS
        terms = library.query_terms(question.question)
        query_terms = library.query_postings(terms)
        vector = library.question_vector(question.question)
        for dated in (True, False):
            until = question.question_date.toordinal() if dated else None
            limit = RerankOptions().candidates
            doc_ids, scores = library.index.top(terms, limit, Ranking(library.passage_recency, until=until))
            gold = np.asarray([ids[a] in question.gold_article_ids for a in owner[doc_ids].tolist()], bool)
            texts = [library.passages[int(d)].text.lower() for d in doc_ids]
            answers = [a.lower() for a in question.answers if a]
            answer = np.asarray([any(a in text for a in answers) for text in texts], bool)
            week = weeks[question.qid]
            asked.append(
                Asked(question, week, dated, doc_ids, scores, vector, query_terms, gold, answer, older)
            )
    return asked


def metrics(library: Library, asked: Sequence[Asked], options: RerankOptions) -> dict[str, float]:
    """Gold R@1, R@5, MRR@10, gold-and-answer R@1 of `asked` ranked with `options`."""
    signals = library.rerank_signals()
    found: dict[str, list[float]] = {"R@1": [], "R@5": [], "MRR": [], "gold+answer R@1": []}
    for one in asked:
        if not len(one.doc_ids):  # no passage shares a word with it: a miss
            for values in found.values():
                values.append(0.0)
            continue
        now = one.question.question_date if one.dated else None
        doc_ids, scores = rerank(
            one.question.question,
            one.doc_ids,
            one.scores,
            signals,
            options,
            now,
            lambda one=one: one.vector,  # type: ignore[misc]
            4 * DEPTH,
            one.terms,
        )
        position = {int(d): i for i, d in enumerate(one.doc_ids.tolist())}
        chosen = top_k(doc_ids, scores, DEPTH, library.passages.owner, library.passage_recency, 2)
        rows = [position[int(doc_ids[c])] for c in chosen]
        gold = [r for r, row in enumerate(rows, start=1) if one.gold[row]]
        first = gold[0] if gold else None
        found["R@1"].append(first == 1)
        found["R@5"].append(first is not None and first <= 5)
        found["MRR"].append(1 / first if first else 0.0)
        found["gold+answer R@1"].append(bool(rows) and bool(one.gold[rows[0]] and one.answer[rows[0]]))
    return {name: float(np.mean(values)) if values else 0.0 for name, values in found.items()}


def objective(figures: dict[str, float]) -> float:
    return figures["R@1"] + figures["gold+answer R@1"] + figures["MRR"] / 2


def learn(
    score: Callable[[RerankOptions], float],
    start: RerankOptions,
    rounds: int = 3,
    grid: dict[str, tuple[float, ...]] = GRID,
) -> tuple[RerankOptions, float]:
    """Coordinate ascent: each weight in turn set to its best grid value, until none moves."""
    best, best_score = start, score(start)
    for _ in range(rounds):
        moved = False
        for name, values in grid.items():
            for value in values:
                trial = dataclasses.replace(best, **{name: value})
                if trial == best:
                    continue
                trial_score = score(trial)
                if trial_score > best_score + 1e-9:
                    best, best_score, moved = trial, trial_score, True
        if not moved:
            break
    return best, best_score


def combined(library: Library, asked: Sequence[Asked], options: RerankOptions) -> float:
    return sum(
        objective(metrics(library, [a for a in asked if a.dated == dated], options))
        for dated in (True, False)
    )


def weights(options: RerankOptions, grid: dict[str, tuple[float, ...]] = GRID) -> str:
    return ", ".join(f"{name} {getattr(options, name):g}" for name in grid)


def row(name: str, dated: dict[str, float], older: dict[str, float], undated: dict[str, float]) -> str:
    cells = " | ".join(f"{dated[k]:.3f}" for k in ("R@1", "R@5", "MRR", "gold+answer R@1"))
    return f"| {name} | {cells} | {older['R@1']:.3f} | {undated['R@1']:.3f} |"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    dev_split.add_arguments(parser)
    parser.add_argument(
        "--without-date", action="store_true", help="learn weights for questions asked without a date alone"
    )
    args = parser.parse_args()
    questions, library = dev_split.load(args)
    weeks = dev_split.weeks(questions)
    print(f"asking {len(questions)} questions ...", file=sys.stderr, flush=True)
    asked = ask_all(library, questions, weeks)
    ordered = sorted(set(weeks.values()))
    fold = {week: number * FOLDS // len(ordered) for number, week in enumerate(ordered)}
    today = RerankOptions()
    if args.without_date:
        learn_without_date(library, [a for a in asked if not a.dated], fold, today)
        return
    held_out: list[tuple[Asked, RerankOptions]] = []
    for number in range(FOLDS):
        train = [a for a in asked if fold[a.week] != number]
        learned, _ = learn(lambda o, train=train: combined(library, train, o), today)  # type: ignore[misc]
        print(f"fold {number + 1}: {weights(learned)}", file=sys.stderr, flush=True)
        for one in asked:
            if fold[one.week] == number:
                held_out.append((one, learned))

    def cross_validated(chosen: Callable[[Asked], bool]) -> dict[str, float]:
        parts = [metrics(library, [a], o) for a, o in held_out if chosen(a)]
        return {k: float(np.mean([p[k] for p in parts])) for k in parts[0]}

    final, _ = learn(lambda o: combined(library, asked, o), today)
    ways: dict[str, Callable[[Asked], bool]] = {
        "dated": lambda a: a.dated,
        "older": lambda a: a.dated and a.older,
        "undated": lambda a: not a.dated,
    }
    print("| weights | R@1 | R@5 | MRR@10 | gold + answer R@1 | older news R@1 | R@1 without a date |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, options in (("today's", today), ("learned on every week", final)):
        figures = [metrics(library, [a for a in asked if way(a)], options) for way in ways.values()]
        print(row(f"{name}: {weights(options)}", *figures))
    print(row("learned on the other folds, for held-out weeks", *map(cross_validated, ways.values())))


def learn_without_date(
    library: Library, asked: Sequence[Asked], fold: dict[str, int], today: RerankOptions
) -> None:
    """Print today's figures without a date beside those of weights learned for that case alone."""

    def score(options: RerankOptions, part: Sequence[Asked]) -> float:
        return objective(metrics(library, part, options))

    held_out: list[dict[str, float]] = []
    for number in range(FOLDS):
        train = [a for a in asked if fold[a.week] != number]
        learned, _ = learn(lambda o, train=train: score(o, train), today, grid=UNDATED_GRID)  # type: ignore[misc]
        print(f"fold {number + 1}: {weights(learned, UNDATED_GRID)}", file=sys.stderr, flush=True)
        held_out += [metrics(library, [a], learned) for a in asked if fold[a.week] == number]
    final, _ = learn(lambda o: score(o, asked), today, grid=UNDATED_GRID)
    columns = ("R@1", "R@5", "MRR", "gold+answer R@1")
    print("| weights, asked without a date | R@1 | R@5 | MRR@10 | gold + answer R@1 |")
    print("| --- | --- | --- | --- | --- |")
    for name, figures in (
        (f"today's: {weights(today, UNDATED_GRID)}", metrics(library, asked, today)),
        (f"learned on every week: {weights(final, UNDATED_GRID)}", metrics(library, asked, final)),
        (
            "learned on the other folds, for held-out weeks",
            {k: float(np.mean([h[k] for h in held_out])) for k in columns},
        ),
    ):
        print(f"| {name} | " + " | ".join(f"{figures[k]:.3f}" for k in columns) + " |")


if __name__ == "__main__":
    main()

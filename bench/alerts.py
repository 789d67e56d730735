"""How precise topic alerts are at each relevance threshold, on articles labelled by hand.

Two steps:

    python bench/alerts.py sample shipped=corpus eval=tests/fixtures/eval/corpus rtqa=data/rtqa/corpus
    python bench/alerts.py report shipped=corpus eval=tests/fixtures/eval/corpus rtqa=data/rtqa/corpus

(`rtqa` is the RealTime QA corpus that `bench/realtimeqa.py` builds; without it, the
report covers the labels of the other two.)

`sample` scores every article of the corpora against the topics below, exactly as the
bot does for a new article (`bot.alerts.match_articles`: the best passage's BM25 score
on the 0-1 relevance scale), and draws a stratified sample over relevance bands. It
writes each pair with its headline and best passage for a person to label; the texts
belong to their publishers, so the sample goes under the ignored `data/` folder.

The committed labels (`bench/alert_labels.jsonl`) hold only the topic, the article id,
the relevance band and the judgement: "relevant" when a reader who follows the topic
would want that article (it is about the topic, not a passing mention). `report`
recomputes relevance and prints, for each threshold, how many alerts it would send and
their estimated precision and recall (each band weighted by how many pairs fall in it,
since bands are sampled at different rates; recall is against all the relevant pairs
the bands are estimated to hold).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.alerts import match_articles, topic_terms  # noqa: E402
from bot.statedb import TopicRow  # noqa: E402
from retrieval import Library  # noqa: E402
from retrieval.snippets import snippet_span  # noqa: E402

TOPICS = [
    # Real news of 2023-2024 (the RealTime QA weeks): people, events, policy, sport.
    "Damar Hamlin",
    "Twitter layoffs",
    "ChatGPT",
    "grain deal",
    "Titan submersible",
    "Silicon Valley Bank collapse",
    "Maui wildfires",
    "Trump indictment",
    "Chinese spy balloon",
    "Wagner mutiny Prigozhin",
    "Federal Reserve interest rates",
    "Turkey earthquake",
    "King Charles coronation",
    "Women's World Cup",
    "writers strike",
    "Gaza ceasefire",
    "Taylor Swift",
    "SpaceX Starship launch",
    "Nobel Prize",
    "hurricane",
    # The shipped corpus and the evaluation fixture.
    "Abramovich",
    "humanitarian corridor",
    "ferry",
    "volcano eruption",
    "chess olympiad",
]
BANDS = (0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 1.01)
THRESHOLDS = (0.2, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7)


def band(relevance: float) -> int:
    """The index of the band a relevance falls in."""
    return max(i for i, low in enumerate(BANDS[:-1]) if relevance >= low)


def corpus_argument(text: str) -> tuple[str, Path]:
    """`NAME=FOLDER`: a corpus and the name its article ids carry in the labels."""
    name, _, folder = text.partition("=")
    if not folder:
        raise argparse.ArgumentTypeError(f"{text!r}: write NAME=FOLDER, e.g. eval=tests/fixtures/eval/corpus")
    return name, Path(folder)


def snippet(text: str, terms: frozenset[str], chars: int = 400) -> str:
    """The part of a passage an alert would show first: around its topic words."""
    start, end = snippet_span(text, terms, chars)
    return text[start:end]


def score_all(corpora: list[tuple[str, Path]]) -> list[dict[str, object]]:
    """Every (topic, article) pair with a topic word, with its relevance and best passage."""
    pairs: list[dict[str, object]] = []
    for name, corpus in corpora:
        if not corpus.is_dir():
            print(f"{corpus} is missing: {name} left out", file=sys.stderr)
            continue
        library = Library.load(corpus, index_dir=ROOT / "data" / f".alerts-index-{name}")
        topics = [
            TopicRow(n, 0, 0, words, topic_terms(library, words), 0.0) for n, words in enumerate(TOPICS)
        ]
        for match in match_articles(library, list(range(len(library.articles))), topics, threshold=1e-9):
            article = library.articles[match.article]
            pairs.append(
                {
                    "topic": match.topic.words,
                    "article_id": f"{name}/{article.id}",
                    "relevance": round(match.relevance, 4),
                    "band": band(match.relevance),
                    "headline": article.headline,
                    "passage": snippet(library.passages[match.passage].text, match.matched),
                }
            )
    return pairs


def sample_command(args: argparse.Namespace) -> int:
    """Draw up to `--per-band` pairs of each topic in each band, for labelling."""
    pairs = score_all(args.corpora)
    by_cell: dict[tuple[object, object], list[dict[str, object]]] = defaultdict(list)
    for pair in pairs:
        by_cell[pair["topic"], pair["band"]].append(pair)
    chooser = random.Random(args.seed)
    drawn = [p for cell in by_cell.values() for p in chooser.sample(cell, min(len(cell), args.per_band))]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as stream:
        for pair in sorted(drawn, key=lambda p: (str(p["topic"]), -float(p["relevance"]))):  # type: ignore[arg-type]
            stream.write(json.dumps(pair, ensure_ascii=False) + "\n")
    print(f"{len(pairs)} pairs with a topic word; {len(drawn)} drawn for labelling into {args.out}")
    return 0


def report_command(args: argparse.Namespace) -> int:
    """Estimated precision and volume of alerts at each threshold, from the labels."""
    pairs = {(p["topic"], p["article_id"]): p for p in score_all(args.corpora)}
    lines = args.labels.read_text(encoding="utf-8").splitlines()
    labels = [json.loads(line) for line in lines if line.strip()]
    population = Counter(int(p["band"]) for p in pairs.values())  # type: ignore[call-overload]
    judged: dict[int, list[bool]] = defaultdict(list)
    missing = 0
    for label in labels:
        pair = pairs.get((label["topic"], label["article_id"]))
        if pair is None:
            missing += 1
            continue
        judged[int(pair["band"])].append(bool(label["relevant"]))  # type: ignore[call-overload]
    if missing:
        print(f"{missing} labelled pairs are not in these corpora (another corpus build?)", file=sys.stderr)
    labelled_pairs = sum(len(votes) for votes in judged.values())
    print(f"{labelled_pairs} labelled pairs, {len(TOPICS)} topics, {len(pairs)} pairs in all")
    print(f"{'band':<12}{'pairs':>8}{'labelled':>10}{'relevant':>10}")
    for number, low in enumerate(BANDS[:-1]):
        votes = judged.get(number, [])
        share = f"{sum(votes) / len(votes):.2f}" if votes else "-"
        name = f"{low:.1f}-{min(BANDS[number + 1], 1.0):.1f}"
        print(f"{name:<12}{population[number]:>8}{len(votes):>10}{share:>10}")
    rates = {number: sum(votes) / len(votes) for number, votes in judged.items() if votes}
    relevant_in_all = sum(population[number] * rate for number, rate in rates.items())
    print(f"\n{'threshold':<12}{'alerts':>8}{'precision':>11}{'recall':>8}{'labelled':>10}")
    for threshold in THRESHOLDS:
        above = [p for p in pairs.values() if float(p["relevance"]) >= threshold]  # type: ignore[arg-type]
        relevant, labelled = 0.0, 0
        for number in {int(p["band"]) for p in above}:  # type: ignore[call-overload]
            votes = [
                bool(label["relevant"])
                for label in labels
                if (key := (label["topic"], label["article_id"])) in pairs
                and pairs[key]["band"] == number
                and float(pairs[key]["relevance"]) >= threshold  # type: ignore[arg-type]
            ]
            if votes:  # the band's pairs above the threshold, times the share judged relevant
                relevant += sum(p["band"] == number for p in above) * sum(votes) / len(votes)
                labelled += len(votes)
        precision = relevant / len(above) if above else float("nan")
        recall = relevant / relevant_in_all if relevant_in_all else float("nan")
        print(f"{threshold:<12}{len(above):>8}{precision:>11.2f}{recall:>8.2f}{labelled:>10}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(required=True)
    sample = commands.add_parser("sample", help="draw pairs to label")
    sample.add_argument("corpora", type=corpus_argument, nargs="+", metavar="NAME=FOLDER")
    sample.add_argument("--out", type=Path, default=ROOT / "data" / "alert-sample.jsonl")
    sample.add_argument("--per-band", type=int, default=2)
    sample.add_argument("--seed", type=int, default=14)
    sample.set_defaults(command=sample_command)
    report = commands.add_parser("report", help="precision at each threshold from the labels")
    report.add_argument("corpora", type=corpus_argument, nargs="+", metavar="NAME=FOLDER")
    report.add_argument("--labels", type=Path, default=ROOT / "bench" / "alert_labels.jsonl")
    report.set_defaults(command=report_command)
    args = parser.parse_args()
    return int(args.command(args))


if __name__ == "__main__":
    sys.exit(main())

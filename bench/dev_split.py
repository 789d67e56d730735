"""The dev split as the ranking scripts read it: its questions and the library of its corpus.

One place for the arguments and the loading that `learn_ranking.py`, `recall_depth.py`
and `expansion.py` share, so that all three measure the same questions over the same index.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from retrieval import Library, LibraryOptions  # noqa: E402
from retrieval.evaluation import Question, parse_questions  # noqa: E402


def add_arguments(parser: argparse.ArgumentParser, required: bool = True) -> None:
    """The questions file, `--corpus` and `--index-dir`; optional for a script that can do without."""
    parser.add_argument(
        "questions",
        type=Path,
        nargs=None if required else "?",
        help="JSON lines with gold_article_ids and question_date (the dev split)",
    )
    parser.add_argument("--corpus", type=Path, required=required)
    parser.add_argument("--index-dir", type=Path, default=Path(".newsbot-index"))


def load(args: argparse.Namespace) -> tuple[list[Question], Library]:
    """The questions with gold articles and a date, and the corpus's library with today's options."""
    lines = args.questions.read_text(encoding="utf-8")
    questions = [q for q in parse_questions(lines) if q.gold_article_ids and q.question_date]
    return questions, Library.load(args.corpus, LibraryOptions(), index_dir=args.index_dir)


def weeks(questions: list[Question]) -> dict[str, str]:
    """Each question's week, the first part of its id: the folds the weights are learned by."""
    return {q.qid: q.qid.split("_")[0] for q in questions}

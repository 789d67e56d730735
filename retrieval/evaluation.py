"""Answer-quality metrics: how often the right passage comes first.

Pure functions over questions and the ranked hits a search gave for them, so the same
numbers come out of `newsbot eval`, a notebook or a test.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from .dates import iso_day

__all__ = [
    "CUTOFFS",
    "Metrics",
    "Question",
    "Ranked",
    "Report",
    "evaluate",
    "first_per_article",
    "first_rank",
    "missing_gold",
    "parse_question",
    "parse_questions",
]

CUTOFFS = (1, 3, 5, 10)


@dataclass(frozen=True, slots=True)
class Question:
    """A question with what counts as a right answer."""

    qid: str
    question: str
    answers: tuple[str, ...]
    gold_article_ids: frozenset[str]
    question_date: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Ranked:
    """One ranked passage, as much of it as the metrics need."""

    article_id: str
    text: str


@dataclass(frozen=True, slots=True)
class Metrics:
    """Recall at each cutoff and MRR@10 over `count` questions."""

    count: int
    recall: dict[int, float] = field(default_factory=dict)
    mrr: float = 0.0


@dataclass(frozen=True, slots=True)
class Report:
    """Four views of the same rankings."""

    gold: Metrics
    """First passage from a gold article (questions with gold articles)."""
    gold_with_answer: Metrics
    """First passage from a gold article that contains an answer string."""
    answer: Metrics
    """First passage containing an answer string (all questions)."""
    gold_by_article: Metrics
    """First gold article among the ranking's distinct articles, as an answer numbers its
    headings: two passages of one article take one place, not two."""


def parse_question(line: str) -> Question:
    """One JSON line of a questions file; raise ValueError naming what is wrong.

    Labels are checked here rather than trusted: a gold id given as a bare string would
    otherwise be read as a set of characters and silently score nothing.
    """
    record = json.loads(line)
    if not isinstance(record, dict) or not isinstance(record.get("question"), str):
        raise ValueError("each line must be an object with a 'question' string")
    lists = {name: record.get(name) or [] for name in ("answers", "gold_article_ids")}
    for name, value in lists.items():
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ValueError(f"{name!r} must be a list of strings, got {value!r}")
    return Question(
        qid=str(record.get("qid", "")),
        question=record["question"],
        answers=tuple(lists["answers"]),
        gold_article_ids=frozenset(lists["gold_article_ids"]),
        question_date=_question_date(record.get("question_date")),
    )


def _question_date(value: object) -> dt.date | None:
    """A `question_date` written YYYY-MM-DD, or None when absent or null, and nothing else:
    `date.fromisoformat` also takes `20240330` and ISO weeks (`2024-W11`, asked as of that
    week's Monday), and `{}`, `0` or `false` would have been a question asked with no date."""
    if value is None:
        return None
    if isinstance(value, str) and (day := iso_day(value)) is not None:
        return day
    raise ValueError(f"'question_date' must be YYYY-MM-DD, got {value!r}")


def parse_questions(text: str) -> list[Question]:
    """Every question of a JSON-lines file; a bad line raises ValueError with its number."""
    questions = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                questions.append(parse_question(line))
            except ValueError as error:
                raise ValueError(f"line {number}: {error}") from None
    return questions


def missing_gold(questions: Iterable[Question], article_ids: Iterable[str]) -> list[tuple[str, str]]:
    """Each (qid, gold article id) that names no article of the corpus: a typo or an article
    left out of it, which can never be found and so counts as a miss without a word."""
    known = set(article_ids)
    return [(q.qid, gold) for q in questions for gold in sorted(q.gold_article_ids) if gold not in known]


def _contains_answer(question: Question, text: str) -> bool:
    lowered = text.lower()
    return any(answer.lower() in lowered for answer in question.answers if answer)


def first_rank(ranking: Sequence[Ranked], good: Callable[[Ranked], bool], depth: int = 10) -> int | None:
    """1-based rank of the first good passage within `depth`, or None."""
    return next((rank for rank, hit in enumerate(ranking[:depth], start=1) if good(hit)), None)


def _metrics(ranks: Iterable[int | None]) -> Metrics:
    found = list(ranks)
    if not found:
        return Metrics(0, {k: 0.0 for k in CUTOFFS}, 0.0)
    recall = {k: sum(1 for r in found if r is not None and r <= k) / len(found) for k in CUTOFFS}
    mrr = sum(1 / r for r in found if r is not None and r <= 10) / len(found)
    return Metrics(len(found), recall, mrr)


def evaluate(questions: Sequence[Question], rankings: Sequence[Sequence[Ranked]]) -> Report:
    """Score rankings (one per question, best first) against the questions' labels."""
    pairs = list(zip(questions, rankings, strict=True))
    labelled = [(q, r) for q, r in pairs if q.gold_article_ids]
    return Report(
        gold=_metrics(first_rank(r, _from_gold(q)) for q, r in labelled),
        gold_with_answer=_metrics(first_rank(r, _from_gold(q, with_answer=True)) for q, r in labelled),
        answer=_metrics(first_rank(r, _with_answer(q)) for q, r in pairs),
        gold_by_article=_metrics(first_rank(first_per_article(r), _from_gold(q)) for q, r in labelled),
    )


def first_per_article(ranking: Sequence[Ranked]) -> list[Ranked]:
    """Each article's first passage, in rank order: the ranking one heading per article shows."""
    seen: set[str] = set()
    firsts = []
    for hit in ranking:
        if hit.article_id not in seen:
            seen.add(hit.article_id)
            firsts.append(hit)
    return firsts


def _from_gold(question: Question, with_answer: bool = False) -> Callable[[Ranked], bool]:
    def good(hit: Ranked) -> bool:
        in_gold = hit.article_id in question.gold_article_ids
        return in_gold and (not with_answer or _contains_answer(question, hit.text))

    return good


def _with_answer(question: Question) -> Callable[[Ranked], bool]:
    def good(hit: Ranked) -> bool:
        return _contains_answer(question, hit.text)

    return good

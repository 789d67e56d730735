import json
from pathlib import Path

import pytest

from bot.cli import main
from retrieval.evaluation import Question, Ranked, evaluate, first_rank, parse_question
from tests.conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "eval"


def question(gold: set[str], answers: tuple[str, ...] = ("Odesa",)) -> Question:
    return Question("q", "Which harbour?", answers, frozenset(gold))


def ranking(*pairs: tuple[str, str]) -> list[Ranked]:
    return [Ranked(article, text) for article, text in pairs]


@pytest.mark.parametrize(
    ("ranked", "gold_rank", "gold_answer_rank", "answer_rank"),
    [
        ([("a", "Odesa reopened")], 1, 1, 1),  # right at once
        ([("x", "nothing"), ("a", "nothing"), ("y", "in odesa")], 2, None, 3),  # answers match case-blind
        ([("y", "ODESA")] + [("x", "-")] * 10 + [("a", "Odesa")], None, None, 1),  # gold at rank 12: missed
        ([], None, None, None),  # no hits at all
    ],
)
def test_first_ranks(
    ranked: list[tuple[str, str]],
    gold_rank: int | None,
    gold_answer_rank: int | None,
    answer_rank: int | None,
) -> None:
    q = question({"a"})
    hits = ranking(*ranked)
    assert first_rank(hits, lambda h: h.article_id in q.gold_article_ids) == gold_rank
    report = evaluate([q], [hits])
    expected_mrr = 1 / gold_rank if gold_rank else 0.0
    assert report.gold.mrr == pytest.approx(expected_mrr)
    assert report.gold.recall[10] == (1.0 if gold_rank else 0.0)
    assert report.gold_with_answer.recall[10] == (1.0 if gold_answer_rank else 0.0)
    assert report.answer.recall[1] == (1.0 if answer_rank == 1 else 0.0)


def test_questions_without_gold_count_only_for_answers() -> None:
    report = evaluate(
        [question({"a"}), question(set())],
        [ranking(("b", "x"), ("a", "Odesa")), ranking(("c", "Odesa"))],
    )
    assert (report.gold.count, report.answer.count) == (1, 2)
    assert report.gold.recall == {1: 0.0, 3: 1.0, 5: 1.0, 10: 1.0}
    assert report.gold.mrr == 0.5
    assert report.answer.recall[1] == 0.5


def test_parse_question_reads_the_file_format() -> None:
    line = json.dumps(
        {
            "qid": 7,
            "question": "Q?",
            "answers": ["A"],
            "gold_article_ids": ["x"],
            "question_date": "2024-01-02",
        }
    )
    parsed = parse_question(line)
    assert (parsed.qid, parsed.answers, parsed.gold_article_ids, str(parsed.question_date)) == (
        "7",
        ("A",),
        frozenset({"x"}),
        "2024-01-02",
    )
    with pytest.raises(ValueError, match="'question' string"):
        parse_question('{"qid": 1}')


def test_eval_command_prints_the_table_and_writes_hits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hits_out = tmp_path / "hits.jsonl"
    code = main(
        [
            "eval",
            str(FIXTURES / "questions.jsonl"),
            "--corpus",
            str(FIXTURES / "corpus"),
            "--hits-out",
            str(hits_out),
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert out.startswith("8 questions, 7 with gold articles")
    assert "gold article (7)                 0.857   1.000   1.000   1.000   0.929" in out
    records = [json.loads(line) for line in hits_out.read_text().splitlines()]
    assert [r["qid"] for r in records][:2] == ["q1", "q2"]
    first = records[0]["hits"][0]
    assert (first["article_id"], first["position"], first["date"]) == ("harbour-2024", 0, "2024-03-10")
    assert "reopened" in first["text"] and first["score"] > 0


def test_eval_as_of_question_date_hides_later_articles(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["eval", str(FIXTURES / "questions.jsonl"), "--corpus", str(FIXTURES / "corpus")]
    assert main([*args, "--as-of", "question_date"]) == 0
    assert "gold article (7)                 1.000" in capsys.readouterr().out


def test_eval_with_a_broken_questions_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "q.jsonl"
    broken.write_text("{not json\n")
    assert main(["eval", str(broken), "--corpus", str(FIXTURES / "corpus")]) == 2
    assert "cannot read questions" in capsys.readouterr().err

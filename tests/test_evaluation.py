import argparse
import json
from pathlib import Path
from typing import Any

import pytest

from bench import dev_split, recall_depth
from bench.realtimeqa import build
from bot.cli import main
from retrieval.evaluation import (
    Question,
    Ranked,
    evaluate,
    first_per_article,
    first_rank,
    parse_question,
    parse_questions,
)
from tests.conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "eval"
EVAL = ["eval", str(FIXTURES / "questions.jsonl"), "--corpus", str(FIXTURES / "corpus")]


def question(gold: set[str], answers: tuple[str, ...] = ("Odesa",)) -> Question:
    return Question("q", "Which harbour?", answers, frozenset(gold))


def ranking(*pairs: tuple[str, str]) -> list[Ranked]:
    return [Ranked(article, text) for article, text in pairs]


FILLER = [("x", "-")]


@pytest.mark.parametrize(
    ("ranked", "gold_rank", "gold_answer_rank", "answer_rank"),
    [
        # right at once
        ([("a", "Odesa reopened")], 1, 1, 1),
        # the gold passage lacks the answer; another article's passage has it, in lower case
        ([("x", "nothing"), ("a", "nothing"), ("y", "in odesa")], 2, None, 3),
        # a later passage of the gold article holds the answer, in upper case
        ([("a", "the port"), ("x", "-"), ("a", "ODESA port")], 1, 3, 3),
        # rank 10 is the last that counts
        (FILLER * 9 + [("a", "Odesa")], 10, 10, 10),
        # rank 11 is a miss, for recall and for MRR@10
        (FILLER * 10 + [("a", "Odesa")], None, None, None),
        # no hits at all
        ([], None, None, None),
    ],
)
def test_first_ranks_and_the_metrics_they_give(
    ranked: list[tuple[str, str]],
    gold_rank: int | None,
    gold_answer_rank: int | None,
    answer_rank: int | None,
) -> None:
    q = question({"a"})
    hits = ranking(*ranked)
    assert first_rank(hits, lambda h: h.article_id in q.gold_article_ids) == gold_rank
    report = evaluate([q], [hits])
    for metrics, rank in (
        (report.gold, gold_rank),
        (report.gold_with_answer, gold_answer_rank),
        (report.answer, answer_rank),
    ):
        assert metrics.count == 1
        assert metrics.recall == {k: float(rank is not None and rank <= k) for k in (1, 3, 5, 10)}
        assert metrics.mrr == pytest.approx(1 / rank if rank else 0.0)


@pytest.mark.parametrize(
    ("ranked", "passage_rank", "article_rank"),
    [
        # two passages of each of three articles: the gold article's passage is fifth,
        # its heading third
        ([("x", "-"), ("x", "-"), ("y", "-"), ("y", "-"), ("a", "-")], 5, 3),
        # gold sixth by passage, out of R@5, but fourth by article: in
        ([("x", "-"), ("x", "-"), ("y", "-"), ("y", "-"), ("z", "-"), ("a", "-")], 6, 4),
        # one passage an article: both counts agree
        ([("x", "-"), ("y", "-"), ("a", "-")], 3, 3),
        # an article's second passage does not open a heading of its own
        ([("x", "-"), ("y", "-"), ("x", "-"), ("z", "-"), ("v", "-"), ("w", "-"), ("a", "-")], 7, 6),
        # not found at all
        ([("x", "-"), ("x", "-")], None, None),
    ],
)
def test_recall_by_article_counts_an_articles_passages_once(
    ranked: list[tuple[str, str]], passage_rank: int | None, article_rank: int | None
) -> None:
    report = evaluate([question({"a"})], [ranking(*ranked)])
    for metrics, rank in ((report.gold, passage_rank), (report.gold_by_article, article_rank)):
        assert metrics.recall == {k: float(rank is not None and rank <= k) for k in (1, 3, 5, 10)}
        assert metrics.mrr == pytest.approx(1 / rank if rank else 0.0)


def test_first_per_article_keeps_each_articles_first_passage_in_rank_order() -> None:
    ranked = ranking(("x", "x1"), ("y", "y1"), ("x", "x2"), ("z", "z1"), ("y", "y2"))
    assert [(hit.article_id, hit.text) for hit in first_per_article(ranked)] == [
        ("x", "x1"),
        ("y", "y1"),
        ("z", "z1"),
    ]


def test_recall_by_article_counts_only_questions_with_gold() -> None:
    report = evaluate(
        [question({"a"}), question(set())], [ranking(("b", "-"), ("a", "-")), ranking(("c", "-"))]
    )
    assert (report.gold_by_article.count, report.gold_by_article.recall[1], report.gold_by_article.mrr) == (
        1,
        0.0,
        0.5,
    )


@pytest.mark.parametrize(
    ("answers", "text", "found"),
    [
        (("Keir Starmer",), "keir starmer became prime minister", True),  # case-blind
        (("Odesa",), "the Odesan coast", True),  # a substring counts: labels are plain strings
        (("", "Izmail"), "any text at all", False),  # an empty answer matches nothing
        ((), "Odesa", False),  # no answers: never found
    ],
)
def test_answer_strings_match_as_case_blind_substrings(
    answers: tuple[str, ...], text: str, found: bool
) -> None:
    report = evaluate([question(set(), answers)], [ranking(("x", text))])
    assert report.answer.recall[1] == float(found)


def test_questions_without_gold_count_only_for_answers() -> None:
    report = evaluate(
        [question({"a"}), question(set())],
        [ranking(("b", "x"), ("a", "Odesa")), ranking(("c", "Odesa"))],
    )
    assert (report.gold.count, report.gold_with_answer.count, report.answer.count) == (1, 1, 2)
    assert report.gold.recall == {1: 0.0, 3: 1.0, 5: 1.0, 10: 1.0}
    assert report.gold.mrr == 0.5
    assert report.answer.recall[1] == 0.5


def test_no_question_with_gold_gives_zeros_not_a_division_error() -> None:
    report = evaluate([question(set())], [ranking(("c", "Odesa"))])
    assert (report.gold.count, report.gold.recall[10], report.gold.mrr) == (0, 0.0, 0.0)
    assert report.answer.recall[1] == 1.0


def test_evaluate_needs_one_ranking_per_question() -> None:
    with pytest.raises(ValueError):
        evaluate([question({"a"})], [])


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
    bare = parse_question('{"qid": "q", "question": "Q?"}')  # answers, gold and date are optional
    assert (bare.answers, bare.gold_article_ids, bare.question_date) == ((), frozenset(), None)
    assert parse_question('{"question": "Q?", "question_date": null}').question_date is None


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"qid": 1}', "'question' string"),
        ("[1, 2]", "'question' string"),
        ('{"question": "Q?", "gold_article_ids": "harbour"}', "'gold_article_ids' must be a list"),
        ('{"question": "Q?", "answers": [1]}', "'answers' must be a list of strings"),
        ('{"question": "Q?", "question_date": "2024/01/02"}', "YYYY-MM-DD, got '2024/01/02'"),
        # what `date.fromisoformat` takes besides: each was asked as of another day than written
        ('{"question": "Q?", "question_date": "2024-W11"}', "YYYY-MM-DD, got '2024-W11'"),  # its Monday
        ('{"question": "Q?", "question_date": "2024-W11-6"}', "YYYY-MM-DD, got '2024-W11-6'"),
        ('{"question": "Q?", "question_date": "20240330"}', "YYYY-MM-DD, got '20240330'"),
        ('{"question": "Q?", "question_date": "2024-02-30"}', "YYYY-MM-DD, got '2024-02-30'"),  # no such day
        # falsy values that are no date were taken for "asked with no date"
        ('{"question": "Q?", "question_date": ""}', "YYYY-MM-DD, got ''"),
        ('{"question": "Q?", "question_date": {}}', "YYYY-MM-DD, got {}"),
        ('{"question": "Q?", "question_date": 0}', "YYYY-MM-DD, got 0"),
        ('{"question": "Q?", "question_date": false}', "YYYY-MM-DD, got False"),
        ('{"question": "Q?", "question_date": 20240330}', "YYYY-MM-DD, got 20240330"),
        ("{not json", "Expecting property name"),
    ],
)
def test_parse_questions_names_the_bad_line_and_field(line: str, message: str) -> None:
    good = '{"question": "Q?"}'
    with pytest.raises(ValueError, match="line 3: ") as raised:
        parse_questions(f"{good}\n\n{line}\n")
    assert message in str(raised.value)


def table(*rows: str, later: int) -> str:
    header = "                                   R@1     R@3     R@5    R@10  MRR@10"
    footer = f"sources dated after their question: {later}"
    return "\n".join(["9 questions, 8 with gold articles", header, *rows, footer]) + "\n"


def test_eval_command_prints_the_table_and_writes_hits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hits_out = tmp_path / "hits.jsonl"
    assert main([*EVAL, "--hits-out", str(hits_out)]) == 0
    assert capsys.readouterr().out == table(
        "gold article (8)                 0.875   1.000   1.000   1.000   0.938",
        "gold article with answer (8)     0.750   1.000   1.000   1.000   0.875",
        "any passage with answer (9)      0.667   0.889   0.889   0.889   0.778",
        "by article: gold (8)             0.875   1.000   1.000       -       -",
        later=6,  # asked at no date, the 2024 harbour article answers questions of 2023
    )
    records = [json.loads(line) for line in hits_out.read_text().splitlines()]
    assert [r["qid"] for r in records] == [f"q{n}" for n in range(1, 10)]
    first = records[0]["hits"][0]
    assert (first["article_id"], first["position"], first["date"]) == ("harbour-2024", 0, "2024-03-10")
    assert "reopened" in first["text"] and first["score"] > 0
    assert records[6]["hits"] == []  # q7 shares no word with the corpus
    ferry = [(hit["article_id"], hit["position"]) for hit in records[8]["hits"][:2]]
    assert ferry == [("ferry", 0), ("ferry", 1)]  # the answer is in the article's second passage
    assert "Maren Holt" in records[8]["hits"][1]["text"]


def test_eval_as_of_question_date_hides_later_articles(capsys: pytest.CaptureFixture[str]) -> None:
    # q6 and q8 are asked in 2023: the 2024 article about the same harbour no longer outranks
    assert main([*EVAL, "--as-of", "question_date"]) == 0
    assert capsys.readouterr().out == table(
        "gold article (8)                 1.000   1.000   1.000   1.000   1.000",
        "gold article with answer (8)     0.875   1.000   1.000   1.000   0.938",
        "any passage with answer (9)      0.778   0.889   0.889   0.889   0.833",
        "by article: gold (8)             1.000   1.000   1.000       -       -",
        later=0,
    )


def test_eval_reports_the_older_news_by_passage_and_by_article(capsys: pytest.CaptureFixture[str]) -> None:
    # q1 and q2 are asked two days after their gold article, the others one day after
    assert main([*EVAL, "--guard-days", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-4:] == [
        "gold older than 1 days (2)       1.000   1.000   1.000   1.000   1.000",
        "by article: gold (8)             0.875   1.000   1.000       -       -",
        "by article: older (2)            1.000   1.000   1.000       -       -",
        "sources dated after their question: 6",
    ]


def test_eval_per_article_cap_of_one_hides_the_answering_second_passage(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main([*EVAL, "--per-article", "1"]) == 0
    out = capsys.readouterr().out
    assert "gold article with answer (8)     0.750   0.875   0.875   0.875   0.812" in out


@pytest.mark.parametrize(
    ("cap", "by_article"),
    [
        # one passage an article: ten passages are ten articles, so every cell is shown
        ("1", "by article: gold (8)             0.875   1.000   1.000   1.000   0.938"),
        # three an article: ten passages hold three articles at least, so R@3 is the deepest
        ("3", "by article: gold (8)             0.875   1.000       -       -       -"),
        # no cap: ten passages may all be of one article, so only R@1 is measured
        ("0", "by article: gold (8)             0.875       -       -       -       -"),
    ],
)
def test_eval_shows_recall_by_article_only_as_deep_as_the_per_article_cap_allows(
    capsys: pytest.CaptureFixture[str], cap: str, by_article: str
) -> None:
    assert main([*EVAL, "--per-article", cap]) == 0
    assert by_article in capsys.readouterr().out.splitlines()


def test_eval_ranking_options_reach_the_library(capsys: pytest.CaptureFixture[str]) -> None:
    # paragraphs as passages, Okapi: the ferry question still finds its gold article first
    options = ["--min-chars", "0", "--max-chars", "1000", "--variant", "okapi", "--k1", "1.2", "--b", "0.5"]
    assert main([*EVAL, *options]) == 0
    assert "gold article (8)                 0.875   1.000" in capsys.readouterr().out


def test_eval_progress_goes_to_stderr_only(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*EVAL, "--progress"]) == 0  # a bar, although stderr is no terminal here
    captured = capsys.readouterr()
    assert "eval: 100%|" in captured.err and "9/9" in captured.err
    assert "\r" not in captured.out and "questions/s" not in captured.out


@pytest.mark.parametrize(
    ("content", "options", "message"),
    [
        ("{not json\n", [], "cannot read questions"),
        ('{"question": "Q?", "question_date": "May 3"}\n', [], "line 1: 'question_date' must be YYYY-MM-DD"),
        (
            '{"question": "Q?"}\n{"question": "Q?", "question_date": "2024-W11"}\n',
            ["--as-of", "question_date"],
            "line 2: 'question_date' must be YYYY-MM-DD, got '2024-W11'",
        ),
        ('{"question": "Q?", "question_date": false}\n', [], "line 1: 'question_date' must be YYYY-MM-DD"),
        ("\n", [], "holds no questions"),
        ('{"question": "Q?"}\n', ["--per-article", "-1"], "--per-article -1"),
        ('{"question": "Q?"}\n', ["--candidates", "0"], "--candidates 0: use a count of 1 or more"),
        ('{"question": "Q?"}\n', ["--min-chars", "900", "--max-chars", "100"], "min-chars <= max-chars"),
        ('{"question": "Q?"}\n', ["--k1", "-1"], "k1 >= 0"),
    ],
)
def test_eval_with_bad_input_exits_2_and_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, options: list[str], message: str
) -> None:
    questions = tmp_path / "q.jsonl"
    questions.write_text(content)
    assert main(["eval", str(questions), "--corpus", str(FIXTURES / "corpus"), *options]) == 2
    assert message in capsys.readouterr().err


# The RealTime QA builder, over a tiny invented snapshot in its layout.

BODY = "The council of Brindle voted on Tuesday to rebuild the old tram line along the river. " * 6


def result(
    url: str, text: str = BODY, date: str = "2023/01/04", title: str = "Brindle trams"
) -> dict[str, str]:
    return {"url": url, "title": title, "text": text, "publish_date": date, "authors": "[]"}


def week(
    snapshot: Path, name: str, questions: list[dict[str, Any]], results: dict[str, list[dict[str, str]]]
) -> None:
    folder = snapshot / "past" / name[:4]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}_qa.jsonl").write_text("".join(json.dumps(q) + "\n" for q in questions))
    lines = [{"question_id": qid, "search_time": "", "search_result": r} for qid, r in results.items()]
    (folder / f"{name}_gcs.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))


def quiz(qid: str, choices: list[str], answer: int, evidence: str = "") -> dict[str, Any]:
    return {
        "question_id": qid,
        "question_date": f"{qid[:4]}/{qid[4:6]}/{qid[6:8]}",
        "question_sentence": f"Question {qid}?",
        "choices": choices,
        "answer": [str(answer)],
        "evidence": evidence,
    }


def test_realtimeqa_builder_dedups_labels_and_splits_by_week(tmp_path: Path) -> None:
    snapshot, out = tmp_path / "snapshot", tmp_path / "out"
    tram = BODY + "The first tram will run in Brindle next spring."
    week(
        snapshot,
        "20221230",
        [quiz("20221230_0", ["Brindle", "Oslo"], 0)],
        {"20221230_0": [result("a.com/x")]},
    )
    week(
        snapshot,
        "20230106",
        [
            quiz("20230106_0", ["Brindle", "Carlow"], 0, '<a href="https://www.a.com/tram?ref=1">link</a>'),
            quiz("20230106_1", ["UK", "None of the above"], 1),  # nothing searchable: dropped
        ],
        {
            "20230106_0": [
                result("https://www.a.com/tram", tram),
                result("https://b.com/tram-copy", tram),  # same text: the same article
                result("https://c.com/short", "Brindle trams. " * 5),  # under 400 characters
                result("https://d.com/undated", BODY, date=""),
                result("https://e.com/other", "A different story about Carlow harbour. " * 12),
            ],
            "20230106_1": [result("https://e.com/other", "ignored: this URL is known")],
        },
    )
    week(
        snapshot,
        "20230113",
        [quiz("20230113_0", ["Carlow", "Brindle"], 0)],
        {
            "20230113_0": [
                result("https://e.com/other", "A new text at a known URL mentions Brindle only. " * 9)
            ]
        },
    )
    counts = build(snapshot, out, "20241231")
    assert counts["weeks"] == 2 and counts["articles"] == 2 and counts["questions"] == 2
    articles = sorted(p.name for p in (out / "corpus").iterdir())
    assert articles == ["rtqa-00000.txt", "rtqa-00001.txt"]
    first = (out / "corpus" / "rtqa-00000.txt").read_text()
    assert first.startswith(" date 2023-01-04 Brindle trams\n\nThe council of Brindle")
    questions = [json.loads(line) for line in (out / "questions.jsonl").read_text().splitlines()]
    assert [q["qid"] for q in questions] == ["20230106_0", "20230113_0"]  # 2022 is never read
    tram_question, carlow_question = questions
    assert tram_question["gold_article_ids"] == ["rtqa-00000"]
    assert tram_question["strong_gold_article_ids"] == ["rtqa-00000"]  # linked from the evidence
    assert tram_question["question_date"] == "2023-01-06"
    # the URL is known, so the question's gold is decided on the stored text, which says Carlow
    assert carlow_question["gold_article_ids"] == ["rtqa-00001"]
    assert carlow_question["strong_gold_article_ids"] == []
    dev = (out / "dev.jsonl").read_text().splitlines()
    test = (out / "test.jsonl").read_text().splitlines()
    assert (len(dev), len(test)) == (1, 1)  # the first 70% of two weeks is one week


def test_the_depth_table_of_a_small_set_counts_questions_and_dashes_an_empty_group(tmp_path: Path) -> None:
    """`bench/recall_depth.py` over the fixture: eight questions, every gold article found,
    none about older news (that row prints dashes rather than dividing by zero)."""
    args = argparse.Namespace(
        questions=FIXTURES / "questions.jsonl", corpus=FIXTURES / "corpus", index_dir=tmp_path / "index"
    )
    questions, library = dev_split.load(args)
    table = recall_depth.tables(recall_depth.measure(library, questions))
    dated = next(line for line in table.splitlines() if line.startswith("| asked at their date"))
    assert dated.startswith("| asked at their date (8) | 8 (1.000) |")
    older = next(line for line in table.splitlines() if line.startswith("| older news"))
    assert older.endswith("| - | - |")


def test_eval_names_gold_article_ids_the_corpus_does_not_hold(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a typo in a gold id scored 0 for its question without a word
    lines = (FIXTURES / "questions.jsonl").read_text().splitlines()
    typo = lines[1].replace('"chess"', '"chess-olympiad"')
    other = lines[2].replace('["election"]', '["election", "elections"]')
    questions = tmp_path / "questions.jsonl"
    questions.write_text("\n".join([lines[0], typo, other, *lines[3:]]) + "\n")
    assert main(["eval", str(questions), "--corpus", str(FIXTURES / "corpus")]) == 0
    shown = capsys.readouterr()
    assert said(shown.err) == [
        "newsbot: 2 gold article ids name no article of the corpus, and their questions count as "
        "misses (the first: qid 'q2', 'chess-olympiad')"
    ]
    assert "gold article (8)                 0.750" in shown.out  # q2's gold is not found
    assert main(EVAL) == 0
    assert said(capsys.readouterr().err) == []


def said(err: str) -> list[str]:
    """The lines the command says to its user, less the progress log."""
    return [line for line in err.splitlines() if line.startswith("newsbot:")]

"""Build an evaluation set from a RealTime QA snapshot: a corpus folder and questions.

    git --git-dir=SNAPSHOT.git archive HEAD past/2023 past/2024 | tar -x -C data/rtqa-snapshot
    python bench/realtimeqa.py data/rtqa-snapshot data/rtqa

RealTime QA (github.com/realtimeqa/realtimeqa_public) publishes weekly news-quiz questions
with answers and evidence links, and for each question the top ten web search results with
full text and publication date. From the weeks of 2023-01-01 on (2022 is kept aside as an
independent check and never read here) this writes:

- `OUT/corpus/rtqa-NNNNN.txt`: every search result once (same URL or same text is one
  article), in the house format; results without a date or under 400 characters dropped;
- `OUT/questions.jsonl`, `OUT/dev.jsonl`, `OUT/test.jsonl`: one question an object
  (`qid`, `question`, `answers`, `gold_article_ids`, `strong_gold_article_ids`,
  `question_date`). Gold articles are the question's own search results whose text contains
  the correct choice (choices of three characters or fewer and "all/none of the above" are
  skipped); strong gold ones also have a URL linked from the question's evidence. Dev is the
  first 70% of the weeks, test the last 30%: tune on dev only.

The texts belong to their publishers: OUT stays out of git (`data/` is ignored).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

FIRST_WEEK = "20230101"
MIN_CHARS = 400
DEV_SHARE = 0.7
_HREF = re.compile(r'href="([^"]+)"')
_SKIP_ANSWER = re.compile(r"^(all|none|both|neither) of (the|these) (above|answers|options)\b", re.IGNORECASE)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def weeks(snapshot: Path, until: str) -> list[tuple[str, Path, Path]]:
    """(week, questions file, search results file) for each week in range, in order."""
    found = []
    for questions in sorted(snapshot.glob("past/*/*_qa.jsonl")):
        week = questions.name.split("_")[0]
        results = questions.with_name(f"{week}_gcs.jsonl")
        if FIRST_WEEK <= week <= until and results.exists():
            found.append((week, questions, results))
    return found


def normalise_url(url: str) -> str:
    return re.sub(r"^https?://(www\.|edition\.)?", "", url.strip()).split("#")[0].split("?")[0].rstrip("/")


def paragraphs(text: str) -> list[str]:
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n|\n", text) if p.strip()]


def article_text(date: str, title: str, text: str) -> str:
    return f" date {date} {' '.join(title.split())}\n\n" + "\n\n".join(paragraphs(text)) + "\n"


def build(snapshot: Path, out: Path, until: str) -> dict[str, int]:
    corpus = out / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    by_url: dict[str, str] = {}
    by_text: dict[str, str] = {}
    questions: list[dict[str, Any]] = []
    chosen = weeks(snapshot, until)
    for number, (week, questions_file, results_file) in enumerate(chosen):
        results = {r["question_id"]: r["search_result"] for r in read_jsonl(results_file)}
        for record in read_jsonl(questions_file):
            ids, urls = [], []
            for result in results.get(record["question_id"], []):
                article_id = _add_article(result, corpus, by_url, by_text)
                if article_id:
                    ids.append((article_id, result.get("text") or ""))
                    urls.append(normalise_url(result.get("url") or ""))
            answers = [record["choices"][int(i)] for i in record["answer"] if int(i) < len(record["choices"])]
            usable = [a for a in answers if len(a.strip()) > 3 and not _SKIP_ANSWER.match(a.strip())]
            evidence = {normalise_url(u) for u in _HREF.findall(record.get("evidence") or "")}
            gold = [i for i, text in ids if any(a.lower() in text.lower() for a in usable)]
            strong = [i for (i, _), url in zip(ids, urls, strict=True) if i in gold and url in evidence]
            questions.append(
                {
                    "qid": record["question_id"],
                    "question": record["question_sentence"],
                    "answers": usable,
                    "gold_article_ids": sorted(set(gold)),
                    "strong_gold_article_ids": sorted(set(strong)),
                    "question_date": record["question_date"].replace("/", "-"),
                    "week": week,
                    "split": "dev" if number < round(len(chosen) * DEV_SHARE) else "test",
                }
            )
    usable_questions = [q for q in questions if q["answers"]]
    for name, subset in (
        ("questions", usable_questions),
        ("dev", [q for q in usable_questions if q["split"] == "dev"]),
        ("test", [q for q in usable_questions if q["split"] == "test"]),
    ):
        lines = "".join(json.dumps(q, ensure_ascii=False) + "\n" for q in subset)
        (out / f"{name}.jsonl").write_text(lines, encoding="utf-8")
    with_gold = [q for q in usable_questions if q["gold_article_ids"]]
    return {
        "weeks": len(chosen),
        "articles": len(set(by_url.values()) | set(by_text.values())),
        "questions": len(usable_questions),
        "with gold": len(with_gold),
        "with strong gold": sum(1 for q in with_gold if q["strong_gold_article_ids"]),
        "dev with gold": sum(1 for q in with_gold if q["split"] == "dev"),
        "test with gold": sum(1 for q in with_gold if q["split"] == "test"),
    }


def _add_article(
    result: dict[str, Any], corpus: Path, by_url: dict[str, str], by_text: dict[str, str]
) -> str | None:
    """Write a search result once; return its article id, or None if it is dropped."""
    text = (result.get("text") or "").strip()
    date = (result.get("publish_date") or "").replace("/", "-")[:10]
    url = normalise_url(result.get("url") or "")
    if url and url in by_url:
        return by_url[url]
    key = " ".join(text.split())[:2000]
    if key in by_text:
        return by_text[key]
    if (
        len(text) < MIN_CHARS
        or not re.fullmatch(r"\d{4}-\d\d-\d\d", date)
        or not (result.get("title") or "").strip()
    ):
        return None
    article_id = f"rtqa-{len(set(by_url.values()) | set(by_text.values())):05d}"
    (corpus / f"{article_id}.txt").write_text(article_text(date, result["title"], text), encoding="utf-8")
    if url:
        by_url[url] = article_id
    by_text[key] = article_id
    return article_id


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("snapshot", type=Path, help="a RealTime QA checkout (with past/2023, past/2024)")
    parser.add_argument("out", type=Path, help="output folder (keep it under the ignored data/)")
    parser.add_argument(
        "--until", default="20241231", help="last week to include, YYYYMMDD (default 20241231)"
    )
    args = parser.parse_args()
    if not (args.snapshot / "past").is_dir():
        sys.exit(f"{args.snapshot} has no past/ folder: is it a RealTime QA snapshot?")
    for name, count in build(args.snapshot, args.out, args.until).items():
        print(f"{name:<18}{count:>7,}")


if __name__ == "__main__":
    main()

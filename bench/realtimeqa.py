"""Build an evaluation set from a RealTime QA snapshot: a corpus folder and questions.

    mkdir -p data/rtqa-snapshot
    git --git-dir=SNAPSHOT.git archive HEAD past/2023 past/2024 | tar -x -C data/rtqa-snapshot
    python bench/realtimeqa.py data/rtqa-snapshot data/rtqa

RealTime QA (github.com/realtimeqa/realtimeqa_public) publishes weekly news-quiz questions
with answers and evidence links, and for each question the top ten web search results with
full text and publication date. From the weeks of 2023-01-01 on (2022 is kept aside as an
independent check and never read here) this writes:

- `OUT/corpus/rtqa-NNNNN.txt`: every search result once (same URL or same text is one
  article), in the house format; results without a date, a title or 400 characters of text
  are dropped;
- `OUT/questions.jsonl`, `OUT/dev.jsonl`, `OUT/test.jsonl`: one question an object
  (`qid`, `question`, `answers`, `gold_article_ids`, `strong_gold_article_ids`,
  `question_date`, `week`, `split`). Gold articles are the question's own search results
  whose stored text contains a correct choice (choices of three characters or fewer and
  "all/none of the above" are skipped: they match by accident); strong gold ones also have
  a URL linked from the question's evidence. A question left with no usable answer is
  dropped. Dev is the first 70% of the weeks, test the last 30%: tune on dev only.

The texts belong to their publishers: OUT stays out of git (`data/` is ignored).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FIRST_WEEK = "20230101"
MIN_CHARS = 400
DEV_SHARE = 0.7
_HREF = re.compile(r'href="([^"]+)"')
_DATE = re.compile(r"\d{4}-\d\d-\d\d")
_SKIP_ANSWER = re.compile(r"^(all|none|both|neither) of (the|these) (above|answers|options)\b", re.IGNORECASE)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """All objects of a JSON-lines file (the snapshot's files are a few MB each)."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def weeks(snapshot: Path, first: str, last: str) -> list[tuple[str, Path, Path]]:
    """(week, questions file, search results file) for each week in range, in order.

    A week's name is the date of its files (`20230106_qa.jsonl`); a week without search
    results has no corpus to answer from and is left out.
    """
    found = []
    for questions in sorted(snapshot.glob("past/*/*_qa.jsonl")):
        week = questions.name.split("_")[0]
        results = questions.with_name(f"{week}_gcs.jsonl")
        if first <= week <= last and results.exists():
            found.append((week, questions, results))
    return found


def normalise_url(url: str) -> str:
    """The URL without scheme, `www.`, query or fragment, so that one page has one key."""
    return re.sub(r"^https?://(www\.|edition\.)?", "", url.strip()).split("#")[0].split("?")[0].rstrip("/")


def paragraphs(text: str) -> list[str]:
    """Non-empty lines with their whitespace collapsed: the scraped texts use one newline a paragraph."""
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n|\n", text) if p.strip()]


def article_text(date: str, title: str, text: str) -> str:
    """A search result in the house `.txt` format."""
    return f" date {date} {' '.join(title.split())}\n\n" + "\n\n".join(paragraphs(text)) + "\n"


def usable_answers(record: dict[str, Any]) -> list[str]:
    """The correct choices that can be looked for in a text.

    "UK" or "Tom" occur inside other words and "none of the above" occurs nowhere, so a
    passage containing them says nothing about whether it answers the question.
    """
    choices = record["choices"]
    answers = [choices[int(i)] for i in record["answer"] if int(i) < len(choices)]
    return [a for a in answers if len(a.strip()) > 3 and not _SKIP_ANSWER.match(a.strip())]


@dataclass
class Corpus:
    """The articles written so far, keyed so that a page met again is the same article."""

    folder: Path
    by_url: dict[str, str] = field(default_factory=dict)
    by_text: dict[str, str] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    """Each article's body as written: gold labels are decided on it, not on a duplicate."""

    def add(self, result: dict[str, Any]) -> str | None:
        """Write a search result once; return its article id, or None if it is dropped."""
        text = (result.get("text") or "").strip()
        date = (result.get("publish_date") or "").replace("/", "-")[:10]
        title = (result.get("title") or "").strip()
        url = normalise_url(result.get("url") or "")
        if url and url in self.by_url:
            return self.by_url[url]
        key = " ".join(text.split())[:2000]
        if key in self.by_text:
            return self.by_text[key]
        if len(text) < MIN_CHARS or not _DATE.fullmatch(date) or not title:
            return None
        article_id = f"rtqa-{len(self.texts):05d}"
        (self.folder / f"{article_id}.txt").write_text(article_text(date, title, text), encoding="utf-8")
        if url:
            self.by_url[url] = article_id
        self.by_text[key] = article_id
        self.texts[article_id] = text.lower()
        return article_id


def build(snapshot: Path, out: Path, last_week: str) -> dict[str, int]:
    """Write the corpus and the question files; return the counts worth reporting."""
    corpus = Corpus(out / "corpus")
    corpus.folder.mkdir(parents=True, exist_ok=True)
    for stale in corpus.folder.glob("rtqa-*.txt"):  # a rebuild must not keep old articles
        stale.unlink()
    chosen = weeks(snapshot, FIRST_WEEK, last_week)
    dev_weeks = round(len(chosen) * DEV_SHARE)
    questions: list[dict[str, Any]] = []
    for number, (week, questions_file, results_file) in enumerate(chosen):
        results = {r["question_id"]: r["search_result"] for r in read_jsonl(results_file)}
        for record in read_jsonl(questions_file):
            answers = usable_answers(record)
            evidence = {normalise_url(u) for u in _HREF.findall(record.get("evidence") or "")}
            gold: list[str] = []
            strong: list[str] = []
            for result in results.get(record["question_id"], []):
                article_id = corpus.add(result)
                if article_id is None or not any(a.lower() in corpus.texts[article_id] for a in answers):
                    continue
                gold.append(article_id)
                if normalise_url(result.get("url") or "") in evidence:
                    strong.append(article_id)
            if not answers:
                continue
            questions.append(
                {
                    "qid": record["question_id"],
                    "question": record["question_sentence"],
                    "answers": answers,
                    "gold_article_ids": sorted(set(gold)),
                    "strong_gold_article_ids": sorted(set(strong)),
                    "question_date": record["question_date"].replace("/", "-"),
                    "week": week,
                    "split": "dev" if number < dev_weeks else "test",
                }
            )
    for name, subset in (
        ("questions", questions),
        ("dev", [q for q in questions if q["split"] == "dev"]),
        ("test", [q for q in questions if q["split"] == "test"]),
    ):
        lines = "".join(json.dumps(q, ensure_ascii=False) + "\n" for q in subset)
        (out / f"{name}.jsonl").write_text(lines, encoding="utf-8")
    with_gold = [q for q in questions if q["gold_article_ids"]]
    return {
        "weeks": len(chosen),
        "dev weeks": dev_weeks,
        "articles": len(corpus.texts),
        "questions": len(questions),
        "dev questions": sum(1 for q in questions if q["split"] == "dev"),
        "test questions": sum(1 for q in questions if q["split"] == "test"),
        "with gold": len(with_gold),
        "with strong gold": sum(1 for q in with_gold if q["strong_gold_article_ids"]),
        "dev with gold": sum(1 for q in with_gold if q["split"] == "dev"),
        "test with gold": sum(1 for q in with_gold if q["split"] == "test"),
    }


def main() -> None:
    """Build the set and print its counts."""
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
    if not re.fullmatch(r"\d{8}", args.until) or args.until < FIRST_WEEK:
        sys.exit(f"--until {args.until!r} must be a week YYYYMMDD from {FIRST_WEEK} on")
    for name, count in build(args.snapshot, args.out, args.until).items():
        print(f"{name:<18}{count:>7,}")


if __name__ == "__main__":
    main()

import json
from pathlib import Path

import pytest

from retrieval import CorpusError, load_corpus
from tests.conftest import SHIPPED_CORPUS, WriteCorpus, article

GOOD = article("2024-10-23", "Talks resumed", "Negotiators met in Istanbul on Monday.")


def test_seed_article_loads_with_caption_apart() -> None:
    articles, report = load_corpus(SHIPPED_CORPUS)
    assert report.problems == ()
    (seed,) = articles
    assert seed.id == "000_eba0014b280aac67"
    assert str(seed.date) == "2024-10-23"
    assert seed.headline.startswith("Ukraine's Minister of Defense Rustem Umerov")
    assert seed.caption == "Rustem Umerov (Photo: Andri Nesterenko/EPA)"
    assert all("(Photo:" not in paragraph for paragraph in seed.paragraphs)
    assert seed.paragraphs[0].startswith("Ukrainian Defense Minister Rustem Umerov revealed")
    assert len(seed.paragraphs) == 8


def test_one_good_file_loads_and_four_bad_ones_are_reported(write_corpus: WriteCorpus) -> None:
    root = write_corpus(
        {
            "good.txt": GOOD,
            "no-date.txt": "Talks resumed\n\nSome text.\n",
            "bad-date.txt": article("2024-13-45", "Impossible day", "Text."),
            "empty-body.txt": " date 2024-10-23 Headline only\n\n\n",
            "latin1.txt": " date 2024-10-23 Caf\xe9\n\nBody.\n".encode("latin-1"),
        }
    )
    articles, report = load_corpus(root)
    assert [a.id for a in articles] == ["good"]
    reasons = {problem.path: problem.reason for problem in report.problems}
    assert set(reasons) == {"no-date.txt", "bad-date.txt", "empty-body.txt", "latin1.txt"}
    assert "YYYY-MM-DD" in reasons["no-date.txt"]
    assert "not a real calendar date" in reasons["bad-date.txt"]
    assert "no body" in reasons["empty-body.txt"]
    assert "not UTF-8" in reasons["latin1.txt"]
    assert (report.files, report.articles) == (5, 1)


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("notes.docx", "whatever", "unknown extension '.docx'"),
        ("bin.txt", b" date 2024-01-01 x\n\n\x00\x01\x02", "binary"),
        ("far.txt", article("9999-99-99", "Far future", "Text."), "not a real calendar date"),
        ("nohead.txt", " date 2024-01-01\n\nBody.\n", "no headline"),
        ("plain.md", "# Title\n\nBody.\n", "no YAML front matter"),
        ("open.md", "---\ntitle: x\n", "not closed"),
        ("nodate.md", "---\ntitle: x\n---\nBody.\n", "no 'date'"),
        ("bomb.md", "---\na: &a [x, x]\nb: [*a, *a]\ntitle: t\ndate: 2024-01-01\n---\nBody.\n", "aliases"),
        ("list.md", "---\n- a\n- b\n---\nBody.\n", "not a mapping"),
    ],
)
def test_bad_file_reasons(write_corpus: WriteCorpus, name: str, content: str | bytes, reason: str) -> None:
    root = write_corpus({name: content, "good.txt": GOOD})
    articles, report = load_corpus(root)
    assert [a.id for a in articles] == ["good"]
    (problem,) = report.problems
    assert problem.path == name
    assert reason in problem.reason


def test_markdown_with_front_matter(write_corpus: WriteCorpus) -> None:
    md = (
        "---\ntitle: Grain deal extended\ndate: 2023-07-17\nurl: https://example.org/grain\n"
        "source: Example News\n---\n\n# Grain deal extended\n\nThe deal was extended.\n\nShips sailed.\n"
    )
    (loaded,), report = load_corpus(write_corpus({"world/grain.md": md}))
    assert report.problems == ()
    assert loaded.id == "world/grain"
    assert loaded.headline == "Grain deal extended"
    assert str(loaded.date) == "2023-07-17"
    assert (loaded.url, loaded.source) == ("https://example.org/grain", "Example News")
    assert loaded.paragraphs == ("Grain deal extended", "The deal was extended.", "Ships sailed.")


def test_jsonl_loads_good_lines_and_reports_broken_ones(write_corpus: WriteCorpus) -> None:
    lines = [
        json.dumps({"id": 1, "title": "First", "date": "2024-01-02", "text": "One.\n\nTwo.", "url": "u"}),
        "{broken json",
        json.dumps({"id": 2, "title": "No date", "text": "Body."}),
        json.dumps([1, 2]),
        json.dumps({"id": 3, "title": "Third", "date": "2024-01-03T10:00:00Z", "text": "Three."}),
    ]
    articles, report = load_corpus(write_corpus({"feed/export.jsonl": "\n".join(lines)}))
    assert [a.id for a in articles] == ["feed/export#1", "feed/export#3"]
    assert articles[0].paragraphs == ("One.", "Two.")
    assert articles[0].url == "u"
    assert [p.path for p in report.problems] == [
        "feed/export.jsonl:2",
        "feed/export.jsonl:3",
        "feed/export.jsonl:4",
    ]


def test_files_load_recursively_in_path_order_and_hidden_ones_are_skipped(write_corpus: WriteCorpus) -> None:
    root = write_corpus(
        {
            "b.txt": GOOD,
            "a/deeper/c.txt": GOOD,
            ".hidden.txt": "junk",
            ".newsbot-index/cache.txt": "junk",
        }
    )
    articles, report = load_corpus(root)
    assert [a.id for a in articles] == ["a/deeper/c", "b"]
    assert report.problems == ()


def test_crlf_and_bom_and_leading_blanks_are_accepted(write_corpus: WriteCorpus) -> None:
    text = "\ufeff   date 2024-02-03 Windows file\r\n\r\nFirst line\r\nsame paragraph.\r\n\r\nSecond.\r\n"
    (loaded,), _ = load_corpus(write_corpus({"w.txt": text}))
    assert loaded.headline == "Windows file"
    assert loaded.paragraphs == ("First line same paragraph.", "Second.")


def test_missing_folder_is_a_corpus_error(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="does not exist"):
        load_corpus(tmp_path / "gone")


def test_a_50_mb_single_line_file_is_reported_not_read(write_corpus: WriteCorpus) -> None:
    root = write_corpus({"good.txt": GOOD})
    with (root / "huge.txt").open("wb") as huge:
        huge.write(b" date 2024-01-01 Huge\n\n")
        huge.write(b"a" * (50 * 1024 * 1024))
    articles, report = load_corpus(root)
    assert [a.id for a in articles] == ["good"]
    (problem,) = report.problems
    assert problem.path == "huge.txt"
    assert "over the 20,971,520-byte limit" in problem.reason

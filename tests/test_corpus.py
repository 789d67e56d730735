import json
import os
import random
import re
from pathlib import Path

import pytest

from retrieval import CorpusError, load_corpus
from retrieval.corpus import MAX_FILE_BYTES, _paragraphs
from retrieval.folder import (
    CorpusFolder,
    NotRead,
    _open_beneath,
    _read_beneath,
    corpus_files,
    not_read,
    sorted_entries,
)
from retrieval.ids import crowded_files, plan_ids, stem
from tests.conftest import SHIPPED_CORPUS, WriteCorpus, article, finishes

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
        # full-width digits (typed with a Chinese or Japanese input method) are no date at
        # all, not an impossible one
        ("wide.txt", article("２０２４-１０-２３", "Wide", "Text."), "２０２４-１０-２３' is not YYYY-MM-DD"),
        ("nohead.txt", " date 2024-01-01\n\nBody.\n", "no headline"),
        ("plain.md", "# Title\n\nBody.\n", "no YAML front matter"),
        ("open.md", "---\ntitle: x\n", "not closed"),
        ("nodate.md", "---\ntitle: x\n---\nBody.\n", "no 'date'"),
        ("bomb.md", "---\na: &a [x, x]\nb: [*a, *a]\ntitle: t\ndate: 2024-01-01\n---\nBody.\n", "aliases"),
        ("list.md", "---\n- a\n- b\n---\nBody.\n", "not a mapping"),
        # an empty front matter is closed, and lacks its fields: not "not closed", nor "not a mapping"
        ("empty-front.md", "---\n---\nBody.\n", "has no 'date'"),
        ("blank-front.md", "---\n\n---\nBody.\n", "has no 'date'"),
        # PyYAML's own date conversion raises a bare ValueError on an impossible day
        ("leap.md", "---\ntitle: x\ndate: 2024-02-30\n---\nBody.\n", "'2024-02-30' is not a real calendar"),
        ("tagged.md", "---\ntitle: x\ndate: !!timestamp 2023-02-29\n---\nBody.\n", "not a real calendar"),
        ("garbled.md", "---\ntitle: x\ndate: !!timestamp soon\n---\nBody.\n", "'soon' is not YYYY-MM-DD"),
        # 3,000 levels of nesting exhaust the stack of a recursive YAML composer
        ("deep.md", "---\ntitle: x\nx: " + "[" * 3000 + "]" * 3000 + "\n---\nBody.\n", "nested over 20"),
        ("deep-block.md", "---\n" + "".join(" " * i + "k:\n" for i in range(100)) + "---\nB.\n", "nested"),
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
    assert [p.where for p in report.problems] == [
        "feed/export.jsonl:2",
        "feed/export.jsonl:3",
        "feed/export.jsonl:4",
    ]


def test_a_jsonl_of_broken_lines_lists_a_hundred_and_counts_the_rest(write_corpus: WriteCorpus) -> None:
    # Each broken line was a problem of its own: a 10 MB export of 5,000,000 such lines took
    # 4.3 GB to build, saved a manifest of 514 MB, and every start then read that back for
    # 31 s and 4.7 GB, for one file of a corpus (20 MB, the largest file read, twice that).
    good = json.dumps({"id": "last", "title": "Kept", "date": "2024-01-02", "text": "Still read."})
    _, report = load_corpus(write_corpus({"export.jsonl": "{broken\n" * 10_000 + good + "\n"}))
    assert report.articles == 1
    listed = [p.where for p in report.problems]
    assert listed == [f"export.jsonl:{line}" for line in range(1, 101)] + ["export.jsonl"]
    assert str(report.problems[-1]) == "export.jsonl: 9,900 more lines are not articles either"
    assert report.problems[-1].kind == "more_bad_lines"


def test_a_jsonl_of_one_id_repeated_lists_a_hundred_duplicates_and_counts_the_rest(
    write_corpus: WriteCorpus,
) -> None:
    # Each repeated id was a problem of its own: a 17 MB file of one short line repeated gave
    # 315,000 of them, 26 MB of saved manifest and as long a /reload reply and log.
    line = json.dumps({"id": "a", "title": "Grain", "date": "2024-01-02", "text": "Ships left."})
    beside = article("2024-01-01", "Same id", "A .txt file named as the export's first article.")
    articles, report = load_corpus(
        write_corpus({"export#a.txt": beside, "export.jsonl": (line + "\n") * 10_000})
    )
    assert sorted(a.id for a in articles) == ["export#a", "export#a.txt"]  # the file beside takes its name
    assert [p.where for p in report.problems] == ["export.jsonl"] * 101
    assert {p.kind for p in report.problems[:100]} == {"duplicate_id"}
    assert str(report.problems[-1]) == "export.jsonl: 9,899 more duplicate article ids"
    assert report.problems[-1].kind == "more_duplicate_ids"


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


def test_crlf_and_bom_are_accepted_in_markdown_and_jsonl_too(write_corpus: WriteCorpus) -> None:
    # as a Windows editor or CMS export saves them: the front matter's `---` and the first
    # JSON object must still be seen behind the byte order mark, and no field keep a \r
    md = "\ufeff---\r\ntitle: Windows notes\r\ndate: 2024-02-03\r\n---\r\nFirst.\r\n\r\nSecond.\r\n"
    lines = [
        json.dumps({"id": "a", "title": "Export one", "date": "2024-02-04", "text": "One.\r\n\r\nTwo."}),
        json.dumps({"id": "b", "title": "Export two", "date": "2024-02-05", "text": "Three."}),
    ]
    root = write_corpus({"w.md": md.encode(), "x.jsonl": ("\ufeff" + "\r\n".join(lines) + "\r\n").encode()})
    articles, report = load_corpus(root)
    assert report.problems == ()
    assert [(a.id, a.headline, str(a.date), a.paragraphs) for a in articles] == [
        ("w", "Windows notes", "2024-02-03", ("First.", "Second.")),
        ("x#a", "Export one", "2024-02-04", ("One.", "Two.")),
        ("x#b", "Export two", "2024-02-05", ("Three.",)),
    ]


def test_jsonl_exports_joined_into_one_file_load_behind_each_byte_order_mark(
    write_corpus: WriteCorpus,
) -> None:
    # `cat monday.jsonl tuesday.jsonl > week.jsonl` of two exports that each begin with one:
    # the second's first line was "not valid JSON: Unexpected UTF-8 BOM (decode using utf-8-sig)"
    one = json.dumps({"id": "a", "title": "Monday", "date": "2024-02-05", "text": "One."})
    two = json.dumps({"id": "b", "title": "Tuesday", "date": "2024-02-06", "text": "Two."})
    articles, report = load_corpus(write_corpus({"week.jsonl": f"\ufeff{one}\r\n\ufeff{two}\r\n".encode()}))
    assert report.problems == ()
    assert [a.id for a in articles] == ["week#a", "week#b"]


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


def test_a_file_of_20_mib_loads_and_one_byte_more_is_reported(write_corpus: WriteCorpus) -> None:
    root = write_corpus({})
    for name, extra in (("at.txt", 0), ("past.txt", 1)):  # padded with line ends, cheap to read
        text = GOOD.encode()
        (root / name).write_bytes(text + b"\n" * (MAX_FILE_BYTES - len(text) + extra))
    articles, report = load_corpus(root)
    assert [a.id for a in articles] == ["at"]
    (problem,) = report.problems
    assert problem.path == "past.txt"
    assert problem.reason == "is 20,971,521 bytes, over the 20,971,520-byte limit"


@pytest.mark.parametrize(
    "date",
    [
        "2024-01-02",
        "'2024-01-02'",
        "2024-01-02T10:00:00Z",
        "2024-01-02 10:00:00",
        "2024-01-02t10:00:00.5-05:00",
    ],
)
def test_markdown_dates_with_or_without_a_time_are_read_as_the_day(
    write_corpus: WriteCorpus, date: str
) -> None:
    (loaded,), report = load_corpus(write_corpus({"a.md": f"---\ntitle: T\ndate: {date}\n---\nBody.\n"}))
    assert report.problems == ()
    assert str(loaded.date) == "2024-01-02"


def test_front_matter_numbers_are_text_however_long(write_corpus: WriteCorpus) -> None:
    front = "title: 1984\ndate: 2024-01-01\nviews: " + "9" * 5000 + "\nwords: !!int 12"
    (loaded,), report = load_corpus(write_corpus({"a.md": f"---\n{front}\n---\nBody.\n"}))
    assert report.problems == ()
    assert loaded.headline == "1984"


@pytest.mark.parametrize("title", ["Yes", "No", "Off", "3.5", ".inf"])
def test_a_front_matter_title_yaml_reads_as_a_truth_or_a_number_is_its_text(
    write_corpus: WriteCorpus, title: str
) -> None:
    # read as True or 3.5, such a title was no title: "has no 'title'", and the article left out
    front = f"title: {title}\ndate: 2024-01-01\nsource: off"
    (loaded,), report = load_corpus(write_corpus({"a.md": f"---\n{front}\n---\nBody.\n"}))
    assert report.problems == ()
    assert (loaded.headline, loaded.source) == (title, "off")


@pytest.mark.parametrize("written", ["1984", "3.5", "true"])
def test_a_jsonl_title_written_as_a_number_or_a_truth_is_its_text_as_in_a_front_matter(
    write_corpus: WriteCorpus, written: str
) -> None:
    # "has no 'title'", and the article left out, while `title: 1984` in a front matter was kept
    line = f'{{"id": 1, "title": {written}, "date": "2024-01-01", "text": "Body.", "source": {written}}}'
    md = f"---\ntitle: {written}\ndate: 2024-01-01\nsource: {written}\n---\nBody.\n"
    articles, report = load_corpus(write_corpus({"feed.jsonl": line, "a.md": md}))
    assert report.problems == ()
    assert [(a.headline, a.source) for a in articles] == [(written, written)] * 2
    numbered = line.replace('"2024-01-01"', "20240101")
    (problem,) = load_corpus(write_corpus({"feed.jsonl": numbered}))[1].problems
    assert problem.reason == "date '20240101' is not YYYY-MM-DD"  # as `date: 20240101` in a front matter


def test_a_url_or_source_written_as_a_list_or_a_mapping_is_the_files_problem(
    write_corpus: WriteCorpus,
) -> None:
    # served as Python's spelling of it: the link line `['https://a.example/x', ...]`, the
    # outlet `{'name': 'Reuters', 'id': '7'}` under each headline, and no problem reported
    md = "---\ntitle: A\ndate: 2024-10-20\nurl: [https://a.example/x, https://b.example/y]\n---\nBody.\n"
    source = "---\ntitle: B\ndate: 2024-10-20\nsource: {name: Reuters, id: 7}\n---\nBody.\n"
    good = {"id": "2", "title": "J", "date": "2024-10-20", "text": "Body.", "url": "https://a.example/j"}
    lines = [json.dumps({**good, "id": "1", "url": ["https://a.example/x"]}), json.dumps(good)]
    articles, report = load_corpus(write_corpus({"a.md": md, "b.md": source, "c.jsonl": "\n".join(lines)}))
    assert [(a.id, a.url) for a in articles] == [("c#2", "https://a.example/j")]
    assert [(p.path, p.line, p.reason) for p in report.problems] == [
        ("a.md", None, "its 'url' is a list or a mapping, not text"),
        ("b.md", None, "its 'source' is a list or a mapping, not text"),
        ("c.jsonl", 1, "its 'url' is a list or a mapping, not text"),
    ]


def test_a_jsonl_line_with_a_5000_digit_number_is_that_lines_problem(write_corpus: WriteCorpus) -> None:
    good = {"id": 2, "title": "Fine", "date": "2024-01-02", "text": "Body."}
    lines = ['{"id": 1, "title": "Big", "date": "2024-01-01", "text": "x", "views": ' + "7" * 5000 + "}"]
    articles, report = load_corpus(write_corpus({"feed.jsonl": "\n".join([*lines, json.dumps(good)])}))
    assert [a.id for a in articles] == ["feed#2"]
    (problem,) = report.problems
    assert (problem.path, problem.line) == ("feed.jsonl", 1)
    assert problem.reason == "holds a 5,000-digit number; at most 100 digits are read"


@pytest.mark.parametrize(("digits", "loads"), [(100, True), (101, False)])
def test_jsonl_numbers_are_read_up_to_100_digits(write_corpus: WriteCorpus, digits: int, loads: bool) -> None:
    line = json.dumps({"id": 1, "title": "T", "date": "2024-01-01", "text": "Body."})[:-1] + ', "n": 1'
    articles, report = load_corpus(write_corpus({"feed.jsonl": line + "0" * (digits - 1) + "}"}))
    assert (len(articles), len(report.problems)) == ((1, 0) if loads else (0, 1))


@pytest.mark.parametrize(("levels", "loads"), [(20, True), (21, False)])
def test_front_matter_nests_up_to_20_levels(write_corpus: WriteCorpus, levels: int, loads: bool) -> None:
    nested = "[" * (levels - 1) + "]" * (levels - 1)  # inside the mapping of fields, itself a level
    md = f"---\ntitle: T\ndate: 2024-01-01\nx: {nested}\n---\nBody.\n"
    articles, report = load_corpus(write_corpus({"a.md": md}))
    assert (len(articles), len(report.problems)) == ((1, 0) if loads else (0, 1))


def test_escapes_that_spell_half_a_utf16_pair_refuse_the_article(write_corpus: WriteCorpus) -> None:
    good = {"id": 2, "title": "Fine", "date": "2024-01-02", "text": "Body."}
    lines = [
        '{"id": 1, "title": "T", "date": "2024-01-01", "text": "Body \\udcff."}',
        json.dumps(good),
        '{"id": 3, "title": "T", "date": "2024-01-01", "text": "Body.", "url": "https://x.org/\\udc80"}',
    ]
    md = '---\ntitle: "Caf\\ud800"\ndate: 2024-01-01\n---\nBody.\n'
    source = '---\ntitle: Fine\ndate: 2024-01-01\nsource: "Gazette \\udfff"\n---\nBody.\n'
    files = {"feed.jsonl": "\n".join(lines), "half.md": md, "source.md": source}
    articles, report = load_corpus(write_corpus(files))
    assert [a.id for a in articles] == ["feed#2"]
    assert [str(problem) for problem in report.problems] == [
        "feed.jsonl:1: holds \\udcff, half of a UTF-16 pair, which is not text",
        "feed.jsonl:3: holds \\udc80, half of a UTF-16 pair, which is not text",  # in the url
        "half.md: holds \\ud800, half of a UTF-16 pair, which is not text",
        "source.md: holds \\udfff, half of a UTF-16 pair, which is not text",  # in the outlet's name
    ]


def test_a_file_name_that_is_not_utf8_is_reported_with_its_bytes_escaped(write_corpus: WriteCorpus) -> None:
    root = write_corpus({"good.txt": GOOD})
    (root / os.fsdecode(b"caf\xe9.txt")).write_bytes(GOOD.encode())
    articles, report = load_corpus(root)
    assert [a.id for a in articles] == ["good"]
    (problem,) = report.problems
    assert problem.path == "caf\\xe9.txt"
    assert "name is not valid UTF-8" in problem.reason
    str(problem).encode("utf-8")  # printable and savable, unlike the name itself


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("a.txt\nERROR x: forged.txt", "a.txt\\nERROR x: forged.txt"),  # a line of its own in a log
        ("a\r.txt", "a\\r.txt"),  # a carriage return rewrites the line on a terminal
        ("a\x1b[2K.txt", "a\\u001b[2K.txt"),  # a terminal escape erases it
        ("a\u2028b\x85.txt", "a\\u2028b\\u0085.txt"),  # line breaks to str.splitlines too
        (
            "caf\u00e9 \u0442\u0435\u043a\u0441\u0442.txt",
            "caf\u00e9 \u0442\u0435\u043a\u0441\u0442.txt",
        ),  # letters and spaces stay
    ],
)
def test_a_file_name_with_control_characters_is_reported_on_one_line_escaped(
    write_corpus: WriteCorpus, name: str, shown: str
) -> None:
    root = write_corpus({"good.txt": GOOD})
    (root / name).write_text("not an article\n")
    (problem,) = load_corpus(root)[1].problems
    assert problem.path == shown
    assert str(problem).splitlines() == [str(problem)]


def test_pipes_devices_and_links_out_of_the_folder_are_reported_never_read(
    write_corpus: WriteCorpus, tmp_path: Path
) -> None:
    root = write_corpus({"good.txt": GOOD, "inside/real.txt": article("2024-01-05", "Linked", "Kept.")})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "secret.txt").write_text(article("2024-01-01", "Secret", "Not for the corpus."))
    os.mkfifo(root / "pipe.txt")
    os.mkfifo(root / "inside" / ".pipe")
    (root / "zero.txt").symlink_to("/dev/zero")
    (root / "secret.txt").symlink_to(elsewhere / "secret.txt")
    (root / "relative-secret.txt").symlink_to(Path("..") / "elsewhere" / "secret.txt")
    (root / "archive").symlink_to(elsewhere)
    (root / "same-folder").symlink_to(root / "inside")
    (root / "itself").symlink_to(".")  # was "a link to <the corpus folder>, outside the corpus folder"
    (root / "linked-pipe.txt").symlink_to(root / "inside" / ".pipe")
    (root / "gone.txt").symlink_to(root / "nowhere.txt")
    (root / "loop.txt").symlink_to(root / "loop.txt")
    (root / "alias.txt").symlink_to(root / "inside" / "real.txt")  # inside the folder: followed

    articles, report = finishes(load_corpus, root)

    assert [a.id for a in articles] == ["alias", "good", "inside/real"]
    reasons = {problem.path: problem.reason for problem in report.problems}
    outside = "outside the corpus folder; not followed"
    assert reasons == {
        "archive": f"is a link to {elsewhere}, {outside}",
        "gone.txt": "is a link to a file that does not exist",
        "linked-pipe.txt": "is a named pipe, not a regular file; only regular files are read",
        "loop.txt": "is a link that leads back to itself",
        "pipe.txt": "is a named pipe, not a regular file; only regular files are read",
        "relative-secret.txt": f"is a link to {elsewhere / 'secret.txt'}, {outside}",
        "same-folder": "is a link to a folder; links to folders are not followed",
        "itself": "is a link to a folder; links to folders are not followed",
        "secret.txt": f"is a link to {elsewhere / 'secret.txt'}, {outside}",
        "zero.txt": f"is a link to /dev/zero, {outside}",
    }
    assert report.files == 13


def test_a_corpus_folder_reached_through_a_link_is_read(write_corpus: WriteCorpus, tmp_path: Path) -> None:
    root = write_corpus({"good.txt": GOOD, "inside/real.txt": GOOD})
    (root / "alias.txt").symlink_to(root / "inside" / "real.txt")
    (tmp_path / "corpus-link").symlink_to(root)
    articles, report = load_corpus(tmp_path / "corpus-link")
    assert [a.id for a in articles] == ["alias", "good", "inside/real"]
    assert report.problems == ()


def test_a_pipe_or_device_swapped_in_after_the_check_is_refused_without_waiting(tmp_path: Path) -> None:
    # What `_read_beneath` opens has passed the checks by name; these entries are what a
    # swap between the check and the open would leave there.
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(NotRead, match="named pipe"):
        finishes(_read_beneath, str(tmp_path), ["pipe"])
    (tmp_path / "dev").mkdir()
    os.symlink("/dev/zero", tmp_path / "dev" / "zero")
    with pytest.raises(OSError):  # the file itself swapped for a link: not followed
        finishes(_read_beneath, str(tmp_path), ["dev", "zero"])


def test_a_device_is_reported_and_refused_once_open_without_being_read() -> None:
    _, printed = CorpusFolder(Path("/dev")).read("/dev/zero", "zero")
    assert printed == [None, None, ["character_device", {}]]
    assert str(not_read(printed)) == "is a character device, not a regular file; only regular files are read"
    with pytest.raises(NotRead, match="character device"):
        finishes(_read_beneath, "/dev", ["zero"])


def test_a_folder_swapped_for_a_link_out_of_the_corpus_is_not_followed(tmp_path: Path) -> None:
    corpus, elsewhere = tmp_path / "corpus", tmp_path / "elsewhere"
    corpus.mkdir()
    elsewhere.mkdir()
    (elsewhere / "secret.txt").write_text(article("2024-01-01", "Secret", "Not for the corpus."))
    (corpus / "world").symlink_to(elsewhere)  # was a folder when the corpus was listed
    with pytest.raises(OSError):
        _open_beneath(str(corpus), ["world", "secret.txt"])


def test_paragraphs_collapse_every_kind_of_space_as_a_regular_expression_would() -> None:
    """Paragraphs are collapsed with `str.split`, which must see the spaces `\\s` sees."""
    spaces = re.compile(r"\s")
    assert all(bool(spaces.fullmatch(chr(code))) == chr(code).isspace() for code in range(0x110000))
    body = "Line\u00a0one\u2003with\tspaces\u2028\n\n \u3000 second\x1c paragraph \n"
    assert _paragraphs(body) == ["Line one with spaces", "second paragraph"]


def test_the_listing_orders_files_as_paths_compare(write_corpus: WriteCorpus) -> None:
    """Files load in `Path` order; the listing sorts strings its own, faster way, to the same order."""
    names = ["a-c.txt", "a/b.txt", "a.txt", "A.txt", "ä.txt", "a/b/c.txt", "a b.txt", "a/b-c.txt", "a#1.txt"]
    root = write_corpus({name: GOOD for name in names})
    listed = sorted_entries(root)
    assert listed == [str(path) for path in sorted(map(Path, listed))]
    assert [Path(path) for path in listed] == corpus_files(root)


TUNNEL = "The tunnel from the jsonl line flooded."
SAME_IDS = {  # four good articles whose files want two ids between them
    "a.txt": article("2024-10-01", "Ferry TXT", "The ferry from the txt file sailed at dawn."),
    "a.md": "---\ntitle: Bridge MD\ndate: 2024-10-01\n---\nThe bridge from the md file opened at noon.\n",
    "x.jsonl": json.dumps(
        {
            "id": "b",
            "title": "Tunnel JSONL",
            "date": "2024-10-01",
            "text": "The tunnel from the jsonl line flooded.",
        }
    )
    + "\n",
    "x#b.txt": article("2024-10-01", "Harbour hash", "The harbour from the hash-named file froze."),
}
ALONE = {  # ids that no other article wants: named as they always were
    "world/grain-deal.txt": article("2024-10-02", "Grain deal", "The grain deal was signed."),
    "b.md": "---\ntitle: Lone MD\ndate: 2024-10-02\n---\nA lighthouse was repainted.\n",
    "x#c.txt": article("2024-10-02", "Hash alone", "No record of x.jsonl is called c."),
}


def test_articles_whose_files_want_one_id_all_load_under_ids_that_keep_their_extension(
    write_corpus: WriteCorpus,
) -> None:
    # `a.txt` was reported as a duplicate of `a.md` (first in path order), and `x.jsonl`'s
    # record `b` of `x#b.txt`: 4 good articles, 2 served, which of them by the files' names
    articles, report = load_corpus(write_corpus(SAME_IDS | ALONE))
    assert report.problems == ()
    assert {a.id: a.headline for a in articles} == {
        "a.md": "Bridge MD",
        "a.txt": "Ferry TXT",
        "x#b": "Tunnel JSONL",  # a record's id is kept: the plain file beside it takes its name
        "x#b.txt": "Harbour hash",
        "world/grain-deal": "Grain deal",
        "b": "Lone MD",
        "x#c": "Hash alone",
    }


def test_a_jsonl_record_named_as_another_jsonl_files_record_keeps_its_files_extension(
    write_corpus: WriteCorpus,
) -> None:
    def record(key: str, title: str) -> str:
        return json.dumps({"id": key, "title": title, "date": "2024-10-01", "text": f"{title} text."}) + "\n"

    root = write_corpus({"x.jsonl": record("b", "Low") + record("c", "Own"), "x.JSONL": record("b", "High")})
    articles, report = load_corpus(root)
    assert report.problems == ()
    assert sorted(a.id for a in articles) == ["x#c", "x.JSONL#b", "x.jsonl#b"]


@pytest.mark.parametrize(
    ("wanted", "settled"),
    [
        # nobody shares an id: nothing to settle
        ([("a.txt", "a"), ("x.jsonl", "x#b")], {}),
        # two files of one name: both keep their extension
        ([("a.txt", "a"), ("a.md", "a")], {("a.txt", "a"): "a.txt", ("a.md", "a"): "a.md"}),
        # a plain file named as a record: the record keeps its id, the file takes its name
        ([("x.jsonl", "x#b"), ("x#b.txt", "x#b")], {("x#b.txt", "x#b"): "x#b.txt"}),
        # a name taken in turn: a.txt's own name is what a.txt.md wants, so it takes its own
        (
            [("a.txt", "a"), ("a.md", "a"), ("a.txt.md", "a.txt")],
            {("a.txt", "a"): "a.txt", ("a.md", "a"): "a.md", ("a.txt.md", "a.txt"): "a.txt.md"},
        ),
        # two records and a file want one id; both records then want a plain file's name, and
        # the file of x.jsonl (first in path order) keeps it: no id is left for the other
        (
            [
                ("x.jsonl", "x#b.txt"),
                ("x.JSONL", "x#b.txt"),
                ("x#b.txt.md", "x#b.txt"),
                ("x.jsonl#b.txt", "x.jsonl#b"),
                ("x.jsonl#b.md", "x.jsonl#b"),
            ],
            {
                ("x#b.txt.md", "x#b.txt"): "x#b.txt.md",
                ("x.jsonl", "x#b.txt"): "x.jsonl#b.txt",
                ("x.JSONL", "x#b.txt"): "x.JSONL#b.txt",
                ("x.jsonl#b.txt", "x.jsonl#b"): None,
                ("x.jsonl#b.md", "x.jsonl#b"): "x.jsonl#b.md",
            },
        ),
    ],
)
def test_ids_are_settled_whatever_order_the_articles_come_in(
    wanted: list[tuple[str, str]], settled: dict[tuple[str, str], str | None]
) -> None:
    for order in (wanted, wanted[::-1], wanted[1:] + wanted[:1]):
        assert plan_ids(order) == settled
    names = {file for file, _ in wanted}
    crowded = {file for file, _ in settled}
    assert crowded <= crowded_files(names)  # every file that may need another id is read first
    if not settled:
        assert crowded_files(names) == set()


def test_ids_planned_from_the_crowded_files_alone_are_those_planned_from_every_file() -> None:
    # a build over worker processes reads only the crowded files before the others (`id_plan`):
    # over names made of few letters, `#` and extensions, that plan is the whole corpus's, it
    # leaves no two articles one id, and it is the same in any order
    rng = random.Random(41)
    for _ in range(3000):
        names: set[str] = set()
        for _ in range(rng.randint(1, 6)):
            base = "".join(rng.choices("ab#.", k=rng.randint(1, 5))).strip(".") or "a"
            names.add(base + rng.choice([".txt", ".md", ".jsonl", ".JSONL", ".TXT", ".pdf"]))
        wanted = []
        for name in sorted(names):
            if name.lower().endswith(".jsonl"):
                records = {
                    "".join(rng.choices("ab#.", k=rng.randint(1, 4))) for _ in range(rng.randint(1, 3))
                }
                wanted += [(name, f"{stem(name)}#{record}") for record in sorted(records)]
            elif not name.endswith(".pdf"):
                wanted.append((name, stem(name)))
        plan = plan_ids(wanted)
        crowded = crowded_files(names)
        assert plan_ids([entry for entry in wanted if entry[0] in crowded]) == plan, wanted
        served = [plan.get(entry, entry[1]) for entry in wanted]
        kept = [article_id for article_id in served if article_id is not None]
        assert len(kept) == len(set(kept)), wanted
        assert plan_ids(rng.sample(wanted, len(wanted))) == plan

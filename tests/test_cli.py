import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import log_problems, main
from bot.settings import load_settings
from retrieval import Library
from retrieval.models import LoadProblem
from tests.conftest import HOSTILE, ROOT, SHIPPED_CORPUS, WriteCorpus, add_hostile, article

NEWSBOT = Path(sys.executable).with_name("newsbot")


def run(
    *args: str,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float | None = None,
    encoding: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the installed console script, as a user would; its output is read in `encoding`
    (the terminal's, as PYTHONIOENCODING sets it), else in the locale's."""
    environment = {k: v for k, v in os.environ.items() if k not in ("CORPUS_DIR", "TELEGRAM_BOT_TOKEN")}
    return subprocess.run(
        [str(NEWSBOT), *args],
        capture_output=True,
        text=True,
        env={**environment, **(env or {})},
        cwd=cwd,
        timeout=timeout,
        encoding=encoding,
    )


def test_ask_prints_headline_date_score_and_marked_words() -> None:
    done = run("ask", "Who did Umerov negotiate with unofficially?", "--corpus", str(SHIPPED_CORPUS))
    assert done.returncode == 0
    first = done.stdout.split("\n\n")[0]
    assert first.startswith("1. Ukraine's Minister of Defense Rustem Umerov")
    assert "2024-10-23" in first
    assert "score " in first
    assert "**unofficial** **negotiations** with Russian oligarch Roman Abramovich" in first


def test_ask_without_as_of_leaves_out_articles_dated_after_today(
    write_corpus: WriteCorpus, capsys: pytest.CaptureFixture[str]
) -> None:
    # an embargoed report, or a year mistyped: `newsbot timeline` left it out, `ask` showed it
    root = write_corpus(
        {
            "sank.txt": article(
                "2024-05-02", "Ferry sinks near Crete", "A ferry sank near Crete on Thursday."
            ),
            "later.txt": article("2092-01-01", "Embargoed ferry report", "A report on the ferry near Crete."),
        }
    )
    assert main(["ask", "ferry Crete", "--corpus", str(root)]) == 0
    out = capsys.readouterr().out
    assert "Ferry sinks near Crete" in out and "Embargoed" not in out
    assert main(["ask", "ferry Crete", "--corpus", str(root), "--as-of", "2092-01-01"]) == 0
    assert "Embargoed ferry report" in capsys.readouterr().out


def test_ask_json_lists_hits_for_scripts(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "ask",
            "people escaping the humanitarian corridor",
            "-k",
            "1",
            "--json",
            "--corpus",
            str(SHIPPED_CORPUS),
        ]
    )
    assert code == 0
    (hit,) = json.loads(capsys.readouterr().out)
    assert hit["article_id"] == "000_eba0014b280aac67"
    assert hit["date"] == "2024-10-23"
    assert "400,000" in hit["text"]
    # the question's words as the passage writes them, in order, not their stems
    assert hit["matched"] == ["humanitarian", "corridors", "corridor", "people", "escape"]
    assert set(hit) >= {"headline", "score", "position", "url"}


def test_ask_json_matched_lists_the_headlines_words_as_it_writes_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # README: `matched` lists the question's words as they appear, the headline's among them
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "ferry.txt").write_text(article("2024-10-24", "Danube Ferry resumes", "The crossing reopened."))
    (corpus / "grain.txt").write_text(article("2024-10-23", "Grain prices", "Wheat rose again."))
    (corpus / "talks.txt").write_text(article("2024-10-22", "Talks in Geneva", "The delegations met."))
    assert main(["ask", "danube ferry crossing", "-k", "1", "--json", "--corpus", str(corpus)]) == 0
    (hit,) = json.loads(capsys.readouterr().out)
    assert hit["matched"] == ["crossing", "Danube", "Ferry"]  # the passage's, then the headline's


def test_ask_json_writes_control_characters_as_escapes_a_script_reads_back(write_corpus: WriteCorpus) -> None:
    # README: no article can write to your terminal; JSON itself escapes C0 (\x1b) but not
    # DEL or C1, and `\x9b` is a whole escape sequence's opening, as `\x1b[` is
    headline, text = "Grain \x9b2J talks", "Grain deal talks \x9b31m resumed \x7f today."
    root = write_corpus(
        {
            "talks.txt": article("2024-10-16", headline, text),
            "wheat.txt": article("2024-10-17", "Wheat", "Wheat prices rose."),
            "ports.txt": article("2024-10-18", "Ports", "Ships sailed."),
        }
    )
    done = run("ask", "grain talks", "--json", "--corpus", str(root))
    assert done.returncode == 0, done.stderr
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]", done.stdout)
    (hit,) = json.loads(done.stdout)
    assert (hit["headline"], hit["text"]) == (headline, text)  # the same text, to a script


def test_ask_shows_bidi_controls_escaped_and_never_obeyed(write_corpus: WriteCorpus) -> None:
    # a right-to-left override left open in a headline turned the rest of the line, and of
    # what the terminal wrote after it, around, as it did in the bot's replies
    headline, text = "Grain \u202etalks\u2066", "Grain deal talks \u202bresumed\u202c today."
    root = write_corpus(
        {
            "talks.txt": article("2024-10-16", headline, text),
            "wheat.txt": article("2024-10-17", "Wheat", "Wheat prices rose."),
            "ports.txt": article("2024-10-18", "Ports", "Ships sailed."),
        }
    )
    done = run("ask", "grain talks", "--corpus", str(root))
    assert done.returncode == 0, done.stderr
    assert not re.search("[\u202a-\u202e\u2066-\u2069]", done.stdout)
    assert "Grain \\u202etalks\\u2066" in done.stdout and "\\u202bresumed\\u202c" in done.stdout
    done = run("ask", "grain talks", "--json", "--corpus", str(root))
    assert not re.search("[\u202a-\u202e\u2066-\u2069]", done.stdout)
    (hit,) = json.loads(done.stdout)
    assert (hit["headline"], hit["text"]) == (headline, text)  # the same text, to a script


def test_ask_json_matched_lists_a_dotted_word_as_the_passage_writes_it(
    write_corpus: WriteCorpus, capsys: pytest.CaptureFixture[str]
) -> None:
    # README: `matched` lists `negotiations` and `U.S.`, not the stems `negoti` and `us`
    root = write_corpus(
        {
            "talks.txt": article("2024-10-16", "Talks", "The U.S. knew of the negotiations, officials said."),
            "grain.txt": article("2024-10-17", "Grain", "Wheat prices rose."),
            "ports.txt": article("2024-10-18", "Ports", "Ships sailed from Odesa."),
        }
    )
    assert main(["ask", "Did the US follow the negotiation?", "--json", "--corpus", str(root)]) == 0
    (hit,) = json.loads(capsys.readouterr().out)
    assert hit["matched"] == ["U.S.", "negotiations"]


def test_ask_shows_an_articles_headline_once_above_its_passages(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "Umerov negotiations", "--corpus", str(SHIPPED_CORPUS)]) == 0
    out = capsys.readouterr().out
    assert out.count("Ukraine's Minister of Defense Rustem Umerov") == 1  # two passages, one heading
    assert out.startswith("1. Ukraine's Minister of Defense") and "\n2. " not in out
    assert out.count("score ") == 1 and "\n   —\n" in out  # two scores on one line, passages apart


def test_ask_prints_as_many_passages_as_k(capsys: pytest.CaptureFixture[str]) -> None:
    question = ["ask", "Umerov negotiations", "--json", "--corpus", str(SHIPPED_CORPUS)]
    assert main(question) == 0
    assert len(json.loads(capsys.readouterr().out)) == 2  # both of the article's passages
    assert main([*question, "-k", "1"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 1


def test_ask_with_a_byte_that_is_not_utf8_in_its_question_answers() -> None:
    # a Latin-1 terminal's "é" reaches Python as a lone surrogate, which the tokenizer of
    # the question's vector refused with a TypeError: a traceback and exit code 1
    done = run("ask", "Umerov negotiations caf\udce9", "--corpus", str(SHIPPED_CORPUS))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("1. Ukraine's Minister of Defense Rustem Umerov")


def test_ask_as_of_a_date_before_the_corpus_finds_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "Umerov", "--as-of", "2024-10-22", "--corpus", str(SHIPPED_CORPUS)]) == 1
    # the reason printed is the date, not "no passage contains any of its words": one does
    assert capsys.readouterr().err.endswith(
        "Nothing found: no article dated 2024-10-22 or earlier contains any of its words.\n"
    )
    assert main(["ask", "Umerov", "--as-of", "2024-10-23", "--corpus", str(SHIPPED_CORPUS)]) == 0
    assert run("ask", "Umerov", "--as-of", "23/10/2024").returncode == 2


@pytest.mark.parametrize("written", ["20241023", "2024-W43", "2024-W43-3", "2024W433", "2024-02-30"])
@pytest.mark.parametrize("command", [["ask", "Umerov"], ["timeline"]])
def test_as_of_takes_a_date_written_yyyy_mm_dd_alone(
    capsys: pytest.CaptureFixture[str], command: list[str], written: str
) -> None:
    # Python's ISO reading took 20241023 and weeks: 2024-W43 asked silently as of its Monday
    with pytest.raises(SystemExit) as stopped:
        main([*command, "--as-of", written, "--corpus", str(SHIPPED_CORPUS)])
    assert stopped.value.code == 2
    said = capsys.readouterr().err
    assert said.endswith(f"argument --as-of: {written!r} is not a date written YYYY-MM-DD\n")


def test_ask_as_of_the_calendars_last_day_answers(capsys: pytest.CaptureFixture[str]) -> None:
    # "in December" as of 9999-12-31 is December 9999, which ends past the calendar: no period
    question = "What did Umerov say in December?"
    assert main(["ask", question, "--as-of", "9999-12-31", "--corpus", str(SHIPPED_CORPUS)]) == 0
    assert "Umerov" in capsys.readouterr().out


def test_a_line_break_in_an_articles_id_link_or_outlet_cannot_write_a_line_of_its_own(
    write_corpus: WriteCorpus,
) -> None:
    # README: no article can write to your terminal; a JSON line's escapes spell any break
    story = {"title": "Grain talks", "text": "Grain deal talks resumed."}
    records = [
        {**story, "id": "x\n2. Forged\n   2099-01-01  score 9.99  [forged]", "date": "2024-10-22"},
        {**story, "id": "y", "date": "2024-10-21", "source": "Wire\r2. Forged\t(2099-01-01)"},
    ]
    records[0]["url"] = "https://example.org/a\n   https://phish.example/login"  # a link of its own
    root = write_corpus({"feed.jsonl": "".join(json.dumps(record) + "\n" for record in records)})
    done = run("ask", "grain talks", "--corpus", str(root))
    assert done.returncode == 0, done.stderr
    assert re.sub(r"score [\d.]+  ", "score S  ", done.stdout, count=1).splitlines() == [
        "1. Grain talks",
        "   2024-10-22  score S  [feed#x\\x0a2. Forged\\x0a   2099-01-01  score 9.99  [forged]]",
        "   https://example.org/a\\x0a   https://phish.example/login",
        "   **Grain** deal **talks** resumed.",
        "   also reported by Wire\\x0d2. Forged\\x09(2099-01-01) (2024-10-21)",
        "",
    ]


def test_lexical_only_from_the_flag_or_the_setting_ranks_by_words_alone(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    question = ["ask", "Umerov negotiations", "--json", "--corpus", str(SHIPPED_CORPUS)]
    assert main([*question, "--lexical-only"]) == 0
    flag = json.loads(capsys.readouterr().out)
    monkeypatch.setenv("LEXICAL_ONLY", "true")
    assert main(question) == 0
    setting = json.loads(capsys.readouterr().out)
    monkeypatch.delenv("LEXICAL_ONLY")
    assert main(question) == 0
    default = json.loads(capsys.readouterr().out)
    assert flag == setting
    assert flag[0]["score"] > 2 > default[0]["score"]  # BM25 scores, not scaled to the best one


def test_nothing_found_exits_1_with_a_reason(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "the of and", "--corpus", str(SHIPPED_CORPUS)]) == 1
    assert "no searchable words" in capsys.readouterr().err


def test_a_question_of_blank_letters_has_no_searchable_words(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "\u3164\u115f \uffa0\u1160\u2800", "--corpus", str(SHIPPED_CORPUS)]) == 1
    assert "no searchable words" in capsys.readouterr().err


def test_nothing_found_in_json_prints_an_empty_list_and_the_reason_apart(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for question, reason in [("the of and", "no searchable words"), ("zyzzyva", "no passage contains")]:
        assert main(["ask", question, "--json", "--corpus", str(SHIPPED_CORPUS)]) == 1
        printed = capsys.readouterr()
        assert json.loads(printed.out) == []  # stdout stays valid JSON for the script
        assert reason in printed.err


def test_ask_honours_corpus_dir(write_corpus: WriteCorpus, tmp_path: Path) -> None:
    root = write_corpus(
        {"grain.txt": article("2023-07-17", "Grain deal ends", "Russia quit the grain deal.")}
    )
    done = run("ask", "grain deal", "--json", env={"CORPUS_DIR": str(root)}, cwd=tmp_path)
    assert done.returncode == 0
    assert json.loads(done.stdout)[0]["article_id"] == "grain"


def test_settings_come_from_a_dotenv_in_the_working_folder_and_the_environment_wins(tmp_path: Path) -> None:
    shutil.copytree(SHIPPED_CORPUS, tmp_path / "corpus")  # the default CORPUS_DIR
    (tmp_path / "articles").mkdir()
    (tmp_path / "articles" / "grain.txt").write_text(
        article("2023-07-17", "Grain deal ends", "Russia quit the grain deal.")
    )
    example = (ROOT / ".env.example").read_text()
    dotenv = tmp_path / ".env"
    dotenv.write_text(example.replace("\nCORPUS_DIR=corpus\n", "\nCORPUS_DIR=articles\n"))
    done = run("ask", "grain deal", "--json", cwd=tmp_path)  # .env.example's other values, as shipped
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)[0]["article_id"] == "grain"
    done = run("ask", "Abramovich", "--json", env={"CORPUS_DIR": "corpus"}, cwd=tmp_path)
    assert json.loads(done.stdout)[0]["article_id"] == "000_eba0014b280aac67"  # the environment wins
    dotenv.write_text(example.replace("\nTOP_K=3\n", "\nTOP_K=three\n"))
    done = run("stats", cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.startswith("newsbot: TOP_K: ")


def test_a_misspelt_setting_in_dotenv_is_named_with_the_one_meant(tmp_path: Path) -> None:
    # keys no setting knows are ignored (a .env shared with other tools), so TOPK=1 alone would
    # leave three passages an answer without a word
    (tmp_path / ".env").write_text("TOPK=1\nCOMPOSE_PROJECT_NAME=news\nLOG_LEVEL=INFO\nADMIN_ID=42\n")
    done = run("stats", "--corpus", str(SHIPPED_CORPUS), cwd=tmp_path)
    assert done.returncode == 0
    assert [line for line in done.stderr.splitlines() if line.startswith("newsbot:")] == [
        "newsbot: .env: TOPK is not a setting, and is ignored; did you mean TOP_K?",
        "newsbot: .env: ADMIN_ID is not a setting, and is ignored; did you mean ADMIN_IDS?",
    ]


@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
def test_a_terminal_that_cannot_show_a_character_gets_it_escaped(encoding: str) -> None:
    done = run("ask", "Who did Umerov negotiate with?", env={"PYTHONIOENCODING": encoding})
    assert done.returncode == 0, done.stderr  # a UnicodeEncodeError's traceback and 1, "nothing found"
    assert "Rustem **Umerov**" in done.stdout and "\\u2026" in done.stdout  # `…` as the terminal can show it


@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
def test_ask_json_on_a_terminal_that_cannot_show_a_character_is_json_a_script_reads_back(
    write_corpus: WriteCorpus, encoding: str
) -> None:
    # the terminal's `\xab` and `\U0001f389` stood in the strings, which JSON has no such
    # escapes for: a script's json.loads failed on the whole answer
    headline, text = "Fans cheer 🎉 the «chess» team", "The chess team came home to fireworks 🎉 — in Kyiv…"
    root = write_corpus(
        {
            "chess.txt": article("2024-10-16", headline, text),
            "wheat.txt": article("2024-10-17", "Wheat", "Wheat prices rose."),
            "ports.txt": article("2024-10-18", "Ports", "Ships sailed."),
        }
    )
    done = run(
        "ask",
        "chess fireworks",
        "--json",
        "--corpus",
        str(root),
        env={"PYTHONIOENCODING": encoding},
        encoding=encoding,
    )
    assert done.returncode == 0, done.stderr
    (hit,) = json.loads(done.stdout)
    assert (hit["headline"], hit["text"]) == (headline, text)  # the same text, to a script
    assert "\\ud83c\\udf89" in done.stdout  # the emoji as JSON writes it, a surrogate pair


def test_a_dotenv_saved_in_another_encoding_is_named_with_the_fix(tmp_path: Path) -> None:
    (tmp_path / ".env").write_bytes("FEED_USER_AGENT=newsbot (Société X)\n".encode("cp1252"))
    done = run("stats", "--corpus", str(SHIPPED_CORPUS), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == "newsbot: .env: not UTF-8 (byte 0xe9 at offset 29); save it as UTF-8\n"


def test_an_empty_corpus_setting_is_the_default_folder_not_the_working_one(tmp_path: Path) -> None:
    shutil.copytree(SHIPPED_CORPUS, tmp_path / "corpus")  # the default CORPUS_DIR: one file
    (tmp_path / "notes.txt").write_text(article("2024-01-01", "Notes", "Not an article of the corpus."))
    done = run("stats", env={"CORPUS_DIR": ""}, cwd=tmp_path)  # as `CORPUS_DIR=` in a compose file
    assert done.returncode == 0 and done.stdout.startswith("files       1\n"), done.stdout
    (tmp_path / ".env").write_text("CORPUS_DIR=\nTOP_K=\n")  # left empty, as ADMIN_IDS= in .env.example
    done = run("stats", cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.startswith("files       1\n"), done.stdout
    for command in ("stats", "fetch"):  # `--corpus "$UNSET"` in a script
        done = run(command, "--corpus", "", cwd=tmp_path)
        assert done.returncode == 2 and "argument --corpus: empty; name a folder" in done.stderr


def test_unreadable_corpus_exits_2_with_one_line(tmp_path: Path) -> None:
    done = run("ask", "anything", "--corpus", str(tmp_path / "gone"))
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "does not exist" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_headline_of_bidi_controls_alone_is_shown_by_its_first_words(tmp_path: Path) -> None:
    # the bot heads such an article by its first words; the command line printed the headline's
    # controls alone (`1. \\u202e \\u202c`), in answers and as the source of timeline events
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    text = "Harbour cranes in Izmail loaded a record ten barges. On 20 October 2024, Izmail ordered cranes."
    line = {"id": "x", "title": "\u202e \u202c", "date": "2024-10-24", "text": text}
    (corpus / "blank.jsonl").write_text(json.dumps(line) + "\n", encoding="utf-8")
    asked = run("ask", "Izmail harbour cranes", "--corpus", str(corpus), cwd=tmp_path)
    assert asked.returncode == 0
    assert asked.stdout.startswith(f"1. {text}\n"), asked.stdout
    events = run("timeline", "--corpus", str(corpus), cwd=tmp_path)
    assert events.stdout.splitlines()[:2] == [f"2024-10-24  {text}", f"            ({text}, 2024-10-24)"]


@pytest.mark.parametrize("args", [[], ["ask"], ["ask", "q", "-k", "0"], ["frobnicate"]])
def test_bad_usage_exits_2(args: list[str]) -> None:
    assert run(*args).returncode == 2


@pytest.mark.parametrize(
    ("command", "option", "value"),
    [
        ("ask", "-k", "²"),  # a digit to str.isdigit, and no number to int: "invalid _positive value"
        ("ask", "-k", "101"),
        ("timeline", "--limit", "0"),
        ("timeline", "--limit", "½"),
        ("timeline", "--limit", "٣"),  # Arabic-Indic: read as 3 by isdecimal and int
    ],
)
def test_a_count_out_of_bounds_or_no_number_is_named_with_what_is_allowed(
    command: str, option: str, value: str
) -> None:
    args = ["q", option, value] if command == "ask" else [option, value]
    done = run(command, *args, "--corpus", str(SHIPPED_CORPUS))
    assert done.returncode == 2
    assert f"argument {option}: '{value}' is not a whole number from 1 to 100" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--k1", "nan"),  # passed BM25's k1 >= 0 check, and the table was measured on it
        ("--semantic-weight", "nan"),
        ("--recency-days", "inf"),
    ],
)
def test_eval_refuses_a_weight_or_length_that_is_no_number(option: str, value: str) -> None:
    eval_dir = ROOT / "tests" / "fixtures" / "eval"
    done = run("eval", str(eval_dir / "questions.jsonl"), "--corpus", str(eval_dir / "corpus"), option, value)
    assert done.returncode == 2
    assert f"argument {option}: '{value}' is not a number like 0.5" in done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize(
    ("option", "value", "allowed"),
    [
        ("--headline-weight", "100000000", "a count from 0 to 10"),  # each passage held 10^8 copies: a hang
        ("--headline-weight", "-1", "a count from 0 to 10"),  # was taken as 0 without a word
        ("--recency-days", "0", "a number of days above 0"),  # 0 / 0: today's articles ranked at random
        ("--prior-days", "-14", "a number of days above 0"),  # older articles lifted, not newer ones
    ],
)
def test_eval_refuses_a_headline_weight_or_days_out_of_range(option: str, value: str, allowed: str) -> None:
    eval_dir = ROOT / "tests" / "fixtures" / "eval"
    done = run("eval", str(eval_dir / "questions.jsonl"), "--corpus", str(eval_dir / "corpus"), option, value)
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1] == f"newsbot: {option} {value}: use {allowed}"
    assert done.stdout == ""


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ADMIN_IDS", "alice"),
        ("ADMIN_IDS", "111 222"),  # two ids parted by a space: never joined into user 111222
        ("ADMIN_IDS", "0"),  # no user has it: the bot started with an admin no one could be
        ("ADMIN_IDS", "42,0"),
        ("ADMIN_IDS", "٤٢"),  # Arabic-Indic digits, read as user 42
        ("ADMIN_IDS", "100000000000000000000"),  # past SQLite's integers: every feed notice failed
        ("ADMIN_IDS", "4503599627370496"),  # 2**52: Telegram's ids have at most 52 bits
        ("TELEGRAM_BASE_URL", "localhost:8081/bot"),  # no scheme: every request would fail
        ("TELEGRAM_BASE_URL", "http://"),  # no host: the token was read as one, and run ended in a traceback
        ("TELEGRAM_BASE_URL", "http:///bot"),  # no host either: run retried its first request forever
        ("TELEGRAM_BASE_URL", "http://localhost:80a/bot"),  # a port that is no number: a traceback
        # no path for the token to follow: it became the port, and run ended in a traceback
        ("TELEGRAM_BASE_URL", "https://api.telegram.org"),
        ("TELEGRAM_BASE_URL", "http://localhost:8081"),
        ("FEED_USER_AGENT", "newsbot (Société X)"),  # no HTTP header holds it: every fetch failed
        ("FEED_USER_AGENT", "newsbot\r\nX-Forwarded-For: 10.0.0.1"),  # a header of its own
    ],
)
def test_invalid_setting_exits_2_naming_the_variable(tmp_path: Path, name: str, value: str) -> None:
    done = run("stats", env={name: value}, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith(f"newsbot: {name}: ")
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("value", ["-1001234567890", "-42"])
def test_a_group_chat_id_in_admin_ids_exits_2_saying_it_is_a_chat(tmp_path: Path, value: str) -> None:
    # a negative id is a group's or a channel's, never a user's: the error spoke of @usernames
    done = run("stats", env={"ADMIN_IDS": value}, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith(f"newsbot: ADMIN_IDS: {value!r} is a group or channel id, not a user's")
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("value", "ids"),
    [
        ("1,2,3", {1, 2, 3}),
        (" 1 , 2 ", {1, 2}),  # spaces around the commas
        ("1,\t2,", {1, 2}),  # a tab, a trailing comma
        ("", set()),
    ],
)
def test_admin_ids_are_read_between_commas(value: str, ids: set[int]) -> None:
    assert load_settings(_env_file=None, admin_ids=value).admin_ids == ids


@pytest.mark.parametrize(
    "secret",
    [
        "x",  # the shortest Telegram takes
        ("Az09_-" * 43)[:256],  # the longest, of every kind of character it takes (257 is refused: test_run)
    ],
)
def test_a_webhook_secret_of_1_to_256_allowed_characters_is_taken(secret: str) -> None:
    token = load_settings(_env_file=None, webhook_secret_token=secret).webhook_secret_token
    assert token is not None and token.get_secret_value() == secret


def test_stats_prints_sizes_and_problems(
    write_corpus: WriteCorpus, capsys: pytest.CaptureFixture[str]
) -> None:
    root = write_corpus(
        {
            "good.txt": article("2024-01-01", "Good", "Fine text."),
            "older.txt": article("2023-05-06", "Older", "Older text."),
            "bad.txt": "nope",
        }
    )
    assert main(["stats", "--corpus", str(root)]) == 0
    out = capsys.readouterr().out
    assert "files       3" in out
    assert "articles    2" in out
    assert "vocabulary  4" in out  # good, fine, text, older
    assert "dates       2023-05-06 to 2024-01-01" in out
    assert "passages    2" in out
    assert "problems    1" in out
    assert "bad.txt: line 1 is not ' date YYYY-MM-DD headline'" in out


def test_stats_escapes_a_bidi_control_that_a_problem_quotes(tmp_path: Path) -> None:
    # PyYAML quotes the line it stopped at: a right-to-left override in a headline turned the
    # rest of the terminal line around, in `stats` and in the line that ends a start
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "y.md").write_text('---\ntitle: "abc\u202e evil: [\ndate: 2024-10-01\n---\nBody text.\n')
    stats = run("stats", "--corpus", str(corpus))
    ask = run("ask", "body", "--corpus", str(corpus))
    assert stats.returncode == ask.returncode == 2  # no readable article
    for output in (stats.stdout, stats.stderr, ask.stderr):
        assert "y.md: front matter is not valid YAML" in output and "abc\\u202e evil" in output
        assert "\u202e" not in output


def test_the_start_logs_a_problem_with_its_bidi_control_escaped(caplog: pytest.LogCaptureFixture) -> None:
    log_problems(
        [
            LoadProblem("y.md", 'front matter is not valid YAML: title: "abc\u202e evil: ['),
            LoadProblem("x.txt", "b"),
        ]
    )
    assert [record.getMessage() for record in caplog.records] == [
        'skipped y.md: front matter is not valid YAML: title: "abc\\u202e evil: [',
        "skipped x.txt: b",
    ]


def test_stats_lists_every_problem_of_a_hostile_corpus(write_corpus: WriteCorpus) -> None:
    root = write_corpus({"good.txt": article("2024-01-01", "Good", "Fine text.")})
    names = sorted(add_hostile(root, kind) for kind in HOSTILE)
    (root / "junk.jsonl").write_text("\n".join("{broken" for _ in range(3000)))
    done = run("stats", "--corpus", str(root), timeout=120)  # the timeout only stops a hang
    assert done.returncode == 0, done.stderr
    assert "articles    1" in done.stdout
    assert f"problems    {len(names) + 101}" in done.stdout  # of junk.jsonl, 100 lines and a count
    listed = [line.strip().split(": ", 1)[0] for line in done.stdout.splitlines() if line.startswith("  ")]
    assert len(listed) == len(names) + 101
    assert set(listed) == {*names, *(f"junk.jsonl:{n}" for n in range(1, 101)), "junk.jsonl"}
    assert "  junk.jsonl: 2,900 more lines are not articles either" in done.stdout


@pytest.mark.parametrize("saved", [False, True])
def test_stats_of_a_corpus_where_no_file_loads_still_lists_every_problem(
    write_corpus: WriteCorpus, saved: bool
) -> None:
    # a folder of articles all in a wrong format (or encoding) is when the list is needed most
    bad = {f"{number}.txt": f"Headline {number}\n\nBody.\n" for number in range(5)}
    root = write_corpus({**bad, "cp1251.txt": article("2024-01-01", "Новини", "Текст.")})
    if saved:  # an index saved while one file loaded, updated when it no longer does
        assert run("stats", "--corpus", str(root)).returncode == 0
    (root / "cp1251.txt").write_bytes(article("2024-01-01", "Новини", "Текст.").encode("cp1251"))
    done = run("stats", "--corpus", str(root))
    assert done.returncode == 2
    assert done.stdout.startswith("files       6\narticles    0\n"), done.stdout
    assert "problems    6\n" in done.stdout
    listed = [line.strip() for line in done.stdout.splitlines() if line.startswith("  ")]
    assert listed == [
        *(f"{number}.txt: line 1 is not ' date YYYY-MM-DD headline'" for number in range(5)),
        "cp1251.txt: is not UTF-8 text (byte 17)",
    ]
    (line,) = [line for line in done.stderr.splitlines() if line.startswith("newsbot:")]  # and why not
    assert line.startswith(f"newsbot: corpus folder {str(root)!r} has no readable article: 0.txt: ")


def test_ask_and_stats_exit_2_over_the_library_of_no_article_a_bot_saved(tmp_path: Path) -> None:
    # `newsbot run` serves (and saves) a folder with no readable article; the command line
    # still says that it cannot serve
    root = tmp_path / "corpus"
    root.mkdir()
    (root / "broken.txt").write_text("no date line\n")
    Library.load(root, index_dir=tmp_path / "index", allow_empty=True)
    env = {"INDEX_DIR": str(tmp_path / "index")}
    stats, ask = run("stats", "--corpus", str(root), env=env), run("ask", "x", "--corpus", str(root), env=env)
    assert stats.returncode == ask.returncode == 2
    assert "articles    0" in stats.stdout and "broken.txt: line 1 is not" in stats.stdout
    for output in (stats.stderr, ask.stderr):
        assert f"newsbot: corpus folder {str(root)!r} has no readable article: broken.txt: line 1" in output


def test_timeline_prints_events_newest_first(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["timeline", "--limit", "3", "--topic", "Zelenskyy", "--corpus", str(SHIPPED_CORPUS)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line[:10] for line in lines[::2]] == ["2024-10-18", "2024-10-11"]
    assert lines[1].strip().startswith("(Ukraine's Minister of Defense")
    assert main(["timeline", "--limit", "1", "--topic", "Zelenskyy", "--corpus", str(SHIPPED_CORPUS)]) == 0
    assert [line[:10] for line in capsys.readouterr().out.splitlines()[::2]] == ["2024-10-18"]
    assert main(["timeline", "--topic", "zyzzyva", "--corpus", str(SHIPPED_CORPUS)]) == 1


def test_timeline_is_as_of_today_as_the_bots_unless_told_another_day(
    write_corpus: WriteCorpus, capsys: pytest.CaptureFixture[str]
) -> None:
    # a date mistyped in the future topped the timeline, which /timeline in the bot cuts at the
    # message's date: the command line had no date at all
    root = write_corpus(
        {
            "grain.txt": article("2024-10-23", "Grain deal signed", "The grain deal was signed in Istanbul."),
            "typo.txt": article("2092-10-23", "Ferry talks resume", "Ferry talks resumed in Odesa."),
        }
    )
    assert main(["timeline", "--corpus", str(root)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("2024-10-23  Grain deal signed\n")
    assert "Ferry" not in out
    assert main(["timeline", "--as-of", "2092-10-23", "--corpus", str(root)]) == 0
    assert capsys.readouterr().out.startswith("2092-10-23  Ferry talks resume\n")
    assert main(["timeline", "--as-of", "2024-10-22", "--corpus", str(root)]) == 1
    assert capsys.readouterr().err.endswith(
        "No dated events found: no article dated 2024-10-22 or earlier.\n"
    )
    assert main(["timeline", "--topic", "ferry", "--corpus", str(root)]) == 1
    assert capsys.readouterr().err.endswith(" or earlier tells of the topic.\n")  # today's, as above


def test_a_timeline_as_of_a_day_before_an_event_was_retold_shows_it_from_the_first_telling(
    write_corpus: WriteCorpus, capsys: pytest.CaptureFixture[str]
) -> None:
    # the newer telling of an event hid the older one once for all: as of a day before the
    # retelling, the event was missing, as the newer article is not shown yet
    root = write_corpus(
        {
            "first.txt": article(
                "2024-10-20",
                "Berlin offers talks",
                "On October 16, Scholz expressed readiness to negotiate with Putin.",
            ),
            "retold.txt": article(
                "2024-10-23",
                "Scholz again",
                "On October 16, Scholz expressed his readiness to negotiate with Putin.",
            ),
        }
    )
    for as_of, told in [
        ("2024-10-21", "Berlin offers talks, 2024-10-20"),
        ("2024-10-23", "Scholz again, 2024-10-23"),
    ]:
        for topic in ([], ["--topic", "Scholz"]):
            assert main(["timeline", "--as-of", as_of, *topic, "--corpus", str(root)]) == 0
            lines = capsys.readouterr().out.splitlines()
            tellings = [
                source
                for when, source in zip(lines[::2], lines[1::2], strict=True)
                if when.startswith("2024-10-16")
            ]
            assert [source.strip() for source in tellings] == [f"({told})"]


@pytest.mark.parametrize(
    ("topic", "reason"),
    [
        ("zyzzyva", "no event's sentence or headline shares a word with the topic"),
        ("the of and", "the topic has no searchable words, only stop words or symbols"),  # not "no events"
    ],
)
def test_a_timeline_that_finds_nothing_exits_1_saying_why(
    capsys: pytest.CaptureFixture[str], topic: str, reason: str
) -> None:
    # README: exit code 1, nothing found, the reason printed; as ask tells its reasons apart
    assert main(["timeline", "--topic", topic, "--corpus", str(SHIPPED_CORPUS)]) == 1
    printed = capsys.readouterr()
    assert printed.out == ""
    assert printed.err.endswith(f"No dated events found: {reason}.\n")


def test_a_corpus_folder_whose_name_is_not_utf8_is_asked_and_its_index_served_again(tmp_path: Path) -> None:
    # A folder's name is bytes on Linux (`café` in Latin-1, from an old archive or a mount):
    # its saved index is written and found again like any other's, never a traceback.
    folder = tmp_path / os.fsdecode(b"caf\xe9")
    shutil.copytree(SHIPPED_CORPUS, folder)
    question = ("ask", "Who did Umerov negotiate with unofficially?", "--corpus", str(folder))
    first = run(*question, cwd=tmp_path)
    assert (first.returncode, "Traceback" in first.stderr) == (0, False), first.stderr
    assert "build: done" in first.stderr
    again = run(*question, cwd=tmp_path)
    assert (again.returncode, again.stderr) == (0, "")  # served from the index saved, not built again
    assert again.stdout == first.stdout


def test_four_good_files_that_want_two_ids_are_all_counted_and_answered(
    write_corpus: WriteCorpus, tmp_path: Path
) -> None:
    # `stats` said 4 files, 2 articles, `a.txt: duplicate article id 'a'` and `x.jsonl:
    # duplicate article id 'x#b'`; `ask ferry` and `ask tunnel` found nothing
    record = {
        "id": "b",
        "title": "Tunnel JSONL",
        "date": "2024-10-01",
        "text": "The tunnel from the jsonl line flooded.",
    }
    root = write_corpus(
        {
            "a.txt": article("2024-10-01", "Ferry TXT", "The ferry from the txt file sailed at dawn."),
            "x.jsonl": json.dumps(record) + "\n",
            "x#b.txt": article("2024-10-01", "Harbour hash", "The harbour from the hash-named file froze."),
        }
    )

    def first_hit(word: str) -> tuple[str, str]:
        done = run("ask", word, "-k", "1", "--json", "--corpus", str(root), cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        (hit,) = json.loads(done.stdout)
        return hit["article_id"], hit["headline"]

    assert first_hit("ferry") == ("a", "Ferry TXT")  # its index saved, then updated below
    (root / "a.md").write_text(
        "---\ntitle: Bridge MD\ndate: 2024-10-01\n---\nThe bridge from the md file opened at noon.\n"
    )
    stats = run("stats", "--corpus", str(root), cwd=tmp_path)
    assert stats.stdout.startswith("files       4\narticles    4\n"), stats.stdout
    assert "problems    0\n" in stats.stdout
    assert first_hit("ferry") == ("a.txt", "Ferry TXT")
    assert first_hit("bridge") == ("a.md", "Bridge MD")
    assert first_hit("tunnel") == ("x#b", "Tunnel JSONL")
    assert first_hit("harbour") == ("x#b.txt", "Harbour hash")


@pytest.mark.parametrize("line", ['ADMIN_IDS="123', "export admin_ids='123", 'ADMIN_IDS = "123, 456'])
def test_a_dotenv_line_with_an_unclosed_quote_stops_the_start_naming_its_setting(
    tmp_path: Path, line: str
) -> None:
    # python-dotenv dropped the line with a warning naming its number alone: the bot started
    # with no admin, and refused the /reload of the admin who had typed it
    token = "123456:ABCdefGHIjklMNOpqrSTUvwxYZ012345678"
    (tmp_path / ".env").write_text(f'TELEGRAM_BOT_TOKEN="{token}\nLOG_LEVEL=INFO\n{line}\nTOP_K=2\n')
    done = run("stats", "--corpus", str(SHIPPED_CORPUS), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("newsbot: .env line 1: TELEGRAM_BOT_TOKEN cannot be read")
    assert token not in done.stderr and "python-dotenv" not in done.stderr
    (tmp_path / ".env").write_text(f'TELEGRAM_BOT_TOKEN="{token}"\nLOG_LEVEL=INFO\n{line}\nTOP_K=2\n')
    done = run("stats", "--corpus", str(SHIPPED_CORPUS), cwd=tmp_path)
    assert done.returncode == 2
    key = line.split("=")[0].removeprefix("export ").strip()
    assert done.stderr == f"newsbot: .env line 3: {key} cannot be read (an unclosed quote?), " + (
        'so it would be left unset; write it as KEY=value or KEY="value"\n'
    )


def test_a_dotenv_line_of_another_tool_that_cannot_be_read_is_left_to_it(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("COMPOSE_PROJECT_NAME='news\nTOP_K=1\n")
    done = run("ask", "Abramovich", "--json", "--corpus", str(SHIPPED_CORPUS), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)) == 1  # the line after it is read

"""The interface's languages: choosing one, plural forms, and catalogs that are complete and compiled."""

from __future__ import annotations

import ast
import errno
import fnmatch
import gettext
import io
import re
import signal
import sqlite3
import string
import tomllib
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.feed_handlers import saving_failure
from bot.fetching import FetchError
from bot.i18n import DOMAIN, LANGUAGES, LOCALE_DIR, language_of, reason_record, told_record, translations
from bot.reasons import error_told, problem_told
from bot.reloading import IndexingKilled, signal_name
from retrieval import REASONS, LoadProblem, Reason
from tests.conftest import ROOT

TRANSLATED = [language for language in LANGUAGES if language != "en"]
PO = {language: LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po" for language in TRANSLATED}
MO = {language: path.with_suffix(".mo") for language, path in PO.items()}
TAG = re.compile(r"</?(?:b|i|a|code|pre)\b[^>]*>")


@pytest.mark.parametrize(
    ("code", "language"),
    [
        ("uk", "uk"),
        ("uk-UA", "uk"),  # a regional form
        ("UK_ua", "uk"),  # any case, either separator
        ("ru", "ru"),
        ("ru-RU", "ru"),
        ("en-GB", "en"),
        ("de", "en"),  # no catalog: English
        ("be", "en"),
        ("", "en"),
        (None, "en"),  # Telegram sends no language for some users
    ],
)
def test_language_is_chosen_from_the_telegram_language_code(code: str | None, language: str) -> None:
    assert language_of(code) == language


@pytest.mark.parametrize(
    ("language", "count", "shown"),
    [
        ("en", 1, "1 article"),
        ("en", 0, "0 articles"),
        ("en", 21, "21 articles"),
        ("uk", 1, "1 стаття"),
        ("uk", 2, "2 статті"),
        ("uk", 4, "4 статті"),
        ("uk", 5, "5 статей"),
        ("uk", 11, "11 статей"),  # the teens take the "many" form
        ("uk", 12, "12 статей"),
        ("uk", 21, "21 стаття"),  # ... and the twenties start over
        ("uk", 22, "22 статті"),
        ("uk", 25, "25 статей"),
        ("uk", 111, "111 статей"),
        ("uk", 0, "0 статей"),
        ("ru", 1, "1 статья"),
        ("ru", 3, "3 статьи"),
        ("ru", 5, "5 статей"),
        ("ru", 11, "11 статей"),
        ("ru", 21, "21 статья"),
        ("ru", 24, "24 статьи"),
        ("ru", 112, "112 статей"),
    ],
)
def test_plural_forms(language: str, count: int, shown: str) -> None:
    tr = translations(language)
    assert tr.ngettext("{count} article", "{count} articles", count).format(count=count) == shown


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_is_translated_with_its_placeholders_and_tags(language: str) -> None:
    catalog = read_po(PO[language].open("rb"), locale=language)
    assert catalog.num_plurals == 3
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings) and len(strings) == (3 if message.pluralizable else 1), message.id
        assert not message.fuzzy, message.id
        for translated in strings:
            assert fields(translated) == fields(ids[-1]), (message.id, translated)
            assert sorted(TAG.findall(translated)) == sorted(TAG.findall(ids[-1])), (message.id, translated)


def test_catalogs_hold_exactly_the_texts_of_the_code() -> None:
    method_map = [("bot/**.py", "python"), ("retrieval/reasons.py", "python")]
    keywords = {**DEFAULT_KEYWORDS, "N_": None}
    in_code = {
        message if isinstance(message, str) else message[0]
        for _, _, message, _, _ in extract_from_dir(ROOT, method_map, keywords=keywords)
    }
    assert len(in_code) > 80
    template = {
        m.id if isinstance(m.id, str) else m.id[0] for m in read_po((LOCALE_DIR / "newsbot.pot").open("rb"))
    }
    assert in_code == template - {""}, "run the extract and update commands of docs/development.md"
    for language in TRANSLATED:
        catalog = read_po(PO[language].open("rb"), locale=language)
        assert {m.id if isinstance(m.id, str) else m.id[0] for m in catalog} - {""} == in_code, language


def test_a_text_marked_within_an_f_string_is_in_the_catalogs() -> None:
    # Babel's extractor does not look inside an f-string (`f"<b>{tr.gettext('...')}</b>"`)
    # before Python 3.12, so such a text went into no catalog and stayed English for all.
    template = {
        m.id if isinstance(m.id, str) else m.id[0] for m in read_po((LOCALE_DIR / "newsbot.pot").open("rb"))
    }
    marked = set()
    for path in (ROOT / "bot").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            first = node.args[0]
            if name in ("gettext", "ngettext", "N_") and isinstance(first, ast.Constant):
                marked.add(first.value)
    assert len(marked) > 80
    assert marked - template == set()


@pytest.mark.parametrize("language", TRANSLATED)
def test_compiled_catalogs_match_their_sources(language: str) -> None:
    compiled = io.BytesIO()
    write_mo(compiled, read_po(PO[language].open("rb"), locale=language))
    compiled.seek(0)
    expected = gettext.GNUTranslations(compiled)
    with MO[language].open("rb") as shipped:
        actual = gettext.GNUTranslations(shipped)
    # The dictionary gettext answers from: every message and plural form, as the .po says;
    # of its header, all but the line naming the Babel release that compiled it.
    assert without_generator(actual._catalog) == without_generator(expected._catalog), (  # type: ignore[attr-defined]
        "run the compile command of docs/development.md"
    )


def without_generator(catalog: dict[object, str]) -> dict[object, str]:
    """`catalog` with its header's `Generated-By:` line left out."""
    lines = catalog.get("", "").split("\n")
    return {**catalog, "": "\n".join(line for line in lines if not line.startswith("Generated-By:"))}


def test_compiled_catalogs_are_packaged() -> None:
    """A wheel holds the .mo files: the package data globs of pyproject.toml cover them."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["bot"]
    for path in MO.values():
        relative = path.relative_to(ROOT / "bot").as_posix()
        assert any(fnmatch.fnmatch(relative, pattern) for pattern in patterns), relative


def test_a_missing_catalog_answers_in_english(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr("bot.i18n.LOCALE_DIR", tmp_path)
    translations.cache_clear()
    try:
        assert translations("uk").gettext("Timeline") == "Timeline"
    finally:
        monkeypatch.undo()
        translations.cache_clear()
    assert translations("uk").gettext("Timeline") == "Хронологія"


def fields(text: str) -> list[str]:
    """The `{name}` placeholders of a text, in order, without their format specs."""
    return sorted(name for _, name, _, _ in string.Formatter().parse(text) if name is not None)


def test_a_stored_reason_is_told_in_each_language_and_a_damaged_one_is_not() -> None:
    error = FetchError(
        "{size:,} bytes, over the {limit:,}-byte limit", "too_large", size=12_345_678, limit=10_000_000
    )
    record = reason_record(error)
    assert record is not None
    assert (
        told_record(record, translations("en"))
        == str(error)
        == "12,345,678 bytes, over the 10,000,000-byte limit"
    )
    assert told_record(record, translations("uk")) == "12,345,678 байтів, більше за межу в 10,000,000 байтів"
    assert reason_record(ValueError("not told")) is None
    for damaged in ("", "{", '{"text": "{x}", "values": {"y": 1}}', '{"text": 7, "values": {}}', "[]"):
        assert told_record(damaged, translations("uk")) is None


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_reason_retrieval_tells_is_in_the_catalogs(language: str) -> None:
    # The bot's English of a skipped file is what `newsbot stats` prints, word for word.
    catalog = {m.id: m.string for m in read_po(PO[language].open("rb"), locale=language)}
    assert all(catalog.get(text) for text in REASONS.values())


@pytest.mark.parametrize(
    ("language", "told"),
    [
        ("en", "the indexing process was killed by SIGKILL (the system kills it so when memory runs out)"),
        (
            "uk",
            "процес індексування завершено сигналом SIGKILL (так система завершує його, коли бракує пам'яті)",
        ),
        (
            "ru",
            "процесс индексирования завершён сигналом SIGKILL (так система завершает его, когда не хватает",
        ),
    ],
)
def test_a_reload_whose_indexing_process_was_killed_says_so_in_the_admins_language(
    language: str, told: str
) -> None:
    assert error_told(IndexingKilled(signal.SIGKILL), translations(language)).startswith(told)


def test_a_problem_saved_without_its_kind_is_told_in_its_english() -> None:
    assert problem_told(LoadProblem("a.txt", "has no date"), translations("uk")) == "a.txt: has no date"
    told = LoadProblem.of("a.txt", Reason.of("not_utf8", byte=3), 2)
    assert problem_told(told, translations("uk")) == "a.txt:2: не є текстом UTF-8 (байт 3)"


def test_a_reload_killed_by_a_real_time_signal_names_it() -> None:
    killed = error_told(IndexingKilled(signal.SIGRTMIN + 6), translations("en"))
    assert killed == "the indexing process was killed by SIGRTMIN+6; the corpus was not read again"
    assert signal_name(signal.SIGTERM) == "SIGTERM"


def sqlite_error(code: int, name: str) -> sqlite3.Error:
    """An error as SQLite's module raises it, with its result code and that code's name."""
    error = sqlite3.OperationalError("the English SQLite gives")
    error.sqlite_errorcode, error.sqlite_errorname = code, name  # type: ignore[attr-defined]
    return error


@pytest.mark.parametrize(
    ("error", "ukrainian"),
    [
        (OSError(errno.ENOSPC, "No space left on device"), "диск заповнено"),
        (PermissionError(errno.EACCES, "Permission denied"), "бот не має права писати в теку корпусу"),
        (OSError(errno.EROFS, "Read-only file system"), "тека корпусу на диску лише для читання"),
        (OSError(errno.EIO, "Input/output error"), "система не записала файл (EIO)"),  # named by its code
        (sqlite_error(13, "SQLITE_FULL"), "диск файлу стану заповнено"),
        (sqlite_error(5, "SQLITE_BUSY"), "файл стану заблокував інший процес"),
        (sqlite_error(8 | 1 << 8, "SQLITE_READONLY_RECOVERY"), "бот не має права писати у файл стану"),
        (sqlite_error(778, "SQLITE_IOERR_WRITE"), "файл стану не зміг це записати (SQLITE_IOERR_WRITE)"),
    ],
)
def test_why_an_article_could_not_be_saved_is_told_without_the_systems_english(
    error: OSError | sqlite3.Error, ukrainian: str
) -> None:
    # an admin who reads Ukrainian got "Не вдалося зберегти цю статтю: [Errno 28] No space left on device"
    assert saving_failure(error).told(translations("uk")) == ukrainian

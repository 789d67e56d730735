"""Ukrainian and Russian dates, in the cases news puts them in, resolved as the English ones are."""

import datetime as dt
import re

import pytest

from retrieval import dates_uk_ru
from retrieval.dates import anchor_date, find_dates, might_hold_date
from tests.conftest import ROOT

PUBLISHED = dt.date(2024, 10, 23)  # a Wednesday


@pytest.mark.parametrize(
    ("sentence", "date", "precision"),
    [
        # a day takes the month in the genitive
        ("16 жовтня Шольц заявив про готовність до переговорів.", "2024-10-16", "day"),
        ("Це сталося 5 листопада 2023 року в Києві.", "2023-11-05", "day"),
        ("Заявку подали 28 лютого 2022 р.", "2022-02-28", "day"),
        ("16 октября Шольц заявил о готовности.", "2024-10-16", "day"),
        ("16-го октября Шольц заявил о готовности.", "2024-10-16", "day"),
        ("Это случилось 5 ноября 2023 года.", "2023-11-05", "day"),
        ("28 грудня випав сніг.", "2023-12-28", "day"),  # no year: on or before publication
        ("16 жовтня минулого року він пішов.", "2023-10-16", "day"),
        # "in a month" takes the locative; "since" and "at the end of" the genitive
        ("У березні 2022 року переговори зірвалися.", "2022-03-01", "month"),
        ("В марте 2022 года переговоры сорвались.", "2022-03-01", "month"),
        ("Наприкінці лютого 2022 року все змінилося.", "2022-02-01", "month"),
        ("З березня 2024 року тривають переговори.", "2024-03-01", "month"),
        ("С марта 2022 года проезд бесплатный.", "2022-03-01", "month"),
        ("У березні переговори зірвалися.", "2024-03-01", "month"),
        ("В ноябре переговоры сорвались.", "2023-11-01", "month"),  # a later month: last year's
        ("У березні минулого року ціни зросли.", "2023-03-01", "month"),
        ("В мае прошлого года цены выросли.", "2023-05-01", "month"),
        # years: `2022 року` / `2022 года`, `у 2022 році` / `в 2022 году`
        ("У 2021 році вони зустрілися.", "2021-01-01", "year"),
        ("В 2021 году они встретились.", "2021-01-01", "year"),
        ("З 2014 року триває війна.", "2014-01-01", "year"),
        ("Протягом 2022 року ціни зросли.", "2022-01-01", "year"),
        ("В течение 2022 года цены выросли.", "2022-01-01", "year"),
        ("У 2022-му Росія напала.", "2022-01-01", "year"),
        ("Вони зустрічалися з 2019.", "2019-01-01", "year"),
        # relative days, weekdays, last week / month / year
        ("Вчора він подав у відставку.", "2024-10-22", "day"),
        ("Учора він подав у відставку.", "2024-10-22", "day"),
        ("Вчера он ушел в отставку.", "2024-10-22", "day"),
        ("Сьогодні він подав у відставку.", "2024-10-23", "day"),
        ("Сегодня он ушел в отставку.", "2024-10-23", "day"),
        ("Позавчора він подав у відставку.", "2024-10-21", "day"),
        ("У понеділок він подав у відставку.", "2024-10-21", "day"),
        ("В понедельник он ушел в отставку.", "2024-10-21", "day"),
        ("Во вторник он ушел в отставку.", "2024-10-22", "day"),
        ("У середу він подав у відставку.", "2024-10-23", "day"),  # the same weekday: the day itself
        ("Минулої середи він подав у відставку.", "2024-10-16", "day"),  # a week before
        ("В прошлую среду он ушел.", "2024-10-16", "day"),
        ("У п’ятницю він подав у відставку.", "2024-10-18", "day"),  # typographic apostrophe
        ("Минулої п'ятниці він подав у відставку.", "2024-10-18", "day"),
        ("В прошлое воскресенье он ушел.", "2024-10-20", "day"),
        ("Минулого тижня ціни зросли.", "2024-10-14", "week"),
        ("На минулому тижні ціни зросли.", "2024-10-14", "week"),
        ("На прошлой неделе цены выросли.", "2024-10-14", "week"),
        ("Минулого місяця ціни зросли.", "2024-09-01", "month"),
        ("В прошлом месяце цены выросли.", "2024-09-01", "month"),
        ("Минулого року ціни зросли.", "2023-01-01", "year"),
        ("Торік ціни зросли.", "2023-01-01", "year"),
        ("В прошлом году цены выросли.", "2023-01-01", "year"),
        # the anchor is the first past date; a plan after it is not an event
        ("16 жовтня він сказав, що план буде готовий у листопаді.", "2024-10-16", "day"),
    ],
)
def test_anchor_date(sentence: str, date: str, precision: str) -> None:
    anchor = anchor_date(sentence, PUBLISHED)
    assert anchor is not None
    assert (anchor.date.isoformat(), anchor.precision) == (date, precision)


@pytest.mark.parametrize(
    "sentence",
    [
        "План буде готовий у листопаді.",  # a plan, not an event
        "План будет готов в ноябре.",
        "Війна має завершитися не пізніше 2025 року.",  # after publication, and a deadline
        "Выборы пройдут не позднее марта.",  # a deadline
        "Рішення ухвалять до 16 жовтня.",  # `до`: by
        "Кошти надійдуть наступного тижня.",  # next week is not handled: no anchor
        "З 2000 учасників лише сто дійшли до фіналу.",  # a count, not a year
        "Переговори тривали місяцями.",  # no date at all
        "30 лютого нічого не сталося.",  # no such day
    ],
)
def test_sentences_without_a_past_anchor(sentence: str) -> None:
    assert anchor_date(sentence, PUBLISHED) is None


def test_the_grammatical_form_is_part_of_the_match() -> None:
    sentence = "Заявку подали 28 лютого 2022 року, а статус отримали в червні 2022 року."
    found = [(sentence[m.start : m.end], str(m.date), m.precision) for m in find_dates(sentence, PUBLISHED)]
    assert found == [
        ("28 лютого 2022 року", "2022-02-28", "day"),
        ("червні 2022 року", "2022-06-01", "month"),
    ]


@pytest.mark.parametrize(
    ("text", "maybe"),
    [
        ("Вчора він подав у відставку.", True),
        ("Вчера он ушел в отставку.", True),
        ("У березні переговори зірвалися.", True),
        ("У п’ятницю дощило.", True),
        ("Торік ціни зросли.", True),
        ("Переговори тривали місяцями.", False),  # nothing date-like: skipped before the patterns run
        ("Переговоры шли месяцами.", False),
    ],
)
def test_might_hold_date_is_a_safe_prefilter(text: str, maybe: bool) -> None:
    assert might_hold_date(text) is maybe
    if not maybe:
        assert anchor_date(text, PUBLISHED) is None


LOOKALIKES = str.maketrans("аеорсухікмтнвгАЕОРСУХІКМТНВГ", "aeopcyxikmthbrAEOPCYXIKMTHBR")


@pytest.mark.parametrize(
    "sentence",
    [
        "Заявку подали 28 лютого 2022 р.",
        "Это случилось 5 ноября 2023 г.",
        "С марта 2022 года проезд бесплатный.",
        "У 2022-му Росія напала.",
        "В 2021 году они встретились.",
        "З 2014 року триває війна.",
        "Вчера он ушел, в понедельник вернулся, на прошлой неделе уехал, торік повернувся.",
    ],
)
def test_each_ukrainian_and_russian_pattern_needs_a_cyrillic_letter(sentence: str) -> None:
    # what lets a sentence without one skip those patterns; in Latin look-alike letters none matches
    assert any(pattern.search(sentence) for _, pattern in dates_uk_ru.PATTERNS)
    latin = sentence.translate(LOOKALIKES)
    latin = "".join("x" if "\u0400" <= char <= "\u04ff" else char for char in latin)
    assert not any(pattern.search(latin) for _, pattern in dates_uk_ru.PATTERNS)


def _readme_forms(after: str, before: str) -> list[str]:
    """The date forms the README's Timeline section names between two of its phrases."""
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    start = readme.index(after) + len(after)
    passage = readme[start : readme.index(before, start)]
    return [form for form in re.findall(r"`([^`]+)`", passage) if not form.endswith(".py")]


@pytest.mark.parametrize(
    "form", _readme_forms("resolved against that day:", "A day and month without a year")
)
def test_every_date_form_the_readme_names_anchors_its_sentence(form: str) -> None:
    anchor = anchor_date(f"{form} рада зібралася.", PUBLISHED)
    assert anchor is not None and anchor.start < len(form)  # the form's own date, not another
    assert anchor.date <= PUBLISHED


@pytest.mark.parametrize("form", _readme_forms("Only the date that anchors a sentence counts:", "Months and"))
def test_every_later_date_the_readme_names_is_no_event_of_its_own(form: str) -> None:
    assert anchor_date(f"{form}.", PUBLISHED) is None
    anchor = anchor_date(f"On October 16, {form}.", PUBLISHED)  # the day it was said
    assert anchor is not None and anchor.date == dt.date(2024, 10, 16)

"""Ukrainian and Russian date words, in the grammatical cases news puts them in.

A day takes the month in the genitive (`16 жовтня`, `16 октября`, `16-го октября`), "in
a month" the locative (`у березні`, `в марте`), "since" or "at the end of" the genitive
again (`з березня`, `наприкінці лютого`, `с марта`), and a year follows as `2022 року` or
`2022 года` (`у 2022 році`, `в 2022 году`). `dates` resolves these with the same rules as
the English forms: the patterns here name their groups as its patterns do.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["DATE_WORDS", "FUTURE_CUE", "MONTHS", "PATTERNS", "PERIODS", "RELATIVE_DAYS", "WEEKDAYS", "key"]

_APOSTROPHES = str.maketrans({"’": "'", "ʼ": "'"})


def key(word: str) -> str:
    """The form a date word is looked up by: lower case, one kind of apostrophe."""
    return word.lower().translate(_APOSTROPHES)


def _forms(table: str) -> dict[str, int]:
    """`{form: number}` from lines of forms, the line number (from 1) being the number."""
    return {
        form: number for number, line in enumerate(table.strip().splitlines(), 1) for form in line.split()
    }


# One line a month: Ukrainian nominative, genitive, locative; Russian the same.
MONTHS = _forms(
    """
    січень січня січні январь января январе
    лютий лютого лютому февраль февраля феврале
    березень березня березні март марта марте
    квітень квітня квітні апрель апреля апреле
    травень травня травні май мая мае
    червень червня червні июнь июня июне
    липень липня липні июль июля июле
    серпень серпня серпні август августа августе
    вересень вересня вересні сентябрь сентября сентябре
    жовтень жовтня жовтні октябрь октября октябре
    листопад листопада листопаді ноябрь ноября ноябре
    грудень грудня грудні декабрь декабря декабре
    """
)
_GENITIVE = {form for form in MONTHS if form.endswith(("я", "а", "ого"))}
# One line a weekday, Monday first (Python's weekday() + 1): "on Monday" is the
# accusative (`у понеділок`, `в понедельник`), "last Monday" the genitive (`минулого понеділка`).
WEEKDAYS = {
    form: number - 1
    for form, number in _forms(
        """
        понеділок понеділка понедельник
        вівторок вівторка вторник
        середу середи среду
        четвер четверга четверг
        п'ятницю п'ятниці пятницу
        суботу суботи субботу
        неділю неділі воскресенье
        """
    ).items()
}
RELATIVE_DAYS = {
    "сьогодні": 0,
    "сегодня": 0,
    "вчора": 1,
    "учора": 1,
    "вчера": 1,
    "позавчора": 2,
    "позавчера": 2,
}
PERIODS = {
    **dict.fromkeys(("тижня", "тижні", "неделе", "недели"), "week"),
    **dict.fromkeys(("місяця", "місяці", "месяце", "месяца"), "month"),
    **dict.fromkeys(("року", "році", "году", "года", "торік"), "year"),
}

_APOSTROPHE = "['’ʼ]"


def _alternation(words: Iterable[str]) -> str:
    """A regex alternation of `words`, longest first, any apostrophe standing for any other."""
    longest_first = sorted(words, key=len, reverse=True)
    return "|".join(re.escape(word).replace("'", _APOSTROPHE) for word in longest_first)


_MONTH = rf"(?P<m>{_alternation(MONTHS)})"
_MONTH_GENITIVE = rf"(?P<m>{_alternation(_GENITIVE)})"
_DAY = r"(?P<d>[0-3]?\d)(?:-?(?:го|е))?"
_YEAR_WORD = r"(?:року|році|рік|года|году|год|р\.|г\.)"
_YEAR = rf"(?:(?P<y>(?:19|20)\d\d)(?:\s*{_YEAR_WORD})?|(?P<last_year>минулого\s+року|прошлого\s+года))"
_IN = (
    r"(?:у|в|во|з|із|зі|від|с|со|протягом|впродовж|наприкінці|на\s+початку|у\s+середині|в\s+середині"
    r"|в\s+течение|в\s+конце|в\s+начале|в\s+середине)"
)
_LAST = (
    r"(?:(?:на|у|в)\s+)?"
    r"(?:минулого|минулої|минулий|минулу|минулому|прошлый|прошлую|прошлое|прошлой|прошлом|прошлого)"
)
_FLAGS = re.IGNORECASE

PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("day_month", re.compile(rf"\b{_DAY}\s+{_MONTH_GENITIVE}(?:\s+{_YEAR})?(?!\w)", _FLAGS)),
    ("month_year", re.compile(rf"\b{_MONTH}\s+{_YEAR}(?!\w)", _FLAGS)),
    ("in_month", re.compile(rf"\b{_IN}\s+{_MONTH}\b", _FLAGS)),
    (
        "year",
        re.compile(rf"\b(?:{_IN}\s+)?(?P<y>(?:19|20)\d\d)(?:-?(?:му|го|м))?\s*{_YEAR_WORD}(?!\w)", _FLAGS),
    ),
    # a bare year after a preposition only where nothing follows (`з 2014.`, `у 2022-му`):
    # `з 2000 учасників` is a count
    (
        "year",
        re.compile(rf"\b{_IN}\s+(?P<y>(?:19|20)\d\d)(?:-(?:му|м|го)(?!\w)|(?=\s*(?:[,.;:!?)]|$)))", _FLAGS),
    ),
    ("relative_day", re.compile(rf"\b(?P<w>{_alternation(RELATIVE_DAYS)})\b", _FLAGS)),
    ("weekday", re.compile(rf"\b(?:у|в|во|(?P<last>{_LAST}))\s+(?P<w>{_alternation(WEEKDAYS)})\b", _FLAGS)),
    ("last", re.compile(rf"\b{_LAST}\s+(?P<w>{_alternation(set(PERIODS) - {'торік'})})\b", _FLAGS)),
    ("last", re.compile(r"\b(?P<w>торік)\b", _FLAGS)),
]

# A date right after these is a deadline or a plan: `до 2025 року`, `не позднее марта`,
# `наступного тижня`, `буде готовий у листопаді`.
FUTURE_CUE = re.compile(
    r"(?:\b(?:до|к|ко|не\s+пізніше(?:\s+ніж)?|не\s+позднее|наступного|наступному|следующего|следующем)"
    r"|\b(?:буде|будуть|будет|будут|планує|планують|планирует|планируют)\b[^.]{0,40}?)\s*$",
    _FLAGS,
)

DATE_WORDS = frozenset({*MONTHS, *WEEKDAYS, *RELATIVE_DAYS, *PERIODS})
"""Every word one of the patterns needs when it has no digit, for `dates.might_hold_date`."""

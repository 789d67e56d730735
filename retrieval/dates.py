"""Dates in news sentences, resolved against the article's publication date.

Handled, each anchoring the sentence it opens or first appears in:

- absolute days: `On October 16,`, `on 5 November 2023`, `October 16, 2024`, `2024-10-16`;
- a day and month without a year (`On December 28`): the year that puts it on or before
  publication, so an article of 2024-01-03 means 2023-12-28;
- months: `In March 2022`; `in March` (the latest March on or before publication);
- years: `in 2022`, `throughout 2022`, `during 2022`, `since 2022`;
- relative: `today`, `yesterday`, `on Monday` (the last Monday on or before the publication
  day: news names the day it reports), `last Monday` (strictly before it), `last week`
  (week precision), `last month`, `last year`;
- the same in Ukrainian and Russian, in the cases news uses (`16 жовтня 2024 року`, `у
  березні 2022 року`, `в марте 2022 года`, `вчора`, `у понеділок`, `минулого тижня`,
  `на прошлой неделе`, `торік`; see `dates_uk_ru`), and a month or day of `минулого
  року` / `прошлого года` (last year).

Knowingly not handled: spans (`from March to May`), seasons and quarters (`this summer`,
`Q3`), `this week` / `this month`, times of day, dates written as `10/16/2024` (the
order is ambiguous), languages other than these three, and dates after publication,
which are plans and predictions, not events (`no later than 2025`, `ready in November
2024`).
"""

from __future__ import annotations

import calendar
import contextlib
import datetime as dt
import logging
import re
import string
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from . import dates_uk_ru
from .languages import CYRILLIC
from .models import Precision

__all__ = [
    "ISO_DAY",
    "DateMention",
    "anchor_date",
    "find_dates",
    "iso_day",
    "latest_today",
    "might_hold_date",
]

logger = logging.getLogger(__name__)
LATEST_ZONE = dt.timezone(dt.timedelta(hours=14))
"""UTC+14, where each day begins first."""
ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
"""A day as articles, `--as-of` and `question_date` write it, in ASCII digits alone (`\\d`
takes `２` and `٢` too): `date.fromisoformat` alone also takes `20241023` and ISO weeks
(`2024-W43`, read silently as that week's Monday)."""

_MONTHS = {name.lower(): number for number, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.lower(): number for number, name in enumerate(calendar.month_abbr) if name})
_MONTHS["sept"] = 9
_WEEKDAYS = {name.lower(): number for number, name in enumerate(calendar.day_name)}
_MONTH = r"(?P<{}>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DAY = r"(?P<{}>[0-3]?\d)(?:st|nd|rd|th)?"
_YEAR = r"(?P<{}>(?:19|20)\d\d)"

_ENGLISH_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("iso", re.compile(r"\b(?P<y>\d{4})-(?P<m>\d\d)-(?P<d>\d\d)\b")),
    (
        "month_day",
        re.compile(
            rf"\b{_MONTH.format('m')}\s+{_DAY.format('d')}\b(?:,?\s+{_YEAR.format('y')}\b)?(?!\s*(?:%|per|million))",
            re.IGNORECASE,
        ),
    ),
    (
        "day_month",
        re.compile(
            rf"\b{_DAY.format('d')}\s+(?:of\s+)?{_MONTH.format('m')}(?:,?\s+{_YEAR.format('y')}\b)?",
            re.IGNORECASE,
        ),
    ),
    ("month_year", re.compile(rf"\b{_MONTH.format('m')},?\s+{_YEAR.format('y')}\b", re.IGNORECASE)),
    (
        "in_month",
        re.compile(
            rf"\b(?:in|since|during|throughout|early|late|mid-?)\s+{_MONTH.format('m')}\b", re.IGNORECASE
        ),
    ),
    (
        "year",
        re.compile(rf"\b(?:in|throughout|during|since|of|early|late)\s+{_YEAR.format('y')}\b", re.IGNORECASE),
    ),
    ("relative_day", re.compile(r"\b(?P<w>today|yesterday)\b", re.IGNORECASE)),
    (
        "weekday",
        re.compile(r"\b(?:on|(?P<last>last))\s+(?P<w>" + "|".join(_WEEKDAYS) + r")\b", re.IGNORECASE),
    ),
    ("last", re.compile(r"\blast\s+(?P<w>week|month|year)\b", re.IGNORECASE)),
]
_NEEDS = {
    "iso": {"digit"},
    "month_day": {"month", "digit"},
    "day_month": {"month", "digit"},
    "month_year": {"month", "digit"},
    "in_month": {"month"},
    "year": {"digit"},
    "relative_day": {"day"},
    "weekday": {"day"},
    "last": {"last"},
}
"""What each English pattern needs in a sentence to match it: a sentence without skips it."""
_MONTH_STEMS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
"""How every English month name and abbreviation begins."""
_ALL_MONTHS = {**_MONTHS, **dates_uk_ru.MONTHS}
_ALL_WEEKDAYS = {**_WEEKDAYS, **dates_uk_ru.WEEKDAYS}
_RELATIVE_DAYS = {"today": 0, "yesterday": 1, **dates_uk_ru.RELATIVE_DAYS}
# A date right after these words is a deadline or a plan, not when something happened.
_FUTURE_CUE = re.compile(
    r"\b(?:by|until|till|before|no later than|ahead of|next|will\b[^.]{0,40}?)\s*$", re.IGNORECASE
)
_CUE_REACH = 80
"""How far before a date its future cue is looked for: past the longest (`will` and 40
characters, `не пізніше ніж`) and the space after it. Looked for from the sentence's
start, each date of a sentence of dates behind cues (`by 1 March, by 1 March, ...`)
read the whole sentence again: 40,000 characters took 2 s, a megabyte some 20 minutes."""

_DIGIT = re.compile(r"\d")
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
# Marks that no word holds (`_WORD` joins words only by apostrophes): ASCII punctuation,
# and the quotes, dashes and ellipsis of typeset news.
_BREAKS = str.maketrans({mark: " " for mark in string.punctuation + "“”‘«»„‚‹›—–…·•" if mark != "'"})
_DATE_WORDS = frozenset({*_MONTHS, *_WEEKDAYS, "today", "yesterday", "last", *dates_uk_ru.DATE_WORDS})


def iso_day(text: str) -> dt.date | None:
    """The day `text` writes YYYY-MM-DD, or None for any other spelling or a day no calendar
    holds (2024-02-30)."""
    if ISO_DAY.fullmatch(text):
        with contextlib.suppress(ValueError):
            return dt.date.fromisoformat(text)
    return None


def might_hold_date(text: str) -> bool:
    """A cheap test that rules out most text with no date in it before the full patterns run.

    Every pattern needs a digit or one of a few words; a set lookup of the lower-cased
    words is several times faster than one case-insensitive alternation over the text.
    The words are `_WORD`'s, found twice as fast: cut at spaces and at punctuation (which
    no word holds) by `str.split`, which leaves most of them whole; only the few pieces
    holding other characters (an apostrophe, a symbol) are cut by the pattern, and only
    when there are any. Digits are looked for in the same pieces, and only when they hold
    something other than letters: most paragraphs are letters alone.
    """
    pieces = dates_uk_ru.key(text).translate(_BREAKS).split()
    if not _DATE_WORDS.isdisjoint(pieces):
        return True
    letters = "".join(pieces)  # the text's every character but blanks and punctuation
    if letters.isalpha():  # every piece a whole word, all looked up already
        return False
    if _DIGIT.search(letters) is not None:
        return True
    return any(not _DATE_WORDS.isdisjoint(_WORD.findall(piece)) for piece in pieces if not piece.isalpha())


@dataclass(frozen=True, slots=True)
class DateMention:
    """A date found in a sentence, resolved to the first day of its period."""

    date: dt.date
    precision: Precision
    start: int
    end: int


def find_dates(sentence: str, published: dt.date) -> Iterator[DateMention]:
    """Yield every resolvable date in `sentence`, in order, overlapping forms collapsed:
    a pattern's date that overlaps one an earlier pattern found is left out."""
    found: list[DateMention] = []
    for kind, pattern in _patterns_for(sentence):
        mentions = (_resolve(kind, match, published) for match in pattern.finditer(sentence))
        found = _merged(found, filter(None, mentions))
    yield from found


def _merged(kept: list[DateMention], new: Iterable[DateMention]) -> list[DateMention]:
    """`kept` and those of `new` that overlap none of it, in order; both are in order, none
    of either overlapping another of its own, so one pass over both does. Each inserted
    into `kept` in its place, a sentence of a megabyte of dates found by several patterns
    (`in 2020 x yesterday x on Monday x ...`) moved the list's tail for each: quadratic,
    8 MB took 30 s."""
    merged: list[DateMention] = []
    at = 0
    for mention in new:
        while at < len(kept) and kept[at].end <= mention.start:
            merged.append(kept[at])
            at += 1
        if at == len(kept) or kept[at].start >= mention.end:
            merged.append(mention)
    merged += kept[at:]
    return merged


def _patterns_for(sentence: str) -> list[tuple[str, re.Pattern[str]]]:
    """The patterns that may match `sentence`, in their order: each scans the whole sentence,
    so one whose month, digit or word is missing (found by cheap substring tests, on the
    case-folded text as the patterns' IGNORECASE folds it) is not run."""
    folded = sentence.casefold()
    present = {
        "digit": _DIGIT.search(sentence) is not None,
        "month": any(stem in folded for stem in _MONTH_STEMS),
        "day": "day" in folded,
        "last": "last" in folded,
    }
    patterns = [(kind, pattern) for kind, pattern in _ENGLISH_PATTERNS if all(map(present.get, _NEEDS[kind]))]
    # every Ukrainian and Russian pattern needs a Cyrillic letter: a sentence without one
    # skips them, two thirds of the time the patterns take over English news
    return patterns + dates_uk_ru.PATTERNS if CYRILLIC.search(sentence) else patterns


def anchor_date(sentence: str, published: dt.date) -> DateMention | None:
    """The date a sentence's event happened: its first date that is neither ahead of
    publication nor behind a future cue (`by`, `until`, `no later than`, `will ...`)."""
    for mention in find_dates(sentence, published):
        if mention.date > published:
            continue
        reach = max(0, mention.start - _CUE_REACH), mention.start
        if _FUTURE_CUE.search(sentence, *reach) or dates_uk_ru.FUTURE_CUE.search(sentence, *reach):
            continue
        return mention
    return None


def _resolve(kind: str, match: re.Match[str], published: dt.date) -> DateMention | None:
    groups = match.groupdict()
    start, end = match.span()
    try:
        if kind == "iso":
            return DateMention(
                dt.date(int(groups["y"]), int(groups["m"]), int(groups["d"])), "day", start, end
            )
        year = _year(groups, published)
        if kind in ("month_day", "day_month"):
            month, day = _month(groups["m"]), int(groups["d"])
            if year:
                return DateMention(dt.date(year, month, day), "day", start, end)
            return DateMention(_on_or_before(published, month, day), "day", start, end)
        if kind == "month_year" and year:
            return DateMention(dt.date(year, _month(groups["m"]), 1), "month", start, end)
        if kind == "in_month":
            return DateMention(_on_or_before(published, _month(groups["m"]), 1), "month", start, end)
        if kind == "year" and year:
            return DateMention(dt.date(year, 1, 1), "year", start, end)
        word = dates_uk_ru.key(groups["w"])
        if kind == "relative_day":
            return DateMention(published - dt.timedelta(days=_RELATIVE_DAYS[word]), "day", start, end)
        if kind == "weekday":
            # "on Tuesday" in a Tuesday's article is that day, as news names the day it reports;
            # "last Tuesday" is a week before
            back = (published.weekday() - _ALL_WEEKDAYS[word]) % 7 or (7 if groups.get("last") else 0)
            return DateMention(published - dt.timedelta(days=back), "day", start, end)
        return _last(dates_uk_ru.PERIODS.get(word, word), published, start, end)
    except (ValueError, OverflowError):  # 31 February; a day before 0001-01-01 ("yesterday" then)
        return None
    except KeyError:  # a name IGNORECASE matched in letters no table holds: `ſunday`, `frıday`
        return None
    except Exception:  # a match no one foresaw costs its sentence one date, not a whole build
        logger.warning("the date %r could not be read and is left out", match.group(), exc_info=True)
        return None


def _month(name: str) -> int:
    """The number of an English, Ukrainian or Russian month name as the patterns found it."""
    return _ALL_MONTHS[dates_uk_ru.key(name).rstrip(".")]


def _year(groups: dict[str, str | None], published: dt.date) -> int | None:
    """The year a pattern found: written out, or `минулого року` / `прошлого года`."""
    written = groups.get("y")
    if written:
        return int(written)
    if not groups.get("last_year"):
        return None
    if published.year == dt.MINYEAR:
        raise ValueError("no year before the year 1")
    return published.year - 1


def _on_or_before(published: dt.date, month: int, day: int) -> dt.date:
    """The date with this month and day that falls on or before publication: this year's or
    last year's, and for 29 February the last leap day, up to eight years back (2096 to 2104)."""
    for year in range(published.year, max(dt.MINYEAR, published.year - 8) - 1, -1):
        try:
            candidate = dt.date(year, month, day)
        except ValueError:
            continue
        if candidate <= published:
            return candidate
    raise ValueError(f"no {month}-{day} on or before {published}")


def _last(word: str, published: dt.date, start: int, end: int) -> DateMention:
    if word == "week":
        monday = published - dt.timedelta(days=published.weekday() + 7)
        return DateMention(monday, "week", start, end)
    if word == "month":
        previous = published.replace(day=1) - dt.timedelta(days=1)
        return DateMention(previous.replace(day=1), "month", start, end)
    return DateMention(dt.date(published.year - 1, 1, 1), "year", start, end)


def latest_today(moment: dt.datetime | None = None) -> dt.date:
    """The latest calendar date anywhere on Earth at `moment` (default: now), UTC+14's.

    Articles carry their outlet's local date: as of this date, no article already published
    somewhere is hidden, and every one dated later still is.
    """
    return (dt.datetime.now(dt.UTC) if moment is None else moment).astimezone(LATEST_ZONE).date()

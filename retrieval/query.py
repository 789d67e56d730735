"""Question -> query terms: which words of a question are matched, and how many.

Every rewriting of a question before it is scored lives here: words about time or quiz
form are left out, a question about the recent past is recognised, and a question's
cost is bounded by keeping only its most selective terms.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Sequence

from .analyzer import QuestionWord, analyze, held_cognate, question_spans, question_words
from .languages import CYRILLIC, NAME_KEY, name_spellings

__all__ = [
    "DEFAULT_MAX_TERMS",
    "RECENT_CUES",
    "most_selective",
    "readings",
    "recent_cue",
    "topical",
    "topical_terms",
]

DEFAULT_MAX_TERMS = 32
"""Distinct terms a question is scored on: more than any question asked in words has,
far fewer than the hundreds of a pasted article (measured with `bench/query_cap.py`)."""

_APOSTROPHE = "['’ʼ]"
"""The three ways Ukrainian writes its apostrophe (`ім'я`, `ім’я`, `імʼя`)."""
_CYRILLIC_AHEAD = f"(?={CYRILLIC.pattern})"
"""Before the Ukrainian and Russian words of a pattern: where no Cyrillic letter follows,
they are not tried, and a pasted English article is searched as fast as before them."""

QUIZ_NOISE = re.compile(
    r"\b(?:which (?:one )?of (?:the following|these)|according to (?:reports|news reports)|"
    r"what is the name of|in the news"
    # Ukrainian: of the following, according to reports, what is the name of, in the news
    rf"|{_CYRILLIC_AHEAD}(?:(?:з|із|зі)\s+(?:нижче)?(?:наведен|перелічен)\w*|за\s+повідомленнями(?:\s+(?:ЗМІ|медіа))?"
    rf"|як\s+(?:називається|називався|називалася|звуть|звали)|яке\s+ім{_APOSTROPHE}я|(?:у|в)\s+новинах"
    # Russian, ё or е alike (`приведённых`, `приведенных`)
    r"|из\s+(?:ниже)?(?:перечисл|привед|следующ)\w*|по\s+сообщениям(?:\s+СМИ)?"
    r"|как\s+(?:называется|назывался|называлась|зовут|звали)|в\s+новостях))\b",
    re.IGNORECASE,
)
_QUIZ_STARTS = (b"which of", b"which one of", b"according to ", b"what is the name of", b"in the news")
"""How each English match of `QUIZ_NOISE` begins, in lower case (see `_subn_at`): an English
phrase added to the pattern needs its first words here."""
RECENT_CUES = re.compile(
    r"\b(?:this (?:week|month|year)|last week|latest|recent(?:ly)?|now|today|currently|so far"
    # Ukrainian: this week, month, year; last week; latest, lately; recently; now; today;
    # currently; so far. `\b` holds for Cyrillic words, as re reads str patterns as Unicode.
    rf"|{_CYRILLIC_AHEAD}(?:"
    r"(?:цього|цей|цьому|поточного|поточному)\s+(?:тиждень|тижня|тижні|місяць|місяця|місяці|рік|року|році)"
    r"|(?:минулого|минулий|минулому)\s+(?:тиждень|тижня|тижні)|нещодавн\w*|недавн\w*"
    # `останній` and `последний` say "latest" before news or a span of time, else "last" (a
    # train's, a match's): a word of the question then
    r"|за\s+останн\w*|останн\w*(?:\s+часом|(?=\s+(?:новин|поді|дн(?:і|ів|я|ям|ями|ях)\b|доб|тиж|місяц|рок|рік|годин|повідомлен|змін)))"
    r"|зараз|нині|тепер|наразі|сьогодні|сьогоднішн\w*(?:\s+день)?|на\s+даний\s+момент|досі|поки\s+що|дотепер"
    # Russian, the same
    r"|(?:эт(?:а|у|ой|от|ом|ого)|текущ(?:ая|ую|ей|ий|ем|его))\s+(?:неделя|неделю|неделе|недели|месяц|месяца"
    r"|месяце|год|года|году)|прошл(?:ая|ую|ой)\s+(?:неделя|неделю|неделе|недели)"
    r"|за\s+последн\w*|последн\w*(?:\s+время|(?=\s+(?:новост|событи|дн(?:и|ей|я|ям|ями|ях)\b|сут|недел|месяц|год|лет|час|сообщени|изменени)))"
    r"|на\s+днях|сейчас|ныне|нынче|теперь|сегодня|сегодняшн\w*(?:\s+день)?|в\s+(?:настоящее\s+время|данный\s+момент)"
    r"|на\s+данный\s+момент|пока\s+что|до\s+сих\s+пор))\b",
    re.IGNORECASE,
)
_RECENT_STARTS = tuple(
    b"this week|this month|this year|last week|latest|recent|now|today|currently|so far".split(b"|")
)
"""How each English match of `RECENT_CUES` begins, in lower case (see `_subn_at`): an English
cue added to the pattern needs its first words here."""
_READ_BY_SCANNING = re.compile("[\u0400-\u04ff\u0130\u0131\u017f\u212a\u1c80-\u1c88]")
"""What makes a question's rewriting scan it whole with both patterns: a Cyrillic letter, or a
letter `re` takes for another ASCII or Cyrillic one when it ignores case (İ and ı for i, ſ for
s, the Kelvin sign for k, old forms of Cyrillic letters such as ᲀ for в). In a text without
them, an English match's letters are ASCII, and the patterns' Cyrillic words are out of reach."""


def topical(question: str) -> str:
    """The question without words about time or quiz form, which match passages at random.

    "this week" or "which of the following" say when or how something is asked, not what
    about; left in, `week` and `follow` would match any passage that uses them. A question
    made only of such words is kept whole.
    """
    return _rewritten(question)[0]


def recent_cue(question: str) -> bool:
    """Whether the question asks about the recent past (`RECENT_CUES`: "latest", "this week").

    Told by the rewriting `topical` makes anyway, which leaves those words out: searching
    the pattern again took 0.3 to 0.7 ms of a pasted text's every search.
    """
    return _rewritten(question)[1]


@functools.lru_cache(maxsize=64)
def _rewritten(question: str) -> tuple[str, bool]:
    """`topical(question)`, and whether `RECENT_CUES` found anything in it.

    The last 64 questions are remembered: a search rewrites its question twice, for its
    terms and for its vector, and asks whether it is about the recent past, and a pasted
    article takes 0.05 to 0.1 ms each time (English; 0.6 ms Ukrainian or Russian). The
    cache is keyed by the question alone, all this reads, and searches in several threads
    may share it (at worst two of them rewrite the same question).
    """
    if not question.isascii() and _READ_BY_SCANNING.search(question):
        without_cues, cues = RECENT_CUES.subn(" ", question)
        stripped = QUIZ_NOISE.sub(" ", without_cues)
    else:
        folded = _folded(question)
        without_cues, cues = _subn_at(RECENT_CUES, _RECENT_STARTS, question, folded)
        stripped = _subn_at(
            QUIZ_NOISE, _QUIZ_STARTS, without_cues, _folded(without_cues) if cues else folded
        )[0]
    return (stripped if stripped.strip(" ?.!") else question), cues > 0


def _folded(text: str) -> bytes:
    """The text's ASCII letters in lower case, any other character one `?`, in their places."""
    return text.encode("ascii", "replace").lower()


def _subn_at(
    pattern: re.Pattern[str], starts: tuple[bytes, ...], text: str, folded: bytes
) -> tuple[str, int]:
    """`pattern.subn(" ", text)` for a text that `_READ_BY_SCANNING` finds nothing in, the
    pattern tried only where one of `starts` begins in the text `_folded`.

    Both patterns start with `\\b` and ignore case, so `re` tries them at every position: 0.15
    to 0.4 ms a pasted 4,000-character text. Their starts are found at the speed of C.
    """
    places: set[int] = set()
    for start in starts:
        place = folded.find(start)
        while place >= 0:
            places.add(place)
            place = folded.find(start, place + 1)
    parts: list[str] = []
    end = 0
    for place in sorted(places):
        found = pattern.match(text, place) if place >= end else None
        if found is not None:  # what a scan from the left finds: the first match, then past its end
            parts += (text[end:place], " ")
            end = found.end()
    return "".join((*parts, text[end:])), len(parts) // 2


def topical_terms(
    question: str,
    names: Callable[[str, tuple[str, ...]], bool] | None = None,
    held: Callable[[str], bool] | None = None,
) -> list[str]:
    """The terms of `topical(question)`, its Cyrillic words read as the whole question reads
    them (`analyzer.question_spans`; `names`: whether the corpus names a word typed in lower
    case that only the Russian dictionary holds as a common word, `виннице`; `held`: whether
    the index holds a term, which a word's other language's cognate is asked for where it does).

    A Cyrillic word that reads two ways is read as Russian where more of its text's words
    tell Russian than Ukrainian, and the words left out may be the only ones that do:
    without `этой`, "Новости Харькова на этой неделе" would read `новости` as Ukrainian
    and miss the `новости` of Russian articles.
    """
    stripped = topical(question)
    if not CYRILLIC.search(question):
        return analyze(stripped)
    left_out = bytearray(len(question))  # 1 where a word left out stands
    for pattern in (RECENT_CUES, QUIZ_NOISE) if stripped != question else ():
        for found in pattern.finditer(question):
            left_out[found.start() : found.end()] = b"\x01" * (found.end() - found.start())
    return [term for term, start, _ in question_spans(question, names, held) if not left_out[start]]


def readings(
    topic: str,
    names: Callable[[str, tuple[str, ...]], bool] | None = None,
    held: Callable[[str], bool] | None = None,
) -> list[tuple[str, ...]]:
    """A topic's terms as each language it may be in reads them, as a question's are read
    (`analyzer.question_spans`): one reading, or, where a Cyrillic topic tells no language
    and has a word that reads two ways, the Ukrainian one and then the Russian one; and one
    more where a word typed in lower case may be a name, with the name's term and key.
    `names`, as for a question (`topical_terms`): whether the corpus names a word by a key it
    decides on (`/timeline виннице`: `~внк`, where a passage writes `Вінниці`), given to the
    readings that hold the word's own key, or where it has none to the last, in place of the
    word's term as a name, which such an article does not hold (`винниц`): an alert's relevance
    counts each term of a reading.

    For the same reason each of those readings has a twin, made where some word of the topic
    may be written otherwise in an article, with that writing's term in place of the word's
    own: a name the corpus writes the other language's way, where a passage holds that
    spelling with the name's key (`/follow Винница`: `вінниц`, `~внк`); else the other
    language's cognate of a word where the index holds it (`held`, as for a question:
    `/follow выборы`: `вибор`, of `вибори`); else, for a first word no dictionary holds, read
    as a name (`Масована`: `масован`, `~мсвн`), its term in lower case (`масова`), which an
    article writing it inside a sentence holds.

    `/follow Новости Харькова` and `/timeline матч в марте` are too short to tell Ukrainian
    from Russian; read as Ukrainian alone (`новіст`, `марит`) they missed every Russian
    article. The readings are kept apart so that an alert's 0-1 relevance is the best
    reading's: a Russian article cannot hold the Ukrainian `новіст`, and counting it would
    keep it under the threshold; nor an article on Kyiv the `ки` of `/follow київ`, nor
    most articles the key of a word typed in lower case that names nothing (`~зкрл`).
    """
    read: tuple[list[str], ...] = ([], [], [])  # Ukrainian, Russian, with names' terms
    otherwise: tuple[list[str], ...] = ([], [], [])  # the same, words as an article may write them otherwise
    written_otherwise = False
    for word in question_words(topic):
        held_key = (
            word.held_key
            if word.held_key and names is not None and names(word.held_key, word.spellings)
            else ""
        )
        key = word.key or word.lower_key
        parts = [
            [term for term in (found, word.key, held_key if word.key else "") if term]
            for found in (word.term, word.other or word.term)
        ]
        if held_key and not key:  # named so by the corpus alone: its key alone
            parts.append([held_key])
        else:
            parts.append([term for term in (word.name or word.term, key, held_key) if term])
        again = _written_otherwise(topic, word, key, parts, names, held)
        written_otherwise = written_otherwise or again is not parts
        for reading, other, terms, other_terms in zip(read, otherwise, parts, again, strict=True):
            reading.extend(terms)
            other.extend(other_terms)
    return list(
        dict.fromkeys(tuple(reading) for reading in (*read, *(otherwise if written_otherwise else ())))
    )


def _written_otherwise(
    topic: str,
    word: QuestionWord,
    key: str,
    parts: list[list[str]],
    names: Callable[[str, tuple[str, ...]], bool] | None,
    held: Callable[[str], bool] | None,
) -> list[list[str]]:
    """A topic's word's terms in each reading (`parts`) as an article may write it otherwise
    (`readings`), or `parts` itself where it has no other writing."""
    spelled = _spelled_as_held(topic[word.start : word.end], key, names) if key and names else ""
    other = spelled or (held_cognate(topic, word, held) if held is not None else "")
    if other:  # in place of its term, its key kept; not in a reading of its key alone
        return [
            terms if not terms or terms[0].startswith(NAME_KEY) else [other, *terms[1:]] for terms in parts
        ]
    if word.lower:  # read as a common word, with no key
        return [[word.lower] for _ in parts]
    return parts


def _spelled_as_held(word: str, key: str, names: Callable[[str, tuple[str, ...]], bool]) -> str:
    """The term a name in a topic has spelled the other language's way where a passage holds
    it with the name's `key` (`Винница`: `вінниц`, `Києві`: `киев`; `languages.name_spellings`),
    or "": its own term, which such a passage does not hold, weighed against the reading."""
    folded = unicodedata.normalize("NFKC", word).casefold()
    return next((spelling for spelling in name_spellings(folded) if names(key, (spelling,))), "")


def most_selective(terms: Sequence[str], doc_freq: Callable[[str], int], limit: int) -> tuple[str, ...]:
    """The question's terms, keeping only its `limit` most selective distinct ones.

    Scoring costs time in proportion to the postings of the terms scored, so a question
    of thousands of characters of common words could hold the index for a long time
    (search engines cap query clauses for the same reason). The terms found in the
    fewest passages carry the most weight in BM25 and cost the least, so they are kept;
    terms no passage holds come last, as they can match nothing. Ties go to the term
    asked first. Kept terms keep their order and repeats (a repeated term counts more);
    a question with at most `limit` distinct terms is returned whole.
    """
    distinct = list(dict.fromkeys(terms))
    if len(distinct) <= limit:
        return tuple(terms)
    frequency = {term: doc_freq(term) for term in distinct}
    ranked = sorted(distinct, key=lambda term: (frequency[term] == 0, frequency[term]))
    kept = set(ranked[:limit])
    return tuple(term for term in terms if term in kept)

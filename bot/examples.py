"""An example question for /help that the corpus answers: made from a dated event, checked by asking it.

A "who" question keeps the sentence's own verb and puts "Who" in place of its subject, so
it stays grammatical without a parser: "On October 18, Zelenskyy announced that a plan for
negotiations with Russia will be ready in November." becomes "Who announced that a plan
for negotiations with Russia will be ready in November?" The same works in Ukrainian and
Russian ("Хто заявив, що ...?", "Кто заявил, что ...?"). An English event without a named
subject can still give a "when" question, its verb back in the infinitive: "The harbour of
Odesa reopened on Sunday after three months of repairs." becomes "When did the harbour of
Odesa reopen?". Sentences that fit neither pattern are skipped, and a question is offered
only if asking it ranks the event's own article first.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Callable, Iterable

import simplemma

from retrieval import Event, Library

MAX_WORDS = 12
"""Words after the verb, at most: a longer question is cut before a preposition, or skipped."""
MAX_SUBJECT = 7
TRIED = 40
"""Events tried, newest first, before /help goes without an example."""

_WHO = {"en": "Who", "uk": "Хто", "ru": "Кто"}
_JOINERS = frozenset({"of", "the", "de", "da", "von", "van", "al", "bin", "le", "la", "du"})
_ROLES = frozenset(
    "president minister chancellor prime secretary spokesman spokeswoman spokesperson mayor governor "
    "ambassador envoy commander chief leader head king queen pope senator general director "
    "президент міністр министр прем'єр премьер голова глава мер посол речник спікер спикер "
    "командувач командующий директор директорка засновник засновниця основатель".split()
)
_PREPOSITIONS = frozenset(
    "for in on at during after before from amid with by over under of to into "
    "у в на для під після до з із через про за по при "
    "во под после из о об к".split()
)
_EN_IRREGULAR = frozenset(
    "said told met held made took gave won lost sent spoke began left led bought sold struck hit "
    "shot fled found became brought kept set put went came wrote saw chose drew fell ran beat".split()
)
_EN_PAST = re.compile(r"[a-z]{2,}ed")
_UK_RU_PAST = re.compile(r"[а-яіїєґё'’ʼ]{2,}(?:в|л|ла|ли|ло)")
_SINGULAR = re.compile(r"(?<=[аеиіоуяю])(?:ла|ли|ло)$")
_EN_STOP = (", ", " and ", " but ", " while ", " amid ", "; ", " — ", " – ", " which ", " who ")
_EN_STOP_IN_CLAUSE = (", ", "; ", " — ", " – ")
_UK_RU_STOP = (", ", " і ", " й ", " та ", " а ", " але ", " и ", " но ", "; ", " — ", " – ")
_CLAUSE = re.compile(r"that\s")
_NAME = re.compile(r"[\w'’.-]+")
_EN_PRESENT = re.compile(r"[a-z]{2,}s")
_AUXILIARIES = frozenset(
    "is are was were be been has have had will would can could may might does did".split()
)
_PRESENT_ENDINGS = (("ies", "y"), ("sses", "ss"), ("shes", "sh"), ("ches", "ch"), ("xes", "x"))
_DETERMINERS = frozenset({"The", "A", "An"})
_VAGUE_SUBJECTS = frozenset("it he she they we i you this that these those there however but and".split())
_CLAUSE_BREAK = r",|;| and | but | while | amid "
_DATE_STARTS = (
    r"(?:(?:on|in|at|last|this|since|by|during|throughout|early|late) "
    r"(?:\d|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|January|February|March|April|May|"
    r"June|July|August|September|October|November|December|the (?:morning|evening|night|weekend)|"
    r"week|month|year)|yesterday|today)"
)
"""Where the date of an event starts: the answer, so not in the question."""


def who_question(sentence: str) -> str | None:
    """A "who" question whose answer is the named subject of `sentence`; None if it has none."""
    language = _language(sentence)
    if language is None:
        return None
    words = " ".join(sentence.split()).split(" ")
    verb_at = next((i for i, word in enumerate(words) if _is_past_verb(word.rstrip(","), language)), None)
    if verb_at is None or not _has_named_subject(words, verb_at):
        return None
    verb = words[verb_at].rstrip(",")
    comma = "," if words[verb_at].endswith(",") else ""  # `заявив, що ...`: the comma opens the clause
    rest = _trim(comma + " " + " ".join(words[verb_at + 1 :]), language)
    if rest is None:
        return None
    return f"{_WHO[language]} {_masculine(verb, language)}{rest}?"


Example = tuple[str, str]
"""A question and the id of the article that answers it."""


def when_question(sentence: str, headline: bool = False) -> str | None:
    """An English "when" question about what `sentence` says happened; None if it does not fit.

    The subject is what stands between the last comma before the verb (after `On October
    16,`) and the verb; the verb is the first one in the past tense that is not an
    auxiliary (a passive is skipped), or in a `headline`, where news writes the past in the
    present, a present one after a subject of at most three words (`Odesa harbour reopens`:
    a longer run would take a plural noun for a verb). What follows the verb is kept up to
    the date or the first clause break, as the date is the answer.
    """
    if _language(sentence) != "en":
        return None
    words = " ".join(sentence.split()).split(" ")
    verb_at = next(
        (i for i, word in enumerate(words) if i > 0 and _infinitive(word, present=headline and i <= 3)),
        None,
    )
    if verb_at is None or any(word.lower() in _AUXILIARIES for word in words[:verb_at]):
        return None
    start = max((i + 1 for i, word in enumerate(words[:verb_at]) if word.endswith(",")), default=0)
    subject = words[start:verb_at]
    if not subject or len(subject) > MAX_SUBJECT or subject[0].lower() in _VAGUE_SUBJECTS:
        return None
    if any(_NAME.fullmatch(word) is None for word in subject):
        return None
    if subject[0] in _DETERMINERS:
        subject = [subject[0].lower(), *subject[1:]]
    rest = " " + " ".join(words[verb_at + 1 :]).rstrip(" .!?…")
    breaks = ",|;" if rest.startswith(" that ") else _CLAUSE_BREAK  # `said that X and Y`: one clause
    cut = re.search(f"{breaks}| {_DATE_STARTS}", rest)
    rest_words = rest[: cut.start() if cut else len(rest)].split()
    if len(rest_words) > MAX_WORDS:
        return None
    infinitive = _infinitive(words[verb_at], present=headline)
    return " ".join(["When did", *subject, str(infinitive), *rest_words]) + "?"


def _infinitive(word: str, present: bool = False) -> str | None:
    """`reopened` -> `reopen`, `made` -> `make`, and with `present`, `crosses` -> `cross`;
    None for a word that is not such a verb (as far as its form tells)."""
    if word.lower() in _AUXILIARIES or not word.islower():
        return None
    if word in _EN_IRREGULAR or _EN_PAST.fullmatch(word):
        lemma = simplemma.lemmatize(word, lang="en")
        return lemma if lemma != word else None
    if present and _EN_PRESENT.fullmatch(word) and not word.endswith(("ss", "us", "is", "ws")):
        for suffix, infinitive in (
            ("ies", "y"),
            ("sses", "ss"),
            ("shes", "sh"),
            ("ches", "ch"),
            ("xes", "x"),
        ):
            if word.endswith(suffix):
                return word[: -len(suffix)] + infinitive
        return word[:-1]
    return None


def example_question(events: Iterable[Event], answers_first: Callable[[str, str], bool]) -> Example | None:
    """The first question made from `events` (newest first) that `answers_first(question,
    article_id)` confirms ranks the event's article first; None if none in `TRIED` events."""
    newest = list(itertools.islice(events, TRIED))
    headlines = [event for event in newest if event.sentence == event.headline]
    candidates = [
        *((who_question(event.sentence), event) for event in newest),
        *((when_question(event.sentence), event) for event in newest if event not in headlines),
        *((when_question(event.sentence, headline=True), event) for event in headlines),
    ]  # a "who", then a "when" from a sentence, then one from a headline: the best-formed first
    for question, event in candidates:
        if question is not None and answers_first(question, event.article_id):
            return question, event.article_id
    return None


def for_library(
    library: Library, previous: Example | None = None, now: dt.date | None = None
) -> Example | None:
    """The example for `library`: `previous` if it still ranks its article first (one search),
    else a new one from the newest events. A reload needs no bookkeeping: it is checked anew.

    With `now`, asked as a reader asks it that day: recency then ranks a newer follow-up of
    the story above the event's own article, and an article dated later answers nothing.
    """

    def answers_first(question: str, article_id: str) -> bool:
        hits = library.search(question, k=3, now=now).hits
        return bool(hits) and hits[0].article.id == article_id

    if previous is not None and answers_first(*previous):
        return previous
    timeline = library.timeline if now is None else library.timeline_as_of(now)
    return example_question(timeline.events, answers_first)


def _language(text: str) -> str | None:
    """`en`, `uk` or `ru` by the letters of `text`; None for another script."""
    if re.search(r"[іїєґІЇЄҐ]", text):
        return "uk"
    if re.search(r"[а-яёА-ЯЁ]", text):
        return "ru"
    return "en" if re.search(r"[A-Za-z]", text) else None


def _is_past_verb(word: str, language: str) -> bool:
    """A verb in the past tense; Ukrainian and Russian reflexive ones (`відбувся`) are left
    out, as their subject is seldom the one who acted."""
    if language == "en":
        return word in _EN_IRREGULAR or _EN_PAST.fullmatch(word) is not None
    if _UK_RU_PAST.fullmatch(word) is None:
        return False
    if word.endswith("в"):  # also a genitive plural: `фінансів`, `депутатов`
        return language == "uk" and _ukrainian_verb(word)
    return True


def _ukrainian_verb(word: str) -> bool:
    """Whether a Ukrainian word in -в is a verb (`заявив`, `розповів`) rather than a noun
    (`фінансів`, `кров`): its dictionary lemma is an infinitive, or it is not in the
    dictionary, where its form is all there is to go by. Russian has no past in -в."""
    if not simplemma.is_known(word, lang="uk"):
        return True
    return simplemma.lemmatize(word, lang="uk").endswith(("ти", "тися", "ть", "тись"))


def _has_named_subject(words: list[str], verb_at: int) -> bool:
    """Whether the words right before the verb name someone: capitalized words, with `of`,
    `the` and role nouns (`president`) between them, not governed by a preposition (`В
    Днепре открыли`), and holding a capital that is not merely the sentence's first letter."""
    start = verb_at
    while start > 0 and _in_name(words[start - 1]):
        start -= 1
    while start < verb_at and words[start].lower() in _JOINERS:
        start += 1
    subject = words[start:verb_at]
    if not subject or len(subject) > MAX_SUBJECT:
        return False
    if start > 0 and words[start - 1].lower().strip(",") in _PREPOSITIONS:
        return False
    return any(word[:1].isupper() for position, word in enumerate(subject, start) if position > 0)


def _in_name(word: str) -> bool:
    lower = word.lower()
    if _NAME.fullmatch(word) is None or lower in _PREPOSITIONS - _JOINERS:
        return False
    return word[:1].isupper() or lower in _JOINERS or lower in _ROLES


def _masculine(verb: str, language: str) -> str:
    """ "Хто"/"Кто" takes a masculine singular verb: `розповіла` -> `розповів`, `заявила` -> `заявил`."""
    if language == "en":
        return verb
    return _SINGULAR.sub("в" if language == "uk" else "л", verb)


def _trim(rest: str, language: str) -> str | None:
    """What follows the verb (with its leading space or comma), up to the first clause break,
    at most `MAX_WORDS` words."""
    rest = rest.rstrip(" .!?…")
    clause = re.match(r", (?:що|щоб|что|чтобы) ", rest) if language != "en" else None
    if clause:  # the comma before що / что opens the clause: look for a break after it
        inside = _trim(" " + rest[clause.end() :], language)
        return None if inside is None else rest[: clause.end() - 1] + inside
    rest = rest.lstrip(", ")
    if not rest or rest[0].isdigit():  # a date right after the verb: the object came first
        return None
    stops: tuple[str, ...] = _UK_RU_STOP
    if language == "en":  # `said that X and Y`: the "and" is inside the clause
        stops = _EN_STOP_IN_CLAUSE if _CLAUSE.match(rest) else _EN_STOP
    cut = min((at for at in (rest.find(stop, 1) for stop in stops) if at > 0), default=len(rest))
    words = rest[:cut].split()
    if len(words) > MAX_WORDS:
        at = max((i for i in range(3, MAX_WORDS + 1) if words[i].lower() in _PREPOSITIONS), default=None)
        if at is None:
            return None
        words = words[:at]
    if len(words) < 2 or not re.search(r"\w", words[-1]):
        return None
    return " " + " ".join(words).rstrip(",:;")

"""Ukrainian and Russian words -> index terms.

Russian words are stemmed with Snowball. Snowball has no Ukrainian, so a Ukrainian word
is first looked up in simplemma's Ukrainian dictionary of word forms (`переговорів` ->
`переговори`, `мосту` -> `міст`; simplemma's rules for words it lacks are not used,
since they make Russian words into false Ukrainian ones) and its lemma is then stemmed
the same way. Stemming the lemma meets forms
the dictionary lacks (`причали`, `причалів`) halfway, and lands many Ukrainian words on
the stem of their Russian cognate (`переговорів` and `переговоров` meet on `переговор`),
so a Russian question still finds a Ukrainian article by its names and shared roots.

Which language a word is in, its letters tell when it has one of і ї є ґ (Ukrainian
only) or ы э ъ ё (Russian only). About half the words of a Ukrainian text have neither
(`переговори`, `мосту`, `заявила`); where the two readings of such a word differ, the
text it stands in decides, by its letters and its function words (`що`, `та` against
`что`, `и`), and a text with no such evidence reads as Ukrainian. Choices and the
measurements behind them: `bench/languages.py`.
"""

from __future__ import annotations

import re
from functools import cache

import simplemma
import Stemmer
from simplemma.strategies import DictionaryLookupStrategy

__all__ = ["RUSSIAN_STOP_WORDS", "UKRAINIAN_STOP_WORDS", "is_russian_text", "readings"]

# Snowball's Russian stop-word list (snowballstem.org, algorithms/russian/stop.txt), less
# the numerals один, два, три (news answers are numbers: "три місяці"), plus the ё
# spellings of её, ещё, всё, неё and the question words почему, сколько, откуда,
# as the English list has why and how.
RUSSIAN_STOP_WORDS: frozenset[str] = frozenset(
    """
    и в во не что он на я с со как а то все она так его но да ты к у же вы за бы по только
    ее мне было вот от меня еще нет о из ему теперь когда даже ну вдруг ли если уже или ни
    быть был него до вас нибудь опять уж вам ведь там потом себя ничего ей может они тут где
    есть надо ней для мы тебя их чем была сам чтоб без будто чего раз тоже себе под будет ж
    тогда кто этот того потому этого какой совсем ним здесь этом почти мой тем чтобы нее
    сейчас были куда зачем всех никогда можно при наконец об другой хоть после над больше тот
    через эти нас про всего них какая много разве эту моя впрочем хорошо свою этой перед
    иногда лучше чуть том нельзя такой им более всегда конечно всю между
    её ещё всё неё почему сколько откуда
    """.split()
)

# Snowball has no Ukrainian list: this one gives, for each word of the Russian list
# above, its Ukrainian counterparts (`и` -> `і`, `й`, `та`; `с` -> `з`, `із`, `зі`),
# with the same numerals left out and the question words чому, скільки, звідки added.
UKRAINIAN_STOP_WORDS: frozenset[str] = frozenset(
    """
    і й та в у на з із зі зо не що він вона воно вони я ми ви ти як а то все всі так його її
    їх але же ж за би б по тільки лише мені мене було був була були бути ось від ще немає
    нема ні о об про тепер коли навіть ну раптом чи якщо вже або до вас нас вам нам ним ними
    них неї нею ньому нього адже там потім себе собі нічого може можна тут де є треба для
    тебе тобі ніж сам сама саме щоб аби без наче ніби чого раз теж також під буде будуть
    тоді хто цей ця це ці цього цієї цих цьому цим цю того тому який яка яке які якого якої
    яких майже мій моя моє мої тим зараз куди навіщо всіх ніколи при нарешті інший хоч хоча
    після над більше той через всього багато хіба втім перед іноді краще трохи такий така
    таке такі завжди звісно всю між їй йому чому скільки звідки
    """.split()
)
STOP_WORDS = RUSSIAN_STOP_WORDS | UKRAINIAN_STOP_WORDS

_UKRAINIAN_LETTERS = frozenset("іїєґ")
_RUSSIAN_LETTERS = frozenset("ыэъё")
_APOSTROPHES = str.maketrans({"’": "'", "ʼ": "'"})
_RUSSIAN = Stemmer.Stemmer("russian")


def _evidence(letters: str, words: frozenset[str]) -> re.Pattern[str]:
    """Letters of one language, or function words only it has and that have none of them."""
    plain = sorted(
        word for word in words if _UKRAINIAN_LETTERS.isdisjoint(word) and _RUSSIAN_LETTERS.isdisjoint(word)
    )
    return re.compile(rf"[{letters}]|\b(?:{'|'.join(plain)})\b", re.IGNORECASE)


_UKRAINIAN_EVIDENCE = _evidence("іїєґ", UKRAINIAN_STOP_WORDS - RUSSIAN_STOP_WORDS)
_RUSSIAN_EVIDENCE = _evidence("ыэъё", RUSSIAN_STOP_WORDS - UKRAINIAN_STOP_WORDS)


def readings(word: str) -> tuple[str, str]:
    """The Ukrainian and the Russian term of a case-folded Cyrillic word ("" for a stop word).

    The two are the same when the word's letters tell its language, or when both
    readings agree, as they do for most words.
    """
    word = word.translate(_APOSTROPHES)
    if word in STOP_WORDS:
        return "", ""
    russian = _stem(word)
    if not _RUSSIAN_LETTERS.isdisjoint(word):
        return russian, russian
    ukrainian = _stem(_ukrainian_lemma(word))
    if not _UKRAINIAN_LETTERS.isdisjoint(word):
        return ukrainian, ukrainian
    return ukrainian, russian


def is_russian_text(text: str) -> bool:
    """Whether the words of `text` that could be either language should read as Russian."""
    russian = len(_RUSSIAN_EVIDENCE.findall(text))
    return russian > 0 and russian > len(_UKRAINIAN_EVIDENCE.findall(text))


def _stem(word: str) -> str:
    stem: str = _RUSSIAN.stemWord(word.replace("'", ""))
    return stem


@cache
def _lemmatizer() -> simplemma.Lemmatizer:
    """simplemma's dictionary lookup, made on first use: its Ukrainian dictionary takes
    about a second and 60 MB to load, which English-only corpora never pay."""
    # no cache of its own: the analyzer caches every word's term
    return simplemma.Lemmatizer(cache_max_size=0, lemmatization_strategy=DictionaryLookupStrategy())


def _ukrainian_lemma(word: str) -> str:
    return _lemmatizer().lemmatize(word, "uk").casefold()

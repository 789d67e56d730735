"""Ukrainian and Russian words -> index terms.

Russian words are stemmed with Snowball, and Russian names read as their nominative in
simplemma's Russian dictionary, as Snowball reads many a name's nominative as a plural's
or a verb's form (`Киев` `ки`, `Киеве` `киев`). Snowball has no Ukrainian, so a Ukrainian word
is first looked up in simplemma's Ukrainian dictionary of word forms (`переговорів` ->
`переговори`, `мосту` -> `міст`; simplemma's rules for words it lacks are not used,
since they make Russian words into false Ukrainian ones) and its lemma is then stemmed
the same way. The stem meets forms the lemma alone would not (`переговори`, which has no
telling letter, with `переговорів`), and lands many Ukrainian words on the stem of their
Russian cognate (`переговорів` and `переговоров` on `переговор`), so a Russian question
still finds a Ukrainian article by its names and shared roots.

Which language a word is in, its letters tell when it has one of і ї є ґ (Ukrainian
only) or ы э ъ ё (Russian only). About half the words of a Ukrainian text have neither
(`переговори`, `мосту`, `заявила`); where the two readings of such a word differ, the
text it stands in decides: Russian when more of its words tell Russian than Ukrainian,
by those letters or as function words only one language has (`что`, `и` against `що`,
`та`), else Ukrainian. Choices and the measurements behind them: `bench/languages.py`.
"""

from __future__ import annotations

import itertools
import re
from array import array
from bisect import bisect_left
from collections.abc import Iterator
from functools import cache
from typing import Literal, NamedTuple

import numpy as np
import simplemma
import Stemmer
import xxhash
from simplemma.strategies import DefaultDictionaryFactory, DictionaryLookupStrategy

__all__ = [
    "CYRILLIC",
    "NAME_KEY",
    "RUSSIAN_STOP_WORDS",
    "UKRAINIAN_STOP_WORDS",
    "Reading",
    "cognates",
    "common_word",
    "name_key",
    "name_spellings",
    "names",
    "other_spellings",
    "read",
    "surname_key",
    "unknown_word",
]

CYRILLIC = re.compile("[\u0400-\u04ff]")
"""A Cyrillic letter: a text without one has no Ukrainian or Russian word, and skips what
reads them (the analyzer's Cyrillic words, the dates and question words of both languages)."""

# Snowball's Russian stop-word list (snowballstem.org, algorithms/russian/stop.txt), less
# the numerals один, два, три (news answers are numbers: "три місяці"), plus это (the
# list has every other form of этот), the ё spellings of её, ещё, всё, неё and the
# question words почему, сколько, откуда, as the English list has why and how.
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
    это её ещё всё неё почему сколько откуда
    """.split()
)

# Snowball has no Ukrainian list: this one gives, for each word of the Russian list
# above, its Ukrainian counterparts (`и` -> `і`, `й`, `та`; `с` -> `з`, `із`, `зі`),
# with the same numerals left out, the question words чому, скільки, звідки added, and
# щодо ("as to"), a preposition Ukrainian news uses as often as про.
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
    таке такі завжди звісно всю між їй йому чому скільки звідки щодо
    """.split()
)
STOP_WORDS = RUSSIAN_STOP_WORDS | UKRAINIAN_STOP_WORDS

NAME_KEY = "~"
"""What a name's key term begins with: no word's term holds it, so a key meets only keys."""
# The endings a name takes in its cases, either language's, longest first. They are taken
# off again while one is left and at least `_NAME_STEM` letters stay, so that a nominative
# that ends as a case does and its other forms lose the same: `Карабах` and `Карабаху` both
# `караб`, `Крым` and `Крыму` both `крым` (`кр` would be too little, and meet `Корея`).
_NAME_ENDINGS = tuple(
    "ові еві єві ого его ому ему ими ыми ами ями ом ем ём ой ей ою ею ам ям ах ях им ым ий ый".split()
)
_NAME_VOWELS = "аеєиіїоуыэюяёйь"
_NAME_STEM = 3
_NAME_SKELETON = str.maketrans({**dict.fromkeys("аеєиіїоуыэюяёйьъ'"), "ґ": "г"})
_NAME_LAST = str.maketrans("цз", "кг")  # Америка / Америці, Люксембург / Люксембурзі
_DOUBLED = re.compile(r"(.)\1+")
_NOT_NAMES = frozenset(
    """
    яку якій яким якими якою якому котрий котра котре котрі котрого котрої котрих котрому
    чий чия чиє чиї чийого чиєї кого кому ким чим наскільки відколи доки скількох скількома
    какие каких какую каком какого какому каким какими какое который которая которое
    которые которого которой которых кому кем чей чья чьё чье чьи насколько скольких скольким
    """.split()
)
"""Question words neither stop-word list has: a question's first word is capitalised, and
is no name."""

_UKRAINIAN_LETTERS = frozenset("іїєґ")
_RUSSIAN_LETTERS = frozenset("ыэъё")
_APOSTROPHES = str.maketrans({"’": "'", "ʼ": "'"})
_RUSSIAN = Stemmer.Stemmer("russian")
# Function words only one language has, whose letters do not tell it already.
_UKRAINIAN_FUNCTION_WORDS = frozenset(
    word
    for word in UKRAINIAN_STOP_WORDS - RUSSIAN_STOP_WORDS
    if _RUSSIAN_LETTERS.isdisjoint(word) and _UKRAINIAN_LETTERS.isdisjoint(word)
)
_RUSSIAN_FUNCTION_WORDS = frozenset(
    word
    for word in RUSSIAN_STOP_WORDS - UKRAINIAN_STOP_WORDS
    if _RUSSIAN_LETTERS.isdisjoint(word) and _UKRAINIAN_LETTERS.isdisjoint(word)
)


class Reading(NamedTuple):
    """What the analyzer keeps of one Cyrillic word."""

    ukrainian: str
    """Its term read as Ukrainian, "" for a stop word."""
    russian: str
    """Its term read as Russian: the same unless the word has none of the telling letters."""
    tells: Literal["uk", "ru"] | None
    """The language the word shows its text is in, by its letters or as a function word
    only that language has (`що`, `та`; `что`, `и`), if it shows one."""


def read(word: str, capital: bool = False) -> Reading:
    """The Ukrainian and the Russian term of a case-folded Cyrillic word, and what it tells.

    `capital`: the word was written with a capital, and is looked up in simplemma's
    dictionaries so first, as they write their names: `Києві` is a form of `Київ`, `києві`
    of `кий` (a cue stick), `Максима` of `Максим`, `максима` of `максима` (a maxim); read as
    Russian, `Киеве` is a form of `Киев` (`_russian_name`). A name the dictionary of its
    language lacks is its letters with its case endings off (`_name_stem`). A word written
    in lower case is read as a word; what it gives read as a name (`names`) only a question
    asks for."""
    word = word.translate(_APOSTROPHES)
    tells = _tells(word)
    if word in STOP_WORDS:
        return Reading("", "", tells)
    if capital:
        name, russian_name = _name_terms(word, tells)
        ukrainian = name or _stem_lemma(_ukrainian_lemma(word[:1].upper() + word[1:]))
    else:
        russian_name = ""
        ukrainian = _stem_lemma(_ukrainian_lemma(word)) if tells != "ru" else ""
    if tells == "uk":
        return Reading(ukrainian, ukrainian, tells)
    russian = russian_name or _stem(word)
    return Reading(russian, russian, tells) if tells == "ru" else Reading(ukrainian, russian, tells)


def names(word: str) -> tuple[str, str]:
    """A case-folded Cyrillic word typed in lower case read as a name, as Ukrainian and as
    Russian ("" for none): the term of the name the dictionary of its language knows it as a
    form of with a capital, or of the word as a name where the dictionary lacks it (`києві`:
    `київ`, beside `ки`; `ивана`: `иван`, beside `ива`), for a question typed in lower case.
    Made apart from `read`, as only questions ask for it: an article writes its names with a
    capital."""
    word = word.translate(_APOSTROPHES)
    if word in STOP_WORDS:
        return "", ""
    return _name_terms(word, _tells(word))


def _name_terms(word: str, tells: Literal["uk", "ru"] | None) -> tuple[str, str]:
    """A word read as a name, as Ukrainian and as Russian (see `read` and `names`)."""
    capitalised = word[:1].upper() + word[1:]
    lemma = _name_lemma(capitalised) if tells != "ru" else ""
    russian_name = _russian_name(word, capitalised, bool(lemma)) if tells != "uk" else ""
    if tells == "ru":
        return russian_name, russian_name
    if lemma:
        name = _stem_lemma(lemma.casefold())
    elif _unknown(word, capitalised, "uk"):  # a name, unless the Russian dictionary knows it as none
        name = _name_stem(word) if tells == "uk" else russian_name
    else:
        name = ""
    return name, name if tells == "uk" else russian_name


def name_key(word: str) -> str:
    """The key of a case-folded Cyrillic word written as a name, or "" for a question word
    or a key of one consonant: `NAME_KEY` and the consonants left once its case endings are
    removed, with no vowel of either language, no й, ь, ъ or apostrophe, ґ as г and a
    doubled letter once. A form simplemma's Ukrainian dictionary knows as a name's is keyed
    by that name's nominative (`Києві`, `Кримом`, `Вадимові`, `Шевченкові` as `Київ`,
    `Крим`, `Вадим`, `Шевченко`), the endings alone only for words it lacks.

    The Ukrainian and the Russian spelling of one place or person differ most in their
    vowels (Харків / Харьков, Київ / Киев, Запоріжжя / Запорожье, Одеса / Одесса), which
    neither the Ukrainian lemma nor Russian Snowball bring together; their consonants
    agree. Names whose consonants differ stay apart (Миколаїв / Николаев).
    """
    word = word.translate(_APOSTROPHES)
    if word in _NOT_NAMES:
        return ""
    lemma = ""
    capitalised = word[:1].upper() + word[1:]
    if _RUSSIAN_LETTERS.isdisjoint(word):  # a word with Russian letters is in no Ukrainian dictionary
        lemma = _name_lemma(capitalised).casefold()
    if not lemma and _UKRAINIAN_LETTERS.isdisjoint(word):
        lemma = _russian_lemma(word, capitalised)
    word = lemma or word
    skeleton = _DOUBLED.sub(r"\1", _name_stem(word).translate(_NAME_SKELETON))
    if len(skeleton) < 2:
        return ""
    return NAME_KEY + skeleton[:-1] + skeleton[-1].translate(_NAME_LAST)


# How a Russian name's letters may be written in its Ukrainian spelling (`Винница`, `Вінниця`;
# `Изюм`, `Ізюм`; `Крым`, `Крим`; `Эрдоган`, `Ердоган`; `Умеров`, `Умєров`; `Днепр`, `Дніпро`;
# `Киев`, `Київ`; `Львов`, `Львів`), and how many of a word's vowel spellings are tried at most
_UKRAINIAN_SPELLINGS = {"и": "иі", "ы": "и", "э": "е", "ё": "е", "е": "еєії", "о": "оі"}
# and a Ukrainian name's in its Russian spelling (`Вінниця`, `Винница`; `Київ`, `Киев`; `Дніпро`,
# `Днепр`; `Крим`, `Крым`; `Ердоган`, `Эрдоган`)
_RUSSIAN_SPELLINGS = {"і": "иео", "ї": "еи", "є": "е", "и": "иы", "е": "еэ"}
_SPELLINGS = 16


def other_spellings(word: str) -> tuple[str, ...]:
    """The terms a case-folded Russian word typed in lower case would have as a name spelled
    the Ukrainian way, its own letters otherwise, none its own term: `виннице` (`винниц`) as
    `вінниц`, `изюме` as `ізюм`, each vowel of its name's letters (`_name_stem`) swapped as the
    other spelling may write it (`_UKRAINIAN_SPELLINGS`), at most `_SPELLINGS` of them. A corpus
    that holds one of them with the word's key names what the word may be typed for."""
    word = word.translate(_APOSTROPHES)
    own = _stem(word)
    spellings = dict.fromkeys(itertools.chain(_spelled(_name_stem(word)), _spelled(own)))
    return tuple(spelling for spelling in spellings if spelling != own)


def name_spellings(word: str) -> tuple[str, ...]:
    """The terms a case-folded Cyrillic word written as a name would have spelled the other
    language's way, none its own letters: a word with a Ukrainian letter as Russian (`києві`:
    `киев`, `дніпро`: `днепр`), any other as Ukrainian (`винница`: `вінниц`), each vowel of
    its name's letters (`_name_stem` of the nominative a dictionary lists it under, as for
    `name_key`) swapped as the other spelling may write it, at most `_SPELLINGS` of them; then
    each of those with its consonants written otherwise (`_soft_or_doubled`: `харків` as
    `харьков`, `одеса` as `одесс`, `запорожье` as `запоріжж`), which the name's key, made of
    its consonants once each, ignores too. A corpus that holds one with the word's key writes
    the name so."""
    word = word.translate(_APOSTROPHES)
    capitalised = word[:1].upper() + word[1:]
    lemma = _name_lemma(capitalised).casefold() if _RUSSIAN_LETTERS.isdisjoint(word) else ""
    if not lemma and _UKRAINIAN_LETTERS.isdisjoint(word):
        lemma = _russian_lemma(word, capitalised)
    letters = _name_stem(lemma or word)
    ukrainian = not _UKRAINIAN_LETTERS.isdisjoint(lemma or word)
    spelled = list(_spelled(letters, _RUSSIAN_SPELLINGS if ukrainian else _UKRAINIAN_SPELLINGS))
    written = itertools.chain(spelled, (each for spelling in spelled for each in _soft_or_doubled(spelling)))
    return tuple(spelling for spelling in dict.fromkeys(written) if spelling != letters)


def _soft_or_doubled(letters: str) -> Iterator[str]:
    """A name's letters as the other language may write its consonants: with no soft sign and
    no doubled letter (`харьков`: `харков`; `одесс`: `одес`; `запоріжж`: `запоріж`), or with one
    soft sign more after a consonant another follows (`харков`: `харьков`; `зеленск`: `зеленськ`),
    or with one consonant doubled (`одес`: `одесс`; `запоріж`: `запоріжж`)."""
    plain = _DOUBLED.sub(r"\1", letters.replace("ь", ""))
    if plain != letters:
        yield plain
    consonants = [  # not the first, nor one of a doubled pair
        place
        for place, letter in enumerate(letters)
        if place
        and letter not in _NAME_VOWELS
        and letter not in (letters[place - 1], letters[place + 1 : place + 2])
    ]
    for place in consonants:
        if place + 1 < len(letters) and letters[place + 1] not in _NAME_VOWELS:
            yield letters[: place + 1] + "ь" + letters[place + 1 :]
    for place in consonants:
        yield letters[: place + 1] + letters[place] + letters[place + 1 :]


def _spelled(letters: str, spellings: dict[str, str] = _UKRAINIAN_SPELLINGS) -> Iterator[str]:
    """A name's letters as either language may spell them, themselves first (`_SPELLINGS`)."""
    choices = [spellings.get(letter, letter) for letter in letters]
    for spelled in itertools.islice(itertools.product(*choices), _SPELLINGS):
        yield "".join(spelled)


# How a common word's letters change in the other language's cognate (`выборы`, `вибори`;
# `министр`, `міністр`; `снег`, `сніг`; `мост`, `міст`; `сборная`, `збірна`; `беженцы`,
# `біженці`; `інтерв'ю`, `интервью`): letters the other language lacks, each swapped always,
# and letters it shares, at most `_COGNATE_SWAPS` of them swapped in one word; a first `с` or
# `з` before a consonant as the other.
_TO_UKRAINIAN = ({"ы": "иі", "э": "е", "ё": "ео", "ъ": "'"}, {"и": "і", "е": "ієїи", "о": "і"}, "сз")
_TO_RUSSIAN = ({"і": "иео", "ї": "еи", "є": "е", "'": "ъь"}, {"и": "ы", "е": "э"}, "зс")
_COGNATE_SWAPS = 2
_COGNATE_LETTERS = 4
"""The fewest letters a word has a cognate by: a shorter one meets too many others by chance
(`пік`, a peak, spelled `пок`, as `поки`, while, is read), and an acronym (`ЕС`, `ЄС`) may meet
articles its own letters did not."""
_VOWELS = "аеєиіїоуыэюяё"


def cognates(word: str) -> tuple[str, ...]:
    """The terms a case-folded Cyrillic word would have as the other language's cognate, spelled
    by the letters the two languages swap most (`_TO_UKRAINIAN`, `_TO_RUSSIAN`) and read as that
    language reads it, the fewest swaps first, none of the word's own terms: `выборы` gives
    `вибор` (`вибори`), `цены` `ціна` (`ціни`), `сборная` `збірни` (`збірна`), `обстріл`
    `обстрел`; none of a word shorter than `_COGNATE_LETTERS`. A word with neither kind of
    telling letter is spelled both ways, but not as a language whose dictionary holds it as
    written (`мосту` is Ukrainian as it stands, and `місту` a form of `місто`). Which of them
    name anything, only a corpus tells: a question asks for those its index holds."""
    word = word.translate(_APOSTROPHES)
    if len(word) < _COGNATE_LETTERS or word in STOP_WORDS or not CYRILLIC.search(word):
        return ()
    own = set(read(word)[:2])
    found: dict[str, None] = {}
    if _UKRAINIAN_LETTERS.isdisjoint(word) and word not in _DICTIONARIES.get_dictionary("uk"):
        for spelling in _cognate_spellings(word, *_TO_UKRAINIAN):
            found[_stem_lemma(_ukrainian_lemma(spelling))] = None
    if _RUSSIAN_LETTERS.isdisjoint(word) and word not in _russian_dictionary():
        for spelling in _cognate_spellings(word, *_TO_RUSSIAN):
            found[_stem(spelling)] = None
    return tuple(term for term in found if term and term not in own)


def _cognate_spellings(
    word: str, always: dict[str, str], at_most: dict[str, str], first: str
) -> Iterator[str]:
    """`word` spelled as the other language may write it (`cognates`), the fewest swaps first."""
    kept: list[tuple[str, ...]] = []  # each letter as it stays unless swapped: itself, or its options
    swapped: dict[int, str] = {}
    for place, letter in enumerate(word):
        kept.append(tuple(always[letter]) if letter in always else (letter,))
        other = at_most.get(letter, "")
        if place == 0 and letter == first[0] and word[1:2] and word[1] not in _VOWELS:
            other += first[1]
        if other and letter not in always:
            swapped[place] = other
    for swaps in range(_COGNATE_SWAPS + 1):
        for places in itertools.combinations(swapped, swaps):
            letters = [tuple(swapped[place]) if place in places else each for place, each in enumerate(kept)]
            for spelled in itertools.product(*letters):
                if (spelling := "".join(spelled)) != word:
                    yield spelling


_SURNAME_ENDINGS = ("ов", "ев", "єв")
_SURNAME_DATIVES = ("ові", "еві", "єві")


def surname_key(word: str) -> tuple[str, tuple[str, ...]]:
    """The key and the terms, in either spelling, that a case-folded name neither dictionary
    holds whose letters end in `-ов`, `-ев` or `-єв` (`_name_stem`: `Умєров`, `Умерова`) has in a
    text that writes its dative or locative in `-ові`: `Умєрові` is keyed and read without the
    `-ов` (`~мр`, `умєр`), as nothing tells it from the `-ові` of a name in another consonant
    (`Макронові`, `Макрон`), which most such forms are; ("", ()) for any other word. And the
    other way: a form in `-ові`, `-еві` or `-єві` itself (`Умєрові`) gets the key and the terms
    of its nominative in `-ов`, `-ев` or `-єв` (`~мрв`; `умєров`, `умеров`), which a text writing
    that nominative (`Умєров`) or its other cases (`Умєрова`) has."""
    word = word.translate(_APOSTROPHES)
    stem = _name_stem(word)
    dative = word.endswith(_SURNAME_DATIVES) and len(word) - 3 >= _NAME_STEM
    if dative:
        stem = word[:-1]  # `умєрові` -> `умєров`
    elif not stem.endswith(_SURNAME_ENDINGS) or len(stem) - 2 < _NAME_STEM:
        return "", ()
    dictionary = _russian_dictionary()
    for form in (word, stem):  # the name, if its nominative is listed (`Петровым`, `Петров`)
        capitalised = form[:1].upper() + form[1:]
        if not _unknown(form, capitalised, "uk") or form in dictionary or capitalised in dictionary:
            return "", ()
    if dative:
        key = name_key(stem)
        return (key, tuple(dict.fromkeys((stem, *_spelled(stem.replace("є", "е")))))) if key else ("", ())
    key = name_key(stem[:-2])
    return (key, tuple(_spelled(stem[:-2]))) if key else ("", ())


def _name_stem(word: str) -> str:
    """A name's letters once its case endings are taken off, again while one is left and at
    least `_NAME_STEM` letters stay, so that a nominative that ends as a case does and its
    other forms lose the same (`Карабах`, `Карабаху`: `караб`), ё as е, no apostrophe."""
    word = word.replace("ё", "е").replace("'", "")
    while True:
        if word.endswith(_NAME_ENDINGS):
            stem = next(word[: -len(ending)] for ending in _NAME_ENDINGS if word.endswith(ending))
        else:
            stem = word.rstrip(_NAME_VOWELS)
        if stem == word or len(stem) < _NAME_STEM:
            return word
        word = stem


def _tells(word: str) -> Literal["uk", "ru"] | None:
    if not _UKRAINIAN_LETTERS.isdisjoint(word) or word in _UKRAINIAN_FUNCTION_WORDS:
        return "uk"
    if not _RUSSIAN_LETTERS.isdisjoint(word) or word in _RUSSIAN_FUNCTION_WORDS:
        return "ru"
    return None


# Russian Snowball's verb endings (those of its first group follow а or я), less those an
# adjective's ending is too, which it takes off as an adjective's first; then a noun's endings.
_VERB_AFTER_A = frozenset("ла на ете йте ли й л н ло но ет ют ны ть ешь нно".split())
_VERB = frozenset(
    "ила ыла ена ейте уйте ите или ыли уй ил ыл ен ило ыло ено ят ует уют ит ыт ены ить ыть ишь ю".split()
)
_NOUN = tuple(
    sorted(
        """а ев ов ие ье е иями ями ами еи ии и ией ей ой ий й иям ям ием ем ам ом о у ах иях ях ы ь
        ию ью ю ия ья я""".split(),
        key=len,
        reverse=True,
    )
)
_SNOWBALL_VOWELS = "аеиоуыэюя"
# What a verb's stem or a short adjective's ends with in the dictionary form it is listed under
_VERB_AFTER_A_LEMMAS = ("ть", "ться", "нный", "ный")
_VERB_LEMMAS = (
    *(
        end + reflexive
        for end in "ить ыть еть ать ять уть оть овать евать".split()
        for reflexive in ("", "ся")
    ),
    "ный",
)


def _stem(word: str) -> str:
    """Russian Snowball's stem, but of a noun it reads as a verb's form: the stem a noun's
    case ending off leaves. Snowball tries a verb's endings before a noun's, so it takes
    `-л`, `-ла` off `финал`, `финала`, `футзал` (`фина`, `футза`) and `-ит` off `визит`
    (`виз`), while their other cases keep the `л`, the `т` (`финале`, `визита`: `финал`,
    `визит`), and a Ukrainian lemma met the Russian forms of its cognate on neither. Where
    the Russian dictionary holds the word's stem as a noun would leave it (`финал`,
    `визит`) and no verb or adjective it would be a form of (`финать`, `визить`), that stem
    is the word's; a verb keeps Snowball's (`сказала`: `сказа`, of `сказать`)."""
    word = word.replace("'", "").replace("ё", "е")
    stem: str = _RUSSIAN.stemWord(word)
    ending = word[len(stem) :]
    if not word.startswith(stem) or not (
        ending in _VERB or (ending in _VERB_AFTER_A and stem.endswith(("а", "я")))
    ):
        return stem
    noun = _noun_stem(word)
    dictionary = _russian_dictionary()
    if noun == stem or noun not in dictionary:
        return stem
    lemmas = _VERB_LEMMAS if ending in _VERB else _VERB_AFTER_A_LEMMAS
    return stem if any(stem + end in dictionary for end in lemmas) else noun


def _noun_stem(word: str) -> str:
    """A word's stem as Snowball leaves a noun's: its longest noun ending off, after its first
    vowel, then a last `и`, and a last `ь` or the second `н` of `нн`."""
    region = next((place + 1 for place, letter in enumerate(word) if letter in _SNOWBALL_VOWELS), len(word))
    ending = next(
        (ending for ending in _NOUN if word.endswith(ending) and len(word) - len(ending) >= region), ""
    )
    word = word[: len(word) - len(ending)]
    if word.endswith("и") and len(word) > region:
        word = word[:-1]
    if word.endswith("нн") and len(word) - 1 > region:
        return word[:-1]
    return word[:-1] if word.endswith("ь") and len(word) > region else word


def _stem_lemma(lemma: str) -> str:
    """A Ukrainian lemma stemmed as its Russian cognate is: a noun in `-ія` as one in `-ия`
    (`компанія`, `компания`: `компан`), whose ending Russian Snowball knows, where it takes
    the `я` of `-ія` alone (`компані`)."""
    return _stem(lemma[:-2] + "ия" if lemma.endswith("ія") else lemma)


_DICTIONARIES = DefaultDictionaryFactory()


@cache
def _lemmatizer() -> simplemma.Lemmatizer:
    """simplemma's dictionary lookup, made on first use: its Ukrainian dictionary takes
    about a second and 60 MB to load, its Russian one (`_RussianDictionary`) two more seconds
    and 12 MB, which English-only corpora never pay."""
    # no cache of its own: the analyzer caches every word's term
    strategy = DictionaryLookupStrategy(dictionary_factory=_DICTIONARIES)
    return simplemma.Lemmatizer(cache_max_size=0, lemmatization_strategy=strategy)


class _RussianDictionary:
    """simplemma's Russian dictionary, kept as it is looked up here: its forms written with a
    capital (5,525 of them, names and a few sentences' first words) with their lemmas, and a
    64-bit hash of each of its 1.36 million forms, sorted, as the lemmas of the others are
    never asked for. simplemma's own mapping of them holds some 125 MB for as long as the
    process lives; this, 12 MB (the mapping is read once on first use, then dropped)."""

    __slots__ = ("capitalised", "hashes")

    def __init__(self) -> None:
        dictionary = DefaultDictionaryFactory(cache_max_size=0).get_dictionary("ru")
        self.capitalised: dict[str, str] = {}

        def hashes() -> Iterator[int]:
            for form in dictionary:
                if form[:1].isupper():
                    self.capitalised[form] = dictionary[form]
                yield xxhash.xxh3_64_intdigest(form.encode())

        # a Python array searched with `bisect`: a third of numpy's time to find one value
        self.hashes = array(
            "Q", np.sort(np.fromiter(hashes(), dtype=np.uint64, count=len(dictionary))).tobytes()
        )

    def get(self, form: str, default: str = "") -> str:
        """The lemma of a form written with a capital, or `default`."""
        return self.capitalised.get(form, default)

    def __contains__(self, form: str) -> bool:
        if form[:1].isupper():
            return form in self.capitalised
        found = xxhash.xxh3_64_intdigest(form.encode())
        place = bisect_left(self.hashes, found)
        return place < len(self.hashes) and self.hashes[place] == found


@cache
def _russian_dictionary() -> _RussianDictionary:
    return _RussianDictionary()


def common_word(word: str, russian: bool = False) -> bool:
    """Whether simplemma's Ukrainian dictionary, whose names are written with a capital,
    holds a case-folded word in lower case and not with a capital (`ремонт`, `мосту`, not
    `Одесі`): written with a capital, it begins a sentence and names nothing. `russian`: or
    its Russian one, which writes most of its names so too, holds a word with no Ukrainian
    letter so (`вечера`, `открыли`, not `харькове`), and the Ukrainian one knows it as no
    name's form (`трампу`, `романом`: Russian nouns, and forms of names in Ukrainian)."""
    word = word.translate(_APOSTROPHES)
    capitalised = word[:1].upper() + word[1:]
    if _RUSSIAN_LETTERS.isdisjoint(word):
        ukrainian = _DICTIONARIES.get_dictionary("uk")
        if word in ukrainian and capitalised not in ukrainian:
            return True
    if not russian or not _UKRAINIAN_LETTERS.isdisjoint(word):
        return False
    dictionary = _russian_dictionary()
    return word in dictionary and capitalised not in dictionary and not _name_lemma(capitalised)


def unknown_word(word: str) -> bool:
    """Whether a case-folded Cyrillic word may be a common word neither of simplemma's
    dictionaries holds, with a capital or without (`масована`; not `ремонт`, `харків`,
    `переговоры`), nor a surname in `-ов`, `-ев` or `-єв` (`Умеров`, whose `умер` in lower case is
    Snowball's `умер`, died)."""
    word = word.translate(_APOSTROPHES)
    capitalised = word[:1].upper() + word[1:]
    dictionary = _russian_dictionary()
    if not _unknown(word, capitalised, "uk") or word in dictionary or capitalised in dictionary:
        return False
    return not _name_stem(word).endswith(_SURNAME_ENDINGS)


def _name_lemma(capitalised: str) -> str:
    """The name a word written with a capital is a form of, as simplemma's Ukrainian
    dictionary writes it (`Києві`: `Київ`), or "" where the dictionary knows it as no name."""
    dictionary = _DICTIONARIES.get_dictionary("uk")
    lemma = dictionary.get(capitalised, "")
    if lemma.endswith(("ов", "ів")) and capitalised.endswith("ові") and capitalised[:-3] == lemma[:-2]:
        # `Іванові` is listed as a form of the surname `Іванов` alone, not as the dative of
        # `Іван`; where the dictionary knows that first name, the word is read as it
        own = dictionary.get(capitalised[:-3], "")
        lemma = own if own[:1].isupper() else lemma
    return lemma if lemma[:1].isupper() else ""


def _unknown(word: str, capitalised: str, language: Literal["uk", "ru"]) -> bool:
    """Whether simplemma's dictionary of a language lacks a case-folded word, with a capital
    and without."""
    dictionary = _DICTIONARIES.get_dictionary(language)
    return word not in dictionary and capitalised not in dictionary


def _russian_name(word: str, capitalised: str, named: bool) -> str:
    """The term of a case-folded word read as a Russian name: the nominative of the name
    simplemma's Russian dictionary lists it as a form of (`_russian_lemma`), else the word
    itself, with its case endings off (`_name_stem`: `Киев`, `Киеве`, `Киевом` all `киев`);
    "" for a word the dictionary knows in lower case alone, unless the Ukrainian dictionary
    knows it as a name's form (`named`: `Максимом`). Russian Snowball reads many a name's
    nominative as a plural's or a verb's (`Киев` `ки`, a cue stick's term, `Харьков`
    `харьк`, `Богдан` `богда`, `Умеров` `умер`) and its other forms whole (`Киеве` `киев`,
    `Богдану` `богдан`)."""
    lemma = _russian_lemma(word, capitalised)
    if not lemma and not named and word in _russian_dictionary():
        return ""
    return _name_stem(lemma or word)


def _russian_lemma(word: str, capitalised: str) -> str:
    """The nominative, case-folded, of the name simplemma's Russian dictionary lists a word
    written with a capital as a form of (`Нидерландов`: `Нидерланды`), or "". It lists names
    so, a few of them with their lemma in lower case (`Чернигова`: `чернигов`), and a few
    hundred sentences' first words and words of longer names, which are left out: a lemma in
    lower case that begins otherwise (`Тех`: `тот`, `Эгейском`: `море`), or that is not the
    word itself while the dictionary knows the word in lower case (`Одно`: `один`)."""
    dictionary = _russian_dictionary()
    lemma = dictionary.get(capitalised, "")
    folded, plain = lemma.casefold().replace("ё", "е"), word.replace("ё", "е")
    if lemma[:1].islower() and (folded[:3] != plain[:3] or (folded != plain and word in dictionary)):
        return ""
    return folded


def _ukrainian_lemma(word: str) -> str:
    """The lemma of a word as written, case-folded: simplemma tries the other case of its
    first letter only when the word is not found as it is."""
    return _lemmatizer().lemmatize(word, "uk").casefold()

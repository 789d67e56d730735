"""Text -> index terms: one analyzer for passages, headlines and questions alike.

Using the very same function on both sides is what makes `negotiations` in an article
meet `negotiate` in a question, and `U.S.` in an article meet `US` in a question. Each
distinct surface word is normalised, stop-word checked and stemmed once, then served
from a cache: news vocabulary is Zipfian, so after the first few thousand passages almost
every word is a cache hit. A second cache holds the terms of whole pieces of text
between blanks (`talks,`, `U.S.-led`), so that most of a text is read by splitting it at
blanks and one lookup a piece, without the word pattern. Cyrillic words go to `languages`
(Ukrainian and Russian); the few that read differently in each language are read as the
text they stand in is, or, where its words tell neither language more, as its article is
(`article_is_russian`). A Cyrillic word written as a name also gives its name key, the same
for its Ukrainian and Russian spellings, right after its term.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain
from typing import NamedTuple

import Stemmer

from . import languages
from .models import Article

__all__ = [
    "ARTICLE_LEAD",
    "BLANK",
    "STOP_WORDS",
    "VERSION",
    "analyze",
    "analyze_spans",
    "article_is_russian",
    "held_cognate",
    "matched_spans",
    "matched_terms",
    "question_spans",
    "question_words",
    "russian_articles",
    "term",
]

VERSION = 15
"""Raised whenever the terms of some text change, so that an index saved before is rebuilt.
2: Ukrainian lemmas, Ukrainian and Russian stop words. 3: `US`, `WHO`, `IT` in capitals
and dotted acronyms are names; the pronoun `us` is a stop word. 4: a headline, passage or
event sentence that tells neither Ukrainian nor Russian more is read as its article is.
5: a Cyrillic word written as a name has a name key after its term (`languages.name_key`),
so that its Ukrainian and Russian spellings meet (`Харків`, `Харьков`). 6: a Cyrillic word
written with a capital is looked up in the Ukrainian dictionary with it (`Києві`: `київ`,
not `ки`), and a name's key is its nominative's (`Карабаху`, `Вадимові`: `~крб`, `~вд`).
7: a Ukrainian lemma in `-ія` is stemmed as its Russian cognate in `-ия` (`компанія`: `компан`).
8: a Russian name is read as its nominative in simplemma's Russian dictionary, and a name a
dictionary lacks as itself, its case endings off (`Киев`, `Киеве`: `киев`; `Умеров`: `умеров`).
9: a Russian name's key is its nominative's in simplemma's Russian dictionary (`Нидерландов`:
`~ндрлнд`, as `Нидерланды`). 10: a noun Russian Snowball reads as a verb's form is stemmed as a
noun (`финал`, `футзал`: `финал`, `футзал`, not `фина`, `футза`). 11: a sentence's first word
that simplemma's Russian dictionary knows in lower case alone has no name key (`Переговоры`).
12: a name's first half before a hyphen is keyed with the second (`Івано-Франківськ`: `~вн-фрнквск`).
13: and read by its letters (`Івано`: `івано`, not the first name's `іван`). 14: letters that
show as nothing (`BLANK`) are no word and no part of one (`ㅤ`: none; `ㅤgrain`: `grain`).
15: and so are soft hyphens and zero-width characters inside a word (`Abra\u00admovich`: `abramovich`)."""

# Snowball's English stop-word list, with the apostrophes of its contractions removed
# because `term` removes them from words too.
STOP_WORDS: frozenset[str] = frozenset(
    """
    a about above after again against all am an and any are arent as at be because been
    before being below between both but by cant cannot could couldnt did didnt do does
    doesnt doing dont down during each few for from further had hadnt has hasnt have
    havent having he hed hell hes her here heres hers herself him himself his how hows i
    id ill im ive if in into is isnt it its itself lets me more most mustnt my myself no
    nor not of off on once only or other ought our ours ourselves out over own same
    shant she shed shell shes should shouldnt so some such than that thats the their
    theirs them themselves then there theres these they theyd theyll theyre theyve this
    those through to too under until up very was wasnt we wed well were weve werent what
    whats when whens where wheres which while who whos whom why whys with wont would
    wouldnt you youd youll youre youve your yours yourself yourselves s t us
    """.split()
)
CAPITAL_NAMES: frozenset[str] = frozenset({"US", "WHO", "IT"})
"""Words that are stop words in lower case but names in capitals: the United States, the
World Health Organization, information technology. Dotted acronyms in capitals (`U.S.`,
`U.N.`) are names too, whatever their letters spell."""

BLANK = frozenset("\u115f\u1160\u3164\uffa0\u2800")
"""Letters and a symbol that show as nothing: the Hangul fillers and the blank Braille pattern,
the favourites of blank names. Unicode counts the fillers as letters; a question of them alone
has no word a reader sees, and gets the "no searchable words" answer."""
_INVISIBLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff"
"""Format characters that show as nothing inside a word: the soft hyphen web pages hyphenate
with (`&shy;`), zero-width spaces, non-joiners and joiners, word joiners and zero-width no-break
spaces that copied text brings. Being no letters, each cut the word it sat in into two that
match nothing (`Abra\u00admovich`: `abra`, `movich`); now they are part of the word, and left
out of its term."""
_UNSEEN = str.maketrans(dict.fromkeys(map(ord, BLANK | frozenset(_INVISIBLE))))

_MARKS = "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
_WORD = rf"[\w{_MARKS}{_INVISIBLE}]+"
# Numbers first, so that `400,000` stays one token; `(?!\w)` keeps `1990s` a word; then
# dotted acronyms, so that `U.S.` is one word and not the letters `U` and `S`.
_TOKEN = re.compile(
    rf"\d{{1,3}}(?:,\d{{3}})+(?:\.\d+)?(?!\w)"
    rf"|(?:[^\W\d_]\.){{2,}}"
    rf"|\d+(?:\.\d+)?(?!\w)"
    rf"|{_WORD}(?:['’]{_WORD})*"
)
_POSSESSIVE = re.compile(r"['’]s$")
_ENGLISH = Stemmer.Stemmer("english")
_CACHE_LIMIT = 2_000_000
_PIECES_LIMIT = 1_000_000
ARTICLE_LEAD = 600
"""How many characters of an article, its headline and then its body, tell its language."""


@dataclass(slots=True)
class _Caches:
    """What the analyzer has read. Full, it is replaced whole, never emptied in place: each
    call reads and fills the one it began with, so a text read in one thread while another
    thread replaces them still finds each of its words' Russian term and tells beside its term."""

    terms: dict[str, str] = field(default_factory=dict)
    russian: dict[str, str] = field(default_factory=dict)
    """Words whose Russian term differs from their Ukrainian one (in `terms`), for Russian texts."""
    tell_russian: set[str] = field(default_factory=set)
    tell_ukrainian: set[str] = field(default_factory=set)
    """Words that show their text's language (see `languages.Reading.tells`)."""
    names: dict[str, str] = field(default_factory=dict)
    """Cyrillic words written as names -> their name key (`languages.name_key`), the same in any text."""
    common_first: set[str] = field(default_factory=set)
    """Words of `names` that simplemma's Russian dictionary knows in lower case alone
    (`Переговоры`, `Сумы`): at a sentence's start that word, with no key (`_sentence_starts`)."""
    lower_keys: dict[tuple[str, bool], str] = field(default_factory=dict)
    """Cyrillic words asked in lower case -> their name key, "" for none (`_lower_key`)."""
    held_keys: dict[tuple[str, bool], tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    """Cyrillic words asked -> a name key the corpus decides on, and the terms that tell it
    (`_held_key`), as read with a name key of their own (True) or without one (False)."""
    named: dict[str, str] = field(default_factory=dict)
    """Cyrillic words a question typed in lower case -> their term as a name, "" for none
    (`languages.names`), matched beside their own; made for questions alone (`_read_names`)."""
    named_russian: dict[str, str] = field(default_factory=dict)
    """Words whose term as a name read as Russian differs from `named`'s."""
    cognates: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Cyrillic words a question asks -> the terms of their other language's cognates
    (`languages.cognates`), matched where the index holds one; made for questions alone."""
    pieces: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Text between blanks -> its terms, stop words left out; only pieces none of whose words
    reads two ways or tells a text's language, so that their terms are the same in any text."""

    def term(self, word: str) -> str:
        """`term`, kept here; the Russian term and tells are kept first, so that a word found
        in `terms` by another thread has them too."""
        cached = self.terms.get(word)
        if cached is not None:
            return cached
        result = self.terms[word] = _normalise(word, self)
        return result


_caches = _Caches()


def term(word: str) -> str:
    """Return the index term of one surface word, or "" for a stop word.

    Lower-cases (Unicode case folding), folds compatibility forms (NFKC), drops a
    possessive `'s` and inner apostrophes and the dots of an acronym, drops thousands
    separators from numbers and stems with English Snowball; a Cyrillic word gets its
    Ukrainian term (see `languages`), which `analyze` swaps for the Russian one in a
    Russian text. `US`, `WHO` and dotted acronyms in capitals are names, not stop words.
    """
    return _caches.term(word)


def _forget() -> _Caches:
    """Start afresh, which `analyze` does when the caches are full, between texts: the words
    of a text must all be known when `_reads_russian` weighs them."""
    global _caches
    _caches = _Caches()
    return _caches


def _current() -> _Caches:
    """The caches a call works with from start to end: the current ones, or fresh ones if full."""
    caches = _caches
    return caches if len(caches.terms) < _CACHE_LIMIT else _forget()


def _normalise(word: str, caches: _Caches) -> str:
    seen = word.translate(_UNSEEN)  # the letters a reader sees: a capital behind a soft hyphen is one
    folded = unicodedata.normalize("NFKC", seen).casefold()
    if not folded:
        return ""
    if folded[0].isdigit():
        return folded.replace(",", "")
    if languages.CYRILLIC.search(folded):
        reading = languages.read(folded, capital=seen[:1].isupper())
        if reading.russian != reading.ukrainian:
            caches.russian[word] = reading.russian
        if reading.tells:
            (caches.tell_russian if reading.tells == "ru" else caches.tell_ukrainian).add(word)
        if _is_name(seen, folded, reading) and (key := languages.name_key(folded)):
            if languages.common_word(folded, russian=True):
                caches.common_first.add(word)
            caches.names[word] = key
        return reading.ukrainian
    if folded.endswith("."):  # a dotted acronym: `U.S.` -> `us`
        folded = folded.replace(".", "")
    folded = _POSSESSIVE.sub("", folded).replace("'", "").replace("’", "")
    if not folded or (folded in STOP_WORDS and not _is_capital_name(seen)):
        return ""
    stem: str = _ENGLISH.stemWord(folded)
    return stem


_ACRONYM = 4
"""The longest word in capitals read as an acronym (`ЗСУ`, `НАТО`, `ДСНС`), given no name key:
its consonants are too few to tell it from a name. A longer one (`ХАРКІВ`) is read as a name."""


def _is_name(word: str, folded: str, reading: languages.Reading) -> bool:
    """Whether a Cyrillic word is written as a name: with a capital, no acronym (`ЗСУ`), no stop
    word (a question's first word) and no word the Ukrainian dictionary knows in lower case
    alone (a sentence's first word: `Ремонт`). A word with Russian letters is not looked up,
    as the Ukrainian dictionary has none: a Russian sentence's first word is told by the
    Russian dictionary, where the word stands (`common_first`)."""
    if not reading.ukrainian or not word[0].isupper() or (word.isupper() and len(word) <= _ACRONYM):
        return False
    return reading.tells == "ru" or not languages.common_word(folded)


def _reads_russian(
    text: str, words: list[str], caches: _Caches, russian_article: bool = False, names: bool = False
) -> bool:
    """Whether the words of `text` that read two ways should read as Russian: more of its
    words tell Russian than Ukrainian, or as many (none, in a short text) and its article
    reads as Russian. `names`: their terms as names too (`_read_names`, made first)."""
    two_ways = not caches.russian.keys().isdisjoint(words)
    if text.isascii() or not (two_ways or (names and not caches.named_russian.keys().isdisjoint(words))):
        return False
    return _tells_russian(words, caches, russian_article)


def _tells_russian(words: list[str], caches: _Caches, tie: bool) -> bool:
    """Whether more of `words` tell Russian than Ukrainian, or `tie` where as many do. Set
    operations over the words, which stop at the first find where they can: this runs for
    every Cyrillic passage."""
    if caches.tell_russian.isdisjoint(words):
        return tie and caches.tell_ukrainian.isdisjoint(words)
    if caches.tell_ukrainian.isdisjoint(words):
        return True
    russian = len(caches.tell_russian.intersection(words))
    ukrainian = len(caches.tell_ukrainian.intersection(words))
    return russian > ukrainian or (tie and russian == ukrainian)


def article_is_russian(article: Article) -> bool:
    """Whether an article reads as Russian: more words of its headline and the start of its
    body (`ARTICLE_LEAD` characters in all) tell Russian than Ukrainian (see `languages`).

    A text of it that tells neither language more by its own words is read in its article's
    (`analyze`): a headline as often as not ("Новости Харькова"), and many a short sentence,
    which read alone are read as Ukrainian. The start alone, so that a long article is not
    read twice: a few sentences tell.
    """
    text = f"{article.headline}\n{article.text}"
    lead = text[:ARTICLE_LEAD]
    if lead.isascii() or not languages.CYRILLIC.search(lead):
        return False
    if len(text) > ARTICLE_LEAD:  # the last word left out: cut short, it may tell (`изменения` -> `из`)
        lead = " ".join(lead.split()[:-1])
    caches = _current()
    words = _TOKEN.findall(lead)
    for word in words:  # first, so that the tells know them
        caches.term(word)
    return _tells_russian(words, caches, tie=False)


def russian_articles(articles: Iterable[Article]) -> frozenset[str]:
    """The ids of the articles that read as Russian (`article_is_russian`)."""
    return frozenset(article.id for article in articles if article_is_russian(article))


def _is_capital_name(word: str) -> bool:
    """`US` and `WHO` in capitals, or a dotted acronym such as `U.S.`: a name, never a stop word."""
    return word in CAPITAL_NAMES or (word.endswith(".") and word.isupper())


def analyze(text: str, russian_article: bool = False) -> list[str]:
    """Return the index terms of a text, in order, stop words left out.

    A Cyrillic word that reads two ways is read as Russian where more of the text's words
    tell Russian than Ukrainian, and where as many do (none, in a short text) if
    `russian_article`, the text's article reading as Russian (`article_is_russian`).

    No word spans a blank, and a blank ends a number as the end of a text does, so the
    words of a text are those of its pieces between blanks, in turn: each piece's terms
    are looked up, and only a piece seen for the first time is cut into words. A text with
    a word that reads two ways or tells its language is read word by word.
    """
    caches = _current()
    pieces = text.split()
    found: list[tuple[str, ...] | None] = list(map(caches.pieces.get, pieces))
    for position in _missing(found):
        found[position] = _piece_terms(pieces[position], caches)
        if found[position] is None:
            return _analyze_words(text, caches, russian_article)
    return list(chain.from_iterable(found))  # type: ignore[arg-type]  # no None is left


def _missing(found: list[tuple[str, ...] | None]) -> Iterator[int]:
    """The positions of the pieces not cached yet, found at the speed of C (`list.index`)."""
    position = -1
    with contextlib.suppress(ValueError):
        while True:
            position = found.index(None, position + 1)
            yield position


def _piece_terms(piece: str, caches: _Caches) -> tuple[str, ...] | None:
    """A piece's terms, cached; None when one of its words reads as its text does."""
    words = _TOKEN.findall(piece)
    each = list(map(caches.term, words))  # first, so that `russian`, the tells and `names` know them
    named = not caches.names.keys().isdisjoint(words)
    terms = tuple(_with_keys(words, each, caches, text=piece) if named else filter(None, each))
    if not (
        caches.russian.keys().isdisjoint(words)
        and caches.tell_russian.isdisjoint(words)
        and caches.common_first.isdisjoint(words)
    ):
        return None
    if len(caches.pieces) >= _PIECES_LIMIT:
        caches.pieces.clear()
    caches.pieces[piece] = terms
    return terms


def _analyze_words(text: str, caches: _Caches, russian_article: bool = False) -> list[str]:
    """`analyze` word by word, for a text whose words may read as Russian."""
    words = _TOKEN.findall(text)
    cached = caches.terms.get  # a hit without a call of `term`: nearly every word after the first passages
    terms = [found if (found := cached(word)) is not None else caches.term(word) for word in words]
    if _reads_russian(text, words, caches, russian_article):
        terms = list(map(caches.russian.get, words, terms))
    if caches.names.keys().isdisjoint(words):
        return list(filter(None, terms))
    if caches.common_first.isdisjoint(words):
        return _with_keys(words, terms, caches, text=text)
    return _with_keys(words, terms, caches, _sentence_starts(list(_TOKEN.finditer(text)), text, caches), text)


def _with_keys(
    words: list[str], terms: list[str], caches: _Caches, starts: Iterable[int] = (), text: str = ""
) -> list[str]:
    """The terms of `words`, the words of `text`, one a word or "" for a stop word, stop words
    left out and each name's key after its term, but for the words at `starts`, and a name's
    first half joined to the next by a hyphen keyed with it (`_join_hyphenated`)."""
    keys = list(map(caches.names.get, words))
    for place in starts:
        keys[place] = None
    if _HYPHEN.search(text):
        for place in _join_hyphenated(keys, list(_TOKEN.finditer(text)), text):
            terms[place] = _first_half(words[place])
    return list(filter(None, chain.from_iterable(zip(terms, keys, strict=True))))


_HYPHEN = re.compile("[-\u2010\u2011]")


def _join_hyphenated(
    keys: list[str | None] | list[str], matches: list[re.Match[str]], text: str
) -> list[int]:
    """Key a name written before a hyphen, where the word after it has a key too
    (`Івано-Франківськ`, `Ивано-Франковск`, `Санкт-Петербург`), by both: `~вн-фрнквск`, not
    `Івано`'s own `~вн`, which met `Вене`, `Иван` and any name with those two consonants. The
    second half keeps its own key (`~фрнквск`), so a question naming the city either way
    meets it on both. `keys`, one a word of `matches` ("" or None for none), changed in place;
    returns the places of the first halves so keyed, whose term is their letters (`_first_half`)."""
    joined = []
    for place in range(len(keys) - 1):
        first, second = keys[place], keys[place + 1]
        end = matches[place].end()
        if first and second and matches[place + 1].start() == end + 1 and _HYPHEN.match(text, end):
            keys[place] = f"{first}-{second[len(languages.NAME_KEY) :]}"
            joined.append(place)
    return joined


def _first_half(word: str) -> str:
    """The term of a name's first half joined to the next by a hyphen (`_join_hyphenated`):
    its letters, case-folded, ё as е, no apostrophe. Read as a word, `Івано` was a form of the
    first name `Іван` (`іван`, as `Ивано` is Snowball's `иван`), and met it."""
    folded = unicodedata.normalize("NFKC", word).casefold().translate(_APOSTROPHES)
    return folded.replace("ё", "е")


_APOSTROPHES = str.maketrans(dict.fromkeys("'’ʼ"))


_SENTENCE_END = re.compile(r"[.!?…\n]")


def _sentence_starts(matches: list[re.Match[str]], text: str, caches: _Caches) -> list[int]:
    """The places of the words of `common_first` that begin a sentence: the text's first, or
    one after a full stop, `!`, `?`, `…` or a line's end. A Russian sentence's first word is
    written with a capital, and simplemma's Russian dictionary, which writes its names so,
    tells it from a name where it knows it in lower case alone (`Переговоры`, `Автобусы`); the
    same word inside a sentence is a name (`в Сумы`)."""
    starts = []
    end = 0
    for place, match in enumerate(matches):
        if match.group() in caches.common_first and (
            place == 0 or _SENTENCE_END.search(text, end, match.start())
        ):
            starts.append(place)
        end = match.end()
    return starts


_PLAIN = re.compile(r"\w+")


def plain_terms(text: str) -> list[str]:
    """Lower-cased words, nothing else: the textbook BM25 baseline the analyzer is measured against."""
    return _PLAIN.findall(text.lower())


def analyze_spans(text: str, russian_article: bool = False) -> Iterator[tuple[str, int, int]]:
    """Yield `(term, start, end)` for each indexed word, as `analyze` reads it."""
    caches = _current()
    matches = list(_TOKEN.finditer(text))
    words = [match.group() for match in matches]
    terms = [caches.term(word) for word in words]  # first, so that `russian` knows them
    russian = _reads_russian(text, words, caches, russian_article)
    keys = list(map(caches.names.get, words))
    if not caches.common_first.isdisjoint(words):
        for place in _sentence_starts(matches, text, caches):
            keys[place] = None
    if russian:
        terms = [caches.russian.get(word, found) for word, found in zip(words, terms, strict=True)]
    if _HYPHEN.search(text):
        for place in _join_hyphenated(keys, matches, text):
            terms[place] = _first_half(words[place])
    for match, found, key in zip(matches, terms, keys, strict=True):
        if found:
            yield found, match.start(), match.end()
        if key:
            yield key, match.start(), match.end()


class QuestionWord(NamedTuple):
    """The terms a question's word is matched on, "" where it has none of a kind."""

    start: int
    end: int
    term: str
    """Its term as the question reads it ("" for a stop word)."""
    other: str
    """Its Russian term, where the question tells no language and the word reads two ways."""
    name: str
    """Its term as a name, where it is written in lower case (`києві`: `київ`, beside `ки`;
    `ивана`: `иван`, beside `ива`)."""
    other_name: str
    """Its Russian term as a name, where the question tells no language."""
    key: str
    """Its name key (`languages.name_key`), where it is written as a name."""
    lower_key: str
    """Its name key, where it is typed in lower case and may be a name (`харькове`)."""
    held_key: str
    """A name key it is matched on where the corpus names it so (`spellings`, `question_spans`):
    its own, where it is typed in lower case in a question that may be Russian and only
    simplemma's Russian dictionary holds it as a common word (`виннице`, `изюме`: a wine
    cellar's, raisins'); or that of a surname neither dictionary holds, without its `-ов`, as
    its dative or locative in `-ові` is keyed (`Умерова`: `~мр`, as `Умєрові`), or, for that
    form in `-ові`, with it (`Умєрові`: `~мрв`, as `Умєров`)."""
    spellings: tuple[str, ...]
    """The terms a passage holds with `held_key` where it names the word so (`вінниц`, `умєр`)."""
    lower: str = ""
    """Its term typed in lower case, where it begins a sentence of the question written as a
    name that no dictionary holds, which nothing tells from a common word (`Масована`: `масова`,
    beside its name's `масован`)."""


def question_words(text: str) -> Iterator[QuestionWord]:
    """Each word of a question with the terms it is matched on (see `question_spans`)."""
    caches = _current()
    matches = list(_TOKEN.finditer(text))
    words = [match.group() for match in matches]
    terms = [caches.term(word) for word in words]  # first, so that `russian` and the tells know them
    _read_names(words, caches)
    unsure = caches.tell_russian.isdisjoint(words) and caches.tell_ukrainian.isdisjoint(words)
    russian = not unsure and _reads_russian(text, words, caches, names=True)
    ukrainian = not unsure and not _tells_russian(words, caches, tie=True)  # more of its words tell it
    read = list(_question_words(matches, words, terms, caches, unsure, russian, ukrainian))
    for place in _unknown_starts(matches, text, caches):
        lower = words[place].lower()
        found = caches.term(lower)
        found = caches.russian.get(lower, found) if russian else found
        word = read[place]
        if found not in (word.term, word.other, word.name, word.other_name):
            read[place] = word._replace(lower=found)
    if _HYPHEN.search(text):  # a name's first half keyed with the second (`івано-франківськ`)
        keys = [word.key or word.lower_key for word in read]
        for place in _join_hyphenated(keys, matches, text):
            word, key = read[place], keys[place]
            word = word._replace(term=_first_half(words[place]), other="", name="", other_name="")
            read[place] = word._replace(key=key) if word.key else word._replace(lower_key=key)
    yield from read


def _unknown_starts(matches: list[re.Match[str]], text: str, caches: _Caches) -> Iterator[int]:
    """The places of a question's words written as names that begin a sentence (its first, or
    one after a full stop, `!`, `?`, `…` or a line's end) and that no dictionary holds
    (`languages.unknown_word`): a word that begins a sentence has a capital, name or not
    (`Масована`, `Ердоган`)."""
    end = 0
    for place, match in enumerate(matches):
        word = match.group()
        if (
            word in caches.names
            and not word.isupper()
            and (place == 0 or _SENTENCE_END.search(text, end, match.start()))
            and languages.unknown_word(unicodedata.normalize("NFKC", word).casefold())
        ):
            yield place
        end = match.end()


def _question_words(
    matches: list[re.Match[str]],
    words: list[str],
    terms: list[str],
    caches: _Caches,
    unsure: bool,
    russian: bool,
    ukrainian: bool,
) -> Iterator[QuestionWord]:
    """`question_words` word by word, each read alone."""
    for match, word, found in zip(matches, words, terms, strict=True):
        other = caches.russian.get(word, "")
        if russian and other:
            found, other = other, ""
        if not unsure:
            other = ""
        name = caches.named.get(word, "")
        other_name = caches.named_russian.get(word, name)
        if russian:
            name, other_name = other_name, ""
        if not unsure or other_name == name:
            other_name = ""
        if name in (found, other):
            name = ""
        if other_name in (found, other):
            other_name = ""
        key = caches.names.get(word, "")
        lower_key = "" if key else _lower_key(word, found, caches, russian=not ukrainian)
        if key or lower_key:
            held_key, spellings = _held_key(word, True, caches)
        else:
            held_key, spellings = ("", ()) if ukrainian else _held_key(word, False, caches, found)
        yield QuestionWord(
            match.start(), match.end(), found, other, name, other_name, key, lower_key, held_key, spellings
        )


def _read_names(words: list[str], caches: _Caches) -> None:
    """Keep the terms as names of a question's Cyrillic words typed in lower case
    (`languages.names`) in `named` and `named_russian`, once a word: an article's words never
    need them, and reading them for each, at every build, cost a dictionary lookup or more."""
    for word in words:
        if word in caches.named or word[:1].isupper() or not languages.CYRILLIC.search(word):
            continue
        folded = unicodedata.normalize("NFKC", word).casefold()
        name, russian_name = ("", "") if folded[0].isdigit() else languages.names(folded)
        if russian_name != name:
            caches.named_russian[word] = russian_name
        caches.named[word] = name  # last: a word found here has its Russian name too


def _lower_key(word: str, found: str, caches: _Caches, russian: bool) -> str:
    """The name key of a question's Cyrillic word typed in lower case, "" for a stop word, a
    question word or a word simplemma's Ukrainian dictionary knows in lower case alone, or in
    a question that may be Russian (`russian`) its Russian one (`languages.common_word`): a
    name typed so (`харькове`, `києві`) meets the articles that write it with a capital, in
    either language, and a common word (`вечера`) no name with its consonants (`Вчера`). Made
    for questions alone, as an article writes its names with a capital."""
    key = caches.lower_keys.get((word, russian))
    if key is None:
        folded = unicodedata.normalize("NFKC", word).casefold()
        named = (
            found
            and word == folded
            and languages.CYRILLIC.search(folded)
            and not languages.common_word(folded, russian)
        )
        key = caches.lower_keys[word, russian] = languages.name_key(folded) if named else ""
    return key


def _held_key(word: str, keyed: bool, caches: _Caches, found: str = "") -> tuple[str, tuple[str, ...]]:
    """A name key of a question's Cyrillic word that the corpus decides on, and the terms that
    tell it (`question_spans`); ("", ()) for none. A word with a key of its own (`keyed`): that
    of a surname neither dictionary holds, without its `-ов` (`languages.surname_key`). A word
    with none, typed in lower case, that simplemma's Russian dictionary alone holds in lower
    case alone: its own key, and the terms its other spellings have as names
    (`languages.other_spellings`). `_lower_key` gives it none, as most such words name nothing
    (`вечера`, `войны`), but a few are names too (`виннице`, `изюме`)."""
    held = caches.held_keys.get((word, keyed))
    if held is None:
        folded = unicodedata.normalize("NFKC", word).casefold()
        held = ("", ())
        if keyed:
            held = languages.surname_key(folded)
        elif (
            found
            and word == folded
            and languages.CYRILLIC.search(folded)
            and languages.common_word(folded, russian=True)
            and not languages.common_word(folded)
            and (key := languages.name_key(folded))
            and (spellings := languages.other_spellings(folded))
        ):
            held = (key, spellings)
        caches.held_keys[word, keyed] = held
    return held


def question_spans(
    text: str,
    names: Callable[[str, tuple[str, ...]], bool] | None = None,
    held: Callable[[str], bool] | None = None,
) -> Iterator[tuple[str, int, int]]:
    """`analyze_spans` for a question, which may be too short to tell its language.

    Where no word of it tells Ukrainian or Russian ("Матч в марте", "Новости Харькова"),
    a word that reads two ways gives both of its terms, as `matched_spans` matches
    either: read as Ukrainian alone, `марте` (a form of `марити`) and `новости` would
    miss every Russian article that names March or news. A word typed in lower case that
    reads otherwise as a name gives the name's term too: a chat's `що в києві` would read
    `києві` as a form of `кий` alone, and miss the articles that write `Києві`; and a word
    typed in lower case that may be a name gives its name key, as one with a capital does,
    so `в харькове` finds `у Харкові`. A word simplemma's Russian dictionary alone holds as a
    common word (`виннице`, `изюме`) gives it where `names` tells that the corpus names it,
    the key and a term of its other spelling in one passage (`Вінниці`: `~внк`, `вінниц`); so
    does a surname neither dictionary holds its key without `-ов` (`Умерова`; `Умєрові`: `~мр`,
    `умєр`). With `held` (whether the index holds a term), a word also gives the first term of
    its other language's cognate the index holds (`выборы`: `вибор`, of `вибори`;
    `languages.cognates`), so that a Russian question meets a Ukrainian article's word, and back.
    """
    for word in question_words(text):
        own = (word.term, word.other, word.name, word.other_name)
        for found in (*own, word.key, word.lower_key, word.lower):
            if found:
                yield found, word.start, word.end
        if held is not None and (cognate := held_cognate(text, word, held)):
            yield cognate, word.start, word.end
        if word.held_key and names is not None and names(word.held_key, word.spellings):
            yield word.held_key, word.start, word.end


def held_cognate(text: str, word: QuestionWord, held: Callable[[str], bool]) -> str:
    """The first term of a question's word's other language's cognate that the index holds
    (`held`), where it is none of the word's own terms, else "" (`languages.cognates`; `text`
    is the question the word is of): `выборы`, `вибор` where an article writes `вибори`."""
    if not word.term:
        return ""
    found = _cognates(text[word.start : word.end], _current())
    cognate = next((term for term in found if held(term)), "")
    return "" if cognate in (word.term, word.other, word.name, word.other_name) else cognate


def _cognates(word: str, caches: _Caches) -> tuple[str, ...]:
    """`languages.cognates` of a question's word, once a word."""
    found = caches.cognates.get(word)
    if found is None:
        folded = unicodedata.normalize("NFKC", word).casefold()
        found = caches.cognates[word] = (
            languages.cognates(folded) if languages.CYRILLIC.search(folded) else ()
        )
    return found


def matched_terms(text: str, terms: frozenset[str] | set[str]) -> list[str]:
    """Return the term in `terms` of each word of `text` that has one, in order; a word
    with two readings is matched by either, as in `matched_spans`."""
    caches = _current()
    matches = list(_TOKEN.finditer(text))
    return [term for _, term in _matched(text, matches, terms, caches)]


def matched_spans(text: str, terms: frozenset[str] | set[str]) -> list[tuple[int, int]]:
    """Return the character spans of the words in `text` whose term is in `terms`.

    A word with two readings (see `languages`) is matched by either: a snippet cut from
    a passage may have too few words to tell its language the way the passage did. A name's
    first half before a hyphen is matched by the key it shares with the second
    (`Івано-Франківщині`: `~вн-фрнквщн`), as the passage is indexed on it.
    """
    caches = _current()
    matches = list(_TOKEN.finditer(text))
    return [matches[place].span() for place, _ in _matched(text, matches, terms, caches)]


def _matched(
    text: str, matches: list[re.Match[str]], terms: frozenset[str] | set[str], caches: _Caches
) -> Iterator[tuple[int, str]]:
    """The place of each word of `matches` that has a term in `terms`, and that term: its
    own, its Russian one, its name key or its key joined with the next word's (`_join_hyphenated`)."""
    words = [match.group() for match in matches]
    found = [caches.term(word) for word in words]  # first, so that `russian` and `names` know the words
    keys = list(map(caches.names.get, words))
    readings: list[tuple[str, ...]] = [
        (term, caches.russian.get(word, ""), caches.names.get(word, ""))
        for word, term in zip(words, found, strict=True)
    ]
    if _HYPHEN.search(text):
        for place in _join_hyphenated(keys, matches, text):
            readings[place] = (_first_half(words[place]),)
    for place, (read, key) in enumerate(zip(readings, keys, strict=True)):
        for each in (*read, key):
            if each and each in terms:
                yield place, each
                break

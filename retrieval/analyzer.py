"""Text -> index terms: one analyzer for passages, headlines and questions alike.

Using the very same function on both sides is what makes `negotiations` in an article
meet `negotiate` in a question. Each distinct surface word is normalised, stop-word
checked and stemmed once, then served from a cache: news vocabulary is Zipfian, so
after the first few thousand passages almost every word is a cache hit.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

import Stemmer

__all__ = ["STOP_WORDS", "analyze", "analyze_spans", "matched_spans", "term"]

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
    wouldnt you youd youll youre youve your yours yourself yourselves s t
    """.split()
)

_MARKS = "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
_WORD = rf"[\w{_MARKS}]+"
# Numbers first, so that `400,000` stays one token; `(?!\w)` keeps `1990s` a word.
_TOKEN = re.compile(
    rf"\d{{1,3}}(?:,\d{{3}})+(?:\.\d+)?(?!\w)"
    rf"|\d+(?:\.\d+)?(?!\w)"
    rf"|{_WORD}(?:['’]{_WORD})*"
)
_POSSESSIVE = re.compile(r"['’]s$")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_ENGLISH = Stemmer.Stemmer("english")
_RUSSIAN = Stemmer.Stemmer("russian")
_CACHE_LIMIT = 2_000_000
_cache: dict[str, str] = {}


def term(word: str) -> str:
    """Return the index term of one surface word, or "" for a stop word.

    Lower-cases (Unicode case folding), folds compatibility forms (NFKC), drops a
    possessive `'s` and inner apostrophes, drops thousands separators from numbers and
    stems with Snowball (Russian for Cyrillic words, English otherwise).
    """
    cached = _cache.get(word)
    if cached is not None:
        return cached
    if len(_cache) >= _CACHE_LIMIT:
        _cache.clear()
    result = _cache[word] = _normalise(word)
    return result


def _normalise(word: str) -> str:
    folded = unicodedata.normalize("NFKC", word).casefold()
    if folded[0].isdigit():
        return folded.replace(",", "")
    folded = _POSSESSIVE.sub("", folded).replace("'", "").replace("’", "")
    if not folded or folded in STOP_WORDS:
        return ""
    stemmer = _RUSSIAN if _CYRILLIC.search(folded) else _ENGLISH
    stem: str = stemmer.stemWord(folded)
    return stem


def analyze(text: str) -> list[str]:
    """Return the index terms of a text, in order, stop words left out."""
    terms = [term(word) for word in _TOKEN.findall(text)]
    return [t for t in terms if t]


_PLAIN = re.compile(r"\w+")


def plain_terms(text: str) -> list[str]:
    """Lower-cased words, nothing else: the textbook BM25 baseline the analyzer is measured against."""
    return _PLAIN.findall(text.lower())


def analyze_spans(text: str) -> Iterator[tuple[str, int, int]]:
    """Yield `(term, start, end)` for each indexed word, for highlighting matches."""
    for match in _TOKEN.finditer(text):
        found = term(match.group())
        if found:
            yield found, match.start(), match.end()


def matched_spans(text: str, terms: frozenset[str] | set[str]) -> list[tuple[int, int]]:
    """Return the character spans of the words in `text` whose term is in `terms`."""
    return [(start, end) for found, start, end in analyze_spans(text) if found in terms]

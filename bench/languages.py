"""Ukrainian and Russian analysis: the measurements behind retrieval/languages.py.

    python bench/languages.py [--speed-only]

Each way of reading Cyrillic words is swapped into the analyzer in turn and measured on
the Ukrainian and Russian test set in tests/fixtures/uk:

- questions.jsonl (Ukrainian and Russian questions on articles in their own language)
  and questions-cross.jsonl (Russian questions on Ukrainian articles and the reverse),
  asked at their question dates: R@1 and MRR@10 of the gold article, and the share of
  the question's terms found in the gold passage (a finer measure than R@1 on a set
  this small);
- forms.tsv: word pairs that should meet on one term or stay apart, each word alone
  and inside a sentence of its language;
- cognates.tsv: common news words and their other language's cognate (`выборы`, `вибори`),
  each asked alone over a corpus that holds the other: the pairs that meet on a term, with
  and without the cognates a question asks for (`languages.cognates`); and the words of the
  articles whose cognate meets another word of them, each listed to be judged;
- the meaning signal alone: where each question's cosine with the article vectors
  places its gold article (the English evaluation fixture beside them).

Then the analyzer's speed on English (corpus/), Ukrainian and Russian articles: words a
second with the per-word cache warm (as bench/retrieval.py --corpus measures it), and
distinct words a second on first sight (cache cold). pymorphy3 rows appear when it is
installed (it is not a dependency).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import simplemma  # noqa: E402

from retrieval import Library, analyze, analyzer, languages  # noqa: E402
from retrieval.corpus import load_corpus  # noqa: E402
from retrieval.evaluation import Question, parse_questions  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "uk"
EVAL = ROOT / "tests" / "fixtures" / "eval"
Readings = Callable[[str], tuple[str, str]]
"""A way of reading a case-folded Cyrillic word: its Ukrainian and its Russian term."""
UKRAINIAN, RUSSIAN = frozenset("іїєґ"), frozenset("ыэъё")


def stem(word: str) -> str:
    return languages._stem(word.translate(languages._APOSTROPHES))


def lemma(word: str) -> str:
    return languages._ukrainian_lemma(word.translate(languages._APOSTROPHES))


_RULES = simplemma.Lemmatizer(cache_max_size=0)


def lemma_with_rules(word: str) -> str:
    return _RULES.lemmatize(word.translate(languages._APOSTROPHES), "uk").casefold()


def script(word: str) -> str | None:
    """The language a word's letters tell, if they do."""
    if not UKRAINIAN.isdisjoint(word):
        return "uk"
    return "ru" if not RUSSIAN.isdisjoint(word) else None


def one(term: str) -> tuple[str, str]:
    return term, term


def stopped(readings: Readings) -> Readings:
    def read(word: str) -> tuple[str, str]:
        return ("", "") if word.translate(languages._APOSTROPHES) in languages.STOP_WORDS else readings(word)

    return read


def per_word(ukrainian: Callable[[str], str], letter_free: Callable[[str], str] = stem) -> Readings:
    """Ukrainian letters -> `ukrainian`, Russian letters -> Snowball, neither -> `letter_free`."""
    return lambda word: one({"uk": ukrainian, "ru": stem}.get(script(word) or "", letter_free)(word))


def per_text(ukrainian: Callable[[str], str]) -> Readings:
    """Letter-free words read both ways; the text decides (as retrieval.languages does)."""

    def read(word: str) -> tuple[str, str]:
        found = script(word)
        if found is not None:
            return one(ukrainian(word) if found == "uk" else stem(word))
        return ukrainian(word), stem(word)

    return read


def known_then_stem(word: str) -> str:
    """Letter-free words simplemma's Ukrainian dictionary holds read as Ukrainian."""
    return (
        stem(lemma(word)) if simplemma.is_known(word.translate(languages._APOSTROPHES), "uk") else stem(word)
    )


def variants() -> dict[str, Readings]:
    found: dict[str, Readings] = {
        "(a) before: Snowball Russian for all Cyrillic, no Cyrillic stop words": lambda w: one(stem(w)),
        "(b) Snowball Russian for all Cyrillic, Ukrainian and Russian stop words": stopped(
            lambda w: one(stem(w))
        ),
        "(c) by letters: Ukrainian -> simplemma lemma, else Snowball Russian": stopped(per_word(lemma)),
        "(c') as (c), letter-free words -> simplemma lemma": stopped(per_word(lemma, lemma)),
        "(c'') as (c), letter-free words by their text": stopped(per_text(lemma)),
        "(d) by letters: Ukrainian -> lemma, then Snowball Russian stem": stopped(
            per_word(lambda w: stem(lemma(w)))
        ),
        "(d') as (d), letter-free words in simplemma's dictionary as Ukrainian": stopped(
            per_word(lambda w: stem(lemma(w)), known_then_stem)
        ),
        "(e) chosen: as (d), letter-free words by their text": chosen,
        "(e') as (e), with simplemma's rules for words its dictionary lacks": stopped(
            per_text(lambda w: stem(lemma_with_rules(w)))
        ),
    }
    try:
        import pymorphy3  # type: ignore[import-not-found]
    except ImportError:
        return found
    morph = pymorphy3.MorphAnalyzer(lang="uk")

    def pymorphy_lemma(word: str) -> str:
        return str(morph.parse(word.translate(languages._APOSTROPHES))[0].normal_form)

    found["(f) as (e), pymorphy3 lemmas for Ukrainian"] = stopped(per_text(lambda w: stem(pymorphy_lemma(w))))
    found["(f') as (c), pymorphy3 lemmas for Ukrainian"] = stopped(per_word(pymorphy_lemma))
    return found


CHOSEN = languages.read
CHOSEN_NAMES = languages.names


def chosen(word: str) -> tuple[str, str]:
    """(e), the analyzer's own: swapped in as `languages.read` itself, a name's capital kept."""
    return CHOSEN(word)[:2]


def empty_caches() -> None:
    analyzer._forget()


def use(readings: Readings) -> None:
    """Swap a way of reading Cyrillic words into the analyzer, its caches emptied.

    What a word tells of its text's language stays as `languages` decides it.
    """

    def read(word: str, capital: bool = False) -> languages.Reading:
        if readings is chosen:
            return CHOSEN(word, capital)
        ukrainian, russian = readings(word)
        return languages.Reading(ukrainian, russian, CHOSEN(word).tells)

    def names(word: str) -> tuple[str, str]:
        """A question's word typed in lower case read as a name: the analyzer's own reading's
        alone, as the others read no word as a name."""
        return CHOSEN_NAMES(word) if readings is chosen else ("", "")

    languages.read = read
    languages.names = names
    empty_caches()


def questions(name: str) -> list[Question]:
    return parse_questions((FIXTURES / name).read_text(encoding="utf-8"))


def rank_quality(library: Library, asked: list[Question]) -> tuple[float, float, float, list[str]]:
    """R@1 and MRR@10 of the gold article, the share of question terms in the gold passage, misses."""
    first = reciprocal = 0.0
    shares, missed = [], []
    for question in asked:
        result = library.search(question.question, k=10, now=question.question_date)
        ranks = [n for n, hit in enumerate(result.hits, 1) if hit.article.id in question.gold_article_ids]
        rank = ranks[0] if ranks else None
        first += rank == 1
        reciprocal += 1 / rank if rank else 0.0
        if rank != 1:
            missed.append(question.qid)
        gold = result.hits[rank - 1] if rank else None
        shares.append(len(gold.matched) / len(set(result.terms)) if gold and result.terms else 0.0)
    return first / len(asked), reciprocal / len(asked), statistics.mean(shares), missed


def meaning_table() -> None:
    """The meaning signal alone in Ukrainian and Russian: each question's cosine with every
    article's vector (headline and lead, as the second ranking stage compares them), the
    gold article's place among them; the English fixture beside them for scale."""
    from retrieval.semantic import article_text, embedder, question_text

    print("\n| questions | articles | cosine alone: R@1 | mean place of the gold article | at random |")
    print("| --- | --- | --- | --- | --- |")
    for folder, name in [
        (FIXTURES, "questions.jsonl"),
        (FIXTURES, "questions-cross.jsonl"),
        (EVAL, "questions.jsonl"),
    ]:
        articles, _ = load_corpus(folder / "corpus")
        model = embedder()
        vectors = model.embed([article_text(article) for article in articles]).astype("float64")
        places = []
        for question in parse_questions((folder / name).read_text(encoding="utf-8")):
            cosine = vectors @ model.embed_one(question_text(question.question)).astype("float64")
            ranked = [articles[n].id for n in sorted(range(len(articles)), key=lambda n: -cosine[n])]
            golds = [ranked.index(gold) + 1 for gold in question.gold_article_ids if gold in ranked]
            places += [min(golds)] if golds else []  # a question the corpus cannot answer: left out
        first = sum(place == 1 for place in places) / len(places)
        label, chance = f"{folder.name}/{name}: {len(places)}", (len(articles) + 1) / 2
        print(f"| {label} | {len(articles)} | {first:.2f} | {statistics.mean(places):.1f} | {chance:.1f} |")


def forms() -> list[tuple[str, str, bool, str]]:
    rows = []
    for line in (FIXTURES / "forms.tsv").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            left, right, expected, why = line.split("\t")
            rows.append((left, right, expected == "meet", "и " if why.startswith("ru") else "і "))
    return rows


def form_quality(context: bool) -> tuple[int, int, int, int]:
    """Pairs that meet as they should, of all that should; pairs kept apart, of all that should."""
    meet = apart = should_meet = should_part = 0
    for left, right, together, sentence in forms():
        before = sentence if context else ""  # `і` / `и`: a stop word that tells the language
        same = analyze(before + left) == analyze(before + right) != []
        should_meet += together
        should_part += not together
        meet += together and same
        apart += not together and not same
    return meet, should_meet, apart, should_part


def cognate_table() -> None:
    """Pairs of cognates that meet, asked either way, without and with a question's cognates;
    then every word of the fixture articles asked alone over their index, and the terms of
    other words its cognate meets there, to judge by hand (a false friend: `неделю`, a week,
    and `неділю`, a Sunday)."""
    from retrieval.query import topical_terms

    pairs = [
        tuple(line.split("\t"))
        for line in (FIXTURES / "cognates.tsv").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    ]
    met = {False: 0, True: 0}
    for russian, ukrainian in pairs:
        held_russian, held_ukrainian = set(analyze("и " + russian)), set(analyze("і " + ukrainian))
        for cognates in (False, True):
            asked_russian = set(
                topical_terms(russian, held=held_ukrainian.__contains__ if cognates else None)
            )
            asked_ukrainian = set(
                topical_terms(ukrainian, held=held_russian.__contains__ if cognates else None)
            )
            met[cognates] += bool(asked_russian & held_ukrainian) and bool(asked_ukrainian & held_russian)
    print(
        f"\n{len(pairs)} pairs of cognates (cognates.tsv) meeting, asked either way: "
        f"{met[False]} without a question's cognates, {met[True]} with them"
    )
    library = Library.load(FIXTURES / "corpus")
    words: dict[str, set[str]] = {}
    for number in range(len(library.articles)):
        article, text = library.articles.with_text(number)
        for word in analyzer._TOKEN.findall(f"{article.headline}\n{text}"):
            if languages.CYRILLIC.search(word):
                words.setdefault(word.lower(), set())
    for word in words:
        words[word] = set(analyze(word)) | set(analyze("и " + word)) | set(analyze("і " + word))
    by_term: dict[str, set[str]] = {}
    for word, terms in words.items():
        for term in terms:
            by_term.setdefault(term, set()).add(word)
    found = []
    for word, own in sorted(words.items()):
        extra = set(topical_terms(word, held=library.holds_term)) - set(topical_terms(word)) - own
        found += [
            f"{word} -> {term} ({', '.join(sorted(by_term.get(term, {'?'}))[:3])})" for term in sorted(extra)
        ]
    print(
        f"{len(words)} words of the articles, each asked alone: {len(found)} meet another word's term "
        "by a cognate:"
    )
    print("\n".join(found))


def quality_table() -> None:
    corpus = FIXTURES / "corpus"
    own, cross = questions("questions.jsonl"), questions("questions-cross.jsonl")
    misses = questions("questions-misses.jsonl")
    print(
        f"| reading of Cyrillic words | {len(own)} questions: R@1 | MRR@10 | terms in gold "
        f"| {len(cross)} cross-language: R@1 | terms in gold | forms meet: in a sentence / alone "
        f"| kept apart | questions missed ({misses[0].qid} written first, kept apart) |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, readings in variants().items():
        use(readings)
        library = Library.load(corpus)
        r1, mrr, share, missed = rank_quality(library, own)
        x1, _, xshare, xmissed = rank_quality(library, cross)
        missed += xmissed + rank_quality(library, misses)[3]
        meet, of, apart, of_apart = form_quality(context=True)
        alone = form_quality(context=False)[0]
        print(
            f"| {name} | {r1:.3f} | {mrr:.3f} | {share:.3f} | {x1:.3f} | {xshare:.3f} "
            f"| {meet} / {alone} of {of} | {apart} of {of_apart} | {', '.join(missed) or 'none'} |"
        )
    languages.read = CHOSEN
    languages.names = CHOSEN_NAMES
    empty_caches()


def texts(folder: Path, russian: bool | None) -> list[str]:
    articles, _ = load_corpus(folder)
    chosen = [a for a in articles if russian is None or a.id.startswith("ru-") == russian]
    return [text for a in chosen for text in (a.headline, *a.paragraphs)]


def speed_table() -> None:
    samples = {
        "English (corpus/)": texts(ROOT / "corpus", None),
        "Ukrainian (tests/fixtures/uk)": texts(FIXTURES / "corpus", False),
        "Russian (tests/fixtures/uk)": texts(FIXTURES / "corpus", True),
    }
    print("\n| text | words | warm cache: M words/s | cold: distinct words/s |")
    print("| --- | --- | --- | --- |")
    for name, sample in samples.items():
        words = sum(len(t.split()) for t in sample)
        distinct = {w for t in sample for w in analyzer._TOKEN.findall(t)}
        analyze("переговори")  # the Ukrainian dictionary loaded, not timed
        colds = []
        for _ in range(5):
            empty_caches()
            started = time.perf_counter()
            for word in distinct:
                analyzer.term(word)
            colds.append(len(distinct) / (time.perf_counter() - started))
        repeat = max(1, 2_000_000 // max(words, 1))
        started = time.perf_counter()
        for _ in range(repeat):
            for text in sample:
                analyze(text)
        warm = words * repeat / (time.perf_counter() - started) / 1e6
        print(f"| {name} | {words:,} | {warm:.2f} | {statistics.median(colds):,.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--speed-only", action="store_true", help="only time the analyzer")
    args = parser.parse_args()
    if not args.speed_only:
        quality_table()
        cognate_table()
        meaning_table()
    speed_table()


if __name__ == "__main__":
    main()

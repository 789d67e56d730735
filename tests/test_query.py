import dataclasses
import datetime as dt
import json
import random
import re
import shutil
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from retrieval import Library, LibraryOptions, analyze
from retrieval.query import (
    _READ_BY_SCANNING,
    DEFAULT_MAX_TERMS,
    QUIZ_NOISE,
    RECENT_CUES,
    most_selective,
    readings,
    recent_cue,
    topical,
    topical_terms,
)
from tests.conftest import ROOT, SHIPPED_CORPUS, WriteCorpus
from tests.conftest import article as article_text

EVAL = ROOT / "tests" / "fixtures" / "eval"
# How many passages hold each term, for the table below.
FREQUENCY = {"war": 90, "talks": 40, "grain": 12, "odesa": 3, "umerov": 1, "zyzzyva": 0}


@pytest.mark.parametrize(
    ("terms", "limit", "kept"),
    [
        (["war", "talks", "grain"], 3, ["war", "talks", "grain"]),  # at the cap: whole
        (["war", "talks", "war", "grain"], 3, ["war", "talks", "war", "grain"]),  # repeats are no new terms
        (["war", "talks", "grain", "odesa"], 2, ["grain", "odesa"]),  # the rarest two, in question order
        (["war", "umerov", "war", "talks"], 2, ["umerov", "talks"]),  # a dropped term goes with its repeats
        (["odesa", "grain", "odesa", "war"], 2, ["odesa", "grain", "odesa"]),  # a kept one keeps its repeats
        (["zyzzyva", "war", "talks"], 2, ["war", "talks"]),  # unknown to the index: matches nothing, last
        (["zyzzyva", "war"], 2, ["zyzzyva", "war"]),  # ... but kept when there is room
        (["war", "odesa2", "odesa"], 1, ["odesa2"]),  # a tie goes to the term asked first
        (["war", "talks"], 1, ["talks"]),
        ([], 1, []),
    ],
)
def test_most_selective_keeps_the_rarest_distinct_terms(
    terms: list[str], limit: int, kept: list[str]
) -> None:
    frequency = {**FREQUENCY, "odesa2": 3}
    assert most_selective(terms, frequency.__getitem__, limit) == tuple(kept)


@pytest.fixture(scope="module")
def news(tmp_path_factory: pytest.TempPathFactory) -> Library:
    """The evaluation articles and the shipped one: eight articles on different stories."""
    root = tmp_path_factory.mktemp("news")
    shutil.copytree(EVAL / "corpus", root, dirs_exist_ok=True)
    shutil.copytree(SHIPPED_CORPUS, root, dirs_exist_ok=True)
    return Library.load(root)


def uncapped(library: Library) -> Library:
    return dataclasses.replace(library, options=dataclasses.replace(library.options, max_terms=1_000_000))


def test_questions_asked_in_words_are_answered_exactly_as_without_a_cap(news: Library) -> None:
    questions = [json.loads(line) for line in (EVAL / "questions.jsonl").read_text().splitlines()]
    questions += [
        {"question": "Who did Umerov negotiate with unofficially, and where did the talks collapse?"}
    ]
    whole = uncapped(news)
    for question in (q["question"] for q in questions):
        assert len(set(news.query_terms(question))) < DEFAULT_MAX_TERMS
        assert news.search(question, k=10) == whole.search(question, k=10)


def test_a_pasted_article_is_scored_on_its_rarest_terms_and_still_found_first(news: Library) -> None:
    for article in news.articles:
        pasted = f"{article.headline}\n\n{article.text}"[:4090]
        terms = news.query_terms(pasted)
        assert len(set(terms)) <= DEFAULT_MAX_TERMS
        assert news.search(pasted).hits[0].article.id == article.id
    seed = news.articles[[a.id for a in news.articles].index("000_eba0014b280aac67")]
    assert len(set(uncapped(news).query_terms(seed.text))) > 3 * DEFAULT_MAX_TERMS  # the cap did bite


def test_a_question_of_common_words_is_bounded(news: Library) -> None:
    common = " ".join(["said", "year", "people", "government", "week", "city", "country"] * 200)[:4090]
    common += " " + " ".join(f"word{number}" for number in range(100))  # unknown words, too
    result = news.search(common + " Istanbul")
    assert len(set(result.terms)) <= DEFAULT_MAX_TERMS
    assert "istanbul" in result.terms  # the rarest word of the question is never the one dropped


def test_the_cap_is_a_library_option(news: Library) -> None:
    narrow = dataclasses.replace(news, options=LibraryOptions(max_terms=2))
    question = "Umerov negotiations ferry Istanbul war harbour"
    kept = set(narrow.query_terms(question))
    frequency = {term: len(news.index.postings(term)[0]) for term in news.query_terms(question)}
    assert len(kept) == 2
    assert max(frequency[term] for term in kept) <= min(f for t, f in frequency.items() if t not in kept)
    with pytest.raises(ValueError, match="max_terms must be at least 1"):
        LibraryOptions(max_terms=0)


@pytest.mark.parametrize(
    ("question", "recent", "terms"),
    [
        ("What happened this week in Odesa?", True, ["happen", "odesa"]),
        ("Що сталося цього тижня в Одесі?", True, ["стат", "одес", "~дс"]),
        ("ЩО СТАЛОСЯ НА ЦЬОМУ ТИЖНІ В ОДЕСІ?", True, ["стат", "одес", "~дс"]),  # capitals, і and І
        ("Что случилось на этой неделе в Одессе?", True, ["случ", "одесс", "~дс"]),
        ("Що нещодавно відкрили в Одесі?", True, ["відкрит", "одес", "~дс"]),
        ("Что недавно открыли в Одессе?", True, ["откр", "одесс", "~дс"]),
        ("Останні новини з Одеси", True, ["новин", "одес", "~дс"]),
        # "lately": both words
        ("Що останнім часом відбувається в Одесі?", True, ["відбуват", "одес", "~дс"]),
        ("Последние новости из Одессы", True, ["новост", "одесс", "~дс"]),
        ("Что случилось в Одессе за последние дни?", True, ["случ", "одесс", "~дс", "дни", "~дн"]),
        # "last", not "latest", where no news or span of time follows: a word of the question
        ("Коли останній поїзд з Одеси?", False, ["останні", "поїзд", "одес", "~дс"]),
        ("Когда уходит последний поезд из Одессы?", False, ["уход", "последн", "поезд", "одесс", "~дс"]),
        ("Що сьогодні відбувається в Одесі?", True, ["відбуват", "одес", "~дс"]),
        ("Что в Одессе происходит сегодня?", True, ["одесс", "~дс", "происход"]),
        ("Чи досі закритий порт?", True, ["закрит", "порт"]),
        ("Порт до сих пор закрыт?", True, ["порт", "закр"]),
        ("Скільки зерна вивезли цього року?", True, ["зерн", "вивезт"]),
        ("Сколько зерна вывезли в этом году?", True, ["зерн", "вывезл"]),
        # \b holds in Cyrillic: `заразна` (contagious) and `нинішній` (current) are no cues
        ("Заразна хвороба в Одесі", False, ["заразн", "~зрзн", "хвороб", "одес", "~дс"]),
        ("Нинішній мер Одеси", False, ["нинішні", "мер", "одес", "~дс"]),
        # a period, as "last year" is in English: no cue, its words kept
        ("Що сталося в Одесі минулого року?", False, ["стат", "одес", "~дс", "минул", "рік"]),
        # quiz form: "which of the following", any Ukrainian apostrophe, ё or е
        ("Що з наведеного сталося в Одесі?", False, ["стат", "одес", "~дс"]),
        ("Яке ім'я нового мера Одеси?", False, ["нов", "мер", "одес", "~дс"]),
        ("Яке ім’я нового мера Одеси?", False, ["нов", "мер", "одес", "~дс"]),
        ("Яке імʼя нового мера Одеси?", False, ["нов", "мер", "одес", "~дс"]),
        # a Russian word in lower case may be a name (`в харькове`): its key too
        ("Какой из приведённых портов закрыли?", False, ["порт", "закр"]),
        ("Какой из приведенных портов закрыли?", False, ["порт", "закр"]),
        ("Как называется порт, по сообщениям СМИ?", False, ["порт"]),
        # nothing else to ask: kept whole
        ("цього тижня", True, ["тижден"]),
    ],
)
def test_words_about_the_recent_past_or_quiz_form_are_left_out_in_three_languages(
    question: str, recent: bool, terms: list[str]
) -> None:
    assert (RECENT_CUES.search(question) is not None) == recent
    assert recent_cue(question) == recent
    assert topical_terms(question) == terms
    assert set(analyze(topical(question))) <= set(terms)  # a question adds the keys of words in lower case


# Each way of saying "recently" the pattern knows, as a reader may write it.
CUES = [
    *("this week", "This Month", "THIS YEAR", "last week", "latest", "Recent", "recently"),
    *("now", "today", "currently", "so far", "Сьогодні"),
    *("цього тижня", "цей місяць", "цьому році", "поточного року", "поточному місяці", "минулого тижня"),
    *("минулий тиждень", "минулому тижні", "останні новини", "останні події", "за останні", "останнім часом"),
    *("останні дні", "нещодавно", "недавно", "зараз"),
    *("Нині", "тепер", "наразі", "сьогодні", "сьогоднішній день", "на даний момент", "досі", "поки що"),
    *("дотепер", "эта неделя", "эту неделю", "этой неделе", "этот месяц", "этом году", "этого года"),
    *("текущая неделя", "текущую неделю", "текущей неделе", "текущий месяц", "текущем году"),
    *("текущего месяца", "прошлая неделя", "прошлую неделю", "прошлой неделе", "последние новости"),
    *("последние события", "за последние", "последние дни", "последний месяц"),
    *("последнее время", "на днях", "сейчас", "ныне", "нынче", "теперь", "СЕГОДНЯ", "сегодняшний день"),
    *("в настоящее время", "в данный момент", "на данный момент", "пока что", "до сих пор"),
]
# Words that hold a cue's letters but are no cue: `\b` keeps them out, and English cues' words
# are parted by one space.
NEAR_CUES = [
    *("known", "snow", "nowhere", "todays", "заразна", "нинішній", "сейчасный"),
    # "last", not "latest": a train's, a match's
    *("останній поїзд", "останні", "последний поезд", "последние", "последние днепровские"),
    *("this\tyear", "so  far"),
]


def pasted_texts() -> list[str]:
    """Articles pasted as questions, 4,000 characters each, in the three languages."""
    files = sorted((ROOT / "tests" / "fixtures" / "uk" / "corpus").glob("*.txt"))
    files += sorted((EVAL / "corpus").rglob("*.txt"))[:10]
    return [file.read_text(encoding="utf-8")[:4000] for file in files]


def test_a_question_is_about_the_recent_past_exactly_when_the_cues_pattern_finds_a_cue() -> None:
    """`recent_cue` is told by `topical`'s rewriting, not by searching the question again; it
    must say what the pattern's search says of every text, pasted or typed, whichever asks first."""
    texts = pasted_texts()
    assert len(texts) > 30
    assert all(RECENT_CUES.search(word) for word in CUES)
    assert not any(RECENT_CUES.search(word) for word in NEAR_CUES)
    asked = [*texts, *CUES, *NEAR_CUES]
    for text in texts[:6]:
        for word in [*CUES, *NEAR_CUES]:
            # at the start, in the middle, at the end of a pasted text; and as the whole question
            asked += [f"{word} {text}", f"{text[:2000]} {word}, {text[2000:]}", f"{text}\n{word}?"]
            asked += [f"What happened {word}?", f"Що сталося ({word})", word.upper()]
    for number, text in enumerate(asked):
        expected = RECENT_CUES.search(text) is not None
        if number % 2:
            topical(text)  # the rewriting made first, as a search makes it
        assert recent_cue(text) == expected, text[:80]
        assert recent_cue(text) == expected  # and remembered


# Each English quiz phrase the pattern knows, and phrases near them that are none.
QUIZ = ["which of the following", "Which one of these", "WHICH OF THESE", "according to reports"]
QUIZ += ["According to News Reports", "what is the name of", "In the news"]
NEAR_QUIZ = ["which of them", "according to the reports", "in the newsroom", "what is the names of"]


def rewritten_by_scanning(question: str) -> tuple[str, bool]:
    """The rewriting as both patterns' scans of the whole question make it."""
    without_cues, cues = RECENT_CUES.subn(" ", question)
    stripped = QUIZ_NOISE.sub(" ", without_cues)
    return (stripped if stripped.strip(" ?.!") else question), cues > 0


def test_re_takes_no_letter_for_an_english_or_cyrillic_one_but_its_cases_and_those_read_apart() -> None:
    # the rewriting finds where an English cue may start in the text's ASCII letters in lower
    # case, and leaves the Cyrillic words out of a text without a Cyrillic letter, unless it
    # holds a letter `re` takes for an ASCII or a Cyrillic one (`_READ_BY_SCANNING`): over all
    # of Unicode, those are the only ones
    every = "".join(chr(code) for code in range(sys.maxunicode + 1) if not 0xD800 <= code < 0xE000)
    for letters in ("a-zA-Z", "\u0400-\u04ff"):
        taken = set(re.findall(f"(?i)[{letters}]", every)) - set(re.findall(f"[{letters}]", every))
        assert taken
        assert all(_READ_BY_SCANNING.fullmatch(letter) for letter in taken), sorted(taken)
    assert all(_READ_BY_SCANNING.fullmatch(letter) for letter in re.findall("[\u0400-\u04ff]", every))


def test_the_rewriting_is_that_of_scanning_the_whole_question_with_both_patterns() -> None:
    # cues and quiz phrases in every case, at the start, in the middle and at the end of
    # pasted texts, twice over, next to words holding their letters, after letters `re` takes
    # for an ASCII one (`thıs week`: read by scanning)
    texts = pasted_texts()
    rng = random.Random(7)
    english = [text for text in texts if not re.search("[\u0400-\u04ff]", text)]
    phrases = [*CUES[:11], *NEAR_CUES, *QUIZ, *NEAR_QUIZ, "thıs week", "ſo far", "this wee\u212a", "now’s"]
    asked = [*texts, *phrases]
    for text in [*english[:6], *texts[:3]]:
        for phrase in phrases:
            for written in (phrase, phrase.upper(), phrase.title(), phrase.swapcase()):
                middle = rng.randrange(len(text))
                asked += [
                    f"{written} {text}",
                    f"{text[:middle]}{written}, {text[middle:]}",
                    f"{text}\n{written}?",
                ]
                asked += [f"{written} {written}", f"{written}{written}", f"({written})", written]
    for question in asked:
        assert (topical(question), recent_cue(question)) == rewritten_by_scanning(question), question[:80]


@given(st.lists(st.sampled_from([*CUES[:11], *NEAR_CUES, *QUIZ, *NEAR_QUIZ, " ", ",", "x", "’", "ı", "é"])))
def test_a_text_of_cues_quiz_phrases_and_what_parts_them_is_rewritten_as_by_scanning(
    parts: list[str],
) -> None:
    question = "".join(parts)
    assert (topical(question), recent_cue(question)) == rewritten_by_scanning(question)


@pytest.mark.parametrize(
    "question",
    [
        "Новости Харькова на этой неделе",  # `этой` alone tells Russian
        "Новости Харькова сейчас",  # `сейчас` alone, a Russian stop word
        "Новости Харькова из перечисленных",  # quiz words too
    ],
)
def test_a_question_is_read_in_its_language_by_the_words_left_out_too(
    write_corpus: WriteCorpus, question: str
) -> None:
    library = Library.load(
        write_corpus(
            {
                "kharkiv.txt": article_text(
                    "2024-06-20", "Новости Харькова", "Метро Харькова снова работает после ремонта."
                ),
                "odesa.txt": article_text("2024-06-20", "Новости Одессы", "Пляжи Одессы открыты после зимы."),
                "kyiv.txt": article_text("2024-06-20", "Новини Києва", "У Києві відкрили новий міст."),
            }
        )
    )
    result = library.search(question, now=dt.date(2024, 6, 21))
    # read as Ukrainian without them, `новости` was `новіст` and met no Russian article
    assert result.terms == ("новост", "харьков", "~хркв")
    assert [hit.article.id for hit in result.hits] == ["kharkiv", "odesa"]


def test_a_word_of_a_question_that_tells_no_language_is_read_both_ways(write_corpus: WriteCorpus) -> None:
    library = Library.load(
        write_corpus(
            {
                "final.txt": article_text(
                    "2024-03-01", "Финал", "Финальный матч сыграют в марте, это решил клуб."
                ),
                "cup.txt": article_text(
                    "2024-03-01", "Кубок", "Матч кубка и ещё один матч перенесли, это решил клуб."
                ),
                "weather.txt": article_text("2024-03-01", "Погода", "Это был тёплый день."),
            }
        )
    )
    # no word of it is only Russian or only Ukrainian; read as Ukrainian alone, `марте` was
    # a form of `марити` and met no article, and the report naming the match twice came first
    result = library.search("Матч в марте")
    assert result.terms == ("матч", "марит", "март")
    assert [hit.article.id for hit in result.hits] == ["final", "cup"]
    # a question that tells its language is read in it alone
    assert library.search("Матч в марте, это финал?").terms == ("матч", "март", "финал")


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        # tells no language: the Ukrainian reading, then the Russian one
        ("Новости Харькова", [("новіст", "харьков", "~хркв"), ("новост", "харьков", "~хркв")]),
        ("в марте", [("марит",), ("март",)]),
        # `этой` tells Russian: one reading, kept though it is a cue a question leaves out
        ("Новости Харькова на этой неделе", [("новост", "харьков", "~хркв", "недел")]),
        ("матч", [("матч",)]),  # no word that reads two ways
        # typed in lower case, `київ` is also a form of `кий`: a reading with the name's term too
        # and the keys of words in lower case that may be names, which a topic's first
        # readings leave out: a key no article holds would weigh against each of them
        ("київ", [("ки",), ("київ", "~кв")]),
        ("новини києва", [("новин", "київ"), ("новин", "київ", "~кв")]),
        ("grain exports", [("grain", "export")]),
        ("the of", [()]),
    ],
)
def test_a_topic_is_read_as_a_question_is_each_reading_apart(
    topic: str, expected: list[tuple[str, ...]]
) -> None:
    assert readings(topic) == expected


@pytest.mark.parametrize(
    ("topic", "held", "expected"),
    [
        # the other language's cognate where the index holds it, in a reading of its own: an
        # article that writes `вибори` holds no `выбор`, which would weigh against it
        ("выборы", {"вибор"}, [("выбор",), ("вибор",)]),
        (
            "обстріл мосту",
            {"обстрел"},
            [
                ("обстріл", "міст"),
                ("обстріл", "мост", "~мст"),
                ("обстрел", "міст"),
                ("обстрел", "мост", "~мст"),
            ],
        ),
        ("выборы", set(), [("выбор",)]),  # no article holds it: as before
        # a topic's first word no dictionary holds is a name's or a sentence's first word: a
        # reading with its term in lower case, which an article writing it inside a sentence holds
        ("Масована атака", set(), [("масован", "~мсвн", "атак"), ("масова", "атак")]),
    ],
)
def test_a_topic_asks_for_what_a_question_asks_for_in_readings_of_their_own(
    topic: str, held: set[str], expected: list[tuple[str, ...]]
) -> None:
    assert readings(topic, held=held.__contains__) == expected

import dataclasses
import datetime as dt
import itertools
import random
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from retrieval import Article, Hit, Passage, analyzer, load_corpus, split_passages
from retrieval.stories import (
    MARKS,
    WordMarks,
    fold_same_story,
    marked,
    may_be_same,
    same_story_by,
    similarity,
    word_marks,
    words,
)

WIRE = "Ukraine and Russia exchanged 95 prisoners of war on Friday, officials in Kyiv said."
UK_CORPUS = Path(__file__).parent / "fixtures" / "uk" / "corpus"
EVAL_CORPUS = Path(__file__).parent / "fixtures" / "eval" / "corpus"


def hit(article_id: str, day: int, text: str, score: float) -> Hit:
    article = Article(
        article_id, f"Headline {article_id}", dt.date(2024, 10, day), (text,), source=article_id
    )
    return Hit(Passage(article_id, 0, 0, len(text), text), article, score, frozenset())


def test_near_identical_passages_are_shown_once_from_the_newest() -> None:
    hits = [
        hit("reuters", 10, WIRE, 9.0),
        hit("kyiv-post", 12, WIRE.replace("Friday", "Friday evening"), 8.5),  # a light edit
        hit("other", 11, "Grain exports rose through the Black Sea corridor.", 8.0),
        hit("ap", 9, WIRE, 7.0),
    ]
    folded = fold_same_story(hits, k=3)
    assert [h.article.id for h in folded] == ["kyiv-post", "other"]
    assert [a.id for a in folded[0].also_reported_by] == ["reuters", "ap"]
    assert folded[0].score == 9.0  # keeps the best rank of its story


def test_a_copy_of_another_year_is_folded_into_the_better_ranked_not_the_newest() -> None:
    # an annual strike reported in the same words: asked "in March 2022", the 2022 report
    # ranked first and was replaced by the 2024 one, whose facts differ
    strike = "Ferry workers went on strike in Piraeus on Tuesday, stopping ferries to the islands for {}."
    hits = [
        replace_date(hit("2022", 15, strike.format("a day"), 1.87), dt.date(2022, 3, 15)),
        replace_date(hit("2023", 14, strike.format("two days"), 1.55), dt.date(2023, 3, 14)),
        replace_date(hit("2024", 12, strike.format("three days"), 1.54), dt.date(2024, 3, 12)),
    ]
    (folded,) = fold_same_story(hits, k=3)
    assert folded.article.id == "2022" and folded.passage.text.endswith("for a day.")
    assert [a.id for a in folded.also_reported_by] == ["2024", "2023"]
    # within STORY_DAYS an update is still shown from the newest
    (update,) = fold_same_story([hits[0], replace_date(hits[1], dt.date(2022, 3, 17))], k=3)
    assert update.article.id == "2023"


def replace_date(one: Hit, date: dt.date) -> Hit:
    return dataclasses.replace(one, article=dataclasses.replace(one.article, date=date))


def test_freed_slots_go_to_other_passages() -> None:
    hits = [hit("a", 1, WIRE, 5), hit("b", 2, WIRE, 4), hit("c", 3, "Something else entirely.", 3)]
    assert [h.article.id for h in fold_same_story(hits, k=2)] == ["b", "c"]


def test_different_stories_are_kept_apart() -> None:
    hits = [hit("a", 1, WIRE, 5), hit("b", 2, "Prisoners were exchanged in 2022 too, the ministry said.", 4)]
    folded = fold_same_story(hits, k=5)
    assert len(folded) == 2
    assert all(h.also_reported_by == () for h in folded)


def vectors(**angles: float) -> dict[str, np.ndarray]:
    """Unit vectors in the plane, by article id: alike when their angles are close."""
    return {key: np.array([np.cos(a), np.sin(a)], dtype=np.float32) for key, a in angles.items()}


def test_other_outlets_telling_the_story_in_their_own_words_are_folded_into_the_best_ranked() -> None:
    hits = [
        hit("reuters", 10, "Kyiv and Moscow swapped 95 captured soldiers, officials said.", 9.0),
        hit("kyiv-post", 12, "Ninety-five prisoners of war came home on Friday in an exchange.", 8.5),
        hit("other", 11, "Grain exports rose through the Black Sea corridor.", 8.0),
        hit("archive", 1, "Prisoners of war were exchanged in the spring.", 7.0),  # alike, weeks before
    ]
    same = same_story_by(vectors(reuters=0.0, **{"kyiv-post": 0.1, "other": 1.5, "archive": 0.05}))
    folded = fold_same_story(hits, k=3, same_story=same)
    assert [h.article.id for h in folded] == [
        "reuters",
        "other",
        "archive",
    ]  # the better-ranked telling stays
    assert [a.id for a in folded[0].also_reported_by] == ["kyiv-post"]
    assert fold_same_story(hits, k=4) == hits  # words alone: four different passages


def test_an_article_is_never_folded_into_itself() -> None:
    first, second = hit("a", 1, WIRE, 5), hit("a", 1, "Officials in Kyiv gave no figure.", 4)
    same = same_story_by(vectors(a=0.0))
    assert fold_same_story([first, second], k=2, same_story=same) == [first, second]


def article_text(name: str) -> str:
    """The body of a Ukrainian or Russian fixture article."""
    (found,) = [article for article in load_corpus(UK_CORPUS)[0] if article.id == name]
    return found.text


def without_punctuation(text: str) -> str:
    return re.sub(r"[^\w\s]", "", text)


def edited(*edits: tuple[str, str]) -> Callable[[str], str]:
    def edit(text: str) -> str:
        for old, new in edits:
            assert old in text
            text = text.replace(old, new)
        return text

    return edit


@pytest.mark.parametrize(
    ("name", "copy"),
    [
        ("prisoner-exchange", str.upper),  # a copy set in capitals, as some wires send it
        ("ru-kyiv-bus", str.upper),  # the analyzer read Russian words in capitals as names
        ("drone-factory", without_punctuation),  # a third of its words carried some
        ("prisoner-exchange", without_punctuation),  # its apostrophe too: `Обєднаних`
        (  # an outlet's own typography: other apostrophes and quotes, a dash for a colon
            "prisoner-exchange",
            edited(("Об'єднаних", "Обʼєднаних"), (":", " —"), ("Вчора", "«Вчора»")),
        ),
        (  # a light edit: a verb's other form, another case after another preposition
            "prisoner-exchange",
            edited(("повернулися 189", "повернулись 189"), ("за посередництва", "при посередництві")),
        ),
        (  # Russian: a participle for the verb, another case
            "ru-kharkiv-bus",
            edited(("открыли", "открыт"), ("новом маршруте", "новым маршрутом")),
        ),
        ("bikes-lviv", edited(("Львів отримав", "Львів, як повідомили, отримав"))),
    ],
)
def test_a_copy_in_other_capitals_punctuation_or_a_few_forms_is_folded(
    name: str, copy: Callable[[str], str]
) -> None:
    original = article_text(name)
    hits = [hit("first", 10, original, 9.0), hit("copy", 11, copy(original), 8.0)]
    folded = fold_same_story(hits, k=2)
    assert [h.article.id for h in folded] == ["copy"]
    assert [a.id for a in folded[0].also_reported_by] == ["first"]


@pytest.mark.parametrize(
    ("text", "read"),
    [
        ("Officials in Kyiv said, (Reuters)", {"officials", "in", "kyiv", "said", "reuters"}),
        ("OFFICIALS said: officials", {"officials", "said"}),  # case-folded
        ("Об'єднаних Обʼєднаних Об’єднаних", {"обєднаних"}),  # three apostrophes, one word
        ("«Укренерго» — «укренерго»…", {"укренерго"}),  # quotes, a dash alone, an ellipsis
        ("U.S.-led talks", {"u.s.-led", "talks"}),  # punctuation inside a word stays
    ],
    ids=["punctuation", "case", "apostrophes", "quotes and dashes", "inside a word"],
)
def test_the_words_folding_compares(text: str, read: set[str]) -> None:
    assert words(text) == read


def test_one_kind_of_story_in_other_cities_is_kept_apart() -> None:
    """Articles written to one pattern (a new bus route, new bike lanes), other places and figures."""
    names = ["ru-kyiv-bus", "ru-kharkiv-bus", "ru-lviv-bus", "bikes-kyiv", "bikes-lviv", "bikes-dnipro"]
    hits = [hit(name, 10, article_text(name), 9.0 - n) for n, name in enumerate(names)]
    assert fold_same_story(hits, k=6) == hits


def test_folding_reads_passages_without_the_analyzer() -> None:
    """Copies are told by their surface words: the analyzer's reading of words it has not met
    (stemming, dictionaries, name keys) was most of what folding a long question's hits cost."""
    copied = article_text("ru-kyiv-bus")
    texts = [copied, copied.replace("Автобусы", "автобусы"), article_text("bikes-lviv")]
    analyzer._forget()
    folded = fold_same_story([hit(f"a{n}", 10 + n, text, 9.0 - n) for n, text in enumerate(texts)], k=3)
    assert [h.article.id for h in folded] == ["a1", "a2"]
    assert analyzer._caches.terms == {} and analyzer._caches.pieces == {}


def passages_and_copies() -> list[str]:
    """Every passage of the test corpora, and copies of each: in capitals, without
    punctuation, a word in ten dropped, its first or second half alone."""
    texts = [
        passage.text
        for corpus in (UK_CORPUS, EVAL_CORPUS)
        for found in load_corpus(corpus)[0]
        for passage in split_passages(found)
    ]
    rng = random.Random(3)
    copies = []
    for text in texts:
        pieces = text.split()
        copies += [
            text.upper(),
            without_punctuation(text),
            " ".join(piece for piece in pieces if rng.random() > 0.1),
            " ".join(pieces[: len(pieces) // 2]),
            " ".join(pieces[len(pieces) // 3 :]),
        ]
    return texts + copies


def test_word_marks_never_keep_apart_two_passages_alike_enough() -> None:
    """Folding compares two passages' words only where their marks say they may be alike: no
    pair of the test corpora's passages and their copies at a threshold is told apart by its
    marks, and most pairs that fold at no threshold up to 0.7 need no reading."""
    texts = passages_and_copies()
    read = [words(text) for text in texts]
    marks = [word_marks(text) for text in texts]
    assert marks == [WordMarks(len(found), marks[n].bits) for n, found in enumerate(read)]
    alike, apart = 0, 0
    for left, right in itertools.combinations(range(len(texts)), 2):
        near = similarity(read[left], read[right])
        for threshold in (0.3, 0.5, 0.7, 0.9, 1.0):
            if near >= threshold:
                alike += 1
                assert may_be_same(marks[left], marks[right], threshold), (texts[left], texts[right])
        apart += near < 0.3 and not may_be_same(marks[left], marks[right], 0.7)
    pairs = len(texts) * (len(texts) - 1) // 2
    assert alike > 1000 and apart > 0.9 * pairs


@given(
    st.lists(st.sets(st.integers(0, 2000), max_size=700), min_size=2, max_size=2),
    st.sampled_from([0.2, 0.5, 0.7, 0.9, 1.0]),
)
def test_word_marks_bound_the_similarity_of_any_two_sets_of_words(
    drawn: list[set[int]], threshold: float
) -> None:
    # sets of more words than there are marks: many words share one
    left, right = (frozenset(f"w{number}" for number in numbers) for numbers in drawn)
    if similarity(left, right) >= threshold:
        assert may_be_same(marked(left), marked(right), threshold)
    assert marked(left).bits < 2**MARKS and marked(left).size == len(left)


def test_folding_by_saved_marks_folds_as_reading_every_passage() -> None:
    """The same stories, the same hits kept and the same articles named as also reporting,
    whether folding is given the passages' marks or reads every passage it compares."""
    texts = passages_and_copies()
    originals = len(texts) // 6
    rng = random.Random(8)
    folded = 0
    for trial in range(600):  # enough that some 50 folds are made whatever the corpora hold
        chosen = rng.sample(range(len(texts)), rng.randint(2, 12))
        if trial % 2:  # passages side by side with copies of them
            some = rng.sample(range(originals), 4)
            chosen += some + [originals + 5 * n + rng.randrange(5) for n in some]
            rng.shuffle(chosen)
        hits = [
            hit(f"a{n}", 1 + rng.randrange(28), texts[number], 20.0 - n) for n, number in enumerate(chosen)
        ]
        known = {id(found): word_marks(found.passage.text) for found in hits}
        k = rng.choice([1, 3, 5])
        with_marks = fold_same_story(hits, k, marks=lambda found, known=known: known.get(id(found)))
        assert with_marks == fold_same_story(hits, k)
        folded += sum(len(found.also_reported_by) for found in with_marks)
    assert folded > 50

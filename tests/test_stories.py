import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from retrieval import Article, Hit, Passage, analyzer, load_corpus
from retrieval.stories import fold_same_story, same_story_by, words

WIRE = "Ukraine and Russia exchanged 95 prisoners of war on Friday, officials in Kyiv said."
UK_CORPUS = Path(__file__).parent / "fixtures" / "uk" / "corpus"


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

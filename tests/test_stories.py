import datetime as dt

import numpy as np

from retrieval import Article, Hit, Passage
from retrieval.stories import fold_same_story, same_story_by

WIRE = "Ukraine and Russia exchanged 95 prisoners of war on Friday, officials in Kyiv said."


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

import datetime as dt

import pytest

from retrieval import Article, Passage, load_corpus, split_passages
from tests.conftest import SHIPPED_CORPUS


def make(*paragraphs: str) -> Article:
    return Article("a", "Headline", dt.date(2024, 1, 1), tuple(paragraphs))


def split(article: Article, min_chars: int = 200, max_chars: int = 1000) -> tuple[Passage, ...]:
    """The splitting mechanism at small bounds, independent of the tuned defaults."""
    return split_passages(article, min_chars, max_chars)


LONG = " ".join(f"Sentence number {i} is here." for i in range(60))  # about 1,600 characters


@pytest.mark.parametrize(
    ("paragraphs", "expected_count"),
    [
        (("x" * 300, "y" * 300, "z" * 300), 3),  # paragraphs of a good size stay apart
        # a short paragraph absorbs the next ones until it is long enough
        (("short one.", "short two.", "x" * 300, "y" * 300), 2),
        (("x" * 300, "a short end."), 1),  # a short last paragraph joins the one before
        ((LONG,), 2),  # a long paragraph splits at sentences
    ],
)
def test_passage_count(paragraphs: tuple[str, ...], expected_count: int) -> None:
    assert len(split(make(*paragraphs))) == expected_count


def test_spans_index_into_article_text_and_positions_count_up() -> None:
    article = make("short one.", "x" * 300, LONG, "tail " * 80)
    passages = split(article)
    assert [p.position for p in passages] == list(range(len(passages)))
    for passage in passages:
        assert passage.text == article.text[passage.start : passage.end]
        assert passage.article_id == "a"
        assert len(passage.text) <= 1000


def test_long_paragraph_splits_at_sentence_ends() -> None:
    passages = split(make(LONG), max_chars=400)
    assert all(p.text.endswith("here.") for p in passages)
    assert all(len(p.text) <= 400 for p in passages)


def test_sentence_longer_than_a_passage_is_cut_at_a_word() -> None:
    passages = split(make("word " * 500), max_chars=300)
    assert all(len(p.text) <= 300 for p in passages)
    assert "".join(p.text.replace(" ", "") for p in passages) == "word" * 500


def test_bounds_are_checked() -> None:
    with pytest.raises(ValueError, match="min_chars=500, max_chars=100"):
        split_passages(make("x"), min_chars=500, max_chars=100)


def test_seed_passages_keep_each_story_apart() -> None:
    articles, _ = load_corpus(SHIPPED_CORPUS)
    passages = split_passages(articles[0])
    abramovich = [p for p in passages if "Abramovich" in p.text]
    assert len(abramovich) == 1
    assert "400,000" not in abramovich[0].text
    assert all(len(p.text) <= 2500 for p in passages)

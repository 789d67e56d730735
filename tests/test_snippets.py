import pytest

from retrieval import analyze
from retrieval.snippets import snippet_span

TEXT = (
    "The first sentence is filler. The second sentence is filler too. "
    "Negotiators met Abramovich in Istanbul. The fourth sentence is filler. The fifth is filler."
)


@pytest.mark.parametrize(
    ("question", "limit", "must_contain"),
    [
        # centred on the best sentence
        ("Abramovich Istanbul", 60, "Negotiators met Abramovich in Istanbul."),
        ("Abramovich", 1000, TEXT),  # fits whole: shown whole
        ("zebra", 40, "The first sentence is filler."),  # no match: the beginning
    ],
)
def test_snippet_span(question: str, limit: int, must_contain: str) -> None:
    start, end = snippet_span(TEXT, frozenset(analyze(question)), limit)
    assert end - start <= limit
    assert must_contain in TEXT[start:end]


def test_one_overlong_sentence_is_cut_around_the_first_match() -> None:
    text = "filler " * 200 + "Abramovich spoke " + "filler " * 200
    start, end = snippet_span(text, frozenset(analyze("Abramovich")), 100)
    assert end - start <= 100
    assert "Abramovich" in text[start:end]


def test_a_sentence_too_short_to_tell_its_language_is_weighed_by_either_reading() -> None:
    # "Новости Харькова." tells no language, and read alone as Ukrainian its `новости` is
    # `новіст`: the Russian question's `новост` went unseen, and the sentence that names
    # Kharkiv alone was shown in its place
    text = "В Харькове было тихо весь день и ночь. Новости Харькова. " + "Синоптики уверены в погоде. " * 4
    terms = frozenset(analyze("Это новости Харькова"))
    assert {"новост", "харьков"} <= terms
    start, end = snippet_span(text, terms, 30)
    assert text[start:end] == "Новости Харькова."

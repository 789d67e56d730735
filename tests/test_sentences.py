import pytest

from retrieval import sentence_spans


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("One. Two! Three?", ["One.", "Two!", "Three?"]),
        # titles and country abbreviations do not end sentences
        ("Mr. Smith met U.S. officials. They agreed.", ["Mr. Smith met U.S. officials.", "They agreed."]),
        # an initial is not a full stop
        ("J. Doe spoke. Then he left.", ["J. Doe spoke.", "Then he left."]),
        # a quote after the full stop belongs to the sentence
        ('He said "no." Then left.', ['He said "no."', "Then left."]),
        # lower case after a full stop: not a new sentence
        ("Prices rose 3.5 per cent. in March", ["Prices rose 3.5 per cent. in March"]),
        ("   ", []),
    ],
)
def test_sentence_spans(text: str, sentences: list[str]) -> None:
    assert [text[s:e] for s, e in sentence_spans(text)] == sentences

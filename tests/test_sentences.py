import pytest

from retrieval import sentence_spans
from tests.conftest import finishes


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
        # Ukrainian and Russian: abbreviations before a name or a number do not end sentences
        ("Вибух на вул. Хрещатик. Постраждалих немає.", ["Вибух на вул. Хрещатик.", "Постраждалих немає."]),
        ("Школа ім. Шевченка відкрилася. Учні раді.", ["Школа ім. Шевченка відкрилася.", "Учні раді."]),
        ("Справу відкрили за ст. 111. Слідство триває.", ["Справу відкрили за ст. 111.", "Слідство триває."]),
        ("Это было на ул. Пушкина. Никто не пострадал.", ["Это было на ул. Пушкина.", "Никто не пострадал."]),
        # ... but the pronoun `им` does
        ("Мы позвонили им. Они не ответили.", ["Мы позвонили им.", "Они не ответили."]),
        # a sentence may open with « or „, and close with »; Ґ is a capital
        ("Він це заявив. «Ми вистоїмо», — додав він.", ["Він це заявив.", "«Ми вистоїмо», — додав він."]),
        ("Він спитав: «Коли?» Відповіді не було.", ["Він спитав: «Коли?»", "Відповіді не було."]),
        ("Він погодився. „Так“, — сказав він.", ["Він погодився.", "„Так“, — сказав він."]),
        ("Ґрунт промерз. Ґанок зруйновано.", ["Ґрунт промерз.", "Ґанок зруйновано."]),
        ("   ", []),
    ],
)
def test_sentence_spans(text: str, sentences: list[str]) -> None:
    assert [text[s:e] for s, e in sentence_spans(text)] == sentences


@pytest.mark.parametrize(
    "marks",
    [
        "." * 200_000,  # an ellipsis typed as a line of dots
        "…" * 200_000,
        "!" * 100_000 + ")" * 100_000,  # marks, then closing brackets, then no space
    ],
)
def test_a_run_of_marks_with_no_sentence_after_it_is_one_sentence(marks: str) -> None:
    # each mark of the run was tried as a boundary, each taking the rest of the run:
    # quadratic, 40,000 dots took 13 s, 200,000 of them well over `finishes`' safety net
    text = f"Wait{marks}x"
    assert finishes(sentence_spans, text) == [(0, len(text))]

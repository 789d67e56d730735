"""Which message answered which question: a bounded memory that holds no question's words."""

from __future__ import annotations

import pytest

from bot.answered import Answer, AnsweredQuestions


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        ("Who negotiated with Abramovich?", "Who negotiated with Abramovich?", True),
        ("Who negotiated with Abramovich?", "  Who negotiated\nwith   Abramovich? ", True),  # spaces aside
        ("Who negotiated with Abramovic?", "Who negotiated with Abramovich?", False),  # a typo fixed
        ("who negotiated with abramovich?", "Who negotiated with Abramovich?", False),  # letter case is words
        ("", " ", True),  # no words at all, twice
        ("\ud800 lone surrogate", "\ud800 lone surrogate", True),  # valid in JSON, not in UTF-8
    ],
)
def test_a_fingerprint_tells_only_other_words_apart(first: str, second: str, same: bool) -> None:
    answered = AnsweredQuestions()
    assert (answered.fingerprint(first) == answered.fingerprint(second)) is same


def test_a_fingerprint_is_keyed_and_holds_no_words() -> None:
    question = "Who negotiated with Abramovich?"
    one, other = AnsweredQuestions(), AnsweredQuestions()
    assert one.fingerprint(question) != other.fingerprint(question)  # a secret of each start
    assert len(one.fingerprint(question)) == 16 and b"Abramovich" not in one.fingerprint(question)


def test_the_least_recently_used_answer_is_forgotten_first() -> None:
    answered = AnsweredQuestions(capacity=2)
    for message_id in (1, 2):
        answered.remember(7, message_id, Answer(100 + message_id, b"x"))
    assert answered.get(7, 1) == Answer(101, b"x")  # used: now the most recent
    answered.remember(-100, 1, Answer(200, b"y"))  # another chat's message 1 is another question
    assert len(answered) == 2
    assert answered.get(7, 2) is None
    assert answered.get(7, 1) == Answer(101, b"x") and answered.get(-100, 1) == Answer(200, b"y")
    answered.remember(7, 1, Answer(101, b"z", key="abcdefgh"))  # edited: its answer replaced
    assert answered.get(7, 1) == Answer(101, b"z", key="abcdefgh") and len(answered) == 2

import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from types import FrameType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from retrieval import analyze, analyze_spans, analyzer, matched_spans


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("negotiate", "negotiations"),
        ("negotiating", "negotiate"),
        ("unofficially", "unofficial"),
        ("collapse", "collapsed"),
        ("Ukraine's", "Ukraine"),  # possessive dropped
        ("Ukraine’s", "ukraine"),  # typographic apostrophe too
        ("400,000", "400000"),  # thousands separators dropped
        ("ＦＵＬＬ", "full"),  # full-width letters folded (NFKC)
        ("CAFÉ", "café"),  # Unicode case folding
        ("cafe\u0301", "café"),  # combining accent composed
    ],
)
def test_forms_meet_on_one_term(left: str, right: str) -> None:
    assert analyze(left) == analyze(right) != []


@pytest.mark.parametrize("blank", ["\u3164", "\u115f", "\u1160", "\uffa0", "\u2800"])
def test_letters_that_show_as_nothing_are_no_words(blank: str) -> None:
    # Hangul fillers are letters to Unicode (Lo); shown, they are blank: no term, and none glued to a word
    assert analyze(blank * 3) == []
    assert [word.term for word in analyzer.question_words(f"{blank} {blank}") if word.term] == []
    assert analyze(f"{blank}grain{blank}") == analyze("grain")


@pytest.mark.parametrize("invisible", ["\u00ad", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"])
def test_characters_that_show_as_nothing_inside_a_word_leave_it_one_word(invisible: str) -> None:
    # a soft hyphen, zero-width space, non-joiner or joiner, word joiner or zero-width no-break
    # space is no letter (Cf): it cut the word it sat in into two that match nothing
    assert analyze(f"Abra{invisible}movich") == analyze("Abramovich")
    assert analyze(f"пере{invisible}говори") == analyze("переговори")
    assert analyze(invisible * 3) == []
    text = f"talks with Abra{invisible}movich"
    spans = matched_spans(text, frozenset(analyze("Abramovich")))
    assert [text[start:end] for start, end in spans] == [f"Abra{invisible}movich"]


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        ("Who did Umerov negotiate with?", ["umerov", "negoti"]),  # stop words dropped
        ("the of and", []),
        ("", []),
        ("🙂🙂 ... !!!", []),  # symbols are not words
        ("3.5 per cent in 2022", ["3.5", "per", "cent", "2022"]),  # numbers kept
        ("the 1990s", ["1990s"]),  # a number glued to letters stays a word
        ("G7 summit", ["g7", "summit"]),
        ("full-scale war", ["full", "scale", "war"]),  # hyphens separate
        # Russian: Snowball stems, "в" a stop word; a word with a capital gives a name key too,
        # but not a sentence's first word the Russian dictionary knows in lower case alone
        ("Переговоры в Стамбуле", ["переговор", "стамбул", "~стмбл"]),
    ],
)
def test_analyze(text: str, terms: list[str]) -> None:
    assert analyze(text) == terms


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        ("Did the US know about the talks?", ["us", "know", "talk"]),  # a name, not the pronoun
        ("Did the U.S. know?", ["us", "know"]),  # dotted, one word
        ("Let us know", ["let", "know"]),  # the pronoun is a stop word
        ("The UK, the EU and the UN", ["uk", "eu", "un"]),
        ("WHO warned", ["who", "warn"]),  # the World Health Organization
        ("who warned", ["warn"]),
        ("IT jobs in Washington, D.C.", ["it", "job", "washington", "dc"]),
        ("at 9 a.m.", ["9"]),  # lower-case dots: `am` is a stop word
    ],
)
def test_names_in_capitals_are_not_stop_words(text: str, terms: list[str]) -> None:
    assert analyze(text) == terms


def test_matched_spans_point_at_surface_words() -> None:
    text = "Umerov's unofficial negotiations"
    spans = matched_spans(text, frozenset(analyze("negotiate unofficially")))
    assert [text[s:e] for s, e in spans] == ["unofficial", "negotiations"]


def test_mixed_scripts_and_control_characters_do_not_crash() -> None:
    text = "\u200f\u200dمرحبا 👩‍👩‍👧 \x00 \ud800 Zelenskyy\u200b"
    assert "zelenskyy" in analyze(text)


# Words of every kind the analyzer treats apart, and the blanks and marks between them.
_WORDS = (
    "talks The US us U.S. WHO Ukraine's Ukraine’s 400,000 3.5 1.5x 1990s G7 cafe\u0301 ＦＵＬＬ "
    "full-scale марте мосту Что Що переговори переговоры Київ в з п'ятниця 🙂"
)
ANALYZER_WORDS = st.sampled_from([*_WORDS.split(), ""])
ANALYZER_GLUE = st.sampled_from(
    [" ", "  ", "\n\n", "\t", "\u00a0", "\u2028", "\x1c", ",", ".", "-", "'", "’", "?", ""]
)


@given(st.lists(st.lists(st.tuples(ANALYZER_WORDS, ANALYZER_GLUE), max_size=12), min_size=1, max_size=6))
def test_reading_pieces_between_blanks_gives_the_terms_of_reading_word_by_word(
    texts: list[list[tuple[str, str]]],
) -> None:
    """Texts read in turn, so that pieces are found both cached and new, and the caches are
    emptied on the way: piece by piece or word by word, the terms are the same."""
    for number, pairs in enumerate(texts):
        if number == 3:
            analyzer._forget()
        text = "".join(word + glue for word, glue in pairs)
        assert analyze(text) == analyzer._analyze_words(text, analyzer._caches)


def _read_while_the_caches_are_emptied(
    read: Callable[[], list[str]], pause_in: Callable[..., object], at: str
) -> list[str]:
    """Run `read` in a thread paused at the `at` event ("call", "return") of `pause_in`,
    while this thread reads a text with the caches full, which empties them; then let it go."""
    paused, emptied = threading.Event(), threading.Event()

    def pause(frame: FrameType, event: str, arg: object) -> Callable[..., object] | None:
        if frame.f_code is not pause_in.__code__:
            return None
        if event == at and not paused.is_set():
            paused.set()
            emptied.wait()
        return pause  # to be told of its return too

    def traced() -> list[str]:
        sys.settrace(pause)
        try:
            return read()
        finally:
            sys.settrace(None)

    with ThreadPoolExecutor(1) as pool, pytest.MonkeyPatch.context() as patch:
        result = pool.submit(traced)
        try:
            assert paused.wait(60)
            patch.setattr("retrieval.analyzer._CACHE_LIMIT", 0)  # full: the next text empties them
            analyze("talks")
        finally:
            patch.undo()
            emptied.set()
        return result.result()


RUSSIAN = "Что случилось с мосту?"  # `мосту` reads `міст` in Ukrainian, `мост` in Russian


@pytest.mark.parametrize(
    "read",
    [
        lambda: analyze(RUSSIAN),  # a question, or a passage indexed
        lambda: [found for found, _, _ in analyze_spans(RUSSIAN)],  # a snippet's highlighted words
        lambda: [
            found for found, _, _ in analyzer.question_spans(RUSSIAN) if found[0] != "~"
        ],  # a question's terms
    ],
    ids=["analyze", "analyze_spans", "question_spans"],
)
def test_a_russian_text_is_read_as_russian_while_another_thread_empties_the_full_caches(
    read: Callable[[], list[str]],
) -> None:
    """Two searches run at once: one has read its words, the other finds the caches full
    and empties them before the first weighs its words' language. It read `мосту` as
    Ukrainian, a term its passages do not have."""
    assert read() == ["случ", "мост"]
    weighing = analyzer._reads_russian
    assert _read_while_the_caches_are_emptied(read, weighing, "call") == ["случ", "мост"]


def test_a_word_read_while_another_thread_empties_the_full_caches_keeps_its_russian_reading() -> None:
    """The caches emptied between a new word's reading and its caching: the word was kept
    with its Ukrainian term alone, and every Russian text read it as Ukrainian until the
    caches filled up again (two million words later)."""
    analyzer._forget()
    reading_a_new_word = analyzer._normalise
    _read_while_the_caches_are_emptied(lambda: analyze("мосту"), reading_a_new_word, "return")
    assert analyze(RUSSIAN) == ["случ", "мост"]
    assert analyze("Що сталося з мосту?") == ["стат", "міст"]

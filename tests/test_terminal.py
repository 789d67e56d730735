import pytest

from bot.terminal import shown


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Переговори щодо зерна", "Переговори щодо зерна"),  # letters of any script pass
        ("line one\n\n\tline two", "line one\n\n\tline two"),  # the CLI's own layout is kept
        ("a\x1b[2Jb", "a\\x1b[2Jb"),  # clears the screen
        ("\x1b]52;c;ZWNobw==\x07", "\\x1b]52;c;ZWNobw==\\x07"),  # writes the clipboard
        ("a\x9b8mb", "a\\x9b8mb"),  # C1's one-character CSI
        ("fake\rline", "fake\\x0dline"),  # a carriage return would write over the line
        ("soft\u00adhyphen and zero\u200bwidth", "soft\u00adhyphen and zero\u200bwidth"),  # not controls
        ("\u202eemordnilap\u202c and \u2067isolate", "\\u202eemordnilap\\u202c and \\u2067isolate"),  # bidi
    ],
)
def test_control_characters_are_shown_escaped(text: str, expected: str) -> None:
    assert shown(text) == expected

"""Text bound for a terminal: its control characters shown, never obeyed.

Headlines, passages and feed titles come from whoever writes the articles or publishes a
feed (a feed's `&#27;` is read as the escape character). A terminal obeys the escape
sequences such text may hold: clear the screen, set the window's title, hide the text
after it, write the clipboard (OSC 52). So the command line writes every control
character but the line break and the tab as `\\x1b`, as `newsbot stats` writes a file name.
A field that is one line of the output (an article's id, link or outlet) has its line
breaks and tabs written so too: a `.jsonl` line's escapes spell them, and a line of an
article's own would pass for one of the answer's. JSON escapes C0 itself; DEL and C1,
which it leaves as they are, are written as its `\\u009b`, which reads back the same.
Bidi controls (U+202A-U+202E embeddings and overrides, U+2066-U+2069 isolates) are
written `\\u202e` everywhere: one left open turns the rest of the line around, and in
some terminals what is written after it too.
"""

from __future__ import annotations

import re

__all__ = ["json_shown", "shown", "shown_in_line"]

_BIDI = "\u202a-\u202e\u2066-\u2069"
_CONTROL = re.compile(f"[\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f{_BIDI}]")
"""C0 but line break and tab, DEL, C1 (`\\x9b` starts a sequence as `\\x1b[` does), bidi controls."""
_CONTROL_IN_LINE = re.compile(f"[\\x00-\\x1f\\x7f-\\x9f{_BIDI}]")
_CONTROL_JSON_LEAVES = re.compile(f"[\\x7f-\\x9f{_BIDI}]")


def shown(text: str) -> str:
    """`text` with each control character but a line break or a tab written `\\xNN` (a bidi
    control `\\u202e`)."""
    return _CONTROL.sub(_escaped, text)


def shown_in_line(text: str) -> str:
    """`text` with each control character, line breaks and tabs too, written `\\xNN` (a bidi
    control `\\u202e`)."""
    return _CONTROL_IN_LINE.sub(_escaped, text)


def json_shown(document: str, encoding: str = "utf-8") -> str:
    """A JSON document with DEL, C1 and bidi controls written `\\u00NN`, `\\u202e`, and each
    character `encoding` lacks written so too (`\\ud83c\\udf89` beyond the BMP): the same
    JSON to whoever reads it. The terminal's own stand-ins (`\\xab`, `\\U0001f389`) are
    escapes JSON does not know, and made the whole document unreadable to a script.

    They can only stand inside its strings, where the escape means the very character."""
    document = _CONTROL_JSON_LEAVES.sub(lambda match: f"\\u{ord(match.group()):04x}", document)
    try:
        document.encode(encoding)
    except UnicodeEncodeError:
        return _NOT_ASCII.sub(lambda match: _json_escaped(match.group(), encoding), document)
    except LookupError:  # an encoding Python does not know: the stream itself will say so
        pass
    return document


_NOT_ASCII = re.compile("[^\\x00-\\x7f]")


def _json_escaped(char: str, encoding: str) -> str:
    """`char` as it is if `encoding` has it, else as JSON's escape (a surrogate pair past U+FFFF)."""
    try:
        char.encode(encoding)
    except UnicodeEncodeError:
        return "".join(f"\\u{unit:04x}" for unit in _utf16_units(ord(char)))
    return char


def _utf16_units(code: int) -> tuple[int, ...]:
    if code <= 0xFFFF:
        return (code,)
    code -= 0x10000
    return (0xD800 + (code >> 10), 0xDC00 + (code & 0x3FF))


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"

"""How the CLI prints a name it did not choose: a file name, a tag name, a message
that quotes one (issue 14).

A file named `ESC]2;…BEL.jpg` retitles the terminal when printed raw, `ESC[2J`
clears the screen, and an RLO (U+202E) shows `gpj.exe` as `exe.jpg`. `shown`
renders every such character visibly as a Python-style escape (`\\x1b`,
`\\u202e`), so what is printed is what is on disk, character for character, and
nothing in it reaches the terminal as a command. Ordinary text, accents, CJK and
emoji (with their zero-width joiners) are left alone. `--json` output needs none
of this: `json.dumps` already escapes every control character.
"""

from __future__ import annotations

# Joiners that emoji and several scripts need; invisible but harmless.
_KEPT = frozenset("\u200c\u200d")


_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def shown(text: object, *, keep_newlines: bool = False) -> str:
    """`text` (any object, through `str`) with control characters, bidi overrides,
    lone surrogates (undecodable bytes of a file name) and other non-printables
    written as escapes. `keep_newlines` keeps "\\n" as a line break, for a message
    of several lines whose own parts were already passed through `shown`."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(
        char if char.isprintable() or char == " " or char in _KEPT
        or (keep_newlines and char == "\n") else _escape(char)
        for char in text
    )

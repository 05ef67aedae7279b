"""Tag spelling rules: the user's spelling is kept, a key is used for matching.

`long_hair`, `Long Hair` and `long-hair` share a key, so a model trained on one
spelling, or a tag file using another, lands on the tag the person already has.
The key is never shown; the name is.
"""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# The longest tag name stored, in characters (code points). Booru tags run to
# ~100; a natural-language caption clause between two commas can reach a few
# hundred. Beyond 1,000 it is not a tag but a pasted document (a 50 MB "name"
# made a 210 MB store, issue 14). The store and the manifest both check it here.
MAX_TAG_NAME_CHARS = 1000
# Bidirectional overrides/isolates (RLO, LRI, ...): `evil\u202etxt.exe` shows as `evilexe.txt`.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")


class TagNameError(ValueError):
    """A tag name that cannot be stored (empty, too long, or holding control characters)."""


def tag_key(name: str) -> str:
    """The matching key: NFKC, casefold, `_` and `-` as spaces, spaces collapsed."""
    text = unicodedata.normalize("NFKC", name).casefold()
    text = text.replace("_", " ").replace("-", " ")
    return _SPACES.sub(" ", text).strip()


def clean_tag_name(name: str) -> str:
    """The name as stored: stripped of surrounding space; refuses what no tag file can hold."""
    if not isinstance(name, str):
        raise TagNameError(f"a tag name must be text, not {type(name).__name__}")
    cleaned = name.strip()
    if not cleaned:
        raise TagNameError("a tag name cannot be empty")
    if len(cleaned) > MAX_TAG_NAME_CHARS:
        raise TagNameError(
            f"tag name {cleaned[:40]!r}... is {len(cleaned):,} characters long; "
            f"the most a tag name can hold is {MAX_TAG_NAME_CHARS:,}"
        )
    if _CONTROL.search(cleaned):
        raise TagNameError(f"tag name {cleaned!r} contains a control character (newline, tab, ...)")
    if _BIDI.search(cleaned):
        raise TagNameError(f"tag name {cleaned!r} contains a text-direction control character")
    if not tag_key(cleaned):
        raise TagNameError(f"tag name {cleaned!r} has nothing but separators")
    return cleaned

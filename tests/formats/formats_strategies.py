"""Hypothesis strategies shared by the round-trip tests: tags with unicode,
inner spaces, quotes and brackets, and label dicts over fixed image names
that include spaces, quotes, commas and non-ASCII characters."""

from __future__ import annotations

from hypothesis import strategies as st

from clml_desktop.collection.labels import ImageLabels

# File names a real collection has: spaces, quotes, a comma, non-ASCII, a subfolder.
IMAGE_NAMES = ("a b.jpg", "ü/é 'q'.png", 'd"q.jpg', "x,y.jpg", "日本/写真.webp", "plain.png")

_CHARS = st.characters(blacklist_categories=("Cc", "Cs", "Cn", "Zl", "Zp"))


def tags(exclude: str = "") -> st.SearchStrategy[str]:
    """One stripped, non-empty tag without the characters in `exclude`."""
    alphabet = st.characters(blacklist_categories=("Cc", "Cs", "Cn", "Zl", "Zp"), blacklist_characters=exclude)
    special = st.sampled_from(['"quoted"', "it's", "(weighted:1.2)", "[bracket]", "long hair", "a  b", "ß", "🐈"])
    text = st.text(alphabet=alphabet, min_size=1, max_size=12).map(str.strip).filter(bool)
    return st.one_of(text, special.filter(lambda t: not any(c in t for c in exclude)))


def tag_lists(exclude: str = "", max_size: int = 6) -> st.SearchStrategy[list[str]]:
    return st.lists(tags(exclude), max_size=max_size, unique=True)


@st.composite
def labels_dicts(draw, exclude: str = "", negatives: bool = True, min_positives: int = 0):
    """relpath -> ImageLabels with disjoint positives/negatives, order kept."""
    names = draw(st.lists(st.sampled_from(IMAGE_NAMES), unique=True, min_size=1))
    out = {}
    for name in names:
        pos = draw(tag_lists(exclude).filter(lambda t: len(t) >= min_positives))
        neg = draw(tag_lists(exclude)) if negatives else []
        out[name] = ImageLabels(positives=pos, negatives=[t for t in neg if t not in pos])
    return out

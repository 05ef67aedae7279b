"""What the inspector shows for one image: its tags split by state (Qt-free).

Labels come from the store (authoritative, in the image's order, with their
source); suggestion scores come from the context's `LabelIndex`, the same
arrays the grid badges count, so the inspector and the grid never disagree
about what is pending.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from clml_desktop.collection.labels import LabelState
from clml_desktop.collection.query import LabelIndex
from clml_desktop.inference.likely_text import cuts_text, likely_text


@dataclass(frozen=True)
class SuggestedTag:
    tag: str
    score: float
    threshold: float


@dataclass
class ImageTags:
    """Positives in order with their source, pending suggestions by score, rejections."""

    positives: list[tuple[str, str]] = field(default_factory=list)
    suggested: list[SuggestedTag] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)


def image_tags(labels: Iterable, index: LabelIndex, image_id: int) -> ImageTags:
    """Combine the store's `LabelRow`s of one image with its pending suggestions."""
    out = ImageTags()
    known: set[str] = set()
    rows = sorted(
        labels,
        key=lambda r: (r.position is None, r.position if r.position is not None else 0, r.tag.casefold()),
    )
    for row in rows:
        known.add(row.tag)
        if row.state == LabelState.POSITIVE:
            out.positives.append((row.tag, row.source))
        elif row.state == LabelState.NEGATIVE:
            out.rejected.append(row.tag)
    out.rejected.sort(key=str.casefold)
    r = index.row_of(image_id)
    if r is None or not index.tag_names:
        return out
    scores = index.scores[r]
    states = index.states[r]
    for c, tag in enumerate(index.tag_names):
        score = float(scores[c])
        threshold = float(index.thresholds[c])
        if tag in known or states[c] != LabelState.UNKNOWN or math.isnan(score) or not score >= threshold:
            continue
        out.suggested.append(SuggestedTag(tag, score, threshold))
    out.suggested.sort(key=lambda s: (-s.score, s.tag.casefold()))
    return out


def suggested_summary(suggested: list[SuggestedTag], limit: int = 5) -> str:
    """One line for a tooltip: '2 suggestions, shown from 50%: tree 85% likely, sky 70% likely'."""
    if not suggested:
        return ""
    n = len(suggested)
    listed = ", ".join(f"{s.tag} {likely_text(s.score)}" for s in suggested[:limit])
    more = f" (+{n - limit} more)" if n > limit else ""
    cut = cuts_text([s.threshold for s in suggested])
    return f"{n} suggestion{'s' if n != 1 else ''}, {cut}: {listed}{more}"

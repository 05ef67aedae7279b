"""The vocabulary every part of the collection speaks: label states, sources,
and the per-image label record that tag-file codecs read and write.

Codecs exchange `ImageLabels` keyed by the image's collection-relative POSIX
path, so they never need the SQLite store and stay testable on their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum, StrEnum


class LabelState(IntEnum):
    """What is known about one (image, tag) pair: the one spelling of it everywhere.

    The values are what the int8 state arrays hold (`LabelMatrix.states`,
    `LabelIndex.states`), so a member can be stored in, or compared with, such
    an array directly. The store spells a stored label "positive"/"negative"
    in its `labels.state` column and keeps no row for an unknown pair (NULL in
    the undo log): `stored` and `from_stored` translate at that boundary.
    """

    POSITIVE = 1
    NEGATIVE = -1
    UNKNOWN = 0

    @property
    def stored(self) -> str | None:
        """The store's text for this state; None for unknown (no `labels` row)."""
        return _STORED.get(self)

    @classmethod
    def from_stored(cls, text: str | None) -> LabelState:
        """The state a `labels.state` (or undo-log) value means; NULL is unknown."""
        if text is None:
            return cls.UNKNOWN
        try:
            return _FROM_STORED[text]
        except KeyError:
            raise ValueError(f"not a stored label state: {text!r}") from None


_STORED = {LabelState.POSITIVE: "positive", LabelState.NEGATIVE: "negative"}
_FROM_STORED = {text: state for state, text in _STORED.items()}


class LabelSource(StrEnum):
    """Where a label came from, so an export can say what a person confirmed."""

    ORIGINAL = "original"  # came with the folder (found when it was first opened/scanned)
    MANUAL = "manual"  # a person added or rejected it by hand
    ACCEPTED = "accepted-suggestion"  # a person accepted a model suggestion
    IMPORTED = "imported"  # imported later from a tag file chosen by the user


@dataclass(frozen=True)
class Suggestion:
    """A model's proposal for a tag that is unknown on an image (export only)."""

    tag: str
    score: float
    threshold: float | None = None
    model: str | None = None


@dataclass
class ImageLabels:
    """The labels of one image as tag files know them.

    `positives` keeps the file's order (the first tag is often a trigger word);
    `sources` maps a tag to its `LabelSource` value where the writer knows it.
    """

    positives: list[str] = field(default_factory=list)
    negatives: list[str] = field(default_factory=list)
    suggestions: list[Suggestion] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Problem:
    """A clear, user-facing complaint about one file; the rest of the work goes on."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass
class ReadResult:
    """What a codec read: labels per relative image path, plus the problems it met."""

    labels: dict[str, ImageLabels] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    tag_order: list[str] = field(default_factory=list)

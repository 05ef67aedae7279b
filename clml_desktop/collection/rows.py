"""The records the collection store hands out and takes in.

Frozen dataclasses rather than sqlite3.Row so callers (GUI models, exporters,
the trainer client) never hold a live cursor and can pass rows between threads.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from clml_desktop.collection.labels import LabelSource, LabelState, Problem


@dataclass(frozen=True)
class ImageInfo:
    """What a scan learned about one file: enough to lay out a grid without decoding."""

    path: str
    size: int
    mtime_ns: int
    width: int | None = None
    height: int | None = None
    problem: str | None = None


@dataclass(frozen=True)
class ImageRow:
    """One image of the collection; `version` grows when the file's size or mtime changes.

    `problem` says why the image file itself cannot be used (it is never scored);
    `tag_file_problem` says why its tag file could not be read (it is still scored).
    """

    id: int
    path: str
    size: int
    mtime_ns: int
    width: int | None
    height: int | None
    problem: str | None
    version: int
    missing: bool = False
    tag_file_problem: str | None = None


@dataclass(frozen=True)
class ScanDelta:
    """How `upsert_images` changed the image table."""

    added: int = 0
    changed: int = 0
    unchanged: int = 0


@dataclass(frozen=True)
class TagRow:
    """A live tag: the user's spelling and its matching key (never shown)."""

    id: int
    name: str
    key: str


@dataclass(frozen=True)
class TagCount:
    """Positive and negative label counts of one tag over the present images."""

    id: int
    name: str
    positives: int
    negatives: int


@dataclass(frozen=True)
class LabelRow:
    """A stored (image, tag) label (positive or negative); `position` orders an image's positives."""

    image_id: int
    tag_id: int
    tag: str
    state: LabelState
    source: str
    position: int | None
    time: float


@dataclass(frozen=True)
class LabelChange:
    """One requested change for `set_labels`; `LabelState.UNKNOWN` forgets the pair."""

    image_id: int
    tag: str | int
    state: LabelState
    source: str = LabelSource.MANUAL


@dataclass(frozen=True)
class LabelMatrix:
    """All labels at once: `states[i, j]` is a `LabelState` value (int8)."""

    image_ids: np.ndarray
    tag_ids: np.ndarray
    tag_names: list[str]
    states: np.ndarray


@dataclass(frozen=True)
class EditRow:
    """One entry of the undo/audit log."""

    id: int
    description: str
    time: float
    status: str
    label_changes: int
    tag_changes: int


@dataclass
class ImportReport:
    """What `import_labels` did; conflicts are labels a person set that the file contradicts."""

    images: int = 0
    positives_added: int = 0
    negatives_added: int = 0
    conflicts: int = 0
    unknown_paths: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    edit_id: int | None = None


@dataclass(frozen=True)
class ModelRow:
    """A trained model known to the collection."""

    id: str
    path: str
    created: str
    parent: str | None
    metrics: dict
    tags: list[str]
    active: bool


@dataclass(frozen=True)
class PredictionIn:
    """Scores for one image from one model; probs in the model's tag order."""

    image_id: int
    image_version: int
    kind: str
    probs: np.ndarray
    embedding: np.ndarray | None = None


@dataclass(frozen=True)
class PredictionMatrix:
    """Current predictions of one model (one row per image; `oof` preferred over `engine`)."""

    image_ids: np.ndarray
    versions: np.ndarray
    kinds: list[str]
    probs: np.ndarray


@dataclass
class ScanReport:
    """What a scan found; `problems` name each unreadable file and why."""

    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0
    problems: list[Problem] = field(default_factory=list)
    seconds: float = 0.0
    cancelled: bool = False
    # relpath -> walk.FoundFile of every tag file the (complete) scan listed,
    # for import_folder(tag_files=...); None after a cancelled scan.
    tag_files: dict | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class LoggedLabelChange:
    """One label an edit changed, before and after (sources None where unknown), for an audit view."""

    image_id: int
    path: str
    tag_id: int
    tag: str
    old_state: LabelState
    old_source: str | None
    new_state: LabelState
    new_source: str | None


@dataclass(frozen=True)
class LoggedTagChange:
    """One tag an edit renamed, created, deleted or brought back."""

    tag_id: int
    old_name: str
    new_name: str
    old_deleted: bool
    new_deleted: bool

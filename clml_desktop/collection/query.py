"""Which images to show: a Qt-free label index and the grid's filter over it.

The GUI needs, for every image, its label states and its suggestion scores, to
filter 20,000 images per keystroke and to count tags. Querying SQLite per
keystroke would stall the GUI thread; instead a background job builds a
`LabelIndex` (numpy arrays) once per collection change and every filter is a
few vectorised operations over it. Kept out of Qt item models on purpose
(DESIGN.md: no domain logic inside item models), so it is tested on its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from clml_desktop.collection.labels import LabelState


def state_mask(states: np.ndarray, state: LabelState) -> np.ndarray:
    """Where an int8 state array holds `state` (a bool array of the same shape).

    Compared as an int8 on purpose: numpy takes an IntEnum member for a
    strong int64 scalar (only a plain int is "weak"), so `states == state`
    would widen the whole N×C matrix first, 3× slower at 20,000 × 2,000.
    """
    return states == np.int8(state)


@dataclass(frozen=True)
class SuggestionScores:
    """Model scores per (image, tag) in the collection's tag names.

    `probs[i, j]` is the probability of `tags[j]` on `image_ids[i]`;
    `thresholds[j]` decides whether an unknown pair is a pending suggestion.
    """

    image_ids: np.ndarray
    tags: list[str]
    probs: np.ndarray
    thresholds: np.ndarray


@dataclass
class LabelIndex:
    """Label states and suggestion scores of a whole collection, as arrays.

    Rows follow `image_ids` (sorted by path); columns follow `tag_names`.
    `scores` is NaN where no score exists; `pending` marks unknown pairs whose
    score passes the tag's threshold (what the grid badges count).
    """

    image_ids: np.ndarray
    paths: list[str]
    problems: list[str | None]
    tag_ids: np.ndarray
    tag_names: list[str]
    states: np.ndarray
    scores: np.ndarray
    thresholds: np.ndarray
    versions: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    sizes: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.int32))
    _lower: list[str] | None = field(default=None, repr=False)
    _pos: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)
    _col: dict[str, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        n = len(self.image_ids)
        if len(self.versions) != n:
            self.versions = np.zeros(n, np.int64)
        if len(self.sizes) != n:
            self.sizes = np.zeros((n, 2), np.int32)
        # id -> row as an array (ids are small positive integers from SQLite):
        # vectorised lookups instead of a 20,000-entry dict built in Python.
        self.image_ids = np.asarray(self.image_ids, dtype=np.int64)
        size = int(self.image_ids.max()) + 1 if n else 0
        self._pos = np.full(size, -1, dtype=np.int64)
        if n:
            self._pos[self.image_ids] = np.arange(n, dtype=np.int64)
        self._col = {name: c for c, name in enumerate(self.tag_names)}

    @classmethod
    def empty(cls) -> LabelIndex:
        return cls.build([], [], [], [], [], np.zeros((0, 0), np.int8))

    @classmethod
    def build(
        cls,
        image_ids: Sequence[int],
        paths: Sequence[str],
        problems: Sequence[str | None],
        tag_ids: Sequence[int],
        tag_names: Sequence[str],
        states: np.ndarray,
        suggestions: SuggestionScores | None = None,
        versions: Sequence[int] | None = None,
        sizes: Sequence[tuple[int, int]] | None = None,
    ) -> LabelIndex:
        """Assemble an index; suggestion scores are aligned by image id and tag name.

        `versions` (content version per image, keys thumbnails) and `sizes`
        ((width, height), 0 when unknown, lets the grid draw placeholders of
        the right shape before decoding) are optional.
        """
        n, c = len(image_ids), len(tag_names)
        ids = np.asarray(image_ids, dtype=np.int64)
        scores = np.full((n, c), np.nan, dtype=np.float32)
        thresholds = np.full(c, np.inf, dtype=np.float32)
        if suggestions is not None and n and c and len(suggestions.image_ids):
            col_of = {name: j for j, name in enumerate(tag_names)}
            src_cols = [j for j, t in enumerate(suggestions.tags) if t in col_of]
            dst_cols = [col_of[suggestions.tags[j]] for j in src_cols]
            pos = np.full(int(ids.max()) + 1, -1, dtype=np.int64)
            pos[ids] = np.arange(n, dtype=np.int64)
            sug_ids = np.asarray(suggestions.image_ids, dtype=np.int64)
            inside = (sug_ids >= 0) & (sug_ids < len(pos))
            dst_all = np.full(len(sug_ids), -1, dtype=np.int64)
            dst_all[inside] = pos[sug_ids[inside]]
            src_rows = np.flatnonzero(dst_all >= 0)
            dst_rows = dst_all[src_rows]
            if src_cols and len(src_rows):
                probs = np.asarray(suggestions.probs, dtype=np.float32)
                scores[np.ix_(dst_rows, dst_cols)] = probs[np.ix_(src_rows, src_cols)]
                thresholds[dst_cols] = np.asarray(suggestions.thresholds, dtype=np.float32)[src_cols]
        return cls(
            image_ids=ids,
            paths=list(paths),
            problems=list(problems),
            tag_ids=np.asarray(tag_ids, dtype=np.int64),
            tag_names=list(tag_names),
            states=np.asarray(states, dtype=np.int8).reshape(n, c),
            scores=scores,
            thresholds=thresholds,
            versions=np.asarray(versions if versions is not None else np.zeros(n), dtype=np.int64),
            sizes=np.asarray(sizes if sizes is not None else np.zeros((n, 2)), dtype=np.int32).reshape(n, 2),
        )

    def __len__(self) -> int:
        return len(self.image_ids)

    def labelled_count(self) -> int:
        """Images a training set lists (`write_training_set`): readable, with at least one
        positive or rejected tag. From the arrays, so the window never reads the store for it."""
        if not len(self.image_ids):
            return 0
        known = ~state_mask(self.states, LabelState.UNKNOWN).all(axis=1)
        readable = np.fromiter((p is None for p in self.problems), dtype=bool, count=len(self.problems))
        return int((known & readable).sum())

    @property
    def pending(self) -> np.ndarray:
        """Unknown pairs whose score reaches the tag's threshold (N×C bool)."""
        with np.errstate(invalid="ignore"):
            return state_mask(self.states, LabelState.UNKNOWN) & (self.scores >= self.thresholds[None, :])

    def row_of(self, image_id: int) -> int | None:
        i = int(image_id)
        if 0 <= i < len(self._pos) and self._pos[i] >= 0:
            return int(self._pos[i])
        return None

    def rows_of(self, image_ids: np.ndarray | Sequence[int]) -> np.ndarray:
        """Rows of many ids at once; -1 where an id is not in the index."""
        ids = np.asarray(image_ids, dtype=np.int64)
        rows = np.full(len(ids), -1, dtype=np.int64)
        ok = (ids >= 0) & (ids < len(self._pos))
        rows[ok] = self._pos[ids[ok]]
        return rows

    @property
    def lower_paths(self) -> list[str]:
        """Case-folded paths for the name filter, made on first use."""
        if self._lower is None:
            self._lower = [p.lower() for p in self.paths]
        return self._lower

    def column_of(self, tag: str) -> int | None:
        return self._col.get(tag)

    def pending_counts(self) -> np.ndarray:
        """Pending suggestions per image (N,)."""
        return self.pending.sum(axis=1).astype(np.int32) if self.states.size else np.zeros(len(self), np.int32)

    def tag_counts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(positives, pending suggestions, confirmed negatives) per tag (C,)."""
        if not self.states.size:
            z = np.zeros(len(self.tag_names), np.int64)
            return z, z.copy(), z.copy()
        positives = state_mask(self.states, LabelState.POSITIVE).sum(axis=0)
        negatives = state_mask(self.states, LabelState.NEGATIVE).sum(axis=0)
        return positives, self.pending.sum(axis=0), negatives

    def set_state(self, image_ids: Iterable[int], tag: str, state: LabelState) -> bool:
        """Patch the index after an edit the GUI just made (no reload needed).

        Returns False when the tag has no column yet (a new tag): the caller
        then reloads the index in the background.
        """
        col = self._col.get(tag)
        if col is None:
            return False
        rows = self.rows_of(list(image_ids))
        rows = rows[rows >= 0]
        if len(rows):
            self.states[rows, col] = state
        return True


@dataclass(frozen=True)
class SimilarTo:
    """Only these images, in this order: the nearest neighbours of `label` by the
    active model's embeddings (`workflow.similar`), most similar first.

    `similarities` follow `image_ids`; `unscored` counts readable images that had
    no embedding, so were not searched (the filter bar says so).
    """

    image_ids: tuple[int, ...]
    label: str
    similarities: tuple[float, ...] = ()
    query_ids: tuple[int, ...] = ()
    unscored: int = 0

    def describe(self) -> str:
        return f"Similar to {self.label} ({len(self.image_ids)})"

    def similarity_of(self, image_id: int) -> float | None:
        try:
            return self.similarities[self.image_ids.index(int(image_id))]
        except (ValueError, IndexError):
            return None


@dataclass(frozen=True)
class ImageFilter:
    """The grid's filter. Empty fields do not filter.

    Tags: `require` is a conjunction of OR-groups (`(("dog",), ("cat", "fox"))`
    means dog AND (cat OR fox)); `exclude` tags must be absent (NOT).
    `score_min`/`score_max` keep images with an unknown pair scored in range.
    `similar` keeps only its images and orders the rows as it lists them
    (most similar first) instead of by path; the other fields narrow them.
    """

    require: tuple[tuple[str, ...], ...] = ()
    exclude: tuple[str, ...] = ()
    untagged: bool = False
    has_suggestions: bool = False
    problems_only: bool = False
    score_min: float | None = None
    score_max: float | None = None
    name: str = ""
    similar: SimilarTo | None = None

    def is_empty(self) -> bool:
        return self == ImageFilter()

    def with_tag(self, tag: str) -> ImageFilter:
        """This filter AND `tag` (what a click in the tag panel does)."""
        if (tag,) in self.require:
            return self
        return replace(self, require=self.require + ((tag,),))

    def describe(self) -> str:
        """A short human summary for the status bar and the filter bar."""
        parts = [" OR ".join(group) for group in self.require]
        parts = [f"({p})" if " OR " in p and len(self.require) > 1 else p for p in parts]
        parts += [f"NOT {t}" for t in self.exclude]
        if self.untagged:
            parts.append("untagged")
        if self.has_suggestions:
            parts.append("has suggestions")
        if self.problems_only:
            parts.append("problems")
        if self.score_min is not None or self.score_max is not None:
            lo = 0.0 if self.score_min is None else self.score_min
            hi = 1.0 if self.score_max is None else self.score_max
            parts.append(f"score {lo:.2f}–{hi:.2f}")
        if self.name:
            parts.append(f"name contains '{self.name}'")
        if self.similar is not None:
            parts.insert(0, self.similar.describe())
        return " AND ".join(parts) if parts else "all images"


_SPLIT_AND = re.compile(r"\s*(?:,|\bAND\b|&)\s*")
_SPLIT_OR = re.compile(r"\s*(?:\||\bOR\b)\s*")


def parse_tag_expression(text: str) -> tuple[tuple[tuple[str, ...], ...], tuple[str, ...]]:
    """Parse the filter bar's tag text into (require, exclude).

    Syntax: terms separated by `,` (or `AND`, `&`) must all hold; a term of
    alternatives `a | b` (or `a OR b`) needs one of them; `-tag` or `NOT tag`
    excludes. Tag names may contain spaces (`long hair, -hat`).
    """
    require: list[tuple[str, ...]] = []
    exclude: list[str] = []
    for term in _SPLIT_AND.split(text.strip()):
        if not term:
            continue
        negated = False
        if term.startswith("-"):
            negated, term = True, term[1:].strip()
        elif term.upper().startswith("NOT "):
            negated, term = True, term[4:].strip()
        if negated:
            if term:
                exclude.append(term)
            continue
        group = tuple(t for t in (s.strip() for s in _SPLIT_OR.split(term)) if t)
        if group:
            require.append(group)
    return tuple(require), tuple(exclude)


def format_tag_expression(require: Sequence[Sequence[str]], exclude: Sequence[str]) -> str:
    """The inverse of `parse_tag_expression`, for showing a filter as text."""
    terms = [" | ".join(group) for group in require] + [f"-{t}" for t in exclude]
    return ", ".join(terms)


def filter_mask(index: LabelIndex, flt: ImageFilter) -> np.ndarray:
    """Boolean mask over `index` rows that pass `flt`."""
    n = len(index)
    mask = np.ones(n, dtype=bool)
    if n == 0:
        return mask
    positive = state_mask(index.states, LabelState.POSITIVE)
    for group in flt.require:
        cols = [c for c in (index.column_of(t) for t in group) if c is not None]
        if not cols:
            return np.zeros(n, dtype=bool)
        mask &= positive[:, cols].any(axis=1)
    excl = [c for c in (index.column_of(t) for t in flt.exclude) if c is not None]
    if excl:
        mask &= ~positive[:, excl].any(axis=1)
    if flt.untagged:
        mask &= ~positive.any(axis=1) if positive.size else np.ones(n, dtype=bool)
    if flt.has_suggestions:
        mask &= index.pending.any(axis=1) if index.states.size else np.zeros(n, dtype=bool)
    if flt.problems_only:
        mask &= np.fromiter((p is not None for p in index.problems), dtype=bool, count=n)
    if flt.score_min is not None or flt.score_max is not None:
        lo = -np.inf if flt.score_min is None else flt.score_min
        hi = np.inf if flt.score_max is None else flt.score_max
        with np.errstate(invalid="ignore"):
            in_range = state_mask(index.states, LabelState.UNKNOWN) & (index.scores >= lo) & (index.scores <= hi)
        mask &= in_range.any(axis=1) if in_range.size else np.zeros(n, dtype=bool)
    if flt.name:
        needle = flt.name.lower()
        mask &= np.fromiter((needle in p for p in index.lower_paths), dtype=bool, count=n)
    if flt.similar is not None:
        rows = _similar_rows(index, flt.similar)
        keep = np.zeros(n, dtype=bool)
        keep[rows] = True
        mask &= keep
    return mask


def _similar_rows(index: LabelIndex, similar: SimilarTo) -> np.ndarray:
    """Index rows of the similar images in their order (ids no longer indexed dropped)."""
    rows = index.rows_of(np.asarray(similar.image_ids, dtype=np.int64))
    return rows[rows >= 0]


def filter_rows(index: LabelIndex, flt: ImageFilter) -> np.ndarray:
    """Index rows (int64) that pass `flt`: ascending (path order), or, with
    `flt.similar`, in its order (most similar first)."""
    if flt.is_empty():
        return np.arange(len(index), dtype=np.int64)
    if flt.similar is not None:
        rows = _similar_rows(index, flt.similar)
        return rows[filter_mask(index, flt)[rows]].astype(np.int64)
    return np.flatnonzero(filter_mask(index, flt)).astype(np.int64)


def filter_ids(index: LabelIndex, flt: ImageFilter) -> np.ndarray:
    """Image ids (int64, in `filter_rows` order) that pass `flt`."""
    return index.image_ids[filter_rows(index, flt)]

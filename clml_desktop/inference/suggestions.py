"""Suggestions: scores for the unknown (image, tag) pairs, and the queues to review them.

Every unknown pair gets the model's probability and a pass/fail against the
tag's threshold, which `clml_desktop.inference.thresholds` decides (the
person's per-tag cut, then the collection's minimum likelihood, then the
default; never the trainer's F1 cut, ADR 0017). Positives and rejected (negative) pairs are never suggested. Scores come from
the store's cached predictions, where a training image carries the trainer's
out-of-fold probability (in-sample scores bury exactly the missing tags we
look for) and any image added or changed since carries the engine's score.

Everything is computed on numpy arrays (images × tags) so the queues of a
100,000-image collection are built in milliseconds.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from clml_contract.score_map import apply_score_map
from clml_desktop.collection.labels import LabelState, Suggestion
from clml_desktop.collection.query import state_mask
from clml_desktop.collection.rows import ModelRow
from clml_desktop.inference.engine import model_dir_of, read_manifest
from clml_desktop.inference.errors import InferenceError, ModelLoadError
from clml_desktop.inference.tagmap import TagMap
from clml_desktop.inference.thresholds import suggestion_thresholds

if TYPE_CHECKING:  # type-only, so importing this module never opens a cycle
    from clml_desktop.collection.store import CollectionStore

log = logging.getLogger(__name__)

LIKELY_WRONG_BELOW = 0.05
QUEUE_ORDERS = ("confident", "uncertain")


@dataclass(frozen=True)
class ScoredPair:
    """One (image, tag) pair with its score; `tag_id` is None for a tag only the model knows."""

    image_id: int
    path: str
    tag: str
    tag_id: int | None
    score: float
    threshold: float
    kind: str

    @property
    def passes(self) -> bool:
        return self.score >= self.threshold

    @property
    def is_new_tag(self) -> bool:
        return self.tag_id is None


class SuggestionSet:
    """Scores (images × tags) of one model over the collection, aligned with label states.

    Rows are the images with a current cached prediction; columns the model's
    tags that map to collection tags, then the model-only tags (offered as new).
    """

    def __init__(
        self,
        model_id: str,
        image_ids: np.ndarray,
        paths: list[str],
        kinds: list[str],
        tag_names: list[str],
        tag_ids: np.ndarray,
        thresholds: np.ndarray,
        scores: np.ndarray,
        states: np.ndarray,
    ) -> None:
        self.model_id = model_id
        self.image_ids = image_ids
        self.paths = paths
        self.kinds = kinds
        self.tag_names = tag_names
        self.tag_ids = tag_ids
        self.thresholds = thresholds
        self.scores = scores
        self.states = states
        self._row_of = {int(i): r for r, i in enumerate(image_ids)}

    @classmethod
    def build(cls, store, model: ModelRow | str | None = None) -> SuggestionSet:
        """From the store's cached predictions of `model` (default: the active model).

        Raises InferenceError when there is no such model, or its tags do not
        fit the collection (TagMismatchError).
        """
        row = _model_row(store, model)
        score_map = None
        try:
            manifest = read_manifest(model_dir_of(store, row))
            model_tags, score_map = list(manifest.tags), manifest.calibration
        except ModelLoadError as exc:
            if not row.tags:
                raise
            log.warning("using the stored tag list of model %s, uncalibrated: %s", row.id, exc)
            model_tags = list(row.tags)
        tagmap = TagMap.build(model_tags, store.tags(), source=f"model {row.id}")
        pred = store.predictions(row.id)
        columns = np.concatenate([tagmap.columns, tagmap.new_columns]).astype(np.int64)
        names = tagmap.names + tagmap.new_names
        tag_ids = np.concatenate(
            [tagmap.tag_ids, np.full(len(tagmap.new_columns), -1, dtype=np.int64)]
        )
        thresholds = suggestion_thresholds(store, names)
        image_ids = np.asarray(pred.image_ids, dtype=np.int64)
        probs = np.asarray(pred.probs, dtype=np.float32)
        # A model nobody has scored with yet has no rows: an empty set, not a reshape error.
        probs = probs.reshape(len(image_ids), -1) if len(image_ids) else probs.reshape(0, len(model_tags))
        if probs.shape[1] != len(model_tags):
            raise InferenceError(
                f"model {row.id}: cached predictions have {probs.shape[1]} scores per image "
                f"but the model has {len(model_tags)} tags; rerun suggest to rescore"
            )
        scores = probs[:, columns] if len(image_ids) else np.zeros((0, len(columns)), np.float32)
        states = _states(store, image_ids, tagmap.tag_ids, len(tagmap.new_columns))
        # The network says "likely tagged"; for an untagged pair a person reads "likely true",
        # which the model's map gives (ADR 0018). It was fitted on untagged pairs only, so a
        # positive keeps the network's own score ("looks wrong" below 5% means what it did).
        unknown = state_mask(states, LabelState.UNKNOWN)
        scores = np.where(unknown, apply_score_map(scores, score_map), scores)
        path_of = {img.id: img.path for img in store.images()}
        return cls(
            model_id=row.id,
            image_ids=image_ids,
            paths=[path_of.get(int(i), "") for i in image_ids],
            kinds=list(pred.kinds),
            tag_names=names,
            tag_ids=tag_ids,
            thresholds=thresholds,
            scores=scores,
            states=states,
        )

    # -- queues ---------------------------------------------------------------------------

    def select(
        self,
        order: str = "confident",
        min_score: float | None = None,
        tag: str | None = None,
        image_id: int | None = None,
        limit: int | None = None,
    ) -> list[ScoredPair]:
        """One review queue of unknown pairs; every other queue is a case of this one.

        `confident` (fast acceptance): pairs scoring at least `min_score`
        (default: the tag's threshold), highest score first. `uncertain`
        (active learning, what to ask a person next): every unknown pair, or
        those scoring at least `min_score` when given, closest to its tag's
        threshold first. `tag` (a collection or model tag name) and `image_id`
        narrow the queue to one tag or one image; one this set does not know
        gives an empty queue.
        """
        if order not in QUEUE_ORDERS:
            raise ValueError(f"order must be one of {', '.join(QUEUE_ORDERS)}, not {order!r}")
        mask = state_mask(self.states, LabelState.UNKNOWN)
        if order == "confident" or min_score is not None:
            mask &= self._at_least(min_score)
        if tag is not None:
            if tag not in self.tag_names:
                return []
            mask[:, np.arange(len(self.tag_names)) != self.tag_names.index(tag)] = False
        if image_id is not None:
            row = self._row_of.get(int(image_id))
            if row is None:
                return []
            mask[np.arange(len(self.image_ids)) != row] = False
        if order == "confident":
            key = -self.scores
        else:
            key = np.abs(self.scores - self.thresholds[None, :])
        return self._pairs(mask, key, limit)

    def unknown_pairs(self, min_score: float | None = None) -> list[ScoredPair]:
        """Every unknown pair scoring at least `min_score` (default: the tag's threshold),
        most confident first."""
        return self.select("confident", min_score)

    def most_confident(self, limit: int | None = None) -> list[ScoredPair]:
        """Unknown pairs that pass their threshold, highest score first (fast acceptance)."""
        return self.select("confident", limit=limit)

    def most_uncertain(self, limit: int | None = None) -> list[ScoredPair]:
        """Unknown pairs closest to their threshold first: what to ask a person next."""
        return self.select("uncertain", limit=limit)

    def for_tag(
        self, tag: str, limit: int | None = None, passing_only: bool = True
    ) -> list[ScoredPair]:
        """Images likely to miss `tag` (a collection or model tag name), best first."""
        return self.select("confident", None if passing_only else -np.inf, tag=tag, limit=limit)

    def for_image(self, image_id: int) -> list[ScoredPair]:
        """All unknown pairs of one image, best first (each says whether it passes)."""
        return self.select("confident", -np.inf, image_id=image_id)

    def likely_wrong(
        self, below: float = LIKELY_WRONG_BELOW, limit: int | None = None
    ) -> list[ScoredPair]:
        """Positives the model finds very unlikely (score < `below`), lowest first."""
        return self._pairs(
            state_mask(self.states, LabelState.POSITIVE) & (self.scores < below), self.scores, limit
        )

    # -- helpers --------------------------------------------------------------------------

    def _passing(self) -> np.ndarray:
        return self.scores >= self.thresholds[None, :]

    def _at_least(self, min_score: float | None) -> np.ndarray:
        return self._passing() if min_score is None else self.scores >= np.float32(min_score)

    def _pairs(
        self, mask: np.ndarray, key: np.ndarray, limit: int | None = None
    ) -> list[ScoredPair]:
        rows, cols = np.nonzero(mask)
        order = np.argsort(key[rows, cols], kind="stable")
        if limit is not None:
            order = order[:limit]
        return [
            ScoredPair(
                image_id=int(self.image_ids[r]),
                path=self.paths[r],
                tag=self.tag_names[c],
                tag_id=int(self.tag_ids[c]) if self.tag_ids[c] >= 0 else None,
                score=float(self.scores[r, c]),
                threshold=float(self.thresholds[c]),
                kind=self.kinds[r],
            )
            for r, c in zip(rows[order], cols[order], strict=True)
        ]


def suggestions_for_export(store: CollectionStore, min_score: float | None = None) -> dict[str, list[Suggestion]]:
    """The active model's suggestions per image path, for exports that include them.

    Unknown pairs scoring at least `min_score` (default: each tag's threshold),
    best first per image. Uses cached predictions only (no inference); empty
    when the collection has no active model.
    """
    if store.active_model() is None:
        return {}
    result = SuggestionSet.build(store)
    out: dict[str, list[Suggestion]] = {}
    for pair in result.unknown_pairs(min_score):
        out.setdefault(pair.path, []).append(
            Suggestion(
                tag=pair.tag, score=pair.score, threshold=pair.threshold, model=result.model_id
            )
        )
    return out


def _model_row(store: CollectionStore, model: ModelRow | str | None) -> ModelRow:
    if isinstance(model, ModelRow):
        return model
    if model is None:
        row = store.active_model()
        if row is None:
            raise InferenceError(
                f"{store.root}: the collection has no active model; train one first"
            )
        return row
    for row in store.models():
        if row.id == model:
            return row
    raise InferenceError(f"{store.root}: no model {model!r} is registered in this collection")


def _states(store: CollectionStore, image_ids: np.ndarray, tag_ids: np.ndarray, new_columns: int) -> np.ndarray:
    """Label states (1/−1/0) of the scored images for the mapped tags; new tags are unknown."""
    states = np.zeros((len(image_ids), len(tag_ids) + new_columns), dtype=np.int8)
    if not len(image_ids) or not len(tag_ids):
        return states
    matrix = store.label_matrix()
    lm_images = np.asarray(matrix.image_ids, dtype=np.int64)
    lm_tags = np.asarray(matrix.tag_ids, dtype=np.int64)
    row_pos = _positions(lm_images, image_ids)
    col_pos = _positions(lm_tags, tag_ids)
    rows_ok, cols_ok = row_pos >= 0, col_pos >= 0
    sub = np.asarray(matrix.states, dtype=np.int8)[np.ix_(row_pos[rows_ok], col_pos[cols_ok])]
    block = np.zeros((rows_ok.sum(), len(tag_ids)), dtype=np.int8)
    block[:, cols_ok] = sub
    states[np.flatnonzero(rows_ok), : len(tag_ids)] = block
    return states


def _positions(haystack: np.ndarray, needles: np.ndarray) -> np.ndarray:
    """Index of each needle in haystack, or −1 where absent (vectorised lookup)."""
    if not len(haystack):
        return np.full(len(needles), -1, dtype=np.int64)
    order = np.argsort(haystack)
    found = np.searchsorted(haystack, needles, sorter=order)
    found = np.clip(found, 0, len(haystack) - 1)
    idx = order[found]
    return np.where(haystack[idx] == needles, idx, -1)

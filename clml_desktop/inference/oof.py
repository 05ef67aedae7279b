"""Import the trainer's out-of-fold scores (`oof.npz`, clml_contract.oof) into the store.

Stored as kind `oof`, they win over engine scores for the same image version.
A score is stamped with the version the trainer was given in the training set,
never with the image's current one: an image replaced while the model trained
keeps no score computed on its old pixels (issue 12), so the engine rescores
it like any image without a current score.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from clml_contract.oof import OofError, OofScores, read_oof
from clml_desktop.collection.paths import PathOutsideCollection, to_relpath
from clml_desktop.collection.rows import ImageRow, PredictionIn
from clml_desktop.inference.errors import ModelLoadError

if TYPE_CHECKING:  # type-only, so importing this module never opens a cycle
    from clml_desktop.collection.store import CollectionStore

__all__ = ["OofScores", "import_oof", "load_oof", "store_oof"]

log = logging.getLogger(__name__)


def load_oof(oof_path: Path, n_tags: int) -> OofScores:
    """Read and check `oof_path` (no pickles); ModelLoadError names the file and the problem."""
    try:
        return read_oof(oof_path, n_tags)
    except OofError as exc:
        raise ModelLoadError(str(exc)) from exc


def _relpath(store: CollectionStore, raw: str) -> str | None:
    try:
        return to_relpath(store.root, raw)
    except PathOutsideCollection:
        return None


def store_oof(store: CollectionStore, model_id: str, scores: OofScores) -> int:
    """Put the current scores of images still in the collection as kind 'oof'; returns how many.

    A row whose file names an image id maps to that image, and only while it
    still sits at the row's path (an id from another collection's store must
    not land on a stranger) and still has the version the trainer scored;
    rows of files without ids map by path. Paths are absolute or relative to
    the collection. Skipped rows are counted in a log line.
    """
    present = store.images()
    by_id = {image.id: image for image in present}
    by_path = {image.path: image for image in present}
    rows: list[PredictionIn] = []
    gone = stale = 0
    for i, raw in enumerate(scores.paths):
        at_path: ImageRow | None = by_path.get(_relpath(store, raw))
        identity = scores.identity(i)
        image = at_path if identity is None else by_id.get(identity[0])
        if image is None or image is not at_path:
            gone += 1
            continue
        if identity is not None and identity[1] != image.version:
            stale += 1
            continue
        embedding = None if scores.embeddings is None else scores.embeddings[i].astype(np.float16)
        rows.append(PredictionIn(image.id, image.version, "oof", scores.probs[i], embedding))
    if rows:
        store.put_predictions(model_id, rows)
    if gone:
        log.warning("%s: %d image(s) are not in the collection any more; their scores were skipped",
                    scores.source, gone)
    if stale:
        log.warning("%s: %d image(s) changed since the training set was written; their scores "
                    "were skipped and the engine rescores them", scores.source, stale)
    return len(rows)


def import_oof(store: CollectionStore, model_id: str, oof_path: Path, n_tags: int) -> int:
    """`load_oof` then `store_oof`: the out-of-fold scores of a registered model."""
    return store_oof(store, model_id, load_oof(oof_path, n_tags))

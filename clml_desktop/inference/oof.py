"""Import the trainer's out-of-fold scores (`oof.npz`) into the store.

A model scores its own training images with their missing tags learned as
negatives, so in-sample scores bury exactly the tags a person wants found.
The trainer therefore scores each training image with a fold model that did
not see it and writes those scores beside the model (ADR 0002). Stored as
kind `oof`, they win over engine scores for the same image version; an image
changed after training gets a new version and is rescored by the engine.
"""

from __future__ import annotations

import logging
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from clml_desktop.collection.paths import PathOutsideCollection, to_relpath
from clml_desktop.collection.rows import PredictionIn
from clml_desktop.inference.errors import ModelLoadError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OofScores:
    """The arrays of one oof.npz, checked against the model's tag count."""

    source: Path
    paths: list[str]
    probs: np.ndarray
    embeddings: np.ndarray | None


def load_oof(oof_path: Path, n_tags: int) -> OofScores:
    """Read and check `oof_path` (no pickles); ModelLoadError names the file and the problem."""
    oof_path = Path(oof_path)
    try:
        with np.load(oof_path, allow_pickle=False) as data:
            paths = np.asarray(data["paths"])
            probs = np.asarray(data["probs"], dtype=np.float32)
            embeddings = np.asarray(data["embeddings"]) if "embeddings" in data.files else None
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as exc:
        raise ModelLoadError(f"{oof_path}: cannot read the out-of-fold scores: {exc}") from exc
    if paths.ndim != 1 or probs.ndim != 2 or probs.shape != (len(paths), n_tags):
        raise ModelLoadError(
            f"{oof_path}: expected probs of shape ({len(paths)}, {n_tags}) for {len(paths)} paths "
            f"and {n_tags} tags, found {probs.shape}"
        )
    if embeddings is not None and (embeddings.ndim != 2 or len(embeddings) != len(paths)):
        raise ModelLoadError(
            f"{oof_path}: embeddings of shape {embeddings.shape} do not match {len(paths)} paths"
        )
    return OofScores(oof_path, [str(p) for p in paths.tolist()], probs, embeddings)


def store_oof(store, model_id: str, scores: OofScores) -> int:
    """Put the scores of images still in the collection as kind 'oof'; returns how many.

    Paths are absolute (or relative to the collection); those outside it or
    gone from it are skipped with a log line.
    """
    rows: list[PredictionIn] = []
    skipped = 0
    for i, raw in enumerate(scores.paths):
        try:
            image = store.image_by_path(to_relpath(store.root, raw))
        except PathOutsideCollection:
            image = None
        if image is None:
            skipped += 1
            continue
        embedding = None if scores.embeddings is None else scores.embeddings[i].astype(np.float16)
        rows.append(PredictionIn(image.id, image.version, "oof", scores.probs[i], embedding))
    if rows:
        store.put_predictions(model_id, rows)
    if skipped:
        log.warning(
            "%s: %d image(s) are not in the collection any more; their scores were skipped",
            scores.source,
            skipped,
        )
    return len(rows)


def import_oof(store, model_id: str, oof_path: Path, n_tags: int) -> int:
    """`load_oof` then `store_oof`: the out-of-fold scores of a registered model."""
    return store_oof(store, model_id, load_oof(oof_path, n_tags))

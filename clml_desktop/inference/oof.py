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
from pathlib import Path

import numpy as np

from clml_desktop.collection.paths import PathOutsideCollection, to_relpath
from clml_desktop.collection.rows import PredictionIn
from clml_desktop.inference.errors import ModelLoadError

log = logging.getLogger(__name__)


def import_oof(store, model_id: str, oof_path: Path, n_tags: int) -> int:
    """Store the out-of-fold scores of `oof_path` as kind 'oof'; returns how many images.

    Paths in the file are absolute (or relative to the collection); those
    outside the collection or no longer in it are skipped. Raises
    ModelLoadError when the file is unreadable or its arrays disagree.
    """
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
        raise ModelLoadError(f"{oof_path}: embeddings of shape {embeddings.shape} do not match {len(paths)} paths")
    rows: list[PredictionIn] = []
    skipped = 0
    for i, raw in enumerate(paths.tolist()):
        try:
            image = store.image_by_path(to_relpath(store.root, str(raw)))
        except PathOutsideCollection:
            image = None
        if image is None:
            skipped += 1
            continue
        rows.append(
            PredictionIn(
                image_id=image.id,
                image_version=image.version,
                kind="oof",
                probs=probs[i],
                embedding=None if embeddings is None else embeddings[i].astype(np.float16),
            )
        )
    if rows:
        store.put_predictions(model_id, rows)
    if skipped:
        log.warning("%s: %d image(s) are not in the collection any more; their scores were skipped", oof_path, skipped)
    return len(rows)

"""Background job that reads a collection into a `LabelIndex`.

Runs on a worker thread with its own store connection (SQLite connections are
per thread, ADR 0001), so the GUI thread never waits on the queries.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from clml_desktop.collection.query import LabelIndex, SuggestionScores
from clml_desktop.jobs.worker import JobControl


def load_index(control: JobControl | None, root: Path, global_threshold: float | None = None) -> LabelIndex:
    """Open the collection at `root` read-mostly and build its index."""
    from clml_desktop.collection.store import CollectionStore

    store = CollectionStore.open(Path(root))
    try:
        return index_from_store(store, global_threshold, control)
    finally:
        store.close()


def index_from_store(
    store: Any, global_threshold: float | None = None, control: JobControl | None = None
) -> LabelIndex:
    """Images sorted by path, label states, and active-model suggestion scores."""
    images = sorted(store.images(), key=lambda row: row.path)
    if control is not None:
        control.check()
    tags = store.tags()
    matrix = store.label_matrix()
    ids = np.fromiter((row.id for row in images), dtype=np.int64, count=len(images))
    tag_ids = np.fromiter((t.id for t in tags), dtype=np.int64, count=len(tags))
    states = np.zeros((len(ids), len(tag_ids)), dtype=np.int8)
    m_ids = np.asarray(matrix.image_ids, dtype=np.int64)
    m_tags = np.asarray(matrix.tag_ids, dtype=np.int64)
    if len(ids) and len(tag_ids) and len(m_ids) and len(m_tags):
        row_pos = {int(i): r for r, i in enumerate(m_ids)}
        col_pos = {int(t): c for c, t in enumerate(m_tags)}
        rows = np.array([row_pos.get(int(i), -1) for i in ids])
        cols = np.array([col_pos.get(int(t), -1) for t in tag_ids])
        have_r, have_c = rows >= 0, cols >= 0
        src = np.asarray(matrix.states, dtype=np.int8)
        states[np.ix_(have_r, have_c)] = src[np.ix_(rows[have_r], cols[have_c])]
    if control is not None:
        control.check()
    scores = suggestion_scores(store, global_threshold)
    return LabelIndex.build(
        ids,
        [row.path for row in images],
        [row.problem for row in images],
        tag_ids,
        [t.name for t in tags],
        states,
        scores,
    )


def suggestion_scores(store: Any, global_threshold: float | None = None) -> SuggestionScores | None:
    """Scores of the active model with the thresholds that decide a suggestion.

    Threshold precedence: the user's per-tag override, then the global
    threshold from the settings, then the manifest's calibrated one, then 0.5.
    """
    model = store.active_model()
    if model is None:
        return None
    preds = store.predictions(model.id)
    if len(preds.image_ids) == 0:
        return None
    manifest: dict[str, Any] = {}
    manifest_path = Path(model.path) / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        manifest = {}
    model_tags = list(getattr(model, "tags", None) or manifest.get("tags") or [])
    probs = np.asarray(preds.probs, dtype=np.float32)
    if not model_tags or probs.ndim != 2 or probs.shape[1] != len(model_tags):
        return None
    overrides = store.tag_thresholds()
    calibrated = manifest.get("thresholds") or {}
    thresholds = []
    for tag in model_tags:
        if tag in overrides:
            thresholds.append(float(overrides[tag]))
        elif global_threshold is not None:
            thresholds.append(float(global_threshold))
        else:
            thresholds.append(float(calibrated.get(tag, 0.5)))
    names = _collection_names(store, model_tags)
    return SuggestionScores(
        image_ids=np.asarray(preds.image_ids, dtype=np.int64),
        tags=names,
        probs=probs,
        thresholds=np.asarray(thresholds, dtype=np.float32),
    )


def _collection_names(store: Any, model_tags: list[str]) -> list[str]:
    """Map the model's tag names to the collection's spelling (alias keys match)."""
    by_id = {t.id: t.name for t in store.tags()}
    names = []
    for tag in model_tags:
        tag_id = store.tag_id(tag)
        names.append(by_id.get(tag_id, tag) if tag_id is not None else tag)
    return names

"""Read a collection into a `LabelIndex`: label states and suggestion scores as arrays.

The window runs `load_index` on a worker thread with its own store connection
(SQLite connections are per thread, ADR 0001), so the GUI thread never waits
on the queries; tests and the CLI call `index_from_store` on a store they hold.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from clml_contract.progress import Control
from clml_desktop.collection.query import LabelIndex, SuggestionScores
from clml_desktop.collection.store import CollectionStore


def load_index(control: Control | None, root: Path) -> LabelIndex:
    """Open the collection at `root` and build its index."""
    with CollectionStore.open(Path(root)) as store:
        return index_from_store(store, control)


def index_from_store(store: CollectionStore, control: Control | None = None) -> LabelIndex:
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
        rows = _positions(m_ids, ids)
        cols = _positions(m_tags, tag_ids)
        have_r, have_c = rows >= 0, cols >= 0
        src = np.asarray(matrix.states, dtype=np.int8)
        states[np.ix_(have_r, have_c)] = src[np.ix_(rows[have_r], cols[have_c])]
    if control is not None:
        control.check()
    scores = suggestion_scores(store)
    return LabelIndex.build(
        ids,
        [row.path for row in images],
        [row.problem for row in images],
        tag_ids,
        [t.name for t in tags],
        states,
        scores,
        versions=[row.version for row in images],
        sizes=[(row.width or 0, row.height or 0) for row in images],
    )


def _positions(haystack: np.ndarray, needles: np.ndarray) -> np.ndarray:
    """Index of each needle in `haystack` (-1 when absent), vectorised."""
    order = np.argsort(haystack, kind="stable")
    found = np.searchsorted(haystack, needles, sorter=order)
    found = np.clip(found, 0, max(0, len(haystack) - 1))
    pos = order[found] if len(haystack) else np.zeros(len(needles), np.int64)
    hit = (haystack[pos] == needles) if len(haystack) else np.zeros(len(needles), bool)
    return np.where(hit, pos, -1)


def suggestion_scores(store: CollectionStore) -> SuggestionScores | None:
    """Scores and thresholds of the active model, exactly as `SuggestionSet` has them
    (which decides thresholds and out-of-fold vs engine scores), so the grid's badges
    count the pairs that review and exports offer."""
    from clml_desktop.inference.errors import InferenceError
    from clml_desktop.inference.suggestions import SuggestionSet

    if store.active_model() is None:
        return None
    try:
        found = SuggestionSet.build(store)
    except (InferenceError, OSError, ValueError):
        return None
    if len(found.image_ids) == 0:
        return None
    return SuggestionScores(
        image_ids=np.asarray(found.image_ids, dtype=np.int64),
        tags=list(found.tag_names),
        probs=np.asarray(found.scores, dtype=np.float32),
        thresholds=np.asarray(found.thresholds, dtype=np.float32),
    )

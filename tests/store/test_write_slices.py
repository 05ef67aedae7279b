"""Background writes commit in short slices (ADR 0010): a large batch of scores is
split into transactions steered by their duration, every row still lands, and
an edit on another connection meanwhile goes through instead of failing."""

from __future__ import annotations

import threading

import numpy as np

from clml_desktop.collection import store as store_module
from clml_desktop.collection.rows import PredictionIn
from clml_desktop.collection.store import CollectionStore, _next_slice


def test_slices_shrink_when_slow_and_grow_when_fast():
    budget = store_module.WRITE_SLICE_SECONDS
    assert _next_slice(512, budget * 4) == 128
    assert _next_slice(64, budget / 10) == 128
    assert _next_slice(100, budget * 0.75) == 100
    assert _next_slice(8, budget * 100) == 8, "never below a few rows"
    assert _next_slice(4096, 0.0) == 4096, "never above a bounded slice"


def _rows(ids: list[int], n: int) -> list[PredictionIn]:
    rng = np.random.default_rng(1)
    return [PredictionIn(ids[k % len(ids)], 1, "oof", rng.random(3).astype(np.float32)) for k in range(n)]


def test_a_large_batch_is_written_in_many_transactions(store, ids, monkeypatch):
    store.add_model("m", "models/m", tags=["a", "b", "c"])
    commits: list[str] = []
    store._conn.set_trace_callback(lambda sql: commits.append(sql) if sql == "COMMIT" else None)
    monkeypatch.setattr(store_module, "WRITE_SLICE_SECONDS", 0.0)  # every slice "too slow": smallest slices
    rows = _rows(ids, 400)
    assert store.put_predictions("m", rows) == 400
    store._conn.set_trace_callback(None)
    assert len(commits) >= 400 // 64, "not one long transaction"
    matrix = store.predictions("m")
    last = {row.image_id: row.probs for row in rows}
    for image_id, probs in last.items():
        got = matrix.probs[list(matrix.image_ids).index(image_id)]
        assert np.allclose(got, probs)


def test_empty_batch_writes_nothing(store):
    store.add_model("m", "models/m", tags=["a"])
    assert store.put_predictions("m", []) == 0


def test_an_edit_goes_through_while_scores_are_written(store, ids, collection):
    store.add_model("m", "models/m", tags=["a", "b", "c"])
    rows = _rows(ids, 6000)
    errors: list[BaseException] = []

    def write() -> None:
        try:
            with CollectionStore.open(collection) as background:
                background.put_predictions("m", rows)
        except BaseException as exc:  # reported below
            errors.append(exc)

    writer = threading.Thread(target=write)
    writer.start()
    edits = 0
    while writer.is_alive() or edits < 2:
        assert store.add_tag([ids[edits % len(ids)]], f"t{edits}") is not None
        edits += 1
    writer.join()
    assert not errors
    assert {label.tag for label in store.labels_of(ids[0])} >= {"t0"}

"""Models and cached scores: compact blobs, round trip, stale after a content change."""

from __future__ import annotations

import os

import numpy as np
import pytest

from clml_desktop.collection.rows import PredictionIn
from clml_desktop.collection.scan import scan_folder
from clml_desktop.collection.store import StoreError


def test_models_register_activate_and_update(store):
    assert store.active_model() is None
    store.add_model(
        "m1", "models/m1", tags=["a", "b"], metrics={"map": 0.5}, created="2026-01-01T00:00:00"
    )
    store.add_model("m2", "models/m2", parent="m1", tags=["a", "b"], created="2026-01-02T00:00:00")
    assert store.active_model().id == "m2"
    assert [m.id for m in store.models()] == ["m1", "m2"]
    store.set_active_model("m1")
    assert store.active_model().metrics == {"map": 0.5}
    assert store.models()[1].parent == "m1"
    store.add_model("m1", "models/m1", tags=["a", "b"], metrics={"map": 0.6}, activate=False)
    assert store.active_model().metrics == {"map": 0.6}
    store.set_active_model(None)
    assert store.active_model() is None
    with pytest.raises(StoreError, match="no model"):
        store.set_active_model("nope")


def test_predictions_round_trip_as_float32_and_float16(store, ids):
    store.add_model("m", "models/m", tags=["a", "b", "c"])
    rng = np.random.default_rng(0)
    probs = rng.random((len(ids), 3)).astype(np.float64)
    emb = rng.standard_normal((len(ids), 8))
    rows = [PredictionIn(i, 1, "engine", probs[k], emb[k]) for k, i in enumerate(ids)]
    assert store.put_predictions("m", rows) == len(ids)
    pm = store.predictions("m")
    assert list(pm.image_ids) == sorted(ids)
    order = np.argsort(ids)
    assert pm.probs.dtype == np.float32
    np.testing.assert_allclose(pm.probs, probs[order].astype(np.float32))
    got_ids, got_emb = store.embeddings("m")
    assert got_emb.dtype == np.float16 and got_emb.shape == (len(ids), 8)
    np.testing.assert_allclose(got_emb, emb[order].astype(np.float16))
    blob = store._conn.execute("SELECT probs, embedding FROM predictions LIMIT 1").fetchone()
    assert len(blob[0]) == 3 * 4 and len(blob[1]) == 8 * 2
    assert store.images_needing_predictions("m") == []


def test_oof_scores_win_over_engine_scores(store, ids):
    store.add_model("m", "models/m", tags=["a"])
    store.put_predictions("m", [PredictionIn(ids[0], 1, "engine", np.array([0.9]))])
    store.put_predictions("m", [PredictionIn(ids[0], 1, "oof", np.array([0.2]))])
    pm = store.predictions("m")
    assert pm.kinds == ["oof"] and pm.probs[0, 0] == pytest.approx(0.2)
    ids_, emb = store.embeddings("m")
    assert len(ids_) == 0 and emb.shape[0] == 0


def test_a_changed_image_makes_its_scores_stale(store, collection, ids):
    store.add_model("m", "models/m", tags=["a"])
    store.put_predictions("m", [PredictionIn(i, 1, "engine", np.array([0.5])) for i in ids])
    target = store.image(ids[0])
    path = collection / target.path
    path.write_bytes(path.read_bytes() + b"\0" * 10)  # new size: new version
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    report = scan_folder(store)
    assert report.changed == 1
    assert store.image(ids[0]).version == 2
    assert ids[0] not in store.predictions("m").image_ids
    assert [im.id for im in store.images_needing_predictions("m")] == [ids[0]]


def test_bad_predictions_are_refused(store, ids):
    store.add_model("m", "models/m", tags=["a", "b"])
    with pytest.raises(StoreError, match="kind"):
        store.put_predictions("m", [PredictionIn(ids[0], 1, "guess", np.zeros(2))])
    with pytest.raises(StoreError, match="no model"):
        store.put_predictions("unknown model", [PredictionIn(ids[0], 1, "engine", np.zeros(2))])
    with pytest.raises(StoreError, match="has 2 tags but image .* got 3 scores"):
        store.put_predictions("m", [PredictionIn(ids[0], 1, "engine", np.zeros(3))])
    with pytest.raises(StoreError, match="refused"):
        store.put_predictions("m", [PredictionIn(99999, 1, "engine", np.zeros(2))])
    assert store.predictions("m").probs.shape == (0, 2)
    store.add_model("untagged", "models/u")
    store.put_predictions("untagged", [PredictionIn(ids[0], 1, "engine", np.zeros(3))])
    store.put_predictions("untagged", [PredictionIn(ids[1], 1, "engine", np.zeros(4))])
    with pytest.raises(StoreError, match=r"do not all have [34] scores"):
        store.predictions("untagged")
    with pytest.raises(StoreError, match="no model"):
        store.predictions("nope")


def test_unreadable_images_need_no_predictions_but_bad_tag_files_do(store, ids):
    store.add_model("m", "models/m", tags=["a"])
    store.set_image_problem(ids[1], "broken")
    store.set_tag_file_problem(ids[2], "tag file img02.txt: not UTF-8")
    needing = [im.id for im in store.images_needing_predictions("m")]
    assert ids[1] not in needing and ids[2] in needing
    assert [p.message for p in store.problems()] == ["broken", "tag file img02.txt: not UTF-8"]

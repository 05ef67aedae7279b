"""The batched pipeline: caches per (image version, model), rescoring only what changed."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest

from clml_contract.progress import Steps
from clml_desktop.collection.scan import scan_folder
from clml_desktop.inference.engine import Engine
from clml_desktop.inference.pipeline import predict_collection

from .conftest import SIZE, truncated_jpeg


@pytest.fixture(scope="module")
def engine(model_kit):
    return Engine.load(model_kit.dir, device="cpu")


def test_scores_every_image_and_caches(collection, engine):
    seen = []
    control = Steps(lambda done, total, text: seen.append((done, total, text)))
    report = predict_collection(collection, engine, batch_size=3, control=control)
    n = collection.image_count()
    assert report.scored == report.total == n and not report.problems and not report.cancelled
    assert [done for done, _, _ in seen] == [3, 6, n]
    assert all(total == n and text.startswith("Scoring images (") for _, total, text in seen)
    assert all(float(text.split("(")[1].split("/s")[0]) > 0 for _, _, text in seen), "the speed"
    pred = collection.predictions(engine.model_id)
    assert len(pred.image_ids) == n and set(pred.kinds) == {"engine"}
    assert pred.probs.shape == (n, 5)
    ids, emb = collection.embeddings(engine.model_id)
    assert emb.dtype == np.float16 and emb.shape == (n, 512)
    again = predict_collection(collection, engine)
    assert again.total == 0 and again.scored == 0


def test_cached_scores_equal_a_direct_run(collection, engine):
    from clml_contract.preprocess import preprocess_file

    predict_collection(collection, engine)
    pred = collection.predictions(engine.model_id)
    row = collection.image_by_path("large.jpg")
    direct = engine.run(
        preprocess_file(collection.root / "large.jpg", SIZE, engine.normalizer)[None]
    ).probs[0]
    stored = pred.probs[list(pred.image_ids).index(row.id)]
    assert np.allclose(stored, direct, atol=1e-6)


def test_only_changed_and_new_images_are_rescored(collection, engine):
    predict_collection(collection, engine)
    target = collection.root / "plain.jpg"
    st = target.stat()
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns + 10_000_000_000))
    (collection.root / "new.jpg").write_bytes((collection.root / "large.jpg").read_bytes())
    scan_folder(collection)
    report = predict_collection(collection, engine)
    assert report.total == 2 and report.scored == 2
    assert len(collection.predictions(engine.model_id).image_ids) == collection.image_count()


def test_a_broken_image_is_reported_and_the_rest_goes_on(collection, engine):
    truncated_jpeg(collection.root / "truncated.jpg")
    scan_folder(collection)
    broken = collection.image_by_path("truncated.jpg")
    assert broken is not None and broken.problem is None, "the header is fine; decoding fails later"
    report = predict_collection(collection, engine, batch_size=2)
    assert [p.path for p in report.problems] == ["truncated.jpg"]
    assert "truncated" in report.problems[0].message
    assert report.scored == collection.image_count() - 1
    assert collection.image(broken.id).problem is not None
    assert predict_collection(collection, engine).total == 0, "a known-bad file is not retried"


def test_cancel_keeps_what_was_scored(collection, engine):
    control = Steps(lambda done, total, text: control.cancel())  # stop after the first batch
    report = predict_collection(collection, engine, batch_size=2, control=control)
    assert report.cancelled and report.scored == 2
    assert len(collection.predictions(engine.model_id).image_ids) == 2
    rest = predict_collection(collection, engine)
    assert rest.total == collection.image_count() - 2


def test_limited_to_some_images(collection, engine):
    ids = [collection.image_by_path("grey.png").id]
    report = predict_collection(collection, engine, image_ids=ids)
    assert report.scored == 1


def test_decoding_runs_in_worker_threads(collection, engine, monkeypatch):
    from clml_desktop.inference import pipeline

    threads = set()
    niceness = set()
    real = pipeline.preprocess_file

    def spy(*args, **kwargs):
        threads.add(threading.current_thread().name)
        if hasattr(os, "getpriority"):
            niceness.add(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "preprocess_file", spy)
    predict_collection(collection, engine, batch_size=2, workers=2, decode_niceness=5)
    assert threads and all(name.startswith("clml-decode") for name in threads)
    if hasattr(os, "getpriority"):
        mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        assert niceness == {min(19, mine + 5)}, "niced decoders yield to the model"


def test_registers_an_unknown_model_without_activating_it(collection, engine):
    predict_collection(collection, engine)
    [row] = collection.models()
    assert row.id == engine.model_id and not row.active and row.tags == engine.tags

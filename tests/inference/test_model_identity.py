"""Issue 14: a model's identity is its content, never the id a folder claims.

Two folders whose manifests carry one id (`import-checkpoint --out A/model` and
`--out B/model` used to both say `model`) must never share cached scores, and a
folder carrying another model's id must never write into that model's cache.
"""

from __future__ import annotations

import shutil

import pytest

from clml_desktop.inference.engine import Engine
from clml_desktop.inference.errors import ModelLoadError
from clml_desktop.inference.pipeline import predict_collection
from clml_desktop.inference.registry import register_model

from .conftest import write_model


@pytest.fixture(scope="module")
def twins(tmp_path_factory):
    """Two different networks whose manifests both say id `model`."""
    root = tmp_path_factory.mktemp("twins")
    a = write_model(root / "A" / "model", model_id="model", seed=0)
    b = write_model(root / "B" / "model", model_id="model", seed=1)
    return a, b


def test_a_second_model_with_the_same_id_never_answers_from_the_firsts_cache(collection, twins):
    a, b = twins
    first = predict_collection(collection, Engine.load(a.dir, device="cpu"))
    assert first.scored == collection.image_count()
    cached = collection.predictions("model").probs.copy()
    with pytest.raises(ModelLoadError, match="different model registered under that id"):
        predict_collection(collection, Engine.load(b.dir, device="cpu"))
    assert (collection.predictions("model").probs == cached).all(), "A's cache untouched"
    with pytest.raises(ModelLoadError, match=str(b.dir)):
        register_model(collection, b.dir, activate=True)
    [row] = collection.models()
    assert row.path == str(a.dir.resolve()) and not row.active


def test_the_same_model_moved_or_copied_is_the_same_model(collection, twins, tmp_path):
    a, _ = twins
    register_model(collection, a.dir, activate=True)
    copy = tmp_path / "elsewhere" / "model"
    shutil.copytree(a.dir, copy)
    row = register_model(collection, copy, activate=True)
    assert row.id == "model" and row.path == str(copy.resolve())
    assert predict_collection(collection, Engine.load(copy, device="cpu")).scored > 0


def test_a_row_registered_before_fingerprints_is_judged_by_its_own_folder(collection, twins):
    a, b = twins
    collection.add_model("model", str(a.dir), tags=a.manifest.tags, activate=True)
    assert collection.model_fingerprint("model") is None
    with pytest.raises(ModelLoadError):
        predict_collection(collection, Engine.load(b.dir, device="cpu"))
    predict_collection(collection, Engine.load(a.dir, device="cpu"))
    assert collection.model_fingerprint("model") is not None, "recorded on first use"

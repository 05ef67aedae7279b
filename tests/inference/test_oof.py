"""Out-of-fold scores reach the image they were computed for, never a newer file (issue 12).

The model folders here are the session's tiny ONNX model with an oof.npz
written by the contract's writer, as training/fit.py writes it: no training.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from clml_contract.oof import write_oof
from clml_contract.training_set import read_training_set
from clml_desktop.collection.exporting import write_training_set
from clml_desktop.collection.scan import scan_folder
from clml_desktop.inference.registry import register_model


def _model_with_oof(kit_dir: Path, target: Path, paths, **ids) -> Path:
    shutil.copytree(kit_dir, target)
    manifest = json.loads((target / "manifest.json").read_text())
    manifest.update(id=target.name, files={**manifest["files"], "oof": "oof.npz"})
    (target / "manifest.json").write_text(json.dumps(manifest))
    n, tags = len(paths), len(manifest["tags"])
    write_oof(target / "oof.npz", paths, np.full((n, tags), 0.75), np.ones((n, 512)), **ids)
    return target


def _replace_pixels(path: Path) -> None:
    """Another picture under the same name, as an editor's save would leave it."""
    Image.new("RGB", (33, 21), (10, 200, 30)).save(path, format="JPEG")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))


def _scored(store, model_id: str) -> set[str]:
    ids = set(store.predictions(model_id).image_ids.tolist())
    return {image.path for image in store.images() if image.id in ids}


def test_an_image_replaced_during_training_keeps_no_out_of_fold_score(collection, model_kit,
                                                                      tmp_path, caplog):
    assert write_training_set(collection, tmp_path / "train.jsonl") == 4
    data = read_training_set(tmp_path / "train.jsonl")
    before = collection.image_by_path("large.jpg").version
    _replace_pixels(Path(collection.root) / "large.jpg")
    scan_folder(collection)
    assert collection.image_by_path("large.jpg").version != before
    model = _model_with_oof(model_kit.dir, tmp_path / "m1", data.paths,
                            image_ids=data.image_ids, versions=data.versions)
    with caplog.at_level(logging.WARNING):
        register_model(collection, model, activate=True)
    assert _scored(collection, "m1") == {"plain.jpg", "grey.png", "alpha.png"}
    assert "large.jpg" in {image.path for image in collection.images_needing_predictions("m1")}
    assert "1 image(s) changed since the training set was written" in caplog.text


def test_a_file_without_ids_still_maps_by_path(collection, model_kit, tmp_path):
    paths = [Path(collection.root) / name for name in ("plain.jpg", "grey.png", "elsewhere.jpg")]
    register_model(collection, _model_with_oof(model_kit.dir, tmp_path / "m2", paths), activate=True)
    assert _scored(collection, "m2") == {"plain.jpg", "grey.png"}


def test_an_id_of_another_image_is_not_trusted(collection, model_kit, tmp_path):
    """A model folder from another collection names ids of that collection's store."""
    plain, large = (collection.image_by_path(name) for name in ("plain.jpg", "large.jpg"))
    paths = [Path(collection.root) / "plain.jpg", Path(collection.root) / "grey.png"]
    model = _model_with_oof(model_kit.dir, tmp_path / "m3", paths,
                            image_ids=[plain.id, large.id], versions=[plain.version, large.version])
    register_model(collection, model, activate=True)
    assert _scored(collection, "m3") == {"plain.jpg"}

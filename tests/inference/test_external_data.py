"""Issue 14, what held and must keep holding: an ONNX model whose weights are stored as
external data outside its own folder is refused, so a model folder someone shared
cannot make the app read another file of the person's (`../../.ssh/id_rsa` as a tensor)."""

from __future__ import annotations

import shutil

import onnx
import pytest
from onnx.external_data_helper import convert_model_to_external_data

from clml_desktop.inference.engine import Engine
from clml_desktop.inference.errors import ModelLoadError

from .conftest import write_model


def _to_external(model_dir) -> None:
    """Rewrite model.onnx with its weights in `weights.bin` beside it."""
    proto = onnx.load(str(model_dir / "model.onnx"))
    convert_model_to_external_data(proto, all_tensors_to_one_file=True, location="weights.bin",
                                   size_threshold=0)
    onnx.save_model(proto, str(model_dir / "model.onnx"))


def _point_to(model_dir, location: str) -> None:
    """Make every external tensor of model.onnx name `location` (relative to the folder)."""
    proto = onnx.load(str(model_dir / "model.onnx"), load_external_data=False)
    for tensor in proto.graph.initializer:
        for entry in tensor.external_data:
            if entry.key == "location":
                entry.value = location
    onnx.save_model(proto, str(model_dir / "model.onnx"))


def test_weights_inside_the_model_folder_load(tmp_path):
    model_dir = tmp_path / "inside"
    write_model(model_dir)
    _to_external(model_dir)
    assert Engine.load(model_dir, device="cpu").model_id


def test_weights_outside_the_model_folder_are_refused(tmp_path):
    """The bytes are there and readable; only where they are makes them refused."""
    model_dir = tmp_path / "models" / "shared"
    write_model(model_dir)
    _to_external(model_dir)
    shutil.move(str(model_dir / "weights.bin"), str(tmp_path / "victim.bin"))
    _point_to(model_dir, "../../victim.bin")
    with pytest.raises(ModelLoadError, match="escapes model directory"):
        Engine.load(model_dir, device="cpu")

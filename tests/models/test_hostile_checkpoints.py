"""Issue 14: imported models get their own identity; a bad checkpoint's message is ours."""

from __future__ import annotations

import pickle

import pytest
import torch

from clml_contract.manifest import Manifest
from models.checkpoint import CheckpointError, load_checkpoint
from models.convert import import_authors_checkpoint
from models.export import calibrate_batchnorm
from models.resnet import build_model


class _Payload:
    def __reduce__(self):
        return (print, ("pwned",))


def test_two_imports_named_alike_get_different_ids(tmp_path):
    torch.manual_seed(3)
    model = build_model("resnet18", 2)
    calibrate_batchnorm(model, torch.rand(8, 3, 32, 32) * 2 - 1)
    ckpt = tmp_path / "release.ckpt"
    torch.save({f"module.{k}": v for k, v in model.state_dict().items()}, ckpt)
    classes = tmp_path / "classes.txt"
    classes.write_text("person\ncar\n", encoding="utf-8")
    a = import_authors_checkpoint(ckpt, classes, tmp_path / "A" / "model", image_size=32)
    b = import_authors_checkpoint(ckpt, classes, tmp_path / "B" / "model", image_size=32)
    assert a.id != b.id, "a folder's name is not an identity"
    assert a.id != "model" and b.id != "model"
    assert Manifest.read(tmp_path / "A" / "model").id == a.id


def test_a_bad_checkpoint_never_suggests_weights_only_false(tmp_path):
    path = tmp_path / "evil.pt"
    with open(path, "wb") as fh:
        pickle.dump({"conv1.weight": _Payload()}, fh, protocol=2)
    torch.save({"w": _Payload()}, tmp_path / "evil2.pt")
    for file in (path, tmp_path / "evil2.pt"):
        with pytest.raises(CheckpointError) as info:
            load_checkpoint(file)
        text = str(info.value)
        assert file.name in text
        assert "weights_only" not in text and "WeightsUnpickler" not in text, text
        assert "not load" in text or "refused" in text

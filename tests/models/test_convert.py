"""`python -m training export` / `import-checkpoint`: checkpoints in, verified model folders out."""

from __future__ import annotations

import json

import numpy as np
import onnxruntime as ort
import pytest
import torch
from PIL import Image

from clml_contract.manifest import Manifest
from models.convert import AUTHORS_MEAN, AUTHORS_STD, ConvertError, infer_arch, read_class_names
from models.export import calibrate_batchnorm
from models.resnet import build_model
from models.transforms import eval_transform
from training.cli import main as training_main


def _events(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def authors_checkpoint(tmp_path_factory, real_images):
    """A ResNet18 saved the way the authors' train_clml.py saves under DataParallel."""
    folder = tmp_path_factory.mktemp("release")
    torch.manual_seed(1)
    model = build_model("resnet18", 3)
    calibrate_batchnorm(model, real_images)
    torch.save(
        {f"module.{k}": v for k, v in model.state_dict().items()}, folder / "model-highest.ckpt"
    )
    (folder / "classes.txt").write_text("\ufeffperson\nbicycle\ncar\n\n", encoding="utf-8")
    return model.eval(), folder


def test_import_checkpoint_end_to_end(tmp_path, capsys, authors_checkpoint, demo_folder):
    model, release = authors_checkpoint
    out = tmp_path / "imported"
    code = training_main(
        [
            "import-checkpoint",
            str(release / "model-highest.ckpt"),
            "--classes",
            str(release / "classes.txt"),
            "--out",
            str(out),
            "--image-size",
            "64",
            "--images",
            str(demo_folder),
        ]
    )
    events = _events(capsys)
    assert code == 0, events
    assert events[-1]["event"] == "done" and events[-1]["model_dir"] == str(out)
    manifest = Manifest.read(out)
    assert manifest.tags == ["person", "bicycle", "car"]
    assert (manifest.architecture, manifest.input_size, manifest.embedding_dim) == (
        "resnet18",
        64,
        512,
    )
    assert tuple(manifest.mean) == AUTHORS_MEAN and tuple(manifest.std) == AUTHORS_STD
    assert manifest.thresholds == {"person": 0.5, "bicycle": 0.5, "car": 0.5}
    image = sorted(demo_folder.glob("*.jpg"))[0]
    with Image.open(image) as im:
        x = eval_transform(64, AUTHORS_MEAN, AUTHORS_STD)(im)[None]
    assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0  # the release feeds [0, 1] pixels
    session = ort.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    logits, embedding = session.run(["logits", "embedding"], {"images": x.numpy()})
    with torch.no_grad():
        expected = model(x)[0].numpy()
    assert embedding.shape == (1, 512)
    assert np.max(np.abs(logits - expected)) / max(1.0, float(np.abs(expected).max())) <= 1e-4


def test_export_from_a_model_folder_keeps_its_manifest_settings(
    tmp_path, capsys, authors_checkpoint
):
    _, release = authors_checkpoint
    first = tmp_path / "first"
    assert (
        training_main(
            [
                "import-checkpoint",
                str(release / "model-highest.ckpt"),
                "--classes",
                str(release / "classes.txt"),
                "--out",
                str(first),
                "--image-size",
                "64",
            ]
        )
        == 0
    )
    capsys.readouterr()
    again = tmp_path / "again"
    assert training_main(["export", str(first / "checkpoint.pt"), "--out", str(again)]) == 0
    a, b = Manifest.read(first), Manifest.read(again)
    assert (b.tags, b.input_size, b.mean, b.std, b.thresholds) == (
        a.tags,
        a.input_size,
        a.mean,
        a.std,
        a.thresholds,
    )
    assert b.parent == a.id


def test_mismatched_class_names_end_with_an_error_event(tmp_path, capsys, authors_checkpoint):
    _, release = authors_checkpoint
    names = tmp_path / "two.txt"
    names.write_text("a\nb\n", encoding="utf-8")
    code = training_main(
        [
            "import-checkpoint",
            str(release / "model-highest.ckpt"),
            "--classes",
            str(names),
            "--out",
            str(tmp_path / "m"),
            "--image-size",
            "64",
        ]
    )
    events = _events(capsys)
    assert code == 1
    assert events[-1]["event"] == "error" and "3 outputs but 2 tag names" in events[-1]["message"]
    assert not (tmp_path / "m").exists()
    bare = tmp_path / "bare.pt"
    torch.save(build_model("resnet18", 2).state_dict(), bare)
    assert training_main(["export", str(bare), "--out", str(tmp_path / "n")]) == 1
    assert "--tags" in _events(capsys)[-1]["message"]


def test_architecture_is_read_from_the_state_dict():
    for arch in ("resnet18", "resnet50", "resnet101"):
        with torch.device("meta"):
            state = build_model(arch, 2).state_dict()
        assert infer_arch(state) == arch
    with pytest.raises(ConvertError):
        infer_arch({"features.0.weight": torch.zeros(1)})


@pytest.mark.parametrize(
    ("text", "message"),
    [("a\n\nb\n", "line 2 is empty"), ("a\nb\na\n", "listed twice"), ("\n\n", "no tag names")],
)
def test_class_names_file_problems_are_named(tmp_path, text, message):
    path = tmp_path / "names.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConvertError, match=message):
        read_class_names(path)
    path.write_bytes(b"caf\xe9\n")
    with pytest.raises(ConvertError, match="UTF-8"):
        read_class_names(path)

"""manifest.json: ADR 0002's fields, a lossless round trip, clear errors for bad files."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from clml_contract.manifest import Manifest, ManifestError


def _manifest(**changes) -> Manifest:
    fields = dict(
        id="20261126-a",
        tags=["cat", "dog", "долгий хвост"],
        architecture="resnet101",
        input_size=448,
        embedding_dim=2048,
        thresholds={"cat": 0.4},
        training={"loss": "bce", "epochs": 20},
        metrics={"val_map": 0.71},
        parent=None,
        files={"onnx": "model.onnx", "checkpoint": "checkpoint.pt", "oof": "oof.npz"},
    )
    fields.update(changes)
    return Manifest(**fields)


def test_round_trip_keeps_every_field(tmp_path):
    original = _manifest()
    path = original.write(tmp_path)
    assert path == tmp_path / "manifest.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    assert set(data) == {
        "format",
        "id",
        "tags",
        "architecture",
        "input_size",
        "mean",
        "std",
        "resize",
        "thresholds",
        "calibration",
        "embedding_dim",
        "training",
        "metrics",
        "parent",
        "created",
        "files",
    }
    assert data["format"] == 1 and data["resize"] == "squash"
    assert Manifest.read(path) == original
    assert Manifest.read(tmp_path) == original


def test_non_finite_metrics_are_written_as_null(tmp_path):
    _manifest(
        metrics={"val_map": float("nan"), "per_tag": {"cat": float("inf"), "dog": 0.5}}
    ).write(tmp_path)
    text = (tmp_path / "manifest.json").read_text(encoding="utf-8")
    assert "NaN" not in text and "Infinity" not in text
    assert Manifest.read(tmp_path).metrics == {
        "val_map": None,
        "per_tag": {"cat": None, "dog": 0.5},
    }


def test_unknown_fields_from_newer_writers_are_ignored(tmp_path):
    data = _manifest().to_dict() | {"future_field": [1, 2]}
    (tmp_path / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
    assert Manifest.read(tmp_path).tags == ["cat", "dog", "долгий хвост"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": 2}, "'format'"),
        ({"tags": []}, "'tags'"),
        ({"tags": ["a", "a"]}, "duplicates: a"),
        ({"tags": ["a", ""]}, "'tags'"),
        ({"input_size": "448"}, "'input_size'"),
        ({"input_size": True}, "'input_size'"),
        ({"embedding_dim": 0}, "'embedding_dim'"),
        ({"mean": [0.5, 0.5]}, "'mean'"),
        ({"std": [0.2, 0.0, 0.2]}, "'std'"),
        ({"std": [0.2, float("nan"), 0.2]}, "'std'"),
        ({"resize": "crop"}, "'resize'"),
        ({"thresholds": {"bird": 0.5}}, "not one of the model's tags"),
        ({"thresholds": {"cat": 1.5}}, "'thresholds'"),
        ({"created": "yesterday"}, "'created'"),
        ({"files": {"onnx": "../../etc/passwd"}}, "'files'"),
        ({"files": {"checkpoint": "c.pt"}}, "'files'"),
        ({"parent": ""}, "'parent'"),
        ({"metrics": []}, "'metrics'"),
    ],
)
def test_invalid_fields_are_named(tmp_path, change, message):
    data = _manifest().to_dict() | change
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ManifestError, match=message) as info:
        Manifest.read(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ('{"format": 1, "id": "x"}', "missing field"),
    ],
)
def test_malformed_files_are_reported(tmp_path, text, message):
    (tmp_path / "manifest.json").write_text(text, encoding="utf-8")
    with pytest.raises(ManifestError, match=message):
        Manifest.read(tmp_path)
    with pytest.raises(ManifestError, match="missing"):
        Manifest.read(tmp_path / "nowhere" / "manifest.json")


def test_writing_an_invalid_manifest_is_refused_and_leaves_no_file(tmp_path):
    with pytest.raises(ManifestError):
        _manifest(tags=["a", "a"]).write(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_manifest_module_does_not_load_torch():
    code = "import sys, clml_contract.manifest; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

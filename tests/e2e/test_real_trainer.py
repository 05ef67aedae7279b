"""The person's command-line path end to end with the real trainer, no stand-in.

A folder of sidecar-tagged images with some tags hidden → `scan` → `train`
(which writes the training set, runs the real `python -m training fit` as a
child process, registers the model and makes it active) → `suggest --json` →
`review --accept` → `export`. Every step goes through `clml_desktop.app.main`,
as the CLI tests do; only the trainer is a separate process, as in use. The
other tests swap the trainer for a fake that speaks its protocol, so they
cannot see a trainer that no longer starts, ignores the app's flags or writes
a model the app cannot read: this one fails on each of those.

Tiny on purpose (24 images of 36 px, ResNet-18 at 32 px, 2 epochs, 2 folds,
one OpenMP thread) so it stays well under a minute on two busy cores.
"""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest

from clml_contract.score_map import apply_score_map
from clml_desktop.app import main
from clml_desktop.collection.store import CollectionStore

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("torch") is None, reason="the trainer (torch) is not installed"
)

TESTS = Path(__file__).resolve().parents[1]
TRAIN_ARGS = [
    "--init", "random", "--arch", "resnet18", "--image-size", "32", "--epochs", "2",
    "--folds", "2", "--device", "cpu", "--augment", "crop", "--unknown-weight", "0.5",
]


def _make_images():
    """tests/training/conftest.py's image maker, loaded by path (test folders are not packages)."""
    spec = importlib.util.spec_from_file_location(
        "_e2e_training_images", TESTS / "training" / "conftest.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make_images


def make_collection(folder: Path) -> dict[str, list[str]]:
    """24 coloured shapes with `.txt` sidecars; every third image hides its colour tag.
    Returns each image's sidecar tags, in file order."""
    rows = _make_images()(folder, count=24, size=36, seed=3)
    tagged = {}
    for i, row in enumerate(rows):
        shape, colour = row["positives"]
        tags = [shape] if i % 3 == 0 else [shape, colour]
        image = Path(row["path"])
        image.with_suffix(".txt").write_text(", ".join(tags) + "\n", encoding="utf-8")
        tagged[image.name] = tags
    return tagged


def run_cli(capsys, *argv: str) -> tuple[str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert code == 0, f"clml-desktop {' '.join(argv)} failed ({code}):\n{err}"
    return out, err


def suggest_json(capsys, folder: Path, *extra: str) -> dict:
    out, _ = run_cli(capsys, "suggest", str(folder), "--json", "--device", "cpu", *extra)
    return json.loads(out)


def exported_sidecars(folder: Path) -> dict[str, list[str]]:
    """image name -> tags of the sidecars an export wrote into `folder`."""
    result = {}
    for path in sorted(folder.rglob("*.txt")):
        text = path.read_text(encoding="utf-8").strip()
        result[path.with_suffix(".png").name] = [t.strip() for t in text.split(",") if t.strip()]
    return result


def cut_between_scores(scores: list[float]) -> float:
    """A cut in the widest gap among the middle half of the scores, so that some pairs
    pass it and some do not, and no score sits on it (JSON rounds scores to 1e-6)."""
    ordered = sorted(scores)
    middle = range(len(ordered) // 4, 3 * len(ordered) // 4)
    gap, i = max((ordered[i + 1] - ordered[i], i) for i in middle)
    assert gap > 1e-4, "the trained model scores every unknown pair alike"
    return (ordered[i] + ordered[i + 1]) / 2


def test_scan_train_suggest_review_export_with_the_real_trainer(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # the trainer child: one thread on a busy machine
    monkeypatch.setenv("CLML_DESKTOP_ORT_CACHE", str(tmp_path / "ort-cache"))
    folder = tmp_path / "shapes"
    sidecar_tags = make_collection(folder)
    originals = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}

    run_cli(capsys, "scan", str(folder))
    _, train_err = run_cli(capsys, "train", str(folder), *TRAIN_ARGS)
    assert "registered and active" in train_err

    # The model the real trainer wrote, registered and active, built with the app's flags.
    with CollectionStore.open(folder) as store:
        (model,) = store.models()
        active = store.active_model()
        model_dir = Path(model.path)
        predictions = store.predictions(model.id)
        assert active is not None and active.id == model.id
        assert model_dir.parent == Path(store.data_dir) / "models"
        assert sorted(predictions.kinds) == ["oof"] * 24, "training images are scored out-of-fold"
    assert {"model.onnx", "manifest.json", "oof.npz"} <= {p.name for p in model_dir.iterdir()}
    manifest = json.loads((model_dir / "manifest.json").read_text(encoding="utf-8"))
    settings = manifest["training"]
    assert (settings["arch"], settings["image_size"], settings["epochs"], settings["folds"]) == (
        "resnet18", 32, 2, 2,
    )
    assert (settings["augment"], settings["unknown_weight"]) == ("crop", 0.5)
    tags = manifest["tags"]
    assert sorted(tags) == ["blue", "circle", "green", "red", "square"]

    # Every unknown pair of every training image has a probability: its out-of-fold one,
    # through the model's calibration map when the trainer could fit one (ADR 0018).
    every = suggest_json(capsys, folder, "--order", "uncertain")
    assert every["model"] == model.id
    scores = {(s["image"], s["tag"]): s["score"] for s in every["suggestions"]}
    unknown = {(name, tag) for name in sidecar_tags for tag in tags} - {
        (name, tag) for name, known in sidecar_tags.items() for tag in known
    }
    assert set(scores) == unknown
    assert all(math.isfinite(p) and 0.0 <= p <= 1.0 for p in scores.values())
    with np.load(model_dir / "oof.npz") as oof:
        rows = zip(oof["paths"], oof["probs"], strict=True)
        oof_probs = {Path(str(path)).name: apply_score_map(probs, manifest.get("calibration"))
                     for path, probs in rows}
    for (name, tag), score in scores.items():
        assert score == pytest.approx(float(oof_probs[name][tags.index(tag)]), abs=2e-6)

    # The collection's setting decides what is suggested; pick one that splits the pairs.
    cut = cut_between_scores(list(scores.values()))
    run_cli(capsys, "settings", str(folder), "--min-likely", f"{cut * 100:.6f}")
    shown = suggest_json(capsys, folder)["suggestions"]
    assert {(s["image"], s["tag"]) for s in shown} == {k for k, p in scores.items() if p >= cut}
    assert 0 < len(shown) < len(scores)
    assert all(s["threshold"] == pytest.approx(cut, abs=1e-6) for s in shown)

    # Accept the most likely suggestion; only that image's exported sidecar gains it.
    image, tag = shown[0]["image"], shown[0]["tag"]
    run_cli(capsys, "review", str(folder), "--accept", image, tag)
    confirmed_out = tmp_path / "confirmed"
    run_cli(capsys, "export", str(folder), "--format", "txt", "--out", str(confirmed_out))
    expected = {name: list(known) for name, known in sidecar_tags.items()}
    expected[image] = [*expected[image], tag]
    assert exported_sidecars(confirmed_out) == expected
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()} == originals, (
        "an export to another folder leaves the collection's own files alone"
    )

    # With suggestions, the export writes exactly what `suggest` lists at the setting.
    after = suggest_json(capsys, folder)["suggestions"]
    assert (image, tag) not in {(s["image"], s["tag"]) for s in after}
    assert len(after) == len(shown) - 1
    suggested_out = tmp_path / "suggested"
    run_cli(
        capsys, "export", str(folder), "--format", "txt", "--out", str(suggested_out),
        "--with-suggestions",
    )
    for s in after:
        expected[s["image"]].append(s["tag"])
    written = exported_sidecars(suggested_out)
    assert {name: set(t) for name, t in written.items()} == {
        name: set(t) for name, t in expected.items()
    }
    assert all(written[name][: len(known)] == known for name, known in sidecar_tags.items()), (
        "suggestions come after the person's tags, whose order is kept"
    )

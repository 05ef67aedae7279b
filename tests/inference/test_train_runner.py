"""Headless training: command line, subprocess events, registration, failures and cancel."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from clml_desktop.inference.errors import ModelLoadError
from clml_desktop.jobs.train_runner import (
    AUGMENTATIONS,
    TrainingError,
    TrainingRun,
    TrainOptions,
    build_fit_command,
    prepare_training,
    register_trained_model,
)
from clml_contract.events import CancelledEvent, DoneEvent, ProgressEvent, StartEvent

FAKE = Path(__file__).with_name("fake_trainer.py")


def fake_run(
    store, options: TrainOptions, monkeypatch, model_dir: Path, mode: str = "ok"
) -> TrainingRun:
    monkeypatch.setenv("FAKE_TRAINER_MODE", mode)
    monkeypatch.setenv("FAKE_TRAINER_MODEL", str(model_dir))
    run = TrainingRun(store, prepare_training(store), options)
    assert run.command[:4] == [sys.executable, "-m", "training", "fit"]
    run.command = [sys.executable, str(FAKE), *run.command[3:]]
    return run


def test_command_line_carries_every_option(collection, tmp_path):
    options = TrainOptions(
        arch="resnet18",
        image_size=64,
        epochs=3,
        loss="hill",
        clml_lambda=0.5,
        tau=0.75,
        device="cpu",
        folds=2,
        batch_size=8,
        augment="crop-flip",
        unknown_weight=0.25,
    )
    cmd = build_fit_command(collection, tmp_path / "t.jsonl", tmp_path / "out", options)
    assert cmd[:4] == [sys.executable, "-m", "training", "fit"]
    flags = dict(zip(cmd[4::2], cmd[5::2], strict=True))
    assert flags == {
        "--data": str(tmp_path / "t.jsonl"),
        "--out": str(tmp_path / "out"),
        "--arch": "resnet18",
        "--image-size": "64",
        "--epochs": "3",
        "--batch-size": "8",
        "--loss": "hill",
        "--clml-lambda": "0.5",
        "--tau": "0.75",
        "--folds": "2",
        "--augment": "crop-flip",
        "--unknown-weight": "0.25",
        "--device": "cpu",
    }


def test_the_apps_augment_choices_are_the_trainers():
    from training.cli import AUGMENTATIONS as TRAINER_AUGMENTATIONS

    assert AUGMENTATIONS == TRAINER_AUGMENTATIONS


def test_a_zero_unknown_weight_is_passed_not_dropped(collection, tmp_path):
    cmd = build_fit_command(
        collection, tmp_path / "t.jsonl", tmp_path / "out", TrainOptions(unknown_weight=0.0)
    )
    assert cmd[cmd.index("--unknown-weight") + 1] == "0.0"


def test_unset_options_are_left_to_the_trainer(collection, tmp_path):
    cmd = build_fit_command(collection, tmp_path / "t.jsonl", tmp_path / "out", TrainOptions())
    assert cmd[4:] == [
        "--data",
        str(tmp_path / "t.jsonl"),
        "--out",
        str(tmp_path / "out"),
        "--device",
        "auto",
    ]


def test_fine_tunes_the_active_model_of_the_same_architecture(collection, model_kit, tmp_path):
    collection.add_model("tiny-1", str(model_kit.dir), tags=model_kit.manifest.tags, activate=True)
    cmd = build_fit_command(collection, tmp_path / "t.jsonl", tmp_path / "out", TrainOptions())
    assert cmd[cmd.index("--init") + 1] == str(model_kit.dir)
    other_arch = build_fit_command(
        collection, tmp_path / "t.jsonl", tmp_path / "o", TrainOptions(arch="resnet101")
    )
    assert "--init" not in other_arch
    explicit = build_fit_command(
        collection, tmp_path / "t.jsonl", tmp_path / "o", TrainOptions(init="imagenet")
    )
    assert explicit[explicit.index("--init") + 1] == "imagenet"


def test_training_set_lists_labelled_images(collection):
    job = prepare_training(collection)
    rows = [json.loads(line) for line in job.training_set.read_text().splitlines()]
    listed = {Path(r["path"]).name for r in rows if "path" in r}
    assert listed == {"plain.jpg", "large.jpg", "grey.png", "alpha.png"} and job.images == 4
    assert job.out_dir.parent == Path(collection.data_dir) / "models" and not job.out_dir.exists()


def test_a_run_registers_activates_and_imports_oof(collection, model_kit, monkeypatch):
    run = fake_run(collection, TrainOptions(device="cpu"), monkeypatch, model_kit.dir)
    events = list(run.events())
    assert isinstance(events[0], StartEvent) and isinstance(events[-1], DoneEvent)
    assert sum(isinstance(e, ProgressEvent) for e in events) == 2
    assert run.model is not None and run.model.active and run.model.id == run.job.model_id
    assert collection.active_model().id == run.model.id and run.model.metrics == {"val_map": 0.5}
    pred = collection.predictions(run.model.id)
    assert len(pred.image_ids) == 4 and set(pred.kinds) == {"oof"}
    assert np.all((pred.probs > 0) & (pred.probs < 1))


def test_stray_stdout_lines_are_ignored(collection, model_kit, monkeypatch):
    run = fake_run(collection, TrainOptions(), monkeypatch, model_kit.dir, mode="noisy")
    list(run.events())
    assert run.model is not None


@pytest.mark.parametrize(
    "mode, words", [("error", "CUDA out of memory"), ("crash", "exited with code 3")]
)
def test_failures_leave_the_collection_unchanged(collection, model_kit, monkeypatch, mode, words):
    run = fake_run(collection, TrainOptions(), monkeypatch, model_kit.dir, mode=mode)
    with pytest.raises(TrainingError, match=words) as info:
        list(run.events())
    assert str(run.job.log_path) in str(info.value)
    if mode == "crash":
        assert "Traceback: boom" in str(info.value)
    assert collection.models() == [] and run.model is None


def test_cancel_stops_the_trainer_cleanly(collection, model_kit, monkeypatch):
    run = fake_run(collection, TrainOptions(), monkeypatch, model_kit.dir, mode="hang")
    seen = []
    with pytest.raises(TrainingError, match="cancelled"):
        for event in run.events():
            seen.append(event)
            if isinstance(event, ProgressEvent):
                threading.Timer(0.05, run.cancel).run()
    assert isinstance(seen[-1], CancelledEvent)
    assert collection.models() == []


def test_closing_the_event_stream_never_leaves_a_trainer_behind(collection, model_kit, monkeypatch):
    run = fake_run(collection, TrainOptions(), monkeypatch, model_kit.dir, mode="hang")
    events = run.events()
    next(events)
    events.close()
    assert run._process.poll() is not None


def test_register_refuses_an_unusable_folder(collection, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelLoadError, match="manifest.json: missing"):
        register_trained_model(collection, tmp_path / "empty")
    assert collection.models() == []


def test_register_refuses_a_malformed_oof(collection, model_kit, tmp_path):
    import shutil

    target = tmp_path / "m"
    shutil.copytree(model_kit.dir, target)
    manifest = json.loads((target / "manifest.json").read_text())
    manifest["files"]["oof"] = "oof.npz"
    (target / "manifest.json").write_text(json.dumps(manifest))
    np.savez(target / "oof.npz", paths=np.array(["a.jpg"]), probs=np.zeros((1, 3), np.float32))
    with pytest.raises(ModelLoadError, match=r"oof\.npz: expected probs of shape \(1, 5\)"):
        register_trained_model(collection, target)
    assert collection.models() == [], "nothing is registered when the oof file is bad"

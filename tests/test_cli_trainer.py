"""`clml-desktop trainer` and `train` when the trainer's Python cannot train (ADR 0024):
the choice is checked before it is saved, and `train` stops before writing anything,
saying what is wrong and what to install."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "workflow"))
from test_trainer_env import CAN_TRAIN, NO_TORCH, stand_in_python  # noqa: E402

from clml_desktop import trainer_places
from clml_desktop.app import main  # noqa: E402
from clml_desktop.workflow import trainer_env  # noqa: E402

pytestmark = pytest.mark.skipif(os.name == "nt", reason="the stand-in Pythons are shell scripts")


@pytest.fixture(autouse=True)
def private_dirs(tmp_path, monkeypatch):
    for name in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    monkeypatch.delenv(trainer_places.PYTHON_ENV, raising=False)
    monkeypatch.delenv("CLML_TRAINER_PROGRAM", raising=False)
    trainer_env.forget_checks()


def test_trainer_reports_the_chosen_python_as_json(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(trainer_places.PYTHON_ENV, stand_in_python(tmp_path / "env", CAN_TRAIN))
    assert main(["trainer", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] and report["cuda_devices"] == ["NVIDIA RTX 4090"]
    assert report["source"] == trainer_env.SOURCE_ENV


def test_a_python_that_cannot_train_is_not_saved(tmp_path, capsys):
    bare = stand_in_python(tmp_path / "bare", NO_TORCH)
    assert main(["trainer", "--python", bare]) == 1
    err = capsys.readouterr().err
    assert "not saved" in err and "it has no torch" in err and "pip install 'torch>=2.4'" in err
    assert not trainer_places.settings_file().exists()


def test_a_python_that_can_train_is_saved_and_default_forgets_it(tmp_path, capsys):
    good = stand_in_python(tmp_path / "good", CAN_TRAIN)
    assert main(["trainer", "--python", good]) == 0
    assert f"Saved: training runs with {good}" in capsys.readouterr().out
    assert trainer_places.saved_python() == good
    assert main(["trainer", "--python", "default"]) == 0
    assert trainer_places.saved_python() is None


def test_train_stops_before_writing_anything_when_the_trainer_cannot_train(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "demo"
    assert main(["demo", str(folder), "--no-gui", "--images", "12"]) == 0
    capsys.readouterr()
    monkeypatch.setenv(trainer_places.PYTHON_ENV, stand_in_python(tmp_path / "bare", NO_TORCH))
    assert main(["train", str(folder), "--epochs", "1"]) == 1
    err = capsys.readouterr().err
    assert "cannot train: it has no torch, torchvision, onnx" in err
    assert "clml-desktop trainer --python PATH" in err
    assert (folder / ".clml").is_dir() and not list(folder.glob(".clml/training/*"))

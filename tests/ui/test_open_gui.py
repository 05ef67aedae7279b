"""`clml-desktop [FOLDER]`: display detection and the headless main job."""

from __future__ import annotations

import pytest

from clml_desktop.cli import open_gui


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, False),
        ({"DISPLAY": ":0"}, True),
        ({"WAYLAND_DISPLAY": "wayland-0"}, True),
        ({"QT_QPA_PLATFORM": "offscreen"}, True),
        ({"QT_QPA_PLATFORM": "xcb"}, False),
    ],
)
def test_display_detection(monkeypatch, env, expected):
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(open_gui.sys, "platform", "linux")
    assert open_gui.display_available() is expected


def test_no_display_runs_demo_train_suggest_export(monkeypatch, tmp_path, capsys):
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(open_gui.sys, "platform", "linux")
    calls: list[list[str]] = []
    import clml_desktop.app
    import clml_desktop.cli.demo

    monkeypatch.setattr(clml_desktop.app, "main", lambda argv: calls.append(list(argv)) or 0)
    monkeypatch.setattr(clml_desktop.cli.demo, "default_demo_dir", lambda: tmp_path / "demo")
    assert open_gui.run_from_argv([]) == 0
    assert [c[0] for c in calls] == ["demo", "train", "suggest", "export"]
    assert calls[0][1:] == [str(tmp_path / "demo"), "--no-gui"]
    assert all(c[1] == str(tmp_path / "demo") for c in calls)
    assert "no display" in capsys.readouterr().err


def test_headless_stops_at_the_first_failing_step(monkeypatch, tmp_path):
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(open_gui.sys, "platform", "linux")
    calls: list[str] = []
    import clml_desktop.app

    monkeypatch.setattr(clml_desktop.app, "main", lambda argv: calls.append(argv[0]) or (3 if argv[0] == "train" else 0))
    folder = tmp_path / "photos"
    folder.mkdir()
    assert open_gui.run_from_argv([str(folder)]) == 3
    assert calls == ["train"]
    assert open_gui.run_from_argv([str(tmp_path / "missing")]) == 2


def test_headless_steps_number_their_progress_bars(monkeypatch, tmp_path):
    import io

    import clml_desktop.app
    import clml_desktop.cli.demo
    from clml_desktop.cli.progress_text import ProgressBar

    lines: dict[str, str] = {}

    def fake_cli(argv):
        stream = io.StringIO()
        ProgressBar(stream, min_interval_s=0).update(0.5, "working")
        lines[argv[0]] = stream.getvalue()
        return 0

    monkeypatch.setattr(clml_desktop.app, "main", fake_cli)
    monkeypatch.setattr(clml_desktop.cli.demo, "default_demo_dir", lambda: tmp_path / "demo")
    assert open_gui.run_headless(None) == 0
    assert {name: line[:5] for name, line in lines.items()} == {
        "demo": "[1/4]", "train": "[2/4]", "suggest": "[3/4]", "export": "[4/4]"}
    stream = io.StringIO()
    ProgressBar(stream, min_interval_s=0).update(0.5, "outside the job")
    assert stream.getvalue().startswith("[#"), "no step prefix outside the main job"


def test_training_bar_covers_all_phases_without_restarting(capsys):
    import io

    from clml_contract.events import DoneEvent, EpochEvent, ProgressEvent, StartEvent
    from clml_desktop.cli.progress_text import ProgressBar
    from clml_desktop.cli.train import TrainProgress

    stream = io.StringIO()
    shown = TrainProgress(ProgressBar(stream, min_interval_s=0))
    shown.handle(StartEvent(device="cpu", epochs=2, folds=2, images=10, tags=3))
    for phase in ("final", "fold 1/2", "fold 2/2"):
        for epoch in (1, 2):
            for step in (1, 2):
                shown.handle(ProgressEvent(phase=phase, epoch=epoch, epochs=2, step=step, steps=2, loss=0.5))
            shown.handle(EpochEvent(phase=phase, epoch=epoch, train_loss=0.4))
    shown.handle(DoneEvent(model_dir="m"))
    lines = stream.getvalue().splitlines()
    percents = [float(line.split("]")[1].split("%")[0]) for line in lines]
    assert percents == sorted(percents), "the bar never runs backwards"
    full = [line for line, pct in zip(lines, percents, strict=True) if pct == 100.0]
    assert full and all("fold 2/2" in line or "Trainer finished" in line for line in full), \
        "100% only at the end of the last phase, never per phase"
    assert "Training final model (phase 1 of 3) — epoch 1 of 2" in lines[0]
    assert any("Training fold 2/2 (phase 3 of 3) — epoch 2 of 2 done" in line for line in lines)
    assert abs(percents[lines.index(next(x for x in lines if "fold 1/2" in x and "epoch 1 of 2 done" in x))]
               - 100 * 1.5 / 3) < 0.1
    assert "3 models to train" in capsys.readouterr().err


def test_version_is_the_installed_packages(capsys):
    """`clml-desktop --version` says which release a bug report is about (pyproject's version)."""
    import tomllib
    from pathlib import Path

    from clml_desktop.app import main

    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    pyproject = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    assert capsys.readouterr().out.strip() == f"clml-desktop {pyproject['project']['version']}"

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

"""Typed, persisted settings and the theme/thumbnail actions that use them."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings

from clml_desktop.ui.settings import MAX_RECENT, Settings


def test_settings_round_trip_and_defaults(tmp_path):
    path = str(tmp_path / "s.ini")
    settings = Settings(QSettings(path, QSettings.Format.IniFormat))
    assert settings.device == "auto" and settings.theme == "system"
    assert settings.thumbnail_size == 160
    assert settings.sidecar_extension == ".txt" and settings.sidecar_separator == ", "
    assert settings.xmp_naming == "name.ext.xmp"
    settings.device = "cpu"
    settings.sidecar_extension = ".caption"
    settings.sidecar_separator = ","
    settings.xmp_naming = "name.xmp"
    settings.thumbnail_size = 9999
    settings.theme = "dark"
    for i in range(MAX_RECENT + 3):
        folder = tmp_path / f"f{i}"
        folder.mkdir()
        settings.add_recent_folder(folder)
    settings.add_recent_folder(tmp_path / "f0")
    again = Settings(QSettings(path, QSettings.Format.IniFormat))
    assert again.device == "cpu"
    assert again.sidecar_extension == ".caption" and again.sidecar_separator == ","
    assert again.xmp_naming == "name.xmp" and again.thumbnail_size == 256 and again.theme == "dark"
    recent = again.recent_folders
    assert len(recent) == MAX_RECENT and recent[0].endswith("f0") and len(set(recent)) == len(recent)
    with pytest.raises(ValueError):
        settings.device = "tpu"
    with pytest.raises(ValueError):
        settings.sidecar_separator = "   "


def test_corrupt_values_fall_back_to_defaults(tmp_path):
    q = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    q.setValue("device", "quantum")
    q.setValue("grid/thumbnail_size", "huge")
    settings = Settings(q)
    assert settings.device == "auto" and settings.thumbnail_size == 160


def test_the_retired_global_threshold_is_dropped(tmp_path):
    """The per-user cut became each collection's minimum likelihood (ADR 0017); the old
    key is forgotten, so it can never silently disagree with the collection's."""
    path = str(tmp_path / "s.ini")
    old = QSettings(path, QSettings.Format.IniFormat)
    old.setValue("global_threshold", 0.7)
    old.setValue("device", "cpu")
    old.sync()
    settings = Settings(QSettings(path, QSettings.Format.IniFormat))
    assert not settings.qsettings.contains("global_threshold") and settings.device == "cpu"
    assert not QSettings(path, QSettings.Format.IniFormat).contains("global_threshold")
    assert not hasattr(settings, "global_threshold")


def test_thumbnail_size_and_theme_actions(qtbot, opened):
    window, _folder, _expected = opened
    size = window.grid.thumb_size
    window.actions_.action("view.zoom_in").trigger()
    assert window.grid.thumb_size > size
    assert window.context.settings.thumbnail_size == window.grid.thumb_size
    assert window.thumbnails.size == window.grid.thumb_size
    window.actions_.action("view.zoom_out").trigger()
    assert window.grid.thumb_size == size
    window.actions_.action("view.theme.dark").trigger()
    assert window.context.settings.theme == "dark"
    assert window.actions_.action("view.theme.dark").isChecked()
    assert not window.actions_.action("view.theme.light").isChecked()
    window.actions_.action("view.theme.light").trigger()
    qtbot.waitUntil(lambda: not window.is_busy(), timeout=20000)

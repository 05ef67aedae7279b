"""The main window: opening folders in the background, bad input, recent
folders and drag and drop, actions and shortcuts, the screenshot command."""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDropEvent

from clml_desktop.cli import screenshot
from clml_desktop.collection.query import ImageFilter

from .conftest import open_and_wait


def test_open_folder_runs_in_background_and_window_stays_responsive(qtbot, window, collection):
    folder, expected = collection
    beats: list[int] = []
    heartbeat = QTimer()
    heartbeat.setInterval(5)
    heartbeat.timeout.connect(lambda: beats.append(1))
    heartbeat.start()
    finished: list[object] = []
    window.scanFinished.connect(finished.append)
    assert window.open_folder(folder)
    assert not finished  # open_folder returned before the scan ran
    qtbot.waitUntil(lambda: bool(finished), timeout=30000)
    heartbeat.stop()
    assert beats  # the event loop kept running while the folder opened
    qtbot.waitUntil(lambda: len(window.context.index) == len(expected), timeout=10000)
    assert window.current_view() == "grid"
    assert window.grid_model.rowCount() == len(expected)
    # An index read while the scan was importing can hold the images before their
    # tags; the one requested when the scan finished follows.
    tags = {"dog", "cat", "long hair", "grass"}
    qtbot.waitUntil(lambda: set(window.tag_panel.model.tag_names()) == tags, timeout=10000)
    assert window.context.settings.recent_folders[0] == str(folder.resolve())
    assert "12 images" in window.count_label.text()


def test_bad_images_and_tag_files_are_marked_and_the_rest_usable(qtbot, window, broken_collection):
    folder, expected = broken_collection
    open_and_wait(qtbot, window, folder)
    context = window.context
    report = window.last_report
    named = " ".join(f"{p.path} {p.message}" for p in report.problems)
    assert "corrupt.jpg" in named and "empty.png" in named
    assert "latin1" in named  # the undecodable tag file is reported
    assert len(context.index) == len(expected) + 3
    context.set_filter(ImageFilter(problems_only=True))
    shown = {context.index.paths[context.index.row_of(i)] for i in window.grid_model.image_ids()}
    assert {"corrupt.jpg", "empty.png"} <= shown
    assert "img_000.jpg" not in shown
    # the readable images work as usual, including the one with the broken sidecar
    latin = context.store.image_by_path("latin1.png")
    assert context.add_tag([latin.id], "dark")
    assert [lab.tag for lab in context.store.labels_of(latin.id)] == ["dark"]
    assert (folder / "latin1.txt").read_bytes() == "café, crème".encode("latin-1")


def test_recent_folders_and_drag_and_drop(qtbot, window, collection, tmp_path):
    folder, expected = collection
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(folder / "img_000.jpg"))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(window.scanFinished, timeout=30000):
        window.dropEvent(event)
    qtbot.waitUntil(lambda: not window.is_busy(), timeout=30000)
    assert window.context.root == folder.resolve()
    window._fill_recent_menu()
    texts = [a.text() for a in window.recent_menu.actions()]
    assert any(str(folder.resolve()) in t for t in texts)
    missing = tmp_path / "does-not-exist"
    window.context.settings.add_recent_folder(missing)
    with qtbot.waitSignal(window.openFailed, timeout=10000) as failed:
        window.open_folder(missing)
    assert "not a folder" in failed.args[0]
    assert str(missing.resolve()) not in window.context.settings.recent_folders
    assert window.context.root == folder.resolve()  # the open collection stays open


def test_every_action_has_a_tooltip_and_main_ones_a_shortcut(window):
    table = window.actions_.shortcut_table()
    assert all(row.tooltip for row in table)
    keys = {row.text: row.shortcuts for row in table}
    for name in ("Open Folder", "Undo", "Redo", "Select All", "Filter by Tag", "Clear Filter", "Tag Selected Images", "Rename tag"):
        assert keys[name], f"{name} has no shortcut"
    shortcuts = [s for row in table for s in row.shortcuts]
    assert len(shortcuts) == len(set(shortcuts)), "two actions share a shortcut"


def _thumb(cache, index, image_id):
    row = index.row_of(image_id)
    return cache.get(image_id, index.paths[row], int(index.versions[row]))


def test_thumbnails_are_cached_on_disk(qtbot, opened):
    window, folder, expected = opened
    cache = window.thumbnails
    index = window.context.index
    qtbot.waitUntil(lambda: all(_thumb(cache, index, i) is not None for i in window.grid_model.image_ids()), timeout=20000)
    files = list(cache.cache_dir.rglob("*.jpg"))
    assert len(files) == len(expected)
    # a fresh cache (next session) reads them from disk, even with the originals gone
    first = window.grid_model.image_id(0)
    path = window.context.index.paths[window.context.index.row_of(first)]
    (folder / path).rename(folder / (path + ".moved"))
    window._make_thumbnails()
    fresh = window.thumbnails
    qtbot.waitUntil(lambda: _thumb(fresh, index, first) is not None, timeout=10000)
    assert fresh.failure(first) is None


def test_screenshot_command_writes_a_png(qtbot, collection, tmp_path):
    folder, _expected = collection
    out = tmp_path / "shots" / "grid.png"
    args = argparse.Namespace(folder=folder, out=out, view="grid", size="1200x700", theme="dark", timeout=60.0)
    assert screenshot.run(args) == 0
    with Image.open(out) as img:
        assert img.size == (1200, 700)
    bad = argparse.Namespace(folder=Path(tmp_path / "nope"), out=out, view="grid", size="800x500", theme="light", timeout=5.0)
    assert screenshot.run(bad) == 2


def test_an_ampersand_in_a_recent_folder_stays_an_ampersand(window, tmp_path):
    """Qt reads '&' in an action's text as a mnemonic marker; a folder name must show as it is."""
    folder = tmp_path / "Tom & Jerry"
    folder.mkdir()
    window.context.settings.add_recent_folder(folder)
    window._update_recent_actions()
    action = window.actions_.action("file.recent.1")
    assert action.text() == f"&1  {str(folder.resolve()).replace('&', '&&')}"
    shown = [row.text for row in window.actions_.shortcut_table()]
    assert f"1  {folder.resolve()}" in shown

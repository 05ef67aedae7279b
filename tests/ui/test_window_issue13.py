"""Issue 13, found with real clicks: what opening another folder resets, the
inspector following the filter, empty and read-only folders said plainly, and a
window that fits a 1024×640 screen."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QByteArray, QRect, QSettings, Qt
from PySide6.QtGui import QFontMetrics, QGuiApplication

from clml_desktop.app import main
from clml_desktop.collection import location
from clml_desktop.collection.exporting import ExportSummary
from clml_desktop.collection.labels import Problem
from clml_desktop.ui.context import AppContext
from clml_desktop.ui.export_dialog import ExportDialog
from clml_desktop.ui.main_window import MainWindow
from clml_desktop.ui.settings import Settings

from .conftest import open_and_wait, write_collection


@pytest.fixture(autouse=True)
def private_user_data(tmp_path_factory, monkeypatch):
    """A read-only folder's fallback store goes to a temp per-user folder."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg-data")))


def select_rows(win: MainWindow, rows: int) -> None:
    grid = win.grid
    model = win.grid_model
    grid.setCurrentIndex(model.index(0))
    for row in range(1, rows):
        grid.selectionModel().select(model.index(row), grid.selectionModel().SelectionFlag.Select)


# ---- 1. opening another folder starts afresh ------------------------------------


def test_opening_another_folder_resets_selection_text_and_buttons(qtbot, opened, tmp_path):
    win, _folder, _expected = opened
    select_rows(win, 3)
    assert len(win.context.selected_ids) == 3
    assert win.context.current_image_id >= 0
    win.batch_bar.tag_edit.setText("half typed")
    win.inspector.add_edit.setText("also typed")
    win.filter_bar.name_edit.setText("img")
    assert win.batch_bar.add_button.isEnabled()

    other = tmp_path / "other"
    write_collection(other, 4)
    open_and_wait(qtbot, win, other, 4)

    assert win.context.selected_ids == []
    assert win.context.current_image_id == -1
    assert win.selection_label.text() == ""
    assert win.batch_bar.count_label.text() == "Nothing selected"
    assert win.batch_bar.tag_edit.text() == ""
    assert not win.batch_bar.add_button.isEnabled()
    assert not win.batch_bar.remove_button.isEnabled()
    assert not win.batch_bar.reject_button.isEnabled()
    assert win.inspector.add_edit.text() == ""
    assert win.inspector.image_id == -1
    assert win.filter_bar.name_edit.text() == ""


def test_add_without_a_tag_says_why(qtbot, opened):
    win, _folder, _expected = opened
    select_rows(win, 2)
    messages: list[str] = []
    win.context.statusMessage.connect(messages.append)
    assert not win.batch_bar.add()
    assert messages and "tag" in messages[-1].lower()


# ---- 2. the inspector follows the filter -----------------------------------------


def test_inspector_shows_nothing_when_the_filter_hides_the_current_image(qtbot, opened):
    win, _folder, _expected = opened
    win.grid.setCurrentIndex(win.grid_model.index(0))
    qtbot.waitUntil(lambda: win.inspector.image_id >= 0)
    win.filter_bar.name_edit.setText("no such file anywhere")
    qtbot.waitUntil(lambda: win.grid_model.rowCount() == 0, timeout=5000)
    qtbot.waitUntil(lambda: win.inspector.image_id == -1, timeout=5000)
    assert win.context.current_image_id == -1
    assert win.context.selected_ids == []
    assert not win.inspector.add_edit.isEnabled()


# ---- 3. an empty folder ----------------------------------------------------------


def test_empty_folder_says_so_and_creates_nothing(qtbot, window, tmp_path):
    empty = tmp_path / "nothing here"
    empty.mkdir()
    with qtbot.waitSignal(window.folderOpened, timeout=20000):
        window.open_folder(empty)
    qtbot.waitUntil(lambda: not window.is_busy(), timeout=20000)
    assert not (empty / ".clml").exists()
    label = window.empty_label
    assert label.isVisible()
    text = label.text()
    assert str(empty) in text or empty.name in text
    assert ".jpg" in text and ".png" in text
    assert not window.grid.isVisible()
    assert "nothing here" in window.windowTitle()


def test_empty_folder_then_an_image_appears_and_rescan_opens_it(qtbot, window, tmp_path):
    empty = tmp_path / "later"
    empty.mkdir()
    with qtbot.waitSignal(window.folderOpened, timeout=20000):
        window.open_folder(empty)
    qtbot.waitUntil(lambda: not window.is_busy(), timeout=20000)
    write_collection(empty, 2)
    assert window.actions_.action("file.rescan").isEnabled()
    with qtbot.waitSignal(window.scanFinished, timeout=20000):
        window.rescan()
    qtbot.waitUntil(lambda: len(window.context.index) == 2, timeout=20000)
    assert (empty / ".clml").is_dir()
    assert not window.empty_label.isVisible()
    assert window.grid.isVisible()


def test_cli_scan_of_an_empty_folder_creates_nothing(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["scan", str(empty)]) == 0
    out = capsys.readouterr().out
    assert "no images" in out
    assert ".jpg" in out
    assert not (empty / ".clml").exists()


def test_a_folder_holding_only_links_out_and_hidden_files_counts_as_empty(tmp_path, capsys):
    """What the scan would skip (hidden files, symlinks leading out of the folder, ADR 0011)
    does not make a folder a collection: the same message, and no `.clml/` in it."""
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    Image.new("RGB", (8, 6), "red").save(outside / "x.jpg")
    folder = tmp_path / "links"
    folder.mkdir()
    Image.new("RGB", (8, 6), "red").save(folder / ".hidden.jpg")
    (folder / "photos").symlink_to(outside)
    (folder / "x.jpg").symlink_to(outside / "x.jpg")
    assert main(["scan", str(folder)]) == 0
    assert "no images" in capsys.readouterr().out
    assert not (folder / ".clml").exists()


# ---- 4. a read-only folder -------------------------------------------------------


@pytest.fixture
def read_only(monkeypatch, collection):
    """The collection's folder cannot be written (as root chmod would not stop us)."""
    folder, expected = collection
    real = location._writable_dir

    def refuse(path: Path) -> None:
        if path == folder.resolve() / ".clml":
            raise PermissionError(13, "Permission denied", str(path))
        real(path)

    monkeypatch.setattr(location, "_writable_dir", refuse)
    return folder, expected


def test_read_only_folder_shows_where_the_labels_are_kept(qtbot, window, read_only):
    folder, expected = read_only
    open_and_wait(qtbot, window, folder, len(expected))
    banner = window.store_banner
    assert banner.isVisible()
    text = banner.text()
    assert str(location.fallback_dir(folder)) in text
    assert "Permission denied" in text
    assert not (folder / ".clml").exists()


def test_export_of_a_read_only_folder_defaults_to_a_folder(qtbot, window, read_only):
    folder, expected = read_only
    open_and_wait(qtbot, window, folder, len(expected))
    dialog = ExportDialog(window.context, window)
    qtbot.addWidget(dialog)
    try:
        assert not dialog.in_place.isEnabled()
        assert "not writable" in dialog.in_place.toolTip()
        assert dialog.to_path.isChecked()
        request = dialog.request()
        assert not request.in_place and request.out is not None
        assert not str(request.out).startswith(str(folder))
    finally:
        dialog.shutdown()


def test_export_result_does_not_claim_backups_when_nothing_was_written(qtbot, window, collection):
    folder, expected = collection
    open_and_wait(qtbot, window, folder, len(expected))
    dialog = ExportDialog(window.context, window)
    qtbot.addWidget(dialog)
    try:
        summary = ExportSummary(format="txt", images=6,
                                backups=[folder / f"b{i}" for i in range(6)],
                                problems=[Problem(str(folder / f"f{i}.txt"), "cannot write: Permission denied")
                                          for i in range(6)])
        dialog._on_written(summary)
        text = dialog.summary.text()
        assert "backed up" not in text
        assert "Nothing was written" in text or "6 could not be written" in text
    finally:
        dialog.shutdown()


# ---- 5. layout -------------------------------------------------------------------


def test_window_fits_1024_by_640(qtbot, window, tmp_path):
    folder = tmp_path / "demo"
    write_collection(folder, 12)
    open_and_wait(qtbot, window, folder, 12)
    hint = window.minimumSizeHint()
    assert hint.width() <= 1024 and hint.height() <= 640, hint
    window.resize(1024, 640)
    qtbot.waitUntil(lambda: window.width() == 1024 and window.height() == 640, timeout=3000)
    assert window.statusBar().isVisible()
    # Counts in the tag list are readable: each count column holds the widest count
    # there can be, and all of them are inside the list, not scrolled off its edge.
    view = window.tag_panel.view
    qtbot.wait(50)
    metrics = QFontMetrics(view.font())
    for col in range(1, 4):
        assert view.columnWidth(col) >= metrics.horizontalAdvance(f"{len(window.context.index):,}") + 8, col
    assert sum(view.columnWidth(col) for col in range(4)) <= view.viewport().width()
    assert view.columnWidth(0) >= 50
    # Selecting an image does not grow the window.
    before = window.size()
    window.grid.setCurrentIndex(window.grid_model.index(0))
    qtbot.waitUntil(lambda: window.inspector.image_id >= 0)
    qtbot.wait(100)
    assert window.size() == before


def test_first_size_fits_the_screen_and_a_too_large_saved_geometry_is_not_used(qtbot, tmp_path):
    available = QGuiApplication.primaryScreen().availableGeometry()
    settings = Settings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    context = AppContext(settings)
    win = MainWindow(context)
    qtbot.addWidget(win)
    try:
        assert win.width() <= available.width() and win.height() <= available.height()
        # A geometry saved on a bigger screen is not restored onto this one.
        big = MainWindow(AppContext(settings))
        qtbot.addWidget(big)
        big.setGeometry(QRect(0, 0, available.width() + 800, available.height() + 600))
        settings.qsettings.setValue("window/geometry", big.saveGeometry())
        big.context.shutdown()
        again = MainWindow(AppContext(settings))
        qtbot.addWidget(again)
        assert again.width() <= available.width() and again.height() <= available.height()
        again.context.shutdown()
        assert isinstance(settings.qsettings.value("window/geometry"), QByteArray)
    finally:
        context.shutdown()
        context.pool.waitForDone(5000)
    assert Qt  # (imported for flags above)

"""Every image of a large folder is reachable by scrolling (the whole grid is laid out)."""

from __future__ import annotations

from PySide6.QtCore import QTimer

from .conftest import open_and_wait, write_collection


def test_last_image_is_laid_out_and_reachable(qtbot, window, tmp_path):
    folder = tmp_path / "big"
    n = 1500
    write_collection(folder, n)
    open_and_wait(qtbot, window, folder, n)
    grid, model = window.grid, window.grid_model
    qtbot.waitUntil(lambda: model.rowCount() == n, timeout=10000)
    bar = grid.verticalScrollBar()
    bar.setValue(bar.maximum())
    qtbot.wait(50)
    last = grid.visualRect(model.index(n - 1))
    assert last.isValid()
    assert 0 <= last.top() < grid.viewport().height()
    assert grid.visible_rows().stop == n
    qtbot.waitUntil(lambda: not window.is_busy(), timeout=30000)


def test_batched_layout_finishes_while_cells_keep_changing(qtbot, window, tmp_path):
    """Data changes (thumbnails, label edits) arrive all the time; they must not
    restart the layout, or rows past the first batch are never laid out."""
    folder = tmp_path / "batches"
    n = 900
    write_collection(folder, n)
    grid, model = window.grid, window.grid_model
    grid.setBatchSize(100)
    open_and_wait(qtbot, window, folder, n)
    qtbot.waitUntil(lambda: model.rowCount() == n, timeout=10000)
    changes = QTimer()
    changes.setInterval(3)
    changes.timeout.connect(lambda: model.dataChanged.emit(model.index(0), model.index(0)))
    changes.start()  # like thumbnails arriving for the first cells, throughout
    try:
        model.beginResetModel()
        model.endResetModel()
        qtbot.waitUntil(lambda: grid.visualRect(model.index(n - 1)).isValid(), timeout=10000)
    finally:
        changes.stop()
    grid.scrollToBottom()
    qtbot.wait(20)
    assert grid.visible_rows().stop == n
    qtbot.waitUntil(lambda: not window.is_busy(), timeout=30000)


def test_following_an_image_not_yet_laid_out_scrolls_to_it(qtbot, window, tmp_path):
    """Right after the rows change the layout is still running in batches; an
    image chosen elsewhere (inspector, review) must still be scrolled into view."""
    folder = tmp_path / "follow"
    n = 900
    write_collection(folder, n)
    grid, model, context = window.grid, window.grid_model, window.context
    grid.setBatchSize(100)
    open_and_wait(qtbot, window, folder, n)
    model.beginResetModel()
    model.endResetModel()
    last = model.image_id(n - 1)
    context.set_current_image(last)
    qtbot.waitUntil(lambda: (n - 1) in grid.visible_rows(), timeout=10000)
    assert grid.currentIndex().row() == n - 1
    qtbot.waitUntil(lambda: not window.is_busy(), timeout=30000)

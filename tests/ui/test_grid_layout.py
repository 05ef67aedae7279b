"""Every image of a large folder is reachable by scrolling (the whole grid is laid out)."""

from __future__ import annotations

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

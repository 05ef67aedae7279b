"""The thumbnail grid: selection and current image mirrored into the context,
suggestion badges, the filter bar driving the rows."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, Qt

from clml_desktop.collection.query import ImageFilter
from clml_desktop.ui.grid_model import PendingRole, ProblemRole, ThumbnailRole

from .conftest import open_and_wait

sys.path.insert(0, str(Path(__file__).resolve().parent))
from collection_factory import build_collection  # noqa: E402


def test_selection_and_current_follow_the_view(opened):
    window, _folder, _expected = opened
    grid, model, context = window.grid, window.grid_model, window.context
    sel = grid.selectionModel()
    sel.setCurrentIndex(model.index(3), QItemSelectionModel.SelectionFlag.ClearAndSelect)
    assert context.current_image_id == model.image_id(3)
    assert context.selected_ids == [model.image_id(3)]
    grid.selectAll()
    assert sorted(context.selected_ids) == sorted(model.image_ids().tolist())
    context.set_current_image(model.image_id(7))
    assert grid.currentIndex().row() == 7


def test_filter_bar_drives_rows_and_keeps_selection_in_view(qtbot, opened):
    window, _folder, expected = opened
    bar, model, context = window.filter_bar, window.grid_model, window.context
    window.grid.selectAll()
    bar.tags_edit.setText("cat | grass, -dog")
    bar.apply()
    want = sum(("cat" in t or "grass" in t) and "dog" not in t for t in expected.values())
    assert model.rowCount() == want
    assert len(context.selected_ids) == want  # hidden images leave the selection
    bar.tags_edit.clear()
    bar.untagged_box.setChecked(True)
    assert model.rowCount() == sum(not t for t in expected.values())
    bar.untagged_box.setChecked(False)
    bar.name_edit.setText("IMG_00")
    bar.apply()
    assert model.rowCount() == 10
    context.set_filter(ImageFilter(require=(("dog",),)))
    assert bar.tags_edit.text() == "dog"
    bar.clear()
    assert model.rowCount() == len(expected)


def test_badges_show_pending_suggestions(qtbot, window, tmp_path):
    folder = tmp_path / "scored"
    build_collection(folder, n_images=6, with_model=True)
    open_and_wait(qtbot, window, folder, 6)
    model, index = window.grid_model, window.context.index
    pending = [model.index(r).data(PendingRole) for r in range(model.rowCount())]
    assert all(p >= 1 for p in pending)  # every image has 'tree' suggested
    assert sum(pending) == int(index.pending.sum())
    tip = model.index(0).data(Qt.ItemDataRole.ToolTipRole).splitlines()[-1]
    n = "1 suggestion," if pending[0] == 1 else f"{pending[0]} suggestions,"
    assert tip.startswith(f"{n} shown from 50%: tree ") and " likely" in tip
    window.filter_bar.suggested_box.setChecked(True)
    assert model.rowCount() == 6
    tree_col = index.column_of("tree")
    first = model.image_id(0)
    window.context.accept_suggestion([first], "tree")
    assert index.states[index.row_of(first), tree_col] == 1
    if pending[0] == 1:
        assert model.row_of(first) is None  # no suggestion left: the filter hides it
    window.filter_bar.suggested_box.setChecked(False)
    assert model.index(model.row_of(first)).data(PendingRole) == pending[0] - 1


def test_problem_images_are_marked_without_thumbnails(qtbot, window, broken_collection):
    folder, _expected = broken_collection
    open_and_wait(qtbot, window, folder)
    model = window.grid_model
    window.context.set_filter(ImageFilter(problems_only=True))
    index = window.context.index
    assert model.rowCount() >= 2, (len(index), index.problems, window.last_report)
    for r in range(model.rowCount()):
        idx = model.index(r)
        assert idx.data(ProblemRole)
        assert idx.data(ThumbnailRole) is None
    window.grid.grab()  # painting problem cells must not fail

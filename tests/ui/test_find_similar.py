"""Find Similar in the window: on an image of a small collection with a tiny ONNX model
(embedding = mean colour), the grid lists exactly what `clml-desktop similar` lists, in
its order; the filter bar names it and its × restores the grid; select-all and the batch
bar tag the group; without a model the action is disabled and says to train one."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtWidgets import QApplication

sys.path.insert(0, str(Path(__file__).resolve().parent))

from conftest import open_and_wait  # noqa: E402
from fake_trainer import write_model_dir  # noqa: E402

from clml_desktop.app import main  # noqa: E402
from clml_desktop.collection.store import CollectionStore  # noqa: E402

N = 16
K = 6
QUERY = "img05.png"


def make_folder(folder: Path, *, with_model: bool = True) -> Path:
    """N images of distinct colours; an active model with no scores yet (so Find
    Similar must score them first)."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(3)
    for i in range(N):
        colour = tuple(int(c) for c in rng.integers(20, 235, 3))
        Image.new("RGB", (40, 32), colour).save(folder / f"img{i:02d}.png")
    if with_model:
        model_dir = folder.parent / "model-s1"
        write_model_dir(model_dir, ["red", "green"], [], parent=None)
        with CollectionStore.open(folder) as store:
            store.add_model("model-s1", str(model_dir), tags=["red", "green"], activate=True)
    return folder


def right_click_find_similar(qtbot, window, image_id: int) -> None:
    """Right-click the image's cell and choose Find Similar in the menu it opens."""
    grid = window.grid
    rect = grid.visualRect(grid.grid_model.index(grid.grid_model.row_of(image_id)))
    qtbot.mouseClick(grid.viewport(), Qt.MouseButton.RightButton, pos=rect.center())
    seen: list[list[str]] = []

    def choose() -> None:
        menu = grid.context_menu
        assert menu is not None and menu.isVisible()
        seen.append([a.text() for a in menu.actions()])
        action = window.actions_.action("view.find_similar")
        assert action in menu.actions() and action.isEnabled()
        menu.close()
        action.trigger()

    QTimer.singleShot(50, choose)
    event = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, rect.center(), grid.viewport().mapToGlobal(rect.center()))
    QApplication.sendEvent(grid.viewport(), event)
    assert seen, "no context menu opened"


def test_find_similar_lists_the_clis_neighbours_and_tags_the_group(qtbot, window, tmp_path, capsys):
    folder = make_folder(tmp_path / "photos")
    open_and_wait(qtbot, window, folder, N)
    context = window.context
    query_id = context.store.image_by_path(QUERY).id
    window.similar_finder.k = K
    right_click_find_similar(qtbot, window, query_id)
    assert context.current_image_id == query_id
    qtbot.waitUntil(lambda: context.filter.similar is not None, timeout=60000)
    qtbot.waitUntil(lambda: window.grid_model.rowCount() == K, timeout=10000)

    # Every image was scored first (the model had scored none).
    assert len(context.store.embeddings("model-s1")[0]) == N
    shown = [context.store.image(int(i)).path for i in window.grid_model.image_ids()]
    assert main(["similar", str(folder), QUERY, "-k", str(K), "--device", "cpu"]) == 0
    cli = [line.split()[1] for line in capsys.readouterr().out.splitlines()]
    assert shown == cli and QUERY not in shown

    bar = window.filter_bar
    assert bar.similar_label.isVisible() and bar.similar_clear.isVisible()
    assert bar.similar_label.text() == f"Similar to {QUERY} ({K})"

    window.grid.setFocus()
    qtbot.keyClick(window.grid, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    assert sorted(context.selected_ids) == sorted(int(i) for i in window.grid_model.image_ids())
    window.batch_bar.tag_edit.setText("lookalike")
    assert window.batch_bar.add()
    tagged = {context.store.image(i).path for i in context.store.images_with_tag("lookalike")}
    assert tagged == set(cli)

    qtbot.mouseClick(bar.similar_clear, Qt.MouseButton.LeftButton)
    assert context.filter.similar is None and not bar.similar_label.isVisible()
    qtbot.waitUntil(lambda: window.grid_model.rowCount() == N, timeout=5000)
    paths = [context.store.image(int(i)).path for i in window.grid_model.image_ids()]
    assert paths == sorted(paths), "back in path order"


def test_the_key_finds_images_like_the_selection(qtbot, window, tmp_path):
    folder = make_folder(tmp_path / "photos")
    open_and_wait(qtbot, window, folder, N)
    context = window.context
    ids = [context.store.image_by_path(p).id for p in ("img01.png", "img02.png")]
    context.set_selection(ids)
    window.grid.setFocus()
    qtbot.keyClick(window.grid, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: context.filter.similar is not None, timeout=60000)
    similar = context.filter.similar
    assert similar.label == "2 images" and len(similar.image_ids) == N - 2
    assert not set(ids) & set(similar.image_ids)
    assert list(similar.similarities) == sorted(similar.similarities, reverse=True)
    assert window.filter_bar.similar_label.text() == f"Similar to 2 images ({N - 2})"


def test_without_a_model_the_action_is_disabled_and_says_why(qtbot, window, tmp_path):
    folder = make_folder(tmp_path / "photos", with_model=False)
    action = window.actions_.action("view.find_similar")
    assert not action.isEnabled()  # no folder yet
    open_and_wait(qtbot, window, folder, N)
    assert not action.isEnabled()
    assert "Train a model first" in action.toolTip()
    context = window.context
    context.set_current_image(context.store.image_by_path(QUERY).id)
    window.grid.setFocus()
    qtbot.keyClick(window.grid, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    qtbot.wait(100)
    assert context.filter.similar is None
    assert window.grid_model.rowCount() == N


def test_help_lists_the_key(opened, qtbot):
    window, _folder, _expected = opened
    from clml_desktop.ui.help_dialog import HelpDialog

    dialog = HelpDialog(window.context, window, rows=window.actions_.shortcut_table())
    qtbot.addWidget(dialog)
    dialog.search.setText("similar")
    assert dialog.visible_texts() == ["Find Similar Images"]
    row = next(r for r in dialog.rows if r.text == "Find Similar Images")
    assert row.shortcuts == ("Ctrl+L",)

"""Adding and removing tags from the window, undo/redo by keyboard, and a
batch edit on a selection of many images undone in one step."""

from __future__ import annotations

from PySide6.QtCore import Qt

from clml_desktop.collection.labels import LabelState
from clml_desktop.ui.context import AppContext

from .conftest import open_and_wait, write_collection


def _tags(store, image_id):
    return [lab.tag for lab in store.labels_of(image_id) if lab.state == LabelState.POSITIVE]


def _press(qtbot, window, key, modifiers=Qt.KeyboardModifier.ControlModifier):
    window.activateWindow()
    window.grid.setFocus()
    qtbot.keyClick(window.grid, key, modifiers)


def test_add_remove_with_undo_redo_by_keyboard(qtbot, opened):
    window, folder, expected = opened
    context, store = window.context, window.context.store
    image = store.image_by_path("img_000.jpg")
    assert _tags(store, image.id) == ["dog", "cat", "long hair"]
    assert context.add_tag([image.id], "outdoor")
    assert _tags(store, image.id) == ["dog", "cat", "long hair", "outdoor"]
    assert context.remove_tag([image.id], "cat")
    assert _tags(store, image.id) == ["dog", "long hair", "outdoor"]
    messages: list[str] = []
    context.statusMessage.connect(messages.append)
    _press(qtbot, window, Qt.Key.Key_Z)
    qtbot.waitUntil(lambda: _tags(store, image.id) == ["dog", "cat", "long hair", "outdoor"], timeout=3000)
    assert messages and messages[-1].startswith("Undone: Removed 'cat'")
    _press(qtbot, window, Qt.Key.Key_Z)
    qtbot.waitUntil(lambda: _tags(store, image.id) == ["dog", "cat", "long hair"], timeout=3000)
    _press(qtbot, window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: _tags(store, image.id) == ["dog", "cat", "long hair", "outdoor"], timeout=3000)
    assert window.actions_.action("edit.redo").isEnabled()
    # the sidecar on disk is not touched by edits (export writes files)
    assert (folder / "img_000.txt").read_text(encoding="utf-8") == "dog, cat, long hair"
    qtbot.waitUntil(lambda: not window.is_busy(), timeout=10000)
    row = context.index.row_of(image.id)
    col = context.index.column_of("outdoor")
    assert context.index.states[row, col] == 1


def test_batch_edit_on_many_images_undoes_in_one_step(qtbot, window, tmp_path):
    folder = tmp_path / "many"
    expected = write_collection(folder, 150)
    open_and_wait(qtbot, window, folder, len(expected))
    context, store = window.context, window.context.store
    window.grid.selectAll()
    assert len(context.selected_ids) == 150
    window.batch_bar.focus_tag()
    qtbot.keyClicks(window.batch_bar.tag_edit, "outdoor")
    qtbot.keyClick(window.batch_bar.tag_edit, Qt.Key.Key_Return)
    assert len(store.images_with_tag("outdoor")) == 150
    edits_before = len(store.history())
    assert context.undo()
    assert store.images_with_tag("outdoor") == []
    assert len(store.history()) == edits_before  # one edit, now marked undone
    assert store.history()[0].status == "undone"
    assert context.redo()
    assert len(store.images_with_tag("outdoor")) == 150
    # remove from a filtered subset: only the shown, selected images change
    window.filter_bar.tags_edit.setText("dog")
    window.filter_bar.apply()
    qtbot.waitUntil(lambda: window.grid_model.rowCount() == sum("dog" in t for t in expected.values()), timeout=3000)
    window.grid.selectAll()
    window.batch_bar.tag_edit.setText("outdoor")
    window.batch_bar.remove()
    assert len(store.images_with_tag("outdoor")) == 150 - window.grid_model.rowCount()
    # removing says "not there" (ADR 0019): the removed pairs are rejections now
    assert len(store.images_with_tag("outdoor", LabelState.NEGATIVE)) == window.grid_model.rowCount()
    assert "won't be suggested again" in window.batch_bar.remove_button.toolTip()
    assert context.undo()
    assert len(store.images_with_tag("outdoor")) == 150
    assert store.images_with_tag("outdoor", LabelState.NEGATIVE) == []


def test_edit_without_collection_or_with_bad_name_says_why(qtbot, opened, gui_settings):
    window, _folder, _expected = opened
    context = window.context
    messages: list[str] = []
    context.statusMessage.connect(messages.append)
    image = context.store.image_by_path("img_001.png")
    assert not context.add_tag([image.id], "   ")
    assert not context.add_tag([image.id], "grass")  # already there
    assert "already" in messages[-1]
    bare = AppContext(gui_settings)
    assert not bare.add_tag([1], "x")  # no folder open: refused, with a message
    assert not bare.undo()
    bare.shutdown()

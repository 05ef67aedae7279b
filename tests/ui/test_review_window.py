"""The labelling panels inside the main window: installed with their actions, review
by keyboard with the inspector following, and the one-click Train action."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt

sys.path.insert(0, str(Path(__file__).resolve().parent))

from collection_factory import write_manifest  # noqa: E402
from panel_helpers import fake_trainer_program  # noqa: E402

from clml_desktop.collection.labels import LabelState  # noqa: E402
from clml_desktop.collection.rows import PredictionIn  # noqa: E402


def add_scored_model(context) -> None:
    """A registered model 'm1' scoring every image, so there are suggestions to review."""
    store = context.store
    tags = [t.name for t in store.tags()]
    model_dir = store.data_dir / "models" / "m1"
    write_manifest(model_dir, "m1", tags)
    store.add_model("m1", model_dir, tags=tags, activate=True)
    rng = np.random.default_rng(3)
    store.put_predictions("m1", [
        PredictionIn(row.id, row.version, "engine", rng.uniform(0.55, 0.99, len(tags)).astype(np.float32))
        for row in store.images()
    ])
    context.modelChanged.emit()


def test_panels_and_actions_are_installed(opened):
    window, _folder, _expected = opened
    for action_id in ("view.review", "view.train", "model.train", "model.cancel", "model.options",
                      "file.export", "edit.settings", "edit.add_tag", "help.shortcuts", "view.show_rejected"):
        assert action_id in window.actions_, action_id
    assert {"review", "train"} <= set(window.pages) and "inspector" in window.docks
    texts = {row.text for row in window.actions_.shortcut_table()}
    assert {"Review Suggestions", "Train", "Export Tags", "Keyboard Shortcuts"} <= texts


def test_review_by_keyboard_in_the_window(opened, qtbot):
    window, _folder, _expected = opened
    context = window.context
    add_scored_model(context)
    review = window.review_view
    with qtbot.waitSignal(review.queueLoaded, timeout=10000):
        window.actions_.action("view.review").trigger()
    assert window.current_view() == "review"
    item = review.queue.current
    assert context.current_image_id == item.image_id
    assert window.inspector.image_id == item.image_id
    qtbot.keyClick(review, Qt.Key.Key_A)
    row = next(r for r in context.store.labels_of(item.image_id) if r.tag == item.tag)
    assert row.state == LabelState.POSITIVE and row.source == "accepted-suggestion"
    qtbot.waitUntil(lambda: item.tag in [t for t, _s in window.inspector.shown_tags.positives], timeout=3000)
    window.actions_.action("edit.undo").trigger()
    assert all(r.tag != item.tag for r in context.store.labels_of(item.image_id) if r.state == LabelState.POSITIVE)


def test_one_click_train_from_the_window(opened, qtbot):
    window, _folder, _expected = opened
    panel = window.train_panel
    panel.trainer.program = fake_trainer_program("success")
    try:
        with qtbot.waitSignal(panel.trainer.succeeded, timeout=30000) as blocker:
            window.actions_.action("model.train").trigger()
            assert window.current_view() == "train"
            assert not panel.trainer.busy, "Ctrl+Shift+T first shows what will run"
            panel.confirm_dialog.train_button.click()
        assert window.context.store.active_model().id == blocker.args[0].id
        qtbot.waitUntil(lambda: panel.models._rescore is not None and panel.models._rescore.is_done, timeout=20000)
    finally:
        panel.shutdown()


def test_closing_the_window_stops_a_running_trainer(opened, qtbot):
    window, _folder, _expected = opened
    panel = window.train_panel
    panel.trainer.program = fake_trainer_program("hang")
    window.actions_.action("model.train").trigger()
    panel.confirm_dialog.train_button.click()
    qtbot.waitUntil(lambda: panel.trainer.process_id() > 0, timeout=30000)
    indicator = panel.status_indicator
    assert indicator.parent() is window.statusBar() and indicator.text().startswith("Training: ")
    window.show_view("grid")
    indicator.click()
    assert window.current_view() == "train", "the status-bar indicator opens the Train page"
    pid = panel.trainer.process_id()
    window.close()
    stat = Path(f"/proc/{pid}/stat")
    assert not stat.exists() or stat.read_text().rsplit(")", 1)[-1].split()[0] == "Z"


def test_review_mode_folds_the_inspector_photo_away(opened, qtbot):
    """The photo is large in the middle of review mode, so the inspector does not repeat
    it there; back on the grid it shows the photo again."""
    window, _folder, _expected = opened
    add_scored_model(window.context)
    window.show()
    qtbot.waitExposed(window)
    preview = window.inspector.preview
    assert preview.isVisible()
    window.actions_.action("view.review").trigger()
    assert window.current_view() == "review"
    qtbot.waitUntil(lambda: not preview.isVisible(), timeout=3000)
    window.actions_.action("view.grid").trigger()
    qtbot.waitUntil(preview.isVisible, timeout=3000)

"""The tag panel: counts, sorting, filter box, click-to-filter, and
rename / merge / delete across the collection, each one undo step."""

from __future__ import annotations

from PySide6.QtCore import Qt

from clml_desktop.ui import tag_panel as tag_panel_module
from clml_desktop.ui.tag_model import COL_NAME, COL_NEGATIVE, COL_POSITIVE


def _counts(expected):
    counts: dict[str, int] = {}
    for tags in expected.values():
        for t in tags:
            counts[t] = counts.get(t, 0) + 1
    return counts


def _panel_rows(panel):
    proxy = panel.proxy
    return [proxy.index(r, COL_NAME).data() for r in range(proxy.rowCount())]


def test_counts_sort_and_filter_box(opened):
    window, _folder, expected = opened
    panel = window.tag_panel
    for tag, n in _counts(expected).items():
        assert panel.model.counts(tag) == (n, 0, 0)
    rows = _panel_rows(panel)
    by_count = sorted(_counts(expected).items(), key=lambda kv: -kv[1])
    assert rows[0] == by_count[0][0]
    panel.sort_box.setCurrentIndex(1)
    assert _panel_rows(panel) == sorted(rows, key=str.casefold)
    panel.filter_edit.setText("HAIR")
    assert _panel_rows(panel) == ["long hair"]
    panel.filter_edit.clear()
    window.context.reject_tag([window.context.store.image_by_path("img_001.png").id], "dog")
    dog_row = [r for r in range(panel.proxy.rowCount()) if panel.proxy.index(r, COL_NAME).data() == "dog"][0]
    assert panel.proxy.index(dog_row, COL_NEGATIVE).data() == "1"
    assert panel.proxy.index(dog_row, COL_POSITIVE).data() == str(_counts(expected)["dog"])


def test_click_filters_the_grid_and_ctrl_click_adds(qtbot, opened):
    window, _folder, expected = opened
    panel = window.tag_panel
    panel.sort_box.setCurrentIndex(1)
    rows = _panel_rows(panel)
    rect = panel.view.visualRect(panel.proxy.index(rows.index("dog"), COL_NAME))
    qtbot.mouseClick(panel.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    n_dog = sum("dog" in t for t in expected.values())
    qtbot.waitUntil(lambda: window.grid_model.rowCount() == n_dog, timeout=3000)
    assert window.filter_bar.tags_edit.text() == "dog"
    panel.show_tag("cat", additive=True)
    n_both = sum("dog" in t and "cat" in t for t in expected.values())
    assert window.grid_model.rowCount() == n_both
    assert window.filter_bar.tags_edit.text() == "dog, cat"
    panel.exclude_tag("long hair")
    assert window.grid_model.rowCount() == sum("dog" in t and "cat" in t and "long hair" not in t for t in expected.values())


def test_rename_merge_delete_each_one_undo_step(qtbot, opened, monkeypatch):
    window, folder, expected = opened
    panel, context, store = window.tag_panel, window.context, window.context.store
    counts = _counts(expected)

    assert panel.rename("dog", "puppy")
    qtbot.waitUntil(lambda: "puppy" in panel.model.tag_names(), timeout=5000)
    assert panel.model.counts("puppy")[0] == counts["dog"]
    assert "dog" not in panel.model.tag_names()
    assert context.undo()
    qtbot.waitUntil(lambda: "dog" in panel.model.tag_names(), timeout=5000)

    assert panel.merge(["cat", "grass"], "cat")
    qtbot.waitUntil(lambda: "grass" not in panel.model.tag_names(), timeout=5000)
    assert panel.model.counts("cat")[0] == counts["cat"] + counts["grass"]
    assert context.undo()
    qtbot.waitUntil(lambda: panel.model.counts("grass")[0] == counts["grass"], timeout=5000)
    assert panel.model.counts("cat")[0] == counts["cat"]

    # large changes ask first; "no" changes nothing
    monkeypatch.setattr(tag_panel_module, "LARGE_CHANGE", 2)
    asked: list[str] = []
    panel.confirm = lambda title, text: asked.append(text) or False
    assert not panel.delete("dog")
    assert asked and "dog" in asked[0]
    assert len(store.images_with_tag("dog")) == counts["dog"]
    panel.confirm = lambda title, text: True
    assert panel.delete("dog")
    assert store.tag_id("dog") is None
    qtbot.waitUntil(lambda: "dog" not in panel.model.tag_names(), timeout=5000)
    assert context.undo()
    assert len(store.images_with_tag("dog")) == counts["dog"]
    qtbot.waitUntil(lambda: "dog" in panel.model.tag_names(), timeout=5000)
    # renaming onto an existing tag offers a merge
    panel.confirm = lambda title, text: "Merge" in title
    assert panel.rename("grass", "cat")
    assert store.tag_id("grass") is None
    # sidecars are inputs: tag operations never rewrite them
    assert (folder / "img_001.txt").read_text(encoding="utf-8") == "grass"

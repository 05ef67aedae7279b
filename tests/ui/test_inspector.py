"""The inspector: chips by state, add/remove a tag with undo/redo, suggestion buttons,
rejected tags on demand, the frequency-ranked completer, the off-thread preview."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

sys.path.insert(0, str(Path(__file__).resolve().parent))

from panel_helpers import close_context, open_context  # noqa: E402

from clml_desktop.collection.labels import LabelSource, LabelState  # noqa: E402
from clml_desktop.inference.likely_text import likely_text  # noqa: E402
from clml_desktop.ui.chips import ChipKind  # noqa: E402
from clml_desktop.ui.inspector import Inspector  # noqa: E402
from clml_desktop.ui.tag_completer import ranked_tag_names  # noqa: E402


@pytest.fixture
def inspector(tmp_path, qtbot):
    context, info = open_context(tmp_path, qtbot)
    widget = Inspector(context)
    qtbot.addWidget(widget)
    widget.resize(400, 700)
    widget.show()
    yield widget, context, info
    close_context(context, widget)


def positives(widget) -> list[str]:
    return [tag for tag, _source in widget.shown_tags.positives]


def test_shows_tags_by_state_with_source_and_preview(inspector, qtbot):
    widget, context, info = inspector
    context.set_current_image(info["ids"][1])
    assert positives(widget) == ["dog"]
    assert widget.shown_tags.positives[0][1] == LabelSource.MANUAL.value
    assert widget.shown_tags.rejected == ["tree"]
    suggested = widget.shown_tags.suggested
    assert suggested, "img01 has pending suggestions in the fixture"
    assert [s.score for s in suggested] == sorted((s.score for s in suggested), reverse=True)
    assert all(s.tag not in ("dog", "tree") for s in suggested)
    assert {c.tag for c in widget.chips(ChipKind.SUGGESTED)} == {s.tag for s in suggested}
    for chip in widget.chips(ChipKind.SUGGESTED):
        assert chip.meta_label.text() == likely_text(chip.score)
        assert f"({likely_text(chip.score)}, shown from 50%)" in chip.toolTip()
    assert widget.chips(ChipKind.REJECTED) == []
    widget.set_show_rejected(True)
    assert [c.tag for c in widget.chips(ChipKind.REJECTED)] == ["tree"]
    qtbot.waitUntil(lambda: widget.preview.image is not None, timeout=5000)
    assert widget.preview.image.width() == 56


def test_add_and_remove_tag_with_undo_redo(inspector, qtbot):
    widget, context, info = inspector
    image = info["ids"][0]
    context.set_current_image(image)
    assert positives(widget) == ["cat", "grass"]

    widget.add_edit.setFocus()
    qtbot.keyClicks(widget.add_edit, "red ball")
    qtbot.keyClick(widget.add_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: positives(widget) == ["cat", "grass", "red ball"], timeout=3000)
    assert widget.add_edit.text() == ""

    chip = next(c for c in widget.chips(ChipKind.POSITIVE) if c.tag == "grass")
    chip.buttons["remove"].click()
    qtbot.waitUntil(lambda: positives(widget) == ["cat", "red ball"], timeout=3000)
    assert [r.tag for r in context.store.labels_of(image) if r.state == LabelState.POSITIVE] == ["cat", "red ball"]

    assert context.undo()
    qtbot.waitUntil(lambda: positives(widget) == ["cat", "grass", "red ball"], timeout=3000)
    assert context.undo()
    qtbot.waitUntil(lambda: positives(widget) == ["cat", "grass"], timeout=3000)
    assert context.redo()
    qtbot.waitUntil(lambda: positives(widget) == ["cat", "grass", "red ball"], timeout=3000)


def test_suggestion_chip_buttons_accept_and_reject(inspector, qtbot):
    widget, context, info = inspector
    image = info["ids"][1]
    context.set_current_image(image)
    first, second = widget.chips(ChipKind.SUGGESTED)[:2]
    first_tag, second_tag = first.tag, second.tag
    first.buttons["accept"].click()
    qtbot.waitUntil(lambda: first_tag in positives(widget), timeout=3000)
    source = {r.tag: r.source for r in context.store.labels_of(image)}
    assert source[first_tag] == LabelSource.ACCEPTED.value
    next(c for c in widget.chips(ChipKind.SUGGESTED) if c.tag == second_tag).buttons["reject"].click()
    qtbot.waitUntil(lambda: second_tag in widget.shown_tags.rejected, timeout=3000)
    assert second_tag not in [s.tag for s in widget.shown_tags.suggested]


def test_completer_ranks_by_frequency(inspector):
    widget, context, _info = inspector
    widget._refresh_completer()
    names = widget.completer.candidates()
    assert names[0] == "sky"  # on two images, every other tag on at most one
    assert set(names) >= {"cat", "dog", "grass", "sky"}
    assert ranked_tag_names([("b", 1), ("a", 1), ("c", 5)]) == ["c", "a", "b"]


def test_add_tag_applies_to_the_selection(inspector, qtbot):
    widget, context, info = inspector
    ids = info["ids"]
    context.set_current_image(ids[2])
    context.set_selection(ids[2:5])
    assert "3 selected" in widget.add_edit.placeholderText()
    assert widget.add_tag("outdoor")
    assert sorted(context.store.images_with_tag("outdoor")) == sorted(ids[2:5])
    assert context.undo()
    assert context.store.images_with_tag("outdoor") == []


def test_corrupt_image_shows_a_message(tmp_path, qtbot):
    context, info = open_context(tmp_path, qtbot)
    widget = Inspector(context)
    qtbot.addWidget(widget)
    try:
        (info["folder"] / info["paths"][3]).write_bytes(b"not a png at all")
        context.set_current_image(info["ids"][3])
        qtbot.waitUntil(lambda: "Cannot show" in widget.preview.message, timeout=5000)
        assert positives(widget) == ["sky"]
    finally:
        close_context(context, widget)


def test_fast_navigation_ends_on_the_last_image(inspector, qtbot):
    widget, context, info = inspector
    shown = []
    widget.loader.imageReady.connect(lambda path, _image: shown.append(Path(path).name))
    for _ in range(3):
        for image_id in info["ids"]:
            context.set_current_image(image_id)
    last = info["paths"][-1]
    qtbot.waitUntil(lambda: widget.preview.image is not None and widget.loader.is_idle(), timeout=5000)
    assert widget.title.text() == last
    assert widget.preview.image.width() == 48 + 8 * (len(info["ids"]) - 1)
    assert len(shown) <= len(info["ids"]), "decoded once, then served from the cache"
    assert all(name in info["paths"] for name in shown)


def test_choosing_a_completion_adds_the_tag(inspector, qtbot):
    widget, context, info = inspector
    context.set_current_image(info["ids"][1])
    widget.add_edit.setFocus()
    widget._refresh_completer()
    widget.completer.activated.emit("sky")
    qtbot.waitUntil(lambda: "sky" in positives(widget), timeout=3000)
    assert widget.add_edit.text() == ""


def test_removing_a_tag_the_model_likes_rejects_it(inspector, qtbot):
    """Issue 13 / ADR 0019: the chip's × says "not on this image": the pair becomes a
    rejection (negative, manual), is not suggested again, and undo brings the tag back."""
    from clml_desktop.inference.suggestions import SuggestionSet

    widget, context, info = inspector
    image = info["ids"][0]
    context.set_current_image(image)
    row = context.index.row_of(image)
    tree = [p for p in SuggestionSet.build(context.store).for_image(image) if p.tag == "tree"]
    assert tree and tree[0].passes  # the model scores 'tree' high on this image
    pending_before = int(context.index.pending_counts()[row])
    rejected_before = int(context.index.tag_counts()[2][context.index.column_of("tree")])
    assert context.add_tag([image], "tree")
    qtbot.waitUntil(lambda: "tree" in positives(widget), timeout=3000)

    chip = next(c for c in widget.chips(ChipKind.POSITIVE) if c.tag == "tree")
    assert "won't be suggested again" in chip.buttons["remove"].toolTip()
    chip.buttons["remove"].click()
    qtbot.waitUntil(lambda: "tree" not in positives(widget), timeout=3000)
    label = {r.tag: r for r in context.store.labels_of(image)}["tree"]
    assert (label.state, label.source) == (LabelState.NEGATIVE, LabelSource.MANUAL.value)
    assert "tree" not in [s.tag for s in widget.shown_tags.suggested]
    assert "tree" not in [p.tag for p in SuggestionSet.build(context.store).for_image(image)]
    assert context.index.pending_counts()[row] == pending_before - 1  # the grid's badge
    assert context.index.tag_counts()[2][context.index.column_of("tree")] == rejected_before + 1

    assert context.undo()  # one step: the positive is back, with its source
    qtbot.waitUntil(lambda: positives(widget) == ["cat", "grass", "tree"], timeout=3000)
    assert widget.shown_tags.positives[-1] == ("tree", LabelSource.MANUAL.value)


def test_restore_on_a_rejected_chip_forgets_the_rejection(inspector, qtbot):
    widget, context, info = inspector
    image = info["ids"][1]  # 'tree' is rejected there
    context.set_current_image(image)
    widget.set_show_rejected(True)
    chip = next(c for c in widget.chips(ChipKind.REJECTED) if c.tag == "tree")
    chip.buttons["restore"].click()
    qtbot.waitUntil(lambda: "tree" not in widget.shown_tags.rejected, timeout=3000)
    assert "tree" not in {r.tag for r in context.store.labels_of(image)}
    assert "tree" in [s.tag for s in widget.shown_tags.suggested]  # unknown, so suggested again
    assert context.undo()
    qtbot.waitUntil(lambda: "tree" in widget.shown_tags.rejected, timeout=3000)

"""Export from the dialog: the summary before writing matches what is written, for a
file format, in-place sidecars with a backup, a selection, and suggestions."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from panel_helpers import close_context, open_context  # noqa: E402

from clml_desktop.ui.export_dialog import ExportDialog  # noqa: E402


@pytest.fixture
def dialog(tmp_path, qtbot):
    context, info = open_context(tmp_path, qtbot)
    widget = ExportDialog(context)
    qtbot.addWidget(widget)
    widget.show()
    yield widget, context, info
    widget.shutdown()
    close_context(context)


def wait_summary(qtbot, dialog, text: str) -> str:
    qtbot.waitUntil(lambda: text in dialog.summary.text() and dialog.export_button.isEnabled(), timeout=10000)
    return dialog.summary.text()


def export(qtbot, dialog):
    with qtbot.waitSignal(dialog.exported, timeout=10000) as blocker:
        dialog.export_button.click()
    return blocker.args[0]


def test_json_to_a_file_with_suggestions(dialog, qtbot, tmp_path):
    widget, context, info = dialog
    out = tmp_path / "export" / "tags.json"
    widget.set_choices(fmt="json", scope="all", with_suggestions=True, out=out)
    text = wait_summary(qtbot, widget, "Writes 1 file for 6 images")
    assert "5 confirmed tags, 1 rejection" in text and "suggestions shown from 50% (with scores, kept apart)" in text
    suggested = widget.preview.suggestions
    assert suggested > 0
    summary = export(qtbot, widget)
    assert summary.files_written == [out] and not summary.problems
    data = json.loads(out.read_text(encoding="utf-8"))
    assert "Wrote 1 file" in widget.summary.text()
    written = sum(len(image.get("suggestions", [])) for image in data["images"])
    assert written == suggested
    assert sum(len(image["positives"]) for image in data["images"]) == 5


def test_suggestions_written_are_the_ones_the_grid_shows(dialog, qtbot, tmp_path):
    """The window's export follows the collection's minimum likelihood and per-tag cuts,
    pair for pair the grid's pending suggestions."""
    widget, context, _info = dialog
    assert context.set_suggestion_cuts(0.7, {"sky": 0.2})
    qtbot.waitUntil(lambda: not context.index_pending(), timeout=10000)
    index = context.index
    rows, cols = index.pending.nonzero()
    pending = {(index.paths[r], index.tag_names[c]) for r, c in zip(rows, cols, strict=True)}
    assert pending and {tag for _path, tag in pending} >= {"sky", "tree"}
    out = tmp_path / "cut.json"
    widget.set_choices(fmt="json", scope="all", with_suggestions=True, out=out)
    text = wait_summary(qtbot, widget, f"{len(pending)} suggestions shown from 20%–70% (per-tag cuts)")
    assert "Writes 1 file" in text
    export(qtbot, widget)
    data = json.loads(out.read_text(encoding="utf-8"))
    written = {(image["path"], s["tag"]) for image in data["images"] for s in image.get("suggestions", [])}
    assert written == pending


def test_in_place_sidecars_for_the_selection_with_backup(dialog, qtbot):
    widget, context, info = dialog
    folder = info["folder"]
    ids = info["ids"]
    context.set_selection(ids[:2])
    widget._update_scope_labels()
    sidecar = folder / "img00.txt"
    sidecar.write_text("cat, grass", encoding="utf-8")
    stat = sidecar.stat()
    context.store.set_source_file_states([("img00.txt", stat.st_size, stat.st_mtime_ns)])
    context.add_tag([ids[0]], "red ball")
    widget.set_choices(fmt="txt", scope="selected", with_suggestions=False)
    assert widget.in_place.isChecked()
    text = wait_summary(qtbot, widget, "Writes 2 files for 2 images")
    assert "1 of them already exist" in text
    assert "rejections cannot be stored" in text
    summary = export(qtbot, widget)
    assert sorted(p.name for p in summary.files_written) == ["img00.txt", "img01.txt"]
    assert sidecar.read_text(encoding="utf-8") == "cat, grass, red ball"
    assert (folder / "img01.txt").read_text(encoding="utf-8") == "dog"
    assert [p.name for p in summary.backups] == ["img00.txt"]
    assert not (folder / "img02.txt").exists(), "only the selection is written"


def test_training_set_export_counts_labelled_images(dialog, qtbot, tmp_path):
    widget, _context, _info = dialog
    out = tmp_path / "train.jsonl"
    widget.set_choices(fmt="train-jsonl", scope="all", out=out)
    wait_summary(qtbot, widget, "Writes 1 file for 4 images")
    summary = export(qtbot, widget)
    lines = out.read_text(encoding="utf-8").splitlines()
    assert summary.images == 4 and len(lines) == 5  # the tag-order line + 4 labelled images


def test_file_format_needs_a_destination(dialog, qtbot):
    widget, _context, _info = dialog
    widget.set_choices(fmt="csv-wide")
    widget.path_edit.clear()
    qtbot.waitUntil(lambda: "Choose where to write" in widget.summary.text(), timeout=10000)
    assert not widget.export_button.isEnabled()


EMPTY_XMP = (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    "<rdf:Description/></rdf:RDF></x:xmpmeta>"
)


@pytest.mark.parametrize(("naming", "created", "absent"), [
    ("name.xmp", "img00.xmp", "img00.png.xmp"),
    ("name.ext.xmp", "img00.png.xmp", "img00.xmp"),
])
def test_xmp_export_follows_the_naming_setting(dialog, qtbot, naming, created, absent):
    widget, context, info = dialog
    folder = info["folder"]
    context.settings.xmp_naming = naming
    existing = folder / "img01.png.xmp"  # a digiKam sidecar already there keeps its name
    existing.write_text(EMPTY_XMP, encoding="utf-8")
    context.store.set_source_file_states([("img01.png.xmp", existing.stat().st_size, existing.stat().st_mtime_ns)])
    widget.set_choices(fmt="xmp", scope="all")
    text = wait_summary(qtbot, widget, "Writes ")
    assert ("photo.xmp (Settings)" in text) == (naming == "name.xmp")
    summary = export(qtbot, widget)
    names = {p.name for p in summary.files_written}
    assert created in names and absent not in names
    assert "img01.png.xmp" in names and "img01.xmp" not in names
    assert "<rdf:li>cat</rdf:li>" in (folder / created).read_text(encoding="utf-8")
    assert not (folder / absent).exists()

"""Settings: preferences persist through QSettings, per-tag thresholds go to the
store and refresh suggestions, bad input is refused with a message."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from panel_helpers import close_context, open_context  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402

from clml_desktop.ui.help_dialog import HelpDialog  # noqa: E402
from clml_desktop.ui.settings import Settings  # noqa: E402
from clml_desktop.ui.settings_dialog import SettingsDialog, parse_threshold  # noqa: E402


def row_of(dialog: SettingsDialog, tag: str) -> int:
    return next(r for r in range(dialog.table.rowCount()) if dialog.table.item(r, 0).text() == tag)


def test_settings_persist_and_thresholds_reach_the_store(tmp_path, qtbot):
    context, _info = open_context(tmp_path, qtbot)
    try:
        dialog = SettingsDialog(context)
        qtbot.addWidget(dialog)
        assert dialog.table.item(row_of(dialog, "tree"), 1).text() == "0.50", "model's calibrated threshold"
        dialog.device.setCurrentIndex(dialog.device.findData("cpu"))
        dialog.sidecar_ext.setCurrentIndex(dialog.sidecar_ext.findData(".caption"))
        dialog.separator.setText("; ")
        dialog.xmp_naming.setCurrentIndex(dialog.xmp_naming.findData("name.xmp"))
        dialog.thumb_size.setCurrentIndex(dialog.thumb_size.findData(256))
        dialog.use_global.setChecked(True)
        dialog.global_threshold.setValue(0.65)
        dialog.table.item(row_of(dialog, "tree"), 2).setText("95%")
        with qtbot.waitSignal(context.suggestionsChanged, timeout=3000):
            dialog.accept()
        assert dialog.result() == SettingsDialog.DialogCode.Accepted
        reread = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
        assert (reread.device, reread.sidecar_extension, reread.sidecar_separator) == ("cpu", ".caption", "; ")
        assert (reread.xmp_naming, reread.thumbnail_size, reread.global_threshold) == ("name.xmp", 256, 0.65)
        assert context.store.tag_thresholds() == {"tree": 0.95}

        again = SettingsDialog(context)
        qtbot.addWidget(again)
        assert again.table.item(row_of(again, "tree"), 2).text() == "0.95"
        again.table.item(row_of(again, "tree"), 2).setText("")
        again.accept()
        assert context.store.tag_thresholds() == {}
    finally:
        close_context(context)


def test_bad_threshold_is_refused_with_a_message(tmp_path, qtbot):
    context, _info = open_context(tmp_path, qtbot)
    try:
        dialog = SettingsDialog(context)
        qtbot.addWidget(dialog)
        dialog.table.item(row_of(dialog, "cat"), 2).setText("1.7")
        dialog.accept()
        assert dialog.result() != SettingsDialog.DialogCode.Accepted
        assert "'cat'" in dialog.error.text()
        assert context.store.tag_thresholds() == {}
    finally:
        close_context(context)
    assert parse_threshold("") is None and parse_threshold("70%") == 0.7 and parse_threshold("0.25") == 0.25


def test_help_lists_window_actions_and_review_keys(tmp_path, qtbot):
    from clml_desktop.ui.actions import ShortcutRow

    rows = [ShortcutRow("Edit", "Undo", ("Ctrl+Z",), "Undo the last edit")]
    dialog = HelpDialog(None, rows=rows)
    qtbot.addWidget(dialog)
    names = dialog.visible_texts()
    assert "Undo" in names and "Accept" in names and "Reject" in names and "Skip" in names
    dialog.search.setText("reject")
    assert dialog.visible_texts() == ["Reject"]

"""Settings: preferences persist through QSettings; when a tag is suggested (the
collection's minimum likelihood and per-tag cuts, in percent) goes to the store and
re-derives suggestions; bad input is refused with a message."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from panel_helpers import close_context, open_context  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402

from clml_desktop.ui.help_dialog import HelpDialog  # noqa: E402
from clml_desktop.ui.settings import Settings  # noqa: E402
from clml_desktop.ui.settings_dialog import SettingsDialog  # noqa: E402


def row_of(dialog: SettingsDialog, tag: str) -> int:
    return next(r for r in range(dialog.table.rowCount()) if dialog.table.item(r, 0).text() == tag)


def own_cut(dialog: SettingsDialog, tag: str):
    return dialog.table.item(row_of(dialog, tag), SettingsDialog.OVERRIDE_COLUMN)


def test_settings_persist_and_cuts_reach_the_store(tmp_path, qtbot):
    context, _info = open_context(tmp_path, qtbot)
    try:
        dialog = SettingsDialog(context)
        qtbot.addWidget(dialog)
        assert dialog.min_likely.value() == 50 and dialog.min_likely.suffix() == "%"
        assert own_cut(dialog, "tree").text() == ""
        dialog.device.setCurrentIndex(dialog.device.findData("cpu"))
        dialog.sidecar_ext.setCurrentIndex(dialog.sidecar_ext.findData(".caption"))
        dialog.separator.setText("; ")
        dialog.xmp_naming.setCurrentIndex(dialog.xmp_naming.findData("name.xmp"))
        dialog.thumb_size.setCurrentIndex(dialog.thumb_size.findData(256))
        dialog.min_likely.setValue(65)
        own_cut(dialog, "tree").setText("95%")
        own_cut(dialog, "cat").setText("30")
        with qtbot.waitSignal(context.suggestionsChanged, timeout=3000):
            dialog.accept()
        assert dialog.result() == SettingsDialog.DialogCode.Accepted
        reread = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
        assert (reread.device, reread.sidecar_extension, reread.sidecar_separator) == ("cpu", ".caption", "; ")
        assert (reread.xmp_naming, reread.thumbnail_size) == ("name.xmp", 256)
        assert context.store.min_likelihood() == pytest.approx(0.65)
        assert context.store.tag_thresholds() == pytest.approx({"tree": 0.95, "cat": 0.3})

        def rederived() -> bool:
            cuts = dict(zip(context.index.tag_names, context.index.thresholds.tolist(), strict=True))
            return cuts == pytest.approx({"cat": 0.3, "dog": 0.65, "grass": 0.65, "sky": 0.65, "tree": 0.95})

        qtbot.waitUntil(rederived, timeout=10000)

        again = SettingsDialog(context)
        qtbot.addWidget(again)
        assert again.min_likely.value() == 65
        assert (own_cut(again, "tree").text(), own_cut(again, "cat").text()) == ("95%", "30%")
        own_cut(again, "tree").setText("")
        again.accept()
        assert context.store.tag_thresholds() == pytest.approx({"cat": 0.3})
        assert context.store.min_likelihood() == pytest.approx(0.65)
    finally:
        close_context(context)


def test_ok_without_changes_rewrites_no_cut(tmp_path, qtbot):
    """A 37.5% cut set on the command line shows as 38% but is not rounded by pressing OK."""
    context, _info = open_context(tmp_path, qtbot)
    try:
        context.store.set_min_likelihood(0.375)
        context.store.set_tag_threshold("dog", 0.123456)
        dialog = SettingsDialog(context)
        qtbot.addWidget(dialog)
        assert dialog.min_likely.value() == 38 and own_cut(dialog, "dog").text() == "12.3%"
        dialog.accept()
        assert context.store.min_likelihood() == 0.375
        assert context.store.tag_thresholds() == {"dog": 0.123456}
    finally:
        close_context(context)


def test_without_a_collection_the_cut_cannot_be_edited(tmp_path, qtbot):
    from clml_desktop.ui.context import AppContext

    context = AppContext(Settings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)))
    dialog = SettingsDialog(context)
    qtbot.addWidget(dialog)
    assert not dialog.min_likely.isEnabled() and dialog.min_likely.value() == 50
    dialog.accept()
    assert dialog.result() == SettingsDialog.DialogCode.Accepted
    context.shutdown()


@pytest.mark.parametrize(("text", "words"), [("170", "from 0 to 100"), ("lots", "such as 70 or 70%")])
def test_bad_cut_is_refused_with_a_message(tmp_path, qtbot, text, words):
    context, _info = open_context(tmp_path, qtbot)
    try:
        dialog = SettingsDialog(context)
        qtbot.addWidget(dialog)
        dialog.min_likely.setValue(80)
        own_cut(dialog, "cat").setText(text)
        dialog.accept()
        assert dialog.result() != SettingsDialog.DialogCode.Accepted
        assert "'cat'" in dialog.error.text() and words in dialog.error.text()
        assert context.store.tag_thresholds() == {} and context.store.min_likelihood() is None
    finally:
        close_context(context)


def test_help_lists_window_actions_and_review_keys(tmp_path, qtbot):
    from clml_desktop.ui.actions import ShortcutRow

    rows = [ShortcutRow("Edit", "Undo", ("Ctrl+Z",), "Undo the last edit")]
    dialog = HelpDialog(None, rows=rows)
    qtbot.addWidget(dialog)
    names = dialog.visible_texts()
    assert "Undo" in names and "Accept" in names and "Reject" in names and "Skip" in names
    dialog.search.setText("reject")
    assert dialog.visible_texts() == ["Reject"]

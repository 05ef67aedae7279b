"""Issue 13 (ADR 0021): opening a collection whose label database is damaged shows
the repair dialog; a choice repairs it off the GUI thread and opens the folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from clml_desktop.collection import store_backup
from clml_desktop.collection.store import CollectionStore
from clml_desktop.ui.damaged_store_dialog import DamagedStoreDialog
from clml_desktop.workflow.opening import rescan

from .conftest import open_and_wait


@pytest.fixture(autouse=True)
def private_user_data(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg-data")))


def damage(folder: Path, *, backed_up: bool) -> None:
    """Open and label the folder (with a backup when asked), then cut its store in half."""
    with CollectionStore.open(folder) as store:
        rescan(store)
        store.reject_tag(store.images()[1].id, "dog")  # in no tag file
    if backed_up:
        with CollectionStore.open(folder):
            pass  # the second open takes the first backup
        assert store_backup.backups(folder / ".clml")
    db = folder / ".clml" / "collection.sqlite"
    os.truncate(db, db.stat().st_size // 2)


def wait_for_dialog(qtbot, win) -> DamagedStoreDialog:
    qtbot.waitUntil(lambda: getattr(win, "repair_dialog", None) is not None
                    and win.repair_dialog.isVisible(), timeout=30000)
    return win.repair_dialog


def test_damaged_collection_offers_restore_and_repairs_from_backup(qtbot, window, collection):
    folder, expected = collection
    damage(folder, backed_up=True)
    window.open_folder(folder)
    dialog = wait_for_dialog(qtbot, window)
    assert "damaged" in dialog.text() and "cut short" in dialog.informativeText()
    assert dialog.restore_button is not None
    assert dialog.restore_button.text().startswith("Restore backup from ")
    assert dialog.rebuild_button.text() == "Rebuild from tag files"

    with qtbot.waitSignal(window.scanFinished, timeout=30000):
        dialog.restore_button.click()
    qtbot.waitUntil(lambda: not window.is_busy(), timeout=30000)
    report = window.repair_report
    assert report.method == "backup" and (report.aside / "collection.sqlite").is_file()
    store = window.context.store
    assert store is not None and store.image_count() == len(expected)
    second = store.images()[1]
    assert "dog" in store.image_labels([second.id])[second.path].negatives  # the rejection is back
    assert "Restored the backup" in window.repair_message.text()


def test_rebuild_without_a_backup_and_cancel(qtbot, window, collection, tmp_path):
    folder, expected = collection
    damage(folder, backed_up=False)
    window.open_folder(folder)
    dialog = wait_for_dialog(qtbot, window)
    assert dialog.restore_button is None  # nothing to restore
    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=5000)
    assert window.context.store is None
    assert (folder / ".clml" / "collection.sqlite").is_file()  # untouched
    assert not list((folder / ".clml").glob("damaged-*"))

    window.repair_dialog = None
    window.open_folder(folder)
    dialog = wait_for_dialog(qtbot, window)
    with qtbot.waitSignal(window.scanFinished, timeout=30000):
        dialog.rebuild_button.click()
    qtbot.waitUntil(lambda: not window.is_busy(), timeout=30000)
    assert window.repair_report.method == "rebuild"
    store = window.context.store
    got = store.image_labels()
    assert {p: sorted(v.positives) for p, v in got.items() if v.positives} == {
        p: sorted(t) for p, t in expected.items() if t
    }
    open_and_wait(qtbot, window, folder, len(expected))  # it opens as usual afterwards

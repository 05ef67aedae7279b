"""The dialog a damaged collection opens with (ADR 0021): what happened, and
"Restore backup from <time>" / "Rebuild from tag files" / "Cancel".

The repair runs in a `Worker` off the GUI thread and calls the same Qt-free
`workflow.repair.repair` as `clml-desktop repair`; when it is done the window
opens the folder again and a message says what was restored and what was lost.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QAbstractButton, QMessageBox, QWidget

from clml_desktop.collection import store_backup
from clml_desktop.collection.store import DamagedStoreError
from clml_desktop.jobs.worker import Worker
from clml_desktop.workflow.repair import (
    FROM_BACKUP,
    LOST_AFTER_REBUILD,
    REBUILD,
    RepairReport,
    repair,
)


class DamagedStoreDialog(QMessageBox):
    """Says the label database is damaged and why; `choice` is FROM_BACKUP, REBUILD or
    None (Cancel) once a button was pressed."""

    def __init__(self, error: DamagedStoreError, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.error = error
        self.choice: str | None = None
        self.backups = store_backup.backups(error.db_path.parent)
        name = error.root.name or str(error.root)
        self.setIcon(QMessageBox.Icon.Warning)
        self.setWindowTitle("Damaged collection")
        self.setText(f"The label database of “{name}” is damaged and cannot be opened.")
        newest = self.backups[0] if self.backups else None
        restore_text = (
            f"Restore the backup of {newest.when()}: your labels as they were then; edits made "
            "after it are lost."
            if newest is not None
            else "There is no backup of this collection to restore."
        )
        self.setInformativeText(
            f"What happened: {error.reason}.\n\n"
            f"{restore_text}\n\n"
            "Rebuild from tag files: a new database from the images and the tags written in "
            "the folder's tag files; rejections, accepted suggestions not in tag files and the "
            "undo history are lost.\n\n"
            "Either way the damaged file is kept (moved into .clml/damaged-<time>/), never deleted."
        )
        self.setDetailedText(
            f"Database file: {error.db_path}\n"
            f"Backups: {', '.join(b.when() for b in self.backups) or 'none'}\n\n"
            f"A rebuild: {LOST_AFTER_REBUILD}\n\n"
            f"The same from a terminal: clml-desktop repair \"{error.root}\""
        )
        self.restore_button = None
        if newest is not None:
            self.restore_button = self.addButton(
                f"Restore backup from {newest.when()}", QMessageBox.ButtonRole.AcceptRole
            )
        self.rebuild_button = self.addButton("Rebuild from tag files", QMessageBox.ButtonRole.AcceptRole)
        self.cancel_button = self.addButton(QMessageBox.StandardButton.Cancel)
        self.setDefaultButton(self.restore_button or self.rebuild_button)
        self.setEscapeButton(self.cancel_button)
        self.buttonClicked.connect(self._clicked)

    def _clicked(self, button: QAbstractButton) -> None:
        if button is self.restore_button:
            self.choice = FROM_BACKUP
        elif button is self.rebuild_button:
            self.choice = REBUILD
        else:
            self.choice = None


def offer_repair(window: QWidget, error: BaseException | None,
                 reopen: Callable[[Path], object] | None = None) -> DamagedStoreDialog | None:
    """When `error` is a DamagedStoreError: show the dialog (window-modal, not blocking)
    and, on a choice, repair in a worker on `window.context`, then `reopen(root)`
    (default `window.open_folder`). None for any other error (the caller reports it)."""
    if not isinstance(error, DamagedStoreError):
        return None
    dialog = DamagedStoreDialog(error, window)
    reopen = reopen or window.open_folder

    def chosen() -> None:
        if dialog.choice is None:
            window.statusBar().showMessage(f"Not opened: the label database of {error.root} is damaged")
            return
        start_repair(window, error.root, dialog.choice, reopen)

    dialog.finished.connect(chosen)
    window.repair_dialog = dialog  # for tests and so it is not collected
    window.statusBar().showMessage(f"The label database of {error.root} is damaged: choose how to repair it")
    dialog.open()
    return dialog


def start_repair(window: QWidget, root: Path, method: str, reopen: Callable[[Path], object]) -> Worker:
    """Run the repair off the GUI thread; report and reopen the folder when it is done."""
    worker = Worker(repair, root, method=method, name=f"Repairing {root.name or root}")

    def tell(icon: QMessageBox.Icon, title: str, text: str) -> None:
        box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, window)
        window.repair_message = box  # kept, and found by tests
        box.open()  # not exec(): the window keeps working while it is shown

    def done(report: RepairReport) -> None:
        window.repair_report = report
        reopen(report.root)
        tell(QMessageBox.Icon.Information, "Collection repaired", "\n\n".join(report.lines()))

    def failed(message: str) -> None:
        tell(QMessageBox.Icon.Warning, "Repair failed",
             f"{message.split(': ', 1)[-1]}\n\nNothing was deleted; see "
             f"clml-desktop repair --list \"{root}\".")

    worker.signals.result.connect(done)
    worker.signals.error.connect(failed)
    window.statusBar().showMessage(f"Repairing {root}…")
    window.context.start_job(worker)
    return worker

"""Puts the labelling panels into the main window: the inspector dock, the review
and training pages, and the export, settings and shortcut dialogs, each with
its action (menu entry, keyboard shortcut, tooltip) in the window's registry.

Kept out of main_window.py so the shell stays small and these panels are
wired in one place: `MainWindow._install_panels` calls `install_panels(self)`.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt

from clml_desktop.ui.export_dialog import ExportDialog
from clml_desktop.ui.help_dialog import HelpDialog
from clml_desktop.ui.inspector import Inspector
from clml_desktop.ui.review import ReviewView
from clml_desktop.ui.settings_dialog import SettingsDialog
from clml_desktop.ui.train_panel import TrainPanel


def install_panels(window) -> None:
    """Create the panels on `window` (a MainWindow) and register their actions."""
    context = window.context
    a = window.actions_.add
    menus = window.menus

    window.inspector = Inspector(context, window)
    window.add_dock("inspector", "Inspector", window.inspector, Qt.DockWidgetArea.RightDockWidgetArea,
                    shortcut="Ctrl+Shift+2")
    window.review_view = ReviewView(context, window)
    window.add_page("review", window.review_view)
    window.train_panel = TrainPanel(context, window)
    window.add_page("train", window.train_panel)
    window.stack.currentChanged.connect(
        lambda _index: window.inspector.set_preview_shown(window.stack.currentWidget() is not window.review_view)
    )

    def show(name: str) -> None:
        window.show_view(name)
        page = window.pages.get(name)
        if page is not None:
            page.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def train_now() -> None:
        show("train")
        window.train_panel.request_training()  # says what will run; its Train button starts it

    def open_dialog(factory) -> None:
        dialog = factory()
        dialog.exec()
        dialog.deleteLater()

    view = menus["view"]
    view.addSeparator()
    view.addAction(a("view.review", "&Review Suggestions", group="View", shortcut="Ctrl+2",
                     tooltip="Go through the model's suggestions with one key per decision",
                     slot=lambda: show("review")))
    view.addAction(a("view.train", "&Training and Models", group="View", shortcut="Ctrl+3",
                     tooltip="Training progress, the trainer's log and the list of models",
                     slot=lambda: show("train")))
    rejected = a("view.show_rejected", "Show &Rejected Tags", group="View", shortcut="Ctrl+Shift+R",
                 checkable=True, tooltip="Show the tags you rejected in the inspector",
                 slot=lambda: window.inspector.set_show_rejected(rejected.isChecked()))
    window.inspector.rejected_toggle.toggled.connect(rejected.setChecked)
    view.addAction(rejected)

    edit = menus["edit"]
    edit.addAction(a("edit.add_tag", "Add Tag to &Current Image", group="Edit", shortcut="Ctrl+E",
                     tooltip="Type a tag for the image in the inspector (with autocomplete)",
                     slot=window.inspector.focus_add_tag))
    edit.addSeparator()
    edit.addAction(a("edit.settings", "&Settings…", group="Edit", shortcut="Ctrl+,",
                     tooltip="Device, thresholds, tag-file conventions, thumbnails, theme",
                     slot=lambda: open_dialog(lambda: SettingsDialog(context, window))))

    model = menus["model"]
    model.addAction(a("model.train", "&Train", group="Model", shortcut="Ctrl+Shift+T",
                      tooltip="Train a new model on your corrections (in the background)", slot=train_now))
    model.addAction(a("model.cancel", "&Cancel Training", group="Model",
                      tooltip="Stop the running training; nothing changes", slot=window.train_panel.trainer.cancel))
    model.addAction(a("model.options", "Training &Options…", group="Model",
                      tooltip="Architecture, image size, epochs, loss, λ, τ, device, folds",
                      slot=window.train_panel.open_options))
    model.addSeparator()
    model.addAction(a("model.rescore", "&Score New Images", group="Model", shortcut="Ctrl+Shift+S",
                      tooltip="Run the active model over images it has not scored yet",
                      slot=window.train_panel.models.rescore))

    file_menu = menus["file"]
    export = a("file.export", "&Export Tags…", group="File", shortcut="Ctrl+Shift+E",
               tooltip="Write tag files (sidecars, CSV, JSON, XMP, list, training set)",
               slot=lambda: open_dialog(lambda: ExportDialog(context, window)))
    quit_action = window.actions_.action("file.quit")
    file_menu.insertAction(quit_action, export)
    file_menu.insertSeparator(quit_action)

    menus["help"].addAction(a("help.shortcuts", "&Keyboard Shortcuts", group="Help", shortcut="F1",
                              tooltip="List every action and its keys",
                              slot=lambda: open_dialog(
                                  lambda: HelpDialog(context, window, rows=window.actions_.shortcut_table()))))

    indicator = window.train_panel.status_indicator  # "Training: 34% · 1 min left" on every page
    window.statusBar().insertPermanentWidget(0, indicator)
    indicator.openRequested.connect(lambda: show("train"))

    window.installEventFilter(_StopOnClose(window, window.train_panel.shutdown))
    app = QCoreApplication.instance()
    if app is not None:
        app.aboutToQuit.connect(window.train_panel.shutdown)


class _StopOnClose(QObject):
    """Stops the trainer (SIGTERM, then a wait) when the window closes, before the
    shell closes the store: no trainer process outlives the window."""

    def __init__(self, window, stop) -> None:
        super().__init__(window)
        self._stop = stop

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if event.type() == QEvent.Type.Close:
            self._stop()
        return False

"""What the window shows before a folder is open: how to start, and the
recent folders (one click re-opens one, in the background)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from clml_desktop.ui.context import AppContext


class WelcomePage(QWidget):
    """Empty state with 'Open folder…' and the recent folders list."""

    openRequested = Signal()
    folderChosen = Signal(str)

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._context = context
        title = QLabel("Open a folder of images", self)
        title.setObjectName("emptyTitle")
        text = QLabel(
            "CLML Desktop reads the tags your images already have (.txt/.caption sidecars, "
            "CSV, JSON, XMP), suggests the ones that are missing, and learns from your answers.\n"
            "Drop a folder here, press Ctrl+O, or pick a recent folder.",
            self,
        )
        text.setObjectName("emptyText")
        text.setWordWrap(True)
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        button = QPushButton("Open folder…", self)
        button.setToolTip("Choose a folder of images (Ctrl+O)")
        button.clicked.connect(self.openRequested)
        self.recent = QListWidget(self)
        self.recent.setMaximumWidth(560)
        self.recent.setMaximumHeight(200)
        self.recent.itemActivated.connect(lambda item: self.folderChosen.emit(item.data(Qt.ItemDataRole.UserRole)))
        self.recent.itemClicked.connect(lambda item: self.folderChosen.emit(item.data(Qt.ItemDataRole.UserRole)))
        layout = QVBoxLayout(self)
        layout.addStretch(2)
        for w in (title, text, button, self.recent):
            layout.addWidget(w, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.setSpacing(14)
        layout.addStretch(3)
        text.setMaximumWidth(560)
        self.refresh()
        context.settings.changed.connect(lambda key: self.refresh() if key == "recent_folders" else None)

    def refresh(self) -> None:
        self.recent.clear()
        for folder in self._context.settings.recent_folders:
            item = QListWidgetItem(f"{Path(folder).name}    {folder}")
            item.setData(Qt.ItemDataRole.UserRole, folder)
            item.setToolTip(folder)
            self.recent.addItem(item)
        self.recent.setVisible(self.recent.count() > 0)

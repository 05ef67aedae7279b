"""The bar above the grid for editing many images at once.

Why a bar and not a dialog: batch tagging is a frequent, keyboard-driven act
(select, Ctrl+T, type, Enter), and a modal dialog would hide the grid the
person is looking at. Each button is one store edit, so one undo step.
"""

from __future__ import annotations

from PySide6.QtCore import QStringListModel, Qt
from PySide6.QtWidgets import QCompleter, QHBoxLayout, QLabel, QLineEdit, QPushButton, QWidget

from clml_desktop.ui.context import AppContext


class BatchBar(QWidget):
    """'N selected · [tag] Add  Remove  Reject' for the selected images."""

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._context = context
        self.setObjectName("batchBar")
        self.count_label = QLabel(self)
        self.tag_edit = QLineEdit(self)
        self.tag_edit.setPlaceholderText("Tag for the selected images…")
        self.tag_edit.setToolTip("Type a tag, then Enter adds it to every selected image (Ctrl+T)")
        self.tag_edit.setClearButtonEnabled(True)
        self._names = QStringListModel(self)
        completer = QCompleter(self._names, self.tag_edit)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.tag_edit.setCompleter(completer)
        self.add_button = QPushButton("Add", self)
        self.add_button.setToolTip("Add the tag to every selected image (Enter)")
        self.remove_button = QPushButton("Remove", self)
        self.remove_button.setToolTip(
            "Remove the tag from the selected images that have it — not on them"
            " (won't be suggested again; Undo brings it back)"
        )
        self.reject_button = QPushButton("Reject", self)
        self.reject_button.setToolTip("Mark the tag as not present on every selected image")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.setSpacing(8)
        layout.addWidget(self.count_label)
        layout.addWidget(self.tag_edit, 1)
        layout.addWidget(self.add_button)
        layout.addWidget(self.remove_button)
        layout.addWidget(self.reject_button)
        self.add_button.clicked.connect(self.add)
        self.remove_button.clicked.connect(self.remove)
        self.reject_button.clicked.connect(self.reject)
        self.tag_edit.returnPressed.connect(self.add)
        context.selectionChanged.connect(self._update)
        context.indexChanged.connect(self._update_names)
        # A tag typed for one folder's images is not meant for the next folder's.
        context.collectionOpened.connect(lambda _store: self.tag_edit.clear())
        context.collectionClosed.connect(self.tag_edit.clear)
        self._update(context.selected_ids)

    def _tag(self, verb: str) -> str:
        """The typed tag; when there is none (or nothing is selected) say why nothing happens."""
        tag = self.tag_edit.text().strip()
        if not self._context.selected_ids:
            self._context.show_status(f"Select images first, then {verb} a tag.")
            return ""
        if not tag:
            self._context.show_status(f"Type a tag to {verb} first.")
        return tag

    def add(self) -> bool:
        tag = self._tag("add")
        return bool(tag) and self._context.add_tag(self._context.selected_ids, tag)

    def remove(self) -> bool:
        tag = self._tag("remove")
        return bool(tag) and self._context.remove_tag(self._context.selected_ids, tag)

    def reject(self) -> bool:
        tag = self._tag("reject")
        return bool(tag) and self._context.reject_tag(self._context.selected_ids, tag)

    def focus_tag(self) -> None:
        self.tag_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.tag_edit.selectAll()

    def _update(self, ids: list[int]) -> None:
        n = len(ids)
        self.count_label.setText(f"{n:,} selected" if n else "Nothing selected")
        for w in (self.tag_edit, self.add_button, self.remove_button, self.reject_button):
            w.setEnabled(n > 0)

    def _update_names(self) -> None:
        names = self._context.index.tag_names
        if names != self._names.stringList():
            self._names.setStringList(sorted(names, key=str.casefold))

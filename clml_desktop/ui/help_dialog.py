"""Keyboard shortcuts: every window action and every review key in one searchable list.

The rows come from the shell's action registry (`ActionRegistry.shortcut_table`)
and from review mode's key table, so the help never lists a key that does not
exist or misses one that does.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLineEdit,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from clml_desktop.ui.actions import ShortcutRow
from clml_desktop.ui.review import REVIEW_KEYS

REVIEW_GROUP = "Review mode"


def review_rows() -> list[ShortcutRow]:
    """Review mode's keys as help rows (they are handled by the review view, not QActions)."""
    return [
        ShortcutRow(
            group=REVIEW_GROUP,
            text=spec.label,
            shortcuts=tuple(
                QKeySequence(k).toString(QKeySequence.SequenceFormat.NativeText) for k in spec.keys
            ),
            tooltip=spec.help,
        )
        for spec in REVIEW_KEYS
    ]


class HelpDialog(QDialog):
    """Shortcuts grouped by menu; type to filter."""

    def __init__(
        self, context, parent: QWidget | None = None, *, rows: Iterable[ShortcutRow] | None = None
    ) -> None:
        super().__init__(parent)
        self.context = context
        self.setWindowTitle("Keyboard shortcuts")
        self.rows = list(rows or []) + review_rows()

        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search actions and keys…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._filter)
        self.tree = QTreeWidget(self)
        self.tree.setColumnCount(3)
        self.tree.setHeaderLabels(["Action", "Keys", "What it does"])
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(True)
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)

        groups: dict[str, QTreeWidgetItem] = {}
        bold = QFont(self.font())
        bold.setWeight(QFont.Weight.Bold)
        for row in self.rows:
            group = groups.get(row.group)
            if group is None:
                group = QTreeWidgetItem(self.tree, [row.group])
                group.setFont(0, bold)
                group.setFirstColumnSpanned(True)
                group.setFlags(Qt.ItemFlag.ItemIsEnabled)
                groups[row.group] = group
            keys = "   or   ".join(row.shortcuts) if row.shortcuts else "—"
            item = QTreeWidgetItem(group, [row.text, keys, row.tooltip])
            item.setToolTip(2, row.tooltip)
        self.tree.expandAll()
        self._groups = groups

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addWidget(self.search)
        layout.addWidget(self.tree, 1)
        layout.addWidget(buttons)
        self.resize(880, 600)
        self.search.setFocus(Qt.FocusReason.OtherFocusReason)

    def visible_texts(self) -> list[str]:
        """Action names currently shown (tests)."""
        out = []
        for group in self._groups.values():
            for i in range(group.childCount()):
                child = group.child(i)
                if not child.isHidden():
                    out.append(child.text(0))
        return out

    def _filter(self, text: str) -> None:
        needle = text.strip().casefold()
        for group in self._groups.values():
            shown = 0
            for i in range(group.childCount()):
                child = group.child(i)
                hay = " ".join(child.text(c) for c in range(3)).casefold()
                hide = bool(needle) and needle not in hay
                child.setHidden(hide)
                shown += not hide
            group.setHidden(shown == 0)

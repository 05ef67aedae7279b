"""A thin Qt table over a `ReviewQueue`: one row per suggestion, the current one bold.

No decisions are made here (DESIGN.md: no domain logic in item models); the
model only renders the queue's items and tells views which rows changed.
"""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication

from clml_desktop.inference.likely_text import likely_text, score_percent, shown_from_text
from clml_desktop.workflow.review_queue import ReviewQueue, Verdict

COLUMNS = ("", "Tag", "Likely", "Image")
VERDICT_GLYPH = {Verdict.ACCEPTED: "✓", Verdict.REJECTED: "✗", Verdict.SKIPPED: "→", None: ""}
SCORE_KINDS = {"oof": "scored by a model that did not train on it", "engine": "scored by the active model"}
VERDICT_COLOUR = {Verdict.ACCEPTED: "#2e9d57", Verdict.REJECTED: "#c94a3c", Verdict.SKIPPED: "#8a8a8a"}

Index = QModelIndex | QPersistentModelIndex


class ReviewTableModel(QAbstractTableModel):
    """Rows are `queue.items`; call `set_queue` for a new queue and `refresh` after moves."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._queue: ReviewQueue | None = None
        self._current = -1
        self._bold = QFont()
        self._bold.setWeight(QFont.Weight.Bold)

    @property
    def queue(self) -> ReviewQueue | None:
        return self._queue

    def set_queue(self, queue: ReviewQueue | None) -> None:
        self.beginResetModel()
        self._queue = queue
        self._current = queue.pos if queue is not None else -1
        self.endResetModel()

    def refresh(self, rows: list[int] | None = None) -> None:
        """Repaint the rows a decision or a move touched (the old and new current row
        plus `rows`); never the whole table, which would cost per key press."""
        if self._queue is None or not self._queue.items:
            return
        touched = {self._current, self._queue.pos, *(rows or [])}
        self._current = self._queue.pos
        last = len(self._queue.items) - 1
        for row in sorted(r for r in touched if 0 <= r <= last):
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008 (Qt API)
        if parent.isValid() or self._queue is None:
            return 0
        return len(self._queue.items)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or self._queue is None:
            return None
        item = self._queue.items[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return VERDICT_GLYPH[item.verdict]
            if col == 1:
                return item.tag + ("  (new)" if item.pair.is_new_tag else "")
            if col == 2:
                return score_percent(item.pair.score)
            return item.pair.path
        if role == Qt.ItemDataRole.ToolTipRole:
            return (
                f"{item.pair.path}\n'{item.tag}': {likely_text(item.pair.score)}, "
                f"{shown_from_text(item.pair.threshold)} ({SCORE_KINDS.get(item.pair.kind, item.pair.kind)})"
            )
        if role == Qt.ItemDataRole.FontRole and index.row() == self._current:
            return self._bold
        if role == Qt.ItemDataRole.ForegroundRole:
            if item.verdict is not None:
                return QColor(VERDICT_COLOUR[item.verdict])
            if col == 2 and not item.pair.passes:
                return QApplication.palette().color(QPalette.ColorRole.PlaceholderText)
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (0, 2):
            return int(Qt.AlignmentFlag.AlignCenter)
        return None

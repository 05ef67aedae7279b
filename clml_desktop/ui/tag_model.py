"""Item model of the tag panel: every live tag with its counts.

Counts come from `context.index.tag_counts()` (vectorised over the label
index); this model only exposes them as rows and columns. Sorting and the
filter box are a `QSortFilterProxyModel` over it (see `make_tag_proxy`).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)

from clml_desktop.ui.context import AppContext

SortRole = Qt.ItemDataRole.UserRole + 1
TagNameRole = Qt.ItemDataRole.UserRole + 2

COL_NAME, COL_POSITIVE, COL_SUGGESTED, COL_NEGATIVE = range(4)
HEADERS = ("Tag", "Tagged", "New", "Rejected")
HEADER_TIPS = (
    "The tag as you spelled it",
    "Images that have this tag (positives)",
    "Suggested by the active model and not yet reviewed (the grid's 'new' badges)",
    "Images where a person rejected this tag (confirmed negatives)",
)

ModelIndex = QModelIndex | QPersistentModelIndex


class TagModel(QAbstractTableModel):
    """Rows: tags of the open collection, in the index's order."""

    def __init__(self, context: AppContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._context = context
        self._names: list[str] = []
        self._counts = np.zeros((0, 3), dtype=np.int64)
        context.indexChanged.connect(self.refresh)
        context.collectionClosed.connect(self.refresh)

    def refresh(self) -> None:
        index = self._context.index
        positives, pending, negatives = index.tag_counts()
        counts = np.stack([positives, pending, negatives], axis=1) if len(index.tag_names) else np.zeros((0, 3), np.int64)
        if index.tag_names != self._names:
            self.beginResetModel()
            self._names = list(index.tag_names)
            self._counts = counts
            self.endResetModel()
        else:
            self._counts = counts
            if self._names:
                self.dataChanged.emit(self.index(0, 1), self.index(len(self._names) - 1, 3))

    def tag_names(self) -> list[str]:
        return list(self._names)

    def counts(self, tag: str) -> tuple[int, int, int]:
        """(positives, suggested, rejected) of `tag`, zeros when unknown."""
        try:
            row = self._names.index(tag)
        except ValueError:
            return 0, 0, 0
        return tuple(int(v) for v in self._counts[row])  # type: ignore[return-value]

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        return 0 if parent.isValid() else len(self._names)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(HEADERS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return HEADER_TIPS[section]
        if role == Qt.ItemDataRole.TextAlignmentRole and section:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def data(self, idx: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not idx.isValid() or not 0 <= idx.row() < len(self._names):
            return None
        row, col = idx.row(), idx.column()
        name = self._names[row]
        if role == TagNameRole:
            return name
        if col == COL_NAME:
            if role == Qt.ItemDataRole.DisplayRole:
                return name
            if role == SortRole:
                return name.casefold()
            if role == Qt.ItemDataRole.ToolTipRole:
                p, s, n = (int(v) for v in self._counts[row])
                return f"{name}\n{p:,} tagged · {s:,} suggested · {n:,} rejected\nClick: show these images · Ctrl+click: add to the filter"
            return None
        value = int(self._counts[row, col - 1])
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{value:,}" if value else ""
        if role == SortRole:
            return value
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


def make_tag_proxy(model: TagModel, parent: QObject | None = None) -> QSortFilterProxyModel:
    """Sorting by `SortRole` (names case-folded, counts as numbers) and a name filter."""
    proxy = QSortFilterProxyModel(parent)
    proxy.setSourceModel(model)
    proxy.setSortRole(SortRole)
    proxy.setFilterKeyColumn(COL_NAME)
    proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
    proxy.setDynamicSortFilter(True)
    return proxy

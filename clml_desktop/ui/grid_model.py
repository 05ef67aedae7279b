"""The grid's item model: one row per image that passes the active filter.

A thin adapter on purpose: which images pass is decided by
`clml_desktop.collection.query.filter_ids` (Qt-free, tested alone); labels
and scores come from the context's `LabelIndex`; thumbnails from the
`ThumbnailCache`. The model only maps rows to those and tells views what
changed.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, QPersistentModelIndex, Qt

from clml_desktop.collection.labels import LabelState
from clml_desktop.collection.query import filter_rows, state_mask
from clml_desktop.ui.context import AppContext
from clml_desktop.ui.image_tags import image_tags, suggested_summary
from clml_desktop.ui.thumbnails import ThumbnailCache

ImageIdRole = Qt.ItemDataRole.UserRole + 1
PathRole = Qt.ItemDataRole.UserRole + 2
PendingRole = Qt.ItemDataRole.UserRole + 3
ProblemRole = Qt.ItemDataRole.UserRole + 4
ThumbnailRole = Qt.ItemDataRole.UserRole + 5
ImageSizeRole = Qt.ItemDataRole.UserRole + 6
PositiveCountRole = Qt.ItemDataRole.UserRole + 7
CellRole = Qt.ItemDataRole.UserRole + 8

ModelIndex = QModelIndex | QPersistentModelIndex


def _file_name(relpath: str) -> str:
    """The last part of a store path (always '/'-separated); pathlib costs more per painted cell."""
    return relpath.rpartition("/")[2]


class GridModel(QAbstractListModel):
    """Rows are the filtered image ids of `context.index` (in path order, or most
    similar first while the filter shows similar images)."""

    def __init__(self, context: AppContext, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._context = context
        self._ids = np.zeros(0, dtype=np.int64)
        self._pos = np.zeros(0, dtype=np.int64)
        self._index_rows = np.zeros(0, dtype=np.int64)
        self._pending = np.zeros(0, dtype=np.int32)
        self._positives = np.zeros(0, dtype=np.int32)
        self._thumbs: ThumbnailCache | None = None
        context.indexChanged.connect(self.refresh)
        context.filterChanged.connect(lambda _f: self.refresh())
        context.collectionClosed.connect(self.refresh)

    def set_thumbnails(self, cache: ThumbnailCache | None) -> None:
        """Use `cache` for DecorationRole (None: no thumbnails, e.g. no collection)."""
        if self._thumbs is not None:
            self._thumbs.thumbnailsChanged.disconnect(self._on_thumbnails)
        self._thumbs = cache
        if cache is not None:
            cache.thumbnailsChanged.connect(self._on_thumbnails)
        if self._ids.size:
            self.dataChanged.emit(self.index(0), self.index(len(self._ids) - 1), [ThumbnailRole])

    @property
    def thumbnails(self) -> ThumbnailCache | None:
        return self._thumbs

    def refresh(self) -> None:
        """Re-apply the filter to the current index.

        When the rows stay the same (an edit patched a label) only their
        data changes, so the view keeps its scroll position and selection.
        """
        index = self._context.index
        rows = filter_rows(index, self._context.filter)
        ids = index.image_ids[rows]
        pending = index.pending_counts()
        positives = state_mask(index.states, LabelState.POSITIVE).sum(axis=1).astype(np.int32) if index.states.size else np.zeros(len(index), np.int32)
        same_rows = np.array_equal(ids, self._ids)
        if not same_rows:
            self.beginResetModel()
        self._ids = ids
        self._pos = np.full(int(ids.max()) + 1 if len(ids) else 0, -1, dtype=np.int64)
        if len(ids):
            self._pos[ids] = np.arange(len(ids), dtype=np.int64)
        self._index_rows = rows
        self._pending = pending[rows] if len(rows) else np.zeros(0, np.int32)
        self._positives = positives[rows] if len(rows) else np.zeros(0, np.int32)
        if not same_rows:
            self.endResetModel()
        elif len(ids):
            self.dataChanged.emit(self.index(0), self.index(len(ids) - 1), [PendingRole, PositiveCountRole, CellRole, Qt.ItemDataRole.ToolTipRole])

    def image_ids(self) -> np.ndarray:
        """The image ids in row order (the filtered set)."""
        return self._ids

    def row_of(self, image_id: int) -> int | None:
        """The row showing `image_id`, or None when the filter hides it."""
        i = int(image_id)
        if 0 <= i < len(self._pos) and self._pos[i] >= 0:
            return int(self._pos[i])
        return None

    def rows_of(self, image_ids: list[int] | np.ndarray) -> np.ndarray:
        """Rows of many ids (vectorised); -1 where the filter hides an id."""
        ids = np.asarray(image_ids, dtype=np.int64)
        rows = np.full(len(ids), -1, dtype=np.int64)
        ok = (ids >= 0) & (ids < len(self._pos))
        rows[ok] = self._pos[ids[ok]]
        return rows

    def image_id(self, row: int) -> int:
        return int(self._ids[row])

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        return 0 if parent.isValid() else len(self._ids)

    def data(self, idx: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not idx.isValid() or not 0 <= idx.row() < len(self._ids):
            return None
        row = idx.row()
        image_id = int(self._ids[row])
        index_row = int(self._index_rows[row])
        label_index = self._context.index
        if index_row >= len(label_index):
            return None
        path = label_index.paths[index_row]
        if role == CellRole:
            # Everything the delegate paints, in one call: each call from C++ into
            # Python must take the GIL, which background threads may hold.
            problem = label_index.problems[index_row]
            thumb = None
            if self._thumbs is not None:
                if problem is None:
                    thumb = self._thumbs.get(image_id, path, int(label_index.versions[index_row]))
                    problem = self._thumbs.failure(image_id)
            w, h = label_index.sizes[index_row]
            return _file_name(path), thumb, int(self._pending[row]), problem, (int(w), int(h))
        if role == Qt.ItemDataRole.DisplayRole:
            return _file_name(path)
        if role == ImageIdRole:
            return image_id
        if role == PathRole:
            return path
        if role == PendingRole:
            return int(self._pending[row])
        if role == PositiveCountRole:
            return int(self._positives[row])
        if role == ProblemRole:
            problem = label_index.problems[index_row]
            if problem is None and self._thumbs is not None:
                problem = self._thumbs.failure(image_id)
            return problem
        if role == ImageSizeRole:
            w, h = label_index.sizes[index_row]
            return int(w), int(h)
        if role == ThumbnailRole:
            if self._thumbs is None or label_index.problems[index_row] is not None:
                return None
            return self._thumbs.get(image_id, path, int(label_index.versions[index_row]))
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(index_row, int(self._pending[row]))
        return None

    def _tooltip(self, index_row: int, pending: int) -> str:
        label_index = self._context.index
        lines = [label_index.paths[index_row]]
        problem = label_index.problems[index_row]
        if problem:
            lines.append(f"Problem: {problem}")
        similar = self._context.filter.similar
        if similar is not None:
            score = similar.similarity_of(int(label_index.image_ids[index_row]))
            if score is not None:
                lines.append(f"Similarity to {similar.label}: {score:.3f}")
        if label_index.states.size:
            cols = np.flatnonzero(label_index.states[index_row] == LabelState.POSITIVE)
            tags = [label_index.tag_names[c] for c in cols[:12]]
            if tags:
                more = f" (+{len(cols) - 12})" if len(cols) > 12 else ""
                lines.append("Tags: " + ", ".join(tags) + more)
        if pending:
            image_id = int(label_index.image_ids[index_row])
            lines.append(suggested_summary(image_tags((), label_index, image_id).suggested))
        return "\n".join(lines)

    def keep_thumbnails(self, rows: range) -> None:
        """Let the thumbnail cache drop requests for rows outside `rows` (scrolled away)."""
        if self._thumbs is not None:
            self._thumbs.keep_only(self._ids[rows.start:rows.stop].tolist())

    def _on_thumbnails(self, image_ids: list[int]) -> None:
        """One dataChanged over the rows a batch of thumbnails touched.

        A single span (first to last changed row) rather than one signal per
        image: the grid repaints only the visible part of it, so a span is
        as cheap as its visible cells.
        """
        rows = self.rows_of(image_ids)
        rows = rows[rows >= 0]
        if len(rows):
            first, last = self.index(int(rows.min())), self.index(int(rows.max()))
            self.dataChanged.emit(first, last, [ThumbnailRole, ProblemRole, CellRole])

"""The thumbnail grid: a wrapping, left-to-right QListView over `GridModel`.

List mode with a fixed grid size (icon mode keeps a geometry per item and
asks the model for every index on each reset) and uniform cell sizes let Qt
lay out 20,000 cells in about 25 ms of CPU without asking for any thumbnail,
so the grid appears as soon as the file list is known; only the cells being
painted request decodes.

A layout costs one call into Python per row (Qt asks the model's rowCount
for every index it makes), so it must happen only when rows change (ADR
0014): QListView's list mode re-lays out the whole grid on every dataChanged,
which with a thumbnail arriving every few milliseconds kept the GUI thread
busy; `dataChanged` here only repaints the visible changed cells, which is
all a change can need when every cell has the same size. That relayout was
also why batched layout once stopped after its first batch (each change
restarted it from row 0); with it gone the layout runs in batches of
`LAYOUT_BATCH` rows per event-loop pass, so no single pass holds the GUI
thread for the whole grid. The vertical scroll bar is always shown, since
its appearing would narrow the viewport and lay everything out again.
After a scroll the view tells the thumbnail cache what it shows, so decodes
for cells that scrolled away are dropped. A right-click opens a menu of the
window's actions for the images under it (`set_context_actions`: Find
Similar, ...); the press has already made the clicked image current and
selected, unless it was part of a larger selection.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import (
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QContextMenuEvent
from PySide6.QtWidgets import QAbstractItemView, QListView, QMenu, QWidget

from clml_desktop.ui.context import AppContext
from clml_desktop.ui.grid_delegate import GridDelegate
from clml_desktop.ui.grid_model import GridModel

KEEP_MS = 60
LAYOUT_BATCH = 2000
FOLLOW_RETRY_MS = 25
FOLLOW_TRIES = 80  # 2 s: far more than batched layout needs for 20,000 rows


class GridView(QListView):
    """Thumbnail grid; `activated(image_id)` fires on double-click / Enter."""

    imageActivated = Signal(int)

    def __init__(self, context: AppContext, model: GridModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._context = context
        self._syncing = False
        self._menu_actions: list[QAction | None] = []
        self.context_menu: QMenu | None = None
        self.setObjectName("grid")
        self.setViewMode(QListView.ViewMode.ListMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(True)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setSelectionRectVisible(True)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        # Always shown: a bar that appears after the first layout narrows the
        # viewport, and list mode then lays out every row a second time.
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.setMouseTracking(True)
        self.setSpacing(4)
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(LAYOUT_BATCH)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setToolTip("")
        self._delegate = GridDelegate(context.settings.thumbnail_size, self)
        self.setItemDelegate(self._delegate)
        self.setModel(model)
        self._apply_cell_size()
        self.verticalScrollBar().setSingleStep(self._delegate.cell_size(self.font()).height() // 3)
        self.selectionModel().selectionChanged.connect(self._on_selection)
        self.selectionModel().currentChanged.connect(self._on_current)
        model.modelReset.connect(self._restore_after_reset)
        # At most every KEEP_MS while scrolling: forget decodes for cells no longer shown.
        self._keep_timer = QTimer(self)
        self._keep_timer.setSingleShot(True)
        self._keep_timer.setInterval(KEEP_MS)
        self._keep_timer.timeout.connect(lambda: self.grid_model.keep_thumbnails(self.visible_rows()))
        self.verticalScrollBar().valueChanged.connect(self._schedule_keep)
        model.modelReset.connect(self._schedule_keep)
        self.activated.connect(lambda idx: self.imageActivated.emit(model.image_id(idx.row())))
        context.currentImageChanged.connect(self._follow_current)

    @property
    def grid_model(self) -> GridModel:
        return self.model()  # type: ignore[return-value]

    def set_context_actions(self, actions: list[QAction | None]) -> None:
        """The right-click menu's entries (None: a separator)."""
        self._menu_actions = list(actions)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:  # noqa: N802 (Qt override)
        if not self._menu_actions or not self.indexAt(event.pos()).isValid():
            return
        menu = QMenu(self)
        menu.setToolTipsVisible(True)  # a disabled entry says why ("Train a model first")
        for action in self._menu_actions:
            menu.addSeparator() if action is None else menu.addAction(action)
        self.context_menu = menu
        try:
            menu.exec(event.globalPos())
        finally:
            self.context_menu = None
            menu.deleteLater()

    @property
    def thumb_size(self) -> int:
        return self._delegate.thumb_size

    def set_thumb_size(self, size: int) -> None:
        """Change the cell size (the model's cache is replaced by the window)."""
        self._delegate.thumb_size = int(size)
        self._apply_cell_size()
        self.scheduleDelayedItemsLayout()

    def _apply_cell_size(self) -> None:
        self.setGridSize(self._delegate.cell_size(self.font()) + QSize(6, 6))

    def visible_rows(self) -> range:
        """Rows whose cells intersect the viewport (for prefetch and benchmarks)."""
        model = self.grid_model
        n = model.rowCount()
        if n == 0:
            return range(0)
        inset = QPoint(8, 8)
        first = self.indexAt(self.viewport().rect().topLeft() + inset)
        last = self.indexAt(self.viewport().rect().bottomRight() - inset)
        start = first.row() if first.isValid() else 0
        if last.isValid():
            stop = last.row() + 1
        else:
            cell = self.gridSize()
            cols = max(1, self.viewport().width() // max(1, cell.width()))
            rows = self.viewport().height() // max(1, cell.height()) + 1
            stop = min(n, start + cols * (rows + 1))
        return range(start, min(n, stop))

    def dataChanged(
        self,
        top_left: QModelIndex | QPersistentModelIndex,
        bottom_right: QModelIndex | QPersistentModelIndex,
        roles: list[int] | None = None,
    ) -> None:
        """Repaint the visible cells of the changed span; never re-lay out (module docstring)."""
        visible = self.visible_rows()
        first = max(top_left.row(), visible.start)
        last = min(bottom_right.row(), visible.stop - 1)
        if first > last:
            return
        model = self.grid_model
        rect = self.visualRect(model.index(first)).united(self.visualRect(model.index(last)))
        if first != last:
            rect.setLeft(0)
            rect.setRight(self.viewport().width())
        self.viewport().update(rect)

    def _schedule_keep(self) -> None:
        if not self._keep_timer.isActive():
            self._keep_timer.start()

    def _on_selection(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        if self._syncing:
            return
        model = self.grid_model
        ids = model.image_ids()
        rows: list[np.ndarray] = []
        for rng in self.selectionModel().selection():
            rows.append(np.arange(rng.top(), rng.bottom() + 1))
        chosen = np.unique(np.concatenate(rows)) if rows else np.zeros(0, np.int64)
        chosen = chosen[chosen < len(ids)]
        self._context.set_selection(ids[chosen].tolist())

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if self._syncing:
            return
        if current.isValid():
            self._context.set_current_image(self.grid_model.image_id(current.row()))

    def _follow_current(self, image_id: int) -> None:
        row = self.grid_model.row_of(image_id) if image_id >= 0 else None
        if row is None:
            return
        idx = self.grid_model.index(row)
        if self.currentIndex() == idx:
            return
        self._syncing = True
        try:
            flags = QItemSelectionModel.SelectionFlag.ClearAndSelect
            if len(self._context.selected_ids) > 1 and image_id in self._context.selected_ids:
                flags = QItemSelectionModel.SelectionFlag.NoUpdate
            self.selectionModel().setCurrentIndex(idx, flags)
        finally:
            self._syncing = False
        if flags != QItemSelectionModel.SelectionFlag.NoUpdate:
            self._context.set_selection([image_id])
        self._scroll_to_image(image_id, FOLLOW_TRIES)

    def _scroll_to_image(self, image_id: int, tries: int) -> None:
        """Scroll the image's cell into view; while the batched layout has not
        reached it yet (just after the rows changed), try again shortly."""
        row = self.grid_model.row_of(image_id)
        if row is None or image_id != self._context.current_image_id:
            return
        idx = self.grid_model.index(row)
        if self.visualRect(idx).isValid():
            self.scrollTo(idx)
        elif tries > 0:
            QTimer.singleShot(FOLLOW_RETRY_MS, self, lambda: self._scroll_to_image(image_id, tries - 1))

    def _restore_after_reset(self) -> None:
        """After the filter changed, keep the current image and selection where still shown."""
        model = self.grid_model
        selection = QItemSelection()
        selected = np.asarray(self._context.selected_ids, dtype=np.int64)
        all_rows = model.rows_of(selected)
        kept = selected[all_rows >= 0].tolist()
        rows = np.sort(all_rows[all_rows >= 0])
        for run in np.split(rows, np.flatnonzero(np.diff(rows) != 1) + 1) if len(rows) else []:
            selection.select(model.index(int(run[0])), model.index(int(run[-1])))
        self._syncing = True
        try:
            self.selectionModel().select(selection, QItemSelectionModel.SelectionFlag.ClearAndSelect)
            row = model.row_of(self._context.current_image_id)
            if row is not None:
                self.selectionModel().setCurrentIndex(model.index(row), QItemSelectionModel.SelectionFlag.NoUpdate)
        finally:
            self._syncing = False
        self._context.set_selection(kept)

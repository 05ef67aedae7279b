"""The tag panel: every tag with counts, sort, filter box, and the
collection-wide tag operations (rename, merge, delete).

Clicking a tag filters the grid to it; Ctrl+click adds it to the filter.
Changes that touch many images ask first (`confirm`, replaceable in tests);
each is one undo step in the store either way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from PySide6.QtCore import QEvent, QModelIndex, QObject, QPoint, QSize, Qt
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLineEdit,
    QMenu,
    QMessageBox,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from clml_desktop.ui.context import AppContext
from clml_desktop.ui.tag_model import COL_NAME, COL_POSITIVE, TagModel, TagNameRole, make_tag_proxy

LARGE_CHANGE = 100
NAME_ROOM = 72  # pixels (about ten characters) a tag name keeps before the count titles get theirs


class TagPanel(QWidget):
    """Tag list with counts; see the module docstring."""

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._context = context
        self.model = TagModel(context, self)
        self.proxy = make_tag_proxy(self.model, self)
        self.confirm: Callable[[str, str], bool] = self._ask
        self.ask_text: Callable[[str, str, str], str | None] = self._ask_text
        self.ask_choice: Callable[[str, str, list[str]], str | None] = self._ask_choice

        self.filter_edit = QLineEdit(self)
        self.filter_edit.setPlaceholderText("Filter tags…")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setToolTip("Show only tags whose name contains this text")
        self.filter_edit.textChanged.connect(self.proxy.setFilterFixedString)

        self.sort_box = QComboBox(self)
        self.sort_box.addItems(["Most used", "Name", "Most suggested"])
        self.sort_box.setToolTip("Order of the tag list")
        self.sort_box.currentIndexChanged.connect(self._apply_sort)

        self.view = QTreeView(self)
        self.view.setObjectName("tagList")
        self.view.setModel(self.proxy)
        self.view.setRootIsDecorated(False)
        self.view.setUniformRowHeights(True)
        self.view.setAlternatingRowColors(True)
        self.view.setSortingEnabled(True)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._menu)
        self.view.clicked.connect(self._on_clicked)
        header = self.view.header()
        header.setStretchLastSection(False)
        header.setMinimumSectionSize(24)
        header.setSectionResizeMode(COL_NAME, QHeaderView.ResizeMode.Stretch)
        # Counts take what their digits and titles need, so tag names get the rest;
        # measured over the visible rows only, so a count update with a thousand
        # tags does not make the header ask every row for its width.
        header.setResizeContentsPrecision(0)
        for col in range(1, 4):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        # In a narrow dock (a 1024 px screen) the titles "Tagged/New/Rejected" do not
        # fit beside the names; then the counts keep the width of their digits and the
        # titles are shortened, rather than the counts being cut (issue 13).
        header.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.view.viewport().installEventFilter(self)
        self.model.modelReset.connect(self._fit_columns)
        self.model.dataChanged.connect(lambda *_a: self._fit_columns())

        top = QHBoxLayout()
        top.setSpacing(6)
        top.addWidget(self.filter_edit, 1)
        top.addWidget(self.sort_box)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)
        self._apply_sort(0)

        self.rename_action = QAction("Rename tag…", self)
        self.rename_action.setShortcut("F2")
        self.rename_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.rename_action.setToolTip("Rename the selected tag everywhere (one undo step)")
        self.rename_action.triggered.connect(lambda: self.rename_selected())
        self.delete_action = QAction("Delete tag…", self)
        self.delete_action.setShortcut("Del")
        self.delete_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.delete_action.setToolTip("Delete the selected tags from every image (one undo step)")
        self.delete_action.triggered.connect(lambda: self.delete_selected())
        self.merge_action = QAction("Merge tags…", self)
        self.merge_action.setShortcut("Ctrl+M")
        self.merge_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.merge_action.setToolTip("Merge the selected tags into one (one undo step)")
        self.merge_action.triggered.connect(lambda: self.merge_selected())
        for action in (self.rename_action, self.delete_action, self.merge_action):
            self.addAction(action)

    def sizeHint(self) -> QSize:
        return QSize(330, 600)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if obj is self.view.viewport() and event.type() == QEvent.Type.Resize:
            self._fit_columns()
        return super().eventFilter(obj, event)

    def _fit_columns(self) -> None:
        """Titles' widths when they fit with room for names, else the digits' widths."""
        header = self.view.header()
        metrics = self.view.fontMetrics()
        pad = 2 * self.style().pixelMetric(self.style().PixelMetric.PM_HeaderMargin) + 8
        # No count can exceed the number of images: its digits are the widest a count gets.
        widest = f"{max(len(self._context.index), 999):,}"
        digits = metrics.horizontalAdvance(widest) + pad
        titles = [max(digits, header.sectionSizeFromContents(col).width()) for col in range(1, 4)]
        roomy = self.view.viewport().width() - sum(titles) >= NAME_ROOM
        mode = QHeaderView.ResizeMode.ResizeToContents if roomy else QHeaderView.ResizeMode.Fixed
        for col in range(1, 4):
            if header.sectionResizeMode(col) != mode:
                header.setSectionResizeMode(col, mode)
            if not roomy and header.sectionSize(col) != digits:
                header.resizeSection(col, digits)

    # ---- selection and filtering -------------------------------------------

    def selected_tags(self) -> list[str]:
        rows = self.view.selectionModel().selectedRows(COL_NAME)
        return [str(idx.data(TagNameRole)) for idx in rows]

    def _apply_sort(self, choice: int) -> None:
        if choice == 1:
            self.view.sortByColumn(COL_NAME, Qt.SortOrder.AscendingOrder)
        elif choice == 2:
            self.view.sortByColumn(COL_POSITIVE + 1, Qt.SortOrder.DescendingOrder)
        else:
            self.view.sortByColumn(COL_POSITIVE, Qt.SortOrder.DescendingOrder)

    def _on_clicked(self, idx: QModelIndex) -> None:
        tag = str(idx.data(TagNameRole))
        additive = bool(QGuiApplication.keyboardModifiers() & Qt.KeyboardModifier.ControlModifier)
        self.show_tag(tag, additive=additive)

    def show_tag(self, tag: str, *, additive: bool = False) -> None:
        """Filter the grid to `tag` (or AND it onto the current filter)."""
        flt = self._context.filter
        if additive:
            self._context.set_filter(flt.with_tag(tag))
        else:
            self._context.set_filter(replace(flt, require=((tag,),), exclude=()))

    def exclude_tag(self, tag: str) -> None:
        flt = self._context.filter
        if tag not in flt.exclude:
            self._context.set_filter(replace(flt, exclude=flt.exclude + (tag,)))

    # ---- collection-wide operations -----------------------------------------

    def _affected(self, tags: list[str]) -> int:
        return sum(self.model.counts(t)[0] + self.model.counts(t)[2] for t in tags)

    def rename_selected(self, new_name: str | None = None) -> bool:
        tags = self.selected_tags()
        if len(tags) != 1:
            self._context.show_status("Select one tag to rename")
            return False
        return self.rename(tags[0], new_name)

    def rename(self, tag: str, new_name: str | None = None) -> bool:
        """Rename `tag` everywhere; asks for the name when not given."""
        if new_name is None:
            new_name = self.ask_text("Rename tag", f"New name for '{tag}':", tag)
            if new_name is None:
                return False
        new_name = new_name.strip()
        if not new_name or new_name == tag:
            return False
        if new_name in self.model.tag_names():
            if not self.confirm("Merge tags?", f"'{new_name}' already exists. Merge '{tag}' into it?"):
                return False
            return self._context.merge_tags([tag], new_name)
        n = self._affected([tag])
        if n >= LARGE_CHANGE and not self.confirm("Rename tag", f"Rename '{tag}' to '{new_name}' on {n:,} images?"):
            return False
        return self._context.rename_tag(tag, new_name)

    def merge_selected(self, target: str | None = None) -> bool:
        tags = self.selected_tags()
        if len(tags) < 2:
            self._context.show_status("Select two or more tags to merge (Ctrl+click)")
            return False
        return self.merge(tags, target)

    def merge(self, tags: list[str], target: str | None = None) -> bool:
        """Merge `tags` into `target` (one of them, or asked for)."""
        if target is None:
            target = self.ask_choice("Merge tags", "Keep which name?", tags)
            if target is None:
                return False
        sources = [t for t in tags if t != target]
        if not sources:
            return False
        n = self._affected(sources)
        if n >= LARGE_CHANGE and not self.confirm(
            "Merge tags", f"Merge {', '.join(sources)} into '{target}' ({n:,} labels change)?"
        ):
            return False
        return self._context.merge_tags(sources, target)

    def delete_selected(self) -> bool:
        tags = self.selected_tags()
        if not tags:
            return False
        done = False
        n = self._affected(tags)
        names = ", ".join(f"'{t}'" for t in tags)
        if n >= LARGE_CHANGE and not self.confirm("Delete tags", f"Delete {names} from {n:,} images? Undo brings it back."):
            return False
        for tag in tags:
            done = self._context.delete_tag(tag) or done
        return done

    def delete(self, tag: str) -> bool:
        n = self._affected([tag])
        if n >= LARGE_CHANGE and not self.confirm("Delete tag", f"Delete '{tag}' from {n:,} images? Undo brings it back."):
            return False
        return self._context.delete_tag(tag)

    # ---- menus and dialogs ----------------------------------------------------

    def _menu(self, pos: QPoint) -> None:
        idx = self.view.indexAt(pos)
        if not idx.isValid():
            return
        tag = str(idx.data(TagNameRole))
        menu = QMenu(self)
        menu.addAction(f"Show images tagged '{tag}'", lambda: self.show_tag(tag))
        menu.addAction("Add to filter (AND)", lambda: self.show_tag(tag, additive=True))
        menu.addAction("Exclude from filter (NOT)", lambda: self.exclude_tag(tag))
        menu.addSeparator()
        targets = self._context.edit_targets()
        add = menu.addAction(f"Add to {len(targets):,} selected", lambda: self._context.add_tag(targets, tag))
        remove = menu.addAction(f"Remove from {len(targets):,} selected (not there)", lambda: self._context.remove_tag(targets, tag))
        remove.setToolTip("Where the tag is on a selected image, record that it is not (won't be suggested again)")
        add.setEnabled(bool(targets))
        remove.setEnabled(bool(targets))
        menu.addSeparator()
        menu.addAction(self.rename_action)
        menu.addAction(self.merge_action)
        menu.addAction(self.delete_action)
        menu.exec(self.view.viewport().mapToGlobal(pos))

    def _ask(self, title: str, text: str) -> bool:
        answer = QMessageBox.question(self, title, text, QMessageBox.StandardButton.Ok | QMessageBox.StandardButton.Cancel)
        return answer == QMessageBox.StandardButton.Ok

    def _ask_text(self, title: str, label: str, value: str) -> str | None:
        text, ok = QInputDialog.getText(self, title, label, QLineEdit.EchoMode.Normal, value)
        return text if ok else None

    def _ask_choice(self, title: str, label: str, items: list[str]) -> str | None:
        item, ok = QInputDialog.getItem(self, title, label, items, 0, False)
        return item if ok else None

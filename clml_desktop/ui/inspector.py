"""The inspector: the current image large, and its tags as chips to edit.

It keeps up with fast navigation because it never decodes on the GUI thread
(`PreviewLoader`, newest request wins) and rebuilds its chips from one small
store query plus the in-memory label index. Every edit goes through the
context, so undo, the grid's badges and the status bar follow by themselves.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QImage, QPalette
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from clml_desktop.ui.chips import ChipKind, TagChip
from clml_desktop.ui.context import AppContext
from clml_desktop.ui.flow_layout import FlowLayout
from clml_desktop.ui.image_tags import ImageTags, image_tags
from clml_desktop.ui.image_view import ImageView
from clml_desktop.ui.preview_loader import shared_loader
from clml_desktop.ui.tag_completer import TagCompleter


def _section_label(text: str, parent: QWidget) -> QLabel:
    label = QLabel(text, parent)
    font = label.font()
    font.setPointSizeF(font.pointSizeF() * 0.9)
    font.setWeight(font.Weight.DemiBold)
    label.setFont(font)
    label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
    return label


def _human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


class Inspector(QWidget):
    """Preview + chips + add-tag field for `context.current_image_id`."""

    tagsShown = Signal()

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Inspector")
        self.context = context
        self.loader = shared_loader(context)
        self.loader.imageReady.connect(self._on_image)
        self.loader.failed.connect(self._on_image_failed)
        self._image_id = -1
        self._path: str | None = None
        self._tags = ImageTags()
        self._shown_id = -1
        self._chip_pool: dict[ChipKind, list[TagChip]] = {}
        self._completer_dirty = True
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(0)
        self._refresh_timer.timeout.connect(self._refresh_tags)

        self.preview = ImageView(self)
        self.preview.set_message("No image selected")

        self.title = QLabel(self)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = self.title.font()
        font.setWeight(font.Weight.DemiBold)
        self.title.setFont(font)
        self.details = QLabel(self)
        self.details.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        # A long file name must not make the dock (and so the window) wider when an
        # image is chosen (issue 13): these labels take the width they are given; the
        # title's tooltip has the whole path.
        for label in (self.title, self.details):
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.problem = QLabel(self)
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #c0392b;")
        self.problem.hide()

        tags_box = QWidget(self)
        self.positive_header = _section_label("Tags", tags_box)
        self.positive_flow = FlowLayout(spacing=5)
        self.suggested_header = _section_label("Suggested", tags_box)
        self.suggested_flow = FlowLayout(spacing=5)
        self.rejected_toggle = QToolButton(tags_box)
        self.rejected_toggle.setCheckable(True)
        self.rejected_toggle.setAutoRaise(True)
        self.rejected_toggle.setToolTip("Show or hide the tags you rejected on this image")
        self.rejected_toggle.toggled.connect(self._on_rejected_toggled)
        self.rejected_flow = FlowLayout(spacing=5)
        self.empty_hint = QLabel("No tags yet — type one below.", tags_box)
        self.empty_hint.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.empty_hint.setWordWrap(True)  # unwrapped, it widened the tags box past a narrow dock and clipped the chips

        box = QVBoxLayout(tags_box)
        box.setContentsMargins(8, 6, 8, 6)
        box.setSpacing(6)
        box.addWidget(self.positive_header)
        box.addLayout(self.positive_flow)
        box.addWidget(self.empty_hint)
        box.addWidget(self.suggested_header)
        box.addLayout(self.suggested_flow)
        box.addWidget(self.rejected_toggle, 0, Qt.AlignmentFlag.AlignLeft)
        box.addLayout(self.rejected_flow)
        box.addStretch(1)

        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(tags_box)
        self.tags_scroll = scroll

        self.add_edit = QLineEdit(self)
        self.add_edit.setClearButtonEnabled(True)
        self.add_edit.setToolTip("Type a tag and press Enter; suggestions are ranked by use")
        self.completer = TagCompleter(self.add_edit)
        self.add_edit.setCompleter(self.completer)
        self.add_edit.returnPressed.connect(self._on_add)
        self.completer.activated.connect(self._on_completion)
        self.add_edit.installEventFilter(self)

        info = QWidget(self)
        info_layout = QVBoxLayout(info)
        info_layout.setContentsMargins(8, 4, 8, 0)
        info_layout.setSpacing(1)
        info_layout.addWidget(self.title)
        info_layout.addWidget(self.details)
        info_layout.addWidget(self.problem)

        lower = QWidget(self)
        lower_layout = QVBoxLayout(lower)
        lower_layout.setContentsMargins(0, 0, 0, 0)
        lower_layout.setSpacing(4)
        lower_layout.addWidget(info)
        lower_layout.addWidget(scroll, 1)
        add_row = QHBoxLayout()
        add_row.setContentsMargins(8, 0, 8, 8)
        add_row.addWidget(self.add_edit)
        lower_layout.addLayout(add_row)

        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(self.preview)
        splitter.addWidget(lower)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        lower.setMinimumHeight(170)
        splitter.setSizes([360, 480])  # a dock-wide photo needs less height than its tags and suggestions
        splitter.setChildrenCollapsible(False)
        self.splitter = splitter

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)

        context.currentImageChanged.connect(self.show_image)
        context.selectionChanged.connect(lambda _ids: self._update_placeholder())
        context.labelsChanged.connect(self._on_labels_changed)
        context.indexChanged.connect(self._on_index_changed)
        context.tagsChanged.connect(self._on_tags_changed)
        context.collectionClosed.connect(self._on_collection_closed)
        context.collectionOpened.connect(self._on_collection_opened)
        self._update_placeholder()
        self.show_image(context.current_image_id)

    # ---- public -----------------------------------------------------------

    @property
    def image_id(self) -> int:
        return self._image_id

    @property
    def shown_tags(self) -> ImageTags:
        """What the chips show now (tests and the review view read it)."""
        return self._tags

    def chips(self, kind: ChipKind | None = None) -> list[TagChip]:
        flows = {
            ChipKind.POSITIVE: [self.positive_flow],
            ChipKind.SUGGESTED: [self.suggested_flow],
            ChipKind.REJECTED: [self.rejected_flow],
            None: [self.positive_flow, self.suggested_flow, self.rejected_flow],
        }[kind]
        out: list[TagChip] = []
        for flow in flows:
            for i in range(flow.count()):
                widget = flow.itemAt(i).widget()
                if isinstance(widget, TagChip) and not widget.isHidden():
                    out.append(widget)
        return out

    def focus_add_tag(self) -> None:
        """Put the cursor in the add-tag field (the shell binds a key to this)."""
        self.add_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.add_edit.selectAll()

    def add_tag(self, text: str) -> bool:
        """Add `text` to the edit targets (selection, else the current image)."""
        tag = text.strip()
        targets = self._targets()
        if not tag or not targets:
            return False
        return self.context.add_tag(targets, tag)

    def set_show_rejected(self, show: bool) -> None:
        self.rejected_toggle.setChecked(show)

    def shutdown(self) -> None:
        """Wait for preview decodes (window close, tests)."""
        self.loader.shutdown()

    def set_preview_shown(self, shown: bool) -> None:
        """Show or fold away the photo. Review mode already shows the photo large
        in the middle; there the inspector gives all its height to the tags."""
        self.preview.setVisible(shown)

    def show_image(self, image_id: int) -> None:
        """Show `image_id` (-1 for none): preview from cache or off-thread, chips at once."""
        self._image_id = int(image_id)
        store = self.context.store
        if self._image_id < 0 or store is None:
            self._path = None
            self.loader.request(None)
            self.preview.set_message("No image selected")
            self.title.setText("")
            self.details.setText("")
            self.problem.hide()
            self._tags = ImageTags()
            self._shown_id = -1
            self._rebuild_chips()
            self._update_placeholder()
            return
        try:
            row = store.image(self._image_id)
        except Exception as exc:
            self.preview.set_message(f"Image {self._image_id} is not in the collection ({exc})")
            return
        self._path = str(Path(store.root) / row.path)
        self.title.setText(row.path)
        self.title.setToolTip(self._path)
        dims = f"{row.width} × {row.height}" if row.width and row.height else "size unknown"
        self.details.setText(f"{dims}  ·  {_human_size(row.size)}")
        shown = "\n".join(f"⚠ {p}" for p in (row.problem, row.tag_file_problem) if p)
        self.problem.setVisible(bool(shown))
        self.problem.setText(shown)
        image = self.loader.request(self._path)
        if image is not None:
            self.preview.set_image(image)
        elif self.preview.image is None:
            self.preview.set_message("Loading…")
        self._refresh_tags()
        self._update_placeholder()

    # ---- events -----------------------------------------------------------

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if obj is self.add_edit and event.type() == QEvent.Type.FocusIn and self._completer_dirty:
            self._refresh_completer()
        if obj is self.add_edit and event.type() == QEvent.Type.KeyPress:
            if event.key() == Qt.Key.Key_Escape and not self.completer.popup().isVisible():
                self.add_edit.clear()
                self.add_edit.clearFocus()
                return True
        return super().eventFilter(obj, event)

    def _on_collection_closed(self) -> None:
        self.add_edit.clear()
        self.show_image(-1)

    def _on_collection_opened(self, _store: object) -> None:
        self.add_edit.clear()
        self.loader.clear()
        self._completer_dirty = True
        if self._image_id != self.context.current_image_id:
            self.show_image(self.context.current_image_id)

    def _on_image(self, path: str, image: QImage) -> None:
        if path == self._path:
            self.preview.set_image(image)

    def _on_image_failed(self, path: str, message: str) -> None:
        if path == self._path:
            self.preview.set_message(f"Cannot show this image:\n{message}")

    def _on_labels_changed(self, image_ids: list) -> None:
        if not image_ids or self._image_id in image_ids:
            self._refresh_timer.start()
        self._completer_dirty = True

    def _on_index_changed(self) -> None:
        self._completer_dirty = True
        self._refresh_timer.start()

    def _on_tags_changed(self) -> None:
        self._completer_dirty = True
        self._refresh_timer.start()

    def _on_rejected_toggled(self, _checked: bool) -> None:
        self._rebuild_chips()
        self.tagsShown.emit()

    def _on_completion(self, text: str) -> None:
        """Choosing from the popup adds the tag at once (one Enter, not two); deferred
        because the line edit itself writes the completion after this signal."""

        def add() -> None:
            self.add_edit.setText(text)
            self._on_add()

        QTimer.singleShot(0, add)

    def _on_add(self) -> None:
        text = self.add_edit.text()
        if self.add_tag(text):
            self.add_edit.clear()

    # ---- internals --------------------------------------------------------

    def _targets(self) -> list[int]:
        selection = self.context.selected_ids
        if self._image_id >= 0 and (len(selection) <= 1 or self._image_id not in selection):
            return [self._image_id]
        return selection

    def _update_placeholder(self) -> None:
        n = len(self._targets())
        if n > 1:
            self.add_edit.setPlaceholderText(f"Add a tag to the {n} selected images…")
        else:
            self.add_edit.setPlaceholderText("Add a tag…  (Enter)")
        self.add_edit.setEnabled(n > 0)

    def _refresh_completer(self) -> None:
        index = self.context.index
        positives, _pending, _neg = index.tag_counts()
        counts = [(name, int(positives[i])) for i, name in enumerate(index.tag_names)]
        store = self.context.store
        if not counts and store is not None:
            counts = [(t.name, t.positives) for t in store.tag_counts()]
        self.completer.set_counts(counts)
        self._completer_dirty = False

    def _refresh_tags(self) -> None:
        store = self.context.store
        if store is None or self._image_id < 0:
            self._tags = ImageTags()
        else:
            try:
                labels = store.labels_of(self._image_id)
            except Exception as exc:
                self.context.show_status(f"Could not read the labels of this image: {exc}")
                labels = []
            tags = image_tags(labels, self.context.index, self._image_id)
            if tags == self._tags and self._shown_id == self._image_id:
                return
            self._tags = tags
        self._shown_id = self._image_id
        self._rebuild_chips()
        self.tagsShown.emit()

    def _rebuild_chips(self) -> None:
        tags = self._tags
        parent = self.tags_scroll.widget()
        parent.setUpdatesEnabled(False)
        show_rejected = self.rejected_toggle.isChecked()
        self._fill(ChipKind.POSITIVE, [(tag, {"source": source}) for tag, source in tags.positives])
        self._fill(ChipKind.SUGGESTED, [(s.tag, {"score": s.score, "threshold": s.threshold}) for s in tags.suggested])
        self._fill(ChipKind.REJECTED, [(tag, {}) for tag in tags.rejected] if show_rejected else [])
        n_pos = len(tags.positives)
        self.positive_header.setText(f"Tags ({n_pos})" if n_pos else "Tags")
        self.empty_hint.setVisible(self._image_id >= 0 and n_pos == 0)
        self.suggested_header.setVisible(bool(tags.suggested))
        self.suggested_header.setText(f"Suggested ({len(tags.suggested)})")
        n_rej = len(tags.rejected)
        self.rejected_toggle.setVisible(n_rej > 0)
        arrow = "▾" if show_rejected else "▸"
        self.rejected_toggle.setText(f"{arrow} Rejected ({n_rej})")
        for flow in (self.positive_flow, self.suggested_flow, self.rejected_flow):
            flow.invalidate()
        parent.setUpdatesEnabled(True)
        parent.updateGeometry()

    def _fill(self, kind: ChipKind, items: list[tuple[str, dict]]) -> None:
        """Show `items` as chips of `kind`, reusing the chips made before (hidden when spare)."""
        flow = {ChipKind.POSITIVE: self.positive_flow, ChipKind.SUGGESTED: self.suggested_flow,
                ChipKind.REJECTED: self.rejected_flow}[kind]
        pool = self._chip_pool.setdefault(kind, [])
        parent = self.tags_scroll.widget()
        for i, (tag, extra) in enumerate(items):
            if i < len(pool):
                chip = pool[i]
                chip.configure(tag, **extra)
            else:
                chip = TagChip(tag, kind, parent=parent, **extra)
                chip.removeRequested.connect(self._remove)
                chip.acceptRequested.connect(self._accept)
                chip.rejectRequested.connect(self._reject)
                chip.restoreRequested.connect(self._forget)
                flow.addWidget(chip)
                pool.append(chip)
            chip.show()
        for chip in pool[len(items):]:
            chip.hide()

    def _remove(self, tag: str) -> None:
        if self._image_id >= 0:
            self.context.remove_tag([self._image_id], tag)

    def _forget(self, tag: str) -> None:
        if self._image_id >= 0:
            self.context.forget_tag([self._image_id], tag)

    def _accept(self, tag: str) -> None:
        if self._image_id >= 0:
            self.context.accept_suggestion([self._image_id], tag)

    def _reject(self, tag: str) -> None:
        if self._image_id >= 0:
            self.context.reject_tag([self._image_id], tag)

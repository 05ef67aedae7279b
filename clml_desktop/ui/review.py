"""Review mode: go through the model's suggestions with one key per decision.

Built for speed: a key press writes one small edit through the context and
moves on at once (no dialogs, no waiting on a decode: the next images are
decoded ahead by the `PreviewLoader`). The queue comes from
`clml_desktop.workflow.review_queue.load_queue` in a background job (own
store connection); `ReviewQueue` walks it; this widget only wires keys to both.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QImage, QKeyEvent, QKeySequence, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from clml_desktop.collection.labels import LabelState
from clml_desktop.inference.likely_text import likely_text, shown_from_text
from clml_desktop.jobs.worker import Worker
from clml_desktop.ui.context import AppContext
from clml_desktop.ui.image_view import ImageView
from clml_desktop.ui.preview_loader import shared_loader
from clml_desktop.ui.review_model import ReviewTableModel
from clml_desktop.ui.score_bar import ScoreBar
from clml_desktop.workflow.review_queue import (
    ReviewItem,
    ReviewMode,
    ReviewOrder,
    ReviewQueue,
    Verdict,
    load_queue,
)

PRELOAD_IMAGES = 4


@dataclass(frozen=True)
class ReviewKey:
    """One review command: its keys (the first is shown on the button), its name in
    the help, what it does, and a shorter button caption where the name is long."""

    command: str
    keys: tuple[str, ...]
    label: str
    help: str
    button: str = ""


REVIEW_KEYS: tuple[ReviewKey, ...] = (
    ReviewKey("accept", ("A", "Y"), "Accept", "Accept the suggestion (the tag becomes confirmed)"),
    ReviewKey("reject", ("R", "N"), "Reject", "Reject the suggestion (a known negative for training)"),
    ReviewKey("skip", ("S", "Space"), "Skip", "Skip this suggestion for now"),
    ReviewKey("accept_image", ("Shift+A",), "Accept all here",
              "Accept every suggestion shown on this image", "All here"),
    ReviewKey("previous_image", ("Left", "K"), "Previous image", "Back to the previous image", "Previous"),
    ReviewKey("next_image", ("Right", "J"), "Next image", "Leave this image's other suggestions for later", "Next"),
    ReviewKey("step_back", ("U", "Backspace"), "Undo", "Undo the last decision and go back to it"),
)


PRIMARY_COMMANDS = ("accept", "reject", "skip")
KEY_GLYPHS = {"Left": "←", "Right": "→", "Shift+A": "⇧A"}


def _key_lookup() -> dict[tuple[int, int], str]:
    table: dict[tuple[int, int], str] = {}
    for spec in REVIEW_KEYS:
        for text in spec.keys:
            combo = QKeySequence(text)[0]
            table[(combo.key().value, combo.keyboardModifiers().value)] = spec.command
    return table


class ReviewView(QWidget):
    """The review page: preview, the question, key buttons, and the queue beside."""

    queueLoaded = Signal(int)
    decided = Signal(str, str, int)  # verdict, tag, image id

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ReviewView")
        self.context = context
        self.queue: ReviewQueue | None = None
        self._pairs: list = []
        self._worker: Worker | None = None
        self._stale = True
        self._keys = _key_lookup()
        self.loader = shared_loader(context)
        self.loader.imageReady.connect(self._on_image)
        self.loader.failed.connect(self._on_image_failed)
        self._shown_path: str | None = None
        self._edits: list[int] = []
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

        self.mode_box = QComboBox(self)
        self.mode_box.addItem("One suggestion at a time", ReviewMode.PAIRS.value)
        self.mode_box.addItem("Image by image", ReviewMode.IMAGES.value)
        self.mode_box.setToolTip("Walk the queue suggestion by suggestion, or finish each image first")
        self.order_box = QComboBox(self)
        self.order_box.addItem("Most confident first", ReviewOrder.CONFIDENT.value)
        self.order_box.addItem("Most uncertain first", ReviewOrder.UNCERTAIN.value)
        self.order_box.setToolTip(
            "Most confident: fast acceptance. Most uncertain: the answers that teach the model most."
        )
        for box in (self.mode_box, self.order_box):
            box.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.mode_box.currentIndexChanged.connect(lambda _i: self._rearrange())
        self.order_box.currentIndexChanged.connect(lambda _i: self.reload())
        self.progress_label = QLabel(self)
        self.progress_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.progress_label.setMinimumWidth(120)
        self.reload_button = QPushButton("Reload", self)
        self.reload_button.setToolTip("Rebuild the queue from the current suggestions")
        self.reload_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.reload_button.clicked.connect(self.reload)

        top = QHBoxLayout()
        top.setContentsMargins(10, 8, 10, 4)
        top.addWidget(QLabel("Review:", self))
        top.addWidget(self.mode_box)
        top.addWidget(self.order_box)
        top.addSpacing(12)
        top.addWidget(self.progress_label, 1)
        top.addWidget(self.reload_button)

        self.preview = ImageView(self)
        self.path_label = QLabel(self)
        self.path_label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.path_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.question = QLabel(self)
        self.question.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.question.setTextFormat(Qt.TextFormat.RichText)
        font = self.question.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        self.question.setFont(font)
        self.score_bar = ScoreBar(self)
        self.context_label = QLabel(self)
        self.context_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.context_label.setWordWrap(True)
        self.context_label.setForegroundRole(QPalette.ColorRole.PlaceholderText)

        self.buttons: dict[str, QPushButton] = {}
        self._tips: dict[str, str] = {}
        primary_row = QHBoxLayout()
        secondary_row = QHBoxLayout()
        for row in (primary_row, secondary_row):
            row.setSpacing(6)
            row.addStretch(1)
        for spec in REVIEW_KEYS:
            key = KEY_GLYPHS.get(spec.keys[0], spec.keys[0])
            button = QPushButton(f"{spec.button or spec.label}  ({key})", self)
            self._tips[spec.command] = f"{spec.help} — {' or '.join(spec.keys)}"
            button.setToolTip(self._tips[spec.command])
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.clicked.connect(lambda _c=False, cmd=spec.command: self.run_command(cmd))
            if spec.command in PRIMARY_COMMANDS:
                button.setMinimumWidth(130)
                button.setMinimumHeight(34)
                primary_row.addWidget(button)
            else:
                secondary_row.addWidget(button)
            self.buttons[spec.command] = button
        for row in (primary_row, secondary_row):
            row.addStretch(1)
        self._style_verdict_buttons()

        centre = QWidget(self)
        centre_layout = QVBoxLayout(centre)
        centre_layout.setContentsMargins(10, 0, 10, 10)
        centre_layout.setSpacing(6)
        centre_layout.addWidget(self.preview, 1)
        centre_layout.addWidget(self.path_label)
        centre_layout.addWidget(self.question)
        bar_row = QHBoxLayout()
        bar_row.addStretch(1)
        bar_row.addWidget(self.score_bar)
        bar_row.addStretch(1)
        centre_layout.addLayout(bar_row)
        centre_layout.addWidget(self.context_label)
        centre_layout.addLayout(primary_row)
        centre_layout.addLayout(secondary_row)

        self.model = ReviewTableModel(self)
        self.table = QTableView(self)
        self.table.setModel(self.model)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        # Widths from the font, not pixels: the image name must stay readable
        # beside a typical tag at 1440 px with both docks open.
        metrics = self.table.fontMetrics()
        header = self.table.horizontalHeader()
        widths = (metrics.horizontalAdvance("✓") + 14, metrics.horizontalAdvance("long hair") + 18,
                  metrics.horizontalAdvance("100%") + 18)
        for column, width in enumerate(widths):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
            header.resizeSection(column, width)
        header.setStretchLastSection(True)
        self.table.clicked.connect(self._on_table_clicked)
        self.table.setMinimumWidth(sum(widths) + metrics.horizontalAdvance("img_0000.jpg") + 60)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(centre)
        splitter.addWidget(self.table)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 0)
        splitter.setSizes([600, self.table.minimumWidth()])
        splitter.setChildrenCollapsible(False)

        line = QFrame(self)
        line.setFrameShape(QFrame.Shape.HLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(top)
        layout.addWidget(line)
        layout.addWidget(splitter, 1)

        context.suggestionsChanged.connect(self._mark_stale)
        context.collectionOpened.connect(lambda _s: self._mark_stale())
        context.collectionClosed.connect(self._on_closed)
        self._show_current()

    # ---- public -------------------------------------------------------------

    @property
    def mode(self) -> ReviewMode:
        return ReviewMode(self.mode_box.currentData())

    @property
    def order(self) -> ReviewOrder:
        return ReviewOrder(self.order_box.currentData())

    def set_mode(self, mode: ReviewMode) -> None:
        self.mode_box.setCurrentIndex(self.mode_box.findData(mode.value))

    def set_order(self, order: ReviewOrder) -> None:
        self.order_box.setCurrentIndex(self.order_box.findData(order.value))

    def is_loading(self) -> bool:
        """True from `reload()` until its queue (or its error) has been taken in."""
        return self._worker is not None

    def reload(self) -> None:
        """Rebuild the queue in the background from the active model's suggestions."""
        store = self.context.store
        if store is None:
            return
        if self._worker is not None:
            self._worker.cancel()
        self._stale = False
        self.progress_label.setText("Loading suggestions…")
        worker = Worker(load_queue, Path(store.root), self.order.value, name="Loading the review queue")
        worker.signals.result.connect(lambda pairs, w=worker: self._on_queue(w, pairs))
        worker.signals.error.connect(lambda message, w=worker: self._on_queue_error(w, message))
        self._worker = worker
        self.context.start_job(worker)

    def shutdown(self) -> None:
        """Stop the queue job and preview decodes (window close, tests)."""
        if self._worker is not None:
            self._worker.cancel()
            self._worker.wait(5.0)
            self._worker = None
        self.loader.shutdown()

    def run_command(self, command: str) -> None:
        """Run a review command by name (keys and buttons both end here)."""
        handler = getattr(self, f"cmd_{command}", None)
        if handler is not None:
            handler()
            self.setFocus(Qt.FocusReason.OtherFocusReason)

    # ---- commands -----------------------------------------------------------

    def cmd_accept(self) -> None:
        self._decide(Verdict.ACCEPTED)

    def cmd_reject(self) -> None:
        self._decide(Verdict.REJECTED)

    def cmd_skip(self) -> None:
        self._decide(Verdict.SKIPPED)

    def cmd_accept_image(self) -> None:
        queue = self.queue
        if queue is None or queue.current is None:
            return
        image_id = queue.current.image_id
        items = queue.accept_image_above_threshold()
        if items:
            self.context.accept_suggestions(image_id, [item.tag for item in items])
            self._edits.append(1)
        rows = [queue.items.index(item) for item in items]
        self.context.show_status(
            f"Accepted {len(items)} suggestion{'s' if len(items) != 1 else ''} on this image"
            if items else "No suggestion is shown on this image"
        )
        self._after_move(rows)

    def cmd_next_image(self) -> None:
        if self.queue is not None:
            self.queue.next_image()
            self._after_move()

    def cmd_previous_image(self) -> None:
        if self.queue is not None:
            self.queue.previous_image()
            self._after_move()

    def cmd_step_back(self) -> None:
        """Undo the last review decision in the store and show it again."""
        queue = self.queue
        if queue is None:
            return
        last = queue.last_decision()
        if not last:
            self.context.show_status("Nothing to undo in this review")
            return
        edits = self._edits.pop() if any(i.verdict in (Verdict.ACCEPTED, Verdict.REJECTED) for i in last) else 0
        for _ in range(edits):
            self.context.undo()
        cleared = queue.step_back()
        self._after_move([queue.items.index(item) for item in cleared])

    # ---- events -------------------------------------------------------------

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt override)
        mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        command = self._keys.get((event.key(), mods.value))
        if command is None:
            super().keyPressEvent(event)
            return
        event.accept()
        self.run_command(command)

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().changeEvent(event)
        if event.type() == event.Type.PaletteChange:
            self._style_verdict_buttons()

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        if self._stale and self.context.store is not None:
            self.reload()
        else:
            self._shown_path = None
            self._show_current()
        self.setFocus(Qt.FocusReason.OtherFocusReason)

    # ---- internals ------------------------------------------------------------

    def _style_verdict_buttons(self) -> None:
        """Green accept, red reject, in shades readable on light and dark palettes."""
        dark = self.palette().color(QPalette.ColorRole.Window).lightness() < 128
        colours = {"accept": "#6fd69b" if dark else "#1f7a43", "reject": "#f08a7c" if dark else "#b03a2e"}
        for command, colour in colours.items():
            # Only while enabled: a disabled button must look disabled (palette's
            # Disabled ButtonText), not keep its bright verdict colour.
            self.buttons[command].setStyleSheet(
                f"QPushButton:enabled {{ color: {colour}; font-weight: bold; }}"
            )

    def _disabled_reason(self) -> str:
        """Why the verdict buttons are disabled (their tooltip then)."""
        store = self.context.store
        if store is None:
            return "Open a folder first"
        if store.active_model() is None:
            return "Train a model first"
        if self.is_loading():
            return "Loading suggestions…"
        return "No suggestion to review"

    def _mark_stale(self) -> None:
        self._stale = True
        if self.isVisible():
            self.reload()

    def _on_closed(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            self._worker = None
        self._set_queue([])
        self.loader.clear()

    def _on_queue(self, worker: Worker, pairs: list) -> None:
        if worker is not self._worker or self.context.store is None:
            return
        self._worker = None
        self._set_queue(pairs)
        self.queueLoaded.emit(len(pairs))

    def _on_queue_error(self, worker: Worker, message: str) -> None:
        if worker is not self._worker:
            return
        self._worker = None
        self._set_queue([])
        self.progress_label.setText("Could not load suggestions")
        self.question.setText("Could not load the suggestions.")
        self.context_label.setText(message)
        self.context.show_status(message)

    def _set_queue(self, pairs: list) -> None:
        self._pairs = list(pairs)
        self._rearrange()

    def _rearrange(self) -> None:
        self.queue = ReviewQueue(self._pairs, self.mode, is_open=self._is_open)
        self._edits = []
        self.model.set_queue(self.queue)
        self._after_move()

    def _is_open(self, item: ReviewItem) -> bool:
        index = self.context.index
        row, col = index.row_of(item.image_id), index.column_of(item.tag)
        if row is None or col is None:
            return True
        return int(index.states[row, col]) == LabelState.UNKNOWN

    def _decide(self, verdict: Verdict) -> None:
        queue = self.queue
        if queue is None or queue.current is None:
            return
        item = queue.current
        if verdict is Verdict.ACCEPTED:
            ok = self.context.accept_suggestion([item.image_id], item.tag)
        elif verdict is Verdict.REJECTED:
            ok = self.context.reject_tag([item.image_id], item.tag)
        else:
            ok = True
        if not ok:
            return
        queue.decide(verdict)
        if verdict is not Verdict.SKIPPED:
            self._edits.append(1)
        self.decided.emit(verdict.value, item.tag, item.image_id)
        self._after_move()

    def _after_move(self, rows: list[int] | None = None) -> None:
        self.model.refresh(rows)
        self._show_current()
        queue = self.queue
        if queue is not None and queue.current is not None:
            index = self.model.index(queue.pos, 0)
            self.table.selectRow(queue.pos)
            self.table.scrollTo(index, QAbstractItemView.ScrollHint.EnsureVisible)

    def _path_of(self, relpath: str) -> str:
        store = self.context.store
        root = Path(store.root) if store is not None else Path(".")
        return str(root / relpath)

    def _show_current(self) -> None:
        queue = self.queue
        item = queue.current if queue is not None else None
        self._update_progress()
        enabled = item is not None
        reason = self._disabled_reason() if not enabled else ""
        for command, button in self.buttons.items():
            button.setEnabled(enabled)
            button.setToolTip(self._tips[command] if enabled else reason)
        visible = self.isVisible()
        if item is None:
            self._shown_path = None
            if visible:
                self.loader.request(None)
            self.score_bar.hide()
            self.path_label.setText("")
            self.context_label.setText("")
            if self.context.store is None:
                self.question.setText("Open a folder to review its suggestions.")
            elif self.is_loading():
                self.question.setText("Loading suggestions…")
            elif queue is None or not queue.items:
                no_model = self.context.store.active_model() is None
                self.question.setText(
                    "No model yet: press Train to learn from your tags and get suggestions."
                    if no_model else "No suggestions to review."
                )
            else:
                self.question.setText("All done. Train again to get fresh suggestions.")
            self.preview.set_message("")
            return
        pair = item.pair
        if visible:
            self.context.set_current_image(pair.image_id)
        path = self._path_of(pair.path)
        if visible and path != self._shown_path:
            self._shown_path = path
            image = self.loader.request(path)
            if image is not None:
                self.preview.set_image(image)
            else:
                self.preview.set_message("Loading…", keep_image=True)
        if visible:
            upcoming = queue.upcoming_images(PRELOAD_IMAGES)
            paths_of = {i.image_id: i.pair.path for i in queue.items if i.image_id in upcoming}
            self.loader.preload([self._path_of(paths_of[i]) for i in upcoming])
        new = " <span style='font-size:small'>(new tag)</span>" if pair.is_new_tag else ""
        self.question.setText(f"Is <b>{pair.tag}</b>{new} in this image?")
        self.score_bar.show()
        self.score_bar.set_score(
            pair.score, pair.threshold, f"{likely_text(pair.score)}  ·  {shown_from_text(pair.threshold)}"
        )
        self.path_label.setText(pair.path)
        others = [i for i in queue.image_items(pair.image_id) if i is not item]
        if others:
            parts = []
            for other in others:
                mark = {Verdict.ACCEPTED: "✓ ", Verdict.REJECTED: "✗ ", Verdict.SKIPPED: "→ "}.get(other.verdict, "")
                parts.append(f"{mark}{other.tag} {likely_text(other.pair.score)}")
            self.context_label.setText("Also suggested here: " + ",  ".join(parts))
        else:
            self.context_label.setText("")

    def _update_progress(self) -> None:
        queue = self.queue
        if queue is None or not queue.items:
            self.progress_label.setText("" if not self.is_loading() else "Loading suggestions…")
            return
        c = queue.counts()
        done = len(queue) - c["left"]
        self.progress_label.setText(
            f"{done:,} of {len(queue):,} done  ·  ✓ {c['accepted']:,}  ✗ {c['rejected']:,}  → {c['skipped']:,}"
        )
        self.progress_label.setToolTip(
            f"{c['accepted']:,} accepted, {c['rejected']:,} rejected, {c['skipped']:,} skipped, {c['left']:,} left"
        )

    def _on_image(self, path: str, image: QImage) -> None:
        if path == self._shown_path:
            self.preview.set_image(image)

    def _on_image_failed(self, path: str, message: str) -> None:
        if path == self._shown_path:
            self.preview.set_message(f"Cannot show this image:\n{message}")

    def _on_table_clicked(self, index: QModelIndex) -> None:
        if self.queue is not None and index.isValid():
            self.queue.go_to(index.row())
            self._after_move()
            self.setFocus(Qt.FocusReason.MouseFocusReason)

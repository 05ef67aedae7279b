"""The collection's trained models: when, how good on held-out labels, trained from
which, and which one suggestions come from. Switching is one click.

Why a switch is cheap: every model's scores are cached per image version in
the store, so going back to an older model shows its suggestions at once;
only images that model never scored run through it, in the background.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from clml_desktop.collection.rows import ModelRow
from clml_desktop.jobs.worker import Worker
from clml_desktop.workflow.scoring import rescore_active_model

COLUMNS = ("", "Model", "Created", "Held-out mAP", "Images", "Parent")

Index = QModelIndex | QPersistentModelIndex


def format_created(text: str) -> str:
    """ISO-8601 → local 'YYYY-MM-DD HH:MM' (the raw text when it does not parse)."""
    try:
        return datetime.fromisoformat(text).astimezone().strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError):
        return text or "—"


def format_map(metrics: dict) -> str:
    value = metrics.get("val_map")
    return f"{value:.3f}" if isinstance(value, int | float) else "—"


def format_images(metrics: dict) -> str:
    train, held = metrics.get("train_images"), metrics.get("holdout_images")
    if isinstance(train, int) and isinstance(held, int):
        return f"{train:,} + {held:,} held out"
    if isinstance(train, int):
        return f"{train:,}"
    return "—"


def metric_provenance(metrics: dict) -> list[str]:
    """Where the held-out numbers come from, in words: a person comparing models
    must see whether a mAP was measured out-of-fold, on confirmed images or on
    a held-out share, and how well its percentages held on confirmed images."""
    lines = []
    scores, images, basis = metrics.get("val_scores"), metrics.get("val_images"), metrics.get("val_images_basis")
    if scores:
        on = f" on {images:,} images" if isinstance(images, int) else ""
        lines.append(f"mAP from {scores} scores{on}" + (f" ({basis})" if basis else ""))
    check = metrics.get("calibration_confirmed")
    if isinstance(check, dict) and isinstance(check.get("ece"), int | float):
        lines.append(f"percentages off by {100 * check['ece']:.1f} points on average on "
                     f"{check.get('images', 0):,} confirmed images")
    if metrics.get("weights"):
        lines.append(f"weights: {metrics['weights']}")
    return lines


class ModelsTableModel(QAbstractTableModel):
    """Rows are `ModelRow`s, newest first; the active one is marked and bold."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._rows: list[ModelRow] = []
        self._bold = QFont()
        self._bold.setWeight(QFont.Weight.Bold)

    def set_models(self, rows: list[ModelRow]) -> None:
        self.beginResetModel()
        self._rows = sorted(rows, key=lambda r: (r.created or "", r.id), reverse=True)
        self.endResetModel()

    def model_at(self, row: int) -> ModelRow | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of(self, model_id: str) -> int:
        return next((i for i, r in enumerate(self._rows) if r.id == model_id), -1)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008 (Qt API)
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (
                "●" if row.active else "",
                row.id,
                format_created(row.created),
                format_map(row.metrics),
                format_images(row.metrics),
                row.parent or "—",
            )[col]
        if role == Qt.ItemDataRole.FontRole and row.active:
            return self._bold
        if role == Qt.ItemDataRole.ToolTipRole:
            basis = row.metrics.get("val_map_basis") or row.metrics.get("holdout_basis") or ""
            lines = [f"{row.id}{'  (active)' if row.active else ''}", f"folder: {row.path}",
                     f"{len(row.tags)} tags"]
            if basis:
                lines.append(f"held-out labels: {basis}")
            lines.extend(metric_provenance(row.metrics))
            return "\n".join(lines)
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (0, 3):
            return int(Qt.AlignmentFlag.AlignCenter)
        return None


class ModelsPanel(QWidget):
    """A table of models and a button to make the selected one active."""

    activeChanged = Signal(str)

    def __init__(self, context, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ModelsPanel")
        self.context = context
        self._rescore: Worker | None = None
        self.model = ModelsTableModel(self)
        self.table = QTableView(self)
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setStretchLastSection(False)
        self.table.doubleClicked.connect(lambda index: self.activate_row(index.row()))
        self.table.selectionModel().selectionChanged.connect(lambda *_a: self._update_buttons())

        self.title = QLabel("Models", self)
        font = self.title.font()
        font.setWeight(QFont.Weight.DemiBold)
        self.title.setFont(font)
        self.activate_button = QPushButton("Make active", self)
        self.activate_button.setToolTip("Take suggestions from the selected model (double-click works too)")
        self.activate_button.clicked.connect(self.activate_selected)
        self.empty_hint = QLabel("No model yet. Press Train to make the first one.", self)
        self.empty_hint.setForegroundRole(QPalette.ColorRole.PlaceholderText)

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.title)
        top.addStretch(1)
        top.addWidget(self.activate_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 10)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.empty_hint)

        context.collectionOpened.connect(lambda _s: self.refresh())
        context.collectionClosed.connect(self.refresh)
        context.modelChanged.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        store = self.context.store
        rows = store.models() if store is not None else []
        self.model.set_models(rows)
        self.empty_hint.setVisible(store is not None and not rows)
        active = next((r for r in rows if r.active), None)
        if active is not None:
            self.table.selectRow(self.model.row_of(active.id))
        self._update_buttons()

    def selected_model(self) -> ModelRow | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.model_at(rows[0].row()) if rows else None

    def activate_selected(self) -> None:
        model = self.selected_model()
        if model is not None:
            self.activate(model.id)

    def activate_row(self, row: int) -> None:
        model = self.model.model_at(row)
        if model is not None:
            self.activate(model.id)

    def activate(self, model_id: str) -> bool:
        """Make `model_id` the source of suggestions (through the context, which says
        so and tells every view) and score what it has not seen."""
        if not self.context.set_active_model(model_id):
            return False
        self.activeChanged.emit(model_id)
        self.rescore()
        return True

    def rescore(self) -> Worker | None:
        """Score images the active model has no current score for (in the background)."""
        store = self.context.store
        if store is None:
            return None
        if self._rescore is not None and not self._rescore.is_done:
            self._rescore.cancel()
        worker = Worker(rescore_active_model, Path(store.root), self.context.settings.device,
                        name="Scoring images with the active model")
        worker.signals.result.connect(self._on_rescored)
        worker.signals.error.connect(self.context.show_status)
        self._rescore = worker
        self.context.start_job(worker)
        return worker

    def shutdown(self) -> None:
        if self._rescore is not None:
            self._rescore.cancel()
            self._rescore.wait(10.0)

    def _on_rescored(self, report) -> None:
        """Say what scoring did; nothing when there was nothing to score (a model that
        already has every image's score: switching back to it is instant, not news)."""
        if report is None or (report.scored == 0 and not report.problems):
            return
        problems = f"; {len(report.problems)} could not be read" if report.problems else ""
        self.context.scores_written(
            report.scored,
            f"Scored {report.scored} image{'s' if report.scored != 1 else ''} with model "
            f"{report.model_id} on {report.provider}{problems}",
        )

    def _update_buttons(self) -> None:
        model = self.selected_model()
        self.activate_button.setEnabled(model is not None and not model.active)

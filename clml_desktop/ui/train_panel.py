"""One-click retrain: the Train button, live progress, the trainer's log, the models.

The trainer is a separate process, run by the workflow's client in a worker
(`TrainerProcess`), so the window stays fully usable and a crash or out-of-memory there shows up here as a message
and a log — never as lost work. Train first shows what will run, in words
(`TrainConfirmDialog`). On success the new model is listed and made active
unless it scores worse than the active model on the same images (then the
panel says so and Make active still uses it); the images the active model
has no score for are scored in the background. While a run goes,
`status_indicator` (in the window's status bar) shows it from every page.
"""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Qt, QThreadPool, Signal
from PySide6.QtGui import QFont, QFontDatabase, QPalette
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from clml_contract.events import (
    DownloadEvent,
    EpochEvent,
    ProgressEvent,
    StartEvent,
    TrainerEvent,
    WarningEvent,
)
from clml_desktop.jobs.tracker import JobTracker
from clml_desktop.jobs.trainer_process import TrainerPhase, TrainerProcess
from clml_desktop.jobs.worker import Worker
from clml_desktop.ui.models_panel import ModelsPanel
from clml_desktop.ui.train_dialog import TrainConfirmDialog, TrainDialog, load_options
from clml_desktop.workflow import training_text
from clml_desktop.workflow.run_progress import RunProgress
from clml_desktop.workflow.trainer_env import trainer_status

TRAINER_UNCHECKED = "Trainer: not checked yet"
TRAINER_CHECKING = "Trainer: checking which Python trains (starting PyTorch)…"
WARNING_STYLE = (
    "QLabel { background: #fff4d6; color: #6b4e00; border: 1px solid #e8c66a;"
    " border-radius: 4px; padding: 6px 8px; }"
)
IDLE_TEXT = "Ready to train on your confirmed tags and rejections"
PHASE_TEXT = {
    TrainerPhase.IDLE: IDLE_TEXT,
    TrainerPhase.PREPARING: "Writing the training set…",
    TrainerPhase.TRAINING: "Starting the trainer…",
    TrainerPhase.REGISTERING: "Registering the new model…",
    TrainerPhase.CANCELLING: "Cancelling…",
}


class TrainStatusIndicator(QToolButton):
    """`Training: 34% · 1 min 05 s left` in the window's status bar while a run goes;
    hidden otherwise. A click asks for the Train page (`openRequested`)."""

    openRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("trainStatus")
        self.setAutoRaise(True)
        self.setToolTip("A training run is going; click to see it (Training and Models)")
        self.clicked.connect(self.openRequested.emit)
        self.hide()

    def show_text(self, text: str | None) -> None:
        """Show `text`, or hide when None (no run)."""
        if text is None:
            self.hide()
            return
        self.setText(text)
        self.show()


class TrainPanel(QWidget):
    """Train / Options… / Cancel, a progress block, the log, and the models list."""

    def __init__(self, context, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("TrainPanel")
        self.context = context
        self.status_indicator = TrainStatusIndicator(self)
        self.confirm_dialog: TrainConfirmDialog | None = None
        self._showing_result = False
        # Closing or switching the collection stops the context's jobs and waits for them; a
        # training run outlives that by design (its model lands in the collection it trained
        # on), so it runs on a pool of its own.
        self.training_jobs = JobTracker(QThreadPool(self), self)
        self.trainer = TrainerProcess(lambda worker: self.training_jobs.start(worker, quiet=True), parent=self)
        self.trainer.statusMessage.connect(context.show_status)
        self.trainer.phaseChanged.connect(self._on_phase)
        self.trainer.trainerEvent.connect(self._on_event)
        self.trainer.logLine.connect(self._append_log)
        self.trainer.succeeded.connect(self._on_succeeded)
        self.trainer.failed.connect(self._on_failed)
        self.trainer.cancelled.connect(self._on_cancelled)

        self.train_button = QPushButton("Train", self)
        self.train_button.setToolTip(
            "Train a new model on your confirmed tags and rejections (runs in the background)"
        )
        self.train_button.setDefault(True)
        self.train_button.setMinimumSize(120, 34)
        bold = self.train_button.font()
        bold.setWeight(QFont.Weight.Bold)
        self.train_button.setFont(bold)
        self.train_button.clicked.connect(self.request_training)
        self.options_button = QPushButton("Options…", self)
        self.options_button.setToolTip(
            "Architecture, image size, epochs, augmentation, loss, λ, τ, untagged-pair weight, device, folds"
        )
        self.options_button.clicked.connect(self.open_options)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setToolTip("Stop the trainer; the collection stays as it is")
        self.cancel_button.clicked.connect(self.trainer.cancel)
        for button in (self.options_button, self.cancel_button):
            button.setMinimumHeight(34)  # one row of equal buttons beside the bigger Train

        self.phase_label = QLabel(PHASE_TEXT[TrainerPhase.IDLE], self)
        phase_font = self.phase_label.font()
        phase_font.setPointSizeF(phase_font.pointSizeF() * 1.15)
        phase_font.setWeight(QFont.Weight.DemiBold)
        self.phase_label.setFont(phase_font)
        self.phase_label.setWordWrap(True)  # a verdict names two models and two scores
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.hint = QLabel(
            "Training runs in a separate process: keep labelling meanwhile. When it finishes, the new "
            "model becomes active and its suggestions appear; a failed or cancelled run changes nothing.",
            self,
        )
        self.hint.setWordWrap(True)
        self.hint.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        # Which Python trains, checked in the background the first time the panel shows
        # (an install without PyTorch trains with another one: trainer_env, ADR 0024).
        self.trainer_line = QLabel(TRAINER_UNCHECKED, self)
        self.trainer_line.setWordWrap(True)
        self.trainer_line.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse | Qt.TextInteractionFlag.LinksAccessibleByMouse
        )
        self.trainer_line.linkActivated.connect(lambda _link: self.show_trainer_details())
        self._trainer_details = ""
        self._trainer_status: tuple[bool, str, str] | None = None
        self._trainer_check: Worker | None = None
        self._trainer_checked = False

        self.values: dict[str, QLabel] = {}
        stats = QGridLayout()
        stats.setHorizontalSpacing(18)
        stats.setVerticalSpacing(2)
        for column, (key, title) in enumerate(
            (("step", "Epoch / step"), ("loss", "Loss"), ("val", "Held-out mAP"), ("eta", "Time left"),
             ("speed", "Speed"), ("device", "Device"))
        ):
            caption = QLabel(title, self)
            caption.setForegroundRole(QPalette.ColorRole.PlaceholderText)
            value = QLabel("—", self)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            stats.addWidget(caption, 0, column)
            stats.addWidget(value, 1, column)
            self.values[key] = value
        stats.setColumnStretch(5, 1)

        self.error_banner = QLabel(self)
        self.error_banner.setWordWrap(True)
        self.error_banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_banner.setStyleSheet(
            "QLabel { background: #fbe3e0; color: #7d1c12; border: 1px solid #e6a39a;"
            " border-radius: 4px; padding: 6px 8px; }"
        )
        self.error_banner.hide()
        self.warning_banner = QLabel(self)
        self.warning_banner.setWordWrap(True)
        self.warning_banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.warning_banner.setStyleSheet(WARNING_STYLE)
        self.warning_banner.hide()
        self._warnings: list[str] = []
        self._run = RunProgress()

        self.log_view = QPlainTextEdit(self)
        self.log_view.setReadOnly(True)
        self.log_view.setMaximumBlockCount(5000)
        self.log_view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.log_view.setPlaceholderText("The trainer's log appears here.")
        self.log_view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)

        self.models = ModelsPanel(context, self)

        buttons = QHBoxLayout()
        buttons.addWidget(self.train_button)
        buttons.addWidget(self.options_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)

        top = QWidget(self)
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(10, 10, 10, 4)
        top_layout.setSpacing(8)
        top_layout.addLayout(buttons)
        top_layout.addWidget(self.phase_label)
        top_layout.addWidget(self.hint)
        top_layout.addWidget(self.trainer_line)
        top_layout.addWidget(self.progress)
        top_layout.addLayout(stats)
        top_layout.addWidget(self.error_banner)
        top_layout.addWidget(self.warning_banner)
        log_title = QLabel("Log", top)
        log_title.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        top_layout.addWidget(log_title)
        top_layout.addWidget(self.log_view, 1)

        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(top)
        splitter.addWidget(self.models)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setChildrenCollapsible(False)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

        context.collectionOpened.connect(lambda _s: self._update_buttons())
        context.collectionClosed.connect(self._update_buttons)
        context.modelChanged.connect(self._follow_active_model)
        self._update_buttons()

    # ---- actions -----------------------------------------------------------------

    def request_training(self) -> TrainConfirmDialog | None:
        """Show what Train will run (options in words, changes marked); its Train button
        starts the run. The Train button and Ctrl+Shift+T come here."""
        if self.trainer.busy:
            self.context.show_status("A training is already running")
            return None
        if self.confirm_dialog is not None:
            self.confirm_dialog.raise_()
            return self.confirm_dialog
        dialog = TrainConfirmDialog(self.context, self)
        dialog.set_trainer_status(self._trainer_status)
        self.confirm_dialog = dialog
        if self._trainer_status is None or not self._trainer_status[0]:
            self.check_trainer()  # something may have been installed since; the dialog follows

        def done(result: int) -> None:
            self.confirm_dialog = None
            dialog.deleteLater()
            if result == TrainConfirmDialog.DialogCode.Accepted:
                self.start_training()

        dialog.finished.connect(done)
        dialog.open()
        return dialog

    def start_training(self) -> bool:
        """Start a run with the options last chosen in the dialog (after the confirmation)."""
        options = load_options(self.context.settings.qsettings, self.context.settings.device)
        self._showing_result = False
        self._run = RunProgress()
        self.error_banner.hide()
        self.warning_banner.hide()
        self._warnings = []
        self.log_view.clear()
        for value in self.values.values():
            value.setText("—")
        self.progress.setRange(0, 0)
        self.progress.show()
        store = self.context.store
        started = self.trainer.start(None if store is None else Path(store.root), options)
        if not started:
            self.progress.setRange(0, 1000)
        self._update_buttons()
        self._update_indicator()
        return started

    def open_options(self) -> None:
        dialog = TrainDialog(self.context, self)
        dialog.exec()
        dialog.deleteLater()

    def shutdown(self) -> None:
        """Stop the trainer and background scoring (window close, tests)."""
        self.trainer.shutdown()
        self.training_jobs.shutdown()
        self.models.shutdown()

    # ---- trainer signals ---------------------------------------------------------------

    def _on_phase(self, phase: str) -> None:
        if TrainerPhase(phase) is not TrainerPhase.IDLE:
            self.phase_label.setText(PHASE_TEXT[TrainerPhase(phase)])
        self._update_buttons()
        self._update_indicator()

    def _on_event(self, event: TrainerEvent) -> None:
        if isinstance(event, DownloadEvent):
            self.phase_label.setText(f"{event.text} (once; then cached)")
            fraction = event.fraction
            if fraction is None:
                self.progress.setRange(0, 0)  # busy: the size is unknown
            else:
                self._show_fraction(fraction)
        elif isinstance(event, StartEvent):
            self._show_fraction(0.0)
            self._run = RunProgress()
            self._run.start(event)
            reason = f" — {event.device_reason}" if event.device_reason else ""
            self.values["device"].setText(event.device)
            self.values["device"].setToolTip(f"{event.device}{reason}")
            self.phase_label.setText(training_text.start_title(event))
        elif isinstance(event, ProgressEvent):
            fraction = self._run.progress(event)
            self.phase_label.setText(training_text.progress_title(event, self._run))
            self.values["step"].setText(training_text.step_text(event))
            if event.loss is not None:
                self.values["loss"].setText(training_text.loss_text(event.loss))
            self.values["eta"].setText(training_text.format_eta(self._run.eta_s()))
            self.values["eta"].setToolTip("For the whole run: every model it trains")
            if event.images_per_s is not None:
                self.values["speed"].setText(f"{event.images_per_s:.1f} images/s")
            self._show_fraction(fraction)
            self._update_indicator()
        elif isinstance(event, EpochEvent):
            self._show_fraction(self._run.epoch_done(event))
            self._update_indicator()
            if event.val_map is not None:
                self.values["val"].setText(training_text.map_text(event.val_map))
        elif isinstance(event, WarningEvent) and event.message:
            self._warnings.append(event.message)
            more = len(self._warnings) - 1
            extra = f"  (and {more} more in the log)" if more else ""
            self.warning_banner.setText(f"⚠ {self._warnings[0]}{extra}")
            self.warning_banner.show()

    def _show_fraction(self, fraction: float) -> None:
        """The bar covers the whole run (all its models), so it never restarts."""
        self.progress.setRange(0, 1000)
        self.progress.setValue(round(1000 * fraction))

    def _append_log(self, line: str) -> None:
        self.log_view.appendPlainText(line)

    def _on_succeeded(self, model) -> None:
        """The new model is registered in the collection it trained on; when it became
        active and that is still the open one, every view of suggestions follows it.
        When it was kept inactive (it scored worse on the same images), say so."""
        store = self.context.store
        same = store is not None and Path(store.root) == self.trainer.root
        verdict = self.trainer.verdict
        if same and model.active:
            self.context.model_became_active()
        self.progress.setRange(0, 1000)
        self.progress.setValue(1000)
        score = training_text.held_out_map(model.metrics)
        detail = f", held-out mAP {training_text.map_text(score)}" if score is not None else ""
        if score is not None:
            self.values["val"].setText(training_text.map_text(score))
        self.values["eta"].setText("—")
        if verdict is not None and not verdict.activate:
            self.phase_label.setText(verdict.text)
        elif verdict is not None and verdict.previous is not None:
            self.phase_label.setText(f"Done: {verdict.text}")
        else:
            self.phase_label.setText(f"Done: model {model.id} is active{detail}")
        self.phase_label.setToolTip(verdict.text if verdict is not None else "")
        self._showing_result = True
        self.models.refresh()
        if model.active:
            self.models.rescore()
        self._update_buttons()

    def _follow_active_model(self) -> None:
        """After a run's result is shown, the header names the model that is active now
        (Make active, or a switch elsewhere), not the one the run reported."""
        store = self.context.store
        if not self._showing_result or self.trainer.busy or store is None:
            return
        active = store.active_model()
        if active is None:
            return
        score = training_text.held_out_map(active.metrics)
        detail = f" (held-out mAP {training_text.map_text(score)})" if score is not None else ""
        self.phase_label.setText(f"Model {active.id} is active{detail}")
        self.phase_label.setToolTip("")
        self.values["val"].setText(training_text.map_text(score) if score is not None else "—")

    def _clear_figures(self) -> None:
        """A run that did not finish leaves no figures behind (time left, speed, …)."""
        for key, value in self.values.items():
            value.setText("—")
            if key == "eta":
                value.setToolTip("")
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.hide()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        if not self._trainer_checked:
            self.check_trainer()

    def check_trainer(self) -> None:
        """Find and check the trainer's Python on a worker; the line says what it found."""
        if self._trainer_check is not None:
            return
        self._trainer_checked = True
        self.trainer_line.setText(TRAINER_CHECKING)
        worker = Worker(trainer_status, name="Checking the trainer")
        worker.signals.result.connect(self._show_trainer)
        worker.signals.error.connect(lambda message: self._show_trainer((False, message, message)))
        worker.signals.finished.connect(self._trainer_check_ended)
        self._trainer_check = worker
        self.training_jobs.start(worker, quiet=True)

    def _trainer_check_ended(self) -> None:
        self._trainer_check = None

    def _show_trainer(self, status: tuple[bool, str, str]) -> None:
        ok, line, details = status
        self._trainer_status = status
        self._trainer_details = details
        if self.confirm_dialog is not None:
            self.confirm_dialog.set_trainer_status(status)
        if ok:
            self.trainer_line.setTextFormat(Qt.TextFormat.PlainText)
            self.trainer_line.setText(f"Trainer: {line}")
        else:
            self.trainer_line.setTextFormat(Qt.TextFormat.RichText)
            self.trainer_line.setText(
                f"Trainer: {html.escape(line)} <a href=\"details\">What to install…</a>"
            )
        self.trainer_line.setToolTip(details)
        self.trainer_line.setStyleSheet("" if ok else WARNING_STYLE)

    def show_trainer_details(self) -> QMessageBox:
        """What was tried and what to install, in a box whose text can be copied."""
        box = QMessageBox(QMessageBox.Icon.Information, "Training needs PyTorch",
                          self._trainer_details, QMessageBox.StandardButton.Close, self)
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.open()
        return box

    def _on_failed(self, message: str) -> None:
        self.check_trainer()  # look again: a missing or broken trainer may be the reason
        self._clear_figures()
        self.phase_label.setText("Training failed — your labels are unchanged")
        self.error_banner.setText(message)
        self.error_banner.show()
        self._update_buttons()
        self._update_indicator()

    def _on_cancelled(self) -> None:
        self._clear_figures()
        self.phase_label.setText("Cancelled — your labels are unchanged")
        self._update_buttons()
        self._update_indicator()

    def _update_indicator(self) -> None:
        """The status-bar indicator: hidden when idle, else the phase and the whole run's
        percentage and time left."""
        phase = self.trainer.phase
        if phase is TrainerPhase.IDLE:
            self.status_indicator.show_text(None)
        elif phase is TrainerPhase.TRAINING and self._run.fraction > 0:
            eta = self._run.eta_s()
            left = f" · {training_text.format_eta(eta)} left" if eta is not None else ""
            self.status_indicator.show_text(f"Training: {round(100 * self._run.fraction)}%{left}")
        else:
            words = {TrainerPhase.PREPARING: "preparing…", TrainerPhase.TRAINING: "starting…",
                     TrainerPhase.REGISTERING: "registering…", TrainerPhase.CANCELLING: "cancelling…"}
            self.status_indicator.show_text(f"Training: {words[phase]}")

    def _update_buttons(self) -> None:
        has_store = self.context.store is not None
        busy = self.trainer.busy
        self.train_button.setEnabled(has_store and not busy)
        self.options_button.setEnabled(not busy)
        self.cancel_button.setEnabled(busy and self.trainer.phase is not TrainerPhase.CANCELLING)

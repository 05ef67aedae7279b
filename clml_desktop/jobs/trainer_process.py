"""The window's side of training: `workflow.training.train` as one Worker, told as signals.

The client of the trainer is the workflow's (`TrainingRun`), the same one the
CLI uses; this adapter only runs it off the GUI thread (prepare → run →
register in one `Worker` with its own store connection) and brings what it
reports back to the GUI thread: each protocol event, each log line, then the
verdict. The GUI thread never waits on the trainer: a cancel is a
non-blocking SIGTERM (the run kills it after a grace period), and only
`shutdown` (window close) waits, briefly, then kills it, so no trainer
outlives the app.

It takes what it needs and nothing of the window: the collection folder per
run and a function that starts a worker. Whoever creates it connects
`statusMessage` and `succeeded` to the window's context.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import StrEnum
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from clml_contract.events import DoneEvent, ErrorEvent, Event, WarningEvent
from clml_contract.progress import Control
from clml_desktop.collection.rows import ModelRow
from clml_desktop.jobs.worker import Worker
from clml_desktop.workflow import training_text
from clml_desktop.workflow.training import (
    TrainingError,
    TrainingJob,
    TrainingRun,
    TrainOptions,
    Verdict,
    train,
    trainer_program,
)

KILL_AFTER_S = 15.0
LOG_LIMIT = 5000


class TrainerPhase(StrEnum):
    IDLE = "idle"
    PREPARING = "preparing"
    TRAINING = "training"
    REGISTERING = "registering"
    CANCELLING = "cancelling"


class _RunSignals(QObject):
    """One run's reports, emitted on the worker's threads and delivered (queued) on
    the GUI thread, in the order they were emitted."""

    prepared = Signal(object, object)  # TrainingJob, command
    event = Signal(object)
    log = Signal(str)
    succeeded = Signal(object, object)  # ModelRow, Verdict (or None)
    failed = Signal(str)


def _train_job(
    control: Control,
    root: Path,
    options: TrainOptions,
    program: Sequence[str] | None,
    signals: _RunSignals,
    attach: Callable[[TrainingRun], None],
) -> ModelRow | None:
    """The Worker's function: the workflow's whole Train step on a store of its own."""
    from clml_desktop.collection.store import CollectionStore

    runs: list[TrainingRun] = []

    def prepared(run: TrainingRun) -> None:
        runs.append(run)
        attach(run)
        signals.prepared.emit(run.job, run.command)

    with CollectionStore.open(root) as store:
        try:
            model = train(
                store, options, control, signals.event.emit, on_log=signals.log.emit,
                on_prepared=prepared, program=program, grace_s=KILL_AFTER_S,
            )
        except TrainingError as exc:
            signals.failed.emit(str(exc))
            return None
    signals.succeeded.emit(model, runs[-1].verdict if runs else None)
    return model


class TrainerProcess(QObject):
    """One training run at a time.

    Signals: `phaseChanged(str)`, `trainerEvent(object)` for each protocol event,
    `logLine(str)` for each line of the log, `statusMessage(str)` for the status
    bar, then exactly one of `succeeded(ModelRow)`, `failed(str)`, `cancelled()`,
    followed by `finished()`. After `succeeded`, `verdict` says whether the new model
    was made active and why (`workflow.training.activation_verdict`).
    """

    phaseChanged = Signal(str)
    trainerEvent = Signal(object)
    logLine = Signal(str)
    statusMessage = Signal(str)
    succeeded = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    finished = Signal()

    def __init__(
        self,
        start_job: Callable[[Worker], object],
        *,
        program: Sequence[str] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._start_job = start_job
        self.program = list(program) if program else trainer_program()
        self.phase = TrainerPhase.IDLE
        self.root: Path | None = None
        self.job: TrainingJob | None = None
        self.command: list[str] = []
        self.last_error: str | None = None
        self.verdict: Verdict | None = None
        self._worker: Worker | None = None
        self._signals: _RunSignals | None = None
        self._run: TrainingRun | None = None
        self._log: list[str] = []

    @property
    def busy(self) -> bool:
        return self.phase is not TrainerPhase.IDLE

    def log_text(self) -> str:
        return "\n".join(self._log)

    def process_id(self) -> int:
        """The trainer's pid while it runs, else 0 (tests check it is gone)."""
        run = self._run
        return run.pid if run is not None else 0

    def start(self, root: Path | str | None, options: TrainOptions) -> bool:
        """Train on the collection at `root`; False (and a status message) when a run is
        going on or no collection is open."""
        if self.busy:
            self.statusMessage.emit("A training is already running")
            return False
        if root is None:
            self.statusMessage.emit("Open a folder first")
            return False
        self.root = Path(root)
        self.job, self.command, self.last_error, self._log = None, [], None, []
        self.verdict = None
        signals = _RunSignals(self)
        worker = Worker(_train_job, self.root, options, self.program, signals, self._attach,
                        name="Training")
        self._connect(worker, signals)
        self._worker, self._signals = worker, signals
        self._set_phase(TrainerPhase.PREPARING)
        self._note(training_text.PREPARING_LINE)
        self._start_job(worker)
        return True

    def cancel(self) -> None:
        """Stop the run: before the trainer starts, or SIGTERM to it (it saves and says
        `cancelled`; killed after a grace period). Registering is not interrupted."""
        if self._worker is None or self.phase not in (TrainerPhase.PREPARING, TrainerPhase.TRAINING):
            return
        if self.phase is TrainerPhase.TRAINING:
            self._note(training_text.CANCELLING_LINE)
        self._set_phase(TrainerPhase.CANCELLING)
        self._worker.cancel()

    def shutdown(self, timeout_s: float = 5.0) -> None:
        """Stop everything now and wait (window close, tests): no trainer outlives the app."""
        worker = self._worker
        if worker is None:
            return
        worker.cancel()
        if not worker.wait(timeout_s):
            run = self._run
            if run is not None:
                run.kill()
            worker.wait(timeout_s)

    def _connect(self, worker: Worker, signals: _RunSignals) -> None:
        """Route the run's reports to their slots while it is the current run: the
        first verdict ends it, and what its worker says after that is dropped (a
        cancel that came too late to stop registering must not undo a success)."""
        routes = (
            (signals.prepared, self._on_prepared),
            (signals.event, self._on_event),
            (signals.log, self._note),
            (signals.succeeded, self._on_succeeded),
            (signals.failed, self._fail),
            (worker.signals.error, self._fail),
            (worker.signals.cancelled, self._on_cancelled),
        )
        for signal, slot in routes:
            signal.connect(lambda *args, s=slot: s(*args) if worker is self._worker else None)

    def _attach(self, run: TrainingRun) -> None:
        """Called on the worker's thread: the run to kill at shutdown, whose pid tests read."""
        self._run = run

    def _on_prepared(self, job: TrainingJob, command: list[str]) -> None:
        self.job, self.command = job, list(command)
        self._note(training_text.prepared_line(job.images, job.training_set))
        self._note(training_text.command_line(command))
        if self.phase is TrainerPhase.PREPARING:
            self._set_phase(TrainerPhase.TRAINING)

    def _on_event(self, event: Event) -> None:
        # The trainer writes each warning to its log (stderr, shown here) as well as
        # sending the event; a second line of our own would show it twice.
        line = None if isinstance(event, WarningEvent) else training_text.event_line(event)
        if line:
            self._note(line)
        if isinstance(event, ErrorEvent):
            self.last_error = event.message
        elif isinstance(event, DoneEvent) and self.phase is TrainerPhase.TRAINING:
            self._set_phase(TrainerPhase.REGISTERING)
            self._note(training_text.REGISTERING_LINE)
        self.trainerEvent.emit(event)

    def _on_succeeded(self, model: ModelRow, verdict: Verdict | None = None) -> None:
        self._end()
        self.verdict = verdict
        if verdict is None:
            self._note(training_text.active_line(model.id, model.metrics))
            self.statusMessage.emit(training_text.finished_status(model.id, model.metrics))
        else:
            self._note(verdict.text)
            self.statusMessage.emit(f"Training finished: {verdict.text[:1].lower()}{verdict.text[1:]}")
        self.succeeded.emit(model)
        self.finished.emit()

    def _fail(self, message: str) -> None:
        self._end()
        self.last_error = self.last_error or message
        self._note(message)
        self.statusMessage.emit(message)
        self.failed.emit(message)
        self.finished.emit()

    def _on_cancelled(self) -> None:
        self._end()
        self._note(training_text.CANCELLED_LINE)
        self.statusMessage.emit(training_text.CANCELLED_STATUS)
        self.cancelled.emit()
        self.finished.emit()

    def _end(self) -> None:
        """The run is over: later signals of its worker are dropped, the phase is idle."""
        self._worker, self._run = None, None
        if self._signals is not None:
            self._signals.deleteLater()
            self._signals = None
        self._set_phase(TrainerPhase.IDLE)

    def _set_phase(self, phase: TrainerPhase) -> None:
        if phase is not self.phase:
            self.phase = phase
            self.phaseChanged.emit(phase.value)

    def _note(self, line: str) -> None:
        self._log.append(line)
        if len(self._log) > LOG_LIMIT:
            del self._log[: len(self._log) - LOG_LIMIT]
        self.logLine.emit(line)

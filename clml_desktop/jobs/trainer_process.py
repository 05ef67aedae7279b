"""The GUI's client of `python -m training fit`: a QProcess that speaks ADR 0002.

Why a QProcess and not `train_runner.TrainingRun`: the runner blocks on the
trainer's stdout, which is fine for the CLI but would need a thread per run
in the GUI; QProcess delivers output as signals on the GUI thread, so the
window stays fully usable and cancel is a plain SIGTERM. The steps around it
reuse the runner's Qt-free parts so the CLI and the Train button behave the
same:

1. `prepare_training` writes the training-set JSONL — in a worker, with the
   worker's own store connection (the GUI thread never waits on it).
2. `build_fit_command` says what to run; tests (and people with a trainer on
   another interpreter) replace its `python -m training` head with
   `program=` or the `CLML_TRAINER_PROGRAM` environment variable.
3. stdout lines go through `trainer_protocol.parse_line`; stderr is the
   human log, kept in memory for the panel and in the job's log file.
4. Only after `done` and exit code 0 is the model registered (in a worker:
   importing out-of-fold scores writes many rows), made active, and the
   images it has no score for are scored by the inference pipeline. A crash,
   an error or a cancel leaves the store exactly as it was.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal

from clml_desktop.workflow.child_process import child_environment
from clml_desktop.jobs.train_runner import (
    TrainingJob,
    TrainOptions,
    build_fit_command,
    prepare_training,
    register_trained_model,
)
from clml_contract.events import (
    CancelledEvent,
    DoneEvent,
    ErrorEvent,
    StartEvent,
    TrainerEvent,
    WarningEvent,
    parse_line,
)
from clml_desktop.jobs.worker import JobControl, Worker

PROGRAM_ENV = "CLML_TRAINER_PROGRAM"
KILL_AFTER_MS = 15000
LOG_LIMIT = 5000


class TrainerPhase(StrEnum):
    IDLE = "idle"
    PREPARING = "preparing"
    TRAINING = "training"
    REGISTERING = "registering"
    CANCELLING = "cancelling"


def trainer_program() -> list[str] | None:
    """The replacement for `python -m training` from CLML_TRAINER_PROGRAM, if set."""
    text = os.environ.get(PROGRAM_ENV, "").strip()
    return shlex.split(text) if text else None


def apply_program(command: list[str], program: Sequence[str] | None) -> list[str]:
    """Swap the `<python> -m training` head of a fit command for `program`."""
    if not program:
        return list(command)
    if len(command) >= 3 and command[1:3] == ["-m", "training"]:
        return list(program) + command[3:]
    return list(program) + command


def _prepare(control: JobControl, root: Path) -> TrainingJob:
    from clml_desktop.collection.store import CollectionStore

    store = CollectionStore.open(root)
    try:
        control.report(0, 0, "Writing the training set")
        return prepare_training(store)
    finally:
        store.close()


def _register(control: JobControl, root: Path, model_dir: str):
    from clml_desktop.collection.store import CollectionStore

    store = CollectionStore.open(root)
    try:
        control.report(0, 0, "Registering the new model")
        return register_trained_model(store, Path(model_dir))
    finally:
        store.close()


class TrainerProcess(QObject):
    """One training run at a time for the context's collection.

    Signals: `phaseChanged(str)`, `trainerEvent(object)` for each protocol event,
    `logLine(str)` for each line of the human log, then exactly one of
    `succeeded(ModelRow)`, `failed(str)`, `cancelled()`, followed by `finished()`.
    """

    phaseChanged = Signal(str)
    trainerEvent = Signal(object)
    logLine = Signal(str)
    succeeded = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    finished = Signal()

    def __init__(self, context, *, program: Sequence[str] | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.program = list(program) if program else trainer_program()
        self.phase = TrainerPhase.IDLE
        self.job: TrainingJob | None = None
        self.command: list[str] = []
        self.last_error: str | None = None
        self._process: QProcess | None = None
        self._worker: Worker | None = None
        self._done: DoneEvent | None = None
        self._cancel_requested = False
        self._stdout_buffer = b""
        self._stderr_buffer = b""
        self._log: list[str] = []
        self._log_file = None
        self._options = TrainOptions()
        self._root: Path | None = None
        self._kill_timer = QTimer(self)
        self._kill_timer.setSingleShot(True)
        self._kill_timer.timeout.connect(self._kill)

    # ---- public ----------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self.phase is not TrainerPhase.IDLE

    def log_text(self) -> str:
        return "\n".join(self._log)

    def process_id(self) -> int:
        """The trainer's pid while it runs, else 0 (tests check it is gone)."""
        return int(self._process.processId()) if self._process is not None else 0

    def start(self, options: TrainOptions | None = None) -> bool:
        """Begin a run; False (and a status message) when one is running or nothing is open."""
        store = self.context.store
        if self.busy:
            self.context.statusMessage.emit("A training is already running")
            return False
        if store is None:
            self.context.statusMessage.emit("Open a folder first")
            return False
        self._options = options or TrainOptions(device=self.context.settings.device)
        self._reset()
        self._set_phase(TrainerPhase.PREPARING)
        self._note("Writing the training set (confirmed tags and rejections)…")
        self._root = Path(store.root)
        worker = Worker(_prepare, self._root, name="Preparing training")
        worker.signals.result.connect(self._on_prepared)
        worker.signals.error.connect(self._fail)
        worker.signals.cancelled.connect(self._on_cancelled)
        self._worker = worker
        self.context.start_job(worker, quiet=True)
        return True

    def cancel(self) -> None:
        """Stop the run: SIGTERM to the trainer (it saves and says `cancelled`), SIGKILL later."""
        if self.phase is TrainerPhase.PREPARING and self._worker is not None:
            self._cancel_requested = True
            self._worker.cancel()
            self._set_phase(TrainerPhase.CANCELLING)
        elif self.phase is TrainerPhase.TRAINING and self._process is not None:
            self._cancel_requested = True
            self._set_phase(TrainerPhase.CANCELLING)
            self._note("Cancelling: asking the trainer to stop…")
            self._process.terminate()
            self._kill_timer.start(KILL_AFTER_MS)

    def shutdown(self, timeout_ms: int = 5000) -> None:
        """Stop everything now and wait (window close, tests): no trainer outlives the app."""
        if self._worker is not None:
            self._worker.cancel()
            self._worker.wait(timeout_ms / 1000)
        process = self._process
        if process is not None and process.state() != QProcess.ProcessState.NotRunning:
            self._cancel_requested = True
            process.terminate()
            if not process.waitForFinished(timeout_ms):
                process.kill()
                process.waitForFinished(timeout_ms)
        self._kill_timer.stop()
        self._close_log_file()

    # ---- steps -------------------------------------------------------------------

    def _on_prepared(self, job: TrainingJob) -> None:
        self._worker = None
        store = self.context.store
        if self._cancel_requested or not self._same_collection():
            self._finish_cancelled()
            return
        self.job = job
        try:
            command = build_fit_command(store, job.training_set, job.out_dir, self._options)
        except Exception as exc:
            self._fail(f"Could not prepare the trainer command: {exc}")
            return
        self.command = apply_program(command, self.program)
        job.out_dir.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._log_file = open(job.log_path, "a", encoding="utf-8")  # noqa: SIM115 (kept open during the run)
        except OSError as exc:
            self._note(f"(could not write the log file {job.log_path}: {exc})")
        self._note(f"Training set: {job.images} images → {job.training_set}")
        self._note("$ " + shlex.join(self.command))
        process = QProcess(self)
        env = QProcessEnvironment()
        for key, value in child_environment().items():
            env.insert(key, value)
        process.setProcessEnvironment(env)
        process.setProgram(self.command[0])
        process.setArguments(self.command[1:])
        process.setWorkingDirectory(str(job.out_dir.parent))
        process.readyReadStandardOutput.connect(self._read_stdout)
        process.readyReadStandardError.connect(self._read_stderr)
        process.finished.connect(self._on_process_finished)
        process.errorOccurred.connect(self._on_process_error)
        self._process = process
        self._set_phase(TrainerPhase.TRAINING)
        process.start()

    def _read_stdout(self) -> None:
        if self._process is None:
            return
        self._stdout_buffer += bytes(self._process.readAllStandardOutput().data())
        *lines, self._stdout_buffer = self._stdout_buffer.split(b"\n")
        for line in lines:
            self._handle_stdout_line(line)

    def _read_stderr(self) -> None:
        if self._process is None:
            return
        self._stderr_buffer += bytes(self._process.readAllStandardError().data())
        *lines, self._stderr_buffer = self._stderr_buffer.split(b"\n")
        for line in lines:
            self._note(line.decode("utf-8", errors="replace").rstrip("\r"))

    def _handle_stdout_line(self, raw: bytes) -> None:
        event = parse_line(raw)
        if event is None:
            text = raw.decode("utf-8", errors="replace").strip()
            if text:
                self._note(text)
            return
        self._log_event(event)
        if isinstance(event, DoneEvent):
            self._done = event
        elif isinstance(event, ErrorEvent):
            self.last_error = event.message
        self.trainerEvent.emit(event)

    def _log_event(self, event: TrainerEvent) -> None:
        if isinstance(event, StartEvent):
            reason = f" ({event.device_reason})" if event.device_reason else ""
            self._note(
                f"Trainer started on {event.device}{reason}: {event.arch}, {event.image_size} px, "
                f"{event.epochs} epochs, {event.folds} folds, {event.images} images, {event.tags} tags"
            )
        elif isinstance(event, WarningEvent):
            self._note(f"warning: {event.message}")
        elif isinstance(event, ErrorEvent):
            self._note(f"error: {event.message}")
        elif isinstance(event, DoneEvent):
            self._note(f"Trainer finished: model in {event.model_dir}")
        elif isinstance(event, CancelledEvent):
            self._note("Trainer stopped on request")

    def _on_process_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart and self._process is not None:
            message = f"Could not start the trainer ({self.command[0]}): {self._process.errorString()}"
            self._process = None
            self._fail(message)

    def _on_process_finished(self, exit_code: int, exit_status: QProcess.ExitStatus) -> None:
        self._kill_timer.stop()
        self._read_stdout()
        self._read_stderr()
        for rest in (self._stdout_buffer, self._stderr_buffer):
            if rest.strip():
                self._note(rest.decode("utf-8", errors="replace").strip())
        self._stdout_buffer = self._stderr_buffer = b""
        process, self._process = self._process, None
        if process is not None:
            process.deleteLater()
        if self._cancel_requested:
            self._finish_cancelled()
            return
        crashed = exit_status == QProcess.ExitStatus.CrashExit
        if self._done is not None and exit_code == 0 and not crashed:
            self._register(self._done)
            return
        if self.last_error:
            message = f"Training failed: {self.last_error}"
        elif crashed:
            message = "Training failed: the trainer crashed"
        else:
            message = f"Training failed: the trainer exited with code {exit_code}"
        tail = [line for line in self._log if line.strip()][-3:]
        if not self.last_error and tail:
            message += " — " + " | ".join(tail)
        self._fail(message)

    def _register(self, done: DoneEvent) -> None:
        """Register into the collection the run trained on, even if another one is open now."""
        self._set_phase(TrainerPhase.REGISTERING)
        self._note("Registering the new model and its out-of-fold scores…")
        worker = Worker(_register, self._root, done.model_dir, name="Registering the model")
        worker.signals.result.connect(self._on_registered)
        worker.signals.error.connect(lambda msg: self._fail(f"The new model could not be registered: {msg}"))
        worker.signals.cancelled.connect(
            lambda: self._fail(f"Registering the new model was interrupted; it is kept in {done.model_dir}")
        )
        self._worker = worker
        self.context.start_job(worker, quiet=True)

    def _on_registered(self, model) -> None:
        self._worker = None
        self._close_log_file()
        self._set_phase(TrainerPhase.IDLE)
        metrics = model.metrics or {}
        score = metrics.get("val_map", metrics.get("map"))
        detail = f" (held-out mAP {score:.3f})" if isinstance(score, int | float) else ""
        self._note(f"Model {model.id} is now active{detail}")
        if self._same_collection():
            self.context.modelChanged.emit()
        self.context.statusMessage.emit(f"Training finished: model {model.id} is active{detail}")
        self.succeeded.emit(model)
        self.finished.emit()

    # ---- endings -------------------------------------------------------------------

    def _fail(self, message: str) -> None:
        self._worker = None
        self.last_error = self.last_error or message
        self._note(message)
        self._close_log_file()
        self._set_phase(TrainerPhase.IDLE)
        self.context.statusMessage.emit(message)
        self.failed.emit(message)
        self.finished.emit()

    def _on_cancelled(self) -> None:
        self._finish_cancelled()

    def _finish_cancelled(self) -> None:
        self._worker = None
        self._note("Training cancelled; the collection is unchanged")
        self._close_log_file()
        self._set_phase(TrainerPhase.IDLE)
        self.context.statusMessage.emit("Training cancelled; nothing changed")
        self.cancelled.emit()
        self.finished.emit()

    def _kill(self) -> None:
        if self._process is not None and self._process.state() != QProcess.ProcessState.NotRunning:
            self._note("The trainer did not stop in time; killing it")
            self._process.kill()

    # ---- helpers ---------------------------------------------------------------------

    def _reset(self) -> None:
        self.job = None
        self.command = []
        self.last_error = None
        self._done = None
        self._cancel_requested = False
        self._stdout_buffer = self._stderr_buffer = b""
        self._log = []

    def _same_collection(self) -> bool:
        """Whether the collection this run trains on is still the open one."""
        store = self.context.store
        return store is not None and self._root is not None and Path(store.root) == self._root

    def _set_phase(self, phase: TrainerPhase) -> None:
        if phase is not self.phase:
            self.phase = phase
            self.phaseChanged.emit(phase.value)

    def _note(self, line: str) -> None:
        self._log.append(line)
        if len(self._log) > LOG_LIMIT:
            del self._log[: len(self._log) - LOG_LIMIT]
        if self._log_file is not None:
            try:
                self._log_file.write(line + "\n")
                self._log_file.flush()
            except OSError:
                self._log_file = None
        self.logLine.emit(line)

    def _close_log_file(self) -> None:
        if self._log_file is not None:
            try:
                self._log_file.close()
            except OSError:
                pass
            self._log_file = None

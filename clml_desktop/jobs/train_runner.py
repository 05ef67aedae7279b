"""Headless training: training set → `python -m training fit` → registered, active model.

Qt-free so the CLI runs it with `subprocess` and the GUI reuses its parts with
QProcess: `build_fit_command` (what to run) and `register_trained_model`
(what to do with `done`) are separate functions for that reason. Nothing in
the store changes until the trainer says `done` (ADR 0002): a crash or a
cancel leaves the collection exactly as it was.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from clml_contract.events import (
    CancelledEvent,
    DoneEvent,
    ErrorEvent,
    TrainerEvent,
    parse_line,
)
from clml_contract.manifest import new_model_id
from clml_desktop.collection.exporting import write_training_set
from clml_desktop.collection.rows import ModelRow
from clml_desktop.inference.engine import model_dir_of, read_manifest
from clml_desktop.inference.errors import InferenceError, ModelLoadError
from clml_desktop.inference.registry import register_model
from clml_desktop.workflow.child_process import child_environment, stop_child

log = logging.getLogger(__name__)

CANCEL_GRACE_S = 60.0

# The trainer's `--augment` choices (training/cli.py), spelled out here because the app
# never imports the trainer; tests check the two lists agree.
AUGMENTATIONS = ("auto", "none", "crop", "crop-flip", "randaugment")


class TrainingError(InferenceError):
    """The trainer failed, was cancelled, or produced a model we cannot register."""


@dataclass(frozen=True)
class TrainOptions:
    """What the Train button and `clml-desktop train` pass on; None leaves the trainer's
    per-device default. `init=None` fine-tunes the active model when there is one."""

    arch: str | None = None
    image_size: int | None = None
    epochs: int | None = None
    loss: str | None = None
    clml_lambda: float | None = None
    tau: float | None = None
    device: str = "auto"
    folds: int | None = None
    init: str | None = None
    batch_size: int | None = None
    augment: str | None = None  # one of AUGMENTATIONS
    unknown_weight: float | None = None  # 0..1: weight of an untagged pair as a negative


def fine_tune_source(store, options: TrainOptions) -> str | None:
    """The `--init` value: an explicit choice, else the active model's folder when its
    architecture matches (fine-tuning is the normal case after the first training)."""
    if options.init:
        return options.init
    active = store.active_model()
    if active is None or not model_dir_of(store, active).is_dir():
        return None
    try:
        manifest = read_manifest(model_dir_of(store, active))
    except ModelLoadError as exc:
        log.warning("not fine-tuning from the active model: %s", exc)
        return None
    if options.arch and manifest.architecture != options.arch:
        return None
    return str(model_dir_of(store, active))


def build_fit_command(
    store, training_set_path: Path, out_dir: Path, options: TrainOptions
) -> list[str]:
    """The trainer's command line (ADR 0002), run with this interpreter."""
    cmd = [
        sys.executable,
        "-m",
        "training",
        "fit",
        "--data",
        str(training_set_path),
        "--out",
        str(out_dir),
    ]
    flags = (
        ("--arch", options.arch),
        ("--image-size", options.image_size),
        ("--epochs", options.epochs),
        ("--batch-size", options.batch_size),
        ("--loss", options.loss),
        ("--clml-lambda", options.clml_lambda),
        ("--tau", options.tau),
        ("--folds", options.folds),
        ("--augment", options.augment),
        ("--unknown-weight", options.unknown_weight),
        ("--device", options.device),
        ("--init", fine_tune_source(store, options)),
    )
    for flag, value in flags:
        if value is not None:
            cmd += [flag, str(value)]
    return cmd


def register_trained_model(store, model_dir: Path | str, *, activate: bool = True) -> ModelRow:
    """A finished run's model folder, registered the one way (`inference.registry`)."""
    return register_model(store, model_dir, activate=activate)


@dataclass
class TrainingJob:
    """One training run's paths: the set we wrote, where the model goes, the trainer's log."""

    model_id: str
    training_set: Path
    out_dir: Path
    log_path: Path
    images: int


def prepare_training(store, model_id: str | None = None) -> TrainingJob:
    """Write the training set (positives and confirmed negatives of every readable image)."""
    model_id = model_id or new_model_id()
    work = Path(store.data_dir) / "training"
    work.mkdir(parents=True, exist_ok=True)
    training_set = work / f"{model_id}.jsonl"
    images = write_training_set(store, training_set)
    if images == 0:
        raise TrainingError(
            f"{store.root}: no image has a tag yet, so there is nothing to train on"
        )
    return TrainingJob(
        model_id=model_id,
        training_set=training_set,
        out_dir=Path(store.data_dir) / "models" / model_id,
        log_path=work / f"{model_id}.log",
        images=images,
    )


class TrainingRun:
    """The trainer subprocess of one job: iterate `events()`; `cancel()` from anywhere.

    After the `done` event the model is registered and active (`self.model`);
    an `error` event, a crash or a cancel raises TrainingError from `events()`
    once the process has ended, with the trainer's message or its log's tail.
    """

    def __init__(self, store, job: TrainingJob, options: TrainOptions) -> None:
        self.store = store
        self.job = job
        self.command = build_fit_command(store, job.training_set, job.out_dir, options)
        self.model: ModelRow | None = None
        self._process: subprocess.Popen | None = None
        self._cancelled = False

    def cancel(self) -> None:
        """Ask the trainer to stop (SIGTERM: it stops cleanly and says `cancelled`)."""
        self._cancelled = True
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)

    def events(self) -> Iterator[TrainerEvent]:
        """Run the trainer, yielding each protocol event as it arrives."""
        self.job.out_dir.parent.mkdir(parents=True, exist_ok=True)
        error: str | None = None
        done: DoneEvent | None = None
        with open(self.job.log_path, "wb") as log_file:
            self._process = subprocess.Popen(
                self.command,
                stdout=subprocess.PIPE,
                stderr=log_file,
                stdin=subprocess.DEVNULL,
                env=child_environment(),
            )
            stdout = self._process.stdout
            try:
                for line in stdout if stdout is not None else ():
                    event = parse_line(line)
                    if event is None:
                        continue
                    if isinstance(event, DoneEvent):
                        done = event
                    elif isinstance(event, ErrorEvent):
                        error = event.message
                    elif isinstance(event, CancelledEvent):
                        self._cancelled = True
                    yield event
                code = self._process.wait()
            finally:
                self._stop()
                if stdout is not None:
                    stdout.close()
        if self._cancelled:
            raise TrainingError("training was cancelled; the collection is unchanged")
        if code != 0 or done is None:
            reason = error or f"the trainer exited with code {code}: {self.log_tail()}"
            raise TrainingError(f"training failed: {reason} (full log: {self.job.log_path})")
        self.model = register_trained_model(self.store, Path(done.model_dir))

    def _stop(self) -> None:
        """Never leave a trainer behind: SIGTERM, a grace period to save, then SIGKILL."""
        if self._process is not None:
            stop_child(self._process, CANCEL_GRACE_S)

    def log_tail(self, lines: int = 8) -> str:
        """The last lines of the trainer's human log (its stderr)."""
        try:
            text = self.job.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        tail = [line for line in text.splitlines() if line.strip()][-lines:]
        return " | ".join(tail) if tail else "(empty log)"

"""Training, the one client of `python -m training fit`: training set → trainer → registered model.

Both the window's Train button and `clml-desktop train` come here, so they run
the same command through the same client: `train` writes the training set and
hands it to a `TrainingRun`, which runs the trainer as a subprocess, reads its
JSON lines (`clml_contract.events`) and registers the model it made. The
caller only shows what it is told: the CLI draws a bar, the window runs
`train` inside a Worker and forwards the callbacks to the GUI thread as
signals. Nothing in the store changes until the trainer says `done` and exits
cleanly (ADR 0002): a crash, an error or a cancel leaves the collection as it
was.
"""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

from clml_contract.events import CancelledEvent, DoneEvent, ErrorEvent, Event, parse_line
from clml_contract.manifest import new_model_id
from clml_contract.progress import Cancelled, Control
from clml_desktop.collection.exporting import write_training_set
from clml_desktop.collection.rows import ModelRow
from clml_desktop.collection.store import StoreError
from clml_desktop.inference.engine import model_dir_of, read_manifest
from clml_desktop.inference.errors import ModelLoadError
from clml_desktop.inference.registry import register_model
from clml_desktop.workflow.child_process import stop_child
from clml_desktop.workflow.trainer_env import (
    TrainerEnvironment,
    TrainerMissing,
    find_trainer,
    trainer_environ,
)
from clml_desktop.workflow.training_text import failure_text

if TYPE_CHECKING:  # type-only, so importing this module never opens a cycle
    from clml_desktop.collection.store import CollectionStore

log = logging.getLogger(__name__)

CANCEL_GRACE_S = 60.0
TAIL_LINES = 8
PROGRAM_ENV = "CLML_TRAINER_PROGRAM"

# The trainer's `--augment` choices (training/cli.py), spelled out here because the app
# never imports the trainer; tests check the two lists agree.
AUGMENTATIONS = ("auto", "none", "crop", "crop-flip", "randaugment")
ACTIVATIONS = ("if-better", "always")  # when a finished model becomes active

# The trainer's defaults and limits (training/cli.py, training/folds.py): K >= 2 folds need
# 2·K images (each fold model learns from the others and scores its own), and with folds
# off it holds out nothing below 10 images. With fewer images a run makes a model with no
# held-out mAP at all, so it is refused before the trainer starts.
DEFAULT_FOLDS = 2
MIN_HOLDOUT_IMAGES = 10
# A new model counts as "not worse" when its held-out mAP on the same images is at most
# this much below the active model's: new labels are worth learning, noise is not a loss.
ACTIVATE_TOLERANCE = 0.002

OnEvent = Callable[[Event], None]
OnLog = Callable[[str], None]


class TrainingError(Exception):
    """The trainer could not start, failed, or made a model we cannot register; the
    message is for people and names the trainer's log."""


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
    activate: str = "if-better"  # one of ACTIVATIONS; the app's choice, not the trainer's


def trainer_program() -> list[str] | None:
    """The replacement for `python -m training` from CLML_TRAINER_PROGRAM, if set (tests
    run a fake trainer this way; so can people whose trainer lives in another Python)."""
    text = os.environ.get(PROGRAM_ENV, "").strip()
    return shlex.split(text) if text else None


def apply_program(command: list[str], program: Sequence[str] | None) -> list[str]:
    """Swap the `<python> -m training` head of a fit command for `program`."""
    if not program:
        return list(command)
    if len(command) >= 3 and command[1:3] == ["-m", "training"]:
        return list(program) + command[3:]
    return list(program) + command


def fine_tune_source(store: CollectionStore, options: TrainOptions) -> str | None:
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


def fine_tuned_model(store: CollectionStore, options: TrainOptions) -> ModelRow | None:
    """The active model when a run with `options` fine-tunes it, else None."""
    active = store.active_model()
    source = fine_tune_source(store, options)
    if active is None or source is None:
        return None
    return active if Path(source).resolve() == model_dir_of(store, active).resolve() else None


def build_fit_command(
    store, training_set_path: Path, out_dir: Path, options: TrainOptions,
    python: str | None = None,
) -> list[str]:
    """The trainer's command line (ADR 0002), run with `python` (default: this interpreter;
    `trainer_env.find_trainer` says which one can train)."""
    cmd = [
        python or sys.executable,
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


@dataclass
class TrainingJob:
    """One training run's paths: the set we wrote, where the model goes, the trainer's log."""

    model_id: str
    training_set: Path
    out_dir: Path
    log_path: Path
    images: int


def minimum_images(options: TrainOptions | None = None) -> int:
    """The fewest labelled images a run may start with: 2·K for K folds (4 by default),
    10 with folds off (the trainer's held-out share)."""
    folds = (options.folds if options is not None and options.folds else None) or DEFAULT_FOLDS
    return 2 * folds if folds >= 2 else MIN_HOLDOUT_IMAGES


def too_few_images_text(images: int, options: TrainOptions | None = None) -> str | None:
    """Why `images` labelled images are too few to train on, or None when they are enough."""
    need = minimum_images(options)
    if images >= need:
        return None
    if images == 0:
        return "No image has a tag yet, so there is nothing to train on"
    folds = (options.folds if options is not None and options.folds else None) or DEFAULT_FOLDS
    how = (
        f"each of the trainer's {folds} fold models learns from the other images and scores "
        f"its own, so that every image gets a score from a model that never saw it"
        if folds >= 2 else
        f"with folds off the trainer holds out a share of the images, and none below {need}"
    )
    has = "has" if images == 1 else "have"
    return (
        f"Tag at least {need} images before training ({images} {has} tags): {how}; with fewer, "
        f"the new model would have no held-out mAP to judge it by"
    )


def prepare_training(
    store: CollectionStore, model_id: str | None = None, options: TrainOptions | None = None
) -> TrainingJob:
    """Write the training set (positives and confirmed negatives of every readable image);
    a TrainingError when it has fewer than `minimum_images(options)` images."""
    model_id = model_id or new_model_id()
    work = Path(store.data_dir) / "training"
    work.mkdir(parents=True, exist_ok=True)
    training_set = work / f"{model_id}.jsonl"
    images = write_training_set(store, training_set)
    refused = too_few_images_text(images, options)
    if refused is not None:
        training_set.unlink(missing_ok=True)
        raise TrainingError(f"{refused} ({store.root})")
    return TrainingJob(
        model_id=model_id,
        training_set=training_set,
        out_dir=Path(store.data_dir) / "models" / model_id,
        log_path=work / f"{model_id}.log",
        images=images,
    )


def train(
    store,
    options: TrainOptions,
    control: Control,
    on_event: OnEvent | None = None,
    *,
    on_log: OnLog | None = None,
    on_prepared: Callable[[TrainingRun], None] | None = None,
    program: Sequence[str] | None = None,
    grace_s: float = CANCEL_GRACE_S,
) -> ModelRow:
    """The whole Train step: write the training set, run the trainer, register its model
    (made active as `activation_verdict` decides; the run's `verdict` says what it decided
    and why). `on_prepared` sees the run before the trainer starts (its job and command).
    Raises `Cancelled` when stopped on request and `TrainingError` when it failed."""
    control.check()
    trainer = resolve_trainer(program, control)
    control.check()
    job = prepare_training(store, options=options)
    control.check()
    run = TrainingRun(store, job, options, program=program, grace_s=grace_s, trainer=trainer)
    if on_prepared is not None:
        on_prepared(run)
    return run.run(control, on_event, on_log=on_log)


def resolve_trainer(
    program: Sequence[str] | None = None, control: Control | None = None
) -> TrainerEnvironment | None:
    """The Python that will train, or None when a replacement program runs instead
    (`program`, or CLML_TRAINER_PROGRAM). A TrainingError says plainly when there is
    none: what was tried and what to install (trainer_env.find_trainer)."""
    if program or trainer_program():
        return None
    try:
        return find_trainer(control=control)
    except TrainerMissing as exc:
        raise TrainingError(str(exc)) from exc


class TrainingRun:
    """The trainer subprocess of one job. `run()` blocks until it ended and returns the
    registered, active model; `cancel()` may come from any thread and never blocks.

    stdout carries the protocol's events (each goes to `on_event`); stderr is the
    human log: written to the job's log file, passed to `on_log` line by line and
    kept as a tail for the message when the trainer fails.
    """

    def __init__(
        self,
        store,
        job: TrainingJob,
        options: TrainOptions,
        *,
        program: Sequence[str] | None = None,
        grace_s: float = CANCEL_GRACE_S,
        trainer: TrainerEnvironment | None = None,
    ) -> None:
        self.store = store
        self.job = job
        self.options = options
        self.verdict: Verdict | None = None
        self.trainer = trainer
        python = trainer.python if trainer is not None else None
        fit = build_fit_command(store, job.training_set, job.out_dir, options, python)
        self.command = apply_program(fit, trainer_program() if program is None else program)
        self.grace_s = grace_s
        self._process: subprocess.Popen | None = None
        self._lock = threading.Lock()
        self._cancelled = False
        self._tail: deque[str] = deque(maxlen=TAIL_LINES)

    @property
    def pid(self) -> int:
        """The trainer's process id while it runs, else 0."""
        process = self._process
        return process.pid if process is not None and process.returncode is None else 0

    def cancel(self) -> None:
        """Ask the trainer to stop (SIGTERM: it saves and says `cancelled`); after
        `grace_s` it is killed. Returns at once: the waiting happens on a thread."""
        with self._lock:
            self._cancelled = True
            process = self._process
        if process is not None:
            self._stop_in_background(process)

    def kill(self) -> None:
        """End the trainer now (the app is closing and it did not stop in time)."""
        process = self._process
        if process is not None and process.returncode is None:
            process.kill()

    def run(self, control: Control, on_event: OnEvent | None = None, *,
            on_log: OnLog | None = None) -> ModelRow:
        """Run the trainer to its end; the registered model, or Cancelled / TrainingError."""
        on_cancel = getattr(control, "on_cancel", None)
        if on_cancel is not None:
            on_cancel(self.cancel)
        control.check()
        self.job.out_dir.parent.mkdir(parents=True, exist_ok=True)
        with open(self.job.log_path, "w", encoding="utf-8") as log_file:
            process = self._start()
            reader = threading.Thread(
                target=self._read_log, args=(process.stderr, log_file, on_log), daemon=True
            )
            reader.start()
            try:
                done, error = self._read_events(process, control, on_event, log_file, on_log)
                code = process.wait()
            finally:
                stop_child(process, self.grace_s)
                reader.join()
                for pipe in (process.stdout, process.stderr):
                    if pipe is not None:
                        pipe.close()
        if self._cancelled or control.cancelled:
            raise Cancelled()
        if code != 0 or done is None:
            raise TrainingError(failure_text(code, error, list(self._tail), self.job.log_path))
        return self._register(done)

    def _start(self) -> subprocess.Popen:
        try:
            process = subprocess.Popen(
                self.command,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                stdin=subprocess.DEVNULL,
                env=trainer_environ(self.command[0]),
            )
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise TrainingError(f"Could not start the trainer ({self.command[0]}): {reason}") from exc
        with self._lock:
            self._process = process
            cancelled = self._cancelled
        if cancelled:
            self._stop_in_background(process)
        return process

    def _stop_in_background(self, process: subprocess.Popen) -> None:
        threading.Thread(
            target=stop_child, args=(process, self.grace_s), daemon=True, name="stop trainer"
        ).start()

    def _read_events(
        self, process: subprocess.Popen, control: Control, on_event: OnEvent | None,
        log_file: IO[str], on_log: OnLog | None,
    ) -> tuple[DoneEvent | None, str | None]:
        """Each stdout line → its event; the `done` event and the last error message."""
        done: DoneEvent | None = None
        error: str | None = None
        for line in process.stdout if process.stdout is not None else ():
            event = parse_line(line)
            if event is None:
                self._log_line(line.decode("utf-8", errors="replace"), log_file, on_log)
                continue
            if isinstance(event, DoneEvent):
                done = event
            elif isinstance(event, ErrorEvent):
                error = event.message
            elif isinstance(event, CancelledEvent):
                self._cancelled = True  # stopped by a signal we did not send (Ctrl+C)
            if on_event is not None:
                on_event(event)
        return done, error

    def _read_log(self, stderr: IO[bytes] | None, log_file: IO[str], on_log: OnLog | None) -> None:
        for line in stderr if stderr is not None else ():
            text = line.decode("utf-8", errors="replace")
            if text.strip():
                self._tail.append(text.strip())
            self._log_line(text, log_file, on_log)

    def _log_line(self, text: str, log_file: IO[str], on_log: OnLog | None) -> None:
        text = text.rstrip("\r\n")
        if not text.strip():
            return
        with self._lock:
            try:
                log_file.write(text + "\n")
                log_file.flush()
            except (OSError, ValueError):
                pass  # a full disk must not stop the run; the lines still reach on_log
        if on_log is not None:
            on_log(text)

    def _register(self, done: DoneEvent) -> ModelRow:
        active = self.store.active_model()
        try:
            manifest = read_manifest(Path(done.model_dir))
            verdict = activation_verdict(
                manifest.id or Path(done.model_dir).name, dict(manifest.metrics or {}), active,
                self.options.activate,
            )
            model = register_model(self.store, Path(done.model_dir), activate=verdict.activate,
                                   manifest=manifest)
        except (ModelLoadError, StoreError, OSError) as exc:
            raise TrainingError(
                f"The new model could not be registered: {exc} (it is kept in {done.model_dir})"
            ) from exc
        self.verdict = verdict
        log.info("%s", verdict.text)
        return model


@dataclass(frozen=True)
class Verdict:
    """Whether a finished model was made active, and the sentence that says why."""

    activate: bool
    text: str
    compared: bool  # both models were scored on the same images
    previous: str | None = None  # the model that was active before


def activation_verdict(
    model_id: str, metrics: dict, active: ModelRow | None, policy: str = "if-better"
) -> Verdict:
    """Keep the better model active. The trainer, fine-tuning the active model, reports
    the active model's held-out mAP beside the new one's on the same images
    (`parent_val_map`, `compare_val_map`, `compare_images`); the new model becomes
    active unless it scores more than ACTIVATE_TOLERANCE lower there, or `policy` is
    "always". With no such pair (the first model, another architecture or start, a
    parent without out-of-fold scores) it becomes active as before, and the text says
    there was nothing to compare."""
    own = metrics.get("val_map")
    own_text = f" (held-out mAP {own:.3f})" if isinstance(own, int | float) else ""
    if active is None:
        return Verdict(True, f"Model {model_id}{own_text} is active: it is the first model", False)
    new, old = metrics.get("compare_val_map"), metrics.get("parent_val_map")
    images = metrics.get("compare_images")
    comparable = (
        metrics.get("parent_model") == active.id
        and isinstance(new, int | float) and isinstance(old, int | float)
    )
    if not comparable:
        if metrics.get("parent_model") and metrics.get("parent_model") != active.id:
            why = f"it started from model {metrics['parent_model']}, not from the active model {active.id}"
        elif metrics.get("compare_note"):
            why = str(metrics["compare_note"])
        else:
            why = f"it did not start from the active model {active.id}"
        return Verdict(
            True, f"Model {model_id}{own_text} is active; nothing to compare it with: {why}",
            False, active.id,
        )
    on = f"on the same {images:,} images" if isinstance(images, int) else "on the same images"
    if new >= old - ACTIVATE_TOLERANCE:
        return Verdict(
            True, f"Model {model_id} is active: held-out mAP {new:.3f}, model {active.id} "
            f"{old:.3f} {on}", True, active.id,
        )
    if policy == "always":
        return Verdict(
            True, f"Model {model_id} is active as asked, though it scores {new:.3f} and model "
            f"{active.id} {old:.3f} {on}", True, active.id,
        )
    return Verdict(
        False, f"Model {model_id} (held-out mAP {new:.3f}) is kept inactive: model {active.id} "
        f"scores {old:.3f} {on}. Make active to use it anyway.", True, active.id,
    )

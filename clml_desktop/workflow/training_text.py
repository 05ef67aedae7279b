"""The words for a training run, written once for the window and the command line.

The Train panel and `clml-desktop train` show the same trainer events: the
panel in labels and its log, the CLI in a progress bar and lines on stderr.
Each text is made here from the event (and the whole-run progress,
`RunProgress`), so the two never word the same moment differently.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from clml_contract.events import (
    CancelledEvent,
    DoneEvent,
    EpochEvent,
    ErrorEvent,
    Event,
    ProgressEvent,
    StartEvent,
    WarningEvent,
)
from clml_desktop.workflow.run_progress import RunProgress

PREPARING_LINE = "Writing the training set (confirmed tags and rejections)…"
CANCELLING_LINE = "Cancelling: asking the trainer to stop…"
REGISTERING_LINE = "Registering the new model and its out-of-fold scores…"
CANCELLED_LINE = "Training cancelled; the collection is unchanged"
CANCELLED_STATUS = "Training cancelled; nothing changed"


def format_eta(seconds: float | None) -> str:
    """`1 h 02 min`, `3 min 05 s`, `42 s`, or `—` when unknown."""
    if seconds is None or seconds != seconds:
        return "—"
    seconds = max(0, int(round(seconds)))
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    if seconds >= 60:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds} s"


def prepared_line(images: int, training_set: Path) -> str:
    return f"Training set: {images} images → {training_set}"


def command_line(command: Sequence[str]) -> str:
    return "$ " + shlex.join(command)


def event_line(event: Event) -> str | None:
    """The log line of an event worth one (start, warning, error, done, cancelled)."""
    if isinstance(event, StartEvent):
        reason = f" ({event.device_reason})" if event.device_reason else ""
        return (
            f"Trainer started on {event.device}{reason}: {event.arch}, {event.image_size} px, "
            f"{event.epochs} epochs, {event.folds} folds, {event.images} images, {event.tags} tags"
        )
    if isinstance(event, WarningEvent):
        return f"warning: {event.message}"
    if isinstance(event, ErrorEvent):
        return f"error: {event.message}"
    if isinstance(event, DoneEvent):
        return f"Trainer finished: model in {event.model_dir}"
    if isinstance(event, CancelledEvent):
        return "Trainer stopped on request"
    return None


def start_title(event: StartEvent) -> str:
    return f"Training {event.arch} at {event.image_size} px on {event.images:,} images, {event.tags} tags"


def models_to_train(run: RunProgress) -> str:
    return f"{run.total_phases} model{'s' if run.total_phases != 1 else ''} to train"


def progress_title(event: ProgressEvent, run: RunProgress) -> str:
    """`Training fold 1/2 (phase 2 of 3) — epoch 3 of 8`."""
    return f"Training {run.label(event.phase)} — epoch {event.epoch} of {event.epochs}"


def step_text(event: ProgressEvent) -> str:
    return f"{event.epoch}/{event.epochs} · {event.step}/{event.steps}"


def loss_text(loss: float) -> str:
    return f"{loss:.4f}"


def map_text(value: float) -> str:
    return f"{value:.3f}"


def progress_line(event: ProgressEvent, run: RunProgress) -> str:
    """The title with the loss and the whole run's time left, for one-line displays."""
    loss = f"  loss {loss_text(event.loss)}" if event.loss is not None else ""
    return f"{progress_title(event, run)}{loss}  ETA {format_eta(run.eta_s())}"


def epoch_line(event: EpochEvent, run: RunProgress) -> str:
    """`Training final model — epoch 2 of 8 done: loss 0.2500, held-out mAP 0.512`."""
    loss = f"loss {loss_text(event.train_loss)}" if event.train_loss is not None else "done"
    val = f", held-out mAP {map_text(event.val_map)}" if event.val_map is not None else ""
    return f"Training {run.label(event.phase)} — epoch {event.epoch} of {run.epochs or '?'} done: {loss}{val}"


def held_out_map(metrics: dict[str, Any] | None) -> float | None:
    score = (metrics or {}).get("val_map", (metrics or {}).get("map"))
    return score if isinstance(score, int | float) else None


def _detail(metrics: dict[str, Any] | None) -> str:
    score = held_out_map(metrics)
    return f" (held-out mAP {map_text(score)})" if score is not None else ""


def active_line(model_id: str, metrics: dict[str, Any] | None) -> str:
    return f"Model {model_id} is now active{_detail(metrics)}"


def finished_status(model_id: str, metrics: dict[str, Any] | None) -> str:
    return f"Training finished: model {model_id} is active{_detail(metrics)}"


def failure_text(code: int, error: str | None, tail: Sequence[str], log_path: Path) -> str:
    """Why a run failed: the trainer's own message, else how it ended and its log's last lines."""
    if error:
        reason = error
    else:
        if code < 0:
            how = f"the trainer crashed (signal {-code})"
        elif code == 0:
            how = "the trainer ended without a model"
        else:
            how = f"the trainer exited with code {code}"
        reason = f"{how}: {' | '.join(tail) if tail else '(empty log)'}"
    return f"Training failed: {reason} (full log: {log_path})"

"""Score what changed with the active model (after a training, a model switch, or
new images), in a child process, so suggestions are fresh without blocking.

Only images without a current cached score are run through the model: a new
model's training images already carry its out-of-fold scores, so after a
training this is typically just the images added or changed since the
training set was written.

The scoring itself runs in a child process at lower CPU priority (ADR 0014),
like the trainer: in-process, its decode threads, the onnxruntime thread pool
and its Python loop competed with the GUI thread for the GIL and for the
cores, and the grid stalled for 100-200 ms at a time while it ran. The child
speaks the contract's events (`clml_desktop.workflow.score_child`); the
caller's thread only relays its steps to the `Control` and returns its
report, and a cancel asks the child to stop after its current batch (what it
scored is kept).
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from clml_contract.events import CancelledEvent, ErrorEvent, ScoredEvent, StepEvent, parse_line
from clml_contract.progress import Cancelled, Control
from clml_desktop.inference.pipeline import PipelineReport
from clml_desktop.workflow.child_process import child_environment, stop_child

CHILD_MODULE = "clml_desktop.workflow.score_child"
# Scoring yields the cores to the GUI (and to the user's foreground work).
SCORING_NICENESS = 10
STOP_GRACE_S = 30.0


def rescore_active_model(control: Control, root: Path, device: str = "auto") -> PipelineReport | None:
    """Run the active model over images lacking a current score; None when no model is active."""
    from clml_desktop.collection.store import CollectionStore

    with CollectionStore.open(Path(root)) as store:
        model = store.active_model()
    if model is None:
        return None
    return score_in_child(control, Path(root), Path(model.path), device)


def score_in_child(
    control: Control, root: Path, model_dir: Path, device: str = "auto", niceness: int = SCORING_NICENESS
) -> PipelineReport:
    """Score the collection at `root` with the model in `model_dir` in a child process.

    Blocks the calling (worker) thread until the child ends. Raises
    `Cancelled` once the child has stopped after a cancel (what it scored is
    in the store), and RuntimeError with the child's message when scoring
    failed.
    """
    cmd = [sys.executable, "-m", CHILD_MODULE, str(root), str(model_dir), device, str(niceness)]
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors, text=True, encoding="utf-8",
            env=child_environment(),
        )
        lines: queue.Queue[str | None] = queue.Queue()
        reader = threading.Thread(target=_read_lines, args=(proc, lines), name="clml-score-reader", daemon=True)
        reader.start()
        try:
            outcome = _relay(proc, lines, control)
        finally:
            stop_child(proc, STOP_GRACE_S, ask=_ask_to_stop)
            reader.join()
            for stream in (proc.stdin, proc.stdout):
                if stream is not None:
                    stream.close()
        if isinstance(outcome, CancelledEvent) or control.cancelled:
            raise Cancelled()
        if isinstance(outcome, ErrorEvent):
            raise RuntimeError(outcome.message)
        if outcome is None:
            errors.seek(0)
            tail = errors.read().decode("utf-8", "replace").strip().splitlines()[-1:]
            raise RuntimeError(tail[0] if tail else f"scoring stopped (exit code {proc.returncode})")
    return PipelineReport.from_dict(outcome.report)


def _relay(
    proc: subprocess.Popen, lines: queue.Queue[str | None], control: Control
) -> ScoredEvent | ErrorEvent | CancelledEvent | None:
    """Pass the child's steps to `control` until its stdout ends; its last word, if any.

    A cancel is passed on within 0.2 s, not only when a line comes: the child
    may be loading the model and say nothing for seconds.
    """
    outcome: ScoredEvent | ErrorEvent | CancelledEvent | None = None
    stopping = False
    while True:
        if control.cancelled and not stopping:
            stopping = True
            _ask_to_stop(proc)
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            continue
        if line is None:
            return outcome
        event = parse_line(line)
        if isinstance(event, StepEvent):
            control.report(event.done, event.total, event.text)
        elif isinstance(event, ScoredEvent | ErrorEvent | CancelledEvent):
            outcome = event


def _read_lines(proc: subprocess.Popen, lines: queue.Queue[str | None]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.put(line)
    lines.put(None)


def _ask_to_stop(proc: subprocess.Popen) -> None:
    """SIGTERM where there is one (the child stops after its batch); otherwise close its stdin."""
    try:
        if hasattr(signal, "SIGTERM") and os.name != "nt":
            proc.send_signal(signal.SIGTERM)
        elif proc.stdin is not None:
            proc.stdin.close()
    except (OSError, ValueError):
        pass  # it ended meanwhile, or its stdin is already closed

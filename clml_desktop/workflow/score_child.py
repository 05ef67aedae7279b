"""Child-process side of background scoring (the parent is `clml_desktop.workflow.scoring`).

    python -m clml_desktop.workflow.score_child ROOT MODEL_DIR DEVICE NICENESS

Scores the collection at ROOT with the model in MODEL_DIR and speaks the
contract's JSON lines on stdout (`clml_contract.events`, like the trainer):
`step` events (first "Loading the model", then one per batch), then exactly
one of `scored` (the `PipelineReport`'s fields), `cancelled` or `error`.
SIGTERM asks it to stop after the current batch (what was scored is kept);
so does a closed stdin on systems without SIGTERM.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
import threading
from pathlib import Path

from clml_contract.events import CancelledEvent, ErrorEvent, Event, ScoredEvent, StepEvent, encode
from clml_contract.progress import Steps

LOADING = "Loading the model"


def _say(event: Event) -> None:
    sys.stdout.write(encode(event) + "\n")
    sys.stdout.flush()


def main(argv: list[str]) -> int:
    """Score, speaking events; exit 0 when scored or cancelled, 1 on an error."""
    root, model_dir, device, niceness = Path(argv[0]), Path(argv[1]), argv[2], int(argv[3])
    if niceness > 0 and hasattr(os, "nice"):
        os.nice(niceness)
    control = Steps(lambda done, total, text: _say(StepEvent(done, total, text)))
    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, lambda *_: control.cancel())
    threading.Thread(target=lambda: (sys.stdin.read(), control.cancel()), daemon=True).start()

    from clml_desktop.collection.store import CollectionStore
    from clml_desktop.inference.engine import Engine
    from clml_desktop.inference.pipeline import predict_collection

    try:
        with CollectionStore.open(root) as store:
            control.report(0, 0, LOADING)
            # Threads spin only while no other process (the GUI included) needs
            # the cores, looked at again every 30 s (ADR 0016 addendum); the GUI's
            # stalls while scrolling stayed as low as with sleeping threads.
            engine = Engine.load(model_dir, device=device)
            report = predict_collection(store, engine, control=control)
    except Exception as exc:  # reported to the parent, which raises it in its job
        _say(ErrorEvent(message=str(exc) or type(exc).__name__))
        return 1
    _say(CancelledEvent() if report.cancelled else ScoredEvent(report=dataclasses.asdict(report)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

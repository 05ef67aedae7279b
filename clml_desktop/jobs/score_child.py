"""Child-process side of background scoring (see `clml_desktop.jobs.rescore`).

    python -m clml_desktop.jobs.score_child ROOT MODEL_DIR DEVICE NICENESS

Scores the collection at ROOT with the model in MODEL_DIR and talks to its
parent on stdout, one line per message: `progress DONE TOTAL TEXT` after each
batch, then `result <PipelineReport as one JSON object>` or `error <message>`.
SIGTERM asks it to stop after the current batch (what was scored is kept);
so does a closed stdin on systems without SIGTERM.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import sys
import threading
from pathlib import Path


def _say(kind: str, text: str) -> None:
    sys.stdout.write(f"{kind} {text}\n")
    sys.stdout.flush()


def main(argv: list[str]) -> int:
    root, model_dir, device, niceness = Path(argv[0]), Path(argv[1]), argv[2], int(argv[3])
    if niceness > 0 and hasattr(os, "nice"):
        os.nice(niceness)
    stop = threading.Event()
    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()

    from clml_desktop.collection.store import CollectionStore
    from clml_desktop.inference.engine import Engine
    from clml_desktop.inference.pipeline import Progress, predict_collection

    def progress(p: Progress) -> None:
        _say("progress", f"{p.done} {p.total} Scoring images ({p.images_per_s:.1f}/s)")

    try:
        store = CollectionStore.open(root)
        try:
            _say("progress", "0 0 Loading the model")
            # Threads spin only while no other process (the GUI included) needs
            # the cores, looked at again every 30 s (ADR 0016 addendum); the GUI's
            # stalls while scrolling stayed as low as with sleeping threads.
            engine = Engine.load(model_dir, device=device)
            report = predict_collection(store, engine, progress=progress, cancel=stop.is_set)
        finally:
            store.close()
    except Exception as exc:  # reported to the parent, which raises it in its job
        _say("error", (str(exc) or type(exc).__name__).replace("\n", " "))
        return 1
    _say("result", json.dumps(dataclasses.asdict(report)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Background job: score what changed with the active model (after a training,
a model switch, or new images), so suggestions are fresh without blocking.

Runs on a worker thread with its own store connection (ADR 0001). Only images
without a current cached score are run through the model: a new model's
training images already carry its out-of-fold scores, so after a training
this is typically just the images added or changed since the training set
was written.
"""

from __future__ import annotations

from pathlib import Path

from clml_desktop.inference.pipeline import PipelineReport, Progress
from clml_desktop.jobs.worker import JobControl


def rescore_active_model(control: JobControl, root: Path, device: str = "auto") -> PipelineReport | None:
    """Run the active model over images lacking a current score; None when no model is active."""
    from clml_desktop.collection.store import CollectionStore
    from clml_desktop.inference.engine import Engine
    from clml_desktop.inference.pipeline import predict_collection

    store = CollectionStore.open(Path(root))
    try:
        model = store.active_model()
        if model is None:
            return None
        control.report(0, 0, "Loading the model")
        engine = Engine.load(Path(model.path), device=device)
        control.check()

        def progress(p: Progress) -> None:
            control.report(p.done, p.total, f"Scoring images ({p.images_per_s:.1f}/s)")

        return predict_collection(
            store, engine, progress=progress, cancel=lambda: control.cancelled
        )
    finally:
        store.close()

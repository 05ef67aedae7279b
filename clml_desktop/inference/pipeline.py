"""Score a collection: decode in a thread pool while the model runs, cache in the store.

Decoding a 1024×768 JPEG and resizing it costs a fair share of a CPU
inference, so it must not sit in series with it: worker threads decode and
normalise images ahead of the model (Pillow and onnxruntime both release the
GIL), a bounded window of futures keeps memory flat, and the model thread
only stacks ready arrays. Results go to the store after every batch, per
(image version, model), so a cancelled or crashed run keeps what it did and a
rerun computes only new or changed images.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from clml_contract.preprocess import preprocess_file
from clml_contract.progress import Control
from clml_desktop.collection.labels import Problem
from clml_desktop.collection.rows import ImageRow, PredictionIn
from clml_desktop.inference import cpu_share
from clml_desktop.inference.engine import Engine
from clml_desktop.inference.providers import cpu_threads
from clml_desktop.inference.registry import ensure_registered

if TYPE_CHECKING:  # type-only, so importing this module never opens a cycle
    from clml_desktop.collection.store import CollectionStore

log = logging.getLogger(__name__)

PREFETCH_BATCHES = 2
LOAD_CHECK_S = 30.0
"""How often a long CPU run looks whether other processes now need the cores
(`Engine.follow_load`): often enough to stop spinning soon after a heavy
job starts, rarely enough that reopening a session (~0.5 s) stays noise."""
DECODE_NICENESS = 0


def _lower_thread_priority(niceness: int) -> None:
    """Optionally make the calling decode thread yield to the model's threads (Linux:
    per-thread nice; elsewhere a no-op).

    The idea: onnxruntime splits each operator evenly over its threads, and a
    decode thread that preempts one stalls the whole operator. Measured on a
    shared 2-core machine, niced decoders were starved by other processes'
    work and the model waited for them, so the default is 0 (off); the
    benchmark compares both.
    """
    if niceness <= 0 or not hasattr(os, "setpriority"):
        return
    tid = threading.get_native_id()
    try:
        # Relative to what the thread inherited: under `nice -n 19` an absolute 5 would
        # raise the decoders' priority (for root) instead of lowering it.
        os.setpriority(
            os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + niceness)
        )
    except OSError:
        pass


@dataclass
class PipelineReport:
    """What a run did; `problems` name each image that could not be decoded."""

    model_id: str
    provider: str
    total: int = 0
    scored: int = 0
    problems: list[Problem] = field(default_factory=list)
    cancelled: bool = False
    seconds: float = 0.0

    @property
    def images_per_s(self) -> float:
        return self.scored / self.seconds if self.seconds > 0 else 0.0

    @classmethod
    def from_dict(cls, fields: dict[str, Any]) -> PipelineReport:
        """The report from `dataclasses.asdict` data (the scoring child sends it so, as
        JSON: the parent never unpickles what another process wrote)."""
        fields = dict(fields)
        problems = [Problem(str(p["path"]), str(p["message"])) for p in fields.pop("problems", [])]
        return cls(**fields, problems=problems)


def predict_collection(
    store,
    engine: Engine,
    *,
    image_ids: Iterable[int] | None = None,
    batch_size: int | None = None,
    workers: int | None = None,
    control: Control | None = None,
    decode_niceness: int = DECODE_NICENESS,
) -> PipelineReport:
    """Score every readable image whose cached prediction is missing or stale.

    `image_ids` limits the run to some images. After each batch `control`
    hears `report(done, total, "Scoring images (12.3/s)")`, and it is asked
    `cancelled` before each: a cancelled run returns with `cancelled` set (it
    does not raise) and keeps what was scored. `decode_niceness` lowers the
    decode threads' priority (see `_lower_thread_priority`; 0 keeps it).
    Must be called from the thread that owns `store` (sqlite connections are
    per thread).
    """
    started = time.monotonic()
    ensure_registered(store, engine.model_dir, engine.manifest)
    todo = store.images_needing_predictions(engine.model_id)
    if image_ids is not None:
        wanted = set(int(i) for i in image_ids)
        todo = [row for row in todo if row.id in wanted]
    report = PipelineReport(
        model_id=engine.model_id, provider=engine.provider.provider, total=len(todo)
    )
    if not todo:
        return report
    batch = batch_size or engine.batch_size()
    n_workers = workers or max(2, cpu_threads())
    root = Path(store.root)
    size = engine.input_size
    normalizer = engine.normalizer

    def decode(row: ImageRow) -> np.ndarray:
        return preprocess_file(root / row.path, size, normalizer)

    done = 0
    rows = iter(todo)
    pending: deque[tuple[ImageRow, Future]] = deque()
    with ThreadPoolExecutor(
        max_workers=n_workers,
        thread_name_prefix="clml-decode",
        initializer=_lower_thread_priority,
        initargs=(decode_niceness,),
    ) as pool:

        def refill() -> None:
            while len(pending) < batch * (PREFETCH_BATCHES + 1):
                row = next(rows, None)
                if row is None:
                    return
                pending.append((row, pool.submit(decode, row)))

        watch = cpu_share.LoadWatch() if engine.follows_load else None
        looked = time.monotonic()
        try:
            refill()
            while pending:
                if watch is not None and time.monotonic() - looked >= LOAD_CHECK_S:
                    engine.follow_load(watch.sample())
                    looked = time.monotonic()
                if control is not None and control.cancelled:
                    report.cancelled = True
                    break
                ready: list[tuple[ImageRow, np.ndarray]] = []
                while pending and len(ready) < batch:
                    row, future = pending.popleft()
                    try:
                        ready.append((row, future.result()))
                    except Exception as exc:  # any decoder failure is a per-file problem
                        _record_problem(store, report, row, exc)
                        done += 1
                refill()
                if ready:
                    _score(store, engine, ready)
                    report.scored += len(ready)
                    done += len(ready)
                if control is not None:
                    control.report(done, report.total, _speed_text(done, started))
        finally:
            for _, future in pending:
                future.cancel()
    report.seconds = time.monotonic() - started
    log.info(
        "scored %d of %d images with %s in %.1f s (%.1f images/s)%s",
        report.scored,
        report.total,
        engine.model_id,
        report.seconds,
        report.images_per_s,
        " — cancelled" if report.cancelled else "",
    )
    return report


def _score(store: CollectionStore, engine: Engine, ready: list[tuple[ImageRow, np.ndarray]]) -> None:
    batch = np.stack([array for _, array in ready])
    out = engine.run(batch)
    embeddings = out.embeddings.astype(np.float16)
    store.put_predictions(
        engine.model_id,
        [
            PredictionIn(
                image_id=row.id,
                image_version=row.version,
                kind="engine",
                probs=out.probs[i],
                embedding=embeddings[i],
            )
            for i, (row, _) in enumerate(ready)
        ],
    )


def _record_problem(store: CollectionStore, report: PipelineReport, row: ImageRow, exc: Exception) -> None:
    message = f"cannot be decoded: {exc}"
    report.problems.append(Problem(row.path, message))
    log.warning("%s: %s", row.path, message)
    store.set_image_problem(row.id, message)


def _speed_text(done: int, started: float) -> str:
    """What the window's job list and the CLI's bar say while scoring."""
    rate = done / max(time.monotonic() - started, 1e-9)
    return f"Scoring images ({rate:.1f}/s)"

"""Review mode speed: decisions per minute with the keyboard alone (offscreen).

    python benchmarks/review.py [--images 300] [--decisions 300] [--dir /tmp/clml-review-bench]

Builds the demo collection (kept in --dir for reruns), registers a model whose
scores are random numbers written straight into the store (no torch, no
trainer: this measures the GUI, not the model), opens a 1440×900 main window
on review mode and sends accept / reject / skip keys in turn, processing
events after each so every decision is painted before the next key — as a
person would see it. Prints per-decision latency (median, p95, worst) and the
resulting decisions per minute. Target: hundreds per minute.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402


def prepare(folder: Path, images: int) -> None:
    """The demo collection plus a model 'bench' with a score for every (image, tag)."""
    from clml_desktop.collection.importing import import_folder
    from clml_desktop.collection.rows import PredictionIn
    from clml_desktop.collection.scan import scan_folder
    from clml_desktop.collection.store import CollectionStore
    from clml_desktop.demo import make_demo

    make_demo(folder, images=images)
    with CollectionStore.open(folder) as store:
        scan_folder(store)
        import_folder(store, fmt="auto")
        tags = [t.name for t in store.tags()]
        model_dir = store.data_dir / "models" / "bench"
        model_dir.mkdir(parents=True, exist_ok=True)
        manifest = {
            "format": 1, "id": "bench", "tags": tags, "architecture": "resnet18", "input_size": 64,
            "mean": [0.5] * 3, "std": [0.5] * 3, "resize": "squash", "thresholds": {t: 0.5 for t in tags},
            "embedding_dim": 8, "training": {}, "metrics": {}, "parent": None,
            "created": "2026-11-27T00:00:00+00:00", "files": {"onnx": "model.onnx", "checkpoint": None, "oof": None},
        }
        (model_dir / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        store.add_model("bench", model_dir, tags=tags, activate=True)
        rng = np.random.default_rng(0)
        store.put_predictions("bench", [
            PredictionIn(row.id, row.version, "engine", rng.uniform(0, 1, len(tags)).astype(np.float32))
            for row in store.images()
        ])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--decisions", type=int, default=300)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "clml-review-bench")
    args = parser.parse_args()

    folder = args.dir / f"demo-{args.images}"
    if not folder.is_dir():
        prepare(folder, args.images)

    from PySide6.QtCore import QSettings, Qt
    from PySide6.QtTest import QTest

    from clml_desktop.ui.app_setup import create_window, ensure_app, wait_until

    app = ensure_app()
    with tempfile.TemporaryDirectory() as tmp:
        window = create_window(QSettings(str(Path(tmp) / "s.ini"), QSettings.Format.IniFormat))
        window.resize(1440, 900)
        window.show()
        window.open_folder(folder)
        wait_until(lambda: window.grid_model.rowCount() > 0 and not window.is_busy(), 120)
        review = window.review_view
        window.show_view("review")
        if not wait_until(lambda: review.queue is not None and not review.is_loading(), 120) or not review.queue:
            print(f"no review queue: {review.question.text()}", file=sys.stderr)
            return 1
        keys = [Qt.Key.Key_A, Qt.Key.Key_R, Qt.Key.Key_S]
        queued = len(review.queue)
        n = min(args.decisions, queued)
        latencies = []
        started = time.perf_counter()
        for i in range(n):
            t0 = time.perf_counter()
            QTest.keyClick(review, keys[i % 3])
            app.processEvents()
            latencies.append(time.perf_counter() - t0)
        total = time.perf_counter() - started
        window.close()

    ms = sorted(1000 * x for x in latencies)
    p95 = ms[min(len(ms) - 1, int(0.95 * len(ms)))]
    print(f"review mode, {args.images} images, queue of {queued} suggestions, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'decisions':>10} {'seconds':>8} {'median ms':>10} {'p95 ms':>8} {'worst ms':>9} {'per minute':>11}")
    print(f"{n:>10} {total:>8.2f} {statistics.median(ms):>10.1f} {p95:>8.1f} {ms[-1]:>9.1f} {60 * n / total:>11.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

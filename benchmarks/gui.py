"""GUI responsiveness on a big folder (offscreen).

    python benchmarks/gui.py [--images 20000] [--dir /tmp/clml-gui-bench] [--no-inference]

Generates N small JPEGs with `.txt` sidecars (kept in --dir for reruns; the
collection's `.clml` is removed first so every run starts cold), opens the
folder in a 1440×900 main window, and measures:

- scan: open_folder() to the end of the background scan + tag import;
- first grid: end of scan to the first paint of the grid with its rows
  (label index loaded in the background, layout done);
- visible thumbnails: end of scan until every visible cell shows its thumbnail;
- worst GUI-thread stall while scrolling page by page through the whole grid
  (cold thumbnail cache, decodes in the background), and again scrolling back
  while the ONNX engine scores the collection in the background the way the
  app does it (`clml_desktop.workflow.scoring.score_in_child`);
- peak RSS of the process (the model is exported in a subprocess, so torch is
  never loaded here).

Stalls are measured with a 5 ms precise QTimer heartbeat: a stall is the
longest gap between two beats minus the interval. Targets: first grid < 1.5 s
after the scan, no stall > 100 ms, memory < 1 GB.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402
from PySide6.QtCore import QEvent, QObject, QSettings, Qt, QTimer  # noqa: E402

from clml_desktop.ui.app_setup import create_window, ensure_app, wait_until  # noqa: E402

TAGS = ["dog", "cat", "grass", "sky", "tree", "car", "person", "water", "snow", "night",
        "indoor", "red", "blue", "green", "flower", "food"]
MARKER = ".bench-complete"


def generate(folder: Path, n: int) -> float:
    """N 64×48 JPEGs in subfolders of 1,000 with sidecars; returns seconds (0 when reused)."""
    marker = folder / MARKER
    if marker.exists() and marker.read_text() == str(n):
        return 0.0
    if folder.exists():
        shutil.rmtree(folder)
    started = time.perf_counter()
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, size=(48, 64, 3), dtype=np.uint8)
    for i in range(n):
        sub = folder / f"part{i // 1000:03d}"
        if i % 1000 == 0:
            sub.mkdir(parents=True, exist_ok=True)
        shift = (i * 37) % 255
        arr = (base + shift).astype(np.uint8)
        Image.fromarray(arr).save(sub / f"img_{i:06d}.jpg", quality=80)
        k = rng.integers(1, 5)
        tags = rng.choice(TAGS, size=k, replace=False)
        if i % 10 != 9:
            (sub / f"img_{i:06d}.txt").write_text(", ".join(tags), encoding="utf-8")
    marker.write_text(str(n))
    return time.perf_counter() - started


def export_model(out: Path, size: int = 32) -> bool:
    """A ResNet18 ONNX model over TAGS at `size` px, made in a subprocess (torch stays out of here)."""
    code = f"""
import sys, torch
sys.path.insert(0, {str(ROOT)!r})
torch.set_num_threads(1)
from models.export import export_onnx, calibrate_batchnorm
from clml_contract.manifest import Manifest
from models.resnet import build_model
from pathlib import Path
out = Path({str(out)!r}); out.mkdir(parents=True, exist_ok=True)
tags = {TAGS!r}
m = build_model("resnet18", len(tags))
calibrate_batchnorm(m, torch.rand(16, 3, {size}, {size}) * 2 - 1)
m.eval()
export_onnx(m, out / "model.onnx", {size})
Manifest(id="bench-r18-{size}", tags=tags, architecture="resnet18", input_size={size}, embedding_dim=512,
         mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225], thresholds={{t: 0.5 for t in tags}},
         files={{"onnx": "model.onnx", "checkpoint": None, "oof": None}}).write(out)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if done.returncode != 0:
        print(f"(no inference phase: exporting the model failed: {done.stderr.strip()[-300:]})")
    return done.returncode == 0


class Heartbeat(QObject):
    """Longest gap between 5 ms timer beats on the GUI thread, per phase.

    With each gap it keeps the CPU the GUI thread used during it and (Linux)
    how long the thread sat runnable waiting for a core, from
    /proc/thread-self/schedstat: a long gap with little CPU and a long
    run-queue wait means other processes had the cores; little of both
    means the thread was blocked (on the GIL, e.g. a garbage collection on
    another thread).
    """

    def __init__(self) -> None:
        super().__init__()
        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(5)
        self.timer.timeout.connect(self._beat)
        try:
            self._sched = open("/proc/thread-self/schedstat")  # noqa: SIM115 (read at every beat)
        except OSError:
            self._sched = None
        self.reset()

    def _queued(self) -> float:
        if self._sched is None:
            return float("nan")
        self._sched.seek(0)
        return int(self._sched.read().split()[1]) / 1e9

    def start(self) -> None:
        self.reset()
        self.timer.start()

    def reset(self) -> None:
        self.last = time.perf_counter()
        self.last_cpu = time.thread_time()
        self.last_queued = self._queued()
        self.worst = 0.0
        self.worst_cpu = 0.0
        self.worst_queued = 0.0

    def _beat(self) -> None:
        now, cpu, queued = time.perf_counter(), time.thread_time(), self._queued()
        gap = now - self.last - 0.005
        if gap > self.worst:
            self.worst, self.worst_cpu, self.worst_queued = gap, cpu - self.last_cpu, queued - self.last_queued
        self.last, self.last_cpu, self.last_queued = now, cpu, queued

    def stall(self) -> tuple[float, float, float]:
        """(worst gap, GUI CPU in it, run-queue wait in it), seconds."""
        return self.worst, self.worst_cpu, self.worst_queued


class PaintWatch(QObject):
    """Records when the grid's viewport first paints with rows in the model."""

    def __init__(self, window) -> None:  # noqa: ANN001
        super().__init__()
        self.window = window
        self.first_rows_paint: float | None = None
        window.grid.viewport().installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:  # noqa: ANN001, N802
        if event.type() == QEvent.Type.Paint and self.first_rows_paint is None:
            if self.window.grid_model.rowCount() > 0:
                self.first_rows_paint = time.perf_counter()
        return False


def visible_thumbs_done(window) -> bool:  # noqa: ANN001
    grid, model = window.grid, window.grid_model
    rows = grid.visible_rows()
    if len(rows) == 0 or window.thumbnails is None:
        return False
    from clml_desktop.ui.grid_model import ThumbnailRole

    return all(model.index(r).data(ThumbnailRole) is not None for r in rows)


def scroll_through(window, beat: Heartbeat, direction: int, step_ms: int = 16) -> tuple[float, int]:  # noqa: ANN001
    """Scroll a page every `step_ms` until the end; returns (seconds, pages)."""
    bar = window.grid.verticalScrollBar()
    pages = 0
    started = time.perf_counter()
    done = False

    def step() -> None:
        nonlocal pages, done
        target = bar.value() + direction * bar.pageStep()
        bar.setValue(target)
        pages += 1
        if direction > 0:
            # Layout runs in batches: the range grows while we scroll, so the end
            # is when the last cell is on screen, not when the bar hits its maximum.
            grid, model = window.grid, window.grid_model
            last = grid.visualRect(model.index(model.rowCount() - 1))
            done = bar.value() >= bar.maximum() and last.isValid() and last.top() < grid.viewport().height()
        else:
            done = bar.value() <= bar.minimum()

    timer = QTimer()
    timer.setInterval(step_ms)
    timer.timeout.connect(step)
    timer.start()
    wait_until(lambda: done, timeout_s=600)
    timer.stop()
    return time.perf_counter() - started, pages


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=20000)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "clml-gui-bench")
    parser.add_argument("--no-inference", action="store_true", help="skip the background-inference phase")
    parser.add_argument("--model-size", type=int, default=32,
                        help="input size of the scoring model (ResNet18); 224 makes scoring compute-bound")
    args = parser.parse_args()

    folder = args.dir / f"images-{args.images}"
    gen_s = generate(folder, args.images)
    shutil.rmtree(folder / ".clml", ignore_errors=True)
    model_dir = args.dir / f"model-r18-{args.model_size}"
    have_model = not args.no_inference and (
        (model_dir / "manifest.json").exists() or export_model(model_dir, args.model_size)
    )

    load_start = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    app = ensure_app()
    settings_dir = Path(tempfile.mkdtemp(prefix="clml-bench-settings-"))
    window = create_window(QSettings(str(settings_dir / "s.ini"), QSettings.Format.IniFormat))
    window.resize(1440, 900)
    window.show()
    app.processEvents()
    beat = Heartbeat()
    watch = PaintWatch(window)
    scanned: list[float] = []
    window.scanFinished.connect(lambda _r: scanned.append(time.perf_counter()))

    beat.start()
    t_open = time.perf_counter()
    window.open_folder(folder)
    wait_until(lambda: bool(scanned), timeout_s=600)
    t_scan = scanned[0]
    stall_open = beat.stall()
    beat.reset()
    wait_until(lambda: watch.first_rows_paint is not None and window.grid_model.rowCount() == args.images, timeout_s=120)
    t_first = watch.first_rows_paint or time.perf_counter()
    wait_until(lambda: visible_thumbs_done(window), timeout_s=120)
    t_thumbs = time.perf_counter()
    stall_first = beat.stall()

    beat.reset()
    scroll_s, pages = scroll_through(window, beat, +1)
    stall_scroll = beat.stall()
    wait_until(lambda: not window.is_busy(), timeout_s=300)

    stall_infer = None
    infer_note = "skipped"
    if have_model:
        from clml_desktop.jobs.worker import Worker
        from clml_desktop.workflow.scoring import score_in_child

        def infer(control) -> object:  # noqa: ANN001
            # The app's own background scoring (a niced child process, ADR 0014).
            return score_in_child(control, folder, model_dir, "cpu")

        worker = Worker(infer, name="Scoring (benchmark)")
        results: list[object] = []
        worker.signals.result.connect(results.append)
        worker.signals.error.connect(lambda m: results.append(m))
        window.thumbnails.close()
        window._make_thumbnails()  # cold memory cache again: decodes from disk cache during the scroll
        window.context.start_job(worker)
        beat.reset()
        scroll_s2, pages2 = scroll_through(window, beat, -1)
        stall_infer = beat.stall()
        scrolled_done = len(results) > 0
        worker.cancel()
        wait_until(lambda: worker.is_done, timeout_s=120)
        rep = results[0] if results else None
        scored = getattr(rep, "done", None)
        infer_note = f"{pages2} pages in {scroll_s2:.1f} s; engine {'finished' if scrolled_done else 'still running'}" + (
            f", {scored} scored" if scored is not None else "")
    beat.timer.stop()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    window.close()
    shutil.rmtree(settings_dir, ignore_errors=True)

    first_grid = t_first - t_scan

    def stall_row(name: str, stall: tuple[float, float, float]) -> tuple[str, str, str, str]:
        wall, cpu, queued = stall
        why = f" (GUI CPU {cpu * 1000:.0f} ms, waiting for a core {queued * 1000:.0f} ms)"
        return (name, f"{wall * 1000:.0f} ms", "< 100 ms", ("ok" if wall < 0.1 else "MISS") + why)

    rows = [
        ("images (generated in)", f"{args.images:,}", f"{gen_s:.1f} s" if gen_s else "reused", ""),
        ("scan + import (background)", f"{t_scan - t_open:.2f} s", "", ""),
        ("first painted grid after scan", f"{first_grid:.2f} s", "< 1.5 s", "ok" if first_grid < 1.5 else "MISS"),
        ("visible thumbnails after scan", f"{t_thumbs - t_scan:.2f} s", "", ""),
        stall_row("worst stall while opening", stall_open),
        stall_row("worst stall until thumbnails", stall_first),
        stall_row(f"worst stall scrolling {pages} pages", stall_scroll),
    ]
    if stall_infer is not None:
        rows.append(stall_row("worst stall scrolling + inference", stall_infer))
    rows.append(("peak memory (RSS)", f"{peak_mb:.0f} MB", "< 1024 MB", "ok" if peak_mb < 1024 else "MISS"))
    print()
    print(f"GUI benchmark, offscreen 1440×900, {os.cpu_count()} CPUs, Qt platform {os.environ.get('QT_QPA_PLATFORM')}")
    print(f"{'measure':38} {'value':>12} {'target':>10}  result")
    for name, value, target, verdict in rows:
        print(f"{name:38} {value:>12} {target:>10}  {verdict}")
    print(f"(scroll: {pages} pages in {scroll_s:.1f} s; inference phase: {infer_note})")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"(load average {load_start:.1f} at the start, {load:.1f} at the end, on {os.cpu_count()} CPUs; "
          "stalls are wall time of the GUI thread)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

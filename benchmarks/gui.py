"""GUI responsiveness on a big folder (offscreen).

    python benchmarks/gui.py [--images 20000] [--photo 1600x1200] [--dir /tmp/clml-gui-bench] [--no-inference]

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
- thumbnails per second: the first screen (its cells over the time from the
  first grid paint until all show), and while scrolling (thumbnails
  announced over the time from the first page to the last announcement; the
  decoders always have work then, since a page every 16 ms outruns them);
- the GUI-thread stall of a theme switch (View ▸ Dark Theme, then Light Theme,
  through the menu actions, with the grid full of thumbnails);
- the stall of opening an empty folder, and of opening a folder of
  --open-images (20,000) small images cold, until its grid is painted (the
  main folder's own numbers when it is that folder);
- peak RSS of the process (the model is exported in a subprocess, so torch is
  never loaded here).

`--photo WxH` makes the images camera-sized photos instead of 64×48 tiles:
JPEGs (quality 90) with photographic content (smooth colour fields, shapes
with hard edges, texture and sensor grain, so decoding costs what a real
photo's does), --distinct of them generated and the rest hard-linked (copied
where links fail) under their own names.

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


def parse_size(text: str) -> tuple[int, int]:
    """'1600x1200' -> (1600, 1200)."""
    try:
        w, h = (int(v) for v in text.lower().replace("×", "x").split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, e.g. 1600x1200, not {text!r}") from None
    if w < 8 or h < 8:
        raise argparse.ArgumentTypeError("a photo needs at least 8×8 pixels")
    return w, h


def photo(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """A synthetic photo: colour fields, hard-edged shapes, texture and grain.

    Entropy close to a real photo's at JPEG quality 90 (about 1.5-3 bits a
    pixel), so its decode costs what a camera's JPEG does; flat colour
    would decode several times faster and flatter the numbers.
    """
    from PIL import ImageDraw, ImageFilter

    gy, gx = rng.integers(3, 7), rng.integers(4, 9)
    fields = Image.fromarray(rng.integers(20, 235, size=(gy, gx, 3), dtype=np.uint8)).resize(
        (width, height), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(fields)
    for _ in range(int(rng.integers(6, 14))):
        x0, y0 = int(rng.integers(0, width)), int(rng.integers(0, height))
        x1 = x0 + int(rng.integers(width // 20, width // 3))
        y1 = y0 + int(rng.integers(height // 20, height // 3))
        colour = tuple(int(c) for c in rng.integers(0, 255, size=3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)((x0, y0, x1, y1), fill=colour)
    fields = fields.filter(ImageFilter.GaussianBlur(1.2))  # lens softness on the edges
    texture = Image.fromarray(rng.integers(0, 255, size=(height // 6, width // 6, 3), dtype=np.uint8)).resize(
        (width, height), Image.Resampling.BICUBIC)
    pixels = np.asarray(fields, dtype=np.float32) * 0.82 + np.asarray(texture, dtype=np.float32) * 0.18
    pixels += rng.standard_normal((height, width, 1), dtype=np.float32) * 4.0  # sensor grain
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def generate(folder: Path, n: int, photo_size: tuple[int, int] | None = None, distinct: int = 200) -> float:
    """N JPEGs in subfolders of 1,000 with sidecars; returns seconds (0 when reused).

    64×48 tiles by default; with `photo_size`, `distinct` synthetic photos of
    that size, the rest hard links to them under their own names.
    """
    marker = folder / MARKER
    recipe = str(n) if photo_size is None else f"{n} photos {photo_size[0]}x{photo_size[1]} {distinct}"
    if marker.exists() and marker.read_text() == recipe:
        return 0.0
    if folder.exists():
        shutil.rmtree(folder)
    started = time.perf_counter()
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, size=(48, 64, 3), dtype=np.uint8)
    originals: list[Path] = []
    for i in range(n):
        sub = folder / f"part{i // 1000:03d}"
        if i % 1000 == 0:
            sub.mkdir(parents=True, exist_ok=True)
        target = sub / f"img_{i:06d}.jpg"
        if photo_size is None:
            shift = (i * 37) % 255
            Image.fromarray((base + shift).astype(np.uint8)).save(target, quality=80)
        elif i < max(1, distinct):
            photo(rng, *photo_size).save(target, quality=90)
            originals.append(target)
        else:
            source = originals[i % len(originals)]
            try:
                os.link(source, target)
            except OSError:
                shutil.copyfile(source, target)
        k = rng.integers(1, 5)
        tags = rng.choice(TAGS, size=k, replace=False)
        if i % 10 != 9:
            (sub / f"img_{i:06d}.txt").write_text(", ".join(tags), encoding="utf-8")
    marker.write_text(recipe)
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


class ThumbCounter:
    """Counts the thumbnails a cache announces, with the time of the last batch."""

    def __init__(self) -> None:
        self.count = 0
        self.last: float | None = None
        self._cache = None

    def follow(self, cache) -> None:  # noqa: ANN001
        if cache is not None and cache is not self._cache:
            self._cache = cache
            cache.thumbnailsChanged.connect(self._on_batch)

    def reset(self) -> None:
        self.count, self.last = 0, None

    def _on_batch(self, ids: list) -> None:
        self.count += len(ids)
        self.last = time.perf_counter()


def switch_theme(window, beat: Heartbeat, theme: str, settle_s: float = 0.4) -> tuple[float, float, float]:  # noqa: ANN001
    """Pick View ▸ <theme> Theme as a person would; the worst stall until things settle."""
    beat.reset()
    window.actions_.action(f"view.theme.{theme}").trigger()
    until = time.perf_counter() + settle_s
    wait_until(lambda: time.perf_counter() >= until, timeout_s=settle_s + 5)
    return beat.stall()


def open_and_wait(window, beat: Heartbeat, watch: PaintWatch, folder: Path, rows: int) -> tuple[float, tuple]:  # noqa: ANN001
    """Open `folder` and wait until its grid is painted with all `rows` (an empty
    folder: until it says so); returns (seconds, worst stall on the way)."""
    opened: list[str] = []
    window.folderOpened.connect(opened.append)
    watch.first_rows_paint = None
    beat.reset()
    started = time.perf_counter()
    window.open_folder(folder)
    if rows == 0:
        wait_until(lambda: bool(opened), timeout_s=120)
    else:
        wait_until(lambda: watch.first_rows_paint is not None and window.grid_model.rowCount() == rows,
                   timeout_s=600)
    took = time.perf_counter() - started
    until = time.perf_counter() + 0.3  # what the open leaves queued runs too
    wait_until(lambda: time.perf_counter() >= until, timeout_s=5)
    window.folderOpened.disconnect(opened.append)
    return took, beat.stall()


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
    parser.add_argument("--photo", type=parse_size, metavar="WxH",
                        help="camera-sized photographic JPEGs of this size (e.g. 1600x1200) instead of 64×48 tiles")
    parser.add_argument("--distinct", type=int, default=200,
                        help="with --photo: distinct photos generated, the rest are hard links to them")
    parser.add_argument("--open-images", type=int, default=20000,
                        help="size of the small-image folder whose opening is measured (0: skip)")
    args = parser.parse_args()

    if args.photo:
        folder = args.dir / f"photos-{args.images}-{args.photo[0]}x{args.photo[1]}"
    else:
        folder = args.dir / f"images-{args.images}"
    gen_s = generate(folder, args.images, args.photo, args.distinct)
    big_folder = None
    if args.open_images and (args.photo or args.open_images != args.images):
        big_folder = args.dir / f"images-{args.open_images}"
        generate(big_folder, args.open_images)
    empty_folder = args.dir / "empty"
    shutil.rmtree(empty_folder, ignore_errors=True)
    empty_folder.mkdir(parents=True)
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
    counter = ThumbCounter()
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
    first_screen = len(window.grid.visible_rows())

    stall_dark = switch_theme(window, beat, "dark")
    stall_light = switch_theme(window, beat, "light")
    stall_theme = max(stall_dark, stall_light)

    counter.follow(window.thumbnails)
    counter.reset()
    beat.reset()
    t_scroll = time.perf_counter()
    scroll_s, pages = scroll_through(window, beat, +1)
    stall_scroll = beat.stall()
    wait_until(lambda: not window.is_busy(), timeout_s=300)
    scroll_thumbs = counter.count
    scroll_thumbs_s = (counter.last or time.perf_counter()) - t_scroll

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
    open_empty = open_and_wait(window, beat, watch, empty_folder, 0)
    open_big = None
    if big_folder is not None:
        shutil.rmtree(big_folder / ".clml", ignore_errors=True)
        open_big = open_and_wait(window, beat, watch, big_folder, args.open_images)
    beat.timer.stop()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    window.close()
    shutil.rmtree(settings_dir, ignore_errors=True)

    first_grid = t_first - t_scan

    def stall_row(name: str, stall: tuple[float, float, float]) -> tuple[str, str, str, str]:
        wall, cpu, queued = stall
        why = f" (GUI CPU {cpu * 1000:.0f} ms, waiting for a core {queued * 1000:.0f} ms)"
        return (name, f"{wall * 1000:.0f} ms", "< 100 ms", ("ok" if wall < 0.1 else "MISS") + why)

    kind = f"{args.photo[0]}×{args.photo[1]} photos" if args.photo else "64×48 images"
    first_rate = first_screen / max(t_thumbs - t_first, 1e-3)
    rows = [
        (f"{kind} (generated in)", f"{args.images:,}", f"{gen_s:.1f} s" if gen_s else "reused", ""),
        ("scan + import (background)", f"{t_scan - t_open:.2f} s", "", ""),
        ("first painted grid after scan", f"{first_grid:.2f} s", "< 1.5 s", "ok" if first_grid < 1.5 else "MISS"),
        ("visible thumbnails after scan", f"{t_thumbs - t_scan:.2f} s", "", ""),
        (f"thumbnails/s, first screen ({first_screen})", f"{first_rate:.0f} /s", "", ""),
        (f"thumbnails/s scrolling ({scroll_thumbs})", f"{scroll_thumbs / max(scroll_thumbs_s, 1e-3):.0f} /s", "", ""),
        stall_row("worst stall while opening", stall_open),
        stall_row("worst stall until thumbnails", stall_first),
        stall_row("theme switch (worst of →dark, →light)", stall_theme),
        stall_row(f"worst stall scrolling {pages} pages", stall_scroll),
    ]
    if stall_infer is not None:
        rows.append(stall_row("worst stall scrolling + inference", stall_infer))
    rows.append(stall_row(f"opening an empty folder ({open_empty[0]:.2f} s)", open_empty[1]))
    if open_big is not None:
        rows.append(stall_row(f"opening {args.open_images:,} images ({open_big[0]:.2f} s to grid)", open_big[1]))
    elif args.open_images:
        rows.append(stall_row(f"opening {args.open_images:,} images (as above)", max(stall_open, stall_first)))
    rows.append(("peak memory (RSS)", f"{peak_mb:.0f} MB", "< 1024 MB", "ok" if peak_mb < 1024 else "MISS"))
    print()
    print(f"GUI benchmark, offscreen 1440×900, {os.cpu_count()} CPUs, Qt platform {os.environ.get('QT_QPA_PLATFORM')}")
    print(f"{'measure':42} {'value':>12} {'target':>10}  result")
    for name, value, target, verdict in rows:
        print(f"{name:42} {value:>12} {target:>10}  {verdict}")
    print(f"(scroll: {pages} pages in {scroll_s:.1f} s; inference phase: {infer_note})")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"(load average {load_start:.1f} at the start, {load:.1f} at the end, on {os.cpu_count()} CPUs; "
          "stalls are wall time of the GUI thread)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

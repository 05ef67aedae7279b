"""How long a GUI edit waits while a background job writes the store (ADR 0010).

    .venv/bin/python benchmarks/edit_latency.py [--images 5000] [--tags 30] [--rounds 1]

Edits run synchronously on the GUI thread, so each one may wait for the
SQLite write lock held by a background writer. This script plays the GUI: a
thread with its own store adds and removes a tag on one image every few
milliseconds (what a person pressing A/R in review mode does) while one
background writer runs, and reports the edit latencies. Writers, each the
code path the app runs:

  none     nothing in the way: the machine's own noise floor
  rescan   scan_and_import of a folder that gained --images new images with sidecars
  rescore  put_predictions per inference batch (32 images), back to back: the
           pipeline with an infinitely fast model, its worst case
  oof      store_oof: a trained model's out-of-fold scores for every image

Prints, per writer: edits made, median / p99 / worst edit latency, errors,
and how long the writer took. Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image

from clml_desktop.collection.rows import PredictionIn
from clml_desktop.collection.store import CollectionStore, StoreError
from clml_desktop.inference.oof import OofScores, store_oof
from clml_desktop.workflow.opening import scan_and_import

TAG_NAMES = [f"tag{i:02d}" for i in range(64)]
EMBED_DIM = 512
GUI_IMAGES = 50


def make_images(root: Path, start: int, n: int, tags: int) -> None:
    """n tiny PNGs numbered from `start`, each with a .txt sidecar of a few tags."""
    rng = np.random.default_rng(start)
    base = Image.new("RGB", (24, 16), (10, 120, 200))
    for i in range(start, start + n):
        folder = root / f"part{i // 1000:02}"
        folder.mkdir(parents=True, exist_ok=True)
        base.resize((16 + i % 13, 16)).save(folder / f"img{i:05}.png")
        chosen = rng.choice(tags, size=3, replace=False)
        (folder / f"img{i:05}.txt").write_text(", ".join(TAG_NAMES[j] for j in chosen), encoding="utf-8")


class GuiEditor:
    """The GUI thread's part (run on the main thread, as in the app): one small
    edit after another, each timed, until the writer thread is done."""

    def __init__(self, root: Path, image_ids: list[int]) -> None:
        self.root = root
        self.image_ids = image_ids
        self.latencies: list[float] = []
        self.errors: list[str] = []

    def run_until(self, done: threading.Event) -> None:
        store = CollectionStore.open(self.root)
        try:
            i = 0
            while not done.is_set():
                image = self.image_ids[i % len(self.image_ids)]
                started = time.perf_counter()
                try:
                    if i % 2 == 0:
                        store.add_tag([image], "bench-edit")
                    else:
                        store.remove_tag([image], "bench-edit")
                except StoreError as exc:
                    self.errors.append(str(exc))
                self.latencies.append(time.perf_counter() - started)
                i += 1
                time.sleep(0.005)
        finally:
            store.close()


def timed(root: Path, image_ids: list[int], writer) -> tuple[GuiEditor, float]:
    """Run `writer` on a worker thread while the main thread edits; (editor, writer seconds)."""
    editor = GuiEditor(root, image_ids)
    done = threading.Event()
    took: list[float] = []

    def work() -> None:
        time.sleep(0.2)  # a few edits with nothing in the way
        started = time.perf_counter()
        try:
            writer()
        finally:
            took.append(time.perf_counter() - started)
            time.sleep(0.1)
            done.set()

    thread = threading.Thread(target=work, name="background-writer")
    thread.start()
    editor.run_until(done)
    thread.join()
    return editor, took[0]


def report(name: str, editor: GuiEditor, seconds: float) -> None:
    ms = sorted(x * 1000 for x in editor.latencies)
    p99 = ms[min(len(ms) - 1, int(0.99 * len(ms)))]
    print(
        f"| {name:8} | {len(ms):6,} | {statistics.median(ms):7.1f} | {p99:7.1f} | {ms[-1]:8.1f} "
        f"| {len(editor.errors):6} | {seconds:8.2f} |"
    )
    for message in sorted(set(editor.errors))[:3]:
        print(f"    error: {message}")


def run_once(args: argparse.Namespace, tmp: Path) -> None:
    root = tmp / "photos"
    make_images(root, 0, GUI_IMAGES, args.tags)
    scan_and_import(None, root)
    with CollectionStore.open(root) as store:
        gui_ids = [row.id for row in store.images()]
    make_images(root, GUI_IMAGES, args.images, args.tags)

    editor, seconds = timed(root, gui_ids, lambda: time.sleep(1.5))
    report("none", editor, seconds)

    editor, seconds = timed(root, gui_ids, lambda: scan_and_import(None, root))
    report("rescan", editor, seconds)

    with CollectionStore.open(root) as store:
        rows = store.images()
        tags = TAG_NAMES[: args.tags]
        store.add_model("bench", tmp / "model", tags=tags, activate=False)
    rng = np.random.default_rng(0)
    probs = rng.random((len(rows), len(tags)), dtype=np.float32)
    embeddings = rng.standard_normal((len(rows), EMBED_DIM)).astype(np.float16)

    def rescore() -> None:
        with CollectionStore.open(root) as store:
            for start in range(0, len(rows), 32):
                chunk = rows[start:start + 32]
                store.put_predictions("bench", [
                    PredictionIn(r.id, r.version, "engine", probs[start + k], embeddings[start + k])
                    for k, r in enumerate(chunk)
                ])

    editor, seconds = timed(root, gui_ids, rescore)
    report("rescore", editor, seconds)

    scores = OofScores(Path("oof.npz"), [str(root / r.path) for r in rows], probs, embeddings)

    def oof() -> None:
        with CollectionStore.open(root) as store:
            store_oof(store, "bench", scores)

    editor, seconds = timed(root, gui_ids, oof)
    report("oof", editor, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=5000, help="images the background writers handle")
    parser.add_argument("--tags", type=int, default=30, help="tags (model width)")
    parser.add_argument("--rounds", type=int, default=1, help="repeat everything this many times")
    args = parser.parse_args()
    print(f"{args.images:,} images, {args.tags} tags; load average {os.getloadavg()[0]:.2f}")
    print("| writer   |  edits | median ms | p99 ms | worst ms | errors | writer s |")
    print("|----------|-------:|----------:|-------:|---------:|-------:|---------:|")
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory(prefix="clml-edit-latency-") as tmp:
            run_once(args, Path(tmp))
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

"""Speed of the collection store and the image scan; prints a table.

    .venv/bin/python benchmarks/store_ops.py [--images 10000] [--matrix-images 20000]

Rows: a bare baseline (os.scandir over the tree + one stat per file), a cold
scan (header reads + inserts), a no-change rescan, a batch edit on 5,000
images with its undo, label_matrix() for N images × 50 tags, and a first
open (scan + import) of 100 sidecars holding --distinct-tags distinct tags,
with and without the `tags_name` index (schema v4, issue 14): without it each
new tag scanned the tag table, so the time grew with the square of the count.
Each row is the best of --repeat runs (the machine may be shared; the
minimum is the least disturbed). Not a test: numbers depend on the machine;
read them, do not assert them.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from clml_desktop.collection.importing import import_folder
from clml_desktop.collection.labels import LabelState
from clml_desktop.collection.query import state_mask
from clml_desktop.collection.rows import ImageInfo
from clml_desktop.collection.scan import scan_folder
from clml_desktop.collection.store import CollectionStore


def make_images(root: Path, n: int) -> None:
    """n small distinct PNGs (shared bytes would be fine, but sizes vary a little)."""
    base = Image.new("RGB", (48, 32), (10, 120, 200))
    for i in range(n):
        folder = root / f"part{i // 1000:02}"
        if i % 1000 == 0:
            folder.mkdir(parents=True, exist_ok=True)
        base.resize((32 + i % 17, 32)).save(folder / f"img{i:05}.png")


def baseline(root: Path) -> int:
    """What any scan must cost at least: list every folder, stat every file."""
    count = 0
    stack = [str(root)]
    while stack:
        with os.scandir(stack.pop()) as it:
            for entry in it:
                if entry.name.startswith("."):
                    continue
                if entry.is_dir():
                    stack.append(entry.path)
                else:
                    entry.stat()
                    count += 1
    return count


def timed(fn, repeat: int = 1, setup=None):
    """Best wall time of `repeat` runs of fn (after `setup`, untimed), and the last result."""
    best = float("inf")
    result = None
    for _ in range(repeat):
        if setup is not None:
            setup()
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def distinct_tag_rows(tmp: Path, counts: list[int], repeat: int) -> list[tuple[str, float, str]]:
    """A first open of 100 images whose sidecars hold `n` distinct tags in all, for each n;
    "old path" drops the v4 index first, which is what every store before it did."""
    rows = []
    for n in counts:
        root = tmp / f"tags{n}"
        make_images(root, 100)
        per = max(1, n // 100)
        for i, image in enumerate(sorted(root.rglob("*.png"))):
            image.with_suffix(".txt").write_text(", ".join(f"tag_{i}_{j}" for j in range(per)))
        for label, drop in (("old path, no index", True), ("tags_name index", False)):

            def first_open(drop=drop, root=root):
                with CollectionStore.open(root) as store:
                    if drop:
                        store._conn.execute("DROP INDEX tags_name")
                    rep = scan_folder(store)
                    return import_folder(store, tag_files=rep.tag_files)

            t, summary = timed(
                first_open, 1 if drop else repeat,
                setup=lambda root=root: shutil.rmtree(root / ".clml", ignore_errors=True),
            )
            rows.append((f"first open, {n:,} distinct tags ({label})", t, f"{summary.positives_added:,} labels"))
        shutil.rmtree(root)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--matrix-images", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--distinct-tags", default="10000,20000,40000",
        help="comma-separated tag counts for the first-open rows ('' to skip them); "
        "the old path is run once each (40,000 tags: about half a minute)",
    )
    args = parser.parse_args()
    r = args.repeat
    rows: list[tuple[str, float, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "collection"
        make_images(root, args.images)
        t, n = timed(lambda: baseline(root), r)
        rows.append((f"baseline: scandir + stat ({n:,} files)", t, ""))

        def fresh_store() -> None:
            shutil.rmtree(root / ".clml", ignore_errors=True)

        def cold_scan():
            with CollectionStore.open(root) as store:
                return scan_folder(store)

        t, rep = timed(cold_scan, r, setup=fresh_store)
        rows.append(("scan, cold (new store)", t, f"{rep.added:,} added"))
        with CollectionStore.open(root) as store:
            t, rep = timed(lambda: scan_folder(store), r)
            rows.append(("rescan, nothing changed", t, f"{rep.unchanged:,} unchanged"))
            ids = [im.id for im in store.images()][:5000]
            t_add = t_undo = float("inf")
            for _ in range(r):
                t, _ = timed(lambda: store.add_tag(ids, "batch"))
                t_add = min(t_add, t)
                t, _ = timed(store.undo)
                t_undo = min(t_undo, t)
            rows.append((f"add a tag to {len(ids):,} images", t_add, "one undo step"))
            rows.append((f"undo it ({len(ids):,} labels)", t_undo, ""))
        matrix_root = Path(tmp) / "matrix"
        matrix_root.mkdir()
        with CollectionStore.open(matrix_root) as store:
            n = args.matrix_images
            store.upsert_images(ImageInfo(f"{i:06}.png", 1, 1, 8, 8) for i in range(n))
            all_ids = np.array([im.id for im in store.images()])
            rng = np.random.default_rng(0)
            for j in range(50):
                chosen = all_ids[rng.random(n) < 0.1]
                store.add_tag(chosen.tolist(), f"tag{j:02}")
            t, m = timed(store.label_matrix, r)
            rows.append((f"label_matrix {n:,} × 50", t, f"{int((~state_mask(m.states, LabelState.UNKNOWN)).sum()):,} labels"))
            t, _ = timed(store.tag_counts, r)
            rows.append(("tag_counts (same store)", t, ""))
            t, _ = timed(store.image_labels, r)
            rows.append(("image_labels, all images", t, "what an export reads"))
        counts = [int(c) for c in args.distinct_tags.split(",") if c.strip()]
        rows.extend(distinct_tag_rows(Path(tmp), counts, r))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    width = max(len(r[0]) for r in rows)
    print(f"{'operation':<{width}}  {'seconds':>8}  note")
    for name, seconds, note in rows:
        print(f"{name:<{width}}  {seconds:>8.3f}  {note}")
    print(f"peak memory (RSS): {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()

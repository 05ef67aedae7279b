"""Cost of a store backup (ADR 0021) on a realistic collection; prints a table.

    .venv/bin/python benchmarks/store_backup.py [--images 20000] [--tags 50] [--dim 512]

Builds a store without image files (rows as a scan would write them), 5
labels per image, and one model's cached scores with float16 embeddings of
`--dim` (the largest part of a store). Rows: the open-time "is a backup due"
check, the header check, one backup (online API copy + quick_check of the
copy), quick_check of the live store, and the repair's restore copy. Best of
--repeat. Not a test: numbers depend on the machine and its disk cache.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from clml_desktop.collection import store_backup, store_health
from clml_desktop.collection.labels import ImageLabels
from clml_desktop.collection.rows import ImageInfo, PredictionIn
from clml_desktop.collection.store import CollectionStore


def build(root: Path, n: int, tags: int, dim: int) -> None:
    rng = np.random.default_rng(0)
    names = [f"tag{t:02}" for t in range(tags)]
    with CollectionStore.open(root) as store:
        store.upsert_images(ImageInfo(f"part{i // 1000:02}/img{i:05}.jpg", 50_000 + i, 1_700_000_000_000_000_000 + i,
                                      640, 480) for i in range(n))
        store.import_labels({im.path: ImageLabels(positives=[names[j] for j in rng.choice(tags, 5, replace=False)])
                             for im in store.images()}, baseline=True)
        store.add_model("m1", root / ".clml" / "models" / "m1", tags=names)
        rows = [PredictionIn(im.id, im.version, "engine", rng.random(tags, dtype=np.float32),
                             rng.random(dim, dtype=np.float32)) for im in store.images()]
        store.put_predictions("m1", rows)


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times) * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=20000)
    ap.add_argument("--tags", type=int, default=50)
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "c"
        root.mkdir()
        build(root, args.images, args.tags, args.dim)
        data = root / ".clml"
        db = data / "collection.sqlite"
        print(f"store: {args.images:,} images, {args.images * 5:,} labels, one model "
              f"({args.tags} tags, {args.dim}-d embeddings): {db.stat().st_size / 1048576:.1f} MiB")
        import sqlite3
        print(f"  {'due check (on every open)':<40}{best(lambda: store_backup.due(db, data, interval_s=3600, has_content=True), args.repeat):8.2f} ms")
        print(f"  {'header check (on every open)':<40}{best(lambda: store_health.file_problem(db), args.repeat):8.2f} ms")
        print(f"  {'backup: copy + quick_check of copy':<40}{best(lambda: store_backup.write_backup(db, data), args.repeat):8.1f} ms")

        def live_check() -> None:
            c = sqlite3.connect(db)
            store_health.quick_check(c)
            c.close()
        print(f"  {'quick_check of the live store':<40}{best(live_check, args.repeat):8.1f} ms")
        newest = store_backup.backups(data)[0]
        target = Path(tmp) / "restored.sqlite"
        print(f"  {'restore copy (repair)':<40}{best(lambda: store_backup.restore(newest.path, target), args.repeat):8.1f} ms")
        print(f"  backup file: {newest.size / 1048576:.1f} MiB; kept: {len(store_backup.backups(data))}")


if __name__ == "__main__":
    main()

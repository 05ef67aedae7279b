"""How well does each loss find the hidden tags of the demo collection? Prints a table.

The demo collection hides 40% of its true positives (the paper's missing-label
setting) and keeps the full truth, so we can measure what the product is for:
ranking the hidden positives above everything else that is unknown. Each
setting trains with `training.fit` (final model + 2 fold models) at the same
small budget and seeds, and we report, mean ± standard deviation over seeds:

- mAP vs the full truth, every image scored out-of-fold;
- hidden AP: AP of the hidden positives among all unknown (image, tag) pairs
  of the training images, from out-of-fold scores and from in-sample scores
  (the final model scoring its own training images), to show why the
  trainer scores out-of-fold;
- R@P90: recall of hidden positives at 90% precision (out-of-fold);
- new images: mAP vs the full truth on the held-out images (seen by no model)
  for the final full-data model and for the mean of the fold models.

    python benchmarks/quality.py            # 6 settings x 3 seeds, about 2 min a run on one core
    python benchmarks/quality.py --quick    # 120 images, 4 epochs
    # on two cores, run halves side by side and merge their tables:
    python benchmarks/quality.py --settings BCE BCE+CLML Hill --json a.json &
    python benchmarks/quality.py --settings SPLC Hill+CLML SPLC+CLML --json b.json
    python benchmarks/quality.py --table a.json b.json
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from clml_desktop.collection.demo import TRUTH_FILE, make_demo  # noqa: E402
from training.ddp import Runtime  # noqa: E402
from training.fit import FitConfig, FitResult, fit  # noqa: E402
from training.metrics import average_precision, recall_at_precision  # noqa: E402
from training.progress import Progress  # noqa: E402

SETTINGS = {
    "BCE": ("bce", 0.0),
    "BCE+CLML": ("bce", 1.0),
    "Hill": ("hill", 0.0),
    "SPLC": ("splc", 0.0),
    "Hill+CLML": ("hill", 1.0),
    "SPLC+CLML": ("splc", 1.0),
}
COLUMNS = ("mAP full (OOF)", "hidden AP (OOF)", "hidden AP (in-sample)", "R@P90 (OOF)",
           "new mAP final", "new mAP fold-mean", "s/run")


def training_set(demo: Path, out: Path) -> Path:
    """The JSONL the app would write: the visible (sidecar) tags as positives."""
    truth = json.loads((demo / TRUTH_FILE).read_text(encoding="utf-8"))
    lines = [json.dumps({"tags": truth["tags"]})]
    for rel in sorted(truth["images"]):
        sidecar = (demo / rel).with_suffix(".txt")
        visible = [t.strip() for t in sidecar.read_text(encoding="utf-8").split(",") if t.strip()]
        lines.append(json.dumps({"path": str(demo / rel), "positives": visible}))
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def label_matrices(demo: Path, result: FitResult) -> tuple[np.ndarray, np.ndarray]:
    """(full truth, visible) N×C 0/1 in the result's image and tag order."""
    truth = json.loads((demo / TRUTH_FILE).read_text(encoding="utf-8"))
    col = {t: i for i, t in enumerate(result.tags)}
    full = np.zeros((len(result.paths), len(result.tags)), dtype=bool)
    visible = np.zeros_like(full)
    for r, path in enumerate(result.paths):
        entry = truth["images"][path.relative_to(demo).as_posix()]
        hidden = set(entry["hidden"])
        for tag in entry["positives"]:
            full[r, col[tag]] = True
            visible[r, col[tag]] = tag not in hidden
    return full, visible


def mean_ap(probs: np.ndarray, truth: np.ndarray) -> float:
    aps = [average_precision(probs[:, c], truth[:, c]) for c in range(truth.shape[1])
           if truth[:, c].any() and not truth[:, c].all()]
    return float(np.mean(aps)) if aps else float("nan")


def measure(demo: Path, result: FitResult, seconds: float) -> dict[str, float]:
    full, visible = label_matrices(demo, result)
    train_rows = np.setdiff1d(np.arange(len(result.paths)), result.holdout)
    unknown = ~visible[train_rows]
    hidden = full[train_rows][unknown]
    oof = result.oof_probs[train_rows][unknown]
    insample = result.insample_probs[train_rows][unknown]
    held = result.holdout
    row = {
        "mAP full (OOF)": mean_ap(result.oof_probs, full),
        "hidden AP (OOF)": average_precision(oof, hidden),
        "hidden AP (in-sample)": average_precision(insample, hidden),
        "R@P90 (OOF)": recall_at_precision(oof, hidden, 0.9),
        "new mAP final": mean_ap(result.insample_probs[held], full[held]),
        "new mAP fold-mean": mean_ap(result.fold_mean_holdout_probs, full[held]),
        "s/run": seconds,
    }
    return row


def run_one(demo: Path, data: Path, work: Path, loss: str, lam: float, seed: int,
            args: argparse.Namespace) -> dict[str, float]:
    cfg = FitConfig(data=data, out=work / f"{loss}-{lam}-{seed}", init="random", arch=args.arch,
                    image_size=args.size, epochs=args.epochs, batch_size=args.batch_size,
                    lr=args.lr, loss=loss, clml_lambda=lam, tau=args.tau, folds=2, seed=seed,
                    amp=False, workers=0)
    runtime = Runtime(device=torch.device("cpu"), device_reason="benchmark on the CPU")
    started = time.monotonic()
    result = fit(cfg, runtime, Progress(io.StringIO(), io.StringIO()), threading.Event())
    return measure(demo, result, time.monotonic() - started)


def fmt(values: list[float], key: str) -> str:
    v = np.asarray(values, dtype=float)
    if key == "s/run":
        return f"{v.mean():.0f}"
    return f"{v.mean():.3f} ± {v.std():.3f}" if len(v) > 1 else f"{v.mean():.3f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="120 images, 4 epochs")
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--tau", type=float, default=0.8)
    parser.add_argument("--arch", default="resnet18")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--settings", nargs="+", choices=list(SETTINGS), default=list(SETTINGS))
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (1 is faster than 2 on a shared, busy machine)")
    parser.add_argument("--json", type=Path, help="also write the raw rows here")
    parser.add_argument("--table", type=Path, nargs="+",
                        help="only print the table of earlier --json files (seeds run in parallel)")
    args = parser.parse_args()
    if args.table:
        rows: dict[str, list[dict[str, float]]] = {}
        for path in args.table:
            saved = json.loads(path.read_text(encoding="utf-8"))
            for name, items in saved["rows"].items():
                rows.setdefault(name, []).extend(items)
        print_table(rows, saved["title"])
        return 0
    if args.quick:
        args.images, args.epochs = 120, 4
    torch.set_num_threads(args.threads)
    rows = {}
    with tempfile.TemporaryDirectory(prefix="clml-quality-") as tmp:
        work = Path(tmp)
        demo = work / "demo"
        make_demo(demo, images=args.images, hidden_fraction=0.4, seed=0)
        data = training_set(demo, work / "train.jsonl")
        for name in args.settings:
            loss, lam = SETTINGS[name]
            for seed in args.seeds:
                row = run_one(demo, data, work, loss, lam, seed, args)
                rows.setdefault(name, []).append(row)
                print(f"{name} seed {seed}: " + ", ".join(f"{k} {v:.3f}" for k, v in row.items()),
                      file=sys.stderr, flush=True)
    title = (f"quality on the demo collection ({args.images} images, 40% of positives hidden); "
             f"{args.arch} {args.size}px, {args.epochs} epochs, lr {args.lr:g}, batch "
             f"{args.batch_size}, random init, 2 folds; mean ± std over seeds")
    print_table(rows, title)
    if args.json:
        args.json.write_text(json.dumps({"title": title, "rows": rows}, indent=2), encoding="utf-8")
    return 0


def print_table(rows: dict[str, list[dict[str, float]]], title: str) -> None:
    seeds = max(len(items) for items in rows.values())
    print(f"\n{title} ({seeds} seeds)\n")
    width = max(len(n) for n in rows) + 2
    print("setting".ljust(width) + " | ".join(c.rjust(21) for c in COLUMNS))
    for name, items in rows.items():
        print(name.ljust(width) + " | ".join(fmt([r[c] for r in items], c).rjust(21) for c in COLUMNS))


if __name__ == "__main__":
    sys.exit(main())

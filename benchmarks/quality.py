"""How well does each loss find the hidden tags of the demo collection? Prints a table.

The demo collection hides 40% of its true positives (the paper's missing-label
setting) and keeps the full truth, so we can measure what the product is for:
ranking the hidden positives above everything else that is unknown. Each
setting trains with `training.fit` (final model on every training image + 2
fold models) at the same small budget and seeds, and we report, mean ±
standard deviation over seeds:

- mAP vs the full truth, every training image scored out-of-fold;
- hidden AP: AP of the hidden positives among all unknown (image, tag) pairs
  of the training images, from out-of-fold scores and from in-sample scores
  (the final model scoring its own training images), to show why the
  trainer scores out-of-fold;
- R@P90: recall of hidden positives at 90% precision (out-of-fold);
- reported mAP: what the trainer writes to the manifest (`val_map`, from its
  out-of-fold scores over the labels it knows, i.e. the visible ones);
- new images: mAP vs the full truth on demo images left out of the training
  set (seen by no model), for the final full-data model and for the mean of
  the fold models (which one should serve new images, ADR 0004).

    python benchmarks/quality.py            # 6 settings x 3 seeds, 200 + 60 images
    python benchmarks/quality.py --quick    # 120 + 40 images, 4 epochs
    python benchmarks/quality.py --device cuda --size 64   # on a GPU (benchmarks/run_gpu.sh)
    # on two cores, run halves side by side and merge their tables (ADR 0004's
    # table: --images 160 --new-images 40, 26 min wall on the busy shared machine):
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
from models.manifest import IMAGENET_MEAN, IMAGENET_STD, Manifest  # noqa: E402
from training.ddp import Runtime  # noqa: E402
from training.fit import FitConfig, FitResult, fit  # noqa: E402
from training.loop import PhaseResult  # noqa: E402
from training.metrics import average_precision, recall_at_precision  # noqa: E402
from training.progress import Progress  # noqa: E402
from training.scoring import score_images  # noqa: E402

SETTINGS = {
    "BCE": ("bce", 0.0),
    "BCE+CLML": ("bce", 1.0),
    "Hill": ("hill", 0.0),
    "SPLC": ("splc", 0.0),
    "Hill+CLML": ("hill", 1.0),
    "SPLC+CLML": ("splc", 1.0),
}
COLUMNS = ("mAP full (OOF)", "hidden AP (OOF)", "hidden AP (in-sample)", "R@P90 (OOF)",
           "reported mAP", "new mAP final", "new mAP fold-mean", "s/run")


def split_demo(demo: Path, new_images: int) -> tuple[list[str], list[str]]:
    """(training images, new images): the last `new_images` of the demo stay out of training."""
    truth = json.loads((demo / TRUTH_FILE).read_text(encoding="utf-8"))
    rels = sorted(truth["images"])
    return rels[: len(rels) - new_images], rels[len(rels) - new_images:]


def training_set(demo: Path, rels: list[str], out: Path) -> Path:
    """The JSONL the app would write: the visible (sidecar) tags as positives."""
    truth = json.loads((demo / TRUTH_FILE).read_text(encoding="utf-8"))
    lines = [json.dumps({"tags": truth["tags"]})]
    for rel in rels:
        sidecar = (demo / rel).with_suffix(".txt")
        visible = [t.strip() for t in sidecar.read_text(encoding="utf-8").split(",") if t.strip()]
        lines.append(json.dumps({"path": str(demo / rel), "positives": visible}))
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def label_matrices(demo: Path, tags: list[str], rels: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(full truth, visible) N×C booleans in the given image and tag order."""
    truth = json.loads((demo / TRUTH_FILE).read_text(encoding="utf-8"))
    col = {t: i for i, t in enumerate(tags)}
    full = np.zeros((len(rels), len(tags)), dtype=bool)
    visible = np.zeros_like(full)
    for r, rel in enumerate(rels):
        entry = truth["images"][rel]
        hidden = set(entry["hidden"])
        for tag in entry["positives"]:
            full[r, col[tag]] = True
            visible[r, col[tag]] = tag not in hidden
    return full, visible


def mean_ap(probs: np.ndarray, truth: np.ndarray) -> float:
    aps = [average_precision(probs[:, c], truth[:, c]) for c in range(truth.shape[1])
           if truth[:, c].any() and not truth[:, c].all()]
    return float(np.mean(aps)) if aps else float("nan")


class NewImages:
    """Scores demo images outside the training set with each fold model (ema and raw weights)."""

    def __init__(self, paths: list[Path], args: argparse.Namespace) -> None:
        self.paths = paths
        self.args = args
        self.fold_probs: dict[str, list[np.ndarray]] = {"ema": [], "raw": []}

    def score(self, model, mean, std) -> np.ndarray:
        return score_images(model, self.paths, size=self.args.size, mean=mean, std=std,
                            device=self.args.torch_device, batch_size=self.args.batch_size).probs

    def on_fold_model(self, _k: int, phase: PhaseResult) -> None:
        for chosen, probs in self.fold_probs.items():
            probs.append(self.score(phase.weights(chosen), IMAGENET_MEAN, IMAGENET_STD))


def measure(demo: Path, result: FitResult, new: NewImages, new_rels: list[str],
            seconds: float) -> dict[str, float]:
    rels = [p.relative_to(demo).as_posix() for p in result.paths]
    full, visible = label_matrices(demo, result.tags, rels)
    unknown = ~visible
    hidden = full[unknown]
    oof = result.oof_probs[unknown]
    insample = result.insample_probs[unknown]
    manifest = Manifest.read(result.model_dir)
    new_full, _ = label_matrices(demo, result.tags, new_rels)
    final_new = new.score(result.final_model, manifest.mean, manifest.std)
    fold_mean_new = np.mean(np.stack(new.fold_probs[result.metrics["weights"]]), axis=0)
    reported = result.metrics.get("val_map")
    return {
        "mAP full (OOF)": mean_ap(result.oof_probs, full),
        "hidden AP (OOF)": average_precision(oof, hidden),
        "hidden AP (in-sample)": average_precision(insample, hidden),
        "R@P90 (OOF)": recall_at_precision(oof, hidden, 0.9),
        "reported mAP": float("nan") if reported is None else float(reported),
        "new mAP final": mean_ap(final_new, new_full),
        "new mAP fold-mean": mean_ap(fold_mean_new, new_full),
        "s/run": seconds,
    }


def run_one(demo: Path, data: Path, new_rels: list[str], work: Path, loss: str, lam: float,
            seed: int, args: argparse.Namespace) -> dict[str, float]:
    cfg = FitConfig(data=data, out=work / f"{loss}-{lam}-{seed}", init="random", arch=args.arch,
                    image_size=args.size, epochs=args.epochs, batch_size=args.batch_size,
                    lr=args.lr, loss=loss, clml_lambda=lam, tau=args.tau, folds=2, seed=seed,
                    amp=args.torch_device.type == "cuda", workers=0)
    runtime = Runtime(device=args.torch_device, device_reason=f"benchmark on {args.torch_device}")
    new = NewImages([demo / rel for rel in new_rels], args)
    started = time.monotonic()
    result = fit(cfg, runtime, Progress(io.StringIO(), io.StringIO()), threading.Event(),
                 on_fold_model=new.on_fold_model)
    seconds = time.monotonic() - started
    return measure(demo, result, new, new_rels, seconds)


def fmt(values: list[float], key: str) -> str:
    v = np.asarray(values, dtype=float)
    if key == "s/run":
        return f"{v.mean():.0f}"
    return f"{v.mean():.3f} ± {v.std():.3f}" if len(v) > 1 else f"{v.mean():.3f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="120 + 40 images, 4 epochs")
    parser.add_argument("--images", type=int, default=200, help="training images")
    parser.add_argument("--new-images", type=int, default=60,
                        help="demo images kept out of training (the 'new images' columns)")
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--tau", type=float, default=0.8)
    parser.add_argument("--arch", default="resnet18")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="cpu",
                        help="where every setting trains and scores (auto: CUDA when present; "
                             "CUDA runs with AMP, as the trainer does)")
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
        args.images, args.new_images, args.epochs = 120, 40, 4
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: torch sees no CUDA device here")
    cuda = args.device != "cpu" and torch.cuda.is_available()
    args.torch_device = torch.device("cuda" if cuda else "cpu")
    torch.set_num_threads(args.threads)
    rows = {}
    with tempfile.TemporaryDirectory(prefix="clml-quality-") as tmp:
        work = Path(tmp)
        demo = work / "demo"
        make_demo(demo, images=args.images + args.new_images, hidden_fraction=0.4, seed=0)
        train_rels, new_rels = split_demo(demo, args.new_images)
        data = training_set(demo, train_rels, work / "train.jsonl")
        for name in args.settings:
            loss, lam = SETTINGS[name]
            for seed in args.seeds:
                row = run_one(demo, data, new_rels, work, loss, lam, seed, args)
                rows.setdefault(name, []).append(row)
                print(f"{name} seed {seed}: " + ", ".join(f"{k} {v:.3f}" for k, v in row.items()),
                      file=sys.stderr, flush=True)
    title = (f"quality on the demo collection ({args.images} training + {args.new_images} new "
             f"images, 40% of positives hidden); "
             f"{args.arch} {args.size}px, {args.epochs} epochs, lr {args.lr:g}, batch "
             f"{args.batch_size}, random init, 2 folds, on {args.torch_device}"
             f"{' with AMP' if cuda else ''}; mean ± std over seeds")
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

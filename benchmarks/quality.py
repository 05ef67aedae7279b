"""How good are the suggestions? Trains recipes on collections with a known truth; prints tables.

The demo (and the scenes collection, a different kind of tag) hide 40% of
their true positives and keep the full truth, so we can measure what the
product is for: ranking the hidden positives above everything else that is
unknown, and showing a percentage a person can read as a probability. Each
recipe trains with `training.fit` exactly as `python -m training fit` does
(final model on every image + K fold models, random init), over several seeds,
and every number is computed on the unknown (image, tag) pairs of the training
images from their out-of-fold scores, the scores suggestions are made from:

- hidden AP: average precision of the hidden positives among all unknown pairs;
- R@P90: recall of the hidden positives at 90% precision;
- top-100: share of the 100 highest-scored unknown pairs that are hidden positives;
- P@cut / R@cut / shown: precision, recall and count of the suggestions shown
  at the shipped "at least P% likely" cut (`--cut`, the app's default);
- ECE: expected calibration error (10 equal-width bins) of the shown
  percentage against the truth on unknown pairs; the shown percentage is the
  out-of-fold score through the model's calibration map (ADR 0018), as the
  app shows it, and every column but "ECE raw" and "ECE e-n" uses it;
- ECE raw: the same for the network's own out-of-fold output, unmapped;
- in-sample AP: hidden AP from the final model scoring its own training
  images, to show why suggestions come from out-of-fold scores;
- ECE e-n: ECE after Elkan & Noto's correction for the labelled share of positives;
- blend AP / ECE: the mean of the out-of-fold and in-sample scores;
- s/run: wall seconds of one fit (both cores shared by `--jobs` runs).

    python benchmarks/quality.py                                  # the shipped CPU recipe, demo, 3 seeds
    python benchmarks/quality.py --collection demo scenes --save-scores S   # ADR 0018's table (~40 min)
    python benchmarks/quality.py --from-scores S/*.npz --reliability        # its tables again, from the scores
    python benchmarks/quality.py --collection demo scenes --recipe shipped "noaug=augment:none"
    python benchmarks/quality.py --recipe "e16=epochs:16" --seeds 0 1 2 --reliability
    python benchmarks/quality.py --json a.json ... ; python benchmarks/quality.py --table a.json b.json

A recipe is `NAME=key:value,key:value` over the trainer's FitConfig fields
(arch, image_size, epochs, batch_size, lr, loss, clml_lambda, tau, folds,
augment, unknown_weight, ...); `shipped` is the CPU defaults `make run` uses.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import fields
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from clml_desktop.demo import DEMO_IMAGES, TRUTH_FILE, make_demo  # noqa: E402
from training.cli import CPU_DEFAULTS, GPU_DEFAULTS  # noqa: E402
from training.metrics import (  # noqa: E402
    average_precision,
    calibration_error,
    recall_at_precision,
    reliability,
)

DEFAULT_CUT = 0.5
COLUMNS = ("hidden AP", "R@P90", "top-100", "P@cut", "R@cut", "shown", "ECE", "ECE raw", "ECE e-n",
           "in-sample AP", "blend AP", "blend ECE", "s/run", "peak GB")


def make_collection(kind: str, folder: Path, images: int) -> Path:
    """The demo or the scenes collection, 40% of positives hidden, seed 0 (same bytes every run)."""
    if kind == "demo":
        make_demo(folder, images=images, hidden_fraction=0.4, seed=0)
    else:
        from benchmarks.scenes_collection import make_scenes

        make_scenes(folder, images=images, hidden_fraction=0.4, seed=0)
    return folder


def training_set(folder: Path, out: Path) -> Path:
    """The JSONL the app would write: the visible (sidecar) tags as positives, nothing confirmed."""
    truth = json.loads((folder / TRUTH_FILE).read_text(encoding="utf-8"))
    lines = [json.dumps({"tags": truth["tags"]})]
    for rel in sorted(truth["images"]):
        sidecar = (folder / rel).with_suffix(".txt")
        visible = [t.strip() for t in sidecar.read_text(encoding="utf-8").split(",") if t.strip()]
        lines.append(json.dumps({"path": str(folder / rel), "positives": visible}))
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def label_matrices(folder: Path, tags: list[str], rels: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(full truth, visible) N×C booleans in the given image and tag order."""
    truth = json.loads((folder / TRUTH_FILE).read_text(encoding="utf-8"))
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


def unknown_metrics(scores: np.ndarray, hidden: np.ndarray, cut: float) -> dict[str, float]:
    """The suggestion numbers of one scoring of the unknown pairs (flat arrays)."""
    shown = scores >= cut
    top = np.argsort(-scores, kind="stable")[:100]
    return {
        "hidden AP": average_precision(scores, hidden),
        "R@P90": recall_at_precision(scores, hidden, 0.9),
        "top-100": float(hidden[top].mean()),
        "P@cut": float(hidden[shown].mean()) if shown.any() else float("nan"),
        "R@cut": float(hidden[shown].sum() / max(1, hidden.sum())),
        "shown": float(shown.sum()),
        "ECE": calibration_error(scores, hidden),
    }


def elkan_noto(probs: np.ndarray, visible: np.ndarray) -> np.ndarray:
    """P(positive | x, unlabelled) under Elkan & Noto (2008), c per tag from the labelled positives.

    c = mean score of a tag's labelled positives (their e1 estimator), and an
    unlabelled pair's probability of being a missing positive is
    (1 - c) / c · g / (1 - g). Measured here before anyone adopts it (ADR 0018).
    """
    c = np.array([probs[visible[:, j], j].mean() if visible[:, j].any() else 1.0
                  for j in range(probs.shape[1])])
    c = np.clip(c, 1e-3, 1.0)
    g = np.clip(probs, 0.0, 1.0 - 1e-6)
    return np.clip((1.0 - c) / c * g / (1.0 - g), 0.0, 1.0)


def base_config(device: str) -> dict:
    """The trainer's defaults for the device, as `python -m training fit` resolves them."""
    from training.cli import build_parser

    args = build_parser().parse_args(["fit", "--data", "x", "--out", "y"])
    defaults = GPU_DEFAULTS if device == "cuda" else CPU_DEFAULTS
    skip = ("command", "run", "data", "out", "device", "no_amp", "workers", "seed", "init")
    out = {k: v for k, v in vars(args).items() if k not in skip}
    out.pop("no_augment")
    out.update(defaults)
    return out


def parse_recipe(text: str) -> tuple[str, dict]:
    """`NAME=key:value,key:value` -> (NAME, overrides); values parsed as JSON where they can be."""
    name, _, body = text.partition("=")
    overrides = {}
    for item in filter(None, body.split(",")):
        key, _, raw = item.partition(":")
        try:
            overrides[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            overrides[key.strip()] = raw
    return name.strip(), overrides


def run_one(job: dict) -> dict[str, float]:
    """One fit of one recipe on one collection with one seed, in its own process."""
    import torch

    from training.ddp import Runtime
    from training.fit import FitConfig, fit
    from training.progress import Progress

    torch.set_num_threads(job["threads"])
    known = {f.name for f in fields(FitConfig)}
    settings = {k: v for k, v in job["settings"].items() if k in known}
    unknown_keys = set(job["settings"]) - known
    if unknown_keys:
        raise SystemExit(f"unknown recipe keys: {sorted(unknown_keys)}")
    settings.setdefault("init", "random")  # a recipe may start from a weights file instead
    cfg = FitConfig(data=Path(job["data"]), out=Path(job["out"]), seed=job["seed"],
                    amp=job["device"] == "cuda", workers=0, **settings)
    runtime = Runtime(device=torch.device(job["device"]), device_reason="benchmark")
    started = time.monotonic()
    result = fit(cfg, runtime, Progress(io.StringIO(), io.StringIO()), threading.Event())
    seconds = time.monotonic() - started
    folder = Path(job["folder"])
    rels = [p.relative_to(folder).as_posix() for p in result.paths]
    full, visible = label_matrices(folder, result.tags, rels)
    from clml_contract.manifest import Manifest

    # What the app shows: the out-of-fold scores through the map the trainer wrote.
    score_map = Manifest.read(result.model_dir).calibration
    row = score_run(result.oof_probs, result.insample_probs, full, visible, job["cut"], score_map)
    row["s/run"] = seconds
    row["peak GB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    if job.get("save_scores"):
        target = Path(job["save_scores"]) / f"{job['key'].replace(': ', '-')}-{job['seed']}.npz"
        target.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(target, oof=result.oof_probs, insample=result.insample_probs,
                            full=full, visible=visible, tags=np.array(result.tags),
                            seconds=seconds, peak_gb=row["peak GB"])
    return row


def score_run(oof: np.ndarray, insample: np.ndarray, full: np.ndarray, visible: np.ndarray,
              cut: float, score_map: dict | None) -> dict:
    """Every column but time and memory, from one run's scores and its calibration map."""
    from training.calibration import apply_calibration

    unknown = ~visible
    hidden = full[unknown]
    shown = apply_calibration(oof, score_map)
    row = unknown_metrics(shown[unknown], hidden, cut)
    row["ECE raw"] = calibration_error(oof[unknown], hidden)
    row["ECE e-n"] = calibration_error(elkan_noto(oof, visible)[unknown], hidden)
    row["in-sample AP"] = average_precision(insample[unknown], hidden)
    blend = (oof[unknown] + insample[unknown]) / 2
    row["blend AP"] = average_precision(blend, hidden)
    row["blend ECE"] = calibration_error(blend, hidden)
    row["_reliability"] = reliability(shown[unknown], hidden)
    return row


def rows_from_scores(paths: list[Path], cut: float) -> dict[str, list[dict]]:
    """Rows recomputed from --save-scores files (named COLLECTION-RECIPE-SEED.npz)."""
    from training.calibration import fit_calibration

    rows: dict[str, list[dict]] = {}
    for path in sorted(paths):
        collection, rest = path.stem.split("-", 1)
        recipe = rest.rsplit("-", 1)[0]
        with np.load(path) as saved:
            oof, visible = saved["oof"], saved["visible"]
            # the map refitted as the trainer fits it (benchmark sets confirm nothing, reject nothing)
            score_map = fit_calibration(oof, visible, ~visible)
            row = score_run(oof, saved["insample"], saved["full"], visible, cut, score_map)
            row["s/run"] = float(saved["seconds"]) if "seconds" in saved else np.nan
            row["peak GB"] = float(saved["peak_gb"]) if "peak_gb" in saved else np.nan
        rows.setdefault(f"{collection}: {recipe}", []).append(row)
    return rows


def fmt(values: list[float], key: str) -> str:
    v = np.asarray(values, dtype=float)
    if key in ("s/run", "shown"):
        return f"{np.nanmean(v):.0f}"
    if key == "peak GB":
        return f"{np.nanmax(v):.2f}"
    return f"{np.nanmean(v):.3f} ± {np.nanstd(v):.3f}" if len(v) > 1 else f"{v.mean():.3f}"


def print_table(rows: dict[str, list[dict]], title: str, show_reliability: bool) -> None:
    seeds = max(len(items) for items in rows.values())
    print(f"\n{title} ({seeds} seeds; mean ± std)\n")
    width = max(len(n) for n in rows) + 2
    print("recipe".ljust(width) + " | ".join(c.rjust(13) for c in COLUMNS))
    for name, items in rows.items():
        print(name.ljust(width) + " | ".join(fmt([r[c] for r in items], c).rjust(13) for c in COLUMNS))
    if not show_reliability:
        return
    for name, items in rows.items():
        print(f"\nreliability of {name} (unknown pairs, all seeds): bin | mean shown | share true | pairs")
        pooled: dict[int, list[tuple[float, float, int]]] = {}
        for r in items:
            for s, t, c in r["_reliability"]:
                pooled.setdefault(min(int(s * 10), 9), []).append((s, t, c))
        for b in sorted(pooled):
            parts = pooled[b]
            n = sum(c for _, _, c in parts)
            s = sum(s * c for s, _, c in parts) / n
            t = sum(t * c for _, t, c in parts) / n
            print(f"  {b * 10:3d}-{b * 10 + 10:3d}% | {s:10.3f} | {t:10.3f} | {n:6d}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--collection", nargs="+", choices=("demo", "scenes"), default=["demo"])
    parser.add_argument("--images", type=int, default=DEMO_IMAGES,
                        help=f"images per collection (default {DEMO_IMAGES:,}: the bundled demo's size)")
    parser.add_argument("--recipe", nargs="+", default=["shipped"],
                        help="NAME=key:value,... over the CPU defaults ('shipped' alone: the defaults)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--cut", type=float, default=DEFAULT_CUT,
                        help="the 'at least P likely' cut whose suggestions are counted")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--jobs", type=int, default=2, help="fits run side by side")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per fit")
    parser.add_argument("--reliability", action="store_true", help="also print reliability tables")
    parser.add_argument("--json", type=Path, help="also write the raw rows here")
    parser.add_argument("--save-scores", type=Path,
                        help="keep each run's scores and labels here (npz) to study calibration")
    parser.add_argument("--table", type=Path, nargs="+", help="only print the tables of --json files")
    parser.add_argument("--from-scores", type=Path, nargs="+",
                        help="only recompute the tables from --save-scores files (the map refitted "
                             "by the current training.calibration)")
    args = parser.parse_args()
    if args.from_scores:
        rows = rows_from_scores(args.from_scores, args.cut)
        print_table(rows, f"suggestion quality recomputed from saved scores, cut {args.cut:.0%}",
                    args.reliability)
        return 0
    if args.table:
        merged: dict[str, list[dict]] = {}
        for path in args.table:
            saved = json.loads(path.read_text(encoding="utf-8"))
            for name, items in saved["rows"].items():
                merged.setdefault(name, []).extend(items)
        print_table(merged, saved["title"], args.reliability)
        return 0
    base = base_config(args.device)
    recipes = dict(parse_recipe(r) for r in args.recipe)
    rows: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="clml-quality-") as tmp:
        work = Path(tmp)
        jobs = []
        for kind in args.collection:
            folder = make_collection(kind, work / kind, args.images)
            data = training_set(folder, work / f"{kind}.jsonl")
            for name, overrides in recipes.items():
                for seed in args.seeds:
                    jobs.append({"key": f"{kind}: {name}", "folder": str(folder), "data": str(data),
                                 "out": str(work / f"{kind}-{name}-{seed}"), "seed": seed,
                                 "settings": {**base, **overrides}, "device": args.device,
                                 "threads": args.threads, "cut": args.cut,
                                 "save_scores": str(args.save_scores or "")})
        env_threads = str(args.threads)
        os.environ.setdefault("OMP_NUM_THREADS", env_threads)
        with ProcessPoolExecutor(max_workers=max(1, args.jobs), max_tasks_per_child=1) as pool:
            for job, row in zip(jobs, pool.map(run_one, jobs), strict=True):
                rows.setdefault(job["key"], []).append(row)
                print(f"{job['key']} seed {job['seed']}: " + ", ".join(
                    f"{k} {row[k]:.3f}" for k in COLUMNS), file=sys.stderr, flush=True)
    title = (f"suggestion quality, out-of-fold, random init, {args.images} images per collection, "
             f"40% of positives hidden, cut {args.cut:.0%}, on {args.device}; base: "
             + ", ".join(f"{k} {base[k]}" for k in ("arch", "image_size", "epochs", "loss")))
    print_table(rows, title, args.reliability)
    if args.json:
        args.json.write_text(json.dumps({"title": title, "rows": rows}, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

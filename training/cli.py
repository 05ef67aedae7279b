"""The trainer's command line: `fit`, plus `export` and `import-checkpoint` from models.

Defaults depend on the device, because the authors' recipe (ResNet101, 448 px)
is right for a GPU and hopeless on a laptop CPU; ADR 0004 records the CPU
numbers behind the smaller defaults. Any flag given explicitly wins.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import traceback
from collections.abc import Sequence
from pathlib import Path

from clml_contract.arguments import non_negative_int, number_in, positive_int
from clml_contract.events import CancelledEvent, DoneEvent, ErrorEvent

LOSSES = ("bce", "focal", "asl", "hill", "splc")
AUGMENTATIONS = ("auto", "none", "crop", "crop-flip", "randaugment")  # training.augment, no torch

# GPU: the authors' recipe (their release's default loss is SPLC + CLML). CPU: what measured
# best in benchmarks/quality.py at a CPU budget on two collections (plain BCE, 64 px, a mild
# crop plus mirror unless tags name a side); ADR 0004 and ADR 0018 have the numbers.
GPU_DEFAULTS = {"arch": "resnet101", "image_size": 448, "epochs": 20, "batch_size": 32,
                "loss": "splc", "clml_lambda": 1.0, "augment": "randaugment", "unknown_weight": 1.0,
                "reject_rate": 0.0}
CPU_DEFAULTS = {"arch": "resnet18", "image_size": 64, "epochs": 10, "batch_size": 16,
                "loss": "bce", "clml_lambda": 0.0, "augment": "auto", "unknown_weight": 1.0,
                "reject_rate": 0.0}

EXIT_CANCELLED = {signal.SIGTERM: 143, signal.SIGINT: 130}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m training",
                                     description="Train and export CLML multi-label models.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_fit_parser(sub)
    from training.export_cli import add_parsers

    add_parsers(sub)
    return parser


def _by_device(option: str) -> str:
    """The help text's defaults, read from the tables above so they cannot drift."""
    return f"default: {GPU_DEFAULTS[option]} on GPU, {CPU_DEFAULTS[option]} on CPU"


def add_fit_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("fit", help="train a model from a training-set JSONL (events on stdout)",
                       description="Train from TRAIN.jsonl into MODEL_DIR. Unset options take the "
                                   "device's defaults (GPU: authors' recipe; CPU: smaller).")
    p.add_argument("--data", type=Path, required=True, help="training-set JSONL (ADR 0002)")
    p.add_argument("--out", type=Path, required=True, help="new model directory")
    p.add_argument("--init", default="imagenet",
                   help="imagenet | random | a previous MODEL_DIR (fine-tune) | weights.pt")
    p.add_argument("--arch", choices=("resnet18", "resnet50", "resnet101"),
                   help=_by_device("arch"))
    p.add_argument("--image-size", type=positive_int, help=f"input size in pixels ({_by_device('image_size')})")
    p.add_argument("--epochs", type=positive_int, help=_by_device("epochs"))
    p.add_argument("--batch-size", type=positive_int,
                   help=f"per process under torchrun ({_by_device('batch_size')})")
    p.add_argument("--lr", type=number_in(0.0, above_low=True),
                   help="peak learning rate (default 1e-4; 2e-3 when starting from random weights)")
    p.add_argument("--weight-decay", type=number_in(0.0), default=1e-4)
    p.add_argument("--loss", choices=LOSSES, help="base loss (default: splc on GPU, bce on CPU)")
    p.add_argument("--clml-lambda", type=number_in(0.0),
                   help="weight of the CLML term, 0 turns it off (default: 1 on GPU, 0 on CPU)")
    p.add_argument("--tau", type=number_in(0.0, 1.0), default=0.8, help="label-correction threshold")
    p.add_argument("--change-epoch", type=non_negative_int, default=1,
                   help="first (0-based) epoch with label correction")
    p.add_argument("--folds", type=non_negative_int, default=2, help="out-of-fold models (0 or 1: none)")
    p.add_argument("--holdout-share", type=number_in(0.0, 1.0, below_high=True), default=0.15,
                   help="with folds off: share of the unconfirmed images held out for metrics")
    p.add_argument("--ema-decay", type=number_in(0.0, 1.0), default=0.9997)
    p.add_argument("--augment", choices=AUGMENTATIONS,
                   help="train-time changes that must keep every tag true: none, crop (mild crop "
                        "and scale), crop-flip (also mirror; not where left/right matters), auto "
                        "(crop-flip, or crop when a tag names left or right), "
                        f"randaugment (the authors' COCO recipe: colour changes, cutout) "
                        f"({_by_device('augment')})")
    p.add_argument("--no-augment", action="store_true", help="the same as --augment none")
    p.add_argument("--unknown-weight", type=number_in(0.0, 1.0),
                   help="weight of an unknown pair as a negative, 0..1: below 1 an untagged pair "
                        f"counts as a weak negative ({_by_device('unknown_weight')})")
    p.add_argument("--reject-rate", type=number_in(0.0, 1.0),
                   help="large-loss rejection: each epoch after the first, ignore this much more of "
                        "the unknown pairs the model most insists are present (likely missing tags) "
                        f"({_by_device('reject_rate')})")
    p.add_argument("--no-amp", action="store_true", help="full float32 on CUDA")
    p.add_argument("--workers", type=non_negative_int, help="data-loading processes (default: 0 on CPU)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(run=run_fit)


def config_from_args(args: argparse.Namespace, device_type: str):
    """Fill unset options with the device's defaults and build a FitConfig."""
    from training.fit import FitConfig

    defaults = GPU_DEFAULTS if device_type == "cuda" else CPU_DEFAULTS
    if args.no_augment:
        args.augment = "none"
    pick = {k: (getattr(args, k) if getattr(args, k) is not None else v) for k, v in defaults.items()}
    workers = args.workers
    if workers is None:
        workers = min(8, max(1, (os.cpu_count() or 2) - 1)) if device_type == "cuda" else 0
    return FitConfig(
        data=args.data, out=args.out, init=args.init, lr=args.lr, tau=args.tau, folds=args.folds,
        seed=args.seed, weight_decay=args.weight_decay, change_epoch=args.change_epoch,
        ema_decay=args.ema_decay, amp=not args.no_amp,
        workers=workers, holdout_share=args.holdout_share, **pick)


def run_fit(args: argparse.Namespace) -> int:
    """Run `fit` speaking the protocol; returns the process exit code."""
    from training.progress import Progress, claim_stdout

    events = claim_stdout()
    progress = Progress(events, sys.stderr, enabled=int(os.environ.get("RANK", "0")) == 0)
    try:
        if (Path(args.out) / "manifest.json").exists():  # said before torch takes seconds to load
            progress.emit(ErrorEvent(message=f"{args.out} already holds a model; choose a new "
                                             "folder for the new model"))
            return 1
        return _fit_until_done_or_stopped(args, progress)
    finally:
        sys.stdout = events


def _fit_until_done_or_stopped(args: argparse.Namespace, progress) -> int:
    """SIGTERM/SIGINT set a flag the loop checks each step; every ending emits one last event."""
    from training import ddp

    stop = threading.Event()
    received: list[int] = []

    def on_signal(signum: int, _frame) -> None:
        received.append(signum)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in EXIT_CANCELLED}
    runtime = None
    try:
        runtime = ddp.start(args.device)
        from training.fit import fit
        from training.scoring import Cancelled

        cfg = config_from_args(args, runtime.device.type)
        try:
            result = fit(cfg, runtime, progress, stop)
        except Cancelled:
            checkpoint = Path(cfg.out) / "checkpoint.pt"
            kept = checkpoint.is_file()
            progress.emit(CancelledEvent(checkpoint=str(checkpoint.resolve()) if kept else None))
            progress.log("cancelled; the last good checkpoint is kept" if kept
                         else "cancelled before the first checkpoint")
            return EXIT_CANCELLED.get(received[0] if received else signal.SIGTERM, 143)
        progress.emit(DoneEvent(model_dir=str(result.model_dir), metrics=result.metrics))
        progress.log(f"done: {result.model_dir}")
        return 0
    except Exception as exc:  # noqa: BLE001 - every failure must end with an error event
        traceback.print_exc(file=sys.stderr)
        progress.emit(ErrorEvent(message=str(exc) or type(exc).__name__))
        return 1
    finally:
        if runtime is not None:
            ddp.stop(runtime)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return 2
    return int(args.run(args) or 0)

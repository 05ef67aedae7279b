"""`clml-desktop train FOLDER`: the headless twin of the GUI's Train button.

Writes the training set (positives and confirmed negatives), runs
`python -m training fit` as a subprocess with a progress bar on stderr,
registers the new model (parent, metrics, out-of-fold scores) and makes it
active, then scores what the out-of-fold scores do not cover and prints how
many suggestions there are. Nothing in the collection changes unless the
trainer finishes: Ctrl+C stops it cleanly.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from clml_desktop.cli.progress_text import ProgressBar, format_seconds
from clml_desktop.cli.suggest import score_collection
from clml_desktop.collection.scan import scan_folder
from clml_desktop.collection.store import CollectionStore, StoreError
from clml_desktop.inference.errors import InferenceError
from clml_desktop.inference.providers import DEVICES
from clml_desktop.inference.suggestions import SuggestionSet
from clml_desktop.jobs.run_progress import RunProgress
from clml_desktop.jobs.train_runner import (
    AUGMENTATIONS,
    TrainingRun,
    TrainOptions,
    prepare_training,
)
from clml_contract.events import (
    DoneEvent,
    DownloadEvent,
    EpochEvent,
    ProgressEvent,
    StartEvent,
    TrainerEvent,
    WarningEvent,
)


def unknown_weight(text: str) -> float:
    """`--unknown-weight`: a number in [0, 1], refused here rather than after the trainer
    has spent seconds loading torch."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is outside 0..1")
    return value


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register `train` with the app's CLI."""
    parser = subparsers.add_parser(
        "train",
        help="train (or fine-tune) a model on the collection's labels and make it active",
        description=(
            "Train on positives and confirmed negatives (everything else unknown), register the "
            "model, make it active and score the collection. Unset options use the trainer's "
            "defaults for the device; by default the active model is fine-tuned."
        ),
    )
    parser.add_argument("folder", type=Path, help="the collection folder")
    parser.add_argument(
        "--arch", help="resnet101 (the trainer's default on a GPU), resnet50, resnet18 (on a CPU)"
    )
    parser.add_argument(
        "--image-size", type=int,
        help="input size in pixels (the trainer's default: 448 on a GPU, 64 on a CPU)",
    )
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--loss", help="base loss: bce, focal, asl, hill, splc")
    parser.add_argument("--clml-lambda", type=float, help="weight of the CLML term (λ)")
    parser.add_argument("--tau", type=float, help="label-correction threshold (τ)")
    parser.add_argument(
        "--folds", type=int, help="out-of-fold models for scoring the training images (K)"
    )
    parser.add_argument(
        "--augment",
        choices=AUGMENTATIONS,
        help="train-time image changes that must keep every tag true: none (resize only), crop "
        "(mild: keeps at least 90%% of each side), crop-flip (also mirrors: not where left/right "
        "or text matters), randaugment (the authors' COCO recipe: colour changes and cutout, not "
        "for colour tags or small objects); unset: the trainer's default for the device "
        "(python -m training fit --help)",
    )
    parser.add_argument(
        "--unknown-weight",
        type=unknown_weight,
        metavar="W",
        help="untagged pairs count as negatives with weight W (0..1; below 1 they are weak "
        "negatives, for collections where many tags are missing; your rejections always count "
        "fully); unset: the trainer's default for the device",
    )
    parser.add_argument(
        "--device", choices=DEVICES, default="auto", help="trainer and engine device"
    )
    parser.add_argument(
        "--init",
        help="start from: imagenet, random, a model folder or a weights file (default: the active model)",
    )
    parser.set_defaults(run=run)


class TrainProgress:
    """One bar for the whole run (see `RunProgress`): the text names the phase,
    the percentage and time left are for all phases together."""

    def __init__(self, bar: ProgressBar) -> None:
        self.bar = bar
        self.run = RunProgress()

    def handle(self, event: TrainerEvent) -> None:
        """Draw `event` (call once per trainer event)."""
        bar, run = self.bar, self.run
        if isinstance(event, DownloadEvent):
            bar.update(event.fraction or 0.0, event.text, force=event.fraction == 1.0)
            if event.fraction == 1.0:
                bar.finish()
        elif isinstance(event, StartEvent):
            run.start(event)
            reason = f" ({event.device_reason})" if event.device_reason else ""
            models = f"{run.total_phases} model{'s' if run.total_phases != 1 else ''} to train"
            print(
                f"clml-desktop: training {event.arch} at {event.image_size} px on {event.device}{reason}: "
                f"{event.images} images, {event.tags} tags, {event.epochs} epochs, {event.folds} folds"
                f" ({models})",
                file=sys.stderr,
            )
        elif isinstance(event, ProgressEvent):
            fraction = run.progress(event)
            loss = f"loss {event.loss:.4f}  " if event.loss is not None else ""
            bar.update(
                fraction,
                f"training {run.label(event.phase)}  epoch {event.epoch}/{event.epochs}  {loss}"
                f"ETA {format_seconds(run.eta_s())}",
            )
        elif isinstance(event, EpochEvent):
            fraction = run.epoch_done(event)
            val = f", held-out mAP {event.val_map:.3f}" if event.val_map is not None else ""
            loss = f"loss {event.train_loss:.4f}" if event.train_loss is not None else "done"
            bar.update(
                fraction,
                f"training {run.label(event.phase)}  epoch {event.epoch}/{run.epochs or '?'} done: {loss}{val}",
                force=True,
            )
        elif isinstance(event, WarningEvent):
            bar.finish()
            print(f"clml-desktop: trainer warning: {event.message}", file=sys.stderr)
        elif isinstance(event, DoneEvent):
            bar.update(1.0, "training done", force=True)
            bar.finish()


def run(args: argparse.Namespace) -> int:
    folder = args.folder.expanduser()
    if not folder.is_dir():
        print(f"clml-desktop train: {folder}: not a folder", file=sys.stderr)
        return 2
    options = TrainOptions(
        arch=args.arch,
        image_size=args.image_size,
        epochs=args.epochs,
        batch_size=args.batch_size,
        loss=args.loss,
        clml_lambda=args.clml_lambda,
        tau=args.tau,
        device=args.device,
        folds=args.folds,
        init=args.init,
        augment=args.augment,
        unknown_weight=args.unknown_weight,
    )
    bar = ProgressBar()
    try:
        with CollectionStore.open(folder) as store:
            scan_folder(store)
            job = prepare_training(store)
            print(
                f"clml-desktop: training set of {job.images} images: {job.training_set}",
                file=sys.stderr,
            )
            training = TrainingRun(store, job, options)
            shown = TrainProgress(bar)
            try:
                for event in training.events():
                    shown.handle(event)
            except KeyboardInterrupt:
                bar.finish()
                print("clml-desktop train: cancelled; the collection is unchanged", file=sys.stderr)
                return 130
            finally:
                bar.finish()
            model = training.model
            print(
                f"clml-desktop: model {model.id} registered and active ({model.path})",
                file=sys.stderr,
            )
            for name, value in sorted(model.metrics.items()):
                if isinstance(value, float) and not value.is_integer():
                    print(f"  {name}: {value:.4f}", file=sys.stderr)
                elif isinstance(value, int | float):
                    print(f"  {name}: {int(value)}", file=sys.stderr)
            score_collection(store, Path(model.path), args.device)
            suggestions = SuggestionSet.build(store, model.id)
            count = len(suggestions.most_confident())
    except (InferenceError, StoreError) as exc:
        print(f"clml-desktop train: {exc}", file=sys.stderr)
        return 1
    print(
        f"model {model.id}: {count} suggestion(s) shown; see `clml-desktop suggest {folder}`"
    )
    return 0

"""`clml-desktop train FOLDER`: the headless twin of the GUI's Train button.

Runs the same Train step as the window, `workflow.training.train`: it writes
the training set (positives and confirmed negatives), runs `python -m training
fit` as a subprocess, registers the new model (parent, metrics, out-of-fold
scores) and makes it active unless it scores worse than the active model on
the same images (`--activate if-better`, the default; see
`workflow.training.activation_verdict`); this command draws its events as a progress bar
on stderr (in the words of `workflow.training_text`), then scores what the out-of-fold scores do not cover and prints how
many suggestions there are. Nothing in the collection changes unless the
trainer finishes: Ctrl+C stops it cleanly.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from clml_contract.arguments import non_negative_int, number_in, positive_int
from clml_contract.events import (
    DoneEvent,
    DownloadEvent,
    EpochEvent,
    Event,
    ProgressEvent,
    StartEvent,
    WarningEvent,
)
from clml_contract.progress import Cancelled, Steps
from clml_desktop.cli import display, exit_codes
from clml_desktop.cli.collection_arg import CommandError, command, existing_folder
from clml_desktop.cli.progress_text import ProgressBar
from clml_desktop.cli.suggest import scored_suggestions
from clml_desktop.collection.store import CollectionStore
from clml_desktop.inference.providers import DEVICES
from clml_desktop.workflow import training_text
from clml_desktop.workflow.opening import rescan
from clml_desktop.workflow.run_progress import RunProgress
from clml_desktop.workflow.training import (
    ACTIVATE_TOLERANCE,
    ACTIVATIONS,
    AUGMENTATIONS,
    TrainingError,
    TrainingRun,
    TrainOptions,
    train,
)

INTERRUPTED = 130  # 128 + SIGINT: what a shell reports for Ctrl+C


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
        help="train (or fine-tune) a model on the collection's labels and make it active "
        "if it is not worse",
        description=(
            "Train on positives and confirmed negatives (everything else unknown), register the "
            "model, make it active unless it scores worse than the active model on the same "
            "images, and score the collection. Unset options use the trainer's defaults for the "
            "device; by default the active model is fine-tuned."
        ),
    )
    parser.add_argument("folder", type=Path, help="the collection folder")
    parser.add_argument(
        "--arch", help="resnet101 (the trainer's default on a GPU), resnet50, resnet18 (on a CPU)"
    )
    parser.add_argument(
        "--image-size", type=positive_int,
        help="input size in pixels (the trainer's default: 448 on a GPU, 64 on a CPU)",
    )
    parser.add_argument("--epochs", type=positive_int)
    parser.add_argument("--batch-size", type=positive_int)
    parser.add_argument("--loss", help="base loss: bce, focal, asl, hill, splc")
    parser.add_argument("--clml-lambda", type=number_in(0.0), help="weight of the CLML term (λ, 0 or more)")
    parser.add_argument("--tau", type=number_in(0.0, 1.0), help="label-correction threshold (τ, 0..1)")
    parser.add_argument(
        "--folds", type=non_negative_int,
        help="out-of-fold models for scoring the training images (K; 0 or 1: none)",
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
    parser.add_argument(
        "--activate",
        choices=ACTIVATIONS,
        default="if-better",
        help="if-better (default): the new model becomes active unless its held-out mAP is more "
        f"than {ACTIVATE_TOLERANCE} below the active model's on the same images (it is registered "
        "either way: the window's Make active, or `suggest --model DIR`, still use it); always: "
        "make it active regardless",
    )
    parser.set_defaults(run=run)


class TrainProgress:
    """One bar for the whole run (see `RunProgress`), in the words of `training_text`:
    the text names the phase, the percentage and time left are for all phases together."""

    def __init__(self, bar: ProgressBar) -> None:
        self.bar = bar
        self.run = RunProgress()
        self.training: TrainingRun | None = None

    def prepared(self, run: TrainingRun) -> None:
        """Say which training set the trainer gets (once, before it starts)."""
        self.training = run
        _say(training_text.prepared_line(run.job.images, run.job.training_set))

    def handle(self, event: Event) -> None:
        """Draw `event` (call once per trainer event)."""
        bar, run = self.bar, self.run
        if isinstance(event, DownloadEvent):
            bar.update(event.fraction or 0.0, event.text, force=event.fraction == 1.0)
            if event.fraction == 1.0:
                bar.finish()
        elif isinstance(event, StartEvent):
            run.start(event)
            _say(f"{training_text.event_line(event)} ({training_text.models_to_train(run)})")
        elif isinstance(event, ProgressEvent):
            fraction = run.progress(event)
            bar.update(fraction, training_text.progress_line(event, run))
        elif isinstance(event, EpochEvent):
            bar.update(run.epoch_done(event), training_text.epoch_line(event, run), force=True)
        elif isinstance(event, WarningEvent):
            bar.finish()
            _say(training_text.event_line(event))
        elif isinstance(event, DoneEvent):
            bar.update(1.0, training_text.event_line(event), force=True)
            bar.finish()


def _say(line: str | None) -> None:
    print(f"clml-desktop: {display.shown(line, keep_newlines=True)}", file=sys.stderr)


@command("train", TrainingError)
def run(args: argparse.Namespace) -> int:
    folder = existing_folder(args.folder)
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
        activate=args.activate,
    )
    bar = ProgressBar()
    with CollectionStore.open(folder) as store:
        rescan(store)
        shown = TrainProgress(bar)
        try:
            model = train(store, options, Steps(), shown.handle, on_prepared=shown.prepared)
        except (Cancelled, KeyboardInterrupt):
            raise CommandError(training_text.CANCELLED_LINE, INTERRUPTED) from None
        finally:
            bar.finish()
        verdict = shown.training.verdict if shown.training is not None else None
        state = "active" if model.active else "not active"
        _say(f"model {model.id} registered and {state} ({model.path})")
        if verdict is not None:
            _say(verdict.text)
        for name, value in sorted(model.metrics.items()):
            if isinstance(value, float) and not value.is_integer():
                print(f"  {display.shown(name)}: {value:.4f}", file=sys.stderr)
            elif isinstance(value, int | float):
                print(f"  {display.shown(name)}: {int(value)}", file=sys.stderr)
        if not model.active:
            active = store.active_model()
            kept = active.id if active is not None else "the active model"
            print(f"model {display.shown(model.id)} is kept inactive; suggestions still come from model {display.shown(kept)}")
            return exit_codes.DONE
        _engine, suggestions = scored_suggestions(store, Path(model.path), args.device)
        count = len(suggestions.most_confident())
    print(f"model {display.shown(model.id)}: {count} suggestion(s) shown; see `clml-desktop suggest {display.shown(folder)}`")
    return exit_codes.DONE

"""`clml-desktop suggest FOLDER`: score the collection with a model and print suggestions.

Scores only what is new or changed since the last run (cached per image
version and model), says which onnxruntime provider ran and why not CUDA,
and prints every unknown pair at least as likely as its tag's cut (the
collection's minimum likelihood, `clml-desktop settings`, or the tag's own;
`--min-score` overrides it for one run). `--json` prints exactly one
object so scripts can measure recall and precision against a ground truth.
`--order uncertain`, `--tag` and `--image` print the review queues the GUI
offers (what to ask next, images likely to miss a tag, one image's pairs).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from clml_contract.arguments import number_in
from clml_desktop.cli import display, exit_codes
from clml_desktop.cli.collection_arg import CommandError, command, existing_folder
from clml_desktop.cli.progress_text import progress_control
from clml_desktop.collection.paths import PathOutsideCollection, to_relpath
from clml_desktop.collection.store import CollectionStore
from clml_desktop.inference.engine import Engine
from clml_desktop.inference.likely_text import cut_percent, likely_text, shown_from_text
from clml_desktop.inference.pipeline import PipelineReport, predict_collection
from clml_desktop.inference.providers import DEVICES
from clml_desktop.inference.suggestions import (
    LIKELY_WRONG_BELOW,
    QUEUE_ORDERS,
    ScoredPair,
    SuggestionSet,
)
from clml_desktop.workflow.opening import rescan
from clml_desktop.workflow.suggesting import fresh_suggestions, model_dir_for


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register `suggest` with the app's CLI."""
    parser = subparsers.add_parser(
        "suggest",
        help="score the collection with the active (or a given) model and print suggestions",
        description=(
            "Run the model over new or changed images (cached otherwise) and print every "
            "unknown (image, tag) pair at least as likely as the collection's minimum "
            "likelihood (see `clml-desktop settings`) or the tag's own cut."
        ),
    )
    parser.add_argument("folder", type=Path, help="the collection folder")
    parser.add_argument(
        "--model", type=Path, help="a model folder (default: the collection's active model)"
    )
    parser.add_argument(
        "--device", choices=DEVICES, default="auto", help="where onnxruntime runs (default: auto)"
    )
    parser.add_argument(
        "--min-score",
        type=number_in(0.0, 1.0),
        default=None,
        metavar="P",
        help="list pairs scoring at least P (a probability, 0.7 for 70%%) for this run only "
        "(default: the collection's minimum likelihood, or the tag's own cut)",
    )
    parser.add_argument(
        "--order",
        choices=QUEUE_ORDERS,
        default="confident",
        help="confident: pairs reaching their cut (or --min-score), most likely first "
        "(default); uncertain: every unknown pair (or those reaching --min-score), closest to "
        "its tag's cut first: what to review next",
    )
    parser.add_argument("--tag", help="only this tag's pairs (images likely to miss it)")
    parser.add_argument("--image", help="only this image's pairs (a path in the collection)")
    parser.add_argument(
        "--limit", type=int, default=50, help="text output: at most N lines (default 50; 0 = all)"
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object with every suggestion"
    )
    parser.set_defaults(run=run)


def load_engine(model_dir: Path, device: str) -> Engine:
    """Load the model and say which onnxruntime provider runs it (and why not CUDA)."""
    engine = Engine.load(model_dir, device=device)
    print(f"clml-desktop: model {display.shown(engine.model_id)}: {display.shown(engine.provider.status())}",
          file=sys.stderr)
    return engine


def say_scored(store: CollectionStore, report: PipelineReport) -> None:
    """The unreadable images, then how many were scored and how many were cached."""
    for problem in report.problems:
        print(f"clml-desktop: {display.shown(problem)}", file=sys.stderr)
    cached = store.image_count() - report.total
    print(
        f"clml-desktop: scored {report.scored} image(s) in {report.seconds:.1f} s"
        f" ({report.images_per_s:.1f} images/s); {max(0, cached)} already cached",
        file=sys.stderr,
    )


def score_collection(
    store: CollectionStore, model_dir: Path, device: str, *, quiet: bool = False
) -> tuple[Engine, PipelineReport]:
    """Load the model, score what changed with a progress bar (none when `quiet`)."""
    engine = load_engine(model_dir, device)
    with progress_control(shown=not quiet) as control:
        report = predict_collection(store, engine, control=control)
    say_scored(store, report)
    return engine, report


def scored_suggestions(
    store: CollectionStore, model_dir: Path, device: str, *, quiet: bool = False
) -> tuple[Engine, SuggestionSet]:
    """`score_collection`, then the model's suggestions (`workflow.suggesting`); shared
    with `train`, whose last step is this."""
    engine = load_engine(model_dir, device)
    with progress_control(shown=not quiet) as control:
        fresh = fresh_suggestions(store, engine, control)
    say_scored(store, fresh.scoring)
    return engine, fresh.suggestions


def pair_dict(pair: ScoredPair) -> dict:
    return {
        "image": pair.path,
        "tag": pair.tag,
        "score": round(pair.score, 6),
        "threshold": round(pair.threshold, 6),
    }


@command("suggest")
def run(args: argparse.Namespace) -> int:
    """Scan (incrementally) and import tag files as the window does, score, and print suggestions."""
    folder = existing_folder(args.folder)
    try:
        relpath = to_relpath(folder, args.image) if args.image else None
    except PathOutsideCollection as exc:
        raise CommandError(str(exc), exit_codes.USAGE) from None
    with CollectionStore.open(folder) as store:
        rescan(store)
        image = store.image_by_path(relpath) if relpath else None
        if relpath and image is None:
            raise CommandError(f"not in the collection: {relpath}", exit_codes.USAGE)
        engine, suggestions = scored_suggestions(
            store, model_dir_for(store, args.model), args.device, quiet=args.json
        )
        if args.tag is not None and args.tag not in suggestions.tag_names:
            raise CommandError(
                f"model {engine.model_id} gives no scores for tag {args.tag!r}", exit_codes.USAGE
            )
        pairs = suggestions.select(
            args.order, args.min_score, tag=args.tag, image_id=image.id if image else None
        )
        likely_wrong = suggestions.likely_wrong()
    try:
        _print(args, engine, pairs, likely_wrong)
    except BrokenPipeError:
        # The reader (e.g. `| head`) left early; say nothing more.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - replaces the closed pipe for exit
    return exit_codes.DONE


def _print(
    args: argparse.Namespace,
    engine: Engine,
    pairs: list[ScoredPair],
    likely_wrong: list[ScoredPair],
) -> None:
    if args.json:
        json.dump(
            {
                "model": engine.model_id,
                "provider": engine.provider.provider,
                "suggestions": [pair_dict(p) for p in pairs],
            },
            sys.stdout,
            ensure_ascii=True,
        )
        print()
        return
    shown = pairs if args.limit <= 0 else pairs[: args.limit]
    what = "unknown pair(s), closest to their cut first," if args.order == "uncertain" else (
        "suggestion(s)"
    )
    print(f"{len(pairs)} {what} from model {display.shown(engine.model_id)} ({engine.provider.provider})")
    if shown:
        width = max(len(display.shown(p.path)) for p in shown)
        tag_width = max(len(display.shown(p.tag)) for p in shown)
        for p in shown:
            new = "  (new tag)" if p.is_new_tag else ""
            hidden = "" if p.passes else ", not shown"
            print(f"{display.shown(p.path):<{width}}  {display.shown(p.tag):<{tag_width}}  {likely_text(p.score):>10}  "
                  f"({shown_from_text(p.threshold)}{hidden}){new}")
        if len(shown) < len(pairs):
            print(f"... {len(pairs) - len(shown)} more (--limit 0 shows all, --json for scripts)")
    if likely_wrong:
        print(f"{len(likely_wrong)} positive(s) look wrong (below "
              f"{cut_percent(LIKELY_WRONG_BELOW)} likely), e.g.:")
        for p in likely_wrong[:5]:
            print(f"  {display.shown(p.path)}  {display.shown(p.tag)}  {likely_text(p.score)}")

"""`clml-desktop settings FOLDER [--min-likely PERCENT]`: when a collection suggests a tag.

Prints, or sets, the collection's minimum likelihood ("suggest a tag when it
is at least P% likely") and lists the tags that have a cut of their own. Both
live in the collection's store, not in per-user preferences, so the window,
`suggest` and `export --with-suggestions` show the same suggestions (ADR 0017).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from clml_desktop.cli import display, exit_codes
from clml_desktop.cli.collection_arg import CommandError, command, opened_collection
from clml_desktop.collection.store import CollectionStore
from clml_desktop.inference.likely_text import cut_percent, parse_percent
from clml_desktop.inference.thresholds import DEFAULT_MIN_LIKELIHOOD, min_likelihood
from clml_desktop.workflow import edits

DEFAULT_WORD = "default"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register `settings` with the app's CLI."""
    parser = subparsers.add_parser(
        "settings",
        help="print or set when the collection suggests a tag (its minimum likelihood)",
        description=(
            "Print the collection's minimum likelihood and the tags with a cut of their own; "
            "with --min-likely, set it first. The window, suggest and export all use it."
        ),
    )
    parser.add_argument("folder", type=Path, help="the collection folder")
    parser.add_argument(
        "--min-likely",
        metavar="PERCENT",
        help="suggest a tag when it is at least PERCENT likely (e.g. 70 or 70%%, above 0 and "
        f"below 100); '{DEFAULT_WORD}' goes back to {cut_percent(DEFAULT_MIN_LIKELIHOOD)}%",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.set_defaults(run=run)


def parse_min_likely(text: str) -> float | None:
    """'70' or '70%' → 0.7; 'default' → None. Raises ValueError outside 0 < P < 100."""
    if text.strip().lower() == DEFAULT_WORD:
        return None
    value = parse_percent(text)
    if not 0.0 < value < 1.0:
        raise ValueError(f"the minimum likelihood must be above 0% and below 100%, not {text}")
    return value


@command("settings")
def run(args: argparse.Namespace) -> int:
    """Set (when asked) and print the collection's minimum likelihood and per-tag cuts."""
    folder = opened_collection(args.folder, "run `clml-desktop scan` on it first")
    try:
        value = parse_min_likely(args.min_likely) if args.min_likely is not None else None
    except ValueError as exc:
        raise CommandError(f"--min-likely: {exc}", exit_codes.USAGE) from None
    with CollectionStore.open(folder) as store:
        if args.min_likely is not None:
            result = edits.set_min_likelihood(store, value)
            if result.refused:
                raise CommandError(result.message, exit_codes.FAILED)
        stored = store.min_likelihood()
        effective = min_likelihood(store)
        own_cuts = store.tag_thresholds()
        root = store.root
    if args.json:
        print(json.dumps({
            "folder": str(root),
            "min_likelihood": effective,
            "is_default": stored is None,
            "tag_cuts": dict(sorted(own_cuts.items())),
        }, ensure_ascii=True))
        return 0
    where = (
        "the default; change it with --min-likely PERCENT"
        if stored is None
        else "set for this collection"
    )
    print(f"{display.shown(root)}: suggest a tag when it is at least {cut_percent(effective)} likely ({where})")
    if own_cuts:
        print(f"{len(own_cuts)} tag(s) with a cut of their own:")
        width = max(len(display.shown(name)) for name in own_cuts)
        for name, cut in sorted(own_cuts.items(), key=lambda kv: kv[0].casefold()):
            print(f"  {display.shown(name):<{width}}  shown from {cut_percent(cut)}")
    return 0

"""`clml-desktop demo [DIR]`: create (or reuse) the demo collection, scan it, open it.

The demo is the first thing a new user runs, so it must work with no folder
of their own: the default location is the user data dir. A folder that
already holds the demo is reused, never regenerated over.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import platformdirs

from clml_desktop.cli import display
from clml_desktop.cli.collection_arg import CommandError, command
from clml_desktop.demo import DEMO_IMAGES, DemoError, DemoInfo, make_demo


def default_demo_dir() -> Path:
    """Where the demo lives when no DIR is given (per-user, survives reinstalls)."""
    return Path(platformdirs.user_data_dir("clml-desktop")) / "demo"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register `demo` with the app's CLI."""
    parser = subparsers.add_parser(
        "demo",
        help="create the synthetic demo collection (40%% of its tags hidden) and open it",
        description=(
            "Create a synthetic collection of coloured shapes whose tags are partly hidden "
            "(the full truth is kept in demo_truth.json), scan it, and open it in the GUI."
        ),
    )
    parser.add_argument(
        "dir",
        nargs="?",
        type=Path,
        default=None,
        help=f"folder for the demo (default: {default_demo_dir()})",
    )
    parser.add_argument("--images", type=int, default=DEMO_IMAGES,
                        help=f"number of images (default {DEMO_IMAGES:,})")
    parser.add_argument(
        "--hidden",
        type=float,
        default=0.4,
        help="share of true tags left out of the sidecars (default 0.4)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--no-gui", action="store_true", help="create and scan only; do not open the GUI"
    )
    parser.set_defaults(run=run)


@command("demo", DemoError, ValueError, OSError)
def run(args: argparse.Namespace) -> int:
    """Create or reuse the demo, scan and import its sidecars, then open the GUI unless --no-gui."""
    folder = (args.dir if args.dir is not None else default_demo_dir()).expanduser()
    info = make_demo(folder, images=args.images, hidden_fraction=args.hidden, seed=args.seed)
    _describe(info)
    try:
        _scan_and_import(info.folder)
    except Exception as exc:  # the demo exists; say what failed and stop
        raise CommandError(f"scanning {info.folder} failed: {exc}") from exc
    if args.no_gui:
        return 0
    from clml_desktop.cli import open_gui

    return int(open_gui.run_from_argv([str(info.folder)]) or 0)


def _describe(info: DemoInfo) -> None:
    verb = "reusing existing demo" if info.reused else "created demo"
    print(f"{verb}: {display.shown(info.folder)}")
    print(
        f"  {info.images} images, {len(info.tags)} tags, {info.positives} true tags, "
        f"{info.hidden} hidden from the sidecars ({info.hidden / max(1, info.positives):.0%})"
    )
    print(f"  full truth: {display.shown(info.truth_path)}")


def _scan_and_import(folder: Path) -> None:
    """Open the folder as the window does: scan it and import the sidecars (the store and
    format modules load lazily, so `demo --help` stays quick)."""
    from clml_desktop.collection.store import CollectionStore
    from clml_desktop.workflow.opening import rescan

    with CollectionStore.open(folder) as store:
        report = rescan(store)
        print(f"  scanned: {report.images} images, {len(store.tags())} tags in the store")
        for problem in report.problems:
            print(f"  problem: {display.shown(problem)}", file=sys.stderr)

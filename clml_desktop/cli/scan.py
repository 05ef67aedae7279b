"""`clml-desktop scan FOLDER`: open (or create) the collection's store, scan its
images, import its tag files, print what happened.

Problems (unreadable images, tag files that are not UTF-8, CSV rows naming
files outside the collection, ...) go to stderr one a line; they do not fail
the command. It fails (exit 1) only when the folder cannot be opened or a
chosen `--file` is unusable as a whole.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from clml_contract.arguments import non_empty
from clml_desktop.cli import display, exit_codes
from clml_desktop.cli.collection_arg import command, say
from clml_desktop.collection.formats import FILE_FORMATS, FORMATS
from clml_desktop.collection.location import existing_db
from clml_desktop.collection.store import CollectionStore
from clml_desktop.workflow.opening import empty_folder_message, has_images, rescan

FORMAT_CHOICES = ("auto", *FORMATS)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register `scan` with the app's CLI."""
    parser = subparsers.add_parser(
        "scan",
        help="scan a folder's images and import its tag files into the collection store",
        description=(
            "Scan FOLDER (incremental after the first time) and import the tag files found there "
            "(sidecars .txt/.caption/.xmp next to the images; CSV/JSON/list files at the top), "
            "or one chosen --file."
        ),
    )
    parser.add_argument("folder", type=Path, help="the collection folder")
    parser.add_argument(
        "--format",
        choices=FORMAT_CHOICES,
        default="auto",
        help="which tag files to import (default auto: every format found); with --file, the file's format",
    )
    parser.add_argument("--file", type=Path, help=f"import this tag file ({', '.join(FILE_FORMATS)})")
    parser.add_argument("--tags-delimiter", type=non_empty, default=",", help="delimiter inside a csv-tags tags cell (default ,)")
    parser.add_argument("--classes", type=Path, help="class-names file for --format list (default: found beside it)")
    parser.add_argument("--force", action="store_true", help="re-read tag files even when unchanged")
    parser.set_defaults(run=run)


@command("scan")
def run(args: argparse.Namespace) -> int:
    """Scan and import (as the window does when it opens the folder); print a summary to
    stdout and each problem to stderr."""
    from clml_desktop.collection.formats.common import FormatError
    from clml_desktop.collection.importing import import_file

    if not args.file and args.folder.is_dir() and existing_db(args.folder) is None and not has_images(args.folder):
        # Nothing to keep yet: no `.clml/` is made in a folder without images (issue 13).
        print(f"{display.shown(empty_folder_message(args.folder.resolve()))} Nothing was stored.")
        return exit_codes.DONE
    with CollectionStore.open(args.folder) as store:
        if store.fallback_reason:
            print(f"note: {display.shown(store.fallback_reason)}", file=sys.stderr)
        opened = rescan(store, fmt="auto" if args.file else args.format, force=args.force)
        scan = opened.scan
        print(
            f"{display.shown(store.root)}: {opened.images:,} images "
            f"({scan.added:,} new, {scan.changed:,} changed, {scan.removed:,} removed, "
            f"{scan.unchanged:,} unchanged) in {scan.seconds:.2f} s"
        )
        summaries = [opened.imported] if opened.imported is not None else []
        problems = list(opened.problems)
        failed = False
        if args.file:
            try:
                chosen = import_file(
                    store, args.file, args.format, tags_delimiter=args.tags_delimiter, classes=args.classes
                )
            except FormatError as exc:
                say("scan", str(exc))
                failed = True
            else:
                summaries.append(chosen)
                problems.extend(chosen.problems)
    for summary in summaries:
        formats = ", ".join(summary.formats) or "none"
        print(
            f"tag files ({formats}): {summary.files_read:,} read, {summary.files_unchanged:,} unchanged; "
            f"{summary.images:,} images, +{summary.positives_added:,} positives, "
            f"+{summary.negatives_added:,} negatives, {summary.conflicts:,} conflicts kept as they were"
        )
    shown = list(dict.fromkeys(str(p) for p in problems))
    for problem in shown:
        print(f"problem: {display.shown(problem)}", file=sys.stderr)
    if shown:
        print(f"{len(shown):,} problems (listed on stderr)")
    return exit_codes.FAILED if failed else exit_codes.DONE

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

from clml_desktop.collection.formats import FILE_FORMATS, FORMATS

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
    parser.add_argument("--tags-delimiter", default=",", help="delimiter inside a csv-tags tags cell (default ,)")
    parser.add_argument("--classes", type=Path, help="class-names file for --format list (default: found beside it)")
    parser.add_argument("--force", action="store_true", help="re-read tag files even when unchanged")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Scan and import; print a summary to stdout and each problem to stderr."""
    from clml_desktop.collection.store import CollectionStore, StoreError

    try:
        store = CollectionStore.open(args.folder)
    except StoreError as exc:
        print(f"clml-desktop scan: {exc}", file=sys.stderr)
        return 1
    with store:
        try:
            failed = _scan_and_import(store, args)
        except StoreError as exc:
            print(f"clml-desktop scan: {exc}", file=sys.stderr)
            return 1
    return 1 if failed else 0


def _scan_and_import(store, args: argparse.Namespace) -> bool:
    """Do the work and print; True when a chosen --file was unusable as a whole."""
    from clml_desktop.collection.formats.common import FormatError
    from clml_desktop.collection.importing import import_file, import_folder
    from clml_desktop.collection.scan import scan_folder

    if store.fallback_reason:
        print(f"note: {store.fallback_reason}", file=sys.stderr)
    scan = scan_folder(store)
    print(
        f"{store.root}: {store.image_count():,} images "
        f"({scan.added:,} new, {scan.changed:,} changed, {scan.removed:,} removed, "
        f"{scan.unchanged:,} unchanged) in {scan.seconds:.2f} s"
    )
    problems = list(scan.problems)
    folder_format = "auto" if args.file else args.format
    summaries = [import_folder(store, folder_format, force=args.force, tag_files=scan.tag_files)]
    failed = False
    if args.file:
        try:
            summaries.append(
                import_file(store, args.file, args.format, tags_delimiter=args.tags_delimiter, classes=args.classes)
            )
        except FormatError as exc:
            print(f"clml-desktop scan: {exc}", file=sys.stderr)
            failed = True
    for summary in summaries:
        formats = ", ".join(summary.formats) or "none"
        print(
            f"tag files ({formats}): {summary.files_read:,} read, {summary.files_unchanged:,} unchanged; "
            f"{summary.images:,} images, +{summary.positives_added:,} positives, "
            f"+{summary.negatives_added:,} negatives, {summary.conflicts:,} conflicts kept as they were"
        )
        problems.extend(summary.problems)
    for problem in dict.fromkeys(str(p) for p in problems):
        print(f"problem: {problem}", file=sys.stderr)
    if problems:
        print(f"{len(problems):,} problems (listed on stderr)")
    return failed

"""`clml-desktop export FOLDER --format F --out PATH`: write the collection's
labels as tag files (sidecars, CSV, JSON, XMP, the paper's list format) or as
the trainer's JSONL.

Default: the labels in the store (positives and confirmed negatives, no
suggestions; `--confirmed-only` says so explicitly). `--with-suggestions`
adds the active model's suggestions: exactly the pairs the window shows, at
least as likely as the collection's minimum likelihood or the tag's own cut
(`clml-desktop settings`); scores are kept in json and csv-long. Files that cannot be written safely are listed on
stderr and skipped, and the exit code says so (`exit_codes`): 0 done, 3 partly done, 1 nothing written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from clml_contract.arguments import non_empty, number_in
from clml_desktop.cli import exit_codes
from clml_desktop.cli.collection_arg import CommandError, command, say
from clml_desktop.cli.display import shown
from clml_desktop.collection.exporting import EXPORT_FORMATS, XMP_NAMINGS, ExportSummary
from clml_desktop.collection.labels import Suggestion

if TYPE_CHECKING:  # type-only: the store is opened lazily in run(), after argparse
    from clml_desktop.collection.store import CollectionStore


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register `export` with the app's CLI."""
    parser = subparsers.add_parser(
        "export",
        help="write the collection's labels as tag files or a training set",
        description="Export labels atomically; the first in-place overwrite of a file keeps a backup in .clml/backup/.",
        epilog=exit_codes.HELP,
    )
    parser.add_argument("folder", type=Path, help="the collection folder")
    parser.add_argument("--format", required=True, choices=EXPORT_FORMATS, help="output format")
    parser.add_argument("--out", type=Path, help="output file, or folder for sidecar formats")
    parser.add_argument("--in-place", action="store_true", help="write sidecars next to the images")
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--confirmed-only", action="store_true", help="only the labels in the store, no suggestions (default)"
    )
    which.add_argument(
        "--with-suggestions", action="store_true",
        help="add the active model's suggestions (those the window shows; see `clml-desktop settings`)",
    )
    parser.add_argument(
        "--min-score", type=number_in(0.0, 1.0), metavar="P",
        help="with --with-suggestions: pairs scoring at least P (0.7 for 70%%) instead of the collection's cuts",
    )
    parser.add_argument("--image-ids", type=_ids, help="comma-separated image ids to export (default: all)")
    parser.add_argument("--separator", type=non_empty, default=", ", help="separator written between sidecar tags (default ', ')")
    parser.add_argument("--tags-delimiter", type=non_empty, default=",", help="delimiter inside a csv-tags tags cell (default ,)")
    parser.add_argument(
        "--xmp-naming", choices=XMP_NAMINGS, default=XMP_NAMINGS[0],
        help="name of new XMP sidecars: photo.jpg.xmp (digiKam, darktable; default) or photo.xmp (Lightroom)",
    )
    parser.set_defaults(run=run)


def _ids(text: str) -> list[int]:
    """`--image-ids`: numbers separated by commas (a usage error otherwise, exit 2)."""
    try:
        ids = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, not {text!r}") from None
    if not ids:
        raise argparse.ArgumentTypeError("expected at least one image id")
    return ids


def _check_ids(store: CollectionStore, image_ids: list[int] | None) -> None:
    """Every id in `--image-ids` names an image of the collection (else exit 2, nothing written)."""
    if image_ids is None:
        return
    known = {image.id for image in store.images(include_missing=True)}
    unknown = [str(i) for i in dict.fromkeys(image_ids) if i not in known]
    if unknown:
        raise CommandError(f"--image-ids: no image with id {', '.join(unknown)} in {store.root}",
                           exit_codes.USAGE)


@command("export", OSError)
def run(args: argparse.Namespace) -> int:
    """Export; print what was written, list problems on stderr."""
    from clml_desktop.collection.exporting import export_labels
    from clml_desktop.collection.formats.common import FormatError
    from clml_desktop.collection.store import CollectionStore

    if not args.in_place and args.out is None:
        raise CommandError("give --out PATH (or --in-place for sidecar formats)")
    image_ids = args.image_ids
    if not CollectionStore.exists(args.folder):
        raise CommandError(f"{args.folder} was never scanned; run `clml-desktop scan {args.folder}` first")
    with CollectionStore.open(args.folder) as store:
        _check_ids(store, image_ids)
        suggestions = _suggestions(store, args.min_score) if args.with_suggestions else None
        try:
            summary = export_labels(
                store, args.format, out=args.out, in_place=args.in_place, image_ids=image_ids,
                suggestions=suggestions, separator=args.separator, tags_delimiter=args.tags_delimiter,
                xmp_naming=args.xmp_naming,
            )
        except FormatError as exc:
            raise CommandError(str(exc)) from None
        where = "next to the images" if args.in_place else shown(args.out)
        print(
            f"exported {summary.images:,} images as {args.format} {where}: {len(summary.files_written):,} files "
            f"written, {summary.files_unchanged:,} unchanged, {len(summary.backups):,} originals backed up "
            f"in {shown(Path(store.data_dir) / 'backup')}"
        )
        return _report_problems(summary)


def _suggestions(store: CollectionStore, min_score: float | None) -> dict[str, list[Suggestion]]:
    """The active model's suggestions, exactly those `suggest` lists (one rule, one set)."""
    from clml_desktop.inference import suggestions
    from clml_desktop.inference.errors import InferenceError

    if store.active_model() is None:
        raise CommandError(
            f"{store.root} has no active model, so there are no suggestions; "
            "train one (clml-desktop train) or export without --with-suggestions"
        )
    try:
        return suggestions.suggestions_for_export(store, min_score=min_score)
    except InferenceError as exc:
        raise CommandError(f"no suggestions from the active model: {exc}") from None


def _report_problems(summary: ExportSummary) -> int:
    """List each file that was not written on stderr and return the exit code.

    A script (or `make run`) must not take a partly failed export, e.g. on a
    full disk, for a finished one, so problems never end in exit code 0.
    """
    for problem in summary.problems:
        print(f"problem: {shown(problem)}", file=sys.stderr)
    if summary.problems:
        print(f"{len(summary.problems):,} files skipped (listed on stderr)")
    outcome = summary.outcome
    if outcome == "partial":
        say("export", f"partly done: {len(summary.problems):,} problems, listed above "
                      f"(exit code {exit_codes.PARTIAL})")
        return exit_codes.PARTIAL
    if outcome == "failed":
        say("export", f"nothing was written: {len(summary.problems):,} problems, listed above")
        return exit_codes.FAILED
    return exit_codes.DONE

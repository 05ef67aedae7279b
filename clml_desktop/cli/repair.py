"""`clml-desktop repair FOLDER [--from-backup [FILE] | --rebuild] [--list] [--force]`:
bring back a collection whose label database is damaged (ADR 0021).

The damaged file is moved to `.clml/damaged-<time>/`, never deleted; then the
newest backup that passes an integrity check is restored (`--from-backup`),
or the database is rebuilt from the folder's tag files (`--rebuild`); with
neither, a backup when there is a good one, else a rebuild. `--list` shows
the store's state and its backups and changes nothing. Exit status (ADR 0015):
0 repaired, or nothing to repair; 1 nothing could be done (no usable backup
for --from-backup, the folder cannot be written); 2 not a folder or no
collection there; 3 repaired but the scan after it did not finish; 130 Ctrl+C.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from clml_desktop.cli import display, exit_codes
from clml_desktop.cli.collection_arg import CommandError, command, existing_folder


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register `repair` with the app's CLI."""
    parser = subparsers.add_parser(
        "repair",
        help="restore a damaged label database from a backup, or rebuild it from the tag files",
        description=(
            "Repair the label database (.clml/collection.sqlite) of FOLDER when it is damaged. "
            "The damaged file is moved to .clml/damaged-<time>/, never deleted. Without an option: "
            "the newest backup that passes an integrity check, else a rebuild from the tag files."
        ),
        epilog=(
            "Exit status: 0 repaired (or not damaged: nothing changed); 1 nothing could be done; "
            "2 not a folder, or no collection there; 3 repaired, but the scan after it was stopped."
        ),
    )
    parser.add_argument("folder", type=Path, help="the collection folder")
    how = parser.add_mutually_exclusive_group()
    how.add_argument(
        "--from-backup", nargs="?", const="", metavar="FILE",
        help="restore the newest good backup (or FILE, one of those --list shows); "
             "edits after it are lost",
    )
    how.add_argument(
        "--rebuild", action="store_true",
        help="make a new database from the images and tag files (rejections, accepted "
             "suggestions not in tag files, undo history and settings are lost)",
    )
    how.add_argument("--list", action="store_true", help="show the database's state and its backups; change nothing")
    parser.add_argument("--force", action="store_true",
                        help="replace the database even when it is not damaged (it is kept aside)")
    parser.set_defaults(run=run)


def _list(folder: Path) -> int:
    from clml_desktop.collection import store_health
    from clml_desktop.workflow.repair import inspect

    state = inspect(folder)
    print(f"collection  {display.shown(state.root)}")
    print(f"store       {display.shown(state.db_path)}" + ("" if state.exists else " (missing)"))
    print(f"state       {display.shown('damaged: ' + state.damage) if state.damage else 'not damaged'}")
    if not state.backups:
        print("backups     none")
    for backup in state.backups:
        problem = store_health.check_file(backup.path)
        verdict = "ok" if problem is None else f"damaged: {display.shown(problem)}"
        print(f"backup      {backup.when()}  {backup.size / 1048576:7.1f} MiB  {verdict}  {display.shown(backup.path)}")
    aside = sorted(state.data_dir.glob("damaged-*"))
    for folder_aside in aside:
        print(f"kept aside  {display.shown(folder_aside)}")
    return exit_codes.DONE


@command("repair")
def run(args: argparse.Namespace) -> int:
    """Repair (or list) and print what was done and what was lost."""
    from clml_contract.progress import Steps
    from clml_desktop.cli.progress_text import ProgressBar
    from clml_desktop.workflow.repair import AUTO, FROM_BACKUP, REBUILD, RepairError, repair

    folder = existing_folder(args.folder)
    try:
        if args.list:
            return _list(folder)
        method = REBUILD if args.rebuild else FROM_BACKUP if args.from_backup is not None else AUTO
        chosen = Path(args.from_backup).expanduser() if args.from_backup else None
        bar = ProgressBar()
        steps = Steps(lambda done, total, text: bar.update(done / total if total else 0.0, text))
        try:
            report = repair(steps, folder, method=method, backup=chosen, force=args.force)
        except KeyboardInterrupt:
            print("\nclml-desktop repair: stopped; the damaged file stays where it was moved "
                  "(see `clml-desktop repair --list`)", file=sys.stderr)
            return 130
        finally:
            bar.finish()
    except RepairError as exc:
        raise CommandError(str(exc), exit_codes.USAGE if exc.usage else exit_codes.FAILED) from exc
    for line in report.lines():
        print(display.shown(line, keep_newlines=True))
    return exit_codes.DONE if report.complete else exit_codes.PARTIAL

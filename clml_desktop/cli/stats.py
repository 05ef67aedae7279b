"""`clml-desktop stats FOLDER [--json]`: what a collection holds, at a glance.

Images, problem files, tags with positive/negative counts, labels by source
and the active model, so a script (or a person in a terminal) can check a
collection without the GUI. A folder never opened before is scanned and its
tag files imported first (what `clml-desktop scan` does), so the numbers are
the ones the GUI would show.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from clml_desktop.cli.collection_arg import command
from clml_desktop.cli.display import shown
from clml_desktop.collection.store import CollectionStore
from clml_desktop.workflow.opening import rescan


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register `stats` with the app's CLI."""
    parser = subparsers.add_parser(
        "stats",
        help="print images, problems, tag counts, labels by source and the active model",
        description="Summarise a collection (scanning it first if it was never opened).",
    )
    parser.add_argument("folder", type=Path, help="the collection folder")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.set_defaults(run=run)


def collect(store: CollectionStore) -> dict:
    """The numbers `stats` prints, as plain data."""
    all_images = store.images(include_missing=True)
    present = sum(1 for im in all_images if not im.missing)
    model = store.active_model()
    return {
        "folder": str(store.root),
        "store": str(store.db_path),
        "fallback_reason": store.fallback_reason,
        "images": present,
        "missing_images": len(all_images) - present,
        "problems": [{"path": p.path, "message": p.message} for p in store.problems()],
        "tags": [
            {"name": t.name, "positives": t.positives, "negatives": t.negatives}
            for t in store.tag_counts()
        ],
        "labels_by_source": store.label_source_counts(),
        "models": len(store.models()),
        "active_model": None
        if model is None
        else {
            "id": model.id,
            "path": model.path,
            "created": model.created,
            "metrics": model.metrics,
        },
        "can_undo": store.can_undo(),
    }


def _print_text(data: dict) -> None:
    print(f"collection  {shown(data['folder'])}")
    print(f"store       {shown(data['store'])}")
    if data["fallback_reason"]:
        print(f"note        {shown(data['fallback_reason'])}")
    print(
        f"images      {data['images']:,} ({len(data['problems']):,} with problems,"
        f" {data['missing_images']:,} missing)"
    )
    model = data["active_model"]
    print(f"model       {shown(model['id'] + ' (' + model['created'] + ')') if model else 'none'}")
    sources = data["labels_by_source"]
    if sources:
        print("labels by source")
        for source, states in sorted(sources.items()):
            print(
                f"  {source:<20} {states.get('positive', 0):>8,} positive"
                f" {states.get('negative', 0):>8,} negative"
            )
    tags = data["tags"]
    print(f"tags        {len(tags):,}")
    if tags:
        width = max(len(shown(t["name"])) for t in tags)
        for t in sorted(tags, key=lambda t: (-t["positives"], t["name"])):
            print(f"  {shown(t['name']):<{width}}  {t['positives']:>7,} +  {t['negatives']:>7,} -")
    for problem in data["problems"]:
        print(f"problem     {shown(problem['path'])}: {shown(problem['message'])}")


def _first_scan(store: CollectionStore, folder: Path) -> None:
    """Scan a collection never opened before and import its tag files (as the window does)."""
    report = rescan(store)
    read = report.imported.files_read if report.imported is not None else 0
    print(
        f"clml-desktop: scanned {shown(folder)}: {report.scan.added:,} images in {report.scan.seconds:.1f} s;"
        f" {read:,} tag files imported",
        file=sys.stderr,
    )


@command("stats")
def run(args: argparse.Namespace) -> int:
    """Open (or first scan) the collection and print its summary."""
    folder = args.folder.expanduser()
    fresh = not CollectionStore.exists(folder)
    with CollectionStore.open(folder) as store:
        if store.fallback_reason:
            print(f"clml-desktop: {shown(store.fallback_reason)}", file=sys.stderr)
        if store.read_only_reason:
            print(f"clml-desktop: {shown(store.read_only_reason)}", file=sys.stderr)
        if fresh:
            _first_scan(store, folder)
        data = collect(store)
    try:
        if args.json:
            json.dump(data, sys.stdout, ensure_ascii=True, indent=2)
            print()
        else:
            _print_text(data)
        sys.stdout.flush()
    except BrokenPipeError:  # `stats | head` closed the pipe: not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0

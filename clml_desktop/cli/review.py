"""`clml-desktop review FOLDER --accept|--reject IMAGE TAG`: a person's verdict on one suggestion.

Accept makes the tag positive with source accepted-suggestion; reject makes
it a confirmed negative the next training learns from. Each is one undoable
step in the store's log, made by the same edit the GUI's buttons make
(`workflow.edits`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from clml_contract.tagnames import tag_key
from clml_desktop.cli import exit_codes
from clml_desktop.cli.collection_arg import CommandError, command, opened_collection
from clml_desktop.collection.paths import PathOutsideCollection, to_relpath
from clml_desktop.collection.store import CollectionStore
from clml_desktop.workflow import edits


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register `review` with the app's CLI."""
    parser = subparsers.add_parser(
        "review",
        help="accept or reject one suggested tag on one image",
        description="Accept (positive, source accepted-suggestion) or reject (confirmed negative) a tag.",
    )
    parser.add_argument("folder", type=Path, help="the collection folder")
    verdict = parser.add_mutually_exclusive_group(required=True)
    verdict.add_argument("--accept", action="store_true", help="the tag belongs on the image")
    verdict.add_argument(
        "--reject", action="store_true", help="the tag does not belong on the image"
    )
    parser.add_argument(
        "image", help="the image, relative to the folder (or an absolute path inside it)"
    )
    parser.add_argument("tag", help="the tag name (a tag only the model knows is created)")
    parser.set_defaults(run=run)


def _model_knows(store: CollectionStore, tag: str) -> bool:
    """A tag only the active model knows may be accepted (it is created, undoably)."""
    model = store.active_model()
    return model is not None and tag_key(tag) in {tag_key(t) for t in model.tags}


@command("review", ValueError)
def run(args: argparse.Namespace) -> int:
    folder = opened_collection(args.folder, "run suggest or scan first")
    try:
        relpath = to_relpath(folder, args.image)
    except PathOutsideCollection as exc:
        raise CommandError(f"{args.image}: {exc}", exit_codes.USAGE) from None
    with CollectionStore.open(folder) as store:
        image = store.image_by_path(relpath)
        if image is None or image.missing:
            raise CommandError(f"{relpath}: no such image in the collection", exit_codes.USAGE)
        if store.tag_id(args.tag) is None and not _model_knows(store, args.tag):
            raise CommandError(
                f"no tag {args.tag!r} in the collection or its active model", exit_codes.USAGE
            )
        verdict = edits.accept_suggestion if args.accept else edits.reject_tag
        result = verdict(store, [image.id], args.tag)
    if result.refused:
        raise CommandError(result.message, exit_codes.FAILED)
    from clml_desktop.cli.display import shown

    verb = "accepted" if args.accept else "rejected"
    if not result.changed:
        print(f"{shown(relpath)}: {shown(args.tag)} was already {verb}; nothing changed")
    else:
        print(f"{shown(relpath)}: {shown(args.tag)} {verb} (undo with the GUI's Undo; edit {result.edit_id})")
    return 0

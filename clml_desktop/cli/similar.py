"""`clml-desktop similar FOLDER IMAGE [-k 20]`: the images that look most like IMAGE.

Cosine similarity over the active model's cached embeddings; images the
model has not scored yet are scored first (only those). The search is
`workflow.similar.similar_images`, the one the window's Find Similar runs,
so both list the same images in the same order.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from clml_desktop.cli import display, exit_codes
from clml_desktop.cli.collection_arg import CommandError, command, opened_collection
from clml_desktop.cli.suggest import score_collection
from clml_desktop.collection.paths import PathOutsideCollection, to_relpath
from clml_desktop.collection.store import CollectionStore
from clml_desktop.inference.providers import DEVICES
from clml_desktop.workflow.similar import DEFAULT_K, similar_images
from clml_desktop.workflow.suggesting import model_dir_for


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register `similar` with the app's CLI."""
    parser = subparsers.add_parser(
        "similar",
        help="list the images most similar to one image (model embeddings)",
        description="Cosine similarity over the active model's embeddings, most similar first.",
    )
    parser.add_argument("folder", type=Path, help="the collection folder")
    parser.add_argument("image", nargs="+", help="one or more images, relative to the folder")
    parser.add_argument("-k", type=int, default=DEFAULT_K, help=f"how many to list (default {DEFAULT_K})")
    parser.add_argument(
        "--device", choices=DEVICES, default="auto", help="for scoring new images (default: auto)"
    )
    parser.set_defaults(run=run)


@command("similar")
def run(args: argparse.Namespace) -> int:
    folder = opened_collection(args.folder, "run suggest first")
    try:
        relpaths = [to_relpath(folder, image) for image in args.image]
    except PathOutsideCollection as exc:
        raise CommandError(str(exc), exit_codes.USAGE) from None
    with CollectionStore.open(folder) as store:
        images = [store.image_by_path(rel) for rel in relpaths]
        unknown = [rel for rel, img in zip(relpaths, images, strict=True) if img is None]
        if unknown:
            raise CommandError(f"not in the collection: {', '.join(unknown)}", exit_codes.USAGE)
        engine, report = score_collection(store, model_dir_for(store), args.device, quiet=True)
        found = similar_images(store, [img.id for img in images], args.k, engine.model_id, scored=report.scored)
    for n, path in zip(found.neighbours, found.paths, strict=True):
        print(f"{n.similarity:.4f}  {display.shown(path)}")
    if found.unscored:
        print(display.shown(found.unscored_text(), keep_newlines=True), file=sys.stderr)
    return exit_codes.DONE

"""The bundled demo collection (`clml-desktop demo`): synthetic images whose
tags are known, then partly hidden.

Why synthetic: the product's promise is "find the tags that are missing", and
that can only be measured where the full truth is known. The painter
(`clml_desktop.demo.painter`) draws the images; the writer
(`clml_desktop.demo.writer`) lays them out as `demo_NNNN.jpg` + `.txt` with
the truth beside them. The sidecars list each object's shape then colour,
then the background, then `frame`.
"""

from __future__ import annotations

from pathlib import Path

from clml_desktop.demo.painter import TAGS, render
from clml_desktop.demo.writer import DemoInfo, existing_info, is_demo, write_collection

# 1,000 images: random-init fold models trained on 150 images (a 300-image demo)
# could not learn the shapes at a CPU budget; data helped more than epochs (ADR 0018).
DEMO_IMAGES = 1000


def make_demo(
    folder: Path,
    *,
    images: int = DEMO_IMAGES,
    hidden_fraction: float = 0.4,
    seed: int = 0,
    size: tuple[int, int] = (192, 144),
) -> DemoInfo:
    """Create the demo collection in `folder` (new or empty), atomically.

    The images are written into a temporary sibling folder and renamed into
    place at the end, so an interrupted run never leaves a half demo that a
    later run would mistake for a finished one. A folder that already holds a
    finished demo is reused as is; any other non-empty folder is refused, so
    the demo can never overwrite a person's files.
    """
    info = write_collection(
        folder,
        render=render,
        generator="clml-desktop demo",
        tags=TAGS,
        prefix="demo",
        images=images,
        hidden_fraction=hidden_fraction,
        seed=seed,
        size=size,
        reuse=is_demo,
        refusal="exists and is not an empty folder or an existing demo; "
        "choose another folder for the demo",
    )
    return info if info is not None else existing_info(Path(folder))

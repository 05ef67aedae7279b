"""Write a synthetic collection whose truth is known, and read that truth back.

The skeleton shared by the bundled demo (`clml_desktop.demo.bundled`) and
the scenes benchmark: a painter draws each image from a seeded generator, and
`hidden_fraction` of all true positives is removed from the `.txt` sidecars
(the paper's missing-label setting), never all of one image's tags.

Files written into the folder:
- `{prefix}_NNNN.jpg` and `{prefix}_NNNN.txt` (visible tags, `, `-separated,
  in the truth's order);
- `demo_truth.json`, the full truth:
  `{"format": 1, "generator": "clml-desktop demo", "seed", "hidden_fraction",
  "size": [w, h], "tags": [all tags, fixed order],
  "images": {relpath: {"positives": [full positive list, in order],
  "hidden": [the positives left out of the sidecar]}}}`.

Everything is a pure function of the arguments: the same seed gives the same
bytes, so benchmarks and tests on a generated collection are reproducible.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

TRUTH_FILE = "demo_truth.json"
TRUTH_FORMAT = 1

# Draws one image from its generator at a size; returns it with its positives in tag order.
Renderer = Callable[[np.random.Generator, tuple[int, int]], tuple[Image.Image, list[str]]]


class DemoError(RuntimeError):
    """The demo cannot be created where asked (e.g. a folder with other files)."""


@dataclass(frozen=True)
class DemoInfo:
    """What `make_demo` produced (or found, when reusing an existing demo)."""

    folder: Path
    images: int
    tags: tuple[str, ...]
    positives: int
    hidden: int
    truth_path: Path
    reused: bool = False


@dataclass(frozen=True)
class DemoTruth:
    """The full truth of a demo folder, for measuring suggestions."""

    tags: tuple[str, ...]
    positives: dict[str, list[str]]
    hidden: dict[str, list[str]]
    seed: int
    hidden_fraction: float

def write_collection(
    folder: Path,
    *,
    render: Renderer,
    generator: str,
    tags: tuple[str, ...],
    prefix: str,
    images: int,
    hidden_fraction: float,
    seed: int,
    size: tuple[int, int],
    reuse: Callable[[Path], bool],
    refusal: str,
    check: Callable[[], None] | None = None,
) -> DemoInfo | None:
    """Write a synthetic collection in the demo's layout into `folder`, atomically.

    The shared skeleton of the demo and of other generated collections (the
    scenes benchmark): `render(rng, size)` draws image i from the generator
    `np.random.default_rng([seed, i])` and returns it with its positives in
    `tags` order; the images go to `{prefix}_NNNN.jpg`, the visible tags to
    `{prefix}_NNNN.txt` and the truth to `TRUTH_FILE` (with `generator`), all
    in a temporary sibling folder renamed into place at the end, so an
    interrupted run leaves no half collection. `check`, when given, runs after
    the argument checks (to refuse arguments of its own). A folder for which
    `reuse(folder)` holds is left as it is and None returned; any other
    non-empty folder is refused with DemoError (`{folder}: {refusal}`).
    """
    folder = Path(folder)
    if images < 1:
        raise ValueError("images must be at least 1")
    if not 0.0 <= hidden_fraction < 1.0:
        raise ValueError("hidden_fraction must be in [0, 1)")
    if check is not None:
        check()
    if folder.is_dir() and reuse(folder):
        return None
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise DemoError(f"{folder}: {refusal}")
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(
        tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".partial", dir=folder.parent)
    )
    try:
        info = _write_files(
            staging, folder, render, generator, tags, prefix, images, hidden_fraction, seed, size
        )
        os.chmod(staging, 0o755)
        os.replace(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return info


def is_demo(folder: Path) -> bool:
    """True when `folder` holds a finished demo (its truth file exists)."""
    return (Path(folder) / TRUTH_FILE).is_file()


def read_truth(folder: Path) -> DemoTruth:
    """Read `demo_truth.json`; raises DemoError naming the file when it is malformed."""
    path = Path(folder) / TRUTH_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != TRUTH_FORMAT:
            raise ValueError(f"unsupported format {data.get('format')!r}")
        entries = data["images"]
        positives = {rel: list(e["positives"]) for rel, e in entries.items()}
        hidden = {rel: list(e["hidden"]) for rel, e in entries.items()}
        return DemoTruth(
            tags=tuple(data["tags"]),
            positives=positives,
            hidden=hidden,
            seed=int(data["seed"]),
            hidden_fraction=float(data["hidden_fraction"]),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DemoError(f"{path}: not a readable demo truth file ({exc})") from exc


def existing_info(folder: Path) -> DemoInfo:
    """What a finished collection in `folder` holds, read from its truth file (reused=True)."""
    truth = read_truth(folder)
    return DemoInfo(
        folder=folder,
        images=len(truth.positives),
        tags=truth.tags,
        positives=sum(len(p) for p in truth.positives.values()),
        hidden=sum(len(h) for h in truth.hidden.values()),
        truth_path=folder / TRUTH_FILE,
        reused=True,
    )


def _write_files(
    staging: Path,
    final: Path,
    render: Renderer,
    generator: str,
    tags: tuple[str, ...],
    prefix: str,
    count: int,
    hidden_fraction: float,
    seed: int,
    size: tuple[int, int],
) -> DemoInfo:
    names = [f"{prefix}_{i:04d}" for i in range(count)]
    truths: list[list[str]] = []
    for index, name in enumerate(names):
        rng = np.random.default_rng([seed, index])
        image, positives = render(rng, size)
        buf = io.BytesIO()
        image.save(buf, "JPEG", quality=90)
        (staging / f"{name}.jpg").write_bytes(buf.getvalue())
        truths.append(positives)
    hidden = _choose_hidden(truths, hidden_fraction, np.random.default_rng([seed, 1_000_003]))
    entries = {}
    for name, positives, gone in zip(names, truths, hidden, strict=True):
        visible = [t for t in positives if t not in gone]
        (staging / f"{name}.txt").write_text(", ".join(visible) + "\n", encoding="utf-8")
        entries[f"{name}.jpg"] = {
            "positives": positives,
            "hidden": [t for t in positives if t in gone],
        }
    truth = {
        "format": TRUTH_FORMAT,
        "generator": generator,
        "seed": seed,
        "hidden_fraction": hidden_fraction,
        "size": list(size),
        "tags": list(tags),
        "images": entries,
    }
    (staging / TRUTH_FILE).write_text(json.dumps(truth, indent=1) + "\n", encoding="utf-8")
    return DemoInfo(
        folder=final,
        images=count,
        tags=tags,
        positives=sum(len(p) for p in truths),
        hidden=sum(len(h) for h in hidden),
        truth_path=final / TRUTH_FILE,
    )


def _choose_hidden(
    truths: list[list[str]], fraction: float, rng: np.random.Generator
) -> list[set[str]]:
    """Hide round(fraction × all positives), uniformly over pairs, keeping ≥ 1 tag per image."""
    pairs = [(i, tag) for i, positives in enumerate(truths) for tag in positives]
    target = round(fraction * len(pairs))
    visible_left = [len(p) for p in truths]
    hidden: list[set[str]] = [set() for _ in truths]
    for k in rng.permutation(len(pairs)):
        if target == 0:
            break
        i, tag = pairs[int(k)]
        if visible_left[i] > 1:
            hidden[i].add(tag)
            visible_left[i] -= 1
            target -= 1
    return hidden

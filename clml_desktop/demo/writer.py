"""The bundled demo collection: synthetic images whose tags are known, then partly hidden.

Why synthetic: the product's promise is "find the tags that are missing", and
that can only be measured where the full truth is known. Each image shows a
few coloured shapes (circle, square, triangle, star, cross, ring in red,
green, blue, yellow) on a textured background (stripes, dots, gradient,
noise), sometimes inside a frame. A latent scene ("night sky", "board",
"toys") drives realistic co-occurrence: stars are mostly yellow and come with
gradients, crosses are rare and mostly red, boards have stripes and squares.
A small CNN learns these cues in minutes on a CPU.

Then `hidden_fraction` of all true positives is removed from the `.txt`
sidecars (the paper's missing-label setting), never all of one image's tags.

Files written into the folder:
- `demo_NNNN.jpg` and `demo_NNNN.txt` (visible tags, `, `-separated, in the
  truth's order: each object's shape then colour, then the background, then
  `frame`);
- `demo_truth.json`, the full truth:
  `{"format": 1, "generator": "clml-desktop demo", "seed", "hidden_fraction",
  "size": [w, h], "tags": [all tags, fixed order],
  "images": {relpath: {"positives": [full positive list, in order],
  "hidden": [the positives left out of the sidecar]}}}`.

Everything is a pure function of the arguments: the same seed gives the same
bytes, so benchmarks and tests on the demo are reproducible.
"""

from __future__ import annotations

import io
import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

TRUTH_FILE = "demo_truth.json"
# 1,000 images: random-init fold models trained on 150 images (a 300-image demo)
# could not learn the shapes at a CPU budget; data helped more than epochs (ADR 0018).
DEMO_IMAGES = 1000
TRUTH_FORMAT = 1

SHAPES = ("circle", "square", "triangle", "star", "cross", "ring")
COLOURS = ("red", "green", "blue", "yellow")
BACKGROUNDS = ("stripes", "dots", "gradient", "noise")
FRAME = "frame"
TAGS: tuple[str, ...] = SHAPES + COLOURS + BACKGROUNDS + (FRAME,)

_RGB = {
    "red": (215, 35, 35),
    "green": (35, 165, 55),
    "blue": (40, 70, 225),
    "yellow": (245, 215, 25),
}


@dataclass(frozen=True)
class _Scene:
    """A latent theme: it ties shapes, colours and backgrounds together."""

    weight: float
    backgrounds: dict[str, float]
    shapes: dict[str, float]
    frame_p: float


_SCENES = (
    _Scene(
        0.25,
        {"gradient": 0.7, "noise": 0.3},
        {"star": 0.5, "circle": 0.3, "ring": 0.1, "triangle": 0.1},
        0.05,
    ),
    _Scene(
        0.35,
        {"stripes": 0.6, "dots": 0.4},
        {"square": 0.4, "triangle": 0.3, "cross": 0.15, "circle": 0.15},
        0.2,
    ),
    _Scene(
        0.40,
        {"dots": 0.4, "gradient": 0.3, "noise": 0.3},
        {"circle": 0.35, "ring": 0.2, "square": 0.25, "triangle": 0.2},
        0.08,
    ),
)
_DEFAULT_COLOURS = {"red": 0.3, "green": 0.3, "blue": 0.3, "yellow": 0.1}
_SHAPE_COLOURS = {
    "star": {"yellow": 0.75, "red": 0.1, "green": 0.05, "blue": 0.1},
    "cross": {"red": 0.6, "green": 0.15, "blue": 0.15, "yellow": 0.1},
}
_OBJECT_COUNTS = {1: 0.2, 2: 0.35, 3: 0.3, 4: 0.15}


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
        render=_render,
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
    return info if info is not None else _info_of_existing(Path(folder))


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


def _info_of_existing(folder: Path) -> DemoInfo:
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


def _pick(rng: np.random.Generator, weights: dict[str, float]) -> str:
    keys = list(weights)
    p = np.array([weights[k] for k in keys], dtype=float)
    return keys[int(rng.choice(len(keys), p=p / p.sum()))]


def _render(rng: np.random.Generator, size: tuple[int, int]) -> tuple[Image.Image, list[str]]:
    """Draw one image; return it with its full positive tag list in truth order."""
    scene = _SCENES[int(rng.choice(len(_SCENES), p=[s.weight for s in _SCENES]))]
    background = _pick(rng, scene.backgrounds)
    image = _background(rng, background, size)
    draw = ImageDraw.Draw(image)
    count = int(_pick(rng, {str(k): v for k, v in _OBJECT_COUNTS.items()}))
    placed: list[tuple[float, float, float]] = []
    positives: list[str] = []
    w, h = size
    for _ in range(count):
        shape = _pick(rng, scene.shapes)
        colour = _pick(rng, _SHAPE_COLOURS.get(shape, _DEFAULT_COLOURS))
        radius = float(rng.uniform(0.1, 0.2) * min(w, h))
        spot = _free_spot(rng, placed, radius, size)
        if spot is None:
            continue
        placed.append((*spot, radius))
        rgb = tuple(int(np.clip(c + rng.integers(-20, 21), 0, 255)) for c in _RGB[colour])
        _draw_shape(draw, shape, spot, radius, float(rng.uniform(0, 360)), rgb)
        for tag in (shape, colour):
            if tag not in positives:
                positives.append(tag)
    positives.append(background)
    if rng.random() < scene.frame_p:
        width = max(3, min(w, h) // 24)
        draw.rectangle([0, 0, w - 1, h - 1], outline=(250, 250, 250), width=width)
        positives.append(FRAME)
    return image, positives


def _free_spot(
    rng: np.random.Generator,
    placed: list[tuple[float, float, float]],
    radius: float,
    size: tuple[int, int],
) -> tuple[float, float] | None:
    """A centre whose disc stays inside the image and clear of the other objects."""
    w, h = size
    margin = radius + max(4.0, min(w, h) / 24)
    for _ in range(30):
        x = float(rng.uniform(margin, w - margin))
        y = float(rng.uniform(margin, h - margin))
        if all(math.hypot(x - px, y - py) > radius + pr + 2 for px, py, pr in placed):
            return x, y
    return None


def _background(rng: np.random.Generator, kind: str, size: tuple[int, int]) -> Image.Image:
    """A low-saturation texture, so the saturated objects' colours stay the colour cue."""
    w, h = size
    base = float(rng.uniform(70, 170))
    tint = rng.uniform(-12, 12, size=3)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    if kind == "stripes":
        period = float(rng.uniform(10, 22))
        angle = float(rng.uniform(0, math.pi))
        phase = (xx * math.cos(angle) + yy * math.sin(angle)) / period
        grey = base + 45.0 * ((phase % 1.0) < 0.5).astype(np.float32) - 22.0
    elif kind == "dots":
        step = int(rng.integers(11, 18))
        dot = step / 4.5
        dx = (xx % step) - step / 2
        dy = (yy % step) - step / 2
        grey = np.full((h, w), base, np.float32) - 50.0 * (dx * dx + dy * dy < dot * dot)
    elif kind == "gradient":
        angle = float(rng.uniform(0, 2 * math.pi))
        ramp = (xx * math.cos(angle) + yy * math.sin(angle)) / math.hypot(w, h)
        grey = base + 110.0 * (ramp - ramp.mean())
    else:
        grey = base + rng.normal(0.0, 38.0, size=(h, w)).astype(np.float32)
    rgb = np.clip(grey[..., None] + tint[None, None, :], 0, 255).astype(np.uint8)
    return Image.fromarray(rgb, "RGB")


def _draw_shape(
    draw: ImageDraw.ImageDraw,
    shape: str,
    centre: tuple[float, float],
    radius: float,
    rotation: float,
    rgb: tuple[int, ...],
) -> None:
    x, y = centre
    fill = tuple(rgb)
    if shape == "circle":
        draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=fill)
    elif shape == "ring":
        width = max(3, int(radius * 0.35))
        draw.ellipse([x - radius, y - radius, x + radius, y + radius], outline=fill, width=width)
    elif shape == "square":
        draw.regular_polygon((x, y, radius), 4, rotation=rotation, fill=fill)
    elif shape == "triangle":
        draw.regular_polygon((x, y, radius), 3, rotation=rotation, fill=fill)
    elif shape == "star":
        draw.polygon(_star_points(x, y, radius, rotation), fill=fill)
    elif shape == "cross":
        draw.polygon(_cross_points(x, y, radius, rotation), fill=fill)
    else:
        raise ValueError(f"unknown shape {shape!r}")


def _star_points(x: float, y: float, radius: float, rotation: float) -> list[tuple[float, float]]:
    points = []
    for k in range(10):
        r = radius if k % 2 == 0 else radius * 0.42
        a = math.radians(rotation) + k * math.pi / 5
        points.append((x + r * math.sin(a), y - r * math.cos(a)))
    return points


def _cross_points(x: float, y: float, radius: float, rotation: float) -> list[tuple[float, float]]:
    t = radius * 0.33
    outline = [
        (-t, -radius),
        (t, -radius),
        (t, -t),
        (radius, -t),
        (radius, t),
        (t, t),
        (t, radius),
        (-t, radius),
        (-t, t),
        (-radius, t),
        (-radius, -t),
        (-t, -t),
    ]
    a = math.radians(rotation)
    c, s = math.cos(a), math.sin(a)
    return [(x + px * c - py * s, y + px * s + py * c) for px, py in outline]

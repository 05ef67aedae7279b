"""A second synthetic benchmark collection, of a different kind from the demo.

The bundled demo (clml_desktop/demo/) tags saturated coloured
shapes, so colour is its main cue and a crop or a flip rarely changes a tag.
Tuning quality to that one collection would tune it to colour. This one draws
horizon scenes in low-saturation greys where the cues are layout, texture,
small objects in context and left/right direction:

- layout: `sky` (a band on top), `water` or `ground` below the horizon,
  `night` (dark sky, darker land, mostly with a moon);
- textures covering regions, of different spatial frequency and orientation:
  `bricks` (building or room wall), `wood` (fence, pier, floor, wall planks),
  `grass` (fine vertical blades), `checker` (pavement or floor tiles, square
  or diagonal), `waves` (horizontal crests, longer toward the viewer);
- small objects (6-12% of the image's short side) where they belong: `sun`
  and `moon` in the sky, `bird` in the sky, `boat` on water, `tree` on the
  ground, `window` on bricks; cropping half the image can remove them;
- `facing-left` / `facing-right`: the way the birds and boats of an image
  head (all the same way, like boats before one wind), so a horizontal flip
  turns a true tag false.

A latent scene (seaside, field, street, room) drives co-occurrence: boats
come with water and often waves, trees with ground and grass, windows only on
bricks, rooms have no sky. Each image gets a mild random brightness and tint.

The files and the truth are the demo's: `scene_NNNN.jpg` + `scene_NNNN.txt`
(visible tags, `, `-separated, in tag order) and `demo_truth.json`
(clml_desktop.demo.TRUTH_FILE, same format, generator
"clml-desktop scenes"), `hidden_fraction` of all positives hidden from the
sidecars, never all of one image's. Same seed, same bytes.

    python benchmarks/scenes_collection.py OUT [--images N] [--seed S]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from clml_desktop.demo import (  # noqa: E402
    TRUTH_FILE,
    DemoError,
    is_demo,
    read_truth,
    write_collection,
)
from clml_desktop.demo.painter import pick  # noqa: E402

GENERATOR = "clml-desktop scenes"
LAYOUT = ("sky", "water", "ground", "night")
TEXTURES = ("bricks", "wood", "grass", "checker", "waves")
OBJECTS = ("sun", "moon", "bird", "boat", "tree", "window")
FACING = ("facing-left", "facing-right")
TAGS: tuple[str, ...] = LAYOUT + TEXTURES + OBJECTS + FACING

_SCENES = {"seaside": 0.3, "field": 0.3, "street": 0.25, "room": 0.15}
_SUPERSAMPLE = 2  # drawn at twice the size, then box-filtered: clean small objects

# Region labels of the label map that decides where objects may go.
_SKY, _WATER, _GROUND, _BRICKS, _WOOD, _WALL, _FLOOR = range(7)

# Mild multiplicative tints per region (colour is a weak cue here on purpose).
_TINT = {
    "sky": (0.95, 1.0, 1.07),
    "night": (0.92, 0.96, 1.1),
    "water": (0.93, 1.0, 1.06),
    "grass": (0.95, 1.04, 0.9),
    "dirt": (1.05, 1.0, 0.92),
    "bricks": (1.08, 0.98, 0.92),
    "wood": (1.06, 1.0, 0.9),
    "checker": (1.0, 1.0, 1.0),
    "plaster": (1.02, 1.0, 0.97),
}


def make_scenes(
    folder: Path,
    *,
    images: int = 300,
    hidden_fraction: float = 0.4,
    seed: int = 0,
    size: tuple[int, int] = (192, 144),
) -> Path:
    """Create the scenes collection in `folder` (new or empty), atomically; return the folder.

    Written into a temporary sibling folder and renamed into place at the end,
    like the demo. A folder that already holds a finished scenes collection is
    reused as is; any other non-empty folder (a person's files, or the demo) is
    refused with DemoError.
    """
    folder = Path(folder)

    def check_size() -> None:
        if size[0] < 32 or size[1] < 24:
            raise ValueError("size must be at least 32×24 (the small objects need a few pixels)")

    write_collection(
        folder,
        render=_render,
        generator=GENERATOR,
        tags=TAGS,
        prefix="scene",
        images=images,
        hidden_fraction=hidden_fraction,
        seed=seed,
        size=size,
        reuse=lambda f: is_demo(f) and _is_scenes(f),
        refusal="exists and is not an empty folder or an existing scenes collection; "
        "choose another folder",
        check=check_size,
    )
    return folder


def _is_scenes(folder: Path) -> bool:
    try:
        data = json.loads((folder / TRUTH_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("generator") == GENERATOR


# --------------------------------------------------------------------------- drawing


@dataclass
class _Canvas:
    """The supersampled picture being drawn, with a region label per pixel."""

    rgb: np.ndarray  # H×W×3 float32
    labels: np.ndarray  # H×W int8
    u: float  # one "unit": the short side / 144 (1 px of a 192×144 image, supersampled)

    @property
    def h(self) -> int:
        return self.rgb.shape[0]

    @property
    def w(self) -> int:
        return self.rgb.shape[1]

    def fill(self, mask: np.ndarray, grey: np.ndarray, tint: str, label: int) -> None:
        t = np.asarray(_TINT[tint], np.float32)
        self.rgb[mask] = (grey[..., None] * t)[mask]
        self.labels[mask] = label


def _render(rng: np.random.Generator, size: tuple[int, int]) -> tuple[Image.Image, list[str]]:
    """Draw one scene; return it with its positives in TAGS order."""
    w, h = size[0] * _SUPERSAMPLE, size[1] * _SUPERSAMPLE
    canvas = _Canvas(
        rgb=np.zeros((h, w, 3), np.float32),
        labels=np.zeros((h, w), np.int8),
        u=min(w, h) / 144.0,
    )
    scene = pick(rng, _SCENES)
    tags: set[str] = set()
    night = scene != "room" and rng.random() < 0.27
    horizon = int(h * rng.uniform(0.4, 0.58))
    if scene == "room":
        _room(rng, canvas, tags)
    else:
        tags.add("sky")
        if night:
            tags.add("night")
        _sky(rng, canvas, horizon, night)
        land = {"seaside": _seaside, "field": _field, "street": _street}[scene]
        land(rng, canvas, horizon, tags)
        if night:
            canvas.rgb[canvas.labels != _SKY] *= 0.6
    image = _objects(rng, canvas, scene, horizon, night, tags)
    positives = [t for t in TAGS if t in tags]
    return image, positives


def _finish(rng: np.random.Generator, canvas: _Canvas) -> Image.Image:
    """Per-image brightness and tint jitter, light sensor noise, then back to uint8."""
    gain = rng.uniform(0.85, 1.15) * rng.uniform(0.96, 1.04, size=3)
    rgb = canvas.rgb * gain.astype(np.float32)
    rgb += rng.normal(0.0, 3.0, size=rgb.shape).astype(np.float32)
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB")


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], cells: tuple[int, int]) -> np.ndarray:
    """Low-frequency noise in about [-1, 1]: a small random grid, bicubic upscaled."""
    grid = rng.normal(0.0, 1.0, size=(cells[1], cells[0])).astype(np.float32)
    up = Image.fromarray(grid).resize((shape[1], shape[0]), Image.Resampling.BICUBIC)
    return np.asarray(up, np.float32) / 1.5


def _grid(canvas: _Canvas) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0 : canvas.h, 0 : canvas.w].astype(np.float32)
    return yy, xx


# --- regions


def _sky(rng: np.random.Generator, canvas: _Canvas, horizon: int, night: bool) -> None:
    yy, xx = _grid(canvas)
    t = yy / max(1, horizon)  # 0 at the top, 1 at the horizon
    if night:
        grey = rng.uniform(22, 40) + 28.0 * t**2
    else:
        grey = rng.uniform(140, 180) + 45.0 * t
        if rng.random() < 0.5:  # soft clouds: untagged, low-frequency
            clouds = _smooth_noise(rng, (canvas.h, canvas.w), (5, 3))
            grey = grey + 25.0 * np.clip(clouds, 0, None)
    canvas.fill(yy < horizon, grey, "night" if night else "sky", _SKY)


def _waves(rng: np.random.Generator, canvas: _Canvas, top: int) -> np.ndarray:
    """Horizontal crests, wobbling along x, their period growing toward the viewer."""
    yy, xx = _grid(canvas)
    u = canvas.u
    p0 = rng.uniform(5, 8) * u
    depth = max(1.0, canvas.h - top)
    k = 2.0
    t = np.clip(yy - top, 0, None)
    phase = depth / (k * p0) * np.log1p(k * t / depth)
    wobble = 0.35 * np.sin(2 * math.pi * xx / (rng.uniform(30, 50) * u) + rng.uniform(0, 6.3))
    crest = (0.5 + 0.5 * np.sin(2 * math.pi * (phase + wobble))) ** 3
    return rng.uniform(80, 110) + 80.0 * crest - 10.0


def _calm_water(rng: np.random.Generator, canvas: _Canvas, top: int) -> np.ndarray:
    yy, xx = _grid(canvas)
    streaks = _smooth_noise(rng, (canvas.h, canvas.w), (3, max(4, int(canvas.h / (6 * canvas.u)))))
    return rng.uniform(100, 130) + 15.0 * (yy - top) / canvas.h + 6.0 * streaks


def _grass(rng: np.random.Generator, canvas: _Canvas) -> np.ndarray:
    """Fine vertical blades: noise a few units tall and about one unit wide."""
    u = canvas.u
    rows = max(2, int(canvas.h / (rng.uniform(4, 6) * u)))
    cols = max(2, int(canvas.w / (1.3 * u)))
    blades = rng.normal(0.0, 1.0, size=(rows, cols)).astype(np.float32)
    up = Image.fromarray(blades).resize((canvas.w, canvas.h), Image.Resampling.BILINEAR)
    return rng.uniform(95, 125) + 32.0 * np.clip(np.asarray(up, np.float32), -2, 2)


def _dirt(rng: np.random.Generator, canvas: _Canvas) -> np.ndarray:
    blotches = _smooth_noise(rng, (canvas.h, canvas.w), (12, 9))
    fine = rng.normal(0.0, 6.0, size=(canvas.h, canvas.w)).astype(np.float32)
    return rng.uniform(105, 135) + 18.0 * blotches + fine


def _checker(rng: np.random.Generator, canvas: _Canvas) -> np.ndarray:
    yy, xx = _grid(canvas)
    cell = rng.uniform(10, 15) * canvas.u
    if rng.random() < 0.5:
        a, b = xx, yy
    else:  # diagonal tiles
        a, b = (xx + yy) / math.sqrt(2), (xx - yy) / math.sqrt(2)
    odd = (np.floor(a / cell) + np.floor(b / cell)) % 2
    return rng.uniform(100, 130) + 42.0 * (odd - 0.5)


def _bricks(rng: np.random.Generator, canvas: _Canvas) -> np.ndarray:
    yy, xx = _grid(canvas)
    u = canvas.u
    bh = rng.uniform(5, 7) * u
    bw = bh * rng.uniform(2.0, 2.6)
    mortar = max(1.0, 0.22 * bh)
    row = np.floor(yy / bh)
    shifted = xx + (row % 2) * bw / 2
    col = np.floor(shifted / bw)
    shade_table = rng.normal(0.0, 9.0, size=64).astype(np.float32)
    shade = shade_table[((row * 7 + col * 13) % 64).astype(int)]
    joint = ((yy % bh) < mortar) | ((shifted % bw) < mortar)
    base = rng.uniform(85, 110)
    return np.where(joint, base + 55.0, base + shade)


def _wood(rng: np.random.Generator, canvas: _Canvas, vertical: bool) -> np.ndarray:
    """Planks with dark gaps and wavy grain along them."""
    yy, xx = _grid(canvas)
    u = canvas.u
    across, along = (xx, yy) if vertical else (yy, xx)
    plank = rng.uniform(11, 16) * u
    index = np.floor(across / plank)
    offsets = rng.uniform(0, 100, size=512).astype(np.float32)
    shades = rng.normal(0.0, 8.0, size=512).astype(np.float32)
    k = (index.astype(int) % 512)
    grain = np.sin(
        2 * math.pi * (across + 2.5 * u * np.sin((along + offsets[k] * u) / (9 * u))) / (2.6 * u)
    )
    gap = (across % plank) < max(1.0, 0.9 * u)
    base = rng.uniform(95, 125) + shades[k] + 12.0 * grain
    return np.where(gap, base - 55.0, base)


def _plaster(rng: np.random.Generator, canvas: _Canvas) -> np.ndarray:
    return rng.uniform(150, 190) + 6.0 * _smooth_noise(rng, (canvas.h, canvas.w), (6, 4))


def _land(
    rng: np.random.Generator,
    canvas: _Canvas,
    horizon: int,
    tags: set[str],
    kind: tuple[str, int],
    p: float,
    textured: tuple[str, str, Callable[[], np.ndarray]],
    plain: tuple[str, Callable[[], np.ndarray]],
) -> tuple[np.ndarray, np.ndarray]:
    """Fill below the horizon: tag `kind` (tag, region label), then with probability p
    the tagged texture (tag, tint, grey), else the untagged one (tint, grey). Returns the grid."""
    yy, xx = _grid(canvas)
    tags.add(kind[0])
    if rng.random() < p:
        tag, tint, grey = textured
        tags.add(tag)
    else:
        tint, grey = plain
    canvas.fill(yy >= horizon, grey(), tint, kind[1])
    return yy, xx


def _seaside(rng: np.random.Generator, canvas: _Canvas, horizon: int, tags: set[str]) -> None:
    yy, xx = _land(
        rng, canvas, horizon, tags, ("water", _WATER), 0.72,
        ("waves", "water", lambda: _waves(rng, canvas, horizon)),
        ("water", lambda: _calm_water(rng, canvas, horizon)),
    )
    if rng.random() < 0.22:  # a pier from one side: horizontal planks on dark posts
        tags.add("wood")
        depth = canvas.h - horizon
        top = horizon + int(depth * rng.uniform(0.25, 0.45))
        bottom = top + int(depth * rng.uniform(0.14, 0.2))
        length = canvas.w * rng.uniform(0.3, 0.5)
        side = xx < length if rng.random() < 0.5 else xx > canvas.w - length
        deck = side & (yy >= top) & (yy < bottom)
        canvas.fill(deck, _wood(rng, canvas, vertical=False), "wood", _WOOD)
        post = max(2, int(2.5 * canvas.u))
        posts = side & (yy >= bottom) & (yy < bottom + 4 * post) & ((xx % (10 * post)) < post)
        canvas.rgb[posts] = 45.0
        canvas.labels[posts] = _WOOD


def _field(rng: np.random.Generator, canvas: _Canvas, horizon: int, tags: set[str]) -> None:
    yy, xx = _land(
        rng, canvas, horizon, tags, ("ground", _GROUND), 0.85,
        ("grass", "grass", lambda: _grass(rng, canvas)),
        ("dirt", lambda: _dirt(rng, canvas)),
    )
    if rng.random() < 0.3:  # a fence: vertical planks standing on the ground
        tags.add("wood")
        depth = canvas.h - horizon
        bottom = horizon + int(depth * rng.uniform(0.3, 0.6))
        top = bottom - int(canvas.h * rng.uniform(0.14, 0.22))
        x0 = canvas.w * rng.uniform(0.0, 0.5)
        x1 = x0 + canvas.w * rng.uniform(0.25, 0.5)
        fence = (yy >= top) & (yy < bottom) & (xx >= x0) & (xx < x1)
        canvas.fill(fence, _wood(rng, canvas, vertical=True), "wood", _WOOD)


def _street(rng: np.random.Generator, canvas: _Canvas, horizon: int, tags: set[str]) -> None:
    yy, xx = _grid(canvas)
    tags.add("ground")
    below = yy >= horizon
    ground = pick(rng, {"checker": 0.55, "dirt": 0.3, "grass": 0.15})
    if ground == "checker":
        tags.add("checker")
        canvas.fill(below, _checker(rng, canvas), "checker", _GROUND)
    elif ground == "grass":
        tags.add("grass")
        canvas.fill(below, _grass(rng, canvas), "grass", _GROUND)
    else:
        canvas.fill(below, _dirt(rng, canvas), "dirt", _GROUND)
    if rng.random() < 0.9:  # one or two brick buildings standing on the ground
        tags.add("bricks")
        texture = _bricks(rng, canvas)
        for _ in range(int(rng.integers(1, 3))):
            width = canvas.w * rng.uniform(0.28, 0.5)
            x0 = rng.uniform(0, canvas.w - width)
            top = max(canvas.h * 0.1, horizon - canvas.h * rng.uniform(0.2, 0.38))
            bottom = horizon + canvas.h * rng.uniform(0.03, 0.08)
            wall = (yy >= top) & (yy < bottom) & (xx >= x0) & (xx < x0 + width)
            canvas.fill(wall, texture, "bricks", _BRICKS)


def _room(rng: np.random.Generator, canvas: _Canvas, tags: set[str]) -> None:
    """Indoors: no sky. A wall on top, a floor below; at least one tagged texture."""
    yy, xx = _grid(canvas)
    line = int(canvas.h * rng.uniform(0.55, 0.72))
    wall = pick(rng, {"bricks": 0.6, "wood": 0.25, "plaster": 0.15})
    upper = yy < line
    if wall == "bricks":
        canvas.fill(upper, _bricks(rng, canvas), "bricks", _BRICKS)
    elif wall == "wood":
        canvas.fill(upper, _wood(rng, canvas, vertical=True), "wood", _WOOD)
    else:
        canvas.fill(upper, _plaster(rng, canvas), "plaster", _WALL)
    if wall != "plaster":
        tags.add(wall)
    floors = {"checker": 0.45, "wood": 0.3, "plain": 0.25}
    if wall == "plaster":
        floors = {"checker": 0.55, "wood": 0.45}
    floor = pick(rng, floors)
    lower = ~upper
    if floor == "checker":
        tags.add("checker")
        canvas.fill(lower, _checker(rng, canvas), "checker", _FLOOR)
    elif floor == "wood":
        tags.add("wood")
        canvas.fill(lower, _wood(rng, canvas, vertical=False), "wood", _FLOOR)
    else:
        canvas.fill(lower, _dirt(rng, canvas) + 15.0, "plaster", _FLOOR)
    skirting = (yy >= line - 2 * canvas.u) & (yy < line)
    canvas.rgb[skirting] = 60.0


# --- small objects


def _objects(
    rng: np.random.Generator,
    canvas: _Canvas,
    scene: str,
    horizon: int,
    night: bool,
    tags: set[str],
) -> Image.Image:
    """Place the small objects where they belong; tag only what was actually drawn."""
    plan: list[tuple[str, int]] = []  # (object, how many)
    if scene != "room":
        if night:
            if rng.random() < 0.85:
                plan.append(("moon", 1))
        elif rng.random() < 0.55:
            plan.append(("sun", 1))
    if scene == "seaside":
        if rng.random() < 0.7:
            plan.append(("boat", int(rng.integers(1, 3))))
        if rng.random() < (0.15 if night else 0.5):
            plan.append(("bird", int(rng.integers(1, 4))))
    elif scene == "field":
        if rng.random() < 0.75:
            plan.append(("tree", int(rng.integers(1, 4))))
        if rng.random() < (0.12 if night else 0.4):
            plan.append(("bird", int(rng.integers(1, 3))))
    elif scene == "street":
        if "bricks" in tags and rng.random() < 0.75:
            plan.append(("window", int(rng.integers(1, 5))))
        if rng.random() < 0.3:
            plan.append(("tree", 1))
        if rng.random() < (0.08 if night else 0.25):
            plan.append(("bird", 1))
    elif "bricks" in tags and rng.random() < 0.6:
        plan.append(("window", int(rng.integers(1, 3))))
    facing_right = bool(rng.random() < 0.5)  # every bird and boat heads the same way

    image = _finish(rng, canvas)
    draw = ImageDraw.Draw(image)
    u = canvas.u
    short = min(canvas.w, canvas.h)
    boxes: list[tuple[float, float, float, float]] = []
    for kind, count in plan:
        for _ in range(count):
            s = float(rng.uniform(0.07, 0.12) * short)
            box = _place(rng, canvas, kind, s, horizon, boxes)
            if box is None:
                continue
            boxes.append(box)
            tags.add(kind)
            if kind == "sun":
                _draw_sun(draw, box, u)
            elif kind == "moon":
                _draw_moon(rng, draw, box, image)
            elif kind == "bird":
                _draw_bird(draw, box, facing_right, night)
            elif kind == "boat":
                _draw_boat(draw, box, facing_right, u)
            elif kind == "tree":
                _draw_tree(rng, draw, box, night)
            else:
                _draw_window(draw, box, night, u)
    if tags & {"bird", "boat"}:
        tags.add("facing-right" if facing_right else "facing-left")
    final = (canvas.w // _SUPERSAMPLE, canvas.h // _SUPERSAMPLE)
    return image.resize(final, Image.Resampling.BOX)


# Where each object may stand: its whole box inside these regions.
_ALLOWED = {
    "sun": {_SKY},
    "moon": {_SKY},
    "bird": {_SKY},
    "boat": {_WATER, _SKY},
    "tree": {_GROUND, _SKY},
    "window": {_BRICKS},
}
_ASPECT = {"sun": 1.0, "moon": 1.0, "bird": 0.6, "boat": 1.0, "tree": 1.25, "window": 1.25}


def _place(
    rng: np.random.Generator,
    canvas: _Canvas,
    kind: str,
    s: float,
    horizon: int,
    boxes: list[tuple[float, float, float, float]],
) -> tuple[float, float, float, float] | None:
    """A box (x0, y0, x1, y1) of width s inside its allowed regions, clear of other objects."""
    bw, bh = s, s * _ASPECT[kind]
    margin = 3 * canvas.u
    allowed = np.isin(canvas.labels, list(_ALLOWED[kind]))
    for _ in range(40):
        x0 = float(rng.uniform(margin, canvas.w - margin - bw))
        if kind == "boat":  # the hull sits in the water, the sail may rise above the horizon
            lo = horizon + 0.12 * (canvas.h - horizon) - 0.65 * bh
            y0 = float(rng.uniform(max(lo, margin), canvas.h - margin - bh))
            if y0 + 0.7 * bh < horizon + 2 * canvas.u:
                continue
        elif kind == "tree":  # the trunk stands on the ground, the crown may rise into the sky
            y0 = float(rng.uniform(horizon + 0.05 * canvas.h - bh, canvas.h - margin - bh))
        else:
            y0 = float(rng.uniform(margin, canvas.h - margin - bh))
        x1, y1 = x0 + bw, y0 + bh
        if y0 < margin:
            continue
        if any(x0 < bx1 + margin and bx0 < x1 + margin and y0 < by1 + margin and by0 < y1 + margin
               for bx0, by0, bx1, by1 in boxes):
            continue
        window = allowed[int(y0) : int(math.ceil(y1)) + 1, int(x0) : int(math.ceil(x1)) + 1]
        if window.size and window.all():
            if kind in {"boat", "tree"} and canvas.labels[min(canvas.h - 1, int(y1)),
                                                          int((x0 + x1) / 2)] == _SKY:
                continue
            return x0, y0, x1, y1
    return None


def _mirror(points: list[tuple[float, float]], cx: float, right: bool) -> list[tuple[float, float]]:
    """Points drawn facing right; mirrored about cx when the object faces left."""
    return points if right else [(2 * cx - x, y) for x, y in points]


def _draw_sun(draw: ImageDraw.ImageDraw, box: tuple[float, ...], u: float) -> None:
    x0, y0, x1, y1 = box
    cx, cy, r = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2
    colour = (252, 246, 222)
    for k in range(8):
        a = k * math.pi / 4
        draw.line(
            [(cx + 0.62 * r * math.cos(a), cy + 0.62 * r * math.sin(a)),
             (cx + r * math.cos(a), cy + r * math.sin(a))],
            fill=colour, width=max(1, int(1.3 * u)),
        )
    draw.ellipse([cx - 0.5 * r, cy - 0.5 * r, cx + 0.5 * r, cy + 0.5 * r], fill=colour)


def _draw_moon(
    rng: np.random.Generator, draw: ImageDraw.ImageDraw, box: tuple[float, ...], image: Image.Image
) -> None:
    """A crescent: a pale disc, then a disc of the sky's own colour over most of it."""
    x0, y0, x1, y1 = box
    cx, cy, r = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2 * 0.9
    patch = np.asarray(image.crop((int(x0), int(y0), int(x1) + 1, int(y1) + 1)), np.float32)
    bg = tuple(int(c) for c in patch.reshape(-1, 3).mean(axis=0))
    draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=(236, 236, 218))
    dx = r * 0.55 * (1 if rng.random() < 0.5 else -1)
    draw.ellipse([cx + dx - r, cy - r * 1.05, cx + dx + r, cy + r * 0.95], fill=bg)


def _draw_bird(
    draw: ImageDraw.ImageDraw, box: tuple[float, ...], right: bool, night: bool
) -> None:
    """Side view: body, head with a beak in front, a tail and a raised wing behind."""
    x0, y0, x1, y1 = box
    s = x1 - x0
    cx, cy = (x0 + x1) / 2, y0 + 0.62 * (y1 - y0)
    colour = (175, 175, 180) if night else (38, 36, 40)
    draw.ellipse([cx - 0.36 * s, cy - 0.13 * s, cx + 0.28 * s, cy + 0.13 * s], fill=colour)
    hx, hy, hr = cx + 0.3 * s, cy - 0.13 * s, 0.14 * s
    draw.ellipse([hx - hr, hy - hr, hx + hr, hy + hr] if right else
                 [2 * cx - hx - hr, hy - hr, 2 * cx - hx + hr, hy + hr], fill=colour)
    beak = [(hx + 0.1 * s, hy - 0.05 * s), (hx + 0.28 * s, hy + 0.03 * s),
            (hx + 0.1 * s, hy + 0.06 * s)]
    tail = [(cx - 0.3 * s, cy - 0.03 * s), (cx - 0.5 * s, cy - 0.1 * s),
            (cx - 0.5 * s, cy + 0.06 * s)]
    wing = [(cx + 0.14 * s, cy - 0.08 * s), (cx - 0.4 * s, cy - 0.55 * s),
            (cx - 0.12 * s, cy - 0.05 * s)]
    for poly in (beak, tail, wing):
        draw.polygon(_mirror(poly, cx, right), fill=colour)


def _draw_boat(draw: ImageDraw.ImageDraw, box: tuple[float, ...], right: bool, u: float) -> None:
    """A sailboat: square stern, raked pointed bow, one sail reaching toward the bow."""
    x0, y0, x1, y1 = box
    s = x1 - x0
    cx = (x0 + x1) / 2
    deck = y0 + 0.68 * s
    hull = [(x0, deck), (x1, deck - 0.06 * s), (x0 + 0.7 * s, deck + 0.22 * s),
            (x0 + 0.04 * s, deck + 0.22 * s)]
    mast_x = x0 + 0.3 * s
    sail = [(mast_x + 0.06 * s, y0), (mast_x + 0.06 * s, deck - 0.06 * s),
            (x0 + 0.88 * s, deck - 0.06 * s)]
    draw.line(_mirror([(mast_x, y0 - 0.02 * s), (mast_x, deck)], cx, right),
              fill=(50, 45, 40), width=max(1, int(1.2 * u)))
    draw.polygon(_mirror(sail, cx, right), fill=(238, 236, 228))
    draw.polygon(_mirror(hull, cx, right), fill=(48, 40, 36))


def _draw_tree(
    rng: np.random.Generator, draw: ImageDraw.ImageDraw, box: tuple[float, ...], night: bool
) -> None:
    """A trunk under a round or a conifer crown, darker than any ground (a silhouette at night)."""
    x0, y0, x1, y1 = box
    s = x1 - x0
    cx = (x0 + x1) / 2
    trunk, crown = ((20, 16, 14), (12, 18, 13)) if night else ((62, 48, 38), (34, 54, 36))
    draw.rectangle([cx - 0.08 * s, y1 - 0.42 * (y1 - y0), cx + 0.08 * s, y1], fill=trunk)
    if rng.random() < 0.5:  # round crown
        draw.ellipse([x0, y0, x1, y0 + s], fill=crown)
    else:  # conifer
        draw.polygon([(cx, y0), (x1, y1 - 0.3 * (y1 - y0)), (x0, y1 - 0.3 * (y1 - y0))],
                     fill=crown)


def _draw_window(draw: ImageDraw.ImageDraw, box: tuple[float, ...], night: bool, u: float) -> None:
    x0, y0, x1, y1 = box
    frame = max(1, min(int(1.6 * u), int((x1 - x0) / 4)))
    glass = (225, 205, 140) if night else (52, 58, 66)
    draw.rectangle([x0, y0, x1, y1], fill=(215, 212, 205))
    draw.rectangle([x0 + frame, y0 + frame, x1 - frame, y1 - frame], fill=glass)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    bar = max(1, int(1.1 * u))
    draw.line([(cx, y0), (cx, y1)], fill=(215, 212, 205), width=bar)
    draw.line([(x0, cy), (x1, cy)], fill=(215, 212, 205), width=bar)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path, help="new or empty folder (or a finished scenes one)")
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hidden-fraction", type=float, default=0.4)
    args = parser.parse_args(argv)
    try:
        folder = make_scenes(
            args.out, images=args.images, seed=args.seed, hidden_fraction=args.hidden_fraction
        )
    except DemoError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    truth = read_truth(folder)
    positives = sum(len(p) for p in truth.positives.values())
    hidden = sum(len(h) for h in truth.hidden.values())
    print(f"{folder}: {len(truth.positives)} images, {len(truth.tags)} tags, "
          f"{positives} positives, {hidden} hidden ({hidden / max(1, positives):.0%})")
    n = len(truth.positives)
    for tag in truth.tags:
        count = sum(tag in p for p in truth.positives.values())
        print(f"  {tag:<13} {count:4d} images ({count / n:5.1%})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The demo's painter: one synthetic image and its true tags.

Each image shows a few coloured shapes (circle, square, triangle, star,
cross, ring in red, green, blue, yellow) on a textured background (stripes,
dots, gradient, noise), sometimes inside a frame. A latent scene ("night
sky", "board", "toys") drives realistic co-occurrence: stars are mostly
yellow and come with gradients, crosses are rare and mostly red, boards have
stripes and squares. A small CNN learns these cues in minutes on a CPU.

Kept apart from the writer (`clml_desktop.demo.writer`) so another generated
collection (the scenes benchmark) can paint its own images into the same
layout, and borrow `pick` for its own latent choices.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

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


def pick(rng: np.random.Generator, weights: dict[str, float]) -> str:
    """One key of `weights`, drawn with probability proportional to its weight."""
    keys = list(weights)
    p = np.array([weights[k] for k in keys], dtype=float)
    return keys[int(rng.choice(len(keys), p=p / p.sum()))]


def render(rng: np.random.Generator, size: tuple[int, int]) -> tuple[Image.Image, list[str]]:
    """Draw one image; return it with its full positive tag list in truth order (a `Renderer`)."""
    scene = _SCENES[int(rng.choice(len(_SCENES), p=[s.weight for s in _SCENES]))]
    background = pick(rng, scene.backgrounds)
    image = _background(rng, background, size)
    draw = ImageDraw.Draw(image)
    count = int(pick(rng, {str(k): v for k, v in _OBJECT_COUNTS.items()}))
    placed: list[tuple[float, float, float]] = []
    positives: list[str] = []
    w, h = size
    for _ in range(count):
        shape = pick(rng, scene.shapes)
        colour = pick(rng, _SHAPE_COLOURS.get(shape, _DEFAULT_COLOURS))
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

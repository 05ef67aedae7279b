"""Tiny synthetic training sets for the trainer's tests (a few dozen 40-px images)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

COLOURS = {"red": (220, 30, 30), "green": (30, 180, 40), "blue": (40, 60, 220)}
SHAPES = ("square", "circle")


def make_images(folder: Path, count: int = 24, size: int = 40, seed: int = 0) -> list[dict]:
    """Images with one coloured shape each; returns JSONL rows (absolute paths, full tags)."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(count):
        colour = rng.choice(sorted(COLOURS))
        shape = SHAPES[i % 2]
        img = Image.new("RGB", (size, size), tuple(rng.randrange(90, 160) for _ in range(3)))
        draw = ImageDraw.Draw(img)
        a, b = rng.randrange(2, 10), rng.randrange(size - 12, size - 2)
        (draw.rectangle if shape == "square" else draw.ellipse)([a, a, b, b], fill=COLOURS[colour])
        path = folder / f"img_{i:03d}.png"
        img.save(path)
        rows.append({"path": str(path), "positives": [shape, colour], "negatives": []})
    return rows


def write_jsonl(path: Path, rows: list[dict], tags: list[str] | None = None) -> Path:
    lines = [json.dumps({"tags": tags})] if tags else []
    lines += [json.dumps(r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def tiny_set(tmp_path: Path) -> Path:
    """24 images, 5 tags, one hidden tag on every fourth image, one rejected tag."""
    rows = make_images(tmp_path / "images")
    for i, row in enumerate(rows):
        if i % 4 == 0:
            row["positives"] = row["positives"][:1]
        if i % 5 == 0:
            row["negatives"] = ["circle" if "square" in row["positives"] else "square"]
    return write_jsonl(tmp_path / "train.jsonl", rows)


def read_events(text: str) -> list[dict]:
    """Every stdout line must be one JSON object with an "event" key."""
    events = []
    for line in text.splitlines():
        obj = json.loads(line)
        assert isinstance(obj, dict) and "event" in obj, line
        events.append(obj)
    return events

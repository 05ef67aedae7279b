"""Small on-disk collections for the panel tests: real images, labels, a model
with predictions, built in milliseconds without torch or a trainer."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from clml_desktop.collection.rows import ImageInfo, PredictionIn
from clml_desktop.collection.store import CollectionStore

TAGS = ["cat", "dog", "grass", "sky", "tree"]
COLOURS = [(200, 60, 60), (60, 160, 80), (60, 90, 200), (210, 180, 40), (150, 80, 170), (90, 90, 90)]


def make_images(folder: Path, n: int = 6, size: int = 48) -> list[str]:
    """`n` small coloured PNGs named img00.png…; returns their relative paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        img = Image.new("RGB", (size + 8 * i, size), COLOURS[i % len(COLOURS)])
        for x in range(0, img.width, 8):
            img.putpixel((x, size // 2), (255, 255, 255))
        name = f"img{i:02d}.png"
        img.save(folder / name)
        paths.append(name)
    return paths


def register_images(store: CollectionStore, folder: Path, relpaths: list[str]) -> list[int]:
    infos = []
    for rel in relpaths:
        st = (folder / rel).stat()
        with Image.open(folder / rel) as im:
            w, h = im.size
        infos.append(ImageInfo(path=rel, size=st.st_size, mtime_ns=st.st_mtime_ns, width=w, height=h))
    store.upsert_images(infos)
    return [store.image_by_path(rel).id for rel in relpaths]


def write_manifest(model_dir: Path, model_id: str, tags: list[str], thresholds: float = 0.5,
                   parent: str | None = None, metrics: dict | None = None) -> None:
    model_dir.mkdir(parents=True, exist_ok=True)
    manifest = {
        "format": 1,
        "id": model_id,
        "tags": tags,
        "architecture": "fake",
        "input_size": 32,
        "mean": [0.5, 0.5, 0.5],
        "std": [0.5, 0.5, 0.5],
        "resize": "squash",
        "thresholds": {t: thresholds for t in tags},
        "embedding_dim": 3,
        "training": {},
        "metrics": metrics or {},
        "parent": parent,
        "created": "2026-11-26T00:00:00+00:00",
        "files": {"onnx": "model.onnx", "checkpoint": None, "oof": None},
    }
    (model_dir / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def build_collection(folder: Path, n_images: int = 6, with_model: bool = True) -> dict:
    """A collection: img00 has cat+grass, img01 dog, …; a model 'm1' scores every
    unknown pair so that each image has pending suggestions with distinct scores."""
    rel = make_images(folder, n_images)
    store = CollectionStore.open(folder)
    try:
        ids = register_images(store, folder, rel)
        store.add_tag([ids[0]], "cat", description="setup")
        store.add_tag([ids[0]], "grass", description="setup")
        store.add_tag([ids[1]], "dog", description="setup")
        store.add_tag(ids[2:4], "sky", description="setup")
        store.reject_tag([ids[1]], "tree", description="setup")
        if with_model:
            model_dir = store.data_dir / "models" / "m1"
            write_manifest(model_dir, "m1", TAGS, metrics={"val_map": 0.61})
            store.add_model("m1", model_dir, tags=TAGS, metrics={"val_map": 0.61}, activate=True)
            rng = np.random.default_rng(0)
            rows = []
            for k, image_id in enumerate(ids):
                probs = rng.uniform(0.0, 1.0, size=len(TAGS)).astype(np.float32)
                probs[4] = 0.9 - 0.05 * k  # every image: 'tree' suggested, ordered
                rows.append(PredictionIn(image_id, store.image(image_id).version, "engine", probs,
                                         np.zeros(3, np.float16)))
            store.put_predictions("m1", rows)
        return {"ids": ids, "paths": rel}
    finally:
        store.close()

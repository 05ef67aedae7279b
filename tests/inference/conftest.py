"""Fixtures for the inference tests: a small BN-calibrated ResNet18 exported to ONNX,
and a collection of real image files in the modes that trip up preprocessing.

Tests may use torch (the app may not): the model is built and exported here,
once per session, at 32 px so the whole folder runs in seconds on two cores.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

torch = pytest.importorskip("torch")

from clml_contract.manifest import Manifest  # noqa: E402
from clml_desktop.collection.scan import scan_folder  # noqa: E402
from clml_desktop.collection.store import CollectionStore  # noqa: E402
from models.export import calibrate_batchnorm, export_onnx  # noqa: E402
from models.resnet import build_model  # noqa: E402

SIZE = 32
MODEL_TAGS = ["cat", "dog", "long_hair", "sky", "tree"]
THRESHOLDS = {"cat": 0.5, "dog": 0.4, "long_hair": 0.5, "sky": 0.5, "tree": 0.5}
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]


@dataclass
class ModelKit:
    dir: Path
    torch_model: torch.nn.Module
    manifest: Manifest


def write_model(
    folder: Path, model_id: str = "tiny-1", tags: list[str] | None = None, seed: int = 0
) -> ModelKit:
    """A complete model folder (model.onnx + manifest.json) from a fresh models/ ResNet18."""
    tags = list(tags or MODEL_TAGS)
    torch.manual_seed(seed)
    model = build_model("resnet18", len(tags))
    # Random weights need calibrated BatchNorm statistics, or logits reach 1e5 and a
    # 1e-4 relative comparison means nothing.
    calibrate_batchnorm(
        model, torch.rand(32, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(seed)) * 2 - 1
    )
    model.eval()
    folder.mkdir(parents=True, exist_ok=True)
    export_onnx(model, folder / "model.onnx", SIZE)
    manifest = Manifest(
        id=model_id,
        tags=tags,
        architecture="resnet18",
        input_size=SIZE,
        embedding_dim=512,
        mean=list(MEAN),
        std=list(STD),
        thresholds={t: THRESHOLDS.get(t, 0.5) for t in tags},
        files={"onnx": "model.onnx", "checkpoint": None, "oof": None},
    )
    manifest.write(folder)
    return ModelKit(dir=folder, torch_model=model, manifest=manifest)


@pytest.fixture(autouse=True)
def private_ort_cache(tmp_path, monkeypatch):
    """Optimised-model cache entries go to the test's folder, never the user's cache."""
    monkeypatch.setenv("CLML_DESKTOP_ORT_CACHE", str(tmp_path / "ort-cache"))


@pytest.fixture(scope="session")
def model_kit(tmp_path_factory) -> ModelKit:
    torch.set_num_threads(1)
    return write_model(tmp_path_factory.mktemp("model") / "tiny-1")


def _noise(w: int, h: int, seed: int) -> np.ndarray:
    """A photo-like RGB array: smooth gradients plus texture (not flat, not pure noise)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([x * 255 / w, y * 255 / h, (x + y) * 127 / (w + h)], axis=-1)
    return np.clip(base + rng.normal(0, 40, (h, w, 3)), 0, 255).astype(np.uint8)


def make_images(folder: Path) -> dict[str, Path]:
    """One file per tricky case; returns name → path."""
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise when shown
    img = Image.fromarray(_noise(60, 40, 1))
    img.save(folder / "rotated.jpg", exif=exif, quality=90)
    out["rotated.jpg"] = folder / "rotated.jpg"
    Image.fromarray(_noise(300, 200, 2)).save(folder / "large.jpg", quality=85)
    out["large.jpg"] = folder / "large.jpg"
    Image.fromarray(_noise(50, 50, 3)[..., 0]).convert("L").save(folder / "grey.png")
    out["grey.png"] = folder / "grey.png"
    rgba = np.dstack([_noise(40, 40, 4), np.tile(np.linspace(0, 255, 40, dtype=np.uint8), (40, 1))])
    Image.fromarray(rgba, mode="RGBA").save(folder / "alpha.png")
    out["alpha.png"] = folder / "alpha.png"
    Image.fromarray(_noise(45, 35, 5)).quantize(16).save(folder / "palette.png")
    out["palette.png"] = folder / "palette.png"
    wide = (np.mgrid[0:40, 0:48][1] * 1365).astype(np.uint16)
    Image.fromarray(wide).save(folder / "deep16.png")
    out["deep16.png"] = folder / "deep16.png"
    Image.fromarray(_noise(48, 48, 6)).save(folder / "plain.jpg", quality=90)
    out["plain.jpg"] = folder / "plain.jpg"
    return out


@pytest.fixture(scope="session")
def image_files(tmp_path_factory) -> dict[str, Path]:
    return make_images(tmp_path_factory.mktemp("images"))


def truncated_jpeg(path: Path) -> None:
    """A JPEG whose header reads fine but whose data stops half-way."""
    buffer = io.BytesIO()
    Image.fromarray(_noise(64, 64, 9)).save(buffer, format="JPEG", quality=95)
    data = buffer.getvalue()
    path.write_bytes(data[: len(data) // 2])


@pytest.fixture
def collection(tmp_path):
    """A scanned collection with labels: `cat` on two images, `long hair` (an alias of the
    model's `long_hair`) on one, a rejected `dog`, and `grass`, which the model lacks."""
    folder = tmp_path / "collection"
    make_images(folder)
    with CollectionStore.open(folder) as store:
        scan_folder(store)
        ids = {img.path: img.id for img in store.images()}
        store.add_tag([ids["plain.jpg"], ids["large.jpg"]], "cat")
        store.add_tag([ids["grey.png"]], "long hair")
        store.add_tag([ids["alpha.png"]], "grass")
        store.reject_tag([ids["plain.jpg"]], "dog")
    store = CollectionStore.open(folder)
    yield store
    store.close()

"""The model folder: model.onnx + manifest.json + checkpoint.pt, written so a crash leaves no half model.

The manifest is the commit marker: readers (the app, `--init MODEL_DIR`)
treat a folder without one as no model. So everything is first written and
checked in a hidden staging folder beside MODEL_DIR; a new or empty MODEL_DIR
is then replaced by the staging folder in one rename. When MODEL_DIR already
holds the trainer's work files (the last good checkpoint, oof.npz), each file
is renamed in, the manifest last.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from clml_contract.atomic import atomic_write_bytes
from clml_contract.manifest import IMAGENET_MEAN, IMAGENET_STD, MANIFEST_NAME, Manifest
from models.checkpoint import CHECKPOINT_NAME, load_checkpoint
from models.export import calibrate_batchnorm, cpu_copy, export_onnx
from models.transforms import load_batch

ONNX_NAME = "model.onnx"
OOF_NAME = "oof.npz"

__all__ = ["ArtifactError", "load_checkpoint", "save_model_dir", "synthetic_images"]


class ArtifactError(RuntimeError):
    """The model folder cannot be written where asked."""


def synthetic_images(
    count: int,
    size: int,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
    seed: int = 0,
) -> Tensor:
    """Normalised smooth random images, for a parity check when no real images are at hand."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(count, 3, max(2, size // 8), max(2, size // 8), generator=g)
    pixels = torch.nn.functional.interpolate(
        coarse, size=(size, size), mode="bilinear", align_corners=False
    )
    m = torch.tensor(list(mean)).view(1, 3, 1, 1)
    s = torch.tensor(list(std)).view(1, 3, 1, 1)
    return (pixels - m) / s


def save_model_dir(
    out_dir: Path,
    model: nn.Module,
    *,
    tags: Sequence[str],
    arch: str,
    image_size: int,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
    thresholds: Mapping[str, float] | None = None,
    calibration: Mapping[str, Any] | None = None,
    training: Mapping[str, Any] | None = None,
    metrics: Mapping[str, Any] | None = None,
    parent: str | None = None,
    has_oof: bool = False,
    model_id: str | None = None,
    verify_images: Tensor | None = None,
    calibration_images: Tensor | None = None,
    verify_paths: Sequence[Path] | None = None,
) -> Manifest:
    """Export `model` into `out_dir` (ONNX verified against torch), write checkpoint and manifest.

    `verify_images` are normalised N×3×S×S images for the ONNX parity check
    (real ones when the caller has them; smooth synthetic ones otherwise);
    `verify_paths` are image files to build them from (the first readable few).
    `calibration_images` first recompute BatchNorm statistics (random-weight
    networks only). `has_oof` says `oof.npz` is already in `out_dir`.
    Returns the manifest written. The id defaults to the folder's name.
    """
    out_dir = Path(out_dir)
    if (out_dir / MANIFEST_NAME).exists():
        raise ArtifactError(
            f"{out_dir}: already holds a model (manifest.json); choose a new folder"
        )
    if out_dir.exists() and not out_dir.is_dir():
        raise ArtifactError(f"{out_dir}: exists and is not a folder")
    if has_oof and not (out_dir / OOF_NAME).is_file():
        raise ArtifactError(f"{out_dir}: has_oof is set but {OOF_NAME} is not there")
    net = cpu_copy(model)
    if calibration_images is not None:
        calibrate_batchnorm(net, calibration_images.float().cpu())
        net.eval()
    if verify_images is None and verify_paths:
        verify_images = load_batch(verify_paths, image_size, mean, std, limit=4)
    if verify_images is None:
        verify_images = (
            calibration_images[:4]
            if calibration_images is not None
            else synthetic_images(2, image_size, mean, std)
        )
    manifest = Manifest(
        id=model_id or out_dir.name,
        tags=list(tags),
        architecture=arch,
        input_size=int(image_size),
        embedding_dim=int(net.fc.in_features),
        mean=[float(v) for v in mean],
        std=[float(v) for v in std],
        thresholds={k: float(v) for k, v in (thresholds or {}).items()},
        calibration=None if calibration is None else dict(calibration),
        training=dict(training or {}),
        metrics=dict(metrics or {}),
        parent=parent,
        files={
            "onnx": ONNX_NAME,
            "checkpoint": CHECKPOINT_NAME,
            "oof": OOF_NAME if has_oof else None,
        },
    )
    if net.fc.out_features != len(manifest.tags):
        raise ArtifactError(
            f"{out_dir}: the network has {net.fc.out_features} outputs but {len(manifest.tags)} tags were given"
        )
    manifest.validate(str(out_dir / MANIFEST_NAME))
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(
        tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".partial", dir=out_dir.parent)
    )
    try:
        parity = export_onnx(net, staging / ONNX_NAME, image_size, verify_images)
        manifest.metrics.setdefault("onnx_parity_rel_err", parity.rel_err)
        if parity.judged_by_float64:
            manifest.metrics.setdefault("onnx_parity_float32_floor", parity.float32_floor)
        atomic_write_bytes(staging / CHECKPOINT_NAME, _state_bytes(net))
        manifest.write(staging / MANIFEST_NAME)
        _publish(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest


def _publish(staging: Path, out_dir: Path) -> None:
    """Move the finished files into `out_dir`: one rename when possible, manifest last otherwise."""
    if not out_dir.exists() or not any(out_dir.iterdir()):
        os.chmod(staging, 0o755)
        os.replace(staging, out_dir)
        return
    for name in (ONNX_NAME, CHECKPOINT_NAME, MANIFEST_NAME):
        os.replace(staging / name, out_dir / name)


def _state_bytes(model: nn.Module) -> bytes:
    buf = io.BytesIO()
    torch.save({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, buf)
    return buf.getvalue()

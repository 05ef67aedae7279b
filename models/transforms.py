"""Eval preprocessing, ADR 0002's `resize: squash`, built from torchvision transforms.

Convert to RGB, resize the whole image to S×S with PIL's bilinear filter (no
crop, aspect ratio not kept, as in the authors' release), scale to [0, 1],
normalise by mean/std. The app reproduces this in numpy without torch; this
version is the reference its tests compare against.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from PIL import Image
from torchvision import transforms


class ToRGB:
    """PIL convert to RGB (a class, not a lambda, so DataLoader workers can pickle it)."""

    def __call__(self, image: Image.Image) -> Image.Image:
        return image if image.mode == "RGB" else image.convert("RGB")

    def __repr__(self) -> str:
        return "ToRGB()"


def eval_transform(size: int, mean: Sequence[float], std: Sequence[float]) -> transforms.Compose:
    """PIL image -> float32 tensor 3×S×S, exactly as the ONNX model expects its input."""
    return transforms.Compose(
        [
            ToRGB(),
            transforms.Resize(
                (int(size), int(size)), interpolation=transforms.InterpolationMode.BILINEAR
            ),
            transforms.ToTensor(),
            transforms.Normalize(list(mean), list(std)),
        ]
    )


def load_batch(
    paths: Sequence[Path], size: int, mean: Sequence[float], std: Sequence[float], limit: int = 8
) -> torch.Tensor | None:
    """Up to `limit` readable images of `paths`, preprocessed into an N×3×S×S batch (None if none read).

    Unreadable files are skipped: this feeds checks (ONNX parity), not training.
    """
    transform = eval_transform(size, mean, std)
    batch = []
    for path in paths:
        if len(batch) >= limit:
            break
        try:
            with Image.open(path) as image:
                batch.append(transform(image))
        except (OSError, ValueError, Image.DecompressionBombError):
            continue
    return torch.stack(batch) if batch else None

"""Eval preprocessing, ADR 0002's `resize: squash`, built from torchvision transforms.

Convert to RGB, resize the whole image to S×S with PIL's bilinear filter (no
crop, aspect ratio not kept, as in the authors' release), scale to [0, 1],
normalise by mean/std. The app reproduces this in numpy without torch; this
version is the reference its tests compare against.
"""

from __future__ import annotations

from collections.abc import Sequence

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

"""Train-time augmentation, following the CLML authors' recipe.

Their release resizes the whole image to S×S (squash, as the manifest's
`resize` promises), draws one cutout square of half the image side filled with
a random colour, then applies RandAugment. We do the same with torchvision's
RandAugment and finish with the model's normalisation, so training and the
eval transform (models.transforms.eval_transform) see the same scale.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from PIL import Image, ImageDraw
from torchvision import transforms


class Cutout:
    """Paint one square of `factor` × the image side at a random centre, random colour.

    Kept as a PIL transform (not torchvision's RandomErasing) because the
    authors' cutout is a fixed-size square with a solid random colour, drawn
    before RandAugment, and RandomErasing samples area and aspect instead.
    """

    def __init__(self, factor: float = 0.5, rng: random.Random | None = None) -> None:
        self.factor = factor
        self.rng = rng or random

    def __call__(self, img: Image.Image) -> Image.Image:
        w, h = img.size
        cut_w, cut_h = int(self.factor * w + 0.5), int(self.factor * h + 0.5)
        cx, cy = self.rng.randrange(w), self.rng.randrange(h)
        x1, x2 = max(0, cx - cut_w // 2), min(w, cx + cut_w // 2)
        y1, y2 = max(0, cy - cut_h // 2), min(h, cy + cut_h // 2)
        colour = tuple(self.rng.randrange(256) for _ in range(3))
        img = img.copy()
        ImageDraw.Draw(img).rectangle([x1, y1, x2, y2], fill=colour)
        return img


def train_transform(
    size: int, mean: Sequence[float], std: Sequence[float], augment: bool = True
) -> transforms.Compose:
    """Squash-resize, cutout, RandAugment, tensor, normalise (augment=False: resize only)."""
    steps: list = [transforms.Resize((size, size), interpolation=transforms.InterpolationMode.BILINEAR)]
    if augment:
        steps += [Cutout(0.5), transforms.RandAugment()]
    steps += [transforms.ToTensor(), transforms.Normalize(list(mean), list(std))]
    return transforms.Compose(steps)

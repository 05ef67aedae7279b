"""Train-time augmentation: only transforms that keep an image's tags true.

A tag that was true of the image must stay true of what the network sees, or
training teaches it that the tag is absent where it is present. So the modes
differ in what they may break:

- `none`: squash-resize only (the eval transform);
- `crop`: a mild random crop and scale that keeps at least 90% of the width
  and of the height, so a small tagged object near a border keeps part of
  itself; no colour change (colours may be tags);
- `crop-flip`: `crop` plus a horizontal flip, for collections where left and
  right mean nothing (no text, no "facing left" tags);
- `auto`: `crop-flip`, or `crop` when a tag's name says left or right
  (the CPU default, `resolve_augmentation`);
- `randaugment`: the CLML authors' COCO recipe, cutout of half the image
  side in a random colour, then RandAugment (solarize, posterize, colour,
  equalize...). It can erase small objects and change colours, so it is only
  right where tags are large objects whose colour does not matter; it stays
  the GPU recipe's default, as in the paper.

Every mode ends in the same squash-resize and normalisation as the eval
transform (models.transforms.eval_transform), so training and scoring see the
same scale. ADR 0018 has the measurements behind the CPU default.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from PIL import Image, ImageDraw
from torchvision import transforms

AUGMENTATIONS = ("none", "crop", "crop-flip", "randaugment")
AUTO = "auto"  # crop-flip, or crop when a tag names a side (resolve_augmentation)
_SIDE_WORDS = frozenset({"left", "right", "lefthand", "righthand", "leftward", "rightward"})
CROP_MIN_SIDE = 0.9  # share of the width and of the height a crop keeps at least


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


class MildCrop:
    """A random crop that keeps at least `min_side` of the image's width and of its height.

    Bounding each axis (not the area, as RandomResizedCrop does) bounds what
    can be lost at any edge: with 0.9, an object 10% of the side across that
    is not flush with the border always keeps part of itself in the crop. The
    small change of aspect (up to ±11%) and scale is the useful part.
    """

    def __init__(self, size: int, min_side: float = CROP_MIN_SIDE,
                 rng: random.Random | None = None) -> None:
        self.size = size
        self.min_side = min_side
        self.rng = rng or random

    def __call__(self, img: Image.Image) -> Image.Image:
        w, h = img.size
        cw = max(1, round(w * self.rng.uniform(self.min_side, 1.0)))
        ch = max(1, round(h * self.rng.uniform(self.min_side, 1.0)))
        x, y = self.rng.randint(0, w - cw), self.rng.randint(0, h - ch)
        return img.resize((self.size, self.size), Image.Resampling.BILINEAR, box=(x, y, x + cw, y + ch))


def names_a_side(tag: str) -> bool:
    """True when a tag's words include left or right ("facing-left", "Right hand", "left_arm")."""
    return any(word in _SIDE_WORDS for word in re.split(r"[^a-z]+", tag.lower()))


def resolve_augmentation(mode: str | bool, tags: Sequence[str]) -> tuple[str, str]:
    """(mode, why) for a run: `auto` mirrors images unless a tag says left or right.

    A mirror image is free extra data for most collections (it measured the
    largest single gain on the demo, ADR 0018), but it turns "facing left"
    into a false tag; the tag names are the only hint the trainer has, so a
    collection whose tags name a side gets the mild crop alone.
    """
    if mode != AUTO:
        name = augmentation_name(mode)
        return name, f"{name}, as asked"
    sided = [t for t in tags if names_a_side(t)]
    if sided:
        shown = ", ".join(sided[:3]) + ("…" if len(sided) > 3 else "")
        return "crop", f"crop without mirroring, because tags name a side ({shown})"
    return "crop-flip", "crop-flip (no tag names a side)"


def augmentation_name(value: str | bool) -> str:
    """A mode name from a mode or the old boolean (`True` was the authors' recipe)."""
    if isinstance(value, bool):
        return "randaugment" if value else "none"
    if value not in AUGMENTATIONS:
        raise ValueError(f"unknown augmentation {value!r}; choose one of {', '.join(AUGMENTATIONS)}")
    return value


def train_transform(
    size: int, mean: Sequence[float], std: Sequence[float], augment: str | bool = "randaugment"
) -> transforms.Compose:
    """The mode's label-preserving transforms, then squash-resize, tensor, normalise."""
    mode = augmentation_name(augment)
    square = (size, size)
    bilinear = transforms.InterpolationMode.BILINEAR
    steps: list = []
    if mode in ("crop", "crop-flip"):
        steps.append(MildCrop(size))
        if mode == "crop-flip":
            steps.append(transforms.RandomHorizontalFlip())
    else:
        steps.append(transforms.Resize(square, interpolation=bilinear))
        if mode == "randaugment":
            steps += [Cutout(0.5), transforms.RandAugment()]
    steps += [transforms.ToTensor(), transforms.Normalize(list(mean), list(std))]
    return transforms.Compose(steps)

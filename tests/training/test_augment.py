"""Augmentation modes keep tags true: small corner objects survive the crop, colours and sides stay."""

from __future__ import annotations

import random

import numpy as np
import pytest
from PIL import Image, ImageDraw

from training.augment import (
    AUGMENTATIONS,
    AUTO,
    MildCrop,
    augmentation_name,
    names_a_side,
    resolve_augmentation,
    train_transform,
)
from training.cli import AUGMENTATIONS as CLI_AUGMENTATIONS

MEAN, STD = [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]


def halves() -> Image.Image:
    """Red left half, blue right half: a flip is visible, a colour change too."""
    img = Image.new("RGB", (192, 144), (0, 0, 255))
    ImageDraw.Draw(img).rectangle([0, 0, 95, 143], fill=(255, 0, 0))
    return img


def test_the_trainer_cli_offers_exactly_the_modes_the_trainer_has():
    assert CLI_AUGMENTATIONS == (AUTO, *AUGMENTATIONS)


def test_auto_mirrors_unless_a_tag_names_a_side():
    assert resolve_augmentation("auto", ["red", "circle", "stripes"])[0] == "crop-flip"
    mode, why = resolve_augmentation("auto", ["bird", "facing-left", "facing-right"])
    assert mode == "crop" and "facing-left" in why
    assert resolve_augmentation("crop-flip", ["facing-left"])[0] == "crop-flip"  # asked is asked
    assert names_a_side("Right hand") and names_a_side("left_arm")
    assert not names_a_side("bright") and not names_a_side("leftover") and not names_a_side("copyright")


def test_a_small_object_in_a_corner_always_survives_the_crop():
    img = Image.new("RGB", (192, 144), (128, 128, 128))
    ImageDraw.Draw(img).rectangle([8, 8, 27, 27], fill=(255, 0, 0))  # ~10% of the side, in a corner
    crop = MildCrop(64, rng=random.Random(0))
    for _ in range(300):
        out = np.asarray(crop(img))
        assert out.shape == (64, 64, 3)
        assert ((out[..., 0] > 200) & (out[..., 1] < 60)).any()


@pytest.mark.parametrize("mode", ["none", "crop"])
def test_label_preserving_modes_never_mirror_or_recolour(mode):
    random.seed(0)
    tf = train_transform(32, MEAN, STD, augment=mode)
    for _ in range(50):
        x = tf(halves()).numpy()
        left, right = x[:, :, :8], x[:, :, -8:]
        assert left[0].mean() > 0.95 and left[2].mean() < 0.05
        assert right[2].mean() > 0.95 and right[0].mean() < 0.05


def test_crop_flip_mirrors_about_half_the_time():
    random.seed(0)
    import torch

    torch.manual_seed(0)
    tf = train_transform(32, MEAN, STD, augment="crop-flip")
    flipped = sum(float(tf(halves())[2, :, :8].mean()) > 0.5 for _ in range(100))
    assert 25 < flipped < 75


def test_the_old_boolean_still_means_what_it_meant():
    assert augmentation_name(True) == "randaugment"
    assert augmentation_name(False) == "none"
    with pytest.raises(ValueError, match="unknown augmentation"):
        augmentation_name("colour-jitter")

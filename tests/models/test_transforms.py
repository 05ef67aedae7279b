"""The eval transform is ADR 0002's squash: RGB, bilinear resize to S×S, [0, 1], mean/std."""

from __future__ import annotations

import numpy as np
from PIL import Image

from models.transforms import eval_transform


def test_squash_resize_matches_plain_pil_and_numpy():
    rng = np.random.default_rng(0)
    image = Image.fromarray(
        rng.integers(0, 256, size=(30, 50), dtype=np.uint8), "L"
    )  # grey, not square
    mean, std = [0.5, 0.4, 0.3], [0.2, 0.25, 0.3]
    tensor = eval_transform(16, mean, std)(image)
    pixels = (
        np.asarray(image.convert("RGB").resize((16, 16), Image.BILINEAR), dtype=np.float32) / 255.0
    )
    expected = ((pixels - np.array(mean, np.float32)) / np.array(std, np.float32)).transpose(
        2, 0, 1
    )
    assert tensor.shape == (3, 16, 16)
    np.testing.assert_allclose(tensor.numpy(), expected, atol=1e-6)

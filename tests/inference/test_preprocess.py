"""Eval preprocessing: decoding rules and bit-exact agreement with torchvision."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from torchvision import transforms

from clml_contract.preprocess import (
    ImageTooLarge,
    Normalizer,
    open_rgb,
    preprocess_file,
    squash,
)

from .conftest import MEAN, SIZE, STD


def test_exif_orientation_is_applied(image_files):
    with Image.open(image_files["rotated.jpg"]) as raw:
        assert raw.size == (60, 40)
    assert open_rgb(image_files["rotated.jpg"]).size == (40, 60)


@pytest.mark.parametrize(
    "name", ["grey.png", "alpha.png", "palette.png", "deep16.png", "plain.jpg"]
)
def test_every_mode_becomes_8bit_rgb(image_files, name):
    img = open_rgb(image_files[name])
    assert img.mode == "RGB"


def test_16bit_grey_is_scaled_not_clipped(image_files):
    pixels = np.asarray(open_rgb(image_files["deep16.png"]))[..., 0].astype(int)
    row = pixels[0]
    assert row[0] == 0 and 245 <= row[-1] <= 255
    assert np.all(np.diff(row) >= 0) and len(np.unique(row)) > 40  # a gradient, not white


def test_transparent_pixels_are_white(image_files):
    pixels = np.asarray(open_rgb(image_files["alpha.png"]))
    assert np.all(pixels[:, 0] == 255)  # alpha 0 in the first column
    assert not np.all(pixels[:, -1] == 255)


@pytest.mark.parametrize(
    "name", ["rotated.jpg", "large.jpg", "grey.png", "palette.png", "plain.jpg"]
)
def test_decoding_matches_the_trainer_for_ordinary_images(image_files, name):
    """The trainer decodes with training.dataset.load_rgb (JPEG draft at the input size);
    scores of training images (out-of-fold) and new images must see the same pixels."""
    dataset = pytest.importorskip("training.dataset")
    ours = np.asarray(open_rgb(image_files[name], size_hint=SIZE))
    theirs = np.asarray(dataset.load_rgb(image_files[name], SIZE))
    assert ours.shape == theirs.shape
    assert np.array_equal(ours, theirs)


def test_normalizer_equals_torchvision_bit_for_bit(image_files):
    img = open_rgb(image_files["large.jpg"], size_hint=SIZE)
    reference = transforms.Compose(
        [
            transforms.Resize((SIZE, SIZE), interpolation=transforms.InterpolationMode.BILINEAR),
            transforms.ToTensor(),
            transforms.Normalize(MEAN, STD),
        ]
    )(img).numpy()
    ours = Normalizer(MEAN, STD)(squash(img, SIZE))
    assert ours.dtype == np.float32 and ours.shape == (3, SIZE, SIZE)
    assert np.array_equal(ours, reference)


def test_preprocess_file_writes_into_a_batch_slot(image_files):
    normalizer = Normalizer(MEAN, STD)
    batch = np.zeros((2, 3, SIZE, SIZE), np.float32)
    pixels = squash(open_rgb(image_files["plain.jpg"], SIZE), SIZE)
    normalizer(pixels, out=batch[1])
    assert np.array_equal(batch[1], preprocess_file(image_files["plain.jpg"], SIZE, normalizer))
    assert not batch[0].any()


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_images_over_the_pixel_limit_are_refused(image_files, monkeypatch):
    monkeypatch.setattr(
        Image, "MAX_IMAGE_PIXELS", 40_000
    )  # 60,000 px: over it, under 2× (Pillow only warns)
    with pytest.raises(ImageTooLarge, match="over the limit"):
        open_rgb(image_files["large.jpg"])


def test_not_an_image_raises_a_pillow_error(tmp_path):
    bogus = tmp_path / "bogus.jpg"
    bogus.write_bytes(b"this is not a jpeg")
    with pytest.raises(OSError):
        open_rgb(bogus)

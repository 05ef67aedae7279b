"""Phone photos (HEIC/HEIF, AVIF): the scan finds them with their size from the
header, and the one decoder the engine and the trainer share reads them in the
right size and colour.

The files are written without registering any opener (pillow-heif's own
encoder for HEIC, Pillow's AVIF plugin), so these tests show that the app's
code paths register what they need themselves. A codec missing on the
platform skips its tests with the reason.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from clml_contract.preprocess import open_rgb, register_phone_formats
from tests.store.phone_photos import BOTTOM, SIZE, TOP, WRITERS, write_avif


def _assert_like_the_picture(img: Image.Image) -> None:
    assert img.mode == "RGB" and img.size == SIZE
    pixels = np.asarray(img).astype(int)
    top = pixels[: SIZE[1] // 4].reshape(-1, 3).mean(axis=0)
    bottom = pixels[-SIZE[1] // 4 :].reshape(-1, 3).mean(axis=0)
    assert np.abs(top - TOP).max() < 10, top
    assert np.abs(bottom - BOTTOM).max() < 10, bottom


@pytest.mark.parametrize("suffix", list(WRITERS))
def test_the_scan_finds_phone_photos_with_their_size(tmp_path, scanned, make_image, suffix):
    root = tmp_path / "phone"
    WRITERS[suffix](root / "sub" / f"photo{suffix}")
    make_image(root / "plain.png", (20, 10))
    store, report = scanned(root)
    sizes = {im.path: (im.width, im.height) for im in store.images()}
    assert sizes == {f"sub/photo{suffix}": SIZE, "plain.png": (20, 10)}
    assert report.problems == []


def test_a_broken_phone_photo_gets_a_problem(tmp_path, scanned):
    root = tmp_path / "phone"
    root.mkdir()
    (root / "cut.heic").write_bytes(b"\x00\x00\x00\x18ftypheic" + b"\x00" * 12)
    store, _report = scanned(root)
    (image,) = store.images()
    assert image.path == "cut.heic" and image.problem


@pytest.mark.parametrize("suffix", [".heic", ".avif"])
def test_open_rgb_decodes_phone_photos_to_size_and_colour(tmp_path, suffix):
    path = WRITERS[suffix](tmp_path / f"photo{suffix}")
    _assert_like_the_picture(open_rgb(path, size_hint=64))


def test_an_avif_with_the_generic_brand_is_read_as_avif(tmp_path):
    """pillow-heif claims the generic `mif1` brand too but cannot decode AV1:
    Pillow's AVIF plugin has to be asked first."""
    path = write_avif(tmp_path / "photo.avif")
    data = bytearray(path.read_bytes())
    assert data[4:8] == b"ftyp"
    data[8:12] = b"mif1"
    path.write_bytes(bytes(data))
    _assert_like_the_picture(open_rgb(path))


@pytest.mark.parametrize("suffix", [".heic", ".avif"])
def test_the_trainer_reads_phone_photos_like_the_engine(tmp_path, suffix):
    pytest.importorskip("torch", reason="the trainer needs torch")
    from training.dataset import find_unreadable, load_rgb

    path = WRITERS[suffix](tmp_path / f"photo{suffix}")
    assert find_unreadable([path]) == {}
    trained = np.asarray(load_rgb(path, 64))
    assert np.array_equal(trained, np.asarray(open_rgb(path, size_hint=64)))


def test_registering_twice_is_harmless():
    assert register_phone_formats() == register_phone_formats()

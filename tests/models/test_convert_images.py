"""The converter's parity check reads the same image files a collection holds: phone
photos (HEIC/HEIF, AVIF) too, from the one list in clml_contract.preprocess."""

from __future__ import annotations

import pytest
from PIL import Image

from clml_contract.preprocess import IMAGE_EXTENSIONS, register_phone_formats
from models.convert import ConvertError, images_from_folder


def test_phone_photos_count_as_images_for_the_parity_check(tmp_path):
    if "AVIF" not in register_phone_formats():
        pytest.skip("this Pillow has no AVIF codec")
    Image.new("RGB", (40, 30), (200, 40, 40)).save(tmp_path / "phone.avif")
    (tmp_path / "notes.txt").write_text("not an image", encoding="utf-8")
    batch = images_from_folder(tmp_path, 32, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25))
    assert tuple(batch.shape) == (1, 3, 32, 32)
    assert {".heic", ".heif", ".avif", ".jpg"} <= IMAGE_EXTENSIONS


def test_a_folder_without_images_is_refused_by_name(tmp_path):
    (tmp_path / "notes.txt").write_text("x", encoding="utf-8")
    with pytest.raises(ConvertError, match="no readable images"):
        images_from_folder(tmp_path, 32, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25))

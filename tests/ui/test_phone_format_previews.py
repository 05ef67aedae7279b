"""Phone photos (HEIC/HEIF, AVIF) in the GUI: Qt's image plugins cannot read
them, so the thumbnail cache and the preview loader decode them with Pillow
(the openers registered by clml_contract.preprocess). Skipped with the reason
where a codec is missing."""

from __future__ import annotations

import pytest

from clml_contract.progress import Steps
from clml_desktop.ui.preview_loader import decode_preview
from clml_desktop.ui.thumbnails import make_thumbnail
from tests.store.phone_photos import BOTTOM, SIZE, TOP, WRITERS


def _colour(image, x: int, y: int) -> tuple[int, int, int]:
    c = image.pixelColor(x, y)
    return c.red(), c.green(), c.blue()


def _close(a: tuple[int, int, int], b: tuple[int, int, int], tol: int = 16) -> bool:
    return all(abs(p - q) <= tol for p, q in zip(a, b, strict=True))


@pytest.mark.parametrize("suffix", [".heic", ".avif"])
def test_a_thumbnail_is_made_and_cached(qapp, tmp_path, suffix):
    source = WRITERS[suffix](tmp_path / f"photo{suffix}")
    target = tmp_path / "thumbs" / "ab" / "photo.jpg"
    image = make_thumbnail(source, target, 64)
    assert (image.width(), image.height()) == (64, 48)
    assert _close(_colour(image, 32, 4), TOP) and _close(_colour(image, 32, 44), BOTTOM)
    assert target.stat().st_size > 0


@pytest.mark.parametrize("suffix", [".heic", ".avif"])
def test_the_preview_loader_decodes_them(qapp, tmp_path, suffix):
    source = WRITERS[suffix](tmp_path / f"photo{suffix}")
    full = decode_preview(Steps(), str(source), 1600)
    assert (full.width(), full.height()) == SIZE
    small = decode_preview(Steps(), str(source), 80)
    assert (small.width(), small.height()) == (80, 60)
    assert _close(_colour(small, 40, 5), TOP) and _close(_colour(small, 40, 55), BOTTOM)


def test_a_broken_heic_preview_is_an_oserror(qapp, tmp_path):
    bad = tmp_path / "cut.heic"
    bad.write_bytes(b"\x00\x00\x00\x18ftypheic" + b"\x00" * 12)
    with pytest.raises(OSError, match="cut.heic"):
        decode_preview(Steps(), str(bad), 200)

"""Phone photos for tests: HEIC written with pillow-heif's own encoder and AVIF
with Pillow's plugin, so no opener gets registered by the writing; a missing
codec skips the test with the reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, features

SIZE = (160, 120)
TOP = (200, 40, 30)  # the top half's colour, the bottom half stays blue
BOTTOM = (30, 60, 190)


def _picture() -> Image.Image:
    """Two flat halves (colours to check) with a noisy band between them (detail to encode)."""
    img = Image.new("RGB", SIZE, TOP)
    img.paste(Image.new("RGB", (SIZE[0], SIZE[1] // 2), BOTTOM), (0, SIZE[1] // 2))
    band = Image.effect_noise((SIZE[0], 8), 60).convert("RGB")
    img.paste(band, (0, SIZE[1] // 2 - 4))
    return img


def write_heic(path: Path) -> Path:
    pillow_heif = pytest.importorskip("pillow_heif", reason="pillow-heif (HEIC/HEIF codec) is not installed")
    if not pillow_heif.libheif_info().get("HEIF"):
        pytest.skip("this pillow-heif build has no HEIC encoder")
    path.parent.mkdir(parents=True, exist_ok=True)
    pillow_heif.from_pillow(_picture()).save(str(path), quality=90)
    return path


def write_avif(path: Path) -> Path:
    if not features.check("avif"):
        pytest.skip("this Pillow has no AVIF codec (Pillow >= 11.2 wheels have it)")
    path.parent.mkdir(parents=True, exist_ok=True)
    _picture().save(path, format="AVIF", quality=90)
    return path


WRITERS = {".heic": write_heic, ".HEIF": write_heic, ".avif": write_avif}

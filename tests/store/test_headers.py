"""The quick header reader agrees with Pillow, and hands anything unusual to it."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from clml_desktop.collection.headers import quick_size


def _encode(fmt: str, size: tuple[int, int], **options) -> bytes:
    buf = io.BytesIO()
    mode = "P" if fmt == "GIF" else "RGB"
    Image.new(mode, size).save(buf, format=fmt, **options)
    return buf.getvalue()


def _pillow_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as im:
        return im.size


@settings(max_examples=40, deadline=None)
@given(
    fmt=st.sampled_from(["PNG", "JPEG", "GIF"]),
    width=st.integers(1, 300),
    height=st.integers(1, 300),
    progressive=st.booleans(),
    exif=st.booleans(),
)
def test_quick_size_matches_pillow(fmt, width, height, progressive, exif):
    options = {}
    if fmt == "JPEG":
        options["progressive"] = progressive
        if exif:
            tags = Image.Exif()
            tags[0x0112] = 6  # orientation: size is still the stored frame's
            tags[0x010E] = "x" * 3000  # a long APP1 segment before the frame header
            options["exif"] = tags.tobytes()
    data = _encode(fmt, (width, height), **options)
    assert quick_size(io.BytesIO(data)) == _pillow_size(data) == (width, height)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 25,  # signature, no IHDR
        b"\xff\xd8\xff",  # JPEG start, nothing else
        b"\xff\xd8\xff\xe0\x00\x10JFIF",  # cut inside a segment
        b"\xff\xd8\xff\xda\x00\x02",  # scan data before any frame header
        b"GIF89a\x00\x00\x00\x00",  # zero size
        b"BM" + b"\x00" * 40,  # BMP: left to Pillow
        b"hello, world",
    ],
)
def test_anything_unusual_is_left_to_pillow(data):
    assert quick_size(io.BytesIO(data)) is None


def test_a_png_header_with_a_bad_checksum_is_left_to_pillow():
    data = bytearray(_encode("PNG", (10, 10)))
    data[18] ^= 0xFF  # corrupt the width inside IHDR
    assert quick_size(io.BytesIO(bytes(data))) is None

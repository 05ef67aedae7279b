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


@settings(max_examples=40, deadline=None)
@given(
    fmt=st.sampled_from(["WEBP", "BMP"]),
    mode=st.sampled_from(["RGB", "RGBA", "L", "P", "1"]),
    width=st.integers(1, 300),
    height=st.integers(1, 300),
    lossless=st.booleans(),
)
def test_quick_size_matches_pillow_for_webp_and_bmp(fmt, mode, width, height, lossless):
    if fmt == "WEBP" and mode in ("P", "1"):
        mode = "RGB"  # WebP stores these as RGB anyway
    options = {"lossless": lossless} if fmt == "WEBP" else {}
    buf = io.BytesIO()
    Image.new(mode, (width, height)).save(buf, format=fmt, **options)
    data = buf.getvalue()
    assert quick_size(io.BytesIO(data)) == _pillow_size(data) == (width, height)


def test_a_top_down_bmp_reports_its_height_like_pillow():
    data = bytearray(_encode("BMP", (7, 5)))
    data[22:26] = (-5).to_bytes(4, "little", signed=True)
    assert quick_size(io.BytesIO(bytes(data))) == _pillow_size(bytes(data)) == (7, 5)


def test_a_jpeg_frame_header_far_behind_the_first_bytes_is_found():
    tags = Image.Exif()
    tags[0x010E] = "x" * 20000  # APP1 much longer than the first read
    data = _encode("JPEG", (33, 21), exif=tags.tobytes())
    assert quick_size(io.BytesIO(data)) == (33, 21)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 25,  # signature, no IHDR
        b"\xff\xd8\xff",  # JPEG start, nothing else
        b"\xff\xd8\xff\xe0\x00\x10JFIF",  # cut inside a segment
        b"\xff\xd8\xff\xda\x00\x02",  # scan data before any frame header
        b"GIF89a\x00\x00\x00\x00",  # zero size
        b"BM" + b"\x00" * 40,  # BMP cut inside its header
        b"BM" + b"\x00" * 12 + b"\x28" + b"\x00" * 60,  # BMP with zero size
        b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 20,  # WebP frame without its start code
        b"RIFF\x00\x00\x00\x00WEBPABCD" + b"\x00" * 20,  # unknown first chunk
        b"hello, world",
    ],
)
def test_anything_unusual_is_left_to_pillow(data):
    assert quick_size(io.BytesIO(data)) is None


def test_a_png_header_with_a_bad_checksum_is_left_to_pillow():
    data = bytearray(_encode("PNG", (10, 10)))
    data[18] ^= 0xFF  # corrupt the width inside IHDR
    assert quick_size(io.BytesIO(bytes(data))) is None

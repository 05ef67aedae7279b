"""Image sizes of PNG, JPEG and GIF files straight from their first bytes.

Pillow's `Image.open` costs ~130 µs a file (it sets up a whole image object
and parses every PNG chunk before the pixels); these readers take a few µs,
which is most of a cold scan of a big folder. They answer only when the
header is unambiguous and otherwise return None, and the caller falls back to
Pillow, which then also words the problem. Same semantics as Pillow's `size`
(the stored frame size, EXIF orientation not applied).
"""

from __future__ import annotations

import struct
import zlib
from typing import BinaryIO

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# JPEG start-of-frame markers carry the size (C4 DHT, C8 JPG, CC DAC are not frames).
_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
_MAX_JPEG_SEGMENTS = 256  # a real file reaches its frame header long before this


def _png(head: bytes) -> tuple[int, int] | None:
    if len(head) < 33 or head[12:16] != b"IHDR" or head[8:12] != b"\x00\x00\x00\x0d":
        return None
    if zlib.crc32(head[12:29]) != struct.unpack(">I", head[29:33])[0]:
        return None
    width, height = struct.unpack(">II", head[16:24])
    return (width, height) if width and height else None


def _gif(head: bytes) -> tuple[int, int] | None:
    if len(head) < 10:
        return None
    width, height = struct.unpack("<HH", head[6:10])
    return (width, height) if width and height else None


def _jpeg(fh: BinaryIO) -> tuple[int, int] | None:
    fh.seek(2)
    for _ in range(_MAX_JPEG_SEGMENTS):
        byte = fh.read(1)
        if byte != b"\xff":
            return None
        marker = fh.read(1)
        while marker == b"\xff":  # fill bytes
            marker = fh.read(1)
        if not marker:
            return None
        code = marker[0]
        if code == 0x01 or 0xD0 <= code <= 0xD7:
            continue  # markers without a length
        if code in (0xD9, 0xDA):
            return None  # end of image or scan data before any frame header
        raw = fh.read(2)
        if len(raw) < 2:
            return None
        length = struct.unpack(">H", raw)[0]
        if length < 2:
            return None
        if code in _SOF:
            frame = fh.read(5)
            if len(frame) < 5:
                return None
            height, width = struct.unpack(">HH", frame[1:5])
            return (width, height) if width and height else None
        fh.seek(length - 2, 1)
    return None


def quick_size(fh: BinaryIO) -> tuple[int, int] | None:
    """(width, height) of a PNG, JPEG or GIF opened in `fh`; None to ask Pillow instead."""
    head = fh.read(33)
    if head.startswith(_PNG_SIGNATURE):
        return _png(head)
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return _gif(head)
    if head[:3] == b"\xff\xd8\xff":
        return _jpeg(fh)
    return None

"""Image sizes of PNG, JPEG, GIF, WebP and BMP files straight from their first bytes.

Pillow's `Image.open` costs ~130 µs a file (it sets up a whole image object
and parses every PNG chunk before the pixels; for WebP it reads the whole
file); these readers take a few µs on one read of the file's first 4 KiB,
which is most of a cold scan of a big folder. They answer only when the
header is unambiguous and otherwise return None, and the caller falls back
to Pillow, which then also words the problem. Same semantics as Pillow's
`size` (the stored frame size, EXIF orientation not applied; a WebP's canvas;
a bottom-up or top-down BMP's absolute height). They only read fixed-size
fields and never allocate by a size they read.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from typing import BinaryIO

HEAD_BYTES = 4096  # one read: holds every header but a JPEG's behind a long EXIF block
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# JPEG start-of-frame markers carry the size (C4 DHT, C8 JPG, CC DAC are not frames).
_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
_MAX_JPEG_SEGMENTS = 256  # a real file reaches its frame header long before this
# BMP: the DIB header sizes Pillow reads, and (bits, compression) pairs it decodes as is
# (BITFIELDS, JPEG and PNG payloads go to Pillow, which checks them further).
_BMP_HEADERS = frozenset({12, 40, 52, 56, 64, 108, 124})
_BMP_RAW_BITS = frozenset({1, 4, 8, 16, 24, 32})

ReadAt = Callable[[int, int], bytes]  # (offset, count) -> bytes (fewer at the end of the file)


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


def _webp(head: bytes) -> tuple[int, int] | None:
    if len(head) < 30:
        return None
    chunk = head[12:16]
    if chunk == b"VP8 ":
        if head[20] & 1 or head[23:26] != b"\x9d\x01\x2a":
            return None  # not a key frame, or no start code
        width, height = struct.unpack("<HH", head[26:30])
        width, height = width & 0x3FFF, height & 0x3FFF
    elif chunk == b"VP8L":
        if head[20] != 0x2F:
            return None
        bits = struct.unpack("<I", head[21:25])[0]
        if bits >> 29:
            return None  # unknown version
        width, height = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    elif chunk == b"VP8X":
        width = 1 + int.from_bytes(head[24:27], "little")
        height = 1 + int.from_bytes(head[27:30], "little")
    else:
        return None
    return (width, height) if width and height else None


def _bmp(head: bytes) -> tuple[int, int] | None:
    if len(head) < 54:
        return None
    dib = struct.unpack("<I", head[14:18])[0]
    if dib not in _BMP_HEADERS:
        return None
    if dib == 12:
        width, height, _planes, bits = struct.unpack("<HHHH", head[18:26])
        compression = colors = 0
    else:
        width, height, _planes, bits, compression = struct.unpack("<iiHHI", head[18:34])
        colors = struct.unpack("<I", head[46:50])[0]
    height = abs(height)
    raw = compression == 0 and bits in _BMP_RAW_BITS
    rle = (compression, bits) in ((1, 8), (2, 4))
    if not (raw or rle) or width <= 0 or height <= 0 or width * height > 2**31:
        return None
    if bits <= 8 and colors > (1 << bits):
        return None
    return width, height


def _jpeg(head: bytes, read_at: ReadAt | None) -> tuple[int, int] | None:
    """Walk the marker segments to the first frame header, reading past `head` only if needed.

    Indexes the bytes in hand directly (this runs once per JPEG of a cold
    scan); a segment that starts near the end of them refills the window
    from `read_at`. Anything cut short or odd returns None.
    """
    data, base = head, 0
    pos = 2
    try:
        for _ in range(_MAX_JPEG_SEGMENTS):
            if pos - base + 16 > len(data) and read_at is not None:
                data, base = read_at(pos, HEAD_BYTES), pos
            i = pos - base
            if data[i] != 0xFF:
                return None
            i += 1
            while data[i] == 0xFF:  # fill bytes
                i += 1
            code = data[i]
            i += 1
            if code == 0x01 or 0xD0 <= code <= 0xD7:
                pos = base + i
                continue  # markers without a length
            if code in (0xD9, 0xDA):
                return None  # end of image or scan data before any frame header
            length = data[i] << 8 | data[i + 1]
            if length < 2:
                return None
            if code in _SOF:
                height = data[i + 3] << 8 | data[i + 4]
                width = data[i + 5] << 8 | data[i + 6]
                return (width, height) if width and height else None
            pos = base + i + length
    except IndexError:
        return None
    return None


def size_from_head(head: bytes, read_at: ReadAt | None = None) -> tuple[int, int] | None:
    """(width, height) from a file's first bytes (`HEAD_BYTES` of them); None to ask Pillow.

    `read_at(offset, count)` lets the JPEG reader go past `head` when a long
    EXIF or ICC segment comes before the frame header.
    """
    if head.startswith(_PNG_SIGNATURE):
        return _png(head)
    if head[:3] == b"\xff\xd8\xff":
        return _jpeg(head, read_at)
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return _gif(head)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return _webp(head)
    if head[:2] == b"BM":
        return _bmp(head)
    return None


def quick_size(fh: BinaryIO) -> tuple[int, int] | None:
    """(width, height) of a PNG, JPEG, GIF, WebP or BMP opened in `fh`; None to ask Pillow instead."""

    def read_at(offset: int, count: int) -> bytes:
        fh.seek(offset)
        return fh.read(count)

    return size_from_head(fh.read(HEAD_BYTES), read_at)

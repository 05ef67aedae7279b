"""Image sizes from file headers, never decoding pixels, with a clear reason when
a file cannot be used.

PNG, JPEG, GIF, WebP and BMP sizes come from `headers.size_from_head` on one
`os.read` of the file's first bytes (a few µs a file, and no Python file
object); anything else, or any header it is unsure of, goes to Pillow's
`Image.open`, which reads only the header. Restricting Pillow to the formats a collection
holds keeps odd files (EPS, PDF, ...) from ever reaching a plugin that
shells out. HEIC/HEIF and AVIF (phone photos) are in that list once
`clml_contract.preprocess.register_phone_formats` found their codecs; their
`Image.open` reads the container's boxes, not the pixels. An image over
Pillow's decompression-bomb limit is recorded with its size and a problem
instead of being decoded later by accident.
"""

from __future__ import annotations

import os
from pathlib import Path

from PIL import (
    BmpImagePlugin,  # noqa: F401  (registering the plugins we allow up front spares
    GifImagePlugin,  # noqa: F401   Image.open a 0.3 s import of every other plugin)
    Image,
    JpegImagePlugin,  # noqa: F401
    PngImagePlugin,  # noqa: F401
    TiffImagePlugin,  # noqa: F401
    UnidentifiedImageError,
    WebPImagePlugin,  # noqa: F401
)

from clml_contract.preprocess import IMAGE_EXTENSIONS, PHONE_EXTENSIONS, register_phone_formats
from clml_desktop.collection.headers import HEAD_BYTES, size_from_head
from clml_desktop.collection.rows import ImageInfo

PIL_FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "GIF", "TIFF", "DIB")
_pil_formats: tuple[str, ...] | None = None


def pil_formats() -> tuple[str, ...]:
    """The Pillow formats the scan opens: PIL_FORMATS plus the phone formats installed.

    AVIF before HEIF: pillow-heif also claims AVIF's generic `mif1` brand but
    (from 1.0 on) cannot decode AV1, while Pillow's AVIF plugin turns away HEIC.
    """
    global _pil_formats
    if _pil_formats is None:
        phone = register_phone_formats()
        _pil_formats = PIL_FORMATS + tuple(f for f in ("AVIF", "HEIF") if f in phone)
    return _pil_formats


def is_image_name(name: str) -> bool:
    """Whether a file name has one of the collection's image extensions (any case)."""
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def pixel_limit() -> int | None:
    """Pixels above which Pillow refuses to decode (twice MAX_IMAGE_PIXELS), None if unlimited."""
    limit = Image.MAX_IMAGE_PIXELS
    return None if limit is None else 2 * int(limit)


def _header_size_unchecked(path: Path | str) -> tuple[int, int] | None:
    """Read the size of an image Pillow refused as too large, still without decoding."""
    with open(path, "rb") as fp:
        prefix = fp.read(16)
        for fmt in pil_formats():
            entry = Image.OPEN.get(fmt)
            if entry is None:
                continue
            factory, accept = entry
            if accept is not None and not accept(prefix):
                continue
            fp.seek(0)
            try:
                return tuple(factory(fp, str(path)).size)
            except (OSError, SyntaxError, ValueError, IndexError, TypeError):
                continue
    return None


def _over_limit(path: Path | str, exc: Exception) -> tuple[int | None, int | None, str]:
    limit = pixel_limit() or 0
    size = _header_size_unchecked(path)
    if size is None:
        return None, None, f"image is over Pillow's {limit / 1e6:.0f} MP limit ({exc}); not decoded"
    w, h = size
    return (
        w,
        h,
        (
            f"image is {w}×{h} ({w * h / 1e6:.0f} MP), over Pillow's {limit / 1e6:.0f} MP limit;"
            " not decoded"
        ),
    )


def read_image_info(full_path: Path | str, relpath: str, size: int, mtime_ns: int) -> ImageInfo:
    """Size and problem of one image file; FileNotFoundError only if it vanished.

    Every other failure (0-byte file, non-image with an image extension,
    truncated header, permission denied, huge image) becomes `problem` text,
    so one bad file never stops a scan.
    """
    if size == 0:
        return ImageInfo(relpath, size, mtime_ns, None, None, "empty file (0 bytes)")
    width = height = None
    problem = None
    try:
        fd = os.open(full_path, os.O_RDONLY)
        try:
            quick = size_from_head(
                os.read(fd, HEAD_BYTES), lambda offset, count: os.pread(fd, count, offset)
            )
        finally:
            os.close(fd)
        if quick is None:
            with Image.open(full_path, formats=pil_formats()) as im:
                quick = im.size
        width, height = quick
        limit = pixel_limit()
        if limit is not None and width * height > limit:
            problem = (
                f"image is {width}×{height} ({width * height / 1e6:.0f} MP), over Pillow's"
                f" {limit / 1e6:.0f} MP limit; not decoded"
            )
    except FileNotFoundError:
        raise
    except Image.DecompressionBombError as exc:
        width, height, problem = _over_limit(full_path, exc)
    except UnidentifiedImageError:
        problem = _unidentified(full_path)
    except PermissionError as exc:
        problem = f"cannot open the file: {exc.strerror or exc}"
    except (OSError, SyntaxError, ValueError, IndexError, TypeError, EOFError) as exc:
        problem = f"cannot read the image header: {exc}"
    return ImageInfo(relpath, size, mtime_ns, width, height, problem)


def _unidentified(full_path: Path | str) -> str:
    ext = os.path.splitext(str(full_path))[1].lower()
    if ext in PHONE_EXTENSIONS:
        name = "AVIF" if ext == ".avif" else "HEIC/HEIF"
        codec = "Pillow 11.2 or later" if ext == ".avif" else "pillow-heif"
        if ("AVIF" if ext == ".avif" else "HEIF") not in pil_formats():
            return f"{name} image, but its codec is not installed ({codec} reads it)"
    return (
        "not an image Pillow can read"
        " (JPEG, PNG, WebP, BMP, GIF, TIFF, HEIC/HEIF or AVIF header expected)"
    )

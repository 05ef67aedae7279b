"""Eval preprocessing in numpy and Pillow, identical to training's eval transform.

ADR 0002 defines the rule ("squash"): orientation from EXIF, convert to RGB,
resize the whole image to S×S with PIL's bilinear filter, scale to [0, 1],
normalise by the manifest's mean and std. torchvision's
`Resize((S, S)) → ToTensor() → Normalize(mean, std)` on a PIL image does the
same operations in the same float32 order, so the two agree to the last bit
and the app needs no torch.

`open_rgb` is the single place that turns a file into RGB pixels. It decodes
JPEGs with Pillow's `draft` at the smallest DCT scale that still covers S×S,
as the trainer does (training.dataset.load_rgb with `size_hint`), so scores of
training images (out-of-fold, computed by the trainer) and of new images
(computed here) see the same pixels — and decoding a 1024×768 JPEG for a
224-px model costs a quarter as much. It also handles images that plain
`convert("RGB")` gets wrong: 16-bit greys (Pillow clips them to white instead
of scaling) and transparent images (composited on white rather than on
whatever colour hides under alpha 0). See ADR 0009.

Phone formats: `register_phone_formats` teaches Pillow HEIC/HEIF (through
pillow-heif) and AVIF (Pillow's own plugin, built into its wheels since 11.2).
It runs once, lazily, on the first `open_rgb`; the scan and the thumbnails call
it too, so the app, the engine and the trainer all read the same formats.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

_WIDE_MODES = {"I;16", "I;16L", "I;16B", "I;16N", "I"}


_formats_lock = threading.Lock()
# The image files a collection holds, for the app's scan and the trainer's tools alike.
# Phone formats are listed even where their codec is missing: the scan then shows such
# a file with a problem that says so, rather than silently leaving it out.
PHONE_EXTENSIONS = frozenset({".heic", ".heif", ".hif", ".avif"})
IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"} | PHONE_EXTENSIONS
)
_phone_formats: tuple[str, ...] | None = None


def register_phone_formats() -> tuple[str, ...]:
    """Let Pillow open HEIC/HEIF and AVIF where the codecs are installed.

    Returns the Pillow format names that now open ("AVIF", "HEIF"; fewer when
    a codec is missing). Idempotent and thread-safe; the first call costs
    ~20 ms of imports, later ones a lookup.
    """
    global _phone_formats
    if _phone_formats is not None:
        return _phone_formats
    with _formats_lock:
        if _phone_formats is None:
            found: list[str] = []
            try:
                from PIL import AvifImagePlugin  # Pillow >= 11.2

                if AvifImagePlugin.SUPPORTED:
                    found.append("AVIF")
            except ImportError:
                pass
            try:
                import pillow_heif
            except ImportError:
                pillow_heif = None
            if pillow_heif is not None:
                pillow_heif.register_heif_opener()
                found.append("HEIF")
                if "AVIF" not in found and hasattr(pillow_heif, "register_avif_opener"):
                    pillow_heif.register_avif_opener()  # pillow-heif < 1.0 on an older Pillow
                    found.append("AVIF")
            _phone_formats = tuple(found)
    return _phone_formats


class ImageTooLarge(ValueError):
    """An image with more pixels than Pillow's limit: reported, never decoded."""


def open_rgb(path: str | Path, size_hint: int | None = None) -> Image.Image:
    """Decode `path` to an upright 8-bit RGB image.

    `size_hint` (the network's input size) lets the JPEG decoder skip detail
    the resize throws away. Raises OSError/ValueError (Pillow's own, e.g.
    `UnidentifiedImageError`, `DecompressionBombError`) for files that are
    not images or are truncated, and ImageTooLarge above Pillow's pixel limit
    (where Pillow itself only warns); callers report them per file. Thread-safe
    (no `warnings.catch_warnings`, which is not).
    """
    register_phone_formats()
    with Image.open(path) as img:
        limit = Image.MAX_IMAGE_PIXELS
        if limit and img.width * img.height > limit:
            raise ImageTooLarge(
                f"{img.width}×{img.height} pixels is over the limit of {limit:,} (a decompression bomb?)"
            )
        if size_hint:
            img.draft("RGB", (size_hint, size_hint))
        img = ImageOps.exif_transpose(img)
        return to_rgb(img)


def to_rgb(img: Image.Image) -> Image.Image:
    """Any Pillow mode to 8-bit RGB: wide greys scaled, alpha composited on white."""
    if img.mode in _WIDE_MODES:
        wide = np.asarray(img, dtype=np.float64)
        top = 65535.0 if img.mode.startswith("I;16") or wide.max(initial=0) > 255 else 255.0
        grey = np.clip(np.rint(wide * (255.0 / top)), 0, 255).astype(np.uint8)
        return Image.fromarray(grey, mode="L").convert("RGB")
    if img.mode == "F":
        grey = np.clip(np.rint(np.asarray(img, dtype=np.float64) * 255.0), 0, 255)
        return Image.fromarray(grey.astype(np.uint8), mode="L").convert("RGB")
    has_alpha = img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        img.mode == "P" and "transparency" in img.info
    )
    if has_alpha:
        rgba = img.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        canvas.alpha_composite(rgba)
        return canvas.convert("RGB")
    if img.mode == "RGB":
        img.load()
        return img
    return img.convert("RGB")


def squash(img: Image.Image, size: int) -> np.ndarray:
    """Resize the whole RGB image to size×size (bilinear) as an H×W×3 uint8 array."""
    if img.size != (size, size):
        img = img.resize((size, size), resample=Image.Resampling.BILINEAR)
    return np.asarray(img, dtype=np.uint8)


class Normalizer:
    """uint8 H×W×3 pixels → float32 3×H×W network input, in torchvision's operation order."""

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        self.mean = np.asarray(mean, dtype=np.float32).reshape(3, 1, 1)
        self.std = np.asarray(std, dtype=np.float32).reshape(3, 1, 1)

    def __call__(self, pixels: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Write into `out` (a 3×H×W float32 slot of a batch) when given, to save a copy."""
        chw = np.ascontiguousarray(pixels.transpose(2, 0, 1))
        if out is None:
            out = np.empty(chw.shape, dtype=np.float32)
        np.divide(chw, np.float32(255.0), out=out, dtype=np.float32)
        np.subtract(out, self.mean, out=out)
        np.divide(out, self.std, out=out)
        return out


def preprocess_file(path: str | Path, size: int, normalizer: Normalizer) -> np.ndarray:
    """One file → one 3×S×S float32 network input (the whole eval rule)."""
    return normalizer(squash(open_rgb(path, size_hint=size), size))

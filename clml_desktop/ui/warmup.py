"""Import at startup what background jobs would otherwise import on their threads (ADR 0014).

Why: importing a module runs its code and, when no up-to-date .pyc can be
loaded (the first run after an install, a read-only install, or
PYTHONDONTWRITEBYTECODE), compiles its source first. Both hold the GIL in
stretches of up to tens of milliseconds for the big modules. The open, scan
and index jobs and the thumbnail decoder imported theirs lazily, so this
landed exactly when a person opened a folder: about 35 modules, 465 KB of
source, and GUI-thread stalls past 100 ms on the benchmark's 2-core machine.
At startup nothing is on screen to freeze yet.

`tests/ui/test_grid_startup.py` opens a folder in a fresh process and fails
if any module is still first imported after the window exists.
"""

from __future__ import annotations

import importlib

BACKGROUND_MODULES = (
    "sqlite3",
    "decimal",
    "fractions",
    "encodings.utf_8_sig",
    "_strptime",  # datetime.strptime: reading the store backups' names on open (ADR 0021)
    "clml_desktop.collection.store",
    "clml_desktop.collection.scan",
    "clml_desktop.collection.walk",
    "clml_desktop.collection.headers",
    "clml_desktop.collection.importing",
    "clml_desktop.collection.label_import",
    "clml_desktop.collection.label_plan",
    "clml_desktop.collection.label_reads",
    "clml_desktop.workflow.label_index",
    "PIL.Image",
    "PIL.ImageOps",
    "PIL.ImageChops",
    "PIL.ImageSequence",
    "PIL.BmpImagePlugin",
    "PIL.GifImagePlugin",
    "PIL.JpegImagePlugin",
    "PIL.PngImagePlugin",
    "PIL.TiffImagePlugin",
    "PIL.WebPImagePlugin",
)


def import_background_modules() -> None:
    """Import `BACKGROUND_MODULES` now, on the calling (GUI, at startup) thread."""
    for name in BACKGROUND_MODULES:
        importlib.import_module(name)
    from PIL import Image

    Image.preinit()  # Pillow's registry of the common formats, else filled on the first open
    from clml_contract.preprocess import register_phone_formats

    register_phone_formats()  # HEIC/AVIF codecs, else loaded by the first scan or thumbnail

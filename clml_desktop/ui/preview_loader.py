"""Large previews decoded off the GUI thread, newest request first.

Why this shape: when a person holds the arrow key or reviews hundreds of
suggestions a minute, every key press asks for a new full-size preview.
Decoding each one in order would leave the preview seconds behind, so only
the *latest* request is kept (older ones that have not started are dropped),
at most two decodes run at once, and the images a person is about to see next
are decoded ahead (preloads) into a small LRU cache of QImages.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict, deque
from pathlib import Path

from PIL import Image, ImageOps
from PySide6.QtCore import QObject, QSize, Qt, QThreadPool, Signal
from PySide6.QtGui import QImage, QImageReader

from clml_contract.preprocess import register_phone_formats, to_rgb
from clml_desktop.jobs.worker import JobControl, Worker

MAX_EDGE = 1600
MAX_RUNNING = 2


def decode_preview(control: JobControl, path: str, max_edge: int) -> QImage:
    """Decode `path` scaled to fit `max_edge` (JPEG decodes at reduced size), EXIF-rotated.

    HEIC/HEIF and AVIF, which Qt's plugins do not read, go to Pillow. Raises
    OSError with the reader's message for unreadable or corrupt files.
    """
    if Path(path).suffix.lower() in PILLOW_ONLY:
        return _pillow_preview(control, path, max_edge)
    reader = QImageReader(path)
    reader.setAutoTransform(True)
    size = reader.size()
    if size.isValid() and max(size.width(), size.height()) > max_edge:
        reader.setScaledSize(size.scaled(QSize(max_edge, max_edge), Qt.AspectRatioMode.KeepAspectRatio))
    control.check()
    image = reader.read()
    if image.isNull():
        raise OSError(f"{Path(path).name}: {reader.errorString()}")
    return image


PILLOW_ONLY = frozenset({".heic", ".heif", ".hif", ".avif"})


def _pillow_preview(control: JobControl, path: str, max_edge: int) -> QImage:
    register_phone_formats()
    try:
        with Image.open(path) as img:
            control.check()
            img = ImageOps.exif_transpose(img)
            img.thumbnail((max_edge, max_edge), Image.Resampling.BILINEAR, reducing_gap=2.0)
            rgb = to_rgb(img)
    except (OSError, ValueError, SyntaxError, RuntimeError) as exc:  # Pillow's and libheif's own
        raise OSError(f"{Path(path).name}: {exc}") from exc
    data = rgb.tobytes("raw", "RGB")
    return QImage(data, rgb.width, rgb.height, rgb.width * 3, QImage.Format.Format_RGB888).copy()


class PreviewLoader(QObject):
    """Decodes previews on a thread pool; `imageReady(path, image)` for the current one.

    `request(path)` returns the image at once when cached (None otherwise, and
    the image follows through `imageReady`, unless a newer request came first);
    `preload(paths)` fills the cache for what comes next. `failed(path, message)`
    reports an unreadable current image.
    """

    imageReady = Signal(str, QImage)
    failed = Signal(str, str)

    def __init__(
        self,
        pool: QThreadPool | None = None,
        *,
        cache_items: int = 32,
        max_edge: int = MAX_EDGE,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._pool = pool or QThreadPool.globalInstance()
        self._cache: OrderedDict[str, QImage] = OrderedDict()
        self._cache_items = cache_items
        self._max_edge = max_edge
        self._current: str | None = None
        self._preloads: deque[str] = deque()
        self._running: dict[str, Worker] = {}
        self._errors: dict[str, str] = {}

    @property
    def current(self) -> str | None:
        return self._current

    def cached(self, path: str) -> QImage | None:
        image = self._cache.get(path)
        if image is not None:
            self._cache.move_to_end(path)
        return image

    def request(self, path: str | None) -> QImage | None:
        """Make `path` the image wanted now; returns it when already decoded."""
        self._current = path
        if path is None:
            return None
        image = self.cached(path)
        if image is not None:
            return image
        if path in self._errors:
            self.failed.emit(path, self._errors[path])
            return None
        self._pump()
        return None

    def preload(self, paths: list[str]) -> None:
        """Decode these next (replacing earlier preloads), nearest first."""
        self._preloads = deque(
            p for p in paths if p not in self._cache and p not in self._errors
        )
        self._pump()

    def clear(self) -> None:
        """Forget cached images (a new collection, or files changed on disk)."""
        self._cache.clear()
        self._errors.clear()
        self._preloads.clear()

    def shutdown(self, timeout_s: float = 5.0) -> None:
        """Cancel queued work and wait for running decodes (window close, tests)."""
        self._preloads.clear()
        self._current = None
        for worker in list(self._running.values()):
            worker.cancel()
        for worker in list(self._running.values()):
            worker.wait(timeout_s)

    def is_idle(self) -> bool:
        return not self._running

    def _pump(self) -> None:
        while len(self._running) < MAX_RUNNING:
            path = self._next_path()
            if path is None:
                return
            self._start(path)

    def _next_path(self) -> str | None:
        cur = self._current
        if cur is not None and cur not in self._cache and cur not in self._running and cur not in self._errors:
            return cur
        while self._preloads:
            path = self._preloads.popleft()
            if path not in self._cache and path not in self._running and path not in self._errors:
                return path
        return None

    def _start(self, path: str) -> None:
        worker = Worker(decode_preview, path, self._max_edge, name="preview")
        worker.signals.result.connect(lambda image, p=path: self._on_result(p, image))
        worker.signals.error.connect(lambda message, p=path: self._on_error(p, message))
        worker.signals.finished.connect(lambda p=path: self._on_finished(p))
        self._running[path] = worker
        self._pool.start(worker, 1 if path == self._current else 0)

    def _on_result(self, path: str, image: QImage) -> None:
        self._cache[path] = image
        self._cache.move_to_end(path)
        while len(self._cache) > self._cache_items:
            self._cache.popitem(last=False)
        if path == self._current:
            self.imageReady.emit(path, image)

    def _on_error(self, path: str, message: str) -> None:
        self._errors[path] = message.split(": ", 1)[-1]
        if path == self._current:
            self.failed.emit(path, self._errors[path])

    def _on_finished(self, path: str) -> None:
        self._running.pop(path, None)
        self._pump()


_SHARED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def shared_loader(context) -> PreviewLoader:
    """The one preview loader of a context: the inspector and review mode show the
    same image, so they share decodes and the cache instead of decoding it twice."""
    loader = _SHARED.get(context)
    if loader is None:
        loader = PreviewLoader(context.pool, cache_items=32, parent=context)
        _SHARED[context] = loader
    return loader

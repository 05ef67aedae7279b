"""Grid thumbnails: decoded off the GUI thread, cached in memory and on disk.

Why this shape (DESIGN.md, lessons from digiKam/taggui): decoding on the GUI
thread and holding every thumbnail in memory are what make big folders hang.
Here the GUI asks `get()`; a miss queues the image and returns None at once.
A few quiet pool workers drain the queue newest-first (what is on screen now
wins over what scrolled past), decode with Qt's reader (JPEG scaled while
decoding, EXIF orientation; Pillow for what Qt cannot read, HEIC/HEIF and AVIF
among them), scale to the cell size, write a small JPEG under
`<data_dir>/thumbs/` keyed by path + content version + size, and hand back a
QImage (QImage, unlike QPixmap, may be made off the GUI thread). Memory holds
a bounded LRU.

The GUI thread's share is kept to one short slot per batch (ADR 0014):
finished thumbnails are collected in a list and announced at most every
`COLLECT_MS` with one `thumbnailsChanged(ids)` signal, not one queued signal
per image; and the grid calls `keep_only()` with what it shows, so requests
for cells that scrolled away are dropped instead of being decoded.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict, deque
from collections.abc import Iterable
from pathlib import Path

from PIL import Image, ImageOps
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QImageReader, QPainter

from clml_contract.preprocess import register_phone_formats
from clml_desktop.jobs.tracker import JobTracker
from clml_desktop.jobs.worker import JobControl, Worker

MEMORY_BUDGET_BYTES = 96 * 1024 * 1024
QUEUE_LIMIT = 512
COLLECT_MS = 25  # finished thumbnails reach the grid in batches at most this often
DISK_BUDGET_BYTES = 512 * 1024 * 1024


def cache_key(relpath: str, version: int, size: int) -> str:
    """Stable file name of a cached thumbnail (a new version means a new file)."""
    digest = hashlib.sha1(f"{relpath}\0{version}\0{size}".encode()).hexdigest()
    return f"{digest[:2]}/{digest}.jpg"


def make_thumbnail(source: Path, target: Path, size: int) -> QImage:
    """Decode `source` to at most size×size, store it as JPEG at `target`, return it.

    Qt's reader first (EXIF orientation, JPEG scaled while decoding): its
    work runs in C++ without the GIL, where Pillow's header, EXIF and
    plugin code is Python that the GUI thread must take turns with
    (ADR 0014). Pillow decodes what Qt cannot. Raises on unreadable images
    (the caller marks them); the cache file is written via a temp name and
    rename, so a crash never leaves half a file.
    """
    image = None if _qt_cannot_read(source) else _qt_decode(source, size)
    if image is None:
        image = _pillow_decode(source, size)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{threading.get_ident()}.tmp")
    if not image.save(str(tmp), "JPG", 85):
        raise OSError(f"cannot write the thumbnail {tmp}")
    os.replace(tmp, target)
    return image


# Formats Qt's bundled image plugins do not read: straight to Pillow, without
# Qt probing every plugin first.
QT_UNREADABLE = frozenset({".heic", ".heif", ".hif", ".avif"})


def _qt_cannot_read(source: Path) -> bool:
    return os.path.splitext(str(source))[1].lower() in QT_UNREADABLE


def _qt_decode(source: Path, size: int) -> QImage | None:
    """RGB888, at most size×size, transparency over grey; None when Qt cannot read it."""
    reader = QImageReader(str(source))
    if bytes(reader.format().data()) == b"jpeg" and not _ends_like_jpeg(source):
        return None  # Qt would show a truncated JPEG half grey and say nothing; Pillow raises
    reader.setAutoTransform(True)
    full = reader.size()
    if full.isValid() and (full.width() > size or full.height() > size):
        reader.setScaledSize(full.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()
    if image.isNull():
        return None
    if max(image.width(), image.height()) > size:  # rotated, or no size known up front
        image = image.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
    if image.hasAlphaChannel():
        flat = QImage(image.size(), QImage.Format.Format_RGB888)
        flat.fill(QColor(128, 128, 128))
        painter = QPainter(flat)
        painter.drawImage(0, 0, image)
        painter.end()
        return flat
    return image.convertToFormat(QImage.Format.Format_RGB888)


def _ends_like_jpeg(source: Path, tail: int = 4096) -> bool:
    """Whether the file's last `tail` bytes hold an end-of-image marker (FF D9).

    Qt's JPEG reader returns a cut-off file as a complete image with a grey
    rest and only logs a warning, so a half-copied photo would look fine in
    the grid. Files with more than `tail` bytes of trailer after the marker
    go to Pillow too: slower, never wrong.
    """
    try:
        with open(source, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - tail))
            return b"\xff\xd9" in f.read()
    except OSError:
        return False


def _pillow_decode(source: Path, size: int) -> QImage:
    register_phone_formats()
    with Image.open(source) as img:
        img.draft("RGB", (size * 2, size * 2))
        img = ImageOps.exif_transpose(img)
        img.thumbnail((size, size), Image.Resampling.BILINEAR, reducing_gap=2.0)
        if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
            background = Image.new("RGB", img.size, (128, 128, 128))
            rgba = img.convert("RGBA")
            background.paste(rgba, mask=rgba.getchannel("A"))
            img = background
        else:
            img = img.convert("RGB")
        data = img.tobytes("raw", "RGB")
        return QImage(data, img.width, img.height, img.width * 3, QImage.Format.Format_RGB888).copy()


def prune_disk_cache(folder: Path, max_bytes: int = DISK_BUDGET_BYTES) -> int:
    """Delete the least recently written thumbnails beyond `max_bytes`; returns files removed."""
    if not folder.is_dir():
        return 0
    files = []
    total = 0
    for path in folder.rglob("*.jpg"):
        try:
            st = path.stat()
        except OSError:
            continue
        files.append((st.st_mtime, st.st_size, path))
        total += st.st_size
    removed = 0
    for _mtime, size, path in sorted(files):
        if total <= max_bytes:
            break
        path.unlink(missing_ok=True)
        total -= size
        removed += 1
    return removed


class _Signals(QObject):
    results = Signal()  # the result list went from empty to non-empty


class ThumbnailCache(QObject):
    """Thumbnails for one collection at one size. See the module docstring.

    Signals: `thumbnailsChanged(ids)` when `get()` would now hit for those
    images, or they turned out unreadable (`failure()` says why); `idle` when
    nothing is queued or decoding any more.
    """

    thumbnailsChanged = Signal(list)
    idle = Signal()

    def __init__(
        self,
        jobs: JobTracker,
        root: Path,
        cache_dir: Path,
        size: int = 160,
        workers: int = 2,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._jobs = jobs
        self._root = Path(root)
        self._dir = Path(cache_dir)
        self._size = int(size)
        self._max_workers = max(1, workers)
        self._memory: OrderedDict[int, QImage] = OrderedDict()
        self._bytes = 0
        self._failed: dict[int, str] = {}
        self._lock = threading.Lock()
        # Guarded by _lock: waiting requests, ids waiting or decoding, finished results.
        self._queue: deque[tuple[int, str, int]] = deque()
        self._queued: set[int] = set()
        self._running: set[int] = set()
        self._results: list[tuple[int, QImage | None, str]] = []
        self._active: list[Worker] = []
        self._signals = _Signals()
        self._signals.results.connect(self._on_results)
        self._collect_timer = QTimer(self)
        self._collect_timer.setSingleShot(True)
        self._collect_timer.setInterval(COLLECT_MS)
        self._collect_timer.timeout.connect(self._collect)
        self._closed = False
        self._pump_scheduled = False

    @property
    def size(self) -> int:
        return self._size

    @property
    def cache_dir(self) -> Path:
        return self._dir

    def get(self, image_id: int, relpath: str, version: int = 0) -> QImage | None:
        """The thumbnail if in memory; otherwise queue a decode and return None."""
        image = self._memory.get(image_id)
        if image is not None:
            self._memory.move_to_end(image_id)
            return image
        if image_id in self._failed or self._closed:
            return None
        with self._lock:
            if image_id in self._queued or image_id in self._running:
                return None
            self._queued.add(image_id)
            self._queue.append((image_id, relpath, int(version)))
            while len(self._queue) > QUEUE_LIMIT:
                old_id, _p, _v = self._queue.popleft()
                self._queued.discard(old_id)
        if not self._pump_scheduled:
            # One pump per event-loop pass: a page of misses starts workers once, not per cell.
            self._pump_scheduled = True
            QTimer.singleShot(0, self._pump)
        return None

    def keep_only(self, image_ids: Iterable[int]) -> int:
        """Drop waiting requests for images not in `image_ids`; returns how many.

        The grid calls this with the cells it shows after a scroll, so a
        fast scroll through thousands of images decodes only where it stops.
        Decodes already running finish (and land in memory).
        """
        keep = set(image_ids)
        with self._lock:
            if not self._queue:
                return 0
            kept = deque(item for item in self._queue if item[0] in keep)
            dropped = len(self._queue) - len(kept)
            if dropped:
                self._queue = kept
                self._queued = {item[0] for item in kept}
        if dropped and self.pending() == 0:
            self.idle.emit()
        return dropped

    def failure(self, image_id: int) -> str | None:
        return self._failed.get(image_id)

    def pending(self) -> int:
        """Decodes queued or running (0 means everything asked for is shown)."""
        with self._lock:
            return len(self._queued) + len(self._running)

    def forget(self, image_id: int) -> None:
        """Drop an image from memory (its file changed); the next get re-decodes."""
        image = self._memory.pop(image_id, None)
        if image is not None:
            self._bytes -= image.sizeInBytes()
        self._failed.pop(image_id, None)

    def close(self) -> None:
        """Stop decoding; queued requests are dropped, running ones end soon."""
        self._closed = True
        self._collect_timer.stop()
        with self._lock:
            self._queue.clear()
            self._queued.clear()
            self._running.clear()
            self._results.clear()
        for worker in self._active:
            worker.cancel()

    def _pump(self) -> None:
        self._pump_scheduled = False
        self._active = [w for w in self._active if not w.is_done]
        while len(self._active) < self._max_workers and self._queue and not self._closed:
            worker = Worker(self._drain, name="Thumbnails")
            worker.signals.finished.connect(self._pump)
            self._active.append(worker)
            self._jobs.start(worker, quiet=True)

    def _drain(self, control: JobControl) -> None:
        while not control.cancelled:
            with self._lock:
                if not self._queue:
                    return
                image_id, relpath, version = self._queue.pop()
                self._queued.discard(image_id)
                self._running.add(image_id)
            target = self._dir / cache_key(relpath, version, self._size)
            result: tuple[int, QImage | None, str]
            try:
                image = QImage(str(target)) if target.exists() else QImage()
                if image.isNull():
                    image = make_thumbnail(self._root / relpath, target, self._size)
            except Exception as exc:
                result = (image_id, None, f"{relpath}: {exc}")
            else:
                result = (image_id, image, "")
            with self._lock:
                first = not self._results
                self._results.append(result)
            if first:
                self._signals.results.emit()

    def _on_results(self) -> None:
        if not self._collect_timer.isActive():
            self._collect_timer.start()

    def _collect(self) -> None:
        """Take every finished thumbnail into memory and announce them with one signal."""
        with self._lock:
            results, self._results = self._results, []
            for image_id, _image, _message in results:
                self._running.discard(image_id)
            empty = not self._queued and not self._running
        if self._closed or not results:
            return
        for image_id, image, message in results:
            if image is None:
                self._failed[image_id] = message
                continue
            old = self._memory.pop(image_id, None)
            if old is not None:
                self._bytes -= old.sizeInBytes()
            self._memory[image_id] = image
            self._bytes += image.sizeInBytes()
        while self._bytes > MEMORY_BUDGET_BYTES and len(self._memory) > 1:
            _old_id, old_image = self._memory.popitem(last=False)
            self._bytes -= old_image.sizeInBytes()
        self.thumbnailsChanged.emit([image_id for image_id, _i, _m in results])
        if empty:
            self.idle.emit()

"""The thumbnail cache: decodes off the GUI thread, announces finished
thumbnails in batches, drops requests for cells that scrolled away, and
reports unreadable images."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QThreadPool

from clml_desktop.jobs.tracker import JobTracker
from clml_desktop.ui.thumbnails import ThumbnailCache


@pytest.fixture
def images(tmp_path: Path) -> list[str]:
    for i in range(8):
        Image.new("RGB", (64 + i, 48), (30 * i, 90, 160)).save(tmp_path / f"img_{i}.jpg")
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
    whole = tmp_path / "whole.jpg"
    Image.effect_noise((320, 240), 60).convert("RGB").save(whole, quality=90)
    (tmp_path / "truncated.jpg").write_bytes(whole.read_bytes()[: whole.stat().st_size // 3])
    return [f"img_{i}.jpg" for i in range(8)] + ["broken.jpg", "truncated.jpg"]


@pytest.fixture
def cache(qtbot, tmp_path: Path):
    pool = QThreadPool()
    pool.setMaxThreadCount(2)
    jobs = JobTracker(pool)
    made = ThumbnailCache(jobs, tmp_path, tmp_path / "thumbs", size=32, workers=1)
    yield made
    made.close()
    jobs.shutdown()
    pool.waitForDone(10000)


def _announced(qtbot, cache: ThumbnailCache) -> list[list[int]]:
    batches: list[list[int]] = []
    cache.thumbnailsChanged.connect(lambda ids: batches.append(list(ids)))
    return batches


def test_decodes_finished_while_the_gui_is_busy_arrive_as_one_batch(qtbot, cache, images):
    batches = _announced(qtbot, cache)
    for image_id, rel in enumerate(images[:8]):
        assert cache.get(image_id, rel) is None  # a miss queues a decode
    qtbot.wait(1)  # one event-loop pass starts the worker
    deadline = time.monotonic() + 20
    while len(cache._results) < 8 and time.monotonic() < deadline:
        time.sleep(0.01)  # the GUI thread is "busy": no events processed
    qtbot.waitUntil(lambda: cache.pending() == 0, timeout=20000)
    assert len(batches) == 1, "results that piled up are announced with one signal"
    assert sorted(batches[0]) == list(range(8))
    for image_id, rel in enumerate(images[:8]):
        image = cache.get(image_id, rel)
        assert image is not None and max(image.width(), image.height()) <= 32


def test_requests_for_cells_no_longer_shown_are_dropped(qtbot, cache, images):
    batches = _announced(qtbot, cache)
    for image_id, rel in enumerate(images[:8]):
        cache.get(image_id, rel)
    assert cache.pending() == 8
    assert cache.keep_only([6, 7]) == 6
    assert cache.pending() == 2
    qtbot.waitUntil(lambda: cache.pending() == 0, timeout=20000)
    assert sorted(sum(batches, [])) == [6, 7]
    assert cache.get(0, images[0]) is None, "a dropped request is asked again when shown again"
    qtbot.waitUntil(lambda: cache.get(0, images[0]) is not None, timeout=20000)


def test_a_truncated_jpeg_is_reported_not_shown_half_grey(qtbot, cache, images):
    """Qt's reader alone returns a cut-off JPEG as an image; the user must see a problem."""
    cache.get(98, "truncated.jpg")
    qtbot.waitUntil(lambda: cache.failure(98) is not None, timeout=20000)
    assert "truncated" in (cache.failure(98) or "")
    assert cache.get(98, "truncated.jpg") is None


def test_unreadable_images_are_reported_not_retried(qtbot, cache, images):
    batches = _announced(qtbot, cache)
    cache.get(99, "broken.jpg")
    qtbot.waitUntil(lambda: cache.failure(99) is not None, timeout=20000)
    assert batches == [[99]]
    assert "broken.jpg" in (cache.failure(99) or "")
    assert cache.get(99, "broken.jpg") is None and cache.pending() == 0


def test_thumbnails_follow_exif_orientation_and_flatten_transparency(tmp_path):
    from clml_desktop.ui.thumbnails import make_thumbnail

    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, shown rotated 90° (a phone held upright)
    Image.new("RGB", (80, 40), (200, 30, 30)).save(tmp_path / "rotated.jpg", exif=exif)
    rotated = make_thumbnail(tmp_path / "rotated.jpg", tmp_path / "t" / "r.jpg", 32)
    assert (rotated.width(), rotated.height()) == (16, 32)

    Image.new("RGBA", (20, 20), (255, 0, 0, 0)).save(tmp_path / "clear.png")
    clear = make_thumbnail(tmp_path / "clear.png", tmp_path / "t" / "c.jpg", 32)
    assert clear.pixelColor(10, 10).getRgb()[:3] == (128, 128, 128)
    assert (tmp_path / "t" / "c.jpg").is_file()


def test_pillow_decodes_what_qt_cannot(tmp_path, monkeypatch):
    from clml_desktop.ui import thumbnails

    Image.new("RGB", (64, 48), (10, 200, 10)).save(tmp_path / "a.jpg")
    monkeypatch.setattr(thumbnails, "_qt_decode", lambda _source, _size: None)
    image = thumbnails.make_thumbnail(tmp_path / "a.jpg", tmp_path / "t" / "a.jpg", 32)
    assert (image.width(), image.height()) == (32, 24)

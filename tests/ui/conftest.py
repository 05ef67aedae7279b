"""Shared GUI fixtures: generated collections with sidecars (good and broken),
throw-away settings, and a main window whose background work is waited for
in teardown (the suite's leak guard fails a test that leaves workers)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QSettings

from clml_desktop.ui.context import AppContext
from clml_desktop.ui.main_window import MainWindow
from clml_desktop.ui.settings import Settings

COLOURS = [(200, 60, 60), (60, 160, 80), (60, 90, 200), (210, 180, 40), (150, 80, 170)]


def tags_for(i: int) -> list[str]:
    """The sidecar tags of image i: a fixed pattern, every fifth image untagged."""
    if i % 5 == 4:
        return []
    tags = []
    if i % 2 == 0:
        tags.append("dog")
    if i % 3 == 0:
        tags.append("cat")
    if i % 4 == 0:
        tags.append("long hair")
    if not tags:
        tags.append("grass")
    return tags


def write_collection(folder: Path, n: int = 12, *, broken: bool = False) -> dict[str, list[str]]:
    """`n` small images with `.txt` sidecars; returns relpath -> sidecar tags.

    With `broken`, adds a corrupt JPEG, a zero-byte PNG, and a sidecar that
    is not UTF-8 (Latin-1) next to a readable image.
    """
    folder.mkdir(parents=True, exist_ok=True)
    expected: dict[str, list[str]] = {}
    for i in range(n):
        name = f"img_{i:03d}.jpg" if i % 2 == 0 else f"img_{i:03d}.png"
        img = Image.new("RGB", (40 + 4 * (i % 3), 32), COLOURS[i % len(COLOURS)])
        img.save(folder / name)
        tags = tags_for(i)
        if tags:
            (folder / name).with_suffix(".txt").write_text(", ".join(tags), encoding="utf-8")
        expected[name] = tags
    if broken:
        (folder / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
        (folder / "empty.png").write_bytes(b"")
        Image.new("RGB", (40, 32), (10, 10, 10)).save(folder / "latin1.png")
        (folder / "latin1.txt").write_bytes("café, crème".encode("latin-1"))
    return expected


@pytest.fixture
def gui_settings(tmp_path: Path) -> Settings:
    """Settings in a temp INI file, never the user's."""
    return Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))


@pytest.fixture
def collection(tmp_path: Path) -> tuple[Path, dict[str, list[str]]]:
    folder = tmp_path / "photos"
    return folder, write_collection(folder, 12)


@pytest.fixture
def broken_collection(tmp_path: Path) -> tuple[Path, dict[str, list[str]]]:
    folder = tmp_path / "broken"
    return folder, write_collection(folder, 6, broken=True)


@pytest.fixture
def window(qtbot, gui_settings: Settings):
    """A shown main window; teardown closes it and waits for every worker."""
    context = AppContext(gui_settings)
    win = MainWindow(context)
    qtbot.addWidget(win)
    win.resize(1100, 700)
    win.show()
    yield win
    win.close()
    context.shutdown()
    context.pool.waitForDone(10000)
    qtbot.wait(10)


def open_and_wait(qtbot, win: MainWindow, folder: Path, images: int | None = None) -> None:
    """Open `folder` and wait for the scan, the label index and visible thumbnails."""
    with qtbot.waitSignal(win.scanFinished, timeout=30000):
        assert win.open_folder(folder)
    qtbot.waitUntil(lambda: not win.is_busy(), timeout=30000)
    if images is not None:
        # Generous: on a loaded machine the index job may wait for the scan's
        # last write transaction (every store open takes a write lock briefly).
        context = win.context
        qtbot.waitUntil(lambda: len(context.index) == images, timeout=30000)


@pytest.fixture
def opened(qtbot, window: MainWindow, collection):
    """(window, folder, expected tags) with the 12-image collection open."""
    folder, expected = collection
    open_and_wait(qtbot, window, folder, len(expected))
    return window, folder, expected

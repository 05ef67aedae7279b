"""Fixtures for store and scan tests: tiny real images, a scanned collection,
and a platformdirs data dir inside the test's tmp folder (never the real one)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from clml_desktop.collection.scan import scan_folder
from clml_desktop.collection.store import CollectionStore


@pytest.fixture(autouse=True)
def private_user_data(tmp_path_factory, monkeypatch):
    """Point platformdirs' user data dir at a temp folder so fallbacks stay in the test."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg-data")))


def write_image(path: Path, size: tuple[int, int] = (32, 24), fmt: str | None = None) -> Path:
    """A small real image file (format from the extension unless `fmt` is given)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (200, 30, 30)).save(path, format=fmt)
    return path


@pytest.fixture
def make_image():
    return write_image


@pytest.fixture
def collection(tmp_path) -> Path:
    """A folder of 12 small PNGs (img00.png ... img11.png)."""
    root = tmp_path / "photos"
    for i in range(12):
        write_image(root / f"img{i:02}.png", (16 + i, 16))
    return root


@pytest.fixture
def store(collection):
    """The scanned store of `collection`, closed after the test."""
    s = CollectionStore.open(collection)
    scan_folder(s)
    yield s
    s.close()


@pytest.fixture
def ids(store) -> list[int]:
    """Image ids of `store` in path order."""
    return [im.id for im in store.images()]


@pytest.fixture
def scanned():
    """`scanned(root)` opens root's store and scans it: (store, report); stores close after."""
    opened = []

    def run(root: Path):
        store = CollectionStore.open(root)
        opened.append(store)
        return store, scan_folder(store)

    yield run
    for store in opened:
        store.close()

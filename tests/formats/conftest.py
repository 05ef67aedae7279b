"""Fixtures for the tag-file tests: tiny real images in a temp collection, and
a private platformdirs data dir (never the real one)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(autouse=True)
def private_user_data(tmp_path_factory, monkeypatch):
    """Keep any store fallback inside the test's temp folder."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg-data")))


def write_image(path: Path, size: tuple[int, int] = (16, 12)) -> Path:
    """A small real image (format from the extension)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (30, 120, 200)).save(path)
    return path


@pytest.fixture
def make_image():
    return write_image


@pytest.fixture
def folder(tmp_path) -> Path:
    """A collection folder with three images, one in a subfolder."""
    root = tmp_path / "photos"
    for rel in ("a.jpg", "b.png", "sub/c.jpg"):
        write_image(root / rel)
    return root

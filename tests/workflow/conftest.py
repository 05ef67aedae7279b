"""A small collection store for the Qt-free workflow: six images registered
without files (edits never read pixels) and a private user data dir."""

from __future__ import annotations

import pytest

from clml_desktop.collection.rows import ImageInfo
from clml_desktop.collection.store import CollectionStore


@pytest.fixture(autouse=True)
def private_user_data(tmp_path_factory, monkeypatch):
    """Point platformdirs' user data dir at a temp folder so fallbacks stay in the test."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg-data")))


@pytest.fixture
def store(tmp_path):
    """An open store of six images, a.png ... f.png; closed after the test."""
    root = tmp_path / "photos"
    root.mkdir()
    with CollectionStore.open(root) as opened:
        opened.upsert_images(ImageInfo(f"{name}.png", 100, 1) for name in "abcdef")
        yield opened


@pytest.fixture
def ids(store) -> list[int]:
    """Image ids of `store` in path order."""
    return [row.id for row in store.images()]

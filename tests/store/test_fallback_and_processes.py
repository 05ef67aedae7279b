"""A read-only collection folder falls back to the user data dir (and says so);
two processes writing the same collection both get all their edits in."""

from __future__ import annotations

import errno
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from clml_desktop.app import main
from clml_desktop.collection import location
from clml_desktop.collection.store import CollectionStore, StoreError

ROOT = Path(__file__).resolve().parents[2]


def test_unwritable_clml_falls_back_and_says_so(collection):
    # Tests run as root, so chmod cannot make a folder unwritable; a file named
    # .clml makes creating the folder fail just as a read-only folder would.
    (collection / ".clml").write_text("in the way")
    with CollectionStore.open(collection) as store:
        assert store.fallback_reason is not None
        assert str(collection / ".clml") in store.fallback_reason
        assert store.data_dir == location.fallback_dir(collection)
        assert not str(store.data_dir).startswith(str(collection))
        store.ensure_tag("kept")
    assert CollectionStore.exists(collection)
    with CollectionStore.open(collection) as store:
        assert [t.name for t in store.tags()] == ["kept"]


def test_permission_denied_falls_back_and_copies_existing_labels(collection, monkeypatch):
    first = CollectionStore.open(collection)  # kept open: its last edit is still in the WAL
    first.ensure_tag("from before")
    assert (collection / ".clml" / "collection.sqlite-wal").stat().st_size > 0
    real = location._writable_dir

    def read_only(folder: Path) -> None:
        if folder == collection.resolve() / ".clml":
            raise PermissionError(13, "Permission denied", str(folder))
        real(folder)

    monkeypatch.setattr(location, "_writable_dir", read_only)
    with CollectionStore.open(collection) as store:
        assert "Permission denied" in store.fallback_reason
        assert "copied" in store.fallback_reason
        assert [t.name for t in store.tags()] == ["from before"]
    first.close()


def test_no_writable_place_at_all_is_a_clear_error(collection, monkeypatch):
    def nowhere(folder: Path) -> None:
        raise PermissionError(13, "Permission denied", str(folder))

    monkeypatch.setattr(location, "_writable_dir", nowhere)
    with pytest.raises(StoreError, match="not writable"):
        CollectionStore.open(collection)


WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from clml_desktop.collection.store import CollectionStore
    folder, tag = Path(sys.argv[1]), sys.argv[2]
    with CollectionStore.open(folder) as store:
        ids = [im.id for im in store.images()]
        for round_ in range(15):
            for i in ids:
                store.add_tag(i, f"{tag}{round_}")
    """
)


def test_two_processes_editing_at_once_lose_nothing(store, collection):
    n_images = store.image_count()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(collection), tag],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in ("p", "q")
    ]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    counts = {t.name: t.positives for t in store.tag_counts()}
    assert len(counts) == 30
    assert set(counts.values()) == {n_images}


def test_a_writer_that_never_lets_go_gives_a_clear_error(store, ids):
    other = sqlite3.connect(store.db_path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        store._conn.execute("PRAGMA busy_timeout = 50")
        with pytest.raises(StoreError, match=r"collection\.sqlite.*locked"):
            store.add_tag(ids[0], "cat")
        other.execute("ROLLBACK")
        assert store.add_tag(ids[0], "cat") is not None
    finally:
        other.close()


FIRST_OPEN = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from clml_desktop.collection.store import CollectionStore
    with CollectionStore.open(Path(sys.argv[1])) as store:
        store.ensure_tag(sys.argv[2])
    """
)


def test_processes_creating_the_same_new_collection_at_once(tmp_path):
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", FIRST_OPEN, str(tmp_path), f"tag{i}"],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    with CollectionStore.open(tmp_path) as store:
        assert sorted(t.name for t in store.tags()) == ["tag0", "tag1"]


def _fail_probe_in(monkeypatch, folder: Path, err: int) -> None:
    """Make the write probe of `folder` fail with `err` (others behave as usual)."""
    real = location._writable_dir

    def failing(target: Path) -> None:
        if target == folder:
            raise OSError(err, os.strerror(err), str(target))
        real(target)

    monkeypatch.setattr(location, "_writable_dir", failing)


@pytest.mark.parametrize("err", [errno.ENOSPC, errno.EDQUOT, errno.EIO])
def test_full_disk_opens_the_existing_store_read_only(store, ids, collection, monkeypatch, err, capsys):
    store.add_tag(ids[:2], "cat")
    store.close()
    _fail_probe_in(monkeypatch, collection.resolve() / ".clml", err)
    with CollectionStore.open(collection) as reopened:
        assert reopened.db_path == collection.resolve() / ".clml" / "collection.sqlite"
        assert reopened.fallback_reason is None
        assert str(collection.resolve()) in reopened.read_only_reason
        assert [t.name for t in reopened.tags()] == ["cat"]
        with pytest.raises(StoreError, match="disk full" if err != errno.EIO else os.strerror(err)):
            reopened.add_tag(ids[3], "dog")
    assert not location.fallback_dir(collection).exists()
    assert main(["stats", str(collection), "--json"]) == 0
    out, err_text = capsys.readouterr()
    assert json.loads(out)["tags"] == [{"name": "cat", "positives": 2, "negatives": 0}]
    assert not location.fallback_dir(collection).exists()


def test_full_disk_refuses_an_in_place_export(store, ids, collection, monkeypatch, capsys):
    store.add_tag(ids[:2], "cat")
    store.close()
    _fail_probe_in(monkeypatch, collection.resolve() / ".clml", errno.ENOSPC)
    assert main(["export", str(collection), "--format", "txt", "--in-place"]) != 0
    out, err = capsys.readouterr()
    assert "disk full" in err
    assert "exported" not in out
    assert not (collection / "img00.txt").exists()
    assert not location.fallback_dir(collection).exists()


def test_full_disk_without_a_store_is_a_clear_error(collection, monkeypatch):
    _fail_probe_in(monkeypatch, collection.resolve() / ".clml", errno.ENOSPC)
    with pytest.raises(StoreError, match="disk full"):
        CollectionStore.open(collection)
    assert not location.fallback_dir(collection).exists()


def test_read_only_folder_without_a_store_still_falls_back(collection, monkeypatch):
    _fail_probe_in(monkeypatch, collection.resolve() / ".clml", errno.EROFS)
    with CollectionStore.open(collection) as store:
        assert store.data_dir == location.fallback_dir(collection)
        assert store.read_only_reason is None
        store.ensure_tag("kept")

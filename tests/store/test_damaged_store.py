"""Issue 13, "a damaged store has no way back" (ADR 0021): store backups, a damaged
store detected on open with a readable message, the repair (from a backup or
rebuilt from tag files, the damaged file kept aside) and `clml-desktop repair`."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from clml_desktop.app import main
from clml_desktop.collection import store_backup
from clml_desktop.collection.store import CollectionStore, DamagedStoreError, StoreError
from clml_desktop.workflow import repair as repairing
from clml_desktop.workflow.opening import rescan


def tag_files(folder: Path) -> None:
    """Sidecars for the 12-image `collection`: even images "cat", every third "dog"."""
    for i in range(12):
        tags = [t for t, on in (("cat", i % 2 == 0), ("dog", i % 3 == 0)) if on]
        if tags:
            (folder / f"img{i:02}.txt").write_text(", ".join(tags), encoding="utf-8")


def truncate_half(db: Path) -> None:
    size = db.stat().st_size
    assert size > 0 and not db.with_name(db.name + "-wal").exists()  # closed: checkpointed
    os.truncate(db, size // 2)


def labels(folder: Path) -> dict[tuple[str, str], str]:
    """(image path, tag) -> "positive"/"negative" for every label in the store of `folder`."""
    with CollectionStore.open(folder) as store:
        out = {}
        for path, got in store.image_labels().items():
            out.update({(path, t): "positive" for t in got.positives})
            out.update({(path, t): "negative" for t in got.negatives})
        return out


@pytest.fixture
def labelled(collection: Path) -> Path:
    """The collection opened (tag files imported), a rejection and a manual tag added,
    then opened again, which takes its first backup; closed."""
    tag_files(collection)
    with CollectionStore.open(collection) as store:
        rescan(store)
        ids = {im.path: im.id for im in store.images()}
        store.reject_tag(ids["img01.png"], "cat")  # in no tag file
        store.add_tag(ids["img05.png"], "bird")
    with CollectionStore.open(collection) as store:
        pass
    assert len(store_backup.backups(collection / ".clml")) == 1
    return collection


# ---- detection -----------------------------------------------------------------


def test_a_truncated_store_raises_a_readable_damaged_store_error(labelled):
    db = labelled / ".clml" / "collection.sqlite"
    truncate_half(db)
    with pytest.raises(DamagedStoreError) as caught:
        CollectionStore.open(labelled)
    error = caught.value
    assert isinstance(error, StoreError)
    assert error.root == labelled.resolve() and error.db_path == db.resolve()
    text = str(error)
    assert "damaged" in text and "cut short" in text and "malformed" not in text
    assert "backup" in text and "tag files" in text


def test_a_store_whose_header_was_overwritten_is_not_a_database(labelled):
    db = labelled / ".clml" / "collection.sqlite"
    with open(db, "r+b") as fh:
        fh.write(b"\0" * 4096)
    with pytest.raises(DamagedStoreError, match="not a database"):
        CollectionStore.open(labelled)


def test_garbled_pages_are_caught_by_the_backup_check_on_open(labelled, monkeypatch):
    """Garbage in the middle keeps the header right; the backup's quick_check finds it."""
    db = labelled / ".clml" / "collection.sqlite"
    page = 4096
    with open(db, "r+b") as fh:
        fh.seek(2 * page)
        fh.write(os.urandom(db.stat().st_size - 3 * page))
    monkeypatch.setattr(store_backup, "INTERVAL_S", 0)
    os.utime(db)  # changed since the last backup
    with pytest.raises(DamagedStoreError):
        CollectionStore.open(labelled)
    assert len(store_backup.backups(labelled / ".clml")) == 1  # the good one was not pushed out


# ---- backups ---------------------------------------------------------------------


def test_backups_are_consistent_copies_and_only_keep_generations_stay(labelled, monkeypatch):
    data = labelled / ".clml"
    for _ in range(store_backup.KEEP + 2):
        store_backup.write_backup(data / "collection.sqlite", data)
    kept = store_backup.backups(data)
    assert len(kept) == store_backup.KEEP
    assert not list((data / "backup").glob("*.partial"))
    conn = sqlite3.connect(kept[0].path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # one self-contained file
    assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    assert conn.execute("SELECT COUNT(*) FROM images").fetchone()[0] == 12
    conn.close()


def test_open_backs_up_only_when_due_and_changed(labelled, monkeypatch):
    data = labelled / ".clml"
    with CollectionStore.open(labelled):
        pass
    assert len(store_backup.backups(data)) == 1  # the last one is recent
    monkeypatch.setattr(store_backup, "INTERVAL_S", 0)
    with CollectionStore.open(labelled):
        pass
    assert len(store_backup.backups(data)) == 1  # due, but nothing changed since
    with CollectionStore.open(labelled) as store:
        store.add_tag(store.images()[0].id, "new")
    with CollectionStore.open(labelled):
        pass
    assert len(store_backup.backups(data)) == 2


def test_a_large_edit_is_backed_up_in_the_background(collection, monkeypatch):
    monkeypatch.setattr(store_backup, "LARGE_EDIT_ROWS", 10)
    with CollectionStore.open(collection) as store:
        rescan(store)
        assert store_backup.backups(store.data_dir) == []  # a new store: nothing to keep yet
        store.add_tag([im.id for im in store.images()], "many")
        assert store.backup_thread is not None
        store.backup_thread.join(30)
        (made,) = store_backup.backups(store.data_dir)
    conn = sqlite3.connect(made.path)
    assert conn.execute("SELECT COUNT(*) FROM labels").fetchone()[0] == 12
    conn.close()


def test_a_backup_that_cannot_be_written_never_stops_the_open(labelled, monkeypatch):
    monkeypatch.setattr(store_backup, "INTERVAL_S", 0)
    shutil_target = labelled / ".clml" / "backup"
    for old in shutil_target.iterdir():
        old.unlink()
    shutil_target.rmdir()
    shutil_target.write_text("a file in the way")
    with CollectionStore.open(labelled) as store:
        assert store.image_count() == 12


# ---- repair ------------------------------------------------------------------------


def test_repair_from_backup_restores_labels_and_keeps_the_damaged_file(labelled):
    before = labels(labelled)
    assert before[("img01.png", "cat")] == "negative" and before[("img05.png", "bird")] == "positive"
    db = labelled / ".clml" / "collection.sqlite"
    damaged_bytes = (truncate_half(db), db.read_bytes())[1]

    report = repairing.repair(None, labelled)

    assert report.method == repairing.FROM_BACKUP and report.complete
    assert labels(labelled) == before  # the rejection and the manual tag are back
    assert report.aside is not None and report.aside.parent == labelled.resolve() / ".clml"
    assert (report.aside / "collection.sqlite").read_bytes() == damaged_bytes
    assert "lost" in " ".join(report.lines())


def test_rebuild_restores_the_tag_file_labels_and_says_what_is_lost(labelled):
    truncate_half(labelled / ".clml" / "collection.sqlite")
    report = repairing.repair(None, labelled, method=repairing.REBUILD)
    assert report.method == repairing.REBUILD
    got = labels(labelled)
    expected = {(f"img{i:02}.png", t): "positive" for i in range(12)
                for t, on in (("cat", i % 2 == 0), ("dog", i % 3 == 0)) if on}
    assert got == expected  # the tag files' labels; the rejection and "bird" were lost
    text = " ".join(report.lines())
    assert "rejected" in text and "undo history" in text
    assert (report.aside / "collection.sqlite").is_file()


def test_a_damaged_backup_is_skipped_for_an_older_good_one(labelled, monkeypatch):
    data = labelled / ".clml"
    newest = store_backup.write_backup(data / "collection.sqlite", data)
    truncate_half(newest.path)
    truncate_half(data / "collection.sqlite")
    report = repairing.repair(None, labelled, method=repairing.FROM_BACKUP)
    assert report.backup is not None and report.backup.path != newest.path
    assert [b.path for b, _ in report.skipped] == [newest.path]


def test_repair_leaves_a_sound_store_alone(labelled):
    report = repairing.repair(None, labelled)
    assert report.method is None and report.aside is None
    assert not list((labelled / ".clml").glob("damaged-*"))


# ---- the command line ------------------------------------------------------------------


def test_commands_on_a_damaged_store_point_at_repair(labelled, capsys):
    truncate_half(labelled / ".clml" / "collection.sqlite")
    assert main(["stats", str(labelled)]) == 1
    err = capsys.readouterr().err
    assert "damaged" in err and f"clml-desktop repair {labelled.resolve()}" in err
    assert main(["scan", str(labelled)]) == 1
    assert "clml-desktop repair" in capsys.readouterr().err


def test_repair_command_exit_codes(labelled, tmp_path, capsys):
    folder = str(labelled)
    assert main(["repair", str(tmp_path / "nowhere")]) == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["repair", str(empty)]) == 2  # no collection there
    assert main(["repair", folder]) == 0  # not damaged: nothing changed
    assert "not damaged" in capsys.readouterr().out

    data = labelled / ".clml"
    truncate_half(data / "collection.sqlite")
    assert main(["repair", folder, "--list"]) == 0
    out = capsys.readouterr().out
    assert "damaged: the file is cut short" in out and "  ok  " in out

    for backup in store_backup.backups(data):
        truncate_half(backup.path)
    assert main(["repair", folder, "--from-backup"]) == 1  # no usable backup: nothing done
    assert "no backup" in capsys.readouterr().err
    assert not list(data.glob("damaged-*"))  # refused before anything moved

    assert main(["repair", folder, "--rebuild"]) == 0
    out = capsys.readouterr().out
    assert "Rebuilt" in out and "damaged-" in out
    assert main(["stats", folder]) == 0
    with pytest.raises(SystemExit) as usage:
        main(["repair", folder, "--rebuild", "--from-backup"])
    assert usage.value.code == 2


def test_the_raw_header_check_never_runs_while_this_process_has_the_store_open(
    collection, monkeypatch
):
    """On POSIX, closing any descriptor of a file drops every lock this process holds on
    it, so reading the header with open()/close() while a connection of ours is open
    lets other writers corrupt the store (seen as "disk I/O error" and "file is not a
    database" while training from the window). Only the first open of a process reads
    the file raw; later opens, and opens during a backup, trust SQLite."""
    from clml_desktop.collection import store_health

    reads = []
    real = store_health.file_problem
    monkeypatch.setattr(store_health, "file_problem", lambda p: reads.append(p) or real(p))
    first = CollectionStore.open(collection)
    assert len(reads) == 1
    second = CollectionStore.open(collection)
    third = CollectionStore.open(collection)
    assert len(reads) == 1
    for store in (first, second, third):
        store.close()
    with CollectionStore.open(collection):
        assert len(reads) == 2  # nobody of ours had it open: the cheap check runs again

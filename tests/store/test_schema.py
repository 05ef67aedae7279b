"""The database file: pragmas, schema version, migrations that are all-or-nothing."""

from __future__ import annotations

import sqlite3

import pytest

from clml_desktop.collection import schema
from clml_desktop.collection.store import CollectionStore, StoreError


def test_new_store_has_wal_foreign_keys_and_current_version(collection):
    with CollectionStore.open(collection) as store:
        assert store.db_path == collection.resolve() / ".clml" / "collection.sqlite"
        assert store.fallback_reason is None
        conn = store._conn
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000
        assert schema.stored_version(conn) == schema.SCHEMA_VERSION
    assert CollectionStore.exists(collection)


def test_reopen_keeps_data(collection):
    with CollectionStore.open(collection) as store:
        store.ensure_tag("dog")
    with CollectionStore.open(collection) as store:
        assert [t.name for t in store.tags()] == ["dog"]


def test_newer_schema_is_refused_with_the_file_named(collection):
    with CollectionStore.open(collection) as store:
        store._conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match=r"collection\.sqlite.*newer"):
        CollectionStore.open(collection)


def test_not_a_database_is_refused_with_the_file_named(collection):
    (collection / ".clml").mkdir()
    (collection / ".clml" / "collection.sqlite").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="collection.sqlite"):
        CollectionStore.open(collection)


def test_a_version_1_file_is_upgraded_keeping_its_data(collection):
    (collection / ".clml").mkdir()
    conn = sqlite3.connect(collection / ".clml" / "collection.sqlite", isolation_level=None)
    try:
        schema.migrate(conn, target=1)
        conn.execute("INSERT INTO images(path, size, mtime_ns) VALUES ('img00.png', 1, 1)")
        conn.execute("INSERT INTO tags(name, key) VALUES ('Old Tag', 'old tag')")
    finally:
        conn.close()
    with CollectionStore.open(collection) as store:
        assert schema.stored_version(store._conn) == schema.SCHEMA_VERSION
        image = store.image_by_path("img00.png")
        assert image.tag_file_problem is None
        store.set_tag_file_problem(image.id, "tag file img00.txt: not UTF-8")
        assert store.image(image.id).tag_file_problem.endswith("not UTF-8")
        assert [t.name for t in store.tags()] == ["Old Tag"]


def test_migration_runs_once_and_bumps_version(collection, monkeypatch):
    with CollectionStore.open(collection):
        pass
    new = schema.SCHEMA_VERSION + 1
    step = ["ALTER TABLE images ADD COLUMN rating INTEGER"]
    monkeypatch.setitem(schema.MIGRATIONS, new, step)
    conn = sqlite3.connect(collection / ".clml" / "collection.sqlite", isolation_level=None)
    try:
        assert schema.migrate(conn, target=new) == new
        assert schema.migrate(conn, target=new) == new  # idempotent
        columns = [r[1] for r in conn.execute("PRAGMA table_info(images)")]
        assert "rating" in columns
        assert schema.stored_version(conn) == new
    finally:
        conn.close()


def test_failed_migration_leaves_old_schema(collection, monkeypatch):
    with CollectionStore.open(collection) as store:
        store.ensure_tag("kept")
    new = schema.SCHEMA_VERSION + 1
    step = ["ALTER TABLE images ADD COLUMN rating INTEGER", "THIS IS NOT SQL"]
    monkeypatch.setitem(schema.MIGRATIONS, new, step)
    conn = sqlite3.connect(collection / ".clml" / "collection.sqlite", isolation_level=None)
    try:
        with pytest.raises(sqlite3.OperationalError):
            schema.migrate(conn, target=new)
        assert schema.stored_version(conn) == schema.SCHEMA_VERSION
        assert "rating" not in [r[1] for r in conn.execute("PRAGMA table_info(images)")]
        assert conn.execute("SELECT name FROM tags").fetchall() == [("kept",)]
    finally:
        conn.close()


def test_missing_folder_is_refused(tmp_path):
    with pytest.raises(StoreError, match="not a folder"):
        CollectionStore.open(tmp_path / "nope")


def test_a_version_2_file_moves_tag_file_marks_out_of_problem(collection):
    (collection / ".clml").mkdir()
    conn = sqlite3.connect(collection / ".clml" / "collection.sqlite", isolation_level=None)
    try:
        schema.migrate(conn, target=2)
        conn.executemany(
            "INSERT INTO images(path, size, mtime_ns, problem) VALUES (?, 1, 1, ?)",
            [
                ("img00.png", "tag file img00.txt: not valid UTF-8"),
                ("img01.png", "empty file (0 bytes)"),
                ("img02.png", None),
            ],
        )
        conn.execute("INSERT INTO edits(description, time, status) VALUES ('old edit', 1, 'applied')")
        conn.execute("INSERT INTO source_files(path, size, mtime_ns) VALUES ('img00.txt', 1, 1)")
    finally:
        conn.close()
    with CollectionStore.open(collection) as store:
        moved = store.image_by_path("img00.png")
        assert (moved.problem, moved.tag_file_problem) == (None, "tag file img00.txt: not valid UTF-8")
        assert store.image_by_path("img01.png").problem == "empty file (0 bytes)"
        assert store.image_by_path("img01.png").tag_file_problem is None
        assert store.can_undo()  # old edits stay undo steps
        assert store.source_file_records() == {"img00.txt": (1, 1, None)}

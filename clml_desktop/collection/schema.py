"""The SQLite schema of a collection and the migrations that bring old files up to date.

Each migration is a list of statements run in one transaction with the
version bump, so a crash mid-migration leaves the old, still-readable schema.
A file written by a newer version of the app is refused rather than guessed at.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence

SCHEMA_VERSION = 4

# Named so a bulk first import can drop it and build it once at the end.
LABELS_TAG_INDEX = "CREATE INDEX labels_tag ON labels(tag_id, state)"

_V1 = (
    """CREATE TABLE meta(
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL)""",
    """CREATE TABLE images(
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL UNIQUE,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        width INTEGER,
        height INTEGER,
        problem TEXT,
        version INTEGER NOT NULL DEFAULT 1,
        missing INTEGER NOT NULL DEFAULT 0)""",
    """CREATE TABLE tags(
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        key TEXT NOT NULL,
        deleted INTEGER NOT NULL DEFAULT 0,
        threshold REAL)""",
    "CREATE UNIQUE INDEX tags_live_name ON tags(name) WHERE deleted = 0",
    "CREATE INDEX tags_key ON tags(key)",
    """CREATE TABLE labels(
        image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        tag_id INTEGER NOT NULL REFERENCES tags(id),
        state TEXT NOT NULL CHECK (state IN ('positive', 'negative')),
        source TEXT NOT NULL,
        position INTEGER,
        time REAL NOT NULL,
        PRIMARY KEY (image_id, tag_id)) WITHOUT ROWID""",
    LABELS_TAG_INDEX,
    """CREATE TABLE edits(
        id INTEGER PRIMARY KEY,
        description TEXT NOT NULL,
        time REAL NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('applied', 'undone', 'discarded')))""",
    "CREATE INDEX edits_status ON edits(status, id)",
    """CREATE TABLE label_changes(
        id INTEGER PRIMARY KEY,
        edit_id INTEGER NOT NULL REFERENCES edits(id),
        image_id INTEGER NOT NULL,
        tag_id INTEGER NOT NULL,
        old_state TEXT, old_source TEXT, old_position INTEGER, old_time REAL,
        new_state TEXT, new_source TEXT, new_position INTEGER, new_time REAL)""",
    "CREATE INDEX label_changes_edit ON label_changes(edit_id)",
    """CREATE TABLE tag_changes(
        id INTEGER PRIMARY KEY,
        edit_id INTEGER NOT NULL REFERENCES edits(id),
        tag_id INTEGER NOT NULL REFERENCES tags(id),
        old_name TEXT NOT NULL, new_name TEXT NOT NULL,
        old_deleted INTEGER NOT NULL, new_deleted INTEGER NOT NULL)""",
    "CREATE INDEX tag_changes_edit ON tag_changes(edit_id)",
    """CREATE TABLE models(
        id TEXT PRIMARY KEY,
        path TEXT NOT NULL,
        created TEXT NOT NULL,
        parent TEXT,
        metrics TEXT NOT NULL DEFAULT '{}',
        tags TEXT NOT NULL DEFAULT '[]',
        active INTEGER NOT NULL DEFAULT 0)""",
    """CREATE TABLE predictions(
        image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        model_id TEXT NOT NULL REFERENCES models(id) ON DELETE CASCADE,
        kind TEXT NOT NULL CHECK (kind IN ('oof', 'engine')),
        image_version INTEGER NOT NULL,
        probs BLOB NOT NULL,
        embedding BLOB,
        time REAL NOT NULL,
        PRIMARY KEY (model_id, image_id, kind)) WITHOUT ROWID""",
    """CREATE TABLE source_files(
        path TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL) WITHOUT ROWID""",
)

# v2: a tag file's problem (undecodable sidecar, ...) is kept apart from the
# image file's, so an image with a bad sidecar is still scored by the model.
_V2 = ("ALTER TABLE images ADD COLUMN tag_file_problem TEXT",)

# v3: the first open of a folder reads its tags as one *baseline* edit with a
# count and no per-pair undo rows (`undoable` 0, `label_count`); a tag file
# remembers the images it was read for (`images`, newline-joined), so a new
# image next to an unchanged sidecar still gets its tags; and tag-file marks
# that older versions kept in `problem` move to `tag_file_problem`.
_V3 = (
    "ALTER TABLE edits ADD COLUMN undoable INTEGER NOT NULL DEFAULT 1",
    "ALTER TABLE edits ADD COLUMN label_count INTEGER",
    "ALTER TABLE source_files ADD COLUMN images TEXT",
    "UPDATE images SET tag_file_problem = problem, problem = NULL"
    " WHERE problem LIKE 'tag file %' AND tag_file_problem IS NULL",
)

# v4: an index on tags(name, deleted). `tags_live_name` is partial (deleted = 0),
# so finding a deleted tag to revive by name (`tag_table.resolve`, once per new
# tag) scanned the whole table: a first open with 40k distinct tags took ~30 s,
# growing with the square of the count (issue 14). Additive: nothing else changes.
_V4 = ("CREATE INDEX IF NOT EXISTS tags_name ON tags(name, deleted)",)

Migration = Sequence[str] | Callable[[sqlite3.Connection], None]

# MIGRATIONS[v] brings a file from version v-1 to version v (v=1 creates the schema).
MIGRATIONS: dict[int, Migration] = {1: _V1, 2: _V2, 3: _V3, 4: _V4}


class SchemaError(RuntimeError):
    """The database cannot be used by this version of the app."""


def stored_version(conn: sqlite3.Connection) -> int:
    """The schema version written in the file; 0 for a new, empty database."""
    has_meta = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
    ).fetchone()
    if not has_meta:
        return 0
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else 0


def migrate(conn: sqlite3.Connection, target: int = SCHEMA_VERSION) -> int:
    """Run the missing migrations, each in its own transaction; returns the final version.

    `conn` must be in autocommit mode (isolation_level=None) so the explicit
    BEGIN IMMEDIATE here also serialises two processes opening a new file.
    """
    while True:
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = stored_version(conn)
            if version > target:
                raise SchemaError(
                    f"the collection database has schema version {version}, newer than this "
                    f"app understands ({target}); update CLML Desktop to open it"
                )
            if version == target:
                conn.execute("COMMIT")
                return version
            step = MIGRATIONS.get(version + 1)
            if step is None:
                raise SchemaError(f"no migration from schema version {version} to {version + 1}")
            if callable(step):
                step(conn)
            else:
                for statement in step:
                    conn.execute(statement)
            conn.execute(
                "INSERT INTO meta(key, value) VALUES ('schema_version', ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (str(version + 1),),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

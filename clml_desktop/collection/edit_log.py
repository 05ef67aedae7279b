"""The undo log: every edit is an `edits` row plus the exact before/after of
each label and tag it touched, so undo and redo replay rows instead of
restoring snapshots, and an audit view can read who changed what, when.

All functions here run inside a transaction the caller holds; they never
commit. A *baseline* edit (the labels a folder came with, read on its first
open) is logged with a count and no per-pair rows; it is never undone, so
undo passes over it (ADR 0001, "as built"). Label changes are applied with set-based SQL over the logged rows, so
undoing a 5,000-image batch is three statements, not 5,000 round trips.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence

from clml_contract.tagnames import tag_key
from clml_desktop.collection.labels import LabelState
from clml_desktop.collection.rows import LoggedLabelChange, LoggedTagChange

# (image_id, tag_id, old_state, old_source, old_position, old_time,
#  new_state, new_source, new_position, new_time), states as stored
#  (`LabelState.stored`: NULL for unknown)
LabelChangeRow = tuple


class EditConflict(RuntimeError):
    """Undo or redo cannot proceed without overwriting something the person made since."""


def begin_edit(conn: sqlite3.Connection, description: str) -> int:
    """Start a logged edit; a new edit makes every undone edit unreachable (discarded)."""
    conn.execute("UPDATE edits SET status = 'discarded' WHERE status = 'undone'")
    cur = conn.execute(
        "INSERT INTO edits(description, time, status) VALUES (?, ?, 'applied')",
        (description, time.time()),
    )
    return int(cur.lastrowid)


def begin_baseline(conn: sqlite3.Connection, description: str) -> int:
    """Start a non-undoable edit; only valid while there is nothing to undo or redo."""
    cur = conn.execute(
        "INSERT INTO edits(description, time, status, undoable, label_count)"
        " VALUES (?, ?, 'applied', 0, 0)",
        (description, time.time()),
    )
    return int(cur.lastrowid)


def has_history(conn: sqlite3.Connection) -> bool:
    """Whether any edit can be undone or redone (a baseline import needs there to be none)."""
    return bool(
        conn.execute(
            "SELECT EXISTS(SELECT 1 FROM edits WHERE undoable = 1"
            " AND status IN ('applied', 'undone'))"
        ).fetchone()[0]
    )


def log_label_changes(
    conn: sqlite3.Connection, edit_id: int, rows: Sequence[LabelChangeRow]
) -> None:
    """Record the changes of one edit and apply them."""
    conn.executemany(
        "INSERT INTO label_changes(edit_id, image_id, tag_id, old_state, old_source, old_position,"
        " old_time, new_state, new_source, new_position, new_time)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        ((edit_id, *row) for row in rows),
    )
    apply_label_changes(conn, edit_id, forward=True)


def apply_label_changes(conn: sqlite3.Connection, edit_id: int, *, forward: bool) -> None:
    """Set every pair the edit touched to its new (forward) or old (backward) label."""
    side = "new" if forward else "old"
    conn.execute(
        "DELETE FROM labels WHERE (image_id, tag_id) IN ("
        f" SELECT image_id, tag_id FROM label_changes WHERE edit_id = ? AND {side}_state IS NULL)",
        (edit_id,),
    )
    conn.execute(
        "INSERT OR REPLACE INTO labels(image_id, tag_id, state, source, position, time)"
        f" SELECT image_id, tag_id, {side}_state, {side}_source, {side}_position, {side}_time"
        f" FROM label_changes WHERE edit_id = ? AND {side}_state IS NOT NULL",
        (edit_id,),
    )


def log_tag_change(
    conn: sqlite3.Connection,
    edit_id: int,
    tag_id: int,
    new_name: str,
    new_deleted: bool,
) -> None:
    """Record and apply a change of one tag's name or deleted flag."""
    old_name, old_deleted = conn.execute(
        "SELECT name, deleted FROM tags WHERE id = ?", (tag_id,)
    ).fetchone()
    conn.execute(
        "INSERT INTO tag_changes(edit_id, tag_id, old_name, new_name, old_deleted, new_deleted)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (edit_id, tag_id, old_name, new_name, int(old_deleted), int(new_deleted)),
    )
    _set_tag(conn, tag_id, new_name, bool(new_deleted))


def _set_tag(conn: sqlite3.Connection, tag_id: int, name: str, deleted: bool) -> None:
    """Apply a tag's name/deleted state, clearing a clash with an empty tag made outside the log.

    A tag created by `ensure_tag` (not an edit) may hold a name an undo wants
    back. If it has no labels nothing is lost by retiring it; if it has labels
    the undo stops and says so rather than merging behind the person's back.
    """
    if not deleted:
        clash = conn.execute(
            "SELECT id FROM tags WHERE name = ? AND deleted = 0 AND id != ?", (name, tag_id)
        ).fetchone()
        if clash:
            used = conn.execute(
                "SELECT 1 FROM labels WHERE tag_id = ? LIMIT 1", (clash[0],)
            ).fetchone()
            if used:
                raise EditConflict(
                    f"a tag named {name!r} exists now; rename or merge it before undoing this"
                )
            conn.execute("UPDATE tags SET deleted = 1 WHERE id = ?", (clash[0],))
    conn.execute(
        "UPDATE tags SET name = ?, key = ?, deleted = ? WHERE id = ?",
        (name, tag_key(name), int(deleted), tag_id),
    )


def _apply_tag_changes(conn: sqlite3.Connection, edit_id: int, *, forward: bool) -> None:
    order = "ASC" if forward else "DESC"
    rows = conn.execute(
        "SELECT tag_id, old_name, new_name, old_deleted, new_deleted FROM tag_changes"
        f" WHERE edit_id = ? ORDER BY id {order}",
        (edit_id,),
    ).fetchall()
    for tag_id, old_name, new_name, old_deleted, new_deleted in rows:
        if forward:
            _set_tag(conn, tag_id, new_name, bool(new_deleted))
        else:
            _set_tag(conn, tag_id, old_name, bool(old_deleted))


def undo(conn: sqlite3.Connection) -> str | None:
    """Revert the newest applied edit; returns its description, None when there is none."""
    row = conn.execute(
        "SELECT id, description FROM edits WHERE status = 'applied' AND undoable = 1"
        " ORDER BY id DESC LIMIT 1"
    ).fetchone()
    if row is None:
        return None
    edit_id, description = row
    apply_label_changes(conn, edit_id, forward=False)
    _apply_tag_changes(conn, edit_id, forward=False)
    conn.execute("UPDATE edits SET status = 'undone' WHERE id = ?", (edit_id,))
    return description


def redo(conn: sqlite3.Connection) -> str | None:
    """Re-apply the oldest undone edit; returns its description, None when there is none."""
    row = conn.execute(
        "SELECT id, description FROM edits WHERE status = 'undone' ORDER BY id ASC LIMIT 1"
    ).fetchone()
    if row is None:
        return None
    edit_id, description = row
    _apply_tag_changes(conn, edit_id, forward=True)
    apply_label_changes(conn, edit_id, forward=True)
    conn.execute("UPDATE edits SET status = 'applied' WHERE id = ?", (edit_id,))
    return description


def changes_of(
    conn: sqlite3.Connection, edit_id: int, limit: int | None
) -> tuple[list[LoggedLabelChange], list[LoggedTagChange]]:
    """What one edit changed, read back from the log (tag names as they are now)."""
    from_stored = LabelState.from_stored
    labels = [
        LoggedLabelChange(*r[:4], from_stored(r[4]), r[5], from_stored(r[6]), r[7])
        for r in conn.execute(
            "SELECT c.image_id, COALESCE(i.path, ''), c.tag_id, t.name, c.old_state, c.old_source,"
            " c.new_state, c.new_source FROM label_changes c"
            " LEFT JOIN images i ON i.id = c.image_id JOIN tags t ON t.id = c.tag_id"
            " WHERE c.edit_id = ? ORDER BY c.id LIMIT ?",
            (edit_id, -1 if limit is None else int(limit)),
        )
    ]
    tags = [
        LoggedTagChange(r[0], r[1], r[2], bool(r[3]), bool(r[4]))
        for r in conn.execute(
            "SELECT tag_id, old_name, new_name, old_deleted, new_deleted FROM tag_changes"
            " WHERE edit_id = ? ORDER BY id",
            (edit_id,),
        )
    ]
    return labels, tags

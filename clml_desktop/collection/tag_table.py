"""Finding and creating tags inside a transaction: by id, exact name, then alias key.

Creation inside an edit is logged (undo removes the tag again); a deleted tag
whose name is used again is revived with its old id, so its history and any
undo that refers to it stay consistent.
"""

from __future__ import annotations

import sqlite3

import numpy as np

from clml_contract.tagnames import clean_tag_name, tag_key
from clml_desktop.collection import edit_log

# The newest deleted tag of a name, to revive on reuse. Served by the `tags_name`
# index (schema v4): without it every new tag scanned the table (issue 14).
DELETED_BY_NAME = "SELECT MAX(id) FROM tags WHERE name = ? AND deleted = 1"


class UnknownTag(LookupError):
    """A tag named in an edit or query does not exist (and is not to be created)."""


def _is_id(tag: object) -> bool:
    return isinstance(tag, (int, np.integer)) and not isinstance(tag, bool)


def lookup(conn: sqlite3.Connection, tag: str | int) -> int | None:
    """A live tag's id: by id, exact name, then the lowest id sharing the alias key."""
    if _is_id(tag):
        r = conn.execute("SELECT id FROM tags WHERE id = ? AND deleted = 0", (int(tag),)).fetchone()
        return r[0] if r else None
    name = str(tag).strip()
    r = conn.execute("SELECT id FROM tags WHERE name = ? AND deleted = 0", (name,)).fetchone()
    if r is None:
        r = conn.execute(
            "SELECT MIN(id) FROM tags WHERE key = ? AND deleted = 0", (tag_key(name),)
        ).fetchone()
    return r[0] if r and r[0] is not None else None


def require(conn: sqlite3.Connection, tag: str | int) -> int:
    """Like `lookup`, but a missing tag is an error."""
    tag_id = lookup(conn, tag)
    if tag_id is None:
        raise UnknownTag(f"no tag {tag!r} in the collection")
    return tag_id


def resolve(conn: sqlite3.Connection, tag: str | int, edit_id: int | None) -> int:
    """A live tag's id, creating it (or reviving a deleted tag of that name) when needed.

    Inside an edit the creation is logged, so undoing the edit removes the tag
    again; outside one (`edit_id=None`) it is an empty tag and not an edit.
    Raises TagNameError for names no tag file can hold.
    """
    found = lookup(conn, tag)
    if found is not None:
        return found
    if _is_id(tag):
        raise UnknownTag(f"no tag with id {tag} in the collection")
    name = clean_tag_name(tag)
    r = conn.execute(DELETED_BY_NAME, (name,)).fetchone()
    tag_id = r[0]
    if tag_id is None:
        cur = conn.execute(
            "INSERT INTO tags(name, key, deleted) VALUES (?, ?, 1)", (name, tag_key(name))
        )
        tag_id = int(cur.lastrowid)
    if edit_id is None:
        conn.execute("UPDATE tags SET deleted = 0 WHERE id = ?", (tag_id,))
    else:
        edit_log.log_tag_change(conn, edit_id, tag_id, name, False)
    return tag_id


def name_of(conn: sqlite3.Connection, tag_id: int) -> str:
    """The stored spelling of a tag id (deleted tags too)."""
    r = conn.execute("SELECT name FROM tags WHERE id = ?", (int(tag_id),)).fetchone()
    if r is None:
        raise UnknownTag(f"no tag with id {tag_id} in the collection")
    return r[0]

"""The whole-tag edits: rename, merge, delete. Each runs inside an edit the
store opened and logs every label and tag it touches, so one undo reverts it.
"""

from __future__ import annotations

import sqlite3

from clml_contract.tagnames import clean_tag_name, tag_key
from clml_desktop.collection import edit_log, tag_table
from clml_desktop.collection.labels import LabelState


class TagClash(ValueError):
    """A rename would give a tag the name (or alias key) of another live tag."""


def rename(conn: sqlite3.Connection, edit_id: int, tag: str | int, new_name: str) -> None:
    """Change a tag's spelling; refuses a name another live tag already has (merge instead)."""
    name = clean_tag_name(new_name)
    tag_id = tag_table.require(conn, tag)
    clash = conn.execute(
        "SELECT name FROM tags WHERE deleted = 0 AND id != ? AND (name = ? OR key = ?)",
        (tag_id, name, tag_key(name)),
    ).fetchone()
    if clash:
        raise TagClash(
            f"cannot rename to {name!r}: tag {clash[0]!r} already has that name"
            " (up to spelling); merge the tags instead"
        )
    if tag_table.name_of(conn, tag_id) != name:
        edit_log.log_tag_change(conn, edit_id, tag_id, name, False)


def merge(
    conn: sqlite3.Connection, edit_id: int, sources: list[str | int], target: str | int
) -> None:
    """Fold `sources` into `target` (created if new), then delete the sources.

    Per image the target ends positive if it or any source was positive
    (taking the earliest source positive's place in the tag order, with its
    source), else negative if it or any source was negative.
    """
    source_ids: list[int] = []
    for s in sources:
        sid = tag_table.require(conn, s)
        if sid not in source_ids:
            source_ids.append(sid)
    target_id = tag_table.resolve(conn, target, edit_id)
    source_ids = [s for s in source_ids if s != target_id]
    if not source_ids:
        return
    marks = ",".join("?" * len(source_ids))
    by_image: dict[int, dict[int, tuple]] = {}
    for r in conn.execute(
        "SELECT image_id, tag_id, state, source, position, time FROM labels"
        f" WHERE tag_id = ? OR tag_id IN ({marks})",
        (target_id, *source_ids),
    ):
        by_image.setdefault(r[0], {})[r[1]] = r[2:]
    rows = []
    positive = LabelState.POSITIVE.stored  # the rows here are the log's, as stored
    for image_id, found in by_image.items():
        for sid in source_ids:
            if sid in found:
                rows.append((image_id, sid, *found[sid], None, None, None, None))
        current = found.get(target_id)
        if current is not None and current[0] == positive:
            continue
        picks = [found[s] for s in source_ids if s in found]
        positives = sorted((p for p in picks if p[0] == positive), key=lambda p: p[2] or 0)
        if positives:
            new = positives[0]
        elif current is None and picks:
            new = picks[0]
        else:
            continue
        old = current or (None, None, None, None)
        rows.append((image_id, target_id, *old, *new))
    edit_log.log_label_changes(conn, edit_id, rows)
    for sid in source_ids:
        edit_log.log_tag_change(conn, edit_id, sid, tag_table.name_of(conn, sid), True)


def delete(conn: sqlite3.Connection, edit_id: int, tag: str | int) -> None:
    """Remove a tag's labels and hide the tag (same id comes back on undo)."""
    tag_id = tag_table.require(conn, tag)
    rows = [
        (image_id, tag_id, *old, None, None, None, None)
        for image_id, *old in conn.execute(
            "SELECT image_id, state, source, position, time FROM labels WHERE tag_id = ?",
            (tag_id,),
        )
    ]
    edit_log.log_label_changes(conn, edit_id, rows)
    edit_log.log_tag_change(conn, edit_id, tag_id, tag_table.name_of(conn, tag_id), True)

"""Turn "these pairs should be in this state" into the exact before/after rows
the undo log stores, reading the current labels of all pairs in one query.

Two policies: `overwrite` (a person's edit wins) and `fill` (an import only
fills unknown pairs; a label a person set that the file contradicts is left
alone and counted as a conflict).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass

from clml_desktop.collection.labels import LabelState


@dataclass
class Plan:
    """The change rows of one edit plus what was skipped."""

    rows: list[tuple]
    conflicts: int = 0
    positives_added: int = 0
    negatives_added: int = 0


class UnknownImages(ValueError):
    """Some image ids of an edit are not in the collection."""


def _load_pairs(conn: sqlite3.Connection, pairs: Iterable[tuple[int, int]]) -> None:
    conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS edit_pairs("
        " image_id INTEGER NOT NULL, tag_id INTEGER NOT NULL,"
        " PRIMARY KEY (image_id, tag_id)) WITHOUT ROWID"
    )
    conn.execute("DELETE FROM edit_pairs")
    conn.executemany("INSERT OR IGNORE INTO edit_pairs(image_id, tag_id) VALUES (?, ?)", pairs)


def plan(
    conn: sqlite3.Connection,
    desired: Iterable[tuple[int, int, LabelState, str]],
    *,
    policy: str = "overwrite",
    update_source: bool = False,
) -> Plan:
    """Rows for `label_changes` that move each (image, tag) to (state, source).

    `desired` holds (image_id, tag_id, state, source), UNKNOWN to forget the
    pair; a later entry for the same pair wins. New positives are appended
    after the image's current positives, in the order given, so tag order
    round-trips. A pair already in the wanted state keeps its source and
    position unless `update_source` is set. The rows spell states as the
    store does (`LabelState.stored`), ready for the log.
    """
    stored = {s: s.stored for s in LabelState}
    wanted: dict[tuple[int, int], tuple[str | None, str]] = {}
    for image_id, tag_id, state, source in desired:
        wanted[(int(image_id), int(tag_id))] = (stored[state], str(source))
    if not wanted:
        return Plan(rows=[])
    _load_pairs(conn, wanted.keys())
    missing = conn.execute(
        "SELECT DISTINCT image_id FROM edit_pairs"
        " WHERE image_id NOT IN (SELECT id FROM images) LIMIT 5"
    ).fetchall()
    if missing:
        raise UnknownImages(
            "no image with id " + ", ".join(str(r[0]) for r in missing) + " in the collection"
        )
    current = {
        (r[0], r[1]): r[2:]
        for r in conn.execute(
            "SELECT p.image_id, p.tag_id, l.state, l.source, l.position, l.time"
            " FROM edit_pairs p JOIN labels l"
            " ON l.image_id = p.image_id AND l.tag_id = p.tag_id"
        )
    }
    next_pos = {
        r[0]: (r[1] if r[1] is not None else -1) + 1
        for r in conn.execute(
            "SELECT image_id, MAX(position) FROM labels WHERE state = 'positive'"
            " AND image_id IN (SELECT DISTINCT image_id FROM edit_pairs) GROUP BY image_id"
        )
    }
    now = time.time()
    positive, negative = LabelState.POSITIVE.stored, LabelState.NEGATIVE.stored
    result = Plan(rows=[])
    rows = result.rows
    for (image_id, tag_id), (state, source) in wanted.items():
        old = current.get((image_id, tag_id), (None, None, None, None))
        old_state, old_source, old_position, _old_time = old
        if state == old_state:
            if state is None or not update_source or source == old_source:
                continue
            rows.append((image_id, tag_id, *old, state, source, old_position, now))
            continue
        if policy == "fill" and old_state is not None:
            result.conflicts += 1
            continue
        if state == positive:
            position = next_pos.get(image_id, 0)
            next_pos[image_id] = position + 1
            result.positives_added += 1
            rows.append((image_id, tag_id, *old, state, source, position, now))
        elif state == negative:
            result.negatives_added += 1
            rows.append((image_id, tag_id, *old, state, source, None, now))
        else:
            rows.append((image_id, tag_id, *old, None, None, None, None))
    return result

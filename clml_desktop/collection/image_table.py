"""Writing scan results into the images table with few statements.

Rows whose size, mtime, dimensions and problem are all unchanged are not
written at all, so a rescan of an unchanged folder costs no disk writes.
A changed size or mtime bumps `version`, which makes cached predictions of
the old content stale.
"""

from __future__ import annotations

import sqlite3

from clml_desktop.collection.rows import ImageInfo, ScanDelta

_CHUNK = 500  # paths per IN (...) query, under SQLite's bound-parameter limit


def upsert(conn: sqlite3.Connection, infos: list[ImageInfo]) -> ScanDelta:
    """Insert new images, update changed or returning ones; inside the caller's transaction."""
    added = changed = unchanged = 0
    for start in range(0, len(infos), _CHUNK):
        chunk = infos[start : start + _CHUNK]
        marks = ",".join("?" * len(chunk))
        known = {
            r[0]: r[1:]
            for r in conn.execute(
                "SELECT path, size, mtime_ns, width, height, problem, missing FROM images"
                f" WHERE path IN ({marks})",
                [i.path for i in chunk],
            )
        }
        todo = []
        for info in chunk:
            old = known.get(info.path)
            new = (info.size, info.mtime_ns, info.width, info.height, info.problem, 0)
            if old is None:
                added += 1
            elif old == new:
                unchanged += 1
                continue
            else:
                changed += 1
            todo.append((info.path, *new[:5]))
        conn.executemany(
            "INSERT INTO images(path, size, mtime_ns, width, height, problem)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(path) DO UPDATE SET"
            " version = version + (size != excluded.size OR mtime_ns != excluded.mtime_ns),"
            " size = excluded.size, mtime_ns = excluded.mtime_ns, width = excluded.width,"
            " height = excluded.height, problem = excluded.problem, missing = 0",
            todo,
        )
    return ScanDelta(added=added, changed=changed, unchanged=unchanged)

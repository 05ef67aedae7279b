"""Merging labels read from tag files into the store, inside one edit.

An import fills unknown pairs only: a file never overrides a label a person
set or rejected (those are counted as conflicts), and never deletes. Paths
the collection does not know and tag names no file can hold are reported,
and the rest of the import goes on.
"""

from __future__ import annotations

import sqlite3

from clml_desktop.collection import edit_log, label_plan, tag_table
from clml_desktop.collection.labels import ImageLabels, LabelSource, LabelState, Problem
from clml_desktop.collection.rows import ImportReport
from clml_desktop.collection.tagnames import TagNameError

POSITIVE = LabelState.POSITIVE.value
NEGATIVE = LabelState.NEGATIVE.value
_SOURCES = {s.value for s in LabelSource}


def import_into(
    conn: sqlite3.Connection,
    edit_id: int,
    labels: dict[str, ImageLabels],
    source: str,
    report: ImportReport,
) -> None:
    """Plan and log the import of `labels` (relpath -> ImageLabels), filling `report`."""
    paths = dict(conn.execute("SELECT path, id FROM images"))
    tag_ids: dict[str, int | None] = {}

    def tag_of(path: str, name: str) -> int | None:
        if name not in tag_ids:
            try:
                tag_ids[name] = tag_table.resolve(conn, name, edit_id)
            except TagNameError as exc:
                report.problems.append(Problem(path, str(exc)))
                tag_ids[name] = None
        return tag_ids[name]

    def source_of(entry: ImageLabels, name: str) -> str:
        given = entry.sources.get(name, source)
        return given if given in _SOURCES else str(source)

    desired = []
    for path, entry in labels.items():
        image_id = paths.get(path)
        if image_id is None:
            report.unknown_paths.append(path)
            continue
        report.images += 1
        positives = set()
        for name in entry.positives:
            tag_id = tag_of(path, name)
            if tag_id is not None:
                positives.add(tag_id)
                desired.append((image_id, tag_id, POSITIVE, source_of(entry, name)))
        for name in entry.negatives:
            tag_id = tag_of(path, name)
            if tag_id is None:
                continue
            if tag_id in positives:
                message = f"tag {name!r} is listed as both present and absent; kept present"
                report.problems.append(Problem(path, message))
                continue
            desired.append((image_id, tag_id, NEGATIVE, source_of(entry, name)))
    plan = label_plan.plan(conn, desired, policy="fill")
    report.conflicts = plan.conflicts
    report.positives_added = plan.positives_added
    report.negatives_added = plan.negatives_added
    edit_log.log_label_changes(conn, edit_id, plan.rows)

"""Merging labels read from tag files into the store, inside one edit.

An import fills unknown pairs only: a file never overrides a label a person
set or rejected (those are counted as conflicts), and never deletes. Paths
the collection does not know and tag names no file can hold are reported,
and the rest of the import goes on.

The labels a folder comes with, read on its first open, are a *baseline*:
there is nothing before them to restore, so they are written straight into
`labels` with one executemany and no per-pair undo rows (`import_baseline`).
That is most of the cost of opening a big folder the first time.
"""

from __future__ import annotations

import sqlite3
import time
from itertools import repeat

from clml_contract.tagnames import TagNameError
from clml_desktop.collection import edit_log, label_plan, tag_table
from clml_desktop.collection.labels import ImageLabels, LabelSource, LabelState, Problem
from clml_desktop.collection.rows import ImportReport
from clml_desktop.collection.schema import LABELS_TAG_INDEX

_SOURCES = {s.value for s in LabelSource}
_BULK_ROWS = 5000  # from here on a first import rebuilds the tag index once instead of per row


class _TagIds:
    """Tag ids by name for one import, each name resolved (created when new) once.

    `known` is the plain dict so a hot loop can look names up at C speed and
    call the object only for names it has not met. Inside a logged edit a new
    tag's creation is logged; in a baseline (`edit_id` None) it is not. A name
    no tag file can hold is reported against the file that used it and maps
    to None, so the rest of the import goes on.
    """

    def __init__(self, conn: sqlite3.Connection, edit_id: int | None, report: ImportReport) -> None:
        self.known: dict[str, int | None] = {}
        self._conn, self._edit_id, self._report = conn, edit_id, report

    def __call__(self, path: str, name: str) -> int | None:
        if name not in self.known:
            try:
                self.known[name] = tag_table.resolve(self._conn, name, self._edit_id)
            except TagNameError as exc:
                self._report.problems.append(Problem(path, str(exc)))
                self.known[name] = None
        return self.known[name]


def _desired(
    conn: sqlite3.Connection,
    edit_id: int | None,
    labels: dict[str, ImageLabels],
    source: str,
    report: ImportReport,
) -> list[tuple[int, int, LabelState, str]]:
    """(image_id, tag_id, state, source) for every label of known images, filling `report`.

    Tags are resolved (created when new) once per name; inside a logged
    edit their creation is logged, in a baseline (`edit_id` None) it is not.
    """
    paths = dict(conn.execute("SELECT path, id FROM images"))
    tag_of = _TagIds(conn, edit_id, report)
    default_source = str(source)

    desired = []
    append = desired.append
    for path, entry in labels.items():
        image_id = paths.get(path)
        if image_id is None:
            report.unknown_paths.append(path)
            continue
        report.images += 1
        sources = entry.sources
        positives = set()
        for name in entry.positives:
            tag_id = tag_of(path, name)
            if tag_id is not None:
                positives.add(tag_id)
                given = sources.get(name, default_source) if sources else default_source
                append((image_id, tag_id, LabelState.POSITIVE, given if given in _SOURCES else default_source))
        for name in entry.negatives:
            tag_id = tag_of(path, name)
            if tag_id is None:
                continue
            if tag_id in positives:
                message = f"tag {name!r} is listed as both present and absent; kept present"
                report.problems.append(Problem(path, message))
                continue
            given = sources.get(name, default_source) if sources else default_source
            append((image_id, tag_id, LabelState.NEGATIVE, given if given in _SOURCES else default_source))
    return desired


def import_into(
    conn: sqlite3.Connection,
    edit_id: int,
    labels: dict[str, ImageLabels],
    source: str,
    report: ImportReport,
) -> None:
    """Plan and log the import of `labels` (relpath -> ImageLabels), filling `report`."""
    desired = _desired(conn, edit_id, labels, source, report)
    plan = label_plan.plan(conn, desired, policy="fill")
    report.conflicts = plan.conflicts
    report.positives_added = plan.positives_added
    report.negatives_added = plan.negatives_added
    edit_log.log_label_changes(conn, edit_id, plan.rows)


def _baseline_rows(
    conn: sqlite3.Connection, labels: dict[str, ImageLabels], source: str, report: ImportReport
) -> list[tuple]:
    """Label rows for a store with no labels yet, in one pass (this is a first open's hot loop).

    The same rules as `_desired` + `label_plan.plan`: a pair listed twice
    (two spellings of one tag) counts once, at its first place in the order;
    a tag both present and absent stays present and is reported.
    """
    paths = dict(conn.execute("SELECT path, id FROM images"))
    resolve = _TagIds(conn, None, report)
    tag_ids = resolve.known
    default_source = str(source)
    now = time.time()
    rows: list[tuple] = []
    append = rows.append
    missing = object()
    positive, negative = LabelState.POSITIVE.stored, LabelState.NEGATIVE.stored  # rows as stored

    def source_of(entry: ImageLabels, name: str) -> str:
        given = entry.sources.get(name, default_source)
        return given if given in _SOURCES else default_source

    for path, entry in labels.items():
        image_id = paths.get(path)
        if image_id is None:
            report.unknown_paths.append(path)
            continue
        report.images += 1
        if not entry.negatives and not entry.sources:
            # the common case, a sidecar's plain tag list: whole rows at C speed
            ids = [tag_ids.get(name, missing) for name in entry.positives]
            if missing in ids:
                ids = [
                    resolve(path, name) if i is missing else i
                    for name, i in zip(entry.positives, ids, strict=True)
                ]
            count = len(ids)
            if None not in ids and len(set(ids)) == count:
                rows.extend(
                    zip(
                        repeat(image_id, count), ids, repeat(positive, count),
                        repeat(default_source, count), range(count), repeat(now, count), strict=True,
                    )
                )
                report.positives_added += count
                continue
        seen: dict[int, str] = {}
        for name in entry.positives:
            tag_id = tag_ids.get(name, missing)
            if tag_id is missing:
                tag_id = resolve(path, name)
            if tag_id is None or tag_id in seen:
                continue
            seen[tag_id] = positive
            given = source_of(entry, name) if entry.sources else default_source
            append((image_id, tag_id, positive, given, len(seen) - 1, now))
        positives = len(seen)
        for name in entry.negatives:
            tag_id = tag_ids.get(name, missing)
            if tag_id is missing:
                tag_id = resolve(path, name)
            if tag_id is None:
                continue
            state = seen.get(tag_id)
            if state == positive:
                message = f"tag {name!r} is listed as both present and absent; kept present"
                report.problems.append(Problem(path, message))
                continue
            if state is None:
                seen[tag_id] = negative
                given = source_of(entry, name) if entry.sources else default_source
                append((image_id, tag_id, negative, given, None, now))
        report.positives_added += positives
        report.negatives_added += len(seen) - positives
    return rows


def import_baseline(
    conn: sqlite3.Connection,
    labels: dict[str, ImageLabels],
    source: str,
    report: ImportReport,
) -> int:
    """Write `labels` straight into `labels` (no undo rows); returns how many were added.

    Same merge rules as `import_into`. When the store holds no labels yet
    (the common first open) the rows are made in one pass in Python, without
    the temp-table join of `label_plan`. The caller runs this with
    foreign-key checks off: every image and tag id here was read from its
    own table inside this transaction.
    """
    empty = not conn.execute("SELECT EXISTS(SELECT 1 FROM labels)").fetchone()[0]
    if empty:
        rows = _baseline_rows(conn, labels, source, report)
    else:
        desired = _desired(conn, None, labels, source, report)
        plan = label_plan.plan(conn, desired, policy="fill")
        report.conflicts = plan.conflicts
        report.positives_added = plan.positives_added
        report.negatives_added = plan.negatives_added
        rows = [(r[0], r[1], r[6], r[7], r[8], r[9]) for r in plan.rows]
    rows.sort()  # in key order the B-tree grows at its end: ~2x faster (and nearly sorted already)
    bulk = empty and len(rows) >= _BULK_ROWS
    if bulk:
        conn.execute("DROP INDEX labels_tag")  # one sort at the end beats 10^5 scattered inserts
    conn.executemany(
        "INSERT INTO labels(image_id, tag_id, state, source, position, time) VALUES (?, ?, ?, ?, ?, ?)",
        rows,
    )
    if bulk:
        conn.execute(LABELS_TAG_INDEX)
    return len(rows)

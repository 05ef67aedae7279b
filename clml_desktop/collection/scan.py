"""Find a collection's images and keep the store in step with the folder.

A rescan costs one `stat` per file and a dict lookup: only new or changed
files (by size and mtime_ns) have their header read, and nothing is written
for unchanged ones. The same walk lists the tag files (`walk.walk_folder`),
which the report hands on so the import does not list the tree again. A file that is gone is marked *missing*, not deleted, so
a folder on an unplugged drive comes back with every label intact.
Symlinked folders are followed once each (tracked by device and inode), so a
symlink loop ends; hidden entries and `.clml/` are skipped.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from clml_contract.progress import Control, Steps
from clml_desktop.collection.imageinfo import read_image_info
from clml_desktop.collection.labels import Problem
from clml_desktop.collection.rows import ImageInfo, ScanReport
from clml_desktop.collection.walk import walk_folder

if TYPE_CHECKING:  # type-only: the store may import this module without a cycle
    from clml_desktop.collection.store import CollectionStore


class ScanError(RuntimeError):
    """The collection folder itself cannot be scanned (gone, unmounted)."""


# Images per transaction: a cancelled or killed scan keeps its work, and each write
# is short (a few ms) so an edit on the GUI thread never waits long behind it (ADR 0010).
_FLUSH_EVERY = 256
_TICK = 256  # files between progress reports and cancel checks
SCANNING = "Scanning"


def scan_folder(store: CollectionStore, *, control: Control | None = None) -> ScanReport:
    """Bring `store`'s image table in line with its folder; returns what changed.

    `control` hears `report(done, total, "Scanning")` every few hundred files
    and is asked `cancelled` as often. A cancelled scan returns (it does not
    raise): it keeps what it stored but marks nothing missing, since it did
    not see the whole folder. A complete scan puts the tag files it listed in
    `report.tag_files` for `import_folder`.
    """
    started = time.perf_counter()
    if not Path(store.root).is_dir():
        raise ScanError(
            f"cannot scan {store.root}: the folder is not reachable (unmounted or moved?);"
            " nothing was marked missing"
        )
    report = ScanReport()
    walk_problems: list[Problem] = []
    known = store.scan_index()
    steps: Control = control if control is not None else Steps()
    walk = walk_folder(store.root, walk_problems, steps)
    files = sorted(walk.images)  # by path: new images get ids in path order on every file system
    if not walk.complete or steps.cancelled:
        report.cancelled = True
    total = len(files)
    seen: set[str] = set()
    pending: list[ImageInfo] = []

    def flush() -> None:
        if pending:
            delta = store.upsert_images(pending)
            report.added += delta.added
            report.changed += delta.changed
            report.unchanged += delta.unchanged
            pending.clear()

    for done, found in enumerate(files, 1):
        rel, size, mtime_ns = found.relpath, found.size, found.mtime_ns
        if done % _TICK == 0:
            steps.report(done, total, SCANNING)
            if steps.cancelled:
                report.cancelled = True
                break
        seen.add(rel)
        old = known.get(rel)
        if old is not None and old[0] == size and old[1] == mtime_ns and not old[2]:
            report.unchanged += 1
            continue
        try:
            pending.append(read_image_info(found.path, rel, size, mtime_ns))
        except FileNotFoundError:
            seen.discard(rel)
            walk_problems.append(Problem(rel, "file disappeared during the scan"))
            continue
        if len(pending) >= _FLUSH_EVERY:
            flush()
    flush()
    if not report.cancelled:
        gone = [
            path for path, (_s, _m, missing) in known.items() if not missing and path not in seen
        ]
        report.removed = store.remove_images(gone) if gone else 0
        report.tag_files = walk.tag_files
        steps.report(total, total, SCANNING)
    report.problems = walk_problems + store.problems()
    report.seconds = time.perf_counter() - started
    return report

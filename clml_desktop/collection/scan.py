"""Find a collection's images and keep the store in step with the folder.

A rescan costs one `stat` per file and a dict lookup: only new or changed
files (by size and mtime_ns) have their header read, and nothing is written
for unchanged ones. A file that is gone is marked *missing*, not deleted, so
a folder on an unplugged drive comes back with every label intact.
Symlinked folders are followed once each (tracked by device and inode), so a
symlink loop ends; hidden entries and `.clml/` are skipped.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from clml_desktop.collection.imageinfo import is_image_name, read_image_info
from clml_desktop.collection.labels import Problem
from clml_desktop.collection.rows import ImageInfo, ScanReport


class ScanError(RuntimeError):
    """The collection folder itself cannot be scanned (gone, unmounted)."""


Progress = Callable[[int, int], None]
Cancel = Callable[[], bool]

_FLUSH_EVERY = 2000  # images per transaction: a cancelled or killed scan keeps its work
_TICK = 256  # files between progress reports and cancel checks


def walk_images(
    root: Path, problems: list[Problem], cancel: Cancel | None = None
) -> Iterator[tuple[str, str, int, int]]:
    """Yield (relpath, full path, size, mtime_ns) of every image file under `root`."""
    root_stat = os.stat(root)
    visited = {(root_stat.st_dev, root_stat.st_ino)}
    stack: list[tuple[str, str]] = [(str(root), "")]
    seen = 0
    while stack:
        folder, prefix = stack.pop()
        try:
            entries = os.scandir(folder)
        except OSError as exc:
            problems.append(
                Problem(prefix or ".", f"cannot list the folder: {exc.strerror or exc}")
            )
            continue
        with entries:
            for entry in entries:
                name = entry.name
                if name.startswith("."):
                    continue
                seen += 1
                if cancel is not None and seen % _TICK == 0 and cancel():
                    return
                try:
                    if entry.is_dir():
                        st = entry.stat()
                        key = (st.st_dev, st.st_ino)
                        if key not in visited:
                            visited.add(key)
                            stack.append((entry.path, f"{prefix}{name}/"))
                    elif is_image_name(name) and entry.is_file():
                        st = entry.stat()
                        rel = f"{prefix}{name}"
                        try:
                            rel.encode("utf-8")
                        except UnicodeEncodeError:
                            problems.append(
                                Problem(
                                    os.fsdecode(entry.path), "file name is not valid UTF-8; skipped"
                                )
                            )
                            continue
                        yield rel, entry.path, st.st_size, st.st_mtime_ns
                except FileNotFoundError:
                    continue  # vanished, or a dangling symlink: nothing to scan
                except OSError as exc:
                    problems.append(
                        Problem(f"{prefix}{name}", f"cannot stat: {exc.strerror or exc}")
                    )


def scan_folder(
    store, *, progress: Progress | None = None, cancel: Cancel | None = None
) -> ScanReport:
    """Bring `store`'s image table in line with its folder; returns what changed.

    `progress(done, total)` is called every few hundred files; `cancel()` is
    polled as often, and a cancelled scan keeps what it stored but marks
    nothing missing (it did not see the whole folder).
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
    files = list(walk_images(store.root, walk_problems, cancel))
    if cancel is not None and cancel():
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

    for done, (rel, full, size, mtime_ns) in enumerate(files, 1):
        if done % _TICK == 0:
            if progress is not None:
                progress(done, total)
            if cancel is not None and cancel():
                report.cancelled = True
                break
        seen.add(rel)
        old = known.get(rel)
        if old is not None and old[0] == size and old[1] == mtime_ns and not old[2]:
            report.unchanged += 1
            continue
        try:
            pending.append(read_image_info(full, rel, size, mtime_ns))
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
        if progress is not None:
            progress(total, total)
    report.problems = walk_problems + store.problems()
    report.seconds = time.perf_counter() - started
    return report

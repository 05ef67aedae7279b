"""Background jobs that open a folder: prepare the store, then scan and import.

Split in two so the window shows a re-opened collection's grid at once (the
store already knows its images) while the rescan runs; a new folder shows an
empty grid with progress until the scan has found its files. Each job uses
its own store connection (ADR 0001) and never touches widgets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clml_desktop.collection.labels import Problem
from clml_desktop.jobs.worker import JobControl


@dataclass
class OpenReport:
    """What scanning and importing a folder found, for the status bar and the log."""

    images: int = 0
    added: int = 0
    changed: int = 0
    removed: int = 0
    imported_positives: int = 0
    imported_negatives: int = 0
    problems: list[Problem] = field(default_factory=list)
    cancelled: bool = False

    def summary(self) -> str:
        if self.cancelled:
            return f"Scan cancelled: {self.images:,} images so far"
        parts = [f"{self.images:,} images"]
        if self.added or self.changed or self.removed:
            parts.append(f"{self.added:,} new, {self.changed:,} changed, {self.removed:,} removed")
        if self.imported_positives or self.imported_negatives:
            parts.append(f"{self.imported_positives:,} tags imported")
        if self.problems:
            n = len(self.problems)
            parts.append(f"{n:,} problem{'s' if n != 1 else ''} (filter: Problems)")
        return "Scanned: " + ", ".join(parts)


def prepare_store(control: JobControl | None, folder: Path) -> Path:
    """Create or migrate `<folder>/.clml` off the GUI thread; returns the resolved root."""
    from clml_desktop.collection.store import CollectionStore

    folder = Path(folder)
    if not folder.is_dir():
        raise NotADirectoryError(f"{folder}: not a folder")
    store = CollectionStore.open(folder)
    try:
        return Path(store.root)
    finally:
        store.close()


def scan_and_import(control: JobControl | None, root: Path) -> OpenReport:
    """Rescan `root` (incremental) and import its tag files (format auto-detected)."""
    from clml_desktop.collection.importing import import_folder
    from clml_desktop.collection.scan import scan_folder
    from clml_desktop.collection.store import CollectionStore

    def progress(done: int, total: int) -> None:
        if control is not None:
            control.report(done, total, "Scanning")

    def cancelled() -> bool:
        return control is not None and control.cancelled

    report = OpenReport()
    store = CollectionStore.open(Path(root))
    try:
        scan: Any = scan_folder(store, progress=progress, cancel=cancelled)
        report.added, report.changed, report.removed = scan.added, scan.changed, scan.removed
        report.problems.extend(scan.problems)
        report.cancelled = bool(getattr(scan, "cancelled", False))
        if not report.cancelled and not cancelled():
            if control is not None:
                control.report(0, 0, "Reading tag files")
            imported: Any = import_folder(store, fmt="auto", tag_files=getattr(scan, "tag_files", None))
            report.imported_positives = int(getattr(imported, "positives_added", 0) or 0)
            report.imported_negatives = int(getattr(imported, "negatives_added", 0) or 0)
            known = {(p.path, p.message) for p in report.problems}
            report.problems.extend(
                p for p in getattr(imported, "problems", []) if (p.path, p.message) not in known
            )
        else:
            report.cancelled = True
        report.images = store.image_count()
    finally:
        store.close()
    return report

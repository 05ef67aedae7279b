"""Open a folder: prepare its store, then scan it and import its tag files.

The window and the command line open a folder the same way, through these
functions, so a folder the CLI scanned holds what the window would show.
Split in two so the window shows a re-opened collection's grid at once (the
store already knows its images) while the rescan runs; a new folder shows an
empty grid with progress until the scan has found its files. A function
given a path opens its own store connection (ADR 0001: one per thread) and
closes it before returning.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from clml_contract.preprocess import IMAGE_EXTENSIONS
from clml_contract.progress import Control, Steps
from clml_desktop.collection.importing import READING_TAG_FILES, ImportSummary, import_folder
from clml_desktop.collection.labels import Problem
from clml_desktop.collection.location import existing_db
from clml_desktop.collection.rows import ScanReport
from clml_desktop.collection.scan import scan_folder
from clml_desktop.collection.store import CollectionStore


@dataclass
class OpenReport:
    """What scanning and importing a folder found, for the status bar, the CLI and the log.

    `imported` is None when the scan was cancelled (nothing was imported);
    `problems` holds the scan's and the import's, each once.
    """

    scan: ScanReport = field(default_factory=ScanReport)
    imported: ImportSummary | None = None
    images: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def cancelled(self) -> bool:
        return self.imported is None or self.imported.cancelled

    def summary(self) -> str:
        if self.cancelled:
            return f"Scan cancelled: {self.images:,} images so far"
        scan = self.scan
        parts = [f"{self.images:,} images"]
        if scan.added or scan.changed or scan.removed:
            parts.append(f"{scan.added:,} new, {scan.changed:,} changed, {scan.removed:,} removed")
        imported = self.imported
        if imported is not None and (imported.positives_added or imported.negatives_added):
            parts.append(f"{imported.positives_added:,} tags imported")
        if self.problems:
            n = len(self.problems)
            parts.append(f"{n:,} problem{'s' if n != 1 else ''} (filter: Problems)")
        return "Scanned: " + ", ".join(parts)


@dataclass(frozen=True)
class EmptyFolder:
    """A folder with no images and no store: nothing was created in it (there is
    nothing to keep yet); the store is made once an image appears and it is opened
    again (Rescan in the window, `scan` on the command line)."""

    root: Path

    def message(self) -> str:
        return empty_folder_message(self.root)


def image_types() -> str:
    """The image file types a scan reads, for messages: '.bmp, .gif, .jpeg, ...'."""
    return ", ".join(sorted(IMAGE_EXTENSIONS))


def empty_folder_message(root: Path) -> str:
    return (f"{root} has no images. CLML Desktop reads {image_types()} files, in the folder "
            "and its subfolders (hidden ones are skipped).")


def has_images(folder: Path) -> bool:
    """Whether a scan of `folder` would find any image (its rules, ADR 0011: hidden
    entries and symlinks skipped, a link's target counted under its own name); stops at
    the first one found."""
    pending = [Path(folder)]
    while pending:
        try:
            entries = os.scandir(pending.pop())
        except OSError:
            continue
        with entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                try:
                    if entry.is_symlink():
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        pending.append(Path(entry.path))
                    elif os.path.splitext(entry.name)[1].lower() in IMAGE_EXTENSIONS:
                        return True
                except OSError:
                    continue
    return False


def prepare_store(control: Control | None, folder: Path) -> Path | EmptyFolder:
    """Create or migrate `<folder>/.clml` off the GUI thread; returns the resolved root,
    or `EmptyFolder` (and creates nothing) for a folder with no images and no store yet."""
    folder = Path(folder)
    if not folder.is_dir():
        raise NotADirectoryError(f"{folder}: not a folder")
    if existing_db(folder) is None and not has_images(folder):
        return EmptyFolder(folder.resolve())
    with CollectionStore.open(folder) as store:
        return Path(store.root)


def scan_and_import(control: Control | None, root: Path) -> OpenReport:
    """Rescan the collection at `root` (incremental) and import its tag files (format
    auto-detected), on a store connection of the calling thread."""
    with CollectionStore.open(Path(root)) as store:
        return rescan(store, control)


def rescan(store: CollectionStore, control: Control | None = None, *, fmt: str = "auto",
           force: bool = False) -> OpenReport:
    """Scan `store`'s folder, then import the tag files the scan listed (`fmt`, or every
    format found; `force` re-reads unchanged files). A cancel during the scan skips the
    import; one during the import keeps what it read (see `import_folder`)."""
    steps: Control = control if control is not None else Steps()
    scan = scan_folder(store, control=steps)
    report = OpenReport(scan=scan, problems=list(scan.problems))
    if not scan.cancelled and not steps.cancelled:
        steps.report(0, 0, READING_TAG_FILES)
        report.imported = import_folder(
            store, fmt, force=force, tag_files=scan.tag_files, control=steps
        )
        known = {(p.path, p.message) for p in report.problems}
        report.problems.extend(p for p in report.imported.problems if (p.path, p.message) not in known)
    report.images = store.image_count()
    return report

"""Repair a damaged collection store (ADR 0021): the one Qt-free path the window's
dialog and `clml-desktop repair` share.

A repair never deletes the damaged file: it is first moved, with its `-wal`
and `-shm`, to `<data dir>/damaged-<time>/`. Then either the newest backup
that passes `PRAGMA quick_check` is copied into place, or a fresh store is
made; either way the folder is scanned and its tag files imported (what
opening it does), and a rebuilt store registers the model folders under
`<data dir>/models/` again. The report says what was lost.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from clml_contract.progress import Control, Steps
from clml_desktop.collection import store_backup, store_health
from clml_desktop.collection.location import DB_NAME, choose_data_dir
from clml_desktop.collection.store import CollectionStore
from clml_desktop.collection.store_backup import Backup
from clml_desktop.workflow.opening import OpenReport, rescan

log = logging.getLogger(__name__)

AUTO, FROM_BACKUP, REBUILD = "auto", "backup", "rebuild"
METHODS = (AUTO, FROM_BACKUP, REBUILD)


def lost_after_restore(backup: Backup) -> str:
    return (
        f"Edits made after the backup of {backup.when()} are lost: labels added, removed or "
        "rejected since then, suggestions accepted since then, and the undo history after it. "
        "Tags written in the folder's tag files are read again."
    )


LOST_AFTER_REBUILD = (
    "Only what the folder's tag files say was kept. Lost: rejected suggestions and removed tags "
    "that no tag file records, accepted suggestions not yet written to a tag file, the undo "
    "history and the collection's settings (minimum likelihood, per-tag thresholds). Models "
    "stay as folders and are registered again; their scores are recomputed when needed."
)


class RepairError(Exception):
    """A repair that could not be done (nothing was changed); `usage` when the request
    itself was wrong (no collection there)."""

    def __init__(self, message: str, *, usage: bool = False) -> None:
        super().__init__(message)
        self.usage = usage


@dataclass
class StoreState:
    """A collection's store as a repair sees it: where, whether damaged, its backups."""

    root: Path
    data_dir: Path
    db_path: Path
    damage: str | None
    backups: list[Backup] = field(default_factory=list)
    read_only_reason: str | None = None

    @property
    def exists(self) -> bool:
        return self.db_path.is_file()


@dataclass
class RepairReport:
    """What a repair did: `method` is None when there was nothing to repair."""

    root: Path
    method: str | None = None
    backup: Backup | None = None
    aside: Path | None = None
    lost: str = ""
    skipped: list[tuple[Backup, str]] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    opened: OpenReport | None = None

    def lines(self) -> list[str]:
        """The report as lines a person reads (the CLI prints them; the window shows them)."""
        if self.method is None:
            return [f"{self.root}: the label database is not damaged; nothing was changed."]
        out = []
        for bad, problem in self.skipped:
            out.append(f"Skipped the backup of {bad.when()}: {problem}.")
        if self.method == FROM_BACKUP and self.backup is not None:
            out.append(f"Restored the backup of {self.backup.when()} ({self.backup.path.name}).")
        else:
            out.append("Rebuilt the label database from the folder's images and tag files.")
        if self.aside is not None:
            out.append(f"The damaged file was kept in {self.aside}.")
        if self.opened is not None:
            out.append(self.opened.summary() + ".")
        if self.models:
            out.append(f"Models registered again: {', '.join(self.models)}.")
        out.extend(self.problems)
        out.append(self.lost)
        return out

    @property
    def complete(self) -> bool:
        """The scan after the repair ran to its end (a cancel leaves it for the next open)."""
        return self.method is None or (self.opened is not None and not self.opened.cancelled)


def inspect(folder: Path, *, check: bool = True) -> StoreState:
    """Where the store of `folder` is, whether it is damaged (`check`: the full
    read-only check, every page; else only the header) and its backups."""
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise RepairError(f"{root}: not a folder", usage=True)
    root = root.resolve()
    try:
        data_dir, _fallback, read_only = choose_data_dir(root)
    except OSError as exc:
        raise RepairError(str(exc)) from exc
    db_path = data_dir / DB_NAME
    if not db_path.is_file():
        damage = None
    elif check:
        damage = store_health.check_file(db_path)
    else:
        damage = store_health.file_problem(db_path)
    if damage is None and store_health.emptied(db_path) and store_backup.backups(data_dir):
        damage = "the file is empty, yet it was backed up before: its contents were lost"
    return StoreState(root, data_dir, db_path, damage, store_backup.backups(data_dir), read_only)


def usable_backup(state: StoreState, chosen: Path | None = None) -> tuple[Backup | None, list[tuple[Backup, str]]]:
    """The newest backup (or `chosen`) that passes the integrity check, and those that failed."""
    skipped = []
    candidates = state.backups
    if chosen is not None:
        candidates = [b for b in state.backups if b.path.resolve() == Path(chosen).resolve()]
        if not candidates:
            raise RepairError(f"{chosen}: not one of the backups of {state.root}", usage=True)
    for backup in candidates:
        problem = store_health.check_file(backup.path)
        if problem is None:
            return backup, skipped
        skipped.append((backup, problem))
    return None, skipped


def move_aside(db_path: Path, now: float | None = None) -> Path:
    """Move the store file and its -wal/-shm into `damaged-<time>/` beside it; returns that folder."""
    stamp = datetime.fromtimestamp(time.time() if now is None else now).strftime("%Y%m%d-%H%M%S")
    folder = db_path.parent / f"damaged-{stamp}"
    n = 1
    while folder.exists():
        n += 1
        folder = db_path.parent / f"damaged-{stamp}-{n}"
    folder.mkdir()
    for suffix in ("", "-wal", "-shm"):
        part = db_path.with_name(db_path.name + suffix)
        if part.exists():
            os.replace(part, folder / part.name)
    return folder


def _register_models(store: CollectionStore, report: RepairReport) -> None:
    """A rebuilt store learns its model folders again; the newest becomes active."""
    from clml_desktop.inference.registry import register_model

    models_dir = Path(store.data_dir) / "models"
    rows = []
    for folder in sorted(p for p in models_dir.glob("*") if p.is_dir()) if models_dir.is_dir() else []:
        try:
            rows.append(register_model(store, folder, activate=False))
        except Exception as exc:  # one unusable folder must not stop the repair
            report.problems.append(f"Model folder {folder.name} was not registered: {exc}")
    if rows:
        newest = max(rows, key=lambda r: (r.created or "", r.id))
        store.set_active_model(newest.id)
        report.models = [r.id for r in rows]


def repair(control: Control | None, folder: Path, *, method: str = AUTO,
           backup: Path | None = None, force: bool = False) -> RepairReport:
    """Repair the store of `folder`: `method` AUTO (the newest good backup, else a
    rebuild), FROM_BACKUP (a backup or nothing; `backup` picks one) or REBUILD.
    A store that is not damaged is left alone unless `force`. Raises RepairError
    when nothing could be done; the damaged file is moved, never deleted."""
    if method not in METHODS:
        raise RepairError(f"unknown repair method {method!r}", usage=True)
    steps: Control = control if control is not None else Steps()
    steps.report(0, 0, "Checking the label database")
    state = inspect(folder)
    report = RepairReport(state.root)
    if state.read_only_reason is not None:
        raise RepairError(f"cannot repair: {state.read_only_reason}")
    if not state.exists and not state.backups:
        raise RepairError(f"{state.root}: no collection store to repair (never opened?)", usage=True)
    if state.damage is None and state.exists and not force:
        return report
    chosen = None
    if method in (AUTO, FROM_BACKUP):
        steps.report(0, 0, "Checking the backups")
        chosen, report.skipped = usable_backup(state, backup)
        if chosen is None and method == FROM_BACKUP:
            why = "; ".join(f"{b.when()}: {p}" for b, p in report.skipped) or "there are none"
            raise RepairError(f"no backup of {state.root} passes the integrity check ({why})")
    if state.exists or any(
        state.db_path.with_name(DB_NAME + s).exists() for s in ("-wal", "-shm")
    ):
        report.aside = move_aside(state.db_path)
        log.info("moved the damaged store of %s to %s", state.root, report.aside)
    if chosen is not None:
        steps.report(0, 0, f"Restoring the backup of {chosen.when()}")
        store_backup.restore(chosen.path, state.db_path)
        os.utime(state.db_path, (chosen.time, chosen.time))  # unchanged since that backup
        report.method, report.backup, report.lost = FROM_BACKUP, chosen, lost_after_restore(chosen)
    else:
        report.method, report.lost = REBUILD, LOST_AFTER_REBUILD
    with CollectionStore.open(state.root) as store:
        if report.method == REBUILD:
            steps.report(0, 0, "Registering the model folders")
            _register_models(store, report)
        report.opened = rescan(store, steps)
    return report

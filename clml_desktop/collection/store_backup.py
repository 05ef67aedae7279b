"""Backups of a collection's store: `<data dir>/backup/collection-<time>.sqlite` (ADR 0021).

A backup is taken with SQLite's online backup API (`sqlite3.Connection.backup`)
from a connection of its own, in one step: one read transaction, so the copy
is a consistent snapshot even while another connection writes (WAL), and the
live store's connection and lock are never held. The copy is switched to a
rollback journal (one self-contained file), checked with `PRAGMA quick_check`
and only then renamed into place, so a damaged store never pushes a good
generation out. `KEEP` generations stay; older ones are deleted.

When: on open, when the newest backup is older than `INTERVAL_S` and the store
changed since (file times), or when there is none yet and the store holds
images; and after an edit that changed `LARGE_EDIT_ROWS` rows or more, when
the newest backup is older than `LARGE_EDIT_INTERVAL_S`. A store opened
read-only is never backed up (its data dir cannot be written).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from clml_desktop.collection.store_health import quick_check

log = logging.getLogger(__name__)

BACKUP_DIR_NAME = "backup"
KEEP = 3
INTERVAL_S = 6 * 3600
LARGE_EDIT_ROWS = 2000
LARGE_EDIT_INTERVAL_S = 10 * 60
_PREFIX = "collection-"
_SUFFIX = ".sqlite"
_STAMP = "%Y%m%d-%H%M%S"


class DamagedCopy(Exception):
    """The fresh copy failed its integrity check: the live store is damaged."""


@dataclass(frozen=True)
class Backup:
    """One backup generation: its file and when it was taken (seconds since the epoch)."""

    path: Path
    time: float
    size: int

    def when(self) -> str:
        """The time it was taken, local, as a person reads it."""
        return datetime.fromtimestamp(self.time).strftime("%Y-%m-%d %H:%M")


def backup_dir(data_dir: Path) -> Path:
    return Path(data_dir) / BACKUP_DIR_NAME


def _name(now: float) -> str:
    stamp = datetime.fromtimestamp(now)
    return f"{_PREFIX}{stamp.strftime(_STAMP)}-{stamp.microsecond:06d}{_SUFFIX}"


def _time_of(path: Path) -> float | None:
    stem = path.name[len(_PREFIX):-len(_SUFFIX)]
    try:
        stamp, micro = stem.rsplit("-", 1)
        return datetime.strptime(stamp, _STAMP).timestamp() + int(micro) / 1e6
    except ValueError:
        return None


def backups(data_dir: Path) -> list[Backup]:
    """The backups of the store in `data_dir`, newest first."""
    found = []
    try:
        entries = list(os.scandir(backup_dir(data_dir)))
    except OSError:
        return []
    for entry in entries:
        name = entry.name
        if not (name.startswith(_PREFIX) and name.endswith(_SUFFIX)):
            continue
        when = _time_of(Path(name))
        try:
            size = entry.stat().st_size
        except OSError:
            continue
        if when is not None:
            found.append(Backup(Path(entry.path), when, size))
    found.sort(key=lambda b: b.time, reverse=True)
    return found


def _mtime(path: Path) -> float:
    try:
        st = path.stat()
    except OSError:
        return 0.0
    return st.st_mtime if st.st_size else 0.0


def changed_since(db_path: Path, when: float) -> bool:
    """Whether the store file or its write-ahead log was written after `when`."""
    wal = db_path.with_name(db_path.name + "-wal")
    return max(_mtime(db_path), _mtime(wal)) > when


def write_backup(db_path: Path, data_dir: Path, *, keep: int = KEEP) -> Backup:
    """Copy the store at `db_path` into `data_dir/backup/` and keep the `keep` newest.

    Raises DamagedCopy when the copy fails `quick_check` (nothing is kept), OSError or
    sqlite3.Error when the copy cannot be written.
    """
    folder = backup_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    now = time.time()
    final = folder / _name(now)
    partial = folder / f".{final.name}.{os.getpid()}.partial"
    problem = _copy(sqlite3.connect(db_path, timeout=30.0), partial, check=True)
    if problem is not None:
        partial.unlink(missing_ok=True)
        raise DamagedCopy(problem)
    os.replace(partial, final)
    rotate(data_dir, keep)
    return Backup(final, now, final.stat().st_size)


def _copy(source: sqlite3.Connection, partial: Path, *, check: bool = False) -> str | None:
    """Copy the database behind `source` into the new file `partial` with the online
    backup API (the whole file in one step: one snapshot), as one self-contained file;
    with `check`, return what `quick_check` finds in the copy. Closes `source`; on any
    failure the partial file is removed and the error raised."""
    try:
        target = sqlite3.connect(partial)
        try:
            source.backup(target)
            target.execute("PRAGMA journal_mode = DELETE")
            return quick_check(target) if check else None
        finally:
            target.close()
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        source.close()


def rotate(data_dir: Path, keep: int = KEEP) -> list[Path]:
    """Delete all but the `keep` newest backups (and stale partial copies); returns the deleted."""
    gone = []
    for old in backups(data_dir)[keep:]:
        try:
            old.path.unlink()
            gone.append(old.path)
        except FileNotFoundError:
            pass
    cutoff = time.time() - 3600
    for partial in backup_dir(data_dir).glob(".*.partial"):
        try:
            if partial.stat().st_mtime < cutoff:
                partial.unlink()
        except OSError:
            pass
    return gone


def due(db_path: Path, data_dir: Path, *, interval_s: float, has_content: bool,
        now: float | None = None) -> bool:
    """Whether a backup should be taken now (see the module doc)."""
    newest = next(iter(backups(data_dir)), None)
    if newest is None:
        return has_content
    now = time.time() if now is None else now
    return now - newest.time >= interval_s and changed_since(db_path, newest.time)


def maybe_backup(db_path: Path, data_dir: Path, *, interval_s: float = INTERVAL_S,
                 has_content: bool = True) -> Backup | None:
    """Take a backup when one is due; None when none was (or it could not be written:
    a backup never stops the store from opening, the failure is logged).
    DamagedCopy propagates: the store itself is damaged."""
    try:
        if not due(db_path, data_dir, interval_s=interval_s, has_content=has_content):
            return None
        started = time.perf_counter()
        made = write_backup(db_path, data_dir)
        log.info("backed up %s to %s in %.0f ms", db_path, made.path,
                 (time.perf_counter() - started) * 1000)
        return made
    except DamagedCopy:
        raise
    except (OSError, sqlite3.Error) as exc:
        log.warning("could not back up %s: %s", db_path, exc)
        return None


def restore(backup: Path, db_path: Path) -> None:
    """Write the backup file over `db_path` (which must have been moved aside first):
    copied with the backup API into a temporary file, then renamed into place."""
    partial = db_path.with_name(f".{db_path.name}.restoring")
    partial.unlink(missing_ok=True)
    _copy(sqlite3.connect(f"{Path(backup).resolve().as_uri()}?mode=ro", uri=True), partial)
    os.replace(partial, db_path)

"""Where a collection's database lives: `<folder>/.clml/`, or a per-user folder
when the collection folder cannot be written (a read-only share, a DVD, a
folder owned by someone else). The fallback is keyed by the folder's resolved
path, so reopening the same read-only folder finds its labels again.
"""

from __future__ import annotations

import errno
import hashlib
import shutil
import tempfile
from pathlib import Path

import platformdirs

DB_NAME = "collection.sqlite"
DATA_DIR_NAME = ".clml"
# Only these mean "this folder cannot be written" (EEXIST/ENOTDIR: a file named
# .clml is in the way); any other error is real and
# must surface instead of quietly moving the labels somewhere else.
_NOT_WRITABLE = {
    errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.EEXIST, errno.ENOTDIR
}


def fallback_dir(root: Path) -> Path:
    """The per-user data folder for a collection whose own folder is read-only."""
    digest = hashlib.sha1(str(Path(root).resolve()).encode("utf-8")).hexdigest()
    return Path(platformdirs.user_data_dir("clml-desktop")) / "collections" / digest


def _writable_dir(folder: Path) -> None:
    """Create `folder` and prove a file can be written in it (raises OSError if not).

    A real write is the only honest test: os.access says yes to root on a
    read-only mount, and a folder may be writable while its parent is not.
    Each probe has a unique name: two processes opening the same collection at
    once must not trip over each other's probe and wrongly fall back.
    """
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-probe-") as fh:
        fh.write(b"ok")


def _copy_database(source: Path, target: Path) -> None:
    """Copy a WAL-mode database with its write-ahead log, so recent commits come along.

    The main file alone may lack the newest edits (they live in `-wal` until a
    checkpoint); SQLite replays a copied `-wal` when the copy is first opened.
    """
    wal = source.with_name(source.name + "-wal")
    if wal.is_file():
        shutil.copy2(wal, target.with_name(target.name + "-wal"))
    shutil.copy2(source, target)


def choose_data_dir(root: Path) -> tuple[Path, str | None]:
    """Return (data_dir, fallback_reason); the reason is None when `.clml/` is used.

    When `.clml/` cannot be written but already holds a database (the folder
    became read-only later), that database is copied to the fallback the first
    time, so no labels are left behind.
    """
    root = Path(root)
    own = root / DATA_DIR_NAME
    try:
        _writable_dir(own)
        return own, None
    except OSError as exc:
        if exc.errno not in _NOT_WRITABLE:
            raise
        problem = exc.strerror or str(exc)
    alt = fallback_dir(root)
    try:
        _writable_dir(alt)
    except OSError as exc:
        raise OSError(
            f"cannot store the collection of {root}: {own} is not writable ({problem}) "
            f"and neither is {alt} ({exc.strerror or exc})"
        ) from exc
    existing = own / DB_NAME
    copied = ""
    if existing.is_file() and not (alt / DB_NAME).exists():
        _copy_database(existing, alt / DB_NAME)
        copied = f"; the labels in {existing} were copied there"
    reason = f"{own} is not writable ({problem}); the collection is kept in {alt} instead{copied}"
    return alt, reason


def existing_db(root: Path) -> Path | None:
    """The database of `root` if one was made before (in `.clml/` or the fallback)."""
    for folder in (Path(root) / DATA_DIR_NAME, fallback_dir(root)):
        candidate = folder / DB_NAME
        if candidate.is_file():
            return candidate
    return None

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
from typing import NamedTuple

import platformdirs

DB_NAME = "collection.sqlite"
DATA_DIR_NAME = ".clml"
# Only these mean "this folder cannot be written" (EEXIST/ENOTDIR: a file named
# .clml is in the way) and choose the per-user fallback. Any other error (a full
# disk, a quota, an I/O error) is transient: the collection keeps its own store,
# opened read-only when one exists, and the error is reported, never hidden
# behind a second, empty store.
_NOT_WRITABLE = {errno.EACCES, errno.EPERM, errno.EROFS, errno.EEXIST, errno.ENOTDIR}
_DISK_FULL = {errno.ENOSPC, errno.EDQUOT}


class DataDir(NamedTuple):
    """Where the store lives and why: `fallback_reason` when it is the per-user
    folder, `read_only_reason` when it can be read but not written."""

    path: Path
    fallback_reason: str | None = None
    read_only_reason: str | None = None


def _problem(exc: OSError) -> str:
    text = exc.strerror or str(exc)
    return f"disk full ({text})" if exc.errno in _DISK_FULL else text


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


def choose_data_dir(root: Path) -> DataDir:
    """Where the store of `root` lives: `.clml/`, or the per-user fallback.

    Only a folder the person cannot write (EACCES/EPERM/EROFS, or a file named
    .clml in the way) moves the store to the fallback. When `.clml/` cannot be
    written for such a reason but already holds a database (the folder became
    read-only later), that database is copied to the fallback the first time,
    so no labels are left behind. Any other error (disk full, quota, EIO) keeps
    the collection's existing store, read-only; with no store yet it is raised.
    """
    root = Path(root)
    own = root / DATA_DIR_NAME
    try:
        _writable_dir(own)
        return DataDir(own)
    except OSError as exc:
        if exc.errno not in _NOT_WRITABLE:
            return _transient_failure(root, own, exc)
        problem = _problem(exc)
    alt = fallback_dir(root)
    try:
        _writable_dir(alt)
    except OSError as exc:
        raise OSError(
            f"cannot store the collection of {root}: {own} is not writable ({problem}) "
            f"and neither is {alt} ({_problem(exc)})"
        ) from exc
    existing = own / DB_NAME
    copied = ""
    if existing.is_file() and not (alt / DB_NAME).exists():
        _copy_database(existing, alt / DB_NAME)
        copied = f"; the labels in {existing} were copied there"
    reason = f"{own} is not writable ({problem}); the collection is kept in {alt} instead{copied}"
    return DataDir(alt, fallback_reason=reason)


def _transient_failure(root: Path, own: Path, exc: OSError) -> DataDir:
    """`.clml/` failed with something other than "not allowed": never switch stores.

    The existing store (in `.clml/`, or the fallback a read-only past made) is
    opened read-only with the reason; with no store at all the error is raised.
    """
    problem = _problem(exc)
    for folder in (own, fallback_dir(root)):
        if (folder / DB_NAME).is_file():
            if folder != own:
                return DataDir(folder, fallback_reason=f"{own} cannot be written ({problem}); "
                               f"the collection is kept in {folder}")
            return DataDir(own, read_only_reason=(
                f"{root}: cannot write the collection store in {own}: {problem}; "
                "the labels can be read but nothing can be changed until that is fixed"
            ))
    raise OSError(f"cannot create the collection store of {root} in {own}: {problem}") from exc


def existing_db(root: Path) -> Path | None:
    """The database of `root` if one was made before (in `.clml/` or the fallback)."""
    for folder in (Path(root) / DATA_DIR_NAME, fallback_dir(root)):
        candidate = folder / DB_NAME
        if candidate.is_file():
            return candidate
    return None

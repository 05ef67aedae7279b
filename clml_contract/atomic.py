"""Atomic writes with a first-overwrite backup: a person's labels are never lost.

A write goes to a temporary file in the target's folder, is fsynced, then
renamed over the target, so a crash or kill leaves either the old or the new
file, never half of one. The first time we overwrite a file we did not write
ourselves, a copy goes to `<collection>/.clml/backup/<relpath>` first.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def atomic_write_bytes(target: Path, data: bytes) -> None:
    """Replace `target` with `data` in one rename, after the bytes are on disk."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    # the temporary name adds 14 bytes: cut the target's name so a 255-byte name can still be written
    short = target.name.encode("utf-8", "surrogateescape")[:200].decode("utf-8", "ignore")
    fd, tmp = tempfile.mkstemp(prefix=f".{short}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if target.exists():
            shutil.copymode(target, tmp)
        else:
            os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)


def atomic_write_text(target: Path, text: str, encoding: str = "utf-8") -> None:
    """Text flavour of `atomic_write_bytes` (UTF-8, newlines as given)."""
    atomic_write_bytes(target, text.encode(encoding))


def backup_once(target: Path, collection_root: Path, backup_root: Path) -> Path | None:
    """Copy `target` into `backup_root` the first time it is about to be overwritten.

    Returns the backup path when one was made now; None when the file does not
    exist, lies outside the collection, or was already backed up.
    """
    target = Path(target)
    if not target.exists():
        return None
    try:
        rel = target.resolve().relative_to(Path(collection_root).resolve())
    except ValueError:
        return None
    dest = Path(backup_root) / rel
    if dest.exists():
        return None
    dest.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(dest, target.read_bytes())
    return dest


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (POSIX); harmless where unsupported."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)

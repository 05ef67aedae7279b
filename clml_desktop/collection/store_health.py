"""Is a collection's store file intact? Cheap checks for opening, a full one for repairs.

Opening a store runs `file_problem` (one read of the 100-byte header and a
stat: a file that is not a database, or one cut short). SQLite's own errors
(`SQLITE_CORRUPT`, `SQLITE_NOTADB`) are recognised by `is_damage`.
`PRAGMA quick_check` reads every page, so it runs where it is cheap enough:
on each backup copy (at most once per backup interval, ADR 0021) and when a
person asks for a repair, never on every open.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

_MAGIC = b"SQLite format 3\x00"
_HEADER = 100


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _mib(n: int) -> str:
    return f"{n / 1048576:.1f} MiB" if n >= 1048576 else f"{n:,} bytes"


def file_problem(db_path: Path) -> str | None:
    """Why the file at `db_path` cannot be a whole SQLite database, or None when its
    header looks right. Never opens it with SQLite, so it changes nothing."""
    db_path = Path(db_path)
    try:
        with open(db_path, "rb") as fh:
            header = fh.read(_HEADER)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"the file cannot be read ({exc.strerror or exc})"
    wal = _size(db_path.with_name(db_path.name + "-wal"))
    if not header:
        # WAL mode: a new store may live wholly in its -wal until the first checkpoint.
        return None
    if len(header) < _HEADER or not header.startswith(_MAGIC):
        return "the file is not a database any more (its first bytes were overwritten or cut off)"
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    counter_valid = header[24:28] == header[92:96]
    size = _size(db_path)
    if wal == 0 and counter_valid and pages and size < pages * page_size:
        return (
            f"the file is cut short (it should hold {_mib(pages * page_size)} but has only "
            f"{_mib(size)}; a crash, a full disk or an interrupted copy can do this)"
        )
    return None


def is_damage(exc: BaseException) -> bool:
    """Whether a SQLite error means the file is damaged (not busy, not read-only)."""
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    name = getattr(exc, "sqlite_errorname", "") or ""
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")):
        return True
    text = str(exc).lower()
    return "malformed" in text or "not a database" in text


def in_words(exc: BaseException) -> str:
    """A damaged-file SQLite error as a person would say it."""
    text = str(exc).lower()
    if "not a database" in text:
        return "the file is not a database any more (SQLite says: file is not a database)"
    return "parts of the file are missing or garbled (SQLite says: database disk image is malformed)"


def quick_check(conn: sqlite3.Connection) -> str | None:
    """`PRAGMA quick_check` on `conn`: None when it says ok, else its first findings."""
    try:
        rows = [r[0] for r in conn.execute("PRAGMA quick_check(5)").fetchall()]
    except sqlite3.DatabaseError as exc:
        if not is_damage(exc):
            raise
        return in_words(exc)
    if rows == ["ok"]:
        return None
    return "the integrity check found damage: " + "; ".join(str(r) for r in rows)


def check_file(db_path: Path) -> str | None:
    """The full verdict on a store file without changing it: `file_problem`, then a
    read-only `quick_check` (reads every page). None when the file is whole."""
    problem = file_problem(db_path)
    if problem is not None:
        return problem
    db_path = Path(db_path)
    if not db_path.is_file():
        return "the file is missing"
    # Without a write-ahead log, `immutable` reads the file and writes nothing beside it
    # (a read-only WAL connection would leave -wal/-shm files behind).
    mode = "ro" if _size(db_path.with_name(db_path.name + "-wal")) else "ro&immutable=1"
    try:
        conn = sqlite3.connect(f"{db_path.resolve().as_uri()}?mode={mode}", uri=True, timeout=10.0)
    except sqlite3.DatabaseError as exc:
        return in_words(exc) if is_damage(exc) else None  # busy, locked: not known damaged
    try:
        return quick_check(conn)
    except sqlite3.DatabaseError:
        return None  # busy, locked: not known damaged
    finally:
        conn.close()


def emptied(db_path: Path) -> bool:
    """The store file exists but holds nothing, with no write-ahead log either (a new
    store right after creation looks the same; a store that has backups does not)."""
    db_path = Path(db_path)
    return db_path.is_file() and _size(db_path) == 0 and _size(db_path.with_name(db_path.name + "-wal")) == 0

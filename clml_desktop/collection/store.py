"""The collection store: one SQLite file per collection holding images, tags,
labels, models, cached predictions and the undo log (ADR 0001).

Every public edit is one `BEGIN IMMEDIATE` transaction and one undo step, so a
crash leaves either the whole edit or none of it, and two processes on the
same folder queue up behind SQLite's lock (busy timeout) instead of failing.
The object is safe to share between threads (one connection behind a lock);
a busy worker may also open its own store on the same folder.
"""

from __future__ import annotations

import json
import math
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from clml_contract.tagnames import TagNameError
from clml_desktop.collection import (
    edit_log,
    image_table,
    label_import,
    label_plan,
    label_reads,
    predictions,
    store_backup,
    store_health,
    tag_edits,
    tag_table,
)
from clml_desktop.collection.labels import ImageLabels, LabelSource, LabelState, Problem
from clml_desktop.collection.location import DB_NAME, choose_data_dir, existing_db
from clml_desktop.collection.rows import (
    EditRow,
    ImageInfo,
    ImageRow,
    ImportReport,
    LabelChange,
    LabelMatrix,
    LabelRow,
    LoggedLabelChange,
    LoggedTagChange,
    ModelRow,
    PredictionIn,
    PredictionMatrix,
    ScanDelta,
    TagCount,
    TagRow,
)
from clml_desktop.collection.schema import SCHEMA_VERSION, SchemaError, migrate, stored_version

_SOURCES = {s.value for s in LabelSource}
# The `meta` row holding the collection's minimum likelihood for suggestions.
MIN_LIKELIHOOD_KEY = "min_likelihood"
_IMAGE_COLUMNS = (
    "id, path, size, mtime_ns, width, height, problem, version, missing, tag_file_problem"
)


class StoreError(RuntimeError):
    """A store operation was refused; the message says why and names the file or tag."""


class DamagedStoreError(StoreError):
    """The store file is damaged (cut short, overwritten, garbled): it cannot be opened.

    `reason` says what is wrong in plain words; `root` is the collection folder,
    `db_path` the file. The fix is a repair (`workflow.repair`, ADR 0021).
    """

    def __init__(self, root: Path, db_path: Path, reason: str) -> None:
        self.root, self.db_path, self.reason = Path(root), Path(db_path), reason
        super().__init__(
            f"the label database of {self.root} is damaged: {reason}. Its file is {self.db_path}; "
            "it can be restored from a backup or rebuilt from the folder's tag files"
        )


class _NoChange(Exception):
    """Raised inside an edit that turned out to change nothing (rolled back, no undo step)."""


def _image_row(r: tuple) -> ImageRow:
    return ImageRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], bool(r[8]), r[9])


def _id_list(image_ids: int | Iterable[int]) -> list[int]:
    if isinstance(image_ids, (int, np.integer)):
        return [int(image_ids)]
    return [int(i) for i in image_ids]


# Background writers (scores, scans) commit in slices of about this long, so an
# edit on the GUI thread waits at most about one slice for the write lock (ADR 0010).
WRITE_SLICE_SECONDS = 0.015
_FIRST_SLICE = 64


def _next_slice(size: int, seconds: float) -> int:
    """The next slice's row count, steered towards `WRITE_SLICE_SECONDS`."""
    if seconds > WRITE_SLICE_SECONDS:
        return max(8, int(size * WRITE_SLICE_SECONDS / seconds))
    if seconds < WRITE_SLICE_SECONDS / 2:
        return min(4096, size * 2)
    return size


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


@dataclass(frozen=True)
class _Verb:
    """What one label verb does to an (image, tag) pair: moves it to `state` with
    `source`, said as `wording` unless the caller describes the edit. With
    `only_from`, only pairs now in that state move, and an unknown tag is never
    created; moving to unknown never creates one either."""

    state: LabelState
    source: str
    wording: str
    only_from: LabelState | None = None


_ADD = _Verb(LabelState.POSITIVE, LabelSource.MANUAL, "Add “{tag}” to {images}")
_REMOVE = _Verb(LabelState.NEGATIVE, LabelSource.MANUAL, "Remove “{tag}” from {images}",
                only_from=LabelState.POSITIVE)
_FORGET = _Verb(LabelState.UNKNOWN, "", "Forget “{tag}” on {images}")
_REJECT = _Verb(LabelState.NEGATIVE, LabelSource.MANUAL, "Reject “{tag}” on {images}")
_ACCEPT = _Verb(LabelState.POSITIVE, LabelSource.ACCEPTED, "Accept “{tag}” on {images}")


# How many SQLite connections of this process use each database file (see __init__).
_OPEN: dict[Path, int] = {}
_OPEN_LOCK = threading.Lock()


def _release(db_path: Path) -> None:
    """One connection of this process to `db_path` is gone."""
    with _OPEN_LOCK:
        left = _OPEN.get(db_path, 1) - 1
        if left > 0:
            _OPEN[db_path] = left
        else:
            _OPEN.pop(db_path, None)


def _switch_to_wal(conn: sqlite3.Connection, timeout_s: float = 30.0) -> None:
    """`PRAGMA journal_mode = WAL`, waiting out another process that is creating the same
    store: SQLite answers "database is locked" at once there, without its busy handler
    (two first opens of one new collection failed about one run in twelve)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _hold(db_path: Path) -> None:
    """One more connection of this process uses `db_path` (the caller holds _OPEN_LOCK)."""
    _OPEN[db_path] = _OPEN.get(db_path, 0) + 1


class CollectionStore:
    """Open with `CollectionStore.open(folder)`; use as a context manager or call close()."""

    def __init__(self, folder: Path) -> None:
        root = Path(folder).expanduser()
        if not root.is_dir():
            raise StoreError(f"{root}: not a folder")
        self.root: Path = root.resolve()
        try:
            self.data_dir, self.fallback_reason, self.read_only_reason = choose_data_dir(self.root)
        except OSError as exc:
            raise StoreError(str(exc)) from exc
        self.db_path: Path = self.data_dir / DB_NAME
        self._lock = threading.RLock()
        self.backup_thread: threading.Thread | None = None
        self._registered = False
        with _OPEN_LOCK:
            # The raw header read opens and closes the file outside SQLite, and on POSIX a
            # close drops every lock this process holds on that file: only safe while no
            # connection of this process has it open (the first open of a process).
            problem = None if _OPEN.get(self.db_path) else store_health.file_problem(self.db_path)
            if problem is None and store_health.emptied(self.db_path) and store_backup.backups(self.data_dir):
                problem = "the file is empty, yet it was backed up before: its contents were lost"
            if problem is not None:
                raise DamagedStoreError(self.root, self.db_path, problem)
            _hold(self.db_path)
            self._registered = True
        try:
            self._connect_and_migrate()
        except BaseException:
            self._unregister()
            raise
        if self.read_only_reason is None:
            self._backup(store_backup.INTERVAL_S, close_on_damage=True)

    def _unregister(self) -> None:
        """This store's connection is gone: the process holds one fewer on its file."""
        if self._registered:
            self._registered = False
            _release(self.db_path)

    def _connect_and_migrate(self) -> None:
        try:
            if self.read_only_reason is None:
                self._conn = sqlite3.connect(
                    self.db_path, timeout=30.0, isolation_level=None, check_same_thread=False
                )
            else:  # the folder cannot be written just now: read the store, never write it
                self._conn = sqlite3.connect(
                    f"{self.db_path.as_uri()}?mode=ro", uri=True, timeout=30.0,
                    isolation_level=None, check_same_thread=False,
                )
            self._conn.execute("PRAGMA busy_timeout = 30000")
            if self.read_only_reason is None:
                _switch_to_wal(self._conn)
            self._conn.execute("PRAGMA synchronous = NORMAL")
            self._conn.execute("PRAGMA foreign_keys = ON")
            if self.read_only_reason is None:
                migrate(self._conn)
            elif (version := stored_version(self._conn)) != SCHEMA_VERSION:
                raise SchemaError(
                    f"schema version {version} needs upgrading to {SCHEMA_VERSION}, "
                    f"but {self.read_only_reason}"
                )
        except (sqlite3.DatabaseError, SchemaError) as exc:
            if hasattr(self, "_conn"):
                self._conn.close()
            if store_health.is_damage(exc):
                raise DamagedStoreError(self.root, self.db_path, store_health.in_words(exc)) from exc
            raise StoreError(f"{self.db_path}: {exc}") from exc

    def _backup_in_background(self) -> None:
        """After a large edit: a backup when the last is older than LARGE_EDIT_INTERVAL_S,
        on a thread of its own (it opens its own connection; about 0.5 s on a 20k-image
        store must not stall the GUI thread). `backup_thread` is it, for tests."""
        if self.read_only_reason is not None or (
            self.backup_thread is not None and self.backup_thread.is_alive()
        ):
            return
        self.backup_thread = threading.Thread(
            target=self._backup, args=(store_backup.LARGE_EDIT_INTERVAL_S,),
            kwargs={"has_content": True}, name="store backup", daemon=True,
        )
        self.backup_thread.start()

    def _backup(self, interval_s: float, *, has_content: bool | None = None,
                close_on_damage: bool = False) -> None:
        """Back the store up when one is due (store_backup); a copy that fails its
        integrity check means this store is damaged: on open that is raised."""
        try:
            if has_content is None:
                with self._lock:
                    has_content = bool(
                        self._conn.execute("SELECT EXISTS(SELECT 1 FROM images)").fetchone()[0]
                    )
            with _OPEN_LOCK:  # the backup's own connection counts as one of this process's
                _hold(self.db_path)
            try:
                store_backup.maybe_backup(self.db_path, self.data_dir, interval_s=interval_s,
                                          has_content=has_content)
            finally:
                _release(self.db_path)
        except store_backup.DamagedCopy as exc:
            if not close_on_damage:
                return  # an edit already committed; the next open reports it
            self._conn.close()
            self._unregister()
            raise DamagedStoreError(self.root, self.db_path, str(exc)) from exc
        except sqlite3.DatabaseError as exc:
            if close_on_damage and store_health.is_damage(exc):
                self._conn.close()
                self._unregister()
                raise DamagedStoreError(self.root, self.db_path, store_health.in_words(exc)) from exc

    @classmethod
    def open(cls, folder: Path) -> CollectionStore:
        """Open (creating on first use) the store of the collection at `folder`."""
        return cls(folder)

    @staticmethod
    def exists(folder: Path) -> bool:
        """Whether `folder` was opened as a collection before (own or fallback database)."""
        return existing_db(Path(folder).expanduser().resolve()) is not None

    def close(self) -> None:
        """Close the connection (a WAL checkpoint happens on the last close)."""
        with self._lock:
            self._conn.close()
        self._unregister()

    def __enter__(self) -> CollectionStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions -------------------------------------------------------

    @contextmanager
    def _write(self, *, check_foreign_keys: bool = True) -> Iterator[sqlite3.Connection]:
        """One write transaction. `check_foreign_keys=False` is for a bulk insert whose ids
        were all read from their parent tables inside the same transaction (SQLite only
        switches the checks outside a transaction, so they go off around it)."""
        with self._lock:
            if not check_foreign_keys:
                self._conn.execute("PRAGMA foreign_keys = OFF")
            try:
                with self._transaction() as conn:
                    yield conn
            finally:
                if not check_foreign_keys:
                    self._conn.execute("PRAGMA foreign_keys = ON")

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self.read_only_reason is not None:
                raise StoreError(self.read_only_reason)
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise StoreError(f"{self.db_path}: {exc} (is another program writing it?)") from exc
            try:
                yield conn
            except (
                TagNameError,
                tag_table.UnknownTag,
                tag_edits.TagClash,
                label_plan.UnknownImages,
                edit_log.EditConflict,
                KeyError,
            ) as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise StoreError(exc.args[0] if exc.args else str(exc)) from exc
            except sqlite3.OperationalError as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise StoreError(f"{self.db_path}: {exc}") from exc
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot for reads that take several queries."""
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                conn.execute("COMMIT")

    def _edit(
        self, description: str, body: Callable[[sqlite3.Connection, int], object]
    ) -> int | None:
        """Run `body` as one logged edit; returns the edit id, None when nothing changed."""
        try:
            with self._write() as conn:
                before = conn.total_changes
                edit_id = edit_log.begin_edit(conn, description)
                body(conn, edit_id)
                changed = conn.execute(
                    "SELECT EXISTS(SELECT 1 FROM label_changes WHERE edit_id = ?)"
                    " OR EXISTS(SELECT 1 FROM tag_changes WHERE edit_id = ?)",
                    (edit_id, edit_id),
                ).fetchone()[0]
                if not changed:
                    raise _NoChange
                rows = conn.total_changes - before
        except _NoChange:
            return None
        if rows >= store_backup.LARGE_EDIT_ROWS:  # a large edit: keep it safe (ADR 0021)
            self._backup_in_background()
        return edit_id

    # -- images -------------------------------------------------------------

    def upsert_images(self, infos: Iterable[ImageInfo]) -> ScanDelta:
        """Add new images, update changed ones (bumping `version`), bring back missing ones."""
        with self._write() as conn:
            return image_table.upsert(conn, list(infos))

    def remove_images(self, paths: Iterable[str]) -> int:
        """Mark images whose files are gone as missing; their labels stay for when they return."""
        items = [(p,) for p in paths]
        with self._write() as conn:
            before = conn.total_changes
            conn.executemany("UPDATE images SET missing = 1 WHERE path = ? AND missing = 0", items)
            return conn.total_changes - before

    def images(self, *, include_missing: bool = False) -> list[ImageRow]:
        """Images ordered by path; files that vanished are left out unless asked for."""
        where = "" if include_missing else " WHERE missing = 0"
        with self._lock:
            rows = self._conn.execute(f"SELECT {_IMAGE_COLUMNS} FROM images{where} ORDER BY path")
            return [_image_row(r) for r in rows]

    def image(self, image_id: int) -> ImageRow:
        """One image by id (StoreError when unknown)."""
        with self._lock:
            r = self._conn.execute(
                f"SELECT {_IMAGE_COLUMNS} FROM images WHERE id = ?", (int(image_id),)
            ).fetchone()
        if r is None:
            raise StoreError(f"no image with id {image_id} in {self.root}")
        return _image_row(r)

    def image_by_path(self, relpath: str) -> ImageRow | None:
        """One image by its collection-relative POSIX path."""
        with self._lock:
            r = self._conn.execute(
                f"SELECT {_IMAGE_COLUMNS} FROM images WHERE path = ?", (relpath,)
            ).fetchone()
        return _image_row(r) if r else None

    def image_count(self) -> int:
        """Number of present (not missing) images."""
        with self._lock:
            return self._conn.execute("SELECT COUNT(*) FROM images WHERE missing = 0").fetchone()[0]

    def scan_index(self) -> dict[str, tuple[int, int, bool]]:
        """path -> (size, mtime_ns, missing) for every known image: what a rescan compares with."""
        with self._lock:
            return {
                r[0]: (r[1], r[2], bool(r[3]))
                for r in self._conn.execute("SELECT path, size, mtime_ns, missing FROM images")
            }

    def present_paths(self) -> list[str]:
        """Paths of present (not missing) images in path order, read straight off the path index."""
        with self._lock:
            return [
                r[0]
                for r in self._conn.execute("SELECT path FROM images WHERE missing = 0 ORDER BY path")
            ]

    def set_image_problem(self, image_id: int, problem: str | None) -> None:
        """Mark the image FILE as unusable (or clear the mark); such images are never scored."""
        with self._write() as conn:
            conn.execute("UPDATE images SET problem = ? WHERE id = ?", (problem, int(image_id)))

    def set_tag_file_problem(self, image_id: int, problem: str | None) -> None:
        """Mark the image's tag file as unreadable (or clear it); the image itself stays usable."""
        with self._write() as conn:
            conn.execute(
                "UPDATE images SET tag_file_problem = ? WHERE id = ?", (problem, int(image_id))
            )

    def tag_file_problems(self) -> dict[str, str]:
        """relpath -> tag-file problem of every image (missing ones too) that has one."""
        with self._lock:
            return dict(
                self._conn.execute(
                    "SELECT path, tag_file_problem FROM images WHERE tag_file_problem IS NOT NULL"
                )
            )

    def set_tag_file_problems(self, problems: dict[str, str | None]) -> None:
        """Set or clear (None) the tag-file problem of images by path, in one transaction."""
        with self._write() as conn:
            conn.executemany(
                "UPDATE images SET tag_file_problem = ? WHERE path = ?",
                [(message, path) for path, message in problems.items()],
            )

    def problems(self) -> list[Problem]:
        """Every problem of present images (image file first, then tag file), by path."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT path, problem, tag_file_problem FROM images WHERE missing = 0"
                " AND (problem IS NOT NULL OR tag_file_problem IS NOT NULL) ORDER BY path"
            ).fetchall()
        return [
            Problem(path, message)
            for path, image_problem, tag_problem in rows
            for message in (image_problem, tag_problem)
            if message is not None
        ]

    # -- tags ---------------------------------------------------------------

    def tags(self) -> list[TagRow]:
        """Live tags in creation order."""
        with self._lock:
            return [
                TagRow(*r)
                for r in self._conn.execute(
                    "SELECT id, name, key FROM tags WHERE deleted = 0 ORDER BY id"
                )
            ]

    def tag_counts(self) -> list[TagCount]:
        """Positives and negatives per live tag (creation order), over present images."""
        with self._read() as conn:
            return label_reads.tag_counts(conn)

    def ensure_tag(self, name: str) -> int:
        """The id of the tag matching `name` (exactly, then by key), created empty if none."""
        with self._write() as conn:
            return tag_table.resolve(conn, name, None)

    def tag_id(self, name_or_id: str | int) -> int | None:
        """A live tag's id: by id, exact name, then alias key; None when there is none."""
        with self._lock:
            return tag_table.lookup(self._conn, name_or_id)

    def tag_name(self, tag_id: int) -> str:
        """The spelling of a tag (deleted tags included, for the audit view)."""
        with self._lock:
            r = self._conn.execute("SELECT name FROM tags WHERE id = ?", (int(tag_id),)).fetchone()
        if r is None:
            raise StoreError(f"no tag with id {tag_id} in {self.root}")
        return r[0]

    def set_tag_threshold(self, tag: str | int, value: float | None) -> None:
        """Override the suggestion threshold of one tag (None: the collection's minimum likelihood)."""
        if value is not None and not 0.0 <= float(value) <= 1.0:
            raise StoreError(f"a threshold must lie between 0 and 1, not {value}")
        with self._write() as conn:
            tag_id = tag_table.require(conn, tag)
            conn.execute(
                "UPDATE tags SET threshold = ? WHERE id = ?",
                (None if value is None else float(value), tag_id),
            )

    def tag_thresholds(self) -> dict[str, float]:
        """Tag name -> the person's threshold, for tags that have one."""
        with self._lock:
            return dict(
                self._conn.execute(
                    "SELECT name, threshold FROM tags WHERE deleted = 0 AND threshold IS NOT NULL"
                )
            )

    def min_likelihood(self) -> float | None:
        """The collection's "suggest a tag when it is at least P likely" (0 < P < 1), or
        None when nobody set it. Kept in the collection, not in per-user preferences, so
        the window and the headless commands show the same suggestions; the rule that
        applies it, and the default, live in `clml_desktop.inference.thresholds`."""
        with self._lock:
            r = self._conn.execute(
                "SELECT value FROM meta WHERE key = ?", (MIN_LIKELIHOOD_KEY,)
            ).fetchone()
        if r is None:
            return None
        try:
            value = float(r[0])
        except ValueError:
            return None
        return value if 0.0 < value < 1.0 else None

    def set_min_likelihood(self, value: float | None) -> None:
        """Set the collection's minimum likelihood (a probability, 0 < P < 1), or forget it
        with None so the default applies. Raises StoreError for anything else."""
        if value is not None:
            try:
                number = float(value)
            except (TypeError, ValueError):
                number = math.nan
            if isinstance(value, bool) or not 0.0 < number < 1.0:
                raise StoreError(
                    "the minimum likelihood must be a probability above 0 and below 1 "
                    f"(0.7 for 70%), not {value!r}"
                )
        with self._write() as conn:
            if value is None:
                conn.execute("DELETE FROM meta WHERE key = ?", (MIN_LIKELIHOOD_KEY,))
            else:
                conn.execute(
                    "INSERT INTO meta(key, value) VALUES (?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    (MIN_LIKELIHOOD_KEY, repr(number)),
                )

    # -- label reads --------------------------------------------------------

    def labels_of(self, image_id: int) -> list[LabelRow]:
        """The labels of one image: positives in their order, then negatives."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT l.image_id, l.tag_id, t.name, l.state, l.source, l.position, l.time"
                " FROM labels l JOIN tags t ON t.id = l.tag_id"
                " WHERE l.image_id = ? AND t.deleted = 0"
                " ORDER BY l.state = 'negative', l.position, t.name",
                (int(image_id),),
            ).fetchall()
        return [LabelRow(*r[:3], LabelState.from_stored(r[3]), *r[4:]) for r in rows]

    def label_matrix(self) -> LabelMatrix:
        """Every label of present images and live tags in one N×C int8 array.

        Rows follow `images()` (by path), columns follow `tags()` (by id).
        """
        with self._read() as conn:
            return label_reads.label_matrix(conn)

    def image_labels(self, image_ids: Iterable[int] | None = None) -> dict[str, ImageLabels]:
        """relpath -> ImageLabels (positives in order, negatives, sources) for export and training."""
        wanted = None if image_ids is None else set(_id_list(image_ids))
        with self._read() as conn:
            return label_reads.image_labels(conn, wanted)

    def images_with_tag(
        self, tag: str | int, state: LabelState = LabelState.POSITIVE
    ) -> list[int]:
        """Ids of present images where `tag` is in `state` (positive or negative)."""
        with self._lock:
            tag_id = tag_table.lookup(self._conn, tag)
            if tag_id is None:
                return []
            return [
                r[0]
                for r in self._conn.execute(
                    "SELECT l.image_id FROM labels l JOIN images i ON i.id = l.image_id"
                    " WHERE l.tag_id = ? AND l.state = ? AND i.missing = 0 ORDER BY i.path",
                    (tag_id, LabelState(state).stored),
                )
            ]

    def label_source_counts(self) -> dict[str, dict[str, int]]:
        """source -> {state: count} over present images (for stats)."""
        with self._read() as conn:
            return label_reads.source_counts(conn)

    # -- label edits --------------------------------------------------------

    def _move_pairs(
        self,
        verb: _Verb,
        image_ids: int | Iterable[int],
        tag: str | int,
        description: str | None,
        source: str | None = None,
    ) -> int | None:
        """The one implementation of the label verbs: move the (image, tag) pairs as
        `verb` says, as one edit described by `description` (else the verb's wording)."""
        ids = _id_list(image_ids)
        state, only_from = verb.state, verb.only_from
        source = str(verb.source if source is None else source)
        if state != LabelState.UNKNOWN and source not in _SOURCES:
            raise StoreError(
                f"unknown label source {source!r} (one of {', '.join(sorted(_SOURCES))})"
            )
        if not ids:
            return None
        text = description or verb.wording.format(tag=tag, images=_plural(len(ids), "image"))

        def body(conn: sqlite3.Connection, edit_id: int) -> None:
            if state == LabelState.UNKNOWN or only_from is not None:
                tag_id = tag_table.lookup(conn, tag)
                if tag_id is None:
                    return
            else:
                tag_id = tag_table.resolve(conn, tag, edit_id)
            targets = ids
            if only_from is not None:
                now_in = {
                    r[0]
                    for r in conn.execute(
                        "SELECT image_id FROM labels WHERE tag_id = ? AND state = ?",
                        (tag_id, only_from.stored),
                    )
                }
                targets = [i for i in ids if i in now_in]
            plan = label_plan.plan(conn, ((i, tag_id, state, source) for i in targets))
            edit_log.log_label_changes(conn, edit_id, plan.rows)

        return self._edit(text, body)

    def add_tag(
        self,
        image_ids: int | Iterable[int],
        tag: str | int,
        source: str = LabelSource.MANUAL,
        description: str | None = None,
    ) -> int | None:
        """Make `tag` positive on the images (appended to their tag order); one undo step."""
        return self._move_pairs(_ADD, image_ids, tag, description, source)

    def remove_tag(
        self, image_ids: int | Iterable[int], tag: str | int, description: str | None = None
    ) -> int | None:
        """A person says `tag` is not on the images: where it is positive it becomes a
        rejection (negative, source manual), exactly as `reject_tag` makes it, so it is
        not suggested again and trains as a known negative (ADR 0019). Images without
        the tag are left as they are. One undo step, which brings the positives back
        with their source and place."""
        return self._move_pairs(_REMOVE, image_ids, tag, description)

    def forget_tag(
        self, image_ids: int | Iterable[int], tag: str | int, description: str | None = None
    ) -> int | None:
        """Make `tag` unknown on the images again (neither positive nor rejected), e.g.
        to take back a rejection; one undo step."""
        return self._move_pairs(_FORGET, image_ids, tag, description)

    def reject_tag(
        self, image_ids: int | Iterable[int], tag: str | int, description: str | None = None
    ) -> int | None:
        """Record that `tag` is absent on the images (a known negative); one undo step."""
        return self._move_pairs(_REJECT, image_ids, tag, description)

    def accept_suggestion(
        self, image_ids: int | Iterable[int], tag: str | int, description: str | None = None
    ) -> int | None:
        """Make a suggested `tag` positive, remembering that a person accepted it."""
        return self._move_pairs(_ACCEPT, image_ids, tag, description)

    def set_labels(self, changes: Iterable[LabelChange], description: str) -> int | None:
        """Apply mixed changes (any tags, states and sources) as one undo step."""
        items = list(changes)
        for change in items:
            if not isinstance(change.state, LabelState):
                raise StoreError(f"a label state must be a LabelState, not {change.state!r}")
            if change.state != LabelState.UNKNOWN and str(change.source) not in _SOURCES:
                raise StoreError(f"unknown label source {change.source!r}")

        def body(conn: sqlite3.Connection, edit_id: int) -> None:
            ids: dict[str | int, int | None] = {}
            desired = []
            for change in items:
                if change.tag not in ids:
                    ids[change.tag] = (
                        tag_table.lookup(conn, change.tag)
                        if change.state == LabelState.UNKNOWN
                        else tag_table.resolve(conn, change.tag, edit_id)
                    )
                tag_id = ids[change.tag]
                if tag_id is None:
                    continue
                desired.append((change.image_id, tag_id, change.state, str(change.source)))
            plan = label_plan.plan(conn, desired, update_source=True)
            edit_log.log_label_changes(conn, edit_id, plan.rows)

        return self._edit(description, body)

    def import_labels(
        self,
        labels: dict[str, ImageLabels],
        source: str = LabelSource.IMPORTED,
        description: str | None = None,
        *,
        baseline: bool = False,
    ) -> ImportReport:
        """Merge labels read from tag files: fills unknown pairs, never deletes or overrides.

        A label the store already has in the other state (a person rejected
        what the file says, or the reverse) is kept and counted as a conflict.
        Paths not in the collection are listed in the report.

        `baseline=True` (the tags a folder came with, on its first open) is
        honoured only while nothing can be undone or redone: the labels are
        then written without per-pair undo rows and logged as one edit that
        undo passes over (there is nothing before it to restore). Otherwise
        the import is an ordinary undo step.
        """
        report = ImportReport()
        text = description or f"Import labels of {_plural(len(labels), 'image')}"
        if baseline:
            try:
                with self._write(check_foreign_keys=False) as conn:
                    if not edit_log.has_history(conn):
                        edit_id = edit_log.begin_baseline(
                            conn, f"{text} (first open of the folder; not an undo step)"
                        )
                        added = label_import.import_baseline(conn, labels, str(source), report)
                        if not added:
                            raise _NoChange
                        conn.execute(
                            "UPDATE edits SET label_count = ? WHERE id = ?", (added, edit_id)
                        )
                        report.edit_id = edit_id
                if report.edit_id is not None:
                    if added >= store_backup.LARGE_EDIT_ROWS:
                        self._backup_in_background()
                    return report
            except _NoChange:
                return report
            report = ImportReport()
        report.edit_id = self._edit(
            text,
            lambda conn, edit_id: label_import.import_into(
                conn, edit_id, labels, str(source), report
            ),
        )
        if report.edit_id is None:
            report.positives_added = report.negatives_added = 0
        return report

    def is_untouched(self) -> bool:
        """No labels and nothing to undo or redo: a folder whose tags were never read."""
        with self._lock:
            conn = self._conn
            return not conn.execute("SELECT EXISTS(SELECT 1 FROM labels)").fetchone()[
                0
            ] and not edit_log.has_history(conn)

    # -- tag edits ----------------------------------------------------------

    def rename_tag(self, tag: str | int, new_name: str) -> int | None:
        """Change a tag's spelling everywhere; one undo step. Refuses a name another tag has."""
        text = f"Rename “{tag}” to “{str(new_name).strip()}”"
        return self._edit(
            text, lambda conn, edit_id: tag_edits.rename(conn, edit_id, tag, new_name)
        )

    def merge_tags(self, sources: list[str | int], target: str | int) -> int | None:
        """Fold `sources` into `target` (created if new) and delete them; one undo step.

        Per image the target ends positive if it or any source was positive
        (taking the first source's place in the tag order), else negative if
        any was negative.
        """
        names = ", ".join(f"“{s}”" for s in sources)
        return self._edit(
            f"Merge {names} into “{target}”",
            lambda conn, edit_id: tag_edits.merge(conn, edit_id, list(sources), target),
        )

    def delete_tag(self, tag: str | int) -> int | None:
        """Remove a tag and all its labels; one undo step that brings both back."""
        return self._edit(
            f"Delete tag “{tag}”", lambda conn, edit_id: tag_edits.delete(conn, edit_id, tag)
        )

    # -- undo / redo --------------------------------------------------------

    def undo(self) -> str | None:
        """Revert the newest edit; returns its description (None: nothing to undo)."""
        with self._write() as conn:
            return edit_log.undo(conn)

    def redo(self) -> str | None:
        """Re-apply the edit undone last; returns its description (None: nothing to redo)."""
        with self._write() as conn:
            return edit_log.redo(conn)

    def can_undo(self) -> bool:
        with self._lock:
            return bool(
                self._conn.execute(
                    "SELECT EXISTS(SELECT 1 FROM edits WHERE status = 'applied' AND undoable = 1)"
                ).fetchone()[0]
            )

    def can_redo(self) -> bool:
        with self._lock:
            return bool(
                self._conn.execute(
                    "SELECT EXISTS(SELECT 1 FROM edits WHERE status = 'undone')"
                ).fetchone()[0]
            )

    def history(self, limit: int = 100) -> list[EditRow]:
        """The newest edits first, with how many labels and tags each touched.

        A baseline edit (a folder's first open) reports its stored count; it
        has no per-pair rows for `edit_changes` to list.
        """
        with self._lock:
            rows = self._conn.execute(
                "SELECT e.id, e.description, e.time, e.status, COALESCE(e.label_count,"
                " (SELECT COUNT(*) FROM label_changes c WHERE c.edit_id = e.id)),"
                " (SELECT COUNT(*) FROM tag_changes c WHERE c.edit_id = e.id)"
                " FROM edits e ORDER BY e.id DESC LIMIT ?",
                (int(limit),),
            ).fetchall()
        return [EditRow(*r) for r in rows]

    def edit_changes(
        self, edit_id: int, limit: int | None = None
    ) -> tuple[list[LoggedLabelChange], list[LoggedTagChange]]:
        """The labels and tags one edit changed (first `limit` labels), for an audit view."""
        with self._read() as conn:
            return edit_log.changes_of(conn, int(edit_id), limit)

    # -- tag-file bookkeeping -------------------------------------------------

    def source_file_state(self, relpath: str) -> tuple[int, int] | None:
        """(size, mtime_ns) of a tag file when it was last imported, None if never."""
        with self._lock:
            r = self._conn.execute(
                "SELECT size, mtime_ns FROM source_files WHERE path = ?", (relpath,)
            ).fetchone()
        return (r[0], r[1]) if r else None

    def source_file_states(self) -> dict[str, tuple[int, int]]:
        """Every imported tag file's (size, mtime_ns), for a rescan to compare in one go."""
        with self._lock:
            return {
                r[0]: (r[1], r[2])
                for r in self._conn.execute("SELECT path, size, mtime_ns FROM source_files")
            }

    def source_file_records(self) -> dict[str, tuple[int, int, str | None]]:
        """relpath -> (size, mtime_ns, images) of imported tag files; `images` is the
        newline-joined image paths a sidecar was last read for (None: not recorded)."""
        with self._lock:
            return {
                r[0]: (r[1], r[2], r[3])
                for r in self._conn.execute("SELECT path, size, mtime_ns, images FROM source_files")
            }

    def set_source_file_states(self, items: Iterable[tuple]) -> None:
        """Remember (relpath, size, mtime_ns[, images]) of tag files just imported or written.

        `images` (a sequence of image paths) says which images a sidecar was
        read for; a 3-tuple keeps what was recorded before.
        """
        plain, with_images = [], []
        for item in items:
            if len(item) > 3:
                images = item[3]
                joined = images[0] if len(images) == 1 else "\n".join(sorted(images))
                with_images.append((str(item[0]), int(item[1]), int(item[2]), joined))
            else:
                plain.append((str(item[0]), int(item[1]), int(item[2])))
        with self._write() as conn:
            conn.executemany(
                "INSERT INTO source_files(path, size, mtime_ns) VALUES (?, ?, ?)"
                " ON CONFLICT(path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns",
                plain,
            )
            conn.executemany(
                "INSERT OR REPLACE INTO source_files(path, size, mtime_ns, images) VALUES (?, ?, ?, ?)",
                with_images,
            )

    # -- models and predictions ---------------------------------------------

    def add_model(
        self,
        model_id: str,
        path: str | Path,
        *,
        parent: str | None = None,
        metrics: dict | None = None,
        tags: list[str] | None = None,
        created: str | None = None,
        activate: bool = True,
        onnx_sha256: str | None = None,
    ) -> None:
        """Register a trained model (its folder, lineage, metrics, tag order, and the
        SHA-256 of its ONNX file: what the id stands for, see inference.registry)."""
        with self._write() as conn:
            predictions.add_model(
                conn,
                model_id,
                str(path),
                parent=parent,
                metrics=metrics,
                tags=tags,
                created=created,
                activate=activate,
                onnx_sha256=onnx_sha256,
            )

    def model_fingerprint(self, model_id: str) -> str | None:
        """The SHA-256 of the ONNX file `model_id` was registered with (None: not recorded)."""
        with self._lock:
            return predictions.model_fingerprint(self._conn, model_id)

    def models(self) -> list[ModelRow]:
        with self._lock:
            return predictions.models(self._conn)

    def active_model(self) -> ModelRow | None:
        with self._lock:
            return predictions.active_model(self._conn)

    def set_active_model(self, model_id: str | None) -> None:
        """Choose the model suggestions come from (None: none)."""
        with self._write() as conn:
            predictions.set_active(conn, model_id)

    def put_predictions(self, model_id: str, rows: Iterable[PredictionIn]) -> int:
        """Cache scores of `model_id` (float32 probs, float16 embeddings).

        Written in short transactions (about `WRITE_SLICE_SECONDS` each, ADR 0010):
        a model's out-of-fold scores for 20,000 images would otherwise hold the
        write lock for seconds, and an edit on the GUI thread waits for it. The
        scores are a cache, so a failure part-way keeps what was written; the
        rest is scored again.
        """
        items = list(rows)
        written, start, size = 0, 0, _FIRST_SLICE
        try:
            while True:  # at least once: an empty call still checks the model
                began = time.perf_counter()
                with self._write() as conn:
                    written += predictions.put_predictions(conn, model_id, items[start:start + size])
                start += size
                if start >= len(items):
                    break
                size = _next_slice(size, time.perf_counter() - began)
        except sqlite3.IntegrityError as exc:
            raise StoreError(f"predictions for model {model_id!r} refused: {exc}") from exc
        except ValueError as exc:
            raise StoreError(str(exc)) from exc
        return written

    def _model_width(self, model_id: str) -> int | None:
        r = self._conn.execute("SELECT tags FROM models WHERE id = ?", (model_id,)).fetchone()
        if r is None:
            raise StoreError(f"no model {model_id!r} in {self.root}")
        n = len(json.loads(r[0]))
        return n or None

    def predictions(self, model_id: str) -> PredictionMatrix:
        """Current scores of `model_id`; images changed since they were scored are left out."""
        with self._read() as conn:
            width = self._model_width(model_id)
            try:
                return predictions.predictions(conn, model_id, width)
            except ValueError as exc:
                raise StoreError(str(exc)) from exc

    def embeddings(self, model_id: str) -> tuple[np.ndarray, np.ndarray]:
        """(image ids, float16 N×D embeddings) of current predictions of `model_id`."""
        with self._read() as conn:
            self._model_width(model_id)
            try:
                return predictions.embeddings(conn, model_id)
            except ValueError as exc:
                raise StoreError(str(exc)) from exc

    def images_needing_predictions(self, model_id: str) -> list[ImageRow]:
        """Readable present images with no current score from `model_id`."""
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {_IMAGE_COLUMNS} FROM images i WHERE i.missing = 0 AND i.problem IS NULL"
                " AND NOT EXISTS (SELECT 1 FROM predictions p WHERE p.model_id = ?"
                " AND p.image_id = i.id AND p.image_version = i.version) ORDER BY i.path",
                (model_id,),
            ).fetchall()
        return [_image_row(r) for r in rows]

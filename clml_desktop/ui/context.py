"""The one object every widget receives: `Widget(context: AppContext, parent=None)`.

Why: widgets must not reach into each other or hold copies of the data. The
context owns the open store, the settings, the selection, the active filter
and the background pool, and every edit of labels or tags goes through its
methods, so one place writes to the store, emits the right signals and says
what happened in the status bar ("Accepted 'dog' on 12 images"). Views then
react to signals only.

Edits run on the GUI thread: each is one small SQLite transaction (WAL,
synchronous=NORMAL) of a few milliseconds even for thousands of rows, and
running them in order here keeps undo/redo strictly ordered. Anything slower
(opening, scanning, importing, the label index, thumbnails, inference) runs
on `context.jobs` via `clml_desktop.jobs.worker.Worker`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, QTimer, Signal

from clml_desktop.collection.labels import LabelState
from clml_desktop.collection.query import ImageFilter, LabelIndex
from clml_desktop.inference.likely_text import cut_percent
from clml_desktop.jobs.tracker import JobTracker
from clml_desktop.jobs.worker import Worker
from clml_desktop.ui.settings import Settings


def _images_word(n: int) -> str:
    return f"{n} image" if n == 1 else f"{n} images"


class AppContext(QObject):
    """Shared state and the single path for edits. See the module docstring.

    Signals:
      collectionOpened(store), collectionClosed()
      labelsChanged(list[int])    image ids whose labels changed; [] = many/unknown
      tagsChanged()               the set or names of tags changed
      currentImageChanged(int)    -1 when none
      selectionChanged(list[int])
      suggestionsChanged()        scores or cuts changed (new model, new predictions, Settings)
      modelChanged()              the active model changed
      indexChanged()              `context.index` was rebuilt or patched (counts, filters)
      filterChanged(object)       the active `ImageFilter`
      historyChanged()            undo/redo availability may have changed
      statusMessage(str)
    """

    collectionOpened = Signal(object)
    collectionClosed = Signal()
    labelsChanged = Signal(list)
    tagsChanged = Signal()
    currentImageChanged = Signal(int)
    selectionChanged = Signal(list)
    suggestionsChanged = Signal()
    modelChanged = Signal()
    indexChanged = Signal()
    filterChanged = Signal(object)
    historyChanged = Signal()
    statusMessage = Signal(str)

    def __init__(
        self,
        settings: Settings | None = None,
        pool: QThreadPool | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.settings = settings if settings is not None else Settings()
        if pool is None:
            pool = QThreadPool(self)
            pool.setMaxThreadCount(max(2, QThreadPool.globalInstance().maxThreadCount()))
        self.pool = pool
        self.jobs = JobTracker(pool, self)
        self._store: Any = None
        self._index = LabelIndex.empty()
        self._current = -1
        self._selection: list[int] = []
        self._filter = ImageFilter()
        self._index_worker: Worker | None = None
        self._index_again = False
        self._index_running = False
        self._index_timer = QTimer(self)
        self._index_timer.setSingleShot(True)
        self._index_timer.setInterval(150)
        self._index_timer.timeout.connect(self._start_index_job)
        self.labelsChanged.connect(lambda _ids: self.historyChanged.emit())
        self.tagsChanged.connect(self.historyChanged.emit)
        self.modelChanged.connect(self.suggestionsChanged.emit)
        self.suggestionsChanged.connect(self.refresh_index)

    # ---- collection -------------------------------------------------------

    @property
    def store(self) -> Any:
        """The open `CollectionStore`, or None (owned by the GUI thread)."""
        return self._store

    @property
    def root(self) -> Path | None:
        return Path(self._store.root) if self._store is not None else None

    def set_store(self, store: Any) -> None:
        """Adopt an opened store (closing the previous one) and announce it."""
        if self._store is not None:
            self.close_store()
        self._store = store
        self._index = LabelIndex.empty()
        self._filter = ImageFilter()
        self.settings.add_recent_folder(store.root)
        self.collectionOpened.emit(store)
        self.filterChanged.emit(self._filter)
        self.historyChanged.emit()
        self.refresh_index(immediately=True)

    def close_store(self) -> None:
        """Stop background work on this collection and close the store."""
        if self._store is None:
            return
        self._index_timer.stop()
        self.jobs.shutdown()
        self._index_worker = None
        self._index_running = False
        self._index_again = False
        store, self._store = self._store, None
        self._index = LabelIndex.empty()
        self._current = -1
        self._selection = []
        store.close()
        self.collectionClosed.emit()
        self.indexChanged.emit()
        self.historyChanged.emit()

    def shutdown(self) -> None:
        """Cancel and wait for every job, close the store (window close, tests)."""
        self._index_timer.stop()
        self.jobs.shutdown()
        if self._store is not None:
            self.close_store()

    def start_job(self, worker: Worker, *, quiet: bool = False, priority: int = 0) -> Worker:
        """Run a worker on the shared pool; visible jobs show in the status bar."""
        return self.jobs.start(worker, quiet=quiet, priority=priority)

    # ---- the label index ---------------------------------------------------

    @property
    def index(self) -> LabelIndex:
        """Label states and suggestion scores as arrays (see collection/query.py)."""
        return self._index

    def refresh_index(self, immediately: bool = False) -> None:
        """Rebuild the index in the background (debounced, at most one at a time)."""
        if self._store is None:
            return
        if immediately:
            self._index_timer.stop()
            self._start_index_job()
        else:
            self._index_timer.start()

    def index_pending(self) -> bool:
        """A rebuild of the index is scheduled or running."""
        return self._index_running or self._index_timer.isActive() or self._index_again

    def _start_index_job(self) -> None:
        if self._store is None:
            return
        if self._index_running:
            self._index_again = True
            return
        from clml_desktop.jobs.index_job import load_index

        self._index_again = False
        worker = Worker(load_index, Path(self._store.root), name="Reading labels")
        store_at_start = self._store
        worker.signals.result.connect(lambda index: self._on_index(index, store_at_start))
        worker.signals.error.connect(self.statusMessage.emit)
        worker.signals.finished.connect(lambda: self._on_index_job_finished(worker))
        self._index_worker = worker
        self._index_running = True
        self.start_job(worker, quiet=True, priority=1)

    def _on_index(self, index: LabelIndex, store: Any) -> None:
        if store is not self._store:
            return
        self._index = index
        self.indexChanged.emit()

    def _on_index_job_finished(self, worker: Worker) -> None:
        if worker is not self._index_worker:
            return
        self._index_running = False
        if self._index_again and self._store is not None:
            self._index_timer.start()

    # ---- current image, selection, filter ---------------------------------

    @property
    def current_image_id(self) -> int:
        return self._current

    def set_current_image(self, image_id: int) -> None:
        image_id = int(image_id) if image_id is not None else -1
        if image_id != self._current:
            self._current = image_id
            self.currentImageChanged.emit(image_id)

    @property
    def selected_ids(self) -> list[int]:
        return list(self._selection)

    def set_selection(self, image_ids: Iterable[int]) -> None:
        ids = [int(i) for i in image_ids]
        if ids != self._selection:
            self._selection = ids
            self.selectionChanged.emit(list(ids))

    def edit_targets(self) -> list[int]:
        """The images an edit applies to: the selection, else the current image."""
        if self._selection:
            return list(self._selection)
        return [self._current] if self._current >= 0 else []

    @property
    def filter(self) -> ImageFilter:
        return self._filter

    def set_filter(self, flt: ImageFilter) -> None:
        if flt != self._filter:
            self._filter = flt
            self.filterChanged.emit(flt)

    # ---- edits: the single path to the store -------------------------------

    def _run_edit(
        self,
        call: Callable[[], Any],
        *,
        image_ids: list[int] | None,
        done: str,
        unchanged: str,
        patch: tuple[list[int], str, LabelState] | None = None,
        tags_changed: bool = False,
    ) -> bool:
        if self._store is None:
            self.statusMessage.emit("Open a folder first")
            return False
        try:
            edit_id = call()
        except Exception as exc:  # the store's errors name the problem; keep the GUI alive
            self.statusMessage.emit(f"Could not change labels: {exc}")
            return False
        if edit_id is None:
            self.statusMessage.emit(unchanged)
            return False
        patched = patch is not None and self._index.set_state(*patch)
        if tags_changed or not patched:
            self.refresh_index()
        if tags_changed:
            self.tagsChanged.emit()
        self.labelsChanged.emit(list(image_ids or []))
        if patched:
            self.indexChanged.emit()
        self.statusMessage.emit(done)
        return True

    def add_tag(self, image_ids: Iterable[int], tag: str) -> bool:
        """Make `tag` positive (source manual) on the images."""
        ids = [int(i) for i in image_ids]
        tag = tag.strip()
        if not ids or not tag:
            return False
        is_new = self._store is not None and self._store.tag_id(tag) is None
        text = f"Added '{tag}' to {_images_word(len(ids))}"
        return self._run_edit(
            lambda: self._store.add_tag(ids, tag, description=text),
            image_ids=ids,
            done=text,
            unchanged=f"'{tag}' was already on {'that image' if len(ids) == 1 else 'those images'}",
            patch=(ids, tag, LabelState.POSITIVE),
            tags_changed=is_new,
        )

    def remove_tag(self, image_ids: Iterable[int], tag: str) -> bool:
        """A person says `tag` is not on the images: where it was positive it becomes
        a rejection, as Reject makes it (ADR 0019); the other images are left alone."""
        ids = [int(i) for i in image_ids]
        text = f"Removed '{tag}' from {_images_word(len(ids))} (won't be suggested again)"
        had = self._index_ids_in(ids, tag, LabelState.POSITIVE)  # what the index can patch; else reload it
        return self._run_edit(
            lambda: self._store.remove_tag(ids, tag, description=text),
            image_ids=ids,
            done=text,
            unchanged=f"'{tag}' was not on {'that image' if len(ids) == 1 else 'those images'}",
            patch=(had, tag, LabelState.NEGATIVE) if had else None,
        )

    def forget_tag(self, image_ids: Iterable[int], tag: str) -> bool:
        """Return `tag` to unknown on the images (take back a rejection)."""
        return self._set_every(image_ids, tag, "forget_tag", LabelState.UNKNOWN,
                               "Forgot '{tag}' on {images} (unknown again)",
                               "'{tag}' was neither on nor rejected there")

    def _index_ids_in(self, image_ids: list[int], tag: str, state: LabelState) -> list[int]:
        """The ids whose (image, tag) pair the label index holds in `state`."""
        col = self._index.column_of(tag)
        if col is None:
            return []
        rows = self._index.rows_of(image_ids)
        keep = rows >= 0
        keep[keep] = self._index.states[rows[keep], col] == state
        return [i for i, k in zip(image_ids, keep.tolist(), strict=True) if k]

    def reject_tag(self, image_ids: Iterable[int], tag: str) -> bool:
        """Mark `tag` as a confirmed negative (a person said: not on these)."""
        return self._set_every(image_ids, tag, "reject_tag", LabelState.NEGATIVE,
                               "Rejected '{tag}' on {images}", "'{tag}' was already rejected there")

    def accept_suggestion(self, image_ids: Iterable[int], tag: str) -> bool:
        """Make a suggested tag positive with source accepted-suggestion."""
        return self._set_every(image_ids, tag, "accept_suggestion", LabelState.POSITIVE,
                               "Accepted '{tag}' on {images}", "'{tag}' was already accepted there")

    def _set_every(self, image_ids: Iterable[int], tag: str, verb: str, state: LabelState,
                   done: str, unchanged: str) -> bool:
        """One store edit `verb` that leaves every given pair in `state`, said in `done`."""
        ids = [int(i) for i in image_ids]
        text = done.format(tag=tag, images=_images_word(len(ids)))
        return self._run_edit(
            lambda: getattr(self._store, verb)(ids, tag, description=text),
            image_ids=ids,
            done=text,
            unchanged=unchanged.format(tag=tag),
            patch=(ids, tag, state),
        )

    def accept_suggestions(self, image_id: int, tags: list[str]) -> bool:
        """Accept several suggestions of one image as ONE edit (review's accept-all),
        so a single undo takes them all back."""
        from clml_desktop.collection.labels import LabelSource
        from clml_desktop.collection.rows import LabelChange

        names = list(dict.fromkeys(t for t in tags if t))
        if not names:
            return False
        new = self._store is not None and any(self._store.tag_id(t) is None for t in names)
        text = f"Accepted {', '.join(repr(t) for t in names)} on 1 image"
        changes = [LabelChange(int(image_id), t, LabelState.POSITIVE, LabelSource.ACCEPTED.value) for t in names]
        return self._run_edit(
            lambda: self._store.set_labels(changes, text),
            image_ids=[int(image_id)],
            done=text,
            unchanged="Those suggestions were already accepted there",
            tags_changed=new,
        )

    def rename_tag(self, tag: str, new_name: str) -> bool:
        new_name = new_name.strip()
        text = f"Renamed '{tag}' to '{new_name}'"
        return self._run_edit(
            lambda: self._store.rename_tag(tag, new_name),
            image_ids=[],
            done=text,
            unchanged=f"'{tag}' already has that name",
            tags_changed=True,
        )

    def merge_tags(self, sources: list[str], target: str) -> bool:
        names = ", ".join(f"'{s}'" for s in sources)
        text = f"Merged {names} into '{target}'"
        return self._run_edit(
            lambda: self._store.merge_tags(list(sources), target),
            image_ids=[],
            done=text,
            unchanged="Nothing to merge",
            tags_changed=True,
        )

    def delete_tag(self, tag: str) -> bool:
        text = f"Deleted tag '{tag}' (undo brings it back)"
        return self._run_edit(
            lambda: self._store.delete_tag(tag),
            image_ids=[],
            done=text,
            unchanged=f"'{tag}' was already deleted",
            tags_changed=True,
        )

    # ---- suggestion cuts ----------------------------------------------------

    def set_suggestion_cuts(
        self, min_likelihood: float | None, tag_cuts: Mapping[str, float | None]
    ) -> bool:
        """Write the collection's minimum likelihood (None: keep it) and per-tag cuts
        (a value, or None to drop that tag's own cut), then re-derive suggestions from
        the cached scores (nothing is re-scored). False, with a message, when refused."""
        if self._store is None:
            self.statusMessage.emit("Open a folder first")
            return False
        if min_likelihood is None and not tag_cuts:
            return False
        try:
            if min_likelihood is not None:
                self._store.set_min_likelihood(min_likelihood)
            for tag, value in tag_cuts.items():
                self._store.set_tag_threshold(tag, value)
        except Exception as exc:  # the store's errors name the problem; keep the GUI alive
            self.statusMessage.emit(f"Could not change when tags are suggested: {exc}")
            self.suggestionsChanged.emit()
            return False
        self.suggestionsChanged.emit()
        if min_likelihood is not None:
            self.statusMessage.emit(
                f"Suggesting a tag when it is at least {cut_percent(min_likelihood)} likely"
            )
        else:
            self.statusMessage.emit("Per-tag suggestion cuts changed")
        return True

    def can_undo(self) -> bool:
        return self._store is not None and bool(self._store.can_undo())

    def can_redo(self) -> bool:
        return self._store is not None and bool(self._store.can_redo())

    def undo(self) -> bool:
        """Undo the newest edit (a batch edit is one step)."""
        return self._history_step(undo=True)

    def redo(self) -> bool:
        return self._history_step(undo=False)

    def _history_step(self, *, undo: bool) -> bool:
        if self._store is None:
            return False
        try:
            description = self._store.undo() if undo else self._store.redo()
        except Exception as exc:
            self.statusMessage.emit(f"Could not {'undo' if undo else 'redo'}: {exc}")
            return False
        if description is None:
            self.statusMessage.emit("Nothing to undo" if undo else "Nothing to redo")
            return False
        self.refresh_index()
        self.tagsChanged.emit()
        self.labelsChanged.emit([])
        self.statusMessage.emit(f"{'Undone' if undo else 'Redone'}: {description}")
        return True

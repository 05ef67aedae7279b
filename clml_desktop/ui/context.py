"""The one object every widget receives: `Widget(context: AppContext, parent=None)`.

Why: widgets must not reach into each other or hold copies of the data. The
context owns the open store, the settings, the selection, the active filter
and the background pool, and every edit of labels, tags, suggestion cuts or
the active model goes through its methods. Each is performed by
`clml_desktop.workflow.edits` (the Qt-free functions the CLI calls too); the
context only applies the result: it patches its label index, emits the right
signals and says what happened in the status bar ("Accepted 'dog' on 12
images"). It is the only emitter of its signals (widgets call `show_status`
to say something), so views react to signals only and never to each other
(tests/test_edit_path_rules.py).

Edits run on the GUI thread: each is one small SQLite transaction (WAL,
synchronous=NORMAL) of a few milliseconds even for thousands of rows, and
running them in order here keeps undo/redo strictly ordered. Anything slower
(opening, scanning, importing, the label index, thumbnails, inference) runs
on `context.jobs` via `clml_desktop.jobs.worker.Worker`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, QTimer, Signal

from clml_desktop.collection.query import ImageFilter, LabelIndex
from clml_desktop.jobs.tracker import JobTracker
from clml_desktop.jobs.worker import Worker
from clml_desktop.ui.settings import Settings
from clml_desktop.workflow import edits
from clml_desktop.workflow.edits import EditResult


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
        had_current, had_selection = self._current >= 0, bool(self._selection)
        self._current = -1
        self._selection = []
        store.close()
        # Say so: views that show the selection or the current image (the batch
        # bar's "3 selected", the inspector) must not carry them to the next folder.
        if had_selection:
            self.selectionChanged.emit([])
        if had_current:
            self.currentImageChanged.emit(-1)
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
        from clml_desktop.workflow.label_index import load_index

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

    def _apply(self, result: EditResult) -> bool:
        """Show what a `workflow.edits` edit did: patch the label index (or read it
        again), emit the signals that say what changed, and say it in the status bar."""
        if not result.changed:
            if result.message:
                self.statusMessage.emit(result.message)
            if result.suggestions_changed:
                self.suggestionsChanged.emit()
            return False
        if result.labels_changed:
            patched = result.patch is not None and self._index.set_state(*result.patch)
            if result.tags_changed or not patched:
                self.refresh_index()
            if result.tags_changed:
                self.tagsChanged.emit()
            self.labelsChanged.emit(list(result.image_ids))
            if patched:
                self.indexChanged.emit()
        if result.model_changed:
            self.modelChanged.emit()
        elif result.suggestions_changed:
            self.suggestionsChanged.emit()
        if result.message:
            self.statusMessage.emit(result.message)
        return True

    def add_tag(self, image_ids: Iterable[int], tag: str) -> bool:
        """Make `tag` positive (source manual) on the images."""
        return self._apply(edits.add_tag(self._store, image_ids, tag))

    def remove_tag(self, image_ids: Iterable[int], tag: str) -> bool:
        """A person says `tag` is not on the images: where it was positive it becomes
        a rejection, as Reject makes it (ADR 0019); the other images are left alone."""
        return self._apply(edits.remove_tag(self._store, image_ids, tag))

    def forget_tag(self, image_ids: Iterable[int], tag: str) -> bool:
        """Return `tag` to unknown on the images (take back a rejection)."""
        return self._apply(edits.forget_tag(self._store, image_ids, tag))

    def reject_tag(self, image_ids: Iterable[int], tag: str) -> bool:
        """Mark `tag` as a confirmed negative (a person said: not on these)."""
        return self._apply(edits.reject_tag(self._store, image_ids, tag))

    def accept_suggestion(self, image_ids: Iterable[int], tag: str) -> bool:
        """Make a suggested tag positive with source accepted-suggestion."""
        return self._apply(edits.accept_suggestion(self._store, image_ids, tag))

    def accept_suggestions(self, image_id: int, tags: list[str]) -> bool:
        """Accept several suggestions of one image as ONE edit (review's accept-all),
        so a single undo takes them all back."""
        return self._apply(edits.accept_suggestions(self._store, image_id, tags))

    def rename_tag(self, tag: str, new_name: str) -> bool:
        return self._apply(edits.rename_tag(self._store, tag, new_name))

    def merge_tags(self, sources: list[str], target: str) -> bool:
        return self._apply(edits.merge_tags(self._store, sources, target))

    def delete_tag(self, tag: str) -> bool:
        return self._apply(edits.delete_tag(self._store, tag))

    # ---- suggestion cuts and the active model --------------------------------

    def set_suggestion_cuts(
        self, min_likelihood: float | None, tag_cuts: Mapping[str, float | None]
    ) -> bool:
        """Write the collection's minimum likelihood (None: keep it) and per-tag cuts
        (a value, or None to drop that tag's own cut), then re-derive suggestions from
        the cached scores (nothing is re-scored). False, with a message, when refused."""
        return self._apply(edits.set_suggestion_cuts(self._store, min_likelihood, tag_cuts))

    def set_active_model(self, model_id: str) -> bool:
        """Take suggestions from `model_id` (False when it already was, or refused)."""
        return self._apply(edits.set_active_model(self._store, model_id))

    def model_became_active(self) -> None:
        """A model was made active outside an edit here (a training just finished on
        this collection): every view of suggestions follows it."""
        self.modelChanged.emit()

    def scores_written(self, scored: int, message: str) -> None:
        """Background scoring wrote the scores of `scored` images: re-derive the
        suggestions when there are new ones, and say `message`."""
        if scored:
            self.suggestionsChanged.emit()
        self.statusMessage.emit(message)

    def show_status(self, message: str) -> None:
        """Say `message` in the status bar (widgets ask; the context emits)."""
        self.statusMessage.emit(message)

    # ---- undo / redo ----------------------------------------------------------

    def can_undo(self) -> bool:
        return self._store is not None and bool(self._store.can_undo())

    def can_redo(self) -> bool:
        return self._store is not None and bool(self._store.can_redo())

    def undo(self) -> bool:
        """Undo the newest edit (a batch edit is one step)."""
        return self._apply(edits.undo(self._store))

    def redo(self) -> bool:
        return self._apply(edits.redo(self._store))

"""Find Similar: show the images that look most like the chosen ones in the grid.

The action works on the grid's selection (else the current image): a Worker
runs `workflow.similar.find_similar` off the GUI thread (it scores images the
active model has not seen yet, in the scoring child, then ranks the cached
embeddings: the same search as `clml-desktop similar`), and the result
becomes the grid's filter, `ImageFilter(similar=SimilarTo(...))`: only those
images, most similar first, named in the filter bar with a × to clear it. A
person can then select them all and tag the group with the batch bar.

Without an active model the action is disabled and its tooltip says to train
one first. This object holds no data of its own beyond the running worker;
the filter lives in the context.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction

from clml_desktop.collection.query import ImageFilter, SimilarTo
from clml_desktop.jobs.worker import Worker
from clml_desktop.ui.context import AppContext
from clml_desktop.workflow.similar import DEFAULT_K, SimilarImages

SHORTCUT = "Ctrl+L"
ENABLED_TIP = "Show the images that look most like the selected one, most similar first"
NO_MODEL_TIP = "Train a model first: similar images are found by the active model"
NO_FOLDER_TIP = "Open a folder first"


class SimilarFinder(QObject):
    """Runs Find Similar for the window; `bind(action)` keeps the action's state."""

    def __init__(self, context: AppContext, parent: QObject | None = None, k: int = DEFAULT_K) -> None:
        super().__init__(parent)
        self._context = context
        self.k = k
        self.action: QAction | None = None
        self._worker: Worker | None = None
        context.collectionOpened.connect(lambda _store: self.update_action())
        context.collectionClosed.connect(self.update_action)
        context.modelChanged.connect(self.update_action)

    def bind(self, action: QAction) -> None:
        self.action = action
        self.update_action()

    def available(self) -> tuple[bool, str]:
        """(can it run, the tooltip saying why not or what it does)."""
        store = self._context.store
        if store is None:
            return False, NO_FOLDER_TIP
        if store.active_model() is None:
            return False, NO_MODEL_TIP
        return True, ENABLED_TIP

    def update_action(self) -> None:
        if self.action is None:
            return
        enabled, tip = self.available()
        self.action.setEnabled(enabled)
        keys = self.action.shortcut().toString()
        self.action.setToolTip(f"{tip} ({keys})" if keys and enabled else tip)
        self.action.setStatusTip(tip)

    @property
    def running(self) -> bool:
        return self._worker is not None and not self._worker.is_done

    def find(self, image_ids: list[int] | None = None) -> Worker | None:
        """Look for images like `image_ids` (default: the selection, else the current image)."""
        context = self._context
        enabled, tip = self.available()
        if not enabled:
            context.show_status(tip)
            return None
        ids = list(image_ids) if image_ids is not None else context.edit_targets()
        if not ids:
            context.show_status("Select an image to find images like it")
            return None
        if self.running:
            self._worker.cancel()  # type: ignore[union-attr]
        from clml_desktop.workflow.similar import find_similar

        worker = Worker(find_similar, Path(context.store.root), ids, self.k, context.settings.device,
                        name="Finding similar images")
        worker.signals.result.connect(lambda found: self._on_found(worker, found))
        worker.signals.error.connect(context.show_status)
        self._worker = worker
        context.start_job(worker)
        return worker

    def shutdown(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            self._worker.wait(10.0)

    def _on_found(self, worker: Worker, found: SimilarImages) -> None:
        context = self._context
        if worker is not self._worker or context.store is None:
            return
        similar = SimilarTo(
            image_ids=found.image_ids,
            label=found.label(),
            similarities=tuple(round(n.similarity, 4) for n in found.neighbours),
            query_ids=found.query_ids,
            unscored=found.unscored,
        )
        if found.scored:
            context.scores_written(found.scored, f"Scored {found.scored:,} images with the active model")
        context.set_filter(ImageFilter(similar=similar))
        parts = [f"{len(found.neighbours)} images like {found.label()}, most similar first"]
        if found.unscored:
            parts.append(found.unscored_text())
        context.show_status("; ".join(parts))

"""Keeps the running background jobs, so the status bar can list them with
progress and a cancel button, and shutdown can stop and wait for them all.

Holding the Python reference to each `Worker` here also keeps it (and its
signals object) alive until `finished` has been delivered.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QThreadPool, Signal

from clml_desktop.jobs.worker import Worker


class JobTracker(QObject):
    """Starts workers on a pool and remembers the ones still running.

    `quiet` workers (thumbnail decodes) run on the same pool but are not shown.
    """

    jobsChanged = Signal()
    jobProgress = Signal(object, int, int, str)  # worker, done, total, text

    def __init__(self, pool: QThreadPool, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = pool
        self._visible: list[Worker] = []
        self._all: set[Worker] = set()
        self._progress: dict[int, tuple[int, int, str]] = {}

    @property
    def pool(self) -> QThreadPool:
        return self._pool

    def start(self, worker: Worker, *, quiet: bool = False, priority: int = 0) -> Worker:
        """Queue `worker` on the pool; visible jobs appear in the status bar."""
        self._all.add(worker)
        if not quiet:
            self._visible.append(worker)
            self._progress[id(worker)] = (0, 0, worker.name)
            worker.signals.progress.connect(
                lambda d, t, text, w=worker: self._on_progress(w, d, t, text)
            )
        worker.signals.finished.connect(lambda w=worker: self._on_finished(w))
        self._pool.start(worker, priority)
        if not quiet:
            self.jobsChanged.emit()
        return worker

    def running(self) -> list[Worker]:
        """Visible jobs still running, oldest first."""
        return list(self._visible)

    def progress_of(self, worker: Worker) -> tuple[int, int, str]:
        return self._progress.get(id(worker), (0, 0, worker.name))

    def cancel_all(self) -> None:
        for worker in list(self._all):
            worker.cancel()

    def shutdown(self, timeout_ms: int = 10000) -> bool:
        """Cancel everything, drop queued work, wait for running jobs to end."""
        self.cancel_all()
        self._pool.clear()
        done = self._pool.waitForDone(timeout_ms)
        self._all.clear()
        self._visible.clear()
        self._progress.clear()
        return done

    def _on_progress(self, worker: Worker, done: int, total: int, text: str) -> None:
        self._progress[id(worker)] = (done, total, text or worker.name)
        self.jobProgress.emit(worker, done, total, text or worker.name)

    def _on_finished(self, worker: Worker) -> None:
        self._all.discard(worker)
        if worker in self._visible:
            self._visible.remove(worker)
            self._progress.pop(id(worker), None)
            self.jobsChanged.emit()

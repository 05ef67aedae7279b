"""The one worker type of the app (napari-style): a QRunnable that runs a plain
function off the GUI thread and reports back only through Qt signals.

Why one type: every background task (open, scan, import, thumbnails,
inference, export) then shares the same progress, cancel and error paths, and
the status bar's job list can show any of them. The function receives a
`JobControl` first; it calls `control.report(done, total, text)` for progress
and `control.check()` (or reads `control.cancelled`) between units of work so a
cancel stops it promptly. Results and errors arrive on the GUI thread because
the signals object lives there (queued connections).
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, Signal

from clml_contract.progress import Cancelled, Steps

__all__ = ["Cancelled", "JobControl", "Worker", "WorkerSignals"]


class JobControl(Steps):
    """The contract's `Control` for a worker: progress goes out as the worker's Qt
    signal, so it arrives on the GUI thread; cancel comes from the GUI thread."""

    def __init__(self, signals: WorkerSignals) -> None:
        super().__init__(lambda done, total, text: signals.progress.emit(done, total, text))


class WorkerSignals(QObject):
    """Signals of one worker; created on the GUI thread so receivers run there."""

    started = Signal()
    progress = Signal(int, int, str)
    result = Signal(object)
    error = Signal(str)
    cancelled = Signal()
    finished = Signal()


class Worker(QRunnable):
    """Run `fn(control, *args, **kwargs)` on a thread pool.

    Exactly one of `result`, `error` or `cancelled` is emitted, then `finished`.
    `error` carries a one-line message for people; the traceback goes to
    `traceback_text` for logs.
    """

    def __init__(self, fn: Callable[..., Any], *args: Any, name: str = "", **kwargs: Any) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.signals = WorkerSignals()
        self.control = JobControl(self.signals)
        self.name = name or getattr(fn, "__name__", "job")
        self.traceback_text = ""
        self.exception: Exception | None = None  # what `error` reported, for a caller that acts on its type
        self._fn = fn
        self._args = args
        self._kwargs = kwargs
        self._done = threading.Event()

    def cancel(self) -> None:
        """Ask the job to stop at its next check; it still emits `finished`."""
        self.control.cancel()

    @property
    def is_done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until the job ended (tests and shutdown only, never the GUI)."""
        return self._done.wait(timeout_s)

    def run(self) -> None:
        signals = self.signals
        try:
            signals.started.emit()
            self.control.check()
            value = self._fn(self.control, *self._args, **self._kwargs)
        except Cancelled:
            signals.cancelled.emit()
        except Exception as exc:
            self.traceback_text = traceback.format_exc()
            self.exception = exc
            message = str(exc) or type(exc).__name__
            signals.error.emit(f"{self.name}: {message}")
        else:
            if self.control.cancelled:
                signals.cancelled.emit()
            else:
                signals.result.emit(value)
        finally:
            self._done.set()
            signals.finished.emit()

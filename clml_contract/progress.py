"""The one progress/cancel protocol of long work, in the app and in the trainer.

Every long step (scan, import, scoring, writing a training set, exporting,
training) takes a `Control` and nothing else to report progress and to learn
that it should stop: the window passes its worker's control (Qt signals
behind it), the CLI a `Steps` that draws a progress bar, tests a bare
`Steps()`. A step polls `control.check()` between units of work; it raises
`Cancelled`, which every caller treats as "stopped on request, what was
committed is kept".
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol, runtime_checkable


class Cancelled(Exception):
    """Raised by `Control.check()` once a stop was requested."""


@runtime_checkable
class Control(Protocol):
    """What long work sees of whoever runs it."""

    @property
    def cancelled(self) -> bool: ...

    def check(self) -> None: ...

    def report(self, done: int, total: int, text: str = "") -> None: ...


Reporter = Callable[[int, int, str], None]


class Steps:
    """A plain, thread-safe `Control`: a stop flag and an optional progress callback.

    `on_cancel` callbacks run once when `cancel()` is called (from any thread), so
    work blocked on something other than its own loop (a child process) can be
    told to stop at once.
    """

    def __init__(self, report: Reporter | None = None) -> None:
        self._report = report
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._on_cancel: list[Callable[[], None]] = []

    @property
    def cancelled(self) -> bool:
        return self._stop.is_set()

    def cancel(self) -> None:
        with self._lock:
            if self._stop.is_set():
                return
            self._stop.set()
            callbacks = list(self._on_cancel)
        for callback in callbacks:
            callback()

    def on_cancel(self, callback: Callable[[], None]) -> None:
        """Run `callback` when a stop is requested (at once if it already was)."""
        with self._lock:
            already = self._stop.is_set()
            if not already:
                self._on_cancel.append(callback)
        if already:
            callback()

    def check(self) -> None:
        if self._stop.is_set():
            raise Cancelled()

    def report(self, done: int, total: int, text: str = "") -> None:
        if self._report is not None:
            self._report(int(done), int(total), str(text))


def never_cancelled() -> Steps:
    """A control for work nobody watches (tests, scripts)."""
    return Steps()

"""The start-time probe of `benchmarks/start_time.py`: with CLML_EXIT_AFTER_FIRST_PAINT=FILE
set, the app writes FILE when its main window first paints and quits.

Start time is measured from outside (from the moment the measuring script
starts the process to the moment FILE appears), so it includes what a person
waits through: the interpreter or the bundle's loader, imports, the window.
The app only says when the window is on screen; it needs no clock of its own.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QWidget

EXIT_AFTER_FIRST_PAINT_ENV = "CLML_EXIT_AFTER_FIRST_PAINT"


class _FirstPaint(QObject):
    """Writes the report file at the window's first Paint event, then quits the app."""

    def __init__(self, window: QWidget, report: Path) -> None:
        super().__init__(window)
        self._report = report
        self._done = False
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if event.type() == QEvent.Type.Paint and not self._done:
            self._done = True
            self._report.write_text("painted\n", encoding="utf-8")  # a marker, not user data
            QTimer.singleShot(0, QApplication.quit)
        return False


def watch_first_paint(window: QWidget) -> None:
    """Arm the probe when the environment asks for it; otherwise do nothing."""
    target = os.environ.get(EXIT_AFTER_FIRST_PAINT_ENV, "").strip()
    if target:
        _FirstPaint(window, Path(target))

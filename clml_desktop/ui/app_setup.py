"""Creating the QApplication, the context and the main window, shared by the
GUI entry point, the screenshot command and the benchmark."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QSettings
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from clml_desktop.ui.context import AppContext
from clml_desktop.ui.gc_tuning import tune_gc
from clml_desktop.ui.main_window import MainWindow
from clml_desktop.ui.settings import Settings
from clml_desktop.ui.theme import apply_theme, follow_system
from clml_desktop.ui.warmup import import_background_modules

ICON = Path(__file__).resolve().parent / "resources" / "io.github.clml_desktop.CLMLDesktop.svg"


def ensure_app(argv: list[str] | None = None) -> QApplication:
    """The running QApplication, created (with names, theme, icon) when missing."""
    app = QApplication.instance()
    if isinstance(app, QApplication):
        return app
    QCoreApplication.setOrganizationName("clml-desktop")
    QCoreApplication.setApplicationName("CLML Desktop")
    app = QApplication(argv if argv is not None else sys.argv[:1])
    # Every call from Python into Qt releases the GIL; a busy background thread
    # (thumbnail decoding, inference) then keeps it for up to the switch
    # interval before the GUI thread gets it back. A page of grid cells makes
    # hundreds of such calls, so 5 ms (the default) turns into visible stalls.
    sys.setswitchinterval(0.0005)
    app.setDesktopFileName("io.github.clml_desktop.CLMLDesktop")
    icon = QIcon(str(ICON))
    if not icon.isNull():
        app.setWindowIcon(icon)
    return app


def create_window(settings: QSettings | None = None) -> MainWindow:
    """A themed main window over a fresh `AppContext` (settings from QSettings)."""
    app = ensure_app()
    context = AppContext(Settings(settings))
    apply_theme(app, context.settings.theme)
    follow_system(app, lambda: context.settings.theme)
    window = MainWindow(context)
    import_background_modules()
    tune_gc()
    return window


def wait_until(predicate: Callable[[], object], timeout_s: float = 60.0, step_ms: int = 10) -> bool:
    """Run the event loop until `predicate()` holds (scripts only: screenshot,
    benchmarks; the GUI itself never waits). Returns False on timeout."""
    import time

    from PySide6.QtCore import QEventLoop

    app = ensure_app()
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            return False
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, step_ms)
        time.sleep(step_ms / 1000 / 4)
    return True

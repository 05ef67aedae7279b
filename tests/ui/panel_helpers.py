"""Shared set-up for the panel tests: an AppContext on a small collection, and a
teardown that leaves no worker or process behind (the suite's leak guard)."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QSettings

from clml_desktop.collection.store import CollectionStore
from clml_desktop.ui.context import AppContext
from clml_desktop.ui.settings import Settings

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from collection_factory import build_collection  # noqa: E402

FAKE_TRAINER = HERE / "fake_trainer.py"


def fake_trainer_program(mode: str) -> list[str]:
    """The `program` for TrainerProcess that runs the fake trainer in `mode`."""
    return [sys.executable, str(FAKE_TRAINER), "--fake-mode", mode]


def open_context(tmp_path: Path, qtbot, *, n_images: int = 6, with_model: bool = True):
    """(context, info) on a fresh collection, its label index loaded."""
    folder = tmp_path / "collection"
    info = build_collection(folder, n_images=n_images, with_model=with_model)
    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    context = AppContext(settings)
    context.set_store(CollectionStore.open(folder))
    qtbot.waitUntil(lambda: len(context.index) == n_images, timeout=10000)
    info["folder"] = folder
    return context, info


def close_context(context: AppContext, *widgets) -> None:
    """Stop widgets' background work, then the context's jobs and store."""
    for widget in widgets:
        shutdown = getattr(widget, "shutdown", None)
        if shutdown is not None:
            shutdown()
    context.shutdown()
    context.pool.waitForDone(10000)

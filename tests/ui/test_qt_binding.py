"""The Qt binding must not corrupt Python's reference counts (ADR 0005)."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    ping = Signal()
    value = Signal(int)


def test_signal_emit_keeps_the_reference_count_of_true():
    emitter = _Emitter()
    received: list[int] = []
    emitter.value.connect(received.append)
    before = sys.getrefcount(True)
    for i in range(200):
        emitter.ping.emit()
        emitter.value.emit(i)
    after = sys.getrefcount(True)
    assert len(received) == 200
    assert after >= before - 5, (
        f"each Signal.emit() dropped a reference to True ({before} -> {after}); "
        "this PySide6 release aborts long sessions with 'bool_dealloc' (see docs/adr/0005)"
    )

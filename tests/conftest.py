"""Suite-wide guards: headless Qt, and no test may leave threads or child
processes running (a leaked worker is a bug a user would meet as a hang)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OMP_NUM_THREADS", "2")


def _child_pids() -> set[int]:
    me = os.getpid()
    pids: set[int] = set()
    for entry in Path("/proc").iterdir() if Path("/proc").exists() else ():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 1 and fields[1] == str(me) and fields[0] != "Z":
            pids.add(int(entry.name))
    return pids


def _live_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.is_alive() and not t.daemon}


@pytest.fixture(autouse=True)
def no_leaked_threads_or_processes():
    """Fail a test that leaves non-daemon threads, pool workers or child processes running."""
    threads_before = _live_threads()
    children_before = _child_pids()
    yield
    deadline = time.monotonic() + 5.0
    while True:
        leaked_threads = _live_threads() - threads_before
        leaked_children = _child_pids() - children_before
        pool_busy = 0
        qtcore = __import__("sys").modules.get("PySide6.QtCore")
        if qtcore is not None:
            pool_busy = qtcore.QThreadPool.globalInstance().activeThreadCount()
        if not leaked_threads and not leaked_children and not pool_busy:
            return
        if time.monotonic() > deadline:
            break
        if qtcore is not None and qtcore.QCoreApplication.instance() is not None:
            qtcore.QCoreApplication.processEvents()
        time.sleep(0.05)
    problems = []
    if leaked_threads:
        problems.append(f"threads still running: {sorted(t.name for t in leaked_threads)}")
    if leaked_children:
        problems.append(f"child processes still running: {sorted(leaked_children)}")
    if pool_busy:
        problems.append(f"{pool_busy} QThreadPool workers still busy")
    pytest.fail("test left work running: " + "; ".join(problems))

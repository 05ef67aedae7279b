"""What the app's child processes (the trainer, background scoring) share: their
environment and how they are stopped.

Both run this checkout's code in a fresh interpreter, so the project root must
be importable even when the app runs from source rather than an installed
wheel; and neither may be left behind: asked to stop, given a grace period to
save what it did, then killed.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def child_environment() -> dict[str, str]:
    """Our environment with the project root first on PYTHONPATH and unbuffered output."""
    env = dict(os.environ)
    parts = [str(PROJECT_ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    env["PYTHONPATH"] = os.pathsep.join(parts)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def _sigterm(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)


def stop_child(
    process: subprocess.Popen,
    grace_s: float,
    ask: Callable[[subprocess.Popen], None] = _sigterm,
) -> None:
    """Ask a running child to stop (SIGTERM unless `ask` says otherwise), wait up to
    `grace_s` for it to finish cleanly, then kill it. Returns once it has ended."""
    if process.poll() is not None:
        return
    try:
        ask(process)
    except (OSError, ValueError):
        pass  # it ended meanwhile, or its pipe is already closed
    try:
        process.wait(grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()

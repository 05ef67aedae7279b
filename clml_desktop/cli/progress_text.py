"""A one-line text progress bar on stderr for the headless commands.

Redrawn in place with a carriage return when stderr is a terminal; when it is
a file or a pipe (CI logs), a plain line at most every few seconds, so logs
stay readable. Inside `job_step("2/4")` every bar starts with `[2/4]`, so a
multi-step job (the headless main job) says which step a bar belongs to.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from clml_contract.progress import Steps
from clml_desktop.cli.display import shown

WIDTH = 28
_step_label = ""


@contextmanager
def job_step(label: str) -> Iterator[None]:
    """Prefix the bars drawn meanwhile with `[label]` (e.g. `2/4`)."""
    global _step_label
    previous, _step_label = _step_label, label
    try:
        yield
    finally:
        _step_label = previous


def format_seconds(seconds: float | None) -> str:
    """`1h02m`, `3m05s`, `42s`, or `?` when unknown."""
    if seconds is None or seconds != seconds or seconds < 0:
        return "?"
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


class ProgressBar:
    """`[#####-----]  45%  <text>`; call `update` often, `finish` once."""

    def __init__(self, stream: TextIO | None = None, min_interval_s: float = 5.0) -> None:
        self.stream = stream or sys.stderr
        self.interactive = bool(getattr(self.stream, "isatty", lambda: False)())
        self.min_interval_s = 0.1 if self.interactive else min_interval_s
        self._last = 0.0
        self._width = 0
        self._drawn = False

    def update(self, fraction: float, text: str = "", force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < self.min_interval_s:
            return
        self._last = now
        fraction = min(1.0, max(0.0, fraction))
        filled = int(round(fraction * WIDTH))
        prefix = f"[{_step_label}] " if _step_label else ""
        line = f"{prefix}[{'#' * filled}{'-' * (WIDTH - filled)}] {fraction * 100:5.1f}%  {shown(text)}"
        if self.interactive:
            pad = max(0, self._width - len(line))
            self.stream.write("\r" + line + " " * pad)
            self._width = len(line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()
        self._drawn = True

    def finish(self) -> None:
        """End the bar's line so later output starts on a fresh one."""
        if self.interactive and self._drawn:
            self.stream.write("\n")
            self.stream.flush()
        self._drawn = False


@contextmanager
def progress_control(shown: bool = True) -> Iterator[Steps]:
    """A contract `Control` for long work in a command: each report is drawn as a
    bar, `<the work's text>  done/total  ETA 3m05s` (the time left at the speed so
    far); nothing is drawn when not `shown` (e.g. with --json)."""
    bar = ProgressBar() if shown else None
    started = time.monotonic()

    def draw(done: int, total: int, text: str) -> None:
        if bar is None:
            return
        if total <= 0:
            bar.update(0.0, text)
            return
        rate = done / max(time.monotonic() - started, 1e-9)
        eta = (total - done) / rate if rate > 0 else None
        bar.update(done / total, f"{text}  {done:,}/{total:,}  ETA {format_seconds(eta)}", force=done == total)

    try:
        yield Steps(draw)
    finally:
        if bar is not None:
            bar.finish()

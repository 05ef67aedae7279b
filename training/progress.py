"""The trainer's voice: JSON-lines events on stdout, a human log on stderr.

ADR 0002 fixes the protocol: clients (the GUI's QProcess, the CLI's
subprocess) read stdout line by line and parse every line as JSON. One stray
`print` from a library would break that, so `claim_stdout` moves `sys.stdout`
to stderr for the whole run and keeps the real stdout for events only.
Under torchrun only rank 0 speaks; other ranks log to stderr at most.
"""

from __future__ import annotations

import math
import sys
import time
from typing import TextIO

from clml_contract.events import DownloadEvent, Event, WarningEvent, encode


class Progress:
    """Emits protocol events (one JSON object a line) and human log lines."""

    DOWNLOAD_EVERY_S = 0.5  # how often a running download is reported

    def __init__(self, out: TextIO | None, log: TextIO | None = None, enabled: bool = True) -> None:
        self._out = out
        self._log = log if log is not None else sys.stderr
        self.enabled = enabled
        self._started = time.monotonic()
        self._download_said = -math.inf

    def emit(self, event: Event) -> None:
        """Write one event line (the contract's encoding) and flush, so a reader sees it at once."""
        if not self.enabled or self._out is None:
            return
        self._out.write(encode(event) + "\n")
        self._out.flush()

    def log(self, message: str) -> None:
        """A line for people, on stderr, stamped with seconds since start."""
        if not self.enabled:
            return
        self._log.write(f"[{time.monotonic() - self._started:7.1f}s] {message}\n")
        self._log.flush()

    def download(self, what: str, done_bytes: int, total_bytes: int | None) -> None:
        """A download's bytes so far: its first and last chunk, and one report per interval
        between, so a 170 MB file on a slow line shows movement without flooding stdout."""
        now = time.monotonic()
        finished = total_bytes is not None and done_bytes >= total_bytes
        if done_bytes and not finished and now - self._download_said < self.DOWNLOAD_EVERY_S:
            return
        self._download_said = now
        self.emit(DownloadEvent(what=what, done_bytes=done_bytes, total_bytes=total_bytes))
        size = f" of {total_bytes / 1e6:.1f}" if total_bytes else ""
        self.log(f"downloading {what}: {done_bytes / 1e6:.1f}{size} MB")

    def warning(self, message: str) -> None:
        """A problem the run survives (skipped image, halved batch): event and log."""
        self.emit(WarningEvent(message=message))
        self.log(f"warning: {message}")


def claim_stdout() -> TextIO:
    """Reserve the real stdout for events; anything else printed goes to stderr."""
    real = sys.stdout
    sys.stdout = sys.stderr
    return real


class Eta:
    """Seconds left for the whole run (all phases), from the steps done so far."""

    def __init__(self, total_steps: int) -> None:
        self.total = max(1, total_steps)
        self.done = 0
        self._t0 = time.monotonic()
        self.images = 0

    def step(self, images: int) -> None:
        self.done += 1
        self.images += images

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self._t0

    @property
    def seconds_left(self) -> float | None:
        if self.done == 0:
            return None
        return self.elapsed / self.done * max(0, self.total - self.done)

    @property
    def images_per_s(self) -> float | None:
        elapsed = self.elapsed
        return self.images / elapsed if elapsed > 0 else None

    @property
    def fraction(self) -> float:
        return min(1.0, self.done / self.total)

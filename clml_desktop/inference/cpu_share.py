"""Whether onnxruntime's CPU threads may spin: only when no other process needs the cores.

Spinning pool threads (onnxruntime's default) busy-wait between operators
instead of sleeping. Waking a sleeping thread costs a futex call and, in a
VM, an inter-processor interrupt, once per operator: on an idle machine
spinning measured 1.3-1.5x faster model-only at batch 1 and +4% end-to-end
`suggest` at batch 8 (ADR 0016 addendum). On cores that other processes need,
the spinning burns the time slices they would use, and end-to-end `suggest`
under load ran 1.8x faster with sleeping threads (ADR 0016). A session's
options are fixed when it is made, so the machine is sampled once then: how
much CPU is used by everything except this process, and a long scoring run
looks again between batches (`LoadWatch`, `Engine.follow_load`).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path

log = logging.getLogger(__name__)

SPIN_ENV = "CLML_DESKTOP_ORT_SPIN"
"""`on` or `off` forces the choice; anything else (or unset) samples the machine."""

BUSY_CORES_LIMIT = 0.5
"""Spin only while other processes use less than half a core."""

SAMPLE_SECONDS = 0.1


def _machine_busy_ticks(proc: Path) -> int:
    """Clock ticks all CPUs spent running anything (user, nice, system, irq, softirq)."""
    fields = (proc / "stat").read_text().split("\n", 1)[0].split()
    if fields[0] != "cpu":
        raise ValueError("unexpected first line in /proc/stat")
    user, nice, system, _idle, _iowait, irq, softirq = (int(v) for v in fields[1:8])
    return user + nice + system + irq + softirq


def _own_ticks(proc: Path) -> int:
    """Clock ticks this process (all its threads) has run, user plus system."""
    text = (proc / "self" / "stat").read_text()
    # The command name may hold spaces and parentheses: fields start after the last ')'.
    rest = text[text.rindex(")") + 2 :].split()
    return int(rest[11]) + int(rest[12])


class LoadWatch:
    """Cores' worth of CPU used by other processes between successive `sample()` calls.

    Each call compares /proc/stat (all CPUs) and /proc/self/stat (this
    process, every thread) with the previous call, so a long job can ask
    between batches without sleeping. Linux only; elsewhere `sample()` is None.
    """

    def __init__(self, proc: Path = Path("/proc"), clock: Callable[[], float] = time.monotonic):
        self._proc = proc
        self._clock = clock
        self._last = self._read()

    def _read(self) -> tuple[int, int, float] | None:
        try:
            return _machine_busy_ticks(self._proc), _own_ticks(self._proc), self._clock()
        except (OSError, ValueError, IndexError):
            return None

    def sample(self, min_seconds: float = 0.0) -> float | None:
        """Other processes' CPU use since the last call (or since construction)."""
        now = self._read()
        last, self._last = self._last, now
        if now is None or last is None:
            return None
        try:
            hz = os.sysconf("SC_CLK_TCK")
        except (AttributeError, ValueError, OSError):
            return None
        elapsed = max(now[2] - last[2], min_seconds)
        if elapsed <= 0:
            return None
        return max(0, (now[0] - last[0]) - (now[1] - last[1])) / (hz * elapsed)


def others_busy_cores(
    window_s: float = SAMPLE_SECONDS,
    proc: Path = Path("/proc"),
    sleep: Callable[[float], None] = time.sleep,
) -> float | None:
    """Cores' worth of CPU used by other processes over the next `window_s`; None where unknown."""
    watch = LoadWatch(proc)
    sleep(window_s)
    return watch.sample(min_seconds=window_s)


def forced(env: Mapping[str, str] = os.environ) -> bool | None:
    """The choice `CLML_DESKTOP_ORT_SPIN=on|off` makes, or None when the load decides."""
    value = env.get(SPIN_ENV, "").strip().lower()
    return {"on": True, "off": False}.get(value)


def spin_for(busy: float | None) -> tuple[bool, str]:
    """Spin unless other processes use at least BUSY_CORES_LIMIT cores; and why."""
    if busy is None:
        return True, "the load of other processes is unknown here; onnxruntime's default"
    if busy >= BUSY_CORES_LIMIT:
        return False, f"other processes use {busy:.1f} cores, so threads sleep between operators"
    return True, f"other processes use {busy:.1f} cores, so threads spin between operators"


def spinning(
    env: Mapping[str, str] = os.environ,
    sample: Callable[[], float | None] | None = None,
) -> tuple[bool, str]:
    """Whether the CPU session's threads should spin, and why (for the log).

    `sample` measures other processes' CPU use (default: `others_busy_cores`).
    """
    choice = forced(env)
    if choice is not None:
        return choice, f"{SPIN_ENV}={'on' if choice else 'off'}"
    return spin_for((sample or others_busy_cores)())

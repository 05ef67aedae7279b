"""Whether onnxruntime's CPU threads may spin: only when no other process needs the cores.

Spinning pool threads (onnxruntime's default) busy-wait between operators
instead of sleeping. Waking a sleeping thread costs a futex call and, in a
VM, an inter-processor interrupt, once per operator: on an idle machine
spinning measured 1.3-1.5x faster model-only at batch 1 and +4% end-to-end
`suggest` at batch 8 (ADR 0016 addendum). On cores that other processes need,
the spinning burns the time slices they would use, and end-to-end `suggest`
under load ran 1.8x faster with sleeping threads (ADR 0016). A session's
options are fixed when it is made, so the machine is sampled once then: how
much CPU is used by everything except this process.
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


def others_busy_cores(
    window_s: float = SAMPLE_SECONDS,
    proc: Path = Path("/proc"),
    sleep: Callable[[float], None] = time.sleep,
) -> float | None:
    """Cores' worth of CPU used by other processes over `window_s`; None where unknown.

    Linux only (from /proc/stat and /proc/self/stat, both in USER_HZ ticks);
    elsewhere, or when those files cannot be read, None.
    """
    try:
        hz = os.sysconf("SC_CLK_TCK")
        machine, own = _machine_busy_ticks(proc), _own_ticks(proc)
        started = time.monotonic()
        sleep(window_s)
        elapsed = max(time.monotonic() - started, window_s)
        machine, own = _machine_busy_ticks(proc) - machine, _own_ticks(proc) - own
    except (OSError, ValueError, IndexError, AttributeError):
        return None
    return max(0, machine - own) / (hz * elapsed)


def spinning(
    env: Mapping[str, str] = os.environ,
    sample: Callable[[], float | None] | None = None,
) -> tuple[bool, str]:
    """Whether the CPU session's threads should spin, and why (for the log).

    `sample` measures other processes' CPU use (default: `others_busy_cores`).
    """
    forced = env.get(SPIN_ENV, "").strip().lower()
    if forced in ("on", "off"):
        return forced == "on", f"{SPIN_ENV}={forced}"
    busy = (sample or others_busy_cores)()
    if busy is None:
        return True, "the load of other processes is unknown here; onnxruntime's default"
    if busy >= BUSY_CORES_LIMIT:
        return False, f"other processes use {busy:.1f} cores, so threads sleep between operators"
    return True, f"other processes use {busy:.1f} cores, so threads spin between operators"

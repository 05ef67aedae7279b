"""Garbage-collector settings for the GUI process (ADR 0014).

Why: a full (generation 2) collection holds the GIL for its whole run, on
whichever thread triggered it. Opening a 20,000-image folder allocates a few
million short-lived objects on the scan thread; with CPython's defaults that
set off full collections of 45-130 ms that found nothing to free, and the
GUI thread, needing the GIL for its next timer or paint, stood still for as
long. Two changes keep collections short and rare:

- `gc.freeze()` once the window exists: the tens of thousands of objects
  made while importing Qt, numpy and the app live for the whole session, so
  no collection needs to walk them again;
- a larger young generation and a far larger full-collection period: young
  collections stay cheap (they only walk young objects) while a burst of
  allocations no longer promotes itself into repeated full collections.
  Reference cycles are rare in this code (numpy arrays and plain rows), so
  the memory a rarer full collection holds back is small.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 1000
MIDDLE_THRESHOLD = 5
OLD_THRESHOLD = 5000


def tune_gc() -> None:
    """Freeze what exists now and raise the thresholds (call once, after startup)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD)


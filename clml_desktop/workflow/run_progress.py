"""Whole-run progress of a training run from the trainer's per-phase events (Qt-free).

The trainer trains several models in one run (the final model, then one per
fold for the out-of-fold scores) and reports each from epoch 1 to its last
step. Shown as they come, a bar restarts for every phase and reads "100%"
several times. `RunProgress` maps a phase's own fraction onto the whole run
(phase i of n fills the i-th n-th, never backwards) and estimates the time
left for the whole run from its pace so far. Used by the Train panel and by
`clml-desktop train`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from clml_contract.events import EpochEvent, ProgressEvent, StartEvent


class RunProgress:
    """Feed it Start/Progress/Epoch events; read `fraction`, `label(phase)`, `eta_s()`."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.started = clock()
        self.phases: list[str] = []
        self.total_phases = 1
        self.epochs = 0
        self.fraction = 0.0
        self._phase_eta: float | None = None

    def start(self, event: StartEvent) -> None:
        """A run with K folds trains K + 1 models (no folds: one)."""
        self.total_phases = event.folds + 1 if event.folds > 1 else 1
        self.epochs = event.epochs
        self.started = self._clock()

    def progress(self, event: ProgressEvent) -> float:
        """The whole run's fraction after a step of `event.phase`."""
        self.epochs = event.epochs or self.epochs
        steps = max(1, event.epochs * event.steps)
        self._phase_eta = event.eta_s
        return self._advance(event.phase, (max(0, event.epoch - 1) * event.steps + event.step) / steps)

    def epoch_done(self, event: EpochEvent) -> float:
        """The whole run's fraction after an epoch of `event.phase` ended."""
        return self._advance(event.phase, event.epoch / self.epochs if self.epochs else 1.0)

    def label(self, phase: str) -> str:
        """`final model (phase 1 of 3)`, `fold 2/2 (phase 3 of 3)`."""
        what = "final model" if phase == "final" else (phase or "model")
        if self.total_phases == 1:
            return what
        return f"{what} (phase {self._index(phase) + 1} of {self.total_phases})"

    def eta_s(self) -> float | None:
        """Seconds left for the whole run: from the pace so far once there is one,
        else the trainer's estimate for the current phase."""
        if self.fraction >= 0.02:
            elapsed = self._clock() - self.started
            return max(0.0, elapsed / self.fraction - elapsed)
        return self._phase_eta

    def _index(self, phase: str) -> int:
        if phase not in self.phases:
            self.phases.append(phase)
            self.total_phases = max(self.total_phases, len(self.phases))
        return self.phases.index(phase)

    def _advance(self, phase: str, within: float) -> float:
        index = self._index(phase)
        fraction = (index + min(1.0, max(0.0, within))) / self.total_phases
        self.fraction = max(self.fraction, fraction)
        return self.fraction

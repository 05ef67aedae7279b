"""The model's calibration map, applied to every score the app shows.

The trainer fits a piecewise-linear map from "likely to be tagged" (what the
network outputs) to "likely to be true" for untagged pairs (training.calibration,
ADR 0018) and writes it in the manifest. The app applies it once, where
stored scores become suggestions, so the grid, inspector, review, the CLI and
exports all show the same calibrated percentage. Torch-free: the trainer
imports this function too, so both sides map a score the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np


def apply_score_map(probs: np.ndarray, score_map: Mapping[str, Any] | None) -> np.ndarray:
    """Scores mapped through a manifest's `calibration` (returned unchanged, as float32, without one)."""
    probs = np.asarray(probs, dtype=np.float32)
    if not score_map:
        return probs
    return np.interp(probs, score_map["raw"], score_map["calibrated"]).astype(np.float32)

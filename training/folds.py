"""Who trains on what: the held-out split and the out-of-fold partition.

A model scores its own training images with their missing tags learned as
"absent", so in-sample scores bury exactly the tags a person wants suggested
(ADR 0004). Every image therefore gets its score from a model that never saw
it: fold models score their own fold, and the held-out images, which no model
trains on, are scored by the final model.
"""

from __future__ import annotations

import numpy as np


def holdout_split(
    confirmed: np.ndarray, share: float, seed: int, min_images: int = 10
) -> tuple[np.ndarray, np.ndarray, str]:
    """(train indices, held-out indices, basis) for a set of images.

    Held out are images a person confirmed (up to `share` of the set), or a
    random `share` when none are confirmed; sets under `min_images` hold out
    nothing (no split would be meaningful). `basis` says which rule applied.
    """
    n = len(confirmed)
    rng = np.random.default_rng(seed)
    cap = int(round(share * n))
    if n < min_images or cap < 1:
        return np.arange(n), np.empty(0, dtype=np.int64), "none"
    pool = np.flatnonzero(confirmed)
    basis = "confirmed"
    if pool.size == 0:
        pool = np.arange(n)
        basis = "random"
    held = np.sort(rng.permutation(pool)[:cap])
    train = np.setdiff1d(np.arange(n), held)
    return train, held, basis


def assign_folds(n: int, k: int, seed: int) -> np.ndarray:
    """Fold number (0..k-1) for each of n images: a shuffled, balanced partition."""
    if k < 2:
        raise ValueError("out-of-fold scoring needs at least 2 folds")
    if n < k:
        raise ValueError(f"{n} images cannot be split into {k} folds")
    order = np.random.default_rng(seed).permutation(n)
    folds = np.empty(n, dtype=np.int64)
    folds[order] = np.arange(n) % k
    return folds

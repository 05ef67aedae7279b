"""Who trains on what: the out-of-fold partition, or a held-out share when folds are off.

A model scores its own training images with their missing tags learned as
"absent", so in-sample scores bury exactly the tags a person wants suggested
(ADR 0004). With K >= 2 folds every image gets its score from the fold model
that did not train on it, and those out-of-fold scores also give the held-out
metrics and thresholds, so the final model can train on every image, the ones
a person corrected included. Only with folds off is a share of images held
out of training, and then never a confirmed one: a person's corrections are
the labels most worth learning.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Plan:
    """The final model trains on `train`; `fold_of[i]` is the fold of `train[i]` (or None)."""

    train: np.ndarray
    holdout: np.ndarray
    fold_of: np.ndarray | None
    holdout_basis: str  # "none" or "unconfirmed" (a random share of the unconfirmed images)


def plan_split(confirmed: np.ndarray, folds: int, share: float, seed: int,
               min_holdout_images: int = 10) -> tuple[Plan, list[str]]:
    """The run's split and any warnings about it.

    K >= 2 folds: every image trains the final model and is scored by one fold
    model. Folds off (or too few images for them): a random `share` of the
    unconfirmed images is held out for metrics and thresholds; sets under
    `min_holdout_images`, or with every image confirmed, hold out nothing.
    """
    confirmed = np.asarray(confirmed, dtype=bool)
    n = confirmed.size
    warnings: list[str] = []
    if folds >= 2:
        if n >= 2 * folds:
            return Plan(np.arange(n), np.empty(0, dtype=np.int64),
                        assign_folds(n, folds, seed, strata=confirmed), "none"), warnings
        warnings.append(f"{n} images are too few for {folds} folds; no out-of-fold scores this time")
    train, held = holdout_split(confirmed, share, seed, min_holdout_images)
    if held.size == 0:
        warnings.append("no images held out: held-out metrics are unavailable and every tag "
                        "takes the threshold 0.5 (use --folds 2 for measured ones)")
    basis = "unconfirmed" if held.size else "none"
    return Plan(train, held, None, basis), warnings


def holdout_split(confirmed: np.ndarray, share: float, seed: int,
                  min_images: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """(train indices, held-out indices): a random `share` of the set, drawn from unconfirmed images.

    Confirmed images always train: holding them out would leave a person's
    corrections unlearned until the next run.
    """
    confirmed = np.asarray(confirmed, dtype=bool)
    n = confirmed.size
    cap = int(round(share * n))
    pool = np.flatnonzero(~confirmed)
    if n < min_images or cap < 1 or pool.size == 0:
        return np.arange(n), np.empty(0, dtype=np.int64)
    held = np.sort(np.random.default_rng(seed).permutation(pool)[:cap])
    return np.setdiff1d(np.arange(n), held), held


def assign_folds(n: int, k: int, seed: int, strata: np.ndarray | None = None) -> np.ndarray:
    """Fold number (0..k-1) for each of n images: a shuffled, balanced partition.

    With `strata` (e.g. the confirmed flags) each stratum is spread evenly over
    the folds, so every fold model sees its share of a person's corrections.
    """
    if k < 2:
        raise ValueError("out-of-fold scoring needs at least 2 folds")
    if n < k:
        raise ValueError(f"{n} images cannot be split into {k} folds")
    rng = np.random.default_rng(seed)
    groups = np.zeros(n, dtype=np.int64) if strata is None else np.asarray(strata).astype(np.int64)
    # one running order over all strata keeps the fold sizes within one of each other
    order = np.concatenate([rng.permutation(np.flatnonzero(groups == g)) for g in np.unique(groups)])
    folds = np.empty(n, dtype=np.int64)
    folds[order] = np.arange(n) % k
    return folds

"""Held-out quality and per-tag thresholds, counting only labels we actually know.

In a collection with missing tags an "unknown" pair may be a hidden positive,
so scoring it as a negative punishes the model for the very suggestions we
want. A pair counts as known when it is a positive, a tag a person rejected,
or any pair of an image whose labels a person confirmed. Only when the
held-out images carry no known negative at all do we fall back to treating
unknowns as negatives (the usual partial-label evaluation), and say so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def average_precision(scores: np.ndarray, labels: np.ndarray) -> float:
    """Non-interpolated AP (mean precision at each positive); NaN without positives.

    Ties are broken pessimistically (negatives first), so a constant scorer
    does not look better than chance.
    """
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels).astype(bool)
    n_pos = int(labels.sum())
    if n_pos == 0:
        return float("nan")
    order = np.lexsort((labels, -scores))
    hits = labels[order]
    cum = np.cumsum(hits)
    ranks = np.arange(1, len(hits) + 1)
    return float((cum[hits] / ranks[hits]).sum() / n_pos)


def known_mask(targets: np.ndarray, known_negative: np.ndarray, confirmed: np.ndarray) -> np.ndarray:
    """True where a pair's label is known: positive, rejected, or on a confirmed image."""
    known = targets.astype(bool) | known_negative.astype(bool)
    return known | np.asarray(confirmed, dtype=bool)[:, None]


MIN_CONFIRMED_IMAGES = 20  # fewer confirmed images than this give too noisy an mAP on their own


def evaluation_rows(confirmed: np.ndarray, rows: np.ndarray,
                    min_confirmed: int = MIN_CONFIRMED_IMAGES) -> tuple[np.ndarray, str]:
    """The images (of `rows`) an mAP is computed on, and which they are.

    A confirmed image's every pair is known, so those images give the most
    trustworthy metric; when there are too few of them, all images are used
    (their known pairs only, see `map_known`). Returns (rows, "confirmed" | "all").
    """
    rows = np.asarray(rows, dtype=np.int64)
    picked = rows[np.asarray(confirmed, dtype=bool)[rows]]
    if picked.size >= min_confirmed:
        return picked, "confirmed"
    return rows, "all"


@dataclass(frozen=True)
class MapResult:
    """mAP and per-tag AP over the tags that have a known positive and negative."""

    map: float
    per_tag: np.ndarray  # NaN where the tag had no usable positive/negative pair
    basis: str  # "known" or "unknown-as-negative"
    tags_scored: int


def map_known(
    probs: np.ndarray, targets: np.ndarray, known_negative: np.ndarray, confirmed: np.ndarray
) -> MapResult:
    """Mean AP over tags, each computed on its known pairs only."""
    mask, basis = _evaluation_mask(targets, known_negative, confirmed)
    pos = targets.astype(bool)
    per_tag = np.full(targets.shape[1], np.nan)
    for c in range(targets.shape[1]):
        m = mask[:, c]
        if pos[m, c].any() and (~pos[m, c]).any():
            per_tag[c] = average_precision(probs[m, c], pos[m, c])
    scored = int(np.isfinite(per_tag).sum())
    value = float(np.nanmean(per_tag)) if scored else float("nan")
    return MapResult(map=value, per_tag=per_tag, basis=basis, tags_scored=scored)


def _evaluation_mask(
    targets: np.ndarray, known_negative: np.ndarray, confirmed: np.ndarray
) -> tuple[np.ndarray, str]:
    mask = known_mask(targets, known_negative, confirmed)
    if (mask & ~targets.astype(bool)).any():
        return mask, "known"
    return np.ones_like(mask, dtype=bool), "unknown-as-negative"


def reliability(probs: np.ndarray, truth: np.ndarray,
                bins: int = 10) -> list[tuple[float, float, int]]:
    """(mean score, share true, pairs) for each equal-width score bin that holds any pairs."""
    probs = np.asarray(probs, dtype=np.float64).ravel()
    truth = np.asarray(truth, dtype=bool).ravel()
    which = np.minimum((probs * bins).astype(np.int64), bins - 1)
    return [(float(probs[m].mean()), float(truth[m].mean()), int(m.sum()))
            for m in (which == b for b in np.unique(which))]


def calibration_error(probs: np.ndarray, truth: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: the pair-weighted gap between shown score and share true, per bin."""
    table = reliability(probs, truth, bins)
    pairs = sum(n for _, _, n in table)
    if pairs == 0:
        return float("nan")
    return float(sum(n / pairs * abs(score - true) for score, true, n in table))


def calibration_on_confirmed(probs: np.ndarray, targets: np.ndarray, confirmed: np.ndarray,
                             min_images: int = MIN_CONFIRMED_IMAGES) -> dict | None:
    """How far the shown percentages are from the truth on the images a person confirmed.

    A confirmed image's every pair is known, so its out-of-fold scores are the
    one honest check of "70% means right 70% of the time" the trainer can make
    without a truth file; None with fewer than `min_images` confirmed images.
    The more images a person confirms, the tighter this check (ADR 0018).
    """
    rows = np.flatnonzero(np.asarray(confirmed, dtype=bool))
    if rows.size < min_images:
        return None
    p, t = probs[rows], targets[rows].astype(bool)
    return {"ece": round(calibration_error(p, t), 4), "images": int(rows.size), "pairs": int(p.size)}


def recall_at_precision(scores: np.ndarray, labels: np.ndarray, precision: float) -> float:
    """The largest recall reachable at a cut whose precision is at least `precision`."""
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels).astype(bool)
    n_pos = int(labels.sum())
    if n_pos == 0:
        return float("nan")
    order = np.lexsort((labels, -scores))
    s, hits = scores[order], labels[order]
    tp = np.cumsum(hits)
    k = np.arange(1, len(s) + 1)
    last_of_run = np.r_[s[1:] != s[:-1], True]
    ok = last_of_run & (tp / k >= precision)
    return float(tp[ok].max() / n_pos) if ok.any() else 0.0


@dataclass(frozen=True)
class Comparison:
    """Two models' mAP on the same images, tags and known labels (`map_known` for both)."""

    new_map: float
    parent_map: float
    images: int
    tags_scored: int


def compare_on_same_images(new_probs: np.ndarray, parent_probs: np.ndarray, targets: np.ndarray,
                           known_negative: np.ndarray, confirmed: np.ndarray) -> Comparison:
    """Score two models' held-out probabilities of the same rows and columns the same way.

    The rows are images neither model trained on when the scores came from it
    (out-of-fold or held-out scores), so neither number is flattered by
    remembering an image; the labels are today's, for both.
    """
    new = map_known(new_probs, targets, known_negative, confirmed)
    old = map_known(parent_probs, targets, known_negative, confirmed)
    scored = int((np.isfinite(new.per_tag) & np.isfinite(old.per_tag)).sum())
    return Comparison(new_map=new.map, parent_map=old.map, images=int(targets.shape[0]), tags_scored=scored)

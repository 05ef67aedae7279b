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


def best_f1_threshold(scores: np.ndarray, labels: np.ndarray) -> float | None:
    """The cut between two scores that maximises F1; None without positives."""
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels).astype(bool)
    n_pos = int(labels.sum())
    if n_pos == 0 or labels.all():
        return None
    order = np.argsort(-scores, kind="stable")
    s, hits = scores[order], labels[order]
    tp = np.cumsum(hits)
    k = np.arange(1, len(s) + 1)
    f1 = 2 * tp / (k + n_pos)
    # a threshold can only fall between distinct scores: use the last of each tie run
    last_of_run = np.r_[s[1:] != s[:-1], True]
    f1 = np.where(last_of_run, f1, -1.0)
    best = int(np.argmax(f1))
    below = s[best + 1] if best + 1 < len(s) else 0.0
    return float((s[best] + below) / 2)


def calibrate_thresholds(
    probs: np.ndarray,
    targets: np.ndarray,
    known_negative: np.ndarray,
    confirmed: np.ndarray,
    tags: list[str],
    min_positives: int = 3,
    default: float = 0.5,
) -> tuple[dict[str, float], float]:
    """Per-tag F1-optimal thresholds on the held-out pairs we know.

    A tag with fewer than `min_positives` held-out positives borrows the
    threshold pooled over all tags (one cut from 2 positives is noise); with
    no usable pairs at all every tag gets `default`. Returns (per tag, pooled).
    """
    if probs.size == 0:
        return {t: default for t in tags}, default
    mask, _ = _evaluation_mask(targets, known_negative, confirmed)
    pos = targets.astype(bool)
    pooled = best_f1_threshold(probs[mask], pos[mask])
    pooled = default if pooled is None else pooled
    out: dict[str, float] = {}
    for c, tag in enumerate(tags):
        m = mask[:, c]
        t = None
        if int(pos[m, c].sum()) >= min_positives:
            t = best_f1_threshold(probs[m, c], pos[m, c])
        out[tag] = round(float(pooled if t is None else t), 6)
    return out, round(float(pooled), 6)


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

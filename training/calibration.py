"""From "likely to be tagged" to "likely to be true": a calibration map for unknown pairs.

The network learns P(tagged | image). For an untagged pair a person wants
P(true | image, untagged), and the two differ where tags go missing: a kind of
image that always shows a tag, tagged 60% of the time, scores ~0.6 while its
untagged pairs are nearly all true (out-of-fold, "60%" was right 90% of the
time on the demo). The correction needs the truth of untagged pairs, which
the trainer does not have, but it has something as good under the usual
missing-at-random assumption: the hidden positives are a random sample of all
positives, so their out-of-fold scores are distributed like those of the
tagged positives. Per score bin b, with L_b tagged positives and U_b untagged
pairs, the untagged pairs hold about κ·L_b hidden positives, where κ = hidden
/ tagged is read off the top of the score range (the fewest highest bins that
hold 200 untagged pairs, where those are nearly all hidden positives). That
holds only where the network is sure of those pairs; where it is not (weak
models, small collections), no map is fitted and the network's own score is
shown.
So P(true | b) ≈ κ·L_b / U_b, made monotone (pool-adjacent-violators) and
stored as a piecewise-linear map in the manifest, which the app applies to
every score it shows. Rejections and confirmed images are known, never
"untagged", so each one a person adds sharpens U_b. ADR 0018 has the numbers.
"""

from __future__ import annotations

import numpy as np

from clml_contract.score_map import apply_score_map as apply_calibration

__all__ = ["apply_calibration", "fit_calibration", "isotonic"]

BIN_WIDTH = 0.05
MIN_TAGGED_IN_ANCHOR = 20  # the anchor must rest on this many tagged positives
MIN_UNTAGGED_IN_ANCHOR = 200  # ... and this many untagged pairs
MIN_ANCHOR_SCORE = 0.75  # ... which the network itself scores at least this likely tagged, on average


def isotonic(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The non-decreasing sequence closest to `values` in weighted least squares (PAVA)."""
    blocks: list[list[float]] = []  # [mean, weight, count]
    for v, w in zip(values.astype(float), weights.astype(float), strict=True):
        blocks.append([v, w, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, w2, n2 = blocks.pop()
            m1, w1, n1 = blocks.pop()
            total = w1 + w2
            mean = (m1 * w1 + m2 * w2) / total if total > 0 else (m1 + m2) / 2
            blocks.append([mean, total, n1 + n2])
    return np.concatenate([np.full(n, m) for m, _, n in blocks])


def fit_calibration(probs: np.ndarray, tagged: np.ndarray, untagged: np.ndarray) -> dict | None:
    """The map {"raw": [...], "calibrated": [...], "kappa": κ} or None when the data cannot carry one.

    `probs` are out-of-fold scores (N×C), `tagged` the positives, `untagged`
    the pairs with no known label (not positive, not rejected, not on a
    confirmed image).
    """
    p = np.asarray(probs, dtype=np.float64)
    tagged = np.asarray(tagged, dtype=bool)
    untagged = np.asarray(untagged, dtype=bool) & ~tagged
    if tagged.sum() < MIN_TAGGED_IN_ANCHOR or untagged.sum() == 0:
        return None
    bins = int(round(1 / BIN_WIDTH))
    which = np.minimum((p * bins).astype(np.int64), bins - 1)
    tagged_in = np.bincount(which[tagged], minlength=bins).astype(float)
    untagged_in = np.bincount(which[untagged], minlength=bins).astype(float)
    score_sum = np.bincount(which[untagged], weights=p[untagged], minlength=bins)
    usable = untagged_in > 0
    # The anchor: the fewest top bins that hold MIN_UNTAGGED_IN_ANCHOR untagged pairs. Fewer
    # make κ noise (a top bin with 24 tagged and 3 untagged pairs said κ = 0.12 on the scenes
    # collection, true 0.67); many more let true negatives in and push κ up (ADR 0018).
    tagged_top = np.cumsum(tagged_in[::-1])
    untagged_top = np.cumsum(untagged_in[::-1])
    anchors = (untagged_top >= MIN_UNTAGGED_IN_ANCHOR) & (tagged_top >= MIN_TAGGED_IN_ANCHOR)
    if not anchors.any():
        return None
    ratios = np.where(anchors, untagged_top / np.maximum(tagged_top, 1), np.inf)
    top = int(np.argmin(ratios))  # the anchor: bins `bins - 1 - top` .. `bins - 1`
    kappa = float(ratios[top])
    # κ assumes the anchor's untagged pairs are nearly all hidden positives. A network that is
    # itself unsure there (out-of-fold P(tagged) under MIN_ANCHOR_SCORE) cannot tell a pure
    # anchor from one full of negatives, and the map would show those as near-certain: on 16
    # runs (ADR 0018) every such model got a worse ECE from the map (0.06-0.57 vs 0.02-0.15
    # raw), so it keeps the network's own scores.
    anchor_score = float(score_sum[bins - 1 - top:].sum() / untagged_top[top])
    if anchor_score < MIN_ANCHOR_SCORE:
        return None
    share = np.where(usable, kappa * tagged_in / np.maximum(untagged_in, 1), 0.0)
    share = np.clip(share[usable], 0.0, 1.0)
    # A strictly rising map keeps the model's order (review queues, AP): a ramp of at most
    # 0.001 separates the bins isotonic regression pooled.
    calibrated = isotonic(share, untagged_in[usable]) + np.linspace(0.0, 1e-3, int(usable.sum()))
    calibrated = np.minimum(calibrated, 1.0)
    raw = score_sum[usable] / untagged_in[usable]
    raw, keep = np.unique(np.round(raw, 6), return_index=True)
    calibrated = np.round(calibrated[keep], 6)
    inside = (raw > 0.0) & (raw < 1.0)
    raw, calibrated = raw[inside], calibrated[inside]
    if raw.size == 0:
        return None
    return {"raw": [0.0, *raw.tolist(), 1.0],
            "calibrated": [0.0, *calibrated.tolist(), 1.0],
            "kappa": round(kappa, 6), "anchor_score": round(anchor_score, 4),
            "method": "tagged-share per score bin (ADR 0018)"}

"""Multi-label base losses that CLML is added to, with their papers' defaults.

Every loss has the signature `fn(logits, targets, known_negative=None, epoch=0)`
and returns the SUM over batch and labels, as the CLML authors' release does,
so that `base + lambda * clml` keeps the paper's meaning of lambda = 1.

`targets` are 1 for a positive and 0 for "absent or missing". `known_negative`
marks the tags a person rejected: those are certain negatives, so every loss
gives them the plain BCE negative term -log(1 - p) and never the
missing-label treatment (Hill's down-weighting, SPLC's flipping, ASL's
clipping, focal down-weighting of easy negatives). A pair that is both positive
and a known negative counts as positive.

Focusing weights are differentiated like the rest of the loss (the papers
define the loss, not a detached weight).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch
import torch.nn.functional as F

__all__ = ["BASE_LOSSES", "BaseLoss", "make_base_loss", "bce", "focal", "asl", "hill", "splc"]

BaseLoss = Callable[..., torch.Tensor]


def _prepare(
    logits: torch.Tensor, targets: torch.Tensor, known_negative: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Float32 logits, a bool positive mask, and a bool known-negative mask (never positive)."""
    if logits.shape != targets.shape:
        raise ValueError(
            f"logits {tuple(logits.shape)} and targets {tuple(targets.shape)} differ in shape"
        )
    z = logits.float()
    positive = targets if targets.dtype == torch.bool else targets > 0.5
    positive = positive.detach()
    if known_negative is None:
        certain = torch.zeros_like(positive)
    else:
        if known_negative.shape != logits.shape:
            raise ValueError(
                f"known_negative {tuple(known_negative.shape)} and logits "
                f"{tuple(logits.shape)} differ in shape"
            )
        certain = known_negative.detach().to(torch.bool) & ~positive
    return z, positive, certain


def _combine(
    positive: torch.Tensor,
    certain: torch.Tensor,
    z: torch.Tensor,
    pos_term: torch.Tensor,
    neg_term: torch.Tensor,
    unknown_weight: float | torch.Tensor = 1.0,
) -> torch.Tensor:
    """Sum of the positive term, the plain BCE term for known negatives, the loss's own negative term.

    `unknown_weight` (a number, or one per pair) scales the negative term of
    unknown pairs only ("weak negatives"): an unknown pair is absent *or
    missing*, so it is less sure than a person's rejection.
    """
    known = F.softplus(z)
    if isinstance(unknown_weight, torch.Tensor) or unknown_weight != 1.0:
        neg_term = neg_term * unknown_weight
    per_pair = torch.where(positive, pos_term, torch.where(certain, known, neg_term))
    return per_pair.sum()


def bce(
    logits: torch.Tensor,
    targets: torch.Tensor,
    known_negative: torch.Tensor | None = None,
    epoch: int = 0,
    *,
    unknown_weight: float | torch.Tensor = 1.0,
) -> torch.Tensor:
    """Binary cross-entropy, summed: -y log p - (1 - y) log(1 - p)."""
    z, positive, certain = _prepare(logits, targets, known_negative)
    return _combine(positive, certain, z, F.softplus(-z), F.softplus(z), unknown_weight)


def focal(
    logits: torch.Tensor,
    targets: torch.Tensor,
    known_negative: torch.Tensor | None = None,
    epoch: int = 0,
    *,
    unknown_weight: float | torch.Tensor = 1.0,
    gamma: float = 2.0,
) -> torch.Tensor:
    """Focal loss (Lin et al. 2017), gamma = 2, no alpha balancing (as in the multi-label papers)."""
    z, positive, certain = _prepare(logits, targets, known_negative)
    p = torch.sigmoid(z)
    pos = (1.0 - p).pow(gamma) * F.softplus(-z)
    neg = p.pow(gamma) * F.softplus(z)
    return _combine(positive, certain, z, pos, neg, unknown_weight)


def asl(
    logits: torch.Tensor,
    targets: torch.Tensor,
    known_negative: torch.Tensor | None = None,
    epoch: int = 0,
    *,
    unknown_weight: float | torch.Tensor = 1.0,
    gamma_neg: float = 4.0,
    gamma_pos: float = 0.0,
    clip: float = 0.05,
) -> torch.Tensor:
    """Asymmetric loss (Ridnik et al. 2021): gamma- = 4, gamma+ = 0, probability margin 0.05.

    Negatives use the shifted probability p_m = max(p - clip, 0), which both
    discards very easy negatives and bounds the loss of possibly mislabelled ones.
    """
    z, positive, certain = _prepare(logits, targets, known_negative)
    p = torch.sigmoid(z)
    pos = (1.0 - p).pow(gamma_pos) * F.softplus(-z)
    shifted = (p - clip).clamp_min(0.0)
    # 1 - shifted >= clip > 0 whenever clip > 0; with clip = 0 it is 1 - p = sigmoid(-z).
    neg_log = -torch.log1p(-shifted) if clip > 0 else F.softplus(z)
    neg = shifted.pow(gamma_neg) * neg_log
    return _combine(positive, certain, z, pos, neg, unknown_weight)


def hill(
    logits: torch.Tensor,
    targets: torch.Tensor,
    known_negative: torch.Tensor | None = None,
    epoch: int = 0,
    *,
    unknown_weight: float | torch.Tensor = 1.0,
    lamb: float = 1.5,
    margin: float = 1.0,
    gamma: float = 2.0,
) -> torch.Tensor:
    """Hill loss (Zhang et al. 2021): focal margin on positives, -(lambda - p) p^2 on negatives.

    The Hill term is the paper's robust negative: it down-weights confident
    "negatives", which are likely missing positives; lambda = 1.5, margin = 1,
    gamma = 2 are the paper's settings.
    """
    z, positive, certain = _prepare(logits, targets, known_negative)
    shifted = z - margin
    pos = (1.0 - torch.sigmoid(shifted)).pow(gamma) * F.softplus(-shifted)
    p = torch.sigmoid(z)
    neg = (lamb - p) * p.pow(2)
    return _combine(positive, certain, z, pos, neg, unknown_weight)


def splc(
    logits: torch.Tensor,
    targets: torch.Tensor,
    known_negative: torch.Tensor | None = None,
    epoch: int = 0,
    *,
    unknown_weight: float | torch.Tensor = 1.0,
    tau: float = 0.6,
    change_epoch: int = 1,
    margin: float = 1.0,
    gamma: float = 2.0,
) -> torch.Tensor:
    """Self-paced loss correction (Zhang et al. 2021) on the focal margin loss.

    From `change_epoch` (epochs counted from 0) on, an unknown label whose
    probability exceeds tau = 0.6 is trained as a positive (without the margin,
    which belongs to the given positives); a known negative is never flipped.
    """
    z, positive, certain = _prepare(logits, targets, known_negative)
    p = torch.sigmoid(z)
    flipped = torch.zeros_like(positive)
    if epoch >= change_epoch:
        flipped = (p.detach() > tau) & ~positive & ~certain
    shifted = torch.where(positive, z - margin, z)
    p_shifted = torch.sigmoid(shifted)
    pos = (1.0 - p_shifted).pow(gamma) * F.softplus(-shifted)
    neg = p.pow(gamma) * F.softplus(z)
    return _combine(positive | flipped, certain, z, pos, neg, unknown_weight)


_LOSSES: dict[str, BaseLoss] = {"bce": bce, "focal": focal, "asl": asl, "hill": hill, "splc": splc}

BASE_LOSSES: tuple[str, ...] = tuple(_LOSSES)


MAX_REJECTED_SHARE = 0.5  # never ignore more than half of a batch's unknown pairs


def reject_largest_unknowns(
    logits: torch.Tensor, targets: torch.Tensor, known_negative: torch.Tensor | None, share: float
) -> torch.Tensor:
    """1 per pair, 0 for the `share` of the batch's unknown pairs the model scores highest.

    "Large Loss Matters" (Kim et al., CVPR 2022): an unknown pair the model
    insists is present is most often a missing positive, and its large
    negative loss is what teaches the model to bury missing tags. Every base
    loss's negative term grows with the score, so the largest losses are the
    highest logits. Positives and a person's rejections are never ignored.
    """
    z, positive, certain = _prepare(logits, targets, known_negative)
    keep = torch.ones_like(z)
    unknown = ~positive & ~certain
    k = int(min(share, MAX_REJECTED_SHARE) * int(unknown.sum()))
    if k > 0:
        ranked = torch.where(unknown, z.detach(), torch.full_like(z, -torch.inf))
        keep.view(-1)[ranked.flatten().topk(k).indices] = 0.0
    return keep


def _rejecting(loss: BaseLoss, unknown_weight: float, reject_rate: float) -> BaseLoss:
    """`loss` with the largest unknown losses ignored: `reject_rate` more of them each epoch."""

    def rejecting(logits: torch.Tensor, targets: torch.Tensor,
                  known_negative: torch.Tensor | None = None, epoch: int = 0) -> torch.Tensor:
        weight: float | torch.Tensor = unknown_weight
        if epoch > 0:
            weight = unknown_weight * reject_largest_unknowns(logits, targets, known_negative,
                                                              reject_rate * epoch)
        return loss(logits, targets, known_negative, epoch, unknown_weight=weight)

    return rejecting


def make_base_loss(name: str, unknown_weight: float = 1.0, reject_rate: float = 0.0) -> BaseLoss:
    """The base loss called `name` (one of BASE_LOSSES) with its paper's defaults.

    `unknown_weight` < 1 makes unknown pairs weak negatives; `reject_rate` > 0
    ignores that share of a batch's unknown pairs with the largest losses per
    epoch after the first (large-loss rejection). ADR 0018 has the measurements.
    """
    try:
        loss = _LOSSES[name.lower()]
    except KeyError:
        raise ValueError(
            f"unknown base loss {name!r}; choose one of {', '.join(BASE_LOSSES)}"
        ) from None
    if not 0.0 <= unknown_weight <= 1.0:
        raise ValueError(f"the unknown-pair weight must lie in [0, 1], not {unknown_weight}")
    if not 0.0 <= reject_rate <= 1.0:
        raise ValueError(f"the large-loss rejection rate must lie in [0, 1], not {reject_rate}")
    if reject_rate > 0:
        return _rejecting(loss, unknown_weight, reject_rate)
    return loss if unknown_weight == 1.0 else functools.partial(loss, unknown_weight=unknown_weight)

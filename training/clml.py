"""The CLML term of arXiv 2209.01314, computed for all labels at once.

    L(X, Y) = ( sum_c max(delta, ||X_c||_*) - ||X||_* ) / N

X_c is the rows of the batch features X whose label c is 1. The authors'
release runs one SVD per label and assembles the gradient in numpy, and its
backward ignores the incoming gradient, so under GradScaler the CLML gradient
is divided by the loss scale. Here (see docs/adr/0003-clml-loss-gram-matrix.md):

* Everything comes from the Gram matrix G = X X^T (N x N, float64). The rows of
  a label span a principal block G_c of G, and with X_c = U S V^T,
  G_c = U S^2 U^T: the nuclear norm is sum sqrt(eig(G_c)) and the subgradient
  U V^T equals P_c X_c with P_c = U S^-1 U^T, a pseudo-inverse square root of
  G_c. Labels are grouped by their positive count into blocks of a few sizes
  and each group is one batched `torch.linalg.eigh`; the whole batch is G.
* The gradient with respect to X is Q X / N with Q = sum_active P_c - P_all
  (an N x N matrix built in the forward), multiplied by the incoming gradient.

`correct_labels` lives in training.label_correction and is re-exported here
because the training issue names it beside the loss.
"""

from __future__ import annotations

import torch

from training.label_correction import correct_labels

__all__ = ["clml_loss", "correct_labels", "SINGULAR_VALUE_FLOOR"]

SINGULAR_VALUE_FLOOR = 1e-6
"""Singular values below this are dropped from U V^T, as in the authors' release."""

_EPS64 = torch.finfo(torch.float64).eps


def _block_size(count: int, n: int) -> int:
    """The smallest power of two (at least 4) holding `count` rows, never more than the batch.

    Few distinct sizes keep the number of eigh calls (and their fixed cost)
    small; padding at most doubles a block, and eigh of tiny blocks is cheap.
    """
    size = 4
    while size < count:
        size *= 2
    return min(size, n)


def _schedule(counts: list[int], n: int) -> tuple[list[int], list[tuple[int, int]]]:
    """Labels with positives ordered by block size, and (block size, how many) per group.

    Ordering by size makes every group a contiguous slice of the label order.
    """
    ranked = sorted((_block_size(count, n), label) for label, count in enumerate(counts) if count)
    groups: list[tuple[int, int]] = []
    for size, _ in ranked:
        if groups and groups[-1][0] == size:
            groups[-1] = (size, groups[-1][1] + 1)
        else:
            groups.append((size, 1))
    return [label for _, label in ranked], groups


def _kept(eigenvalues: torch.Tensor, feature_dim: int) -> torch.Tensor:
    """Which eigenvalues belong to singular values worth keeping.

    Besides the release's absolute floor (sigma >= 1e-6), an eigenvalue below
    the float64 rounding noise of the Gram block (its size * sqrt(D) * eps times
    the largest eigenvalue) is a zero singular value in disguise: squaring the
    matrix squares its condition number, and inverting such a noise eigenvalue
    would put an arbitrary direction into the gradient.
    """
    size = eigenvalues.shape[-1]
    largest = eigenvalues[..., -1:]
    noise = largest * (size * max(feature_dim, 1) ** 0.5 * _EPS64)
    return eigenvalues >= torch.clamp_min(noise, SINGULAR_VALUE_FLOOR**2)


def _spectra(
    blocks: torch.Tensor, feature_dim: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Nuclear norms, eigenvectors and lambda^-1/2 (0 where dropped) of Gram blocks."""
    eigenvalues, eigenvectors = torch.linalg.eigh(blocks)
    keep = _kept(eigenvalues, feature_dim)
    roots = torch.sqrt(torch.where(keep, eigenvalues, 1.0))
    return (roots * keep).sum(dim=-1), eigenvectors, keep / roots


def _projector(eigenvectors: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """V diag(weights) V^T: with weights lambda^-1/2, P such that P X_c = U V^T."""
    return (eigenvectors * weights[..., None, :]) @ eigenvectors.mT


def _clml_forward(
    x: torch.Tensor, targets: torch.Tensor, delta: float, want_gradient: bool
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The loss value (float64 scalar) and, when wanted, the N x N matrix Q.

    The whole batch is the Gram matrix itself. Each label gets a block of it:
    its member rows first (stable argsort), the remaining slots pointing at an
    extra all-zero row/column n, so a block's spectrum is the label's spectrum
    plus zeros and nothing needs masking. Projector entries that land in
    row/column n are dropped with it.
    """
    n, feature_dim = x.shape
    device = x.device
    gram = x @ x.mT
    # A non-finite feature (an fp16 overflow upstream) makes G non-finite. It
    # must not crash eigh: compute on zeros and return NaN instead, so that
    # GradScaler sees it and skips the step.
    finite = torch.isfinite(gram).all()
    gram = torch.where(finite, gram, 0.0)
    whole_norm, vectors, inverse_roots = _spectra(gram, feature_dim)
    q = None
    if want_gradient:
        q = torch.zeros((n + 1, n + 1), dtype=torch.float64, device=device)
        q[:n, :n] = -_projector(vectors, inverse_roots)

    members = (targets if targets.dtype == torch.bool else targets > 0.5).mT
    counts = members.sum(dim=1)
    # The one host read: block sizes must be known to shape the eigh batches.
    # (On CUDA, torch.linalg.eigh synchronises anyway to check its solver.)
    host_counts = counts.tolist()
    labels, groups = _schedule(host_counts, n)
    # A label without positives contributes max(delta, 0) = delta.
    label_sum = torch.full((), delta * host_counts.count(0), dtype=torch.float64, device=device)
    if labels:
        label_order = torch.tensor(labels, device=device)
        rows_first = members[label_order].to(torch.int8)
        order = torch.argsort(rows_first, dim=1, descending=True, stable=True)
        slots = torch.arange(n, device=device)
        index_all = torch.where(slots < counts[label_order, None], order, n)
        padded = torch.nn.functional.pad(gram, (0, 1, 0, 1))
        start = 0
        for size, count in groups:
            index = index_all[start : start + count, :size]
            start += count
            nuclear, vectors, inverse_roots = _spectra(
                padded[index[:, :, None], index[:, None, :]], feature_dim
            )
            label_sum = label_sum + torch.clamp_min(nuclear, delta).sum()
            if q is not None:
                active = (nuclear > delta)[:, None]
                projector = _projector(vectors, inverse_roots * active)
                flat = index[:, :, None] * (n + 1) + index[:, None, :]
                q.view(-1).index_add_(0, flat.reshape(-1), projector.reshape(-1))
    value = torch.where(finite, (label_sum - whole_norm) / n, torch.nan)
    return value, (torch.where(finite, q[:n, :n], torch.nan) if q is not None else None)


class _CLMLFunction(torch.autograd.Function):
    """Loss value in the forward, the authors' subgradient times grad_output in the backward."""

    @staticmethod
    def forward(ctx, features: torch.Tensor, targets: torch.Tensor, delta: float) -> torch.Tensor:
        with torch.autocast(device_type=features.device.type, enabled=False):
            x = features.to(torch.float64)
            value, q = _clml_forward(x, targets, float(delta), ctx.needs_input_grad[0])
        ctx.save_for_backward(x, q)
        ctx.features_dtype = features.dtype
        return value.to(torch.promote_types(features.dtype, torch.float32))

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        x, q = ctx.saved_tensors
        grad = None
        if ctx.needs_input_grad[0]:
            with torch.autocast(device_type=x.device.type, enabled=False):
                scale = grad_output.to(torch.float64) / x.shape[0]
                grad = ((q * scale) @ x).to(ctx.features_dtype)
        return grad, None, None


def clml_loss(features: torch.Tensor, targets: torch.Tensor, delta: float = 1.0) -> torch.Tensor:
    """( sum_c max(delta, ||X_c||_*) - ||X||_* ) / N for features X (N x D), targets (N x C).

    Targets are 0/1 floats or bools and get no gradient. The gradient with
    respect to `features` is the release's subgradient (U V^T of each label
    whose nuclear norm exceeds delta on its rows, minus U V^T of X, over N,
    singular values below 1e-6 dropped) times the incoming gradient, so loss
    scaling (GradScaler) scales it as it does every other gradient. The value
    is float32 (float64 for float64 features), also under autocast.
    """
    if features.ndim != 2 or targets.ndim != 2 or features.shape[0] != targets.shape[0]:
        raise ValueError(
            f"clml_loss needs features N x D and targets N x C, got {tuple(features.shape)} "
            f"and {tuple(targets.shape)}"
        )
    if features.shape[0] == 0:
        raise ValueError("clml_loss needs at least one row")
    return _CLMLFunction.apply(features, targets.detach(), delta)

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
  (an N x N matrix built in float64 in the forward), multiplied by the
  incoming gradient; the product Q X runs in the features' precision.
* Which Gram entries each label reads is planned on the host in numpy from
  one copy of the N x C label matrix: a handful of numpy calls instead of a
  dozen small tensor ops, whose fixed cost dominated at COCO label density.

`correct_labels` lives in training.label_correction and is re-exported here
because the training issue names it beside the loss.
"""

from __future__ import annotations

import numpy as np
import torch

from training.label_correction import correct_labels

__all__ = ["clml_loss", "correct_labels", "SINGULAR_VALUE_FLOOR"]

SINGULAR_VALUE_FLOOR = 1e-6
"""Singular values below this are dropped from U V^T, as in the authors' release."""

_EPS64 = torch.finfo(torch.float64).eps


def _plan(members: torch.Tensor, n: int) -> tuple[int, list[tuple[int, int]], np.ndarray]:
    """Which Gram entries each label's block reads, grouped by block size (host side).

    Returns the number of labels without positives, (block size, number of
    labels) per group, and for all blocks in group order the flat indices into the Gram
    matrix padded with a zero row/column n: the label's member rows first, the
    remaining slots pointing at n, so a block's spectrum is the label's
    spectrum plus zeros and nothing needs masking.

    Block sizes are powers of two (at least 4, at most N): few distinct sizes
    keep the number of batched eigh calls (each with a fixed cost) small, and
    padding at most doubles a block. This bookkeeping is a few numpy calls on
    an N x C byte matrix, far cheaper than the same steps as tensor ops.
    """
    host = members.to(device="cpu", dtype=torch.uint8).numpy().T
    counts = host.sum(axis=1, dtype=np.int64)
    used = np.flatnonzero(counts)
    sizes = np.minimum(np.maximum(4, 1 << np.ceil(np.log2(np.maximum(counts[used], 1))).astype(np.int64)), n)
    ranked = np.argsort(sizes, kind="stable")
    labels, sizes = used[ranked], sizes[ranked]
    group_sizes, group_counts = np.unique(sizes, return_counts=True)
    order = np.argsort(-host[labels].astype(np.int8), axis=1, kind="stable")
    rows = np.where(np.arange(n) < counts[labels, None], order, n)
    groups = list(zip(group_sizes.tolist(), group_counts.tolist(), strict=True))
    flats = [np.zeros(0, dtype=np.int64)]
    start = 0
    for size, count in groups:
        index = rows[start : start + count, :size]
        flats.append((index[:, :, None] * (n + 1) + index[:, None, :]).reshape(-1))
        start += count
    return len(counts) - len(used), groups, np.concatenate(flats)


def _kept(eigenvalues: torch.Tensor, feature_dim: int) -> torch.Tensor:
    """Which eigenvalues belong to singular values worth keeping.

    Besides the release's absolute floor (sigma >= 1e-6), an eigenvalue below
    the float64 rounding noise of the Gram block (its size * sqrt(D) * eps times
    the largest eigenvalue) is a zero singular value in disguise: squaring the
    matrix squares its condition number, and inverting such a noise eigenvalue
    would put an arbitrary direction into the gradient.
    """
    size = eigenvalues.shape[-1]
    noise = eigenvalues[..., -1:] * (size * max(feature_dim, 1) ** 0.5 * _EPS64)
    return eigenvalues >= torch.clamp_min(noise, SINGULAR_VALUE_FLOOR**2)


def _spectra(
    blocks: torch.Tensor, feature_dim: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Nuclear norms, eigenvectors and lambda^-1/2 (0 where dropped) of Gram blocks."""
    eigenvalues, eigenvectors = torch.linalg.eigh(blocks)
    keep = _kept(eigenvalues, feature_dim)
    roots = torch.sqrt(torch.clamp_min(eigenvalues, SINGULAR_VALUE_FLOOR**2))
    inverse_roots = keep / roots
    return (inverse_roots * eigenvalues).sum(dim=-1), eigenvectors, inverse_roots


def _projector(eigenvectors: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """V diag(weights) V^T: with weights lambda^-1/2, P such that P X_c = U V^T."""
    return (eigenvectors * weights[..., None, :]) @ eigenvectors.mT


def _clml_forward(
    x: torch.Tensor, targets: torch.Tensor, delta: float, want_gradient: bool
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The loss value (float64 scalar) and, when wanted, the N x N matrix Q.

    The whole batch is the Gram matrix itself; each label gets a principal
    block of it (see `_plan`). Projector entries that land in the padding
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

    members = targets if targets.dtype == torch.bool else targets > 0.5
    # The one host read: block sizes must be known to shape the eigh batches.
    # (On CUDA, torch.linalg.eigh synchronises anyway to check its solver.)
    empty, groups, host_flat = _plan(members, n)
    # A label without positives contributes max(delta, 0) = delta.
    label_sum = torch.full((), delta * empty, dtype=torch.float64, device=device)
    if groups:
        flat_all = torch.from_numpy(host_flat).to(device, non_blocking=True)
        padded = torch.nn.functional.pad(gram, (0, 1, 0, 1)).view(-1)
        start = 0
        for size, count in groups:
            flat = flat_all[start : start + count * size * size]
            start += count * size * size
            nuclear, vectors, inverse_roots = _spectra(
                padded[flat].view(count, size, size), feature_dim
            )
            label_sum = label_sum + torch.clamp_min(nuclear, delta).sum()
            if q is not None:
                active = (nuclear > delta)[:, None]
                q.view(-1).index_add_(0, flat, _projector(vectors, inverse_roots * active).view(-1))
    value = torch.where(finite, (label_sum - whole_norm) / n, torch.nan)
    return value, (torch.where(finite, q[:n, :n], torch.nan) if q is not None else None)


class _CLMLFunction(torch.autograd.Function):
    """Loss value in the forward, the authors' subgradient times grad_output in the backward."""

    @staticmethod
    def forward(ctx, features: torch.Tensor, targets: torch.Tensor, delta: float) -> torch.Tensor:
        with torch.autocast(device_type=features.device.type, enabled=False):
            x = features.to(torch.float64)
            value, q = _clml_forward(x, targets, float(delta), ctx.needs_input_grad[0])
            if q is not None:
                # Q carries the float64 spectral work; its product with X only
                # has to match the features' own precision, so it runs in
                # float32 (float64 for float64 features) at a fraction of the cost.
                q = (q / x.shape[0]).to(torch.promote_types(features.dtype, torch.float32))
        ctx.save_for_backward(features, q)
        return value.to(torch.promote_types(features.dtype, torch.float32))

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        features, q = ctx.saved_tensors
        grad = None
        if ctx.needs_input_grad[0]:
            with torch.autocast(device_type=features.device.type, enabled=False):
                grad = (q * grad_output.to(q.dtype)) @ features.to(q.dtype)
            grad = grad.to(features.dtype)
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

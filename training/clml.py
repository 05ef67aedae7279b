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
  and each group is one batched `torch.linalg.eigh`.
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
    """The smallest power of two holding `count` rows, never more than the batch.

    Few distinct sizes keep the number of eigh calls small; padding at most
    doubles a block, and eigh of tiny blocks is cheap.
    """
    size = 1
    while size < count:
        size *= 2
    return min(size, n)


def _groups(counts: list[int], n: int) -> dict[int, list[int]]:
    """Label indices grouped by block size; labels without positives are left out."""
    groups: dict[int, list[int]] = {}
    for label, count in enumerate(counts):
        if count > 0:
            groups.setdefault(_block_size(count, n), []).append(label)
    return groups


def _block_eigh(
    gram: torch.Tensor, masks: torch.Tensor, size: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Eigen-decompose the Gram blocks of the labels whose member masks are `masks`.

    Each label's member rows are moved to the front of its block (stable
    argsort), the block is cut to `size`, and rows/columns past the label's
    count are zeroed, so the block's spectrum is the label's spectrum plus
    zeros. Returns (eigenvalues, eigenvectors, row index, valid-row mask).
    """
    order = torch.argsort(masks.to(torch.int8), dim=1, descending=True, stable=True)
    index = order[:, :size]
    valid = torch.gather(masks, 1, index)
    blocks = gram[index[:, :, None], index[:, None, :]]
    pair_valid = valid[:, :, None] & valid[:, None, :]
    blocks = torch.where(pair_valid, blocks, torch.zeros((), dtype=gram.dtype, device=gram.device))
    eigenvalues, eigenvectors = torch.linalg.eigh(blocks)
    return eigenvalues, eigenvectors, index, valid


def _kept(eigenvalues: torch.Tensor, feature_dim: int) -> torch.Tensor:
    """Which eigenvalues belong to singular values worth keeping.

    Besides the release's absolute floor (sigma >= 1e-6), an eigenvalue below
    the float64 rounding noise of the Gram block (its size * sqrt(D) * eps times
    the largest eigenvalue) is a zero singular value in disguise: squaring the
    matrix squares its condition number, and inverting such a noise eigenvalue
    would put an arbitrary direction into the gradient.
    """
    size = eigenvalues.shape[-1]
    largest = eigenvalues[..., -1:].clamp_min(0.0)
    noise = largest * (size * max(feature_dim, 1) ** 0.5 * _EPS64)
    floor = torch.clamp_min(noise, SINGULAR_VALUE_FLOOR**2)
    return eigenvalues >= floor


def _nuclear_and_projector(
    eigenvalues: torch.Tensor,
    eigenvectors: torch.Tensor,
    valid: torch.Tensor,
    feature_dim: int,
    want_projector: bool,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Nuclear norms sum sqrt(lambda) and projectors P = V diag(lambda^-1/2) V^T."""
    keep = _kept(eigenvalues, feature_dim)
    safe = torch.where(keep, eigenvalues, torch.ones((), dtype=eigenvalues.dtype,
                                                     device=eigenvalues.device))
    roots = torch.sqrt(safe)
    zero = torch.zeros((), dtype=eigenvalues.dtype, device=eigenvalues.device)
    nuclear = torch.where(keep, roots, zero).sum(dim=-1)
    if not want_projector:
        return nuclear, None
    weights = torch.where(keep, 1.0 / roots, zero)
    projector = (eigenvectors * weights[:, None, :]) @ eigenvectors.mT
    projector = projector * (valid[:, :, None] & valid[:, None, :])
    return nuclear, projector


def _clml_forward(
    features: torch.Tensor, targets: torch.Tensor, delta: float, want_gradient: bool
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The loss value (float64 scalar) and, when wanted, the N x N matrix Q."""
    n, feature_dim = features.shape
    x = features.to(torch.float64)
    gram = x @ x.mT
    members = targets > 0.5 if targets.dtype != torch.bool else targets
    # The whole batch is one more "label" whose members are all rows.
    members = torch.cat([members.mT, torch.ones((1, n), dtype=torch.bool, device=x.device)])
    num_labels = members.shape[0] - 1
    counts = members.sum(dim=1)
    # The one host read: block sizes must be known to shape the eigh batches.
    # (On CUDA, torch.linalg.eigh synchronises anyway to check its solver.)
    groups = _groups(counts.tolist(), n)

    total = torch.zeros((), dtype=torch.float64, device=x.device)
    q = torch.zeros((n, n), dtype=torch.float64, device=x.device) if want_gradient else None
    labelled = 0
    for size, labels in groups.items():
        label_index = torch.tensor(labels, device=x.device)
        eigenvalues, eigenvectors, index, valid = _block_eigh(gram, members[label_index], size)
        nuclear, projector = _nuclear_and_projector(
            eigenvalues, eigenvectors, valid, feature_dim, want_gradient
        )
        is_whole = label_index == num_labels
        per_label = torch.where(is_whole, -nuclear, torch.clamp_min(nuclear, delta))
        total = total + per_label.sum()
        labelled += len(labels) - (num_labels in labels)
        if projector is not None and q is not None:
            sign = torch.where(is_whole, -1.0, (nuclear > delta).to(torch.float64))
            rows = index[:, :, None].expand_as(projector)
            cols = index[:, None, :].expand_as(projector)
            q.index_put_((rows.reshape(-1), cols.reshape(-1)),
                         (projector * sign[:, None, None]).reshape(-1), accumulate=True)
    # Labels without any positive contribute max(delta, 0) = delta.
    total = total + delta * (num_labels - labelled)
    return total / n, q


class _CLMLFunction(torch.autograd.Function):
    """Loss value in the forward, the authors' subgradient times grad_output in the backward."""

    @staticmethod
    def forward(ctx, features: torch.Tensor, targets: torch.Tensor, delta: float) -> torch.Tensor:
        with torch.autocast(device_type=features.device.type, enabled=False):
            value, q = _clml_forward(features, targets, float(delta), ctx.needs_input_grad[0])
        ctx.save_for_backward(features, q)
        out_dtype = torch.promote_types(features.dtype, torch.float32)
        return value.to(out_dtype)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        features, q = ctx.saved_tensors
        grad = None
        if ctx.needs_input_grad[0]:
            with torch.autocast(device_type=features.device.type, enabled=False):
                n = features.shape[0]
                x = features.to(torch.float64)
                scale = grad_output.to(torch.float64) / n
                grad = ((q @ x) * scale).to(features.dtype)
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

"""Gathering a batch's rows from every rank, with gradients for the local rows.

The CLML term needs the whole global batch (the nuclear norm of the rows of a
label is not a sum over ranks), so under DDP every rank gathers the features
of all ranks and computes the same loss on them.

Gradient convention (docs/adr/0003-clml-loss-gram-matrix.md): the gathered
tensor's rows from other ranks are constants; only the local shard keeps its
autograd history. Every rank computes the SAME loss on the same gathered
rows, so the gradient a rank gets for its own rows is exactly the matching
rows of the single-process gradient on the concatenated batch, with no
communication in the backward. DDP then AVERAGES parameter gradients over the
W ranks, so a rank whose loss is `base(local rows, summed) + lambda * clml(gathered)`
ends with 1/W times the single-process gradient of
`base(global batch) + lambda * clml(global batch)`. A caller that wants the
single-process gradients exactly multiplies its loss by the world size
(Adam barely cares; weight decay added to the gradient does).
"""

from __future__ import annotations

import torch
import torch.distributed as dist


def is_distributed() -> bool:
    """True inside an initialised process group of more than one rank."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def world_size() -> int:
    """Number of ranks (1 when not distributed)."""
    return dist.get_world_size() if is_distributed() else 1


def gather_features(x: torch.Tensor) -> torch.Tensor:
    """Rows of `x` from all ranks concatenated in rank order; identity when not distributed.

    Ranks may hold different row counts (the last batch), so the counts are
    exchanged first. Bool tensors (label masks) travel as uint8. Gradients
    flow back to this rank's own rows only (see the module docstring).
    """
    if not is_distributed():
        return x
    ranks = dist.get_world_size()
    rank = dist.get_rank()
    payload = x.detach()
    if payload.dtype == torch.bool:
        payload = payload.to(torch.uint8)
    payload = payload.contiguous()
    count = torch.tensor([payload.shape[0]], device=payload.device, dtype=torch.int64)
    counts = [torch.zeros_like(count) for _ in range(ranks)]
    dist.all_gather(counts, count)
    sizes = [int(c) for c in torch.cat(counts).tolist()]
    most = max(sizes)
    if payload.shape[0] < most:
        pad = payload.new_zeros((most - payload.shape[0], *payload.shape[1:]))
        payload = torch.cat([payload, pad])
    parts = [torch.empty_like(payload) for _ in range(ranks)]
    dist.all_gather(parts, payload)
    pieces = [part[:size].to(x.dtype) for part, size in zip(parts, sizes, strict=True)]
    pieces[rank] = x
    return torch.cat(pieces)

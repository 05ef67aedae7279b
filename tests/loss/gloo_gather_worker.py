"""Worker for test_distributed_gather: one rank of a 2-process gloo group.

A module of its own (not the test file) so that torch.multiprocessing.spawn's
fresh interpreters can import it by name.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.distributed as dist

from training.base_losses import bce
from training.clml import clml_loss
from training.distributed import gather_features, world_size

ROWS = (6, 4)  # uneven shards, as in a last batch
FEATURES, LABELS, INPUTS = 16, 5, 8


class TinyNet(torch.nn.Module):
    """Features and logits, like the ResNet's (logits, embedding)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(3)
        self.body = torch.nn.Linear(INPUTS, FEATURES)
        self.head = torch.nn.Linear(FEATURES, LABELS)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        feats = torch.relu(self.body(x))
        return self.head(feats), feats


def global_batch() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The same features, labels and inputs on every rank and in the test."""
    g = torch.Generator().manual_seed(0)
    n = sum(ROWS)
    features = torch.randn(n, FEATURES, generator=g)
    labels = torch.rand(n, LABELS, generator=g) < 0.4
    inputs = torch.randn(n, INPUTS, generator=g)
    return features, labels, inputs


def shard(rank: int) -> slice:
    start = sum(ROWS[:rank])
    return slice(start, start + ROWS[rank])


def average_gradients(net: torch.nn.Module) -> None:
    """What DistributedDataParallel does to gradients: all-reduce, divide by the world size.

    Done by hand because constructing DDP imports torch._dynamo, which costs
    several CPU seconds per process and tells this test nothing more.
    """
    for param in net.parameters():
        dist.all_reduce(param.grad)
        param.grad /= dist.get_world_size()


def run(rank: int, ranks: int, port: int, out_dir: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=ranks)
    try:
        features, labels, inputs = global_batch()
        mine = shard(rank)
        local = features[mine].clone().requires_grad_(True)
        gathered_labels = gather_features(labels[mine])
        loss = clml_loss(gather_features(local), gathered_labels)
        loss.backward()

        net = TinyNet()
        logits, feats = net(inputs[mine])
        total = bce(logits, labels[mine]) + clml_loss(gather_features(feats), gathered_labels)
        (world_size() * total).backward()
        average_gradients(net)
        result = {
            "loss": loss.detach(),
            "grad": local.grad,
            "labels": gathered_labels,
            **{f"param.{k}": p.grad for k, p in net.named_parameters()},
        }
        torch.save(result, Path(out_dir) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()

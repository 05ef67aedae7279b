"""CLML on features gathered from 2 gloo processes equals the single-process loss."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist

from training.base_losses import bce
from training.clml import clml_loss
from training.distributed import gather_features, world_size

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
import gloo_gather_worker as worker  # noqa: E402

REPO = HERE.parent.parent


def _spawn_ranks(ranks: int, out_dir: Path) -> None:
    """Start one interpreter per rank and wait for all of them.

    Plain subprocesses rather than torch.multiprocessing.spawn: spawn's error
    queue starts multiprocessing's resource-tracker process, which outlives the
    call, and the suite's leak guard (rightly) fails a test that leaves a child.
    """
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(HERE)]),
           "OMP_NUM_THREADS": "1"}
    code = "import sys, gloo_gather_worker as w; w.run(int(sys.argv[1]), {}, {}, sys.argv[2])"
    procs = [
        subprocess.Popen([sys.executable, "-c", code.format(ranks, port), str(rank),
                          str(out_dir)], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
        for rank in range(ranks)
    ]
    outputs = []
    try:
        for proc in procs:
            outputs.append(proc.communicate(timeout=240)[0])
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    for rank, (proc, output) in enumerate(zip(procs, outputs, strict=True)):
        assert proc.returncode == 0, f"rank {rank} failed:\n{output}"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_identity_when_not_distributed():
    x = torch.randn(3, 4, requires_grad=True)
    assert gather_features(x) is x
    assert world_size() == 1


@pytest.mark.skipif(not dist.is_available(), reason="torch.distributed is not available")
def test_two_gloo_ranks_match_one_process(tmp_path):
    ranks = 2
    _spawn_ranks(ranks, tmp_path)
    results = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(ranks)]

    features, labels, inputs = worker.global_batch()
    whole = features.clone().requires_grad_(True)
    want = clml_loss(whole, labels)
    want.backward()
    for rank, got in enumerate(results):
        assert torch.equal(got["labels"], labels)
        torch.testing.assert_close(got["loss"], want.detach(), rtol=1e-6, atol=1e-6)
        # Each shard's gradient is the matching rows of the one-process gradient.
        torch.testing.assert_close(got["grad"], whole.grad[worker.shard(rank)], rtol=1e-5,
                                   atol=1e-7)

    # Loss times world size under DDP's averaging = one-process gradients of the global batch.
    net = worker.TinyNet()
    logits, feats = net(inputs)
    (bce(logits, labels) + clml_loss(feats, labels)).backward()
    for name, param in net.named_parameters():
        for got in results:
            torch.testing.assert_close(got[f"param.{name}"], param.grad, rtol=1e-4, atol=1e-6)

"""Which device trains, and how several processes under torchrun cooperate.

Users of other tagging tools keep asking why the GPU is not used; the trainer
therefore always says which device it picked and, when it is not CUDA, why.
Under `torchrun` (WORLD_SIZE > 1) each process trains on its share of every
batch (DistributedSampler); NCCL on GPUs, gloo on CPUs; only rank 0 writes
files and speaks the protocol.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Runtime:
    """The device this process uses and its place among torchrun's processes."""

    device: torch.device
    device_reason: str
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def pick_device(preference: str, local_rank: int = 0) -> tuple[torch.device, str]:
    """Resolve auto|cpu|cuda to a device and a sentence saying why."""
    if preference == "cpu":
        return torch.device("cpu"), "--device cpu was requested"
    if torch.cuda.is_available():
        index = local_rank % torch.cuda.device_count()
        name = torch.cuda.get_device_name(index)
        return torch.device("cuda", index), f"CUDA is available ({name})"
    if not torch.backends.cuda.is_built():
        why = "this PyTorch build has no CUDA support (a CPU-only wheel is installed)"
    elif torch.cuda.device_count() == 0:
        why = "PyTorch has CUDA support but sees no GPU (no NVIDIA driver or CUDA_VISIBLE_DEVICES hides it)"
    else:
        why = "CUDA could not be initialised"
    if preference == "cuda":
        raise RuntimeError(f"--device cuda was requested but {why}")
    return torch.device("cpu"), f"training on the CPU because {why}"


def start(preference: str) -> Runtime:
    """Pick the device and, under torchrun, join the process group."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device, reason = pick_device(preference, local_rank)
    if world_size > 1:
        if device.type == "cuda":
            torch.cuda.set_device(device)
        backend = "nccl" if device.type == "cuda" else "gloo"
        if not dist.is_initialized():
            dist.init_process_group(backend=backend)
        reason += f"; {world_size} processes ({backend})"
    return Runtime(device=device, device_reason=reason, rank=rank, world_size=world_size,
                   local_rank=local_rank)


def stop(runtime: Runtime) -> None:
    """Leave the process group (torchrun waits for every rank to do so)."""
    if runtime.distributed and dist.is_initialized():
        dist.destroy_process_group()


def any_rank(flag: bool, runtime: Runtime) -> bool:
    """True when `flag` is true on any rank, so all ranks stop at the same step."""
    if not runtime.distributed:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=runtime.device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


def barrier(runtime: Runtime) -> None:
    if runtime.distributed:
        dist.barrier()

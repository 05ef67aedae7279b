"""Score images with a trained network: probabilities and embeddings, eval preprocessing.

Used for the held-out metrics, the out-of-fold scores and the embeddings that
go into oof.npz. It uses the models package's eval transform, the same squash
resize the ONNX engine reproduces without torch, so a score written here and
one computed by the app for a new image mean the same thing.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from clml_contract.progress import Cancelled
from models.transforms import eval_transform
from training.dataset import ImageDataset, collate


@dataclass
class Scores:
    """Per-image outputs; rows of unreadable images are zero and `ok` is False there."""

    probs: np.ndarray  # float32 N×C
    embeddings: np.ndarray  # float32 N×D
    ok: np.ndarray  # bool N
    problems: list[tuple[int, str]]


@torch.no_grad()
def score_images(
    model: nn.Module,
    paths: Sequence[Path],
    *,
    size: int,
    mean: Sequence[float],
    std: Sequence[float],
    device: torch.device,
    batch_size: int,
    workers: int = 0,
    amp: bool = False,
    stop: threading.Event | None = None,
) -> Scores:
    """Run `model` (returning logits, embedding) over `paths` in eval mode."""
    model.eval()
    dataset = ImageDataset(paths, eval_transform(size, mean, std), size_hint=size)
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=workers,
                        collate_fn=collate, pin_memory=device.type == "cuda")
    probs: np.ndarray | None = None
    embeddings: np.ndarray | None = None
    ok = np.zeros(len(paths), dtype=bool)
    problems: list[tuple[int, str]] = []
    channels_last = device.type == "cuda"
    for batch in loader:
        if stop is not None and stop.is_set():
            raise Cancelled()
        problems += batch.problems
        if batch.images is None:
            continue
        x = batch.images.to(device, non_blocking=True)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(device.type, dtype=torch.float16, enabled=amp):
            logits, emb = model(x)
        p = torch.sigmoid(logits.float()).cpu().numpy()
        e = emb.float().cpu().numpy()
        if probs is None:
            probs = np.zeros((len(paths), p.shape[1]), dtype=np.float32)
            embeddings = np.zeros((len(paths), e.shape[1]), dtype=np.float32)
        idx = batch.indices.numpy()
        probs[idx] = p
        embeddings[idx] = e
        ok[idx] = True
    if probs is None:
        probs = np.zeros((len(paths), 0), dtype=np.float32)
        embeddings = np.zeros((len(paths), 0), dtype=np.float32)
    return Scores(probs=probs, embeddings=embeddings, ok=ok, problems=problems)

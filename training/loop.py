"""One training phase: a fresh network from the initial weights, trained on some images.

The authors' recipe: Adam with weight decay on weights only (not BatchNorm or
biases), OneCycle learning rate (peak at 20% of the run), an EMA of the
weights, RandAugment + cutout, AMP with a GradScaler and channels_last on
CUDA. The objective is `base(logits, y, known_negative) + λ · clml(embedding,
y')`, where `y'` is `y` with confident unknowns turned positive from epoch
`change_epoch` on (never a tag a person rejected).

Robustness that a person's machine needs: a stop request (SIGTERM) ends the
phase at the next step; CUDA out-of-memory halves the batch and retries the
same images; an unreadable image is reported once and skipped.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, RandomSampler

from clml_contract.events import EpochEvent, ProgressEvent
from training import ddp
from training.augment import train_transform
from training.clml import clml_loss, correct_labels
from training.dataset import ImageDataset, TrainingSet, collate
from training.distributed import gather_features
from training.ema import ModelEma
from training.progress import Eta, Progress
from training.scoring import Cancelled


@dataclass
class TrainSettings:
    """The knobs of one phase (resolved defaults; see cli.py for the per-device ones)."""

    image_size: int
    epochs: int
    batch_size: int
    lr: float
    weight_decay: float
    clml_lambda: float
    tau: float
    change_epoch: int
    ema_decay: float
    augment: str
    amp: bool
    workers: int
    seed: int


@dataclass
class PhaseResult:
    """Both sets of weights a phase ends with; the caller picks one on unseen images (ADR 0004)."""

    ema: nn.Module
    raw: nn.Module
    train_loss: float

    def weights(self, chosen: str) -> nn.Module:
        """The "ema" or "raw" network, in eval mode."""
        return (self.raw if chosen == "raw" else self.ema).eval()


@dataclass
class Session:
    """State shared by all phases of one run."""

    data: TrainingSet
    settings: TrainSettings
    runtime: ddp.Runtime
    progress: Progress
    stop: threading.Event
    make_model: Callable[[], nn.Module]
    base_loss: Callable
    mean: list[float]
    std: list[float]
    eta: Eta
    save_checkpoint: Callable[[nn.Module], None] | None = None
    micro_batch: int = 0
    reported: set[int] = field(default_factory=set)
    targets: torch.Tensor | None = None
    known_negative: torch.Tensor | None = None

    def __post_init__(self) -> None:
        device = self.runtime.device
        self.targets = torch.as_tensor(self.data.targets, dtype=torch.float32, device=device)
        self.known_negative = torch.as_tensor(self.data.known_negative, device=device)
        if not self.micro_batch:
            self.micro_batch = self.settings.batch_size

    def report(self, problems: list[tuple[int, str]], to_global: np.ndarray | None = None) -> None:
        """Warn once per unreadable image."""
        for local, message in problems:
            index = int(to_global[local]) if to_global is not None else local
            if index not in self.reported:
                self.reported.add(index)
                self.progress.warning(message)


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Weight decay on conv/linear weights only; BatchNorm parameters and biases are exempt."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (no_decay if p.ndim <= 1 or name.endswith(".bias") else decay).append(p)
    return [{"params": no_decay, "weight_decay": 0.0}, {"params": decay, "weight_decay": weight_decay}]


def steps_per_epoch(n_images: int, batch_size: int, world_size: int) -> int:
    """Optimizer steps an epoch takes for n images (used for the overall ETA too)."""
    per_rank = math.ceil(n_images / world_size)
    return max(1, math.ceil(per_rank / batch_size))


def one_cycle_warmup(total_steps: int) -> float:
    """OneCycle's warm-up share: 20%, except where 20% of the steps is exactly one step,
    which torch divides by zero on (5 steps: a 1-epoch fold model on 80 images)."""
    return 0.2 if abs(0.2 * total_steps - 1.0) > 1e-9 else 0.3


def train_phase(session: Session, phase: str, train_idx: np.ndarray,
                keep_checkpoints: bool) -> PhaseResult:
    """Train one network on `train_idx`.

    Nothing is scored between epochs: the held-out numbers come from images
    the phase never saw, scored once at the end by the caller, which costs
    less than watching them every epoch and serves the same decisions.
    """
    return _Phase(session, phase, train_idx, keep_checkpoints).run()


class _Phase:
    def __init__(self, session: Session, phase: str, train_idx: np.ndarray,
                 keep_checkpoints: bool) -> None:
        self.s = session
        self.cfg = session.settings
        self.rt = session.runtime
        self.phase = phase
        self.train_idx = np.asarray(train_idx, dtype=np.int64)
        self.keep_checkpoints = keep_checkpoints
        self._last_emit = 0.0

    def run(self) -> PhaseResult:
        cfg, rt = self.cfg, self.rt
        torch.manual_seed(cfg.seed)
        self.model = self.s.make_model().to(rt.device)
        if rt.device.type == "cuda":
            self.model = self.model.to(memory_format=torch.channels_last)
        self.ema = ModelEma(self.model, cfg.ema_decay)
        self.net: nn.Module = self.model
        if rt.distributed:
            ids = [rt.device.index] if rt.device.type == "cuda" else None
            self.net = DistributedDataParallel(self.model, device_ids=ids)
        # fused: one kernel for all parameters (8x faster than the per-tensor loop on a CPU)
        self.optimizer = torch.optim.Adam(param_groups(self.model, cfg.weight_decay), lr=cfg.lr,
                                          fused=True)
        loader, sampler = self._loader()
        total = max(1, cfg.epochs * len(loader))
        self.scheduler = torch.optim.lr_scheduler.OneCycleLR(
            self.optimizer, max_lr=cfg.lr, total_steps=total, pct_start=one_cycle_warmup(total))
        self.scaler = torch.amp.GradScaler("cuda", enabled=cfg.amp and rt.device.type == "cuda")
        mean_loss = float("nan")
        for epoch in range(cfg.epochs):
            if isinstance(sampler, DistributedSampler):
                sampler.set_epoch(epoch)
            mean_loss = self._epoch(loader, epoch)
            self.s.progress.emit(EpochEvent(phase=self.phase, epoch=epoch + 1, epochs=cfg.epochs,
                                            train_loss=mean_loss, val_map=None))
            self.s.progress.log(f"{self.phase} epoch {epoch + 1}/{cfg.epochs}: loss {mean_loss:.4f}")
            if self.keep_checkpoints and self.s.save_checkpoint is not None and rt.is_main:
                self.s.save_checkpoint(self.ema.module)
        return PhaseResult(ema=self.ema.module.eval(), raw=self.model.eval(), train_loss=mean_loss)

    def _loader(self) -> tuple[DataLoader, object]:
        cfg, rt = self.cfg, self.rt
        paths = [self.s.data.paths[i] for i in self.train_idx]
        tf = train_transform(cfg.image_size, self.s.mean, self.s.std, augment=cfg.augment)
        dataset = ImageDataset(paths, tf, size_hint=cfg.image_size)
        if rt.distributed:
            sampler = DistributedSampler(dataset, num_replicas=rt.world_size, rank=rt.rank,
                                         shuffle=True, seed=cfg.seed, drop_last=False)
        else:
            gen = torch.Generator().manual_seed(cfg.seed)
            sampler = RandomSampler(dataset, generator=gen)
        loader = DataLoader(dataset, batch_size=cfg.batch_size, sampler=sampler, num_workers=cfg.workers,
                            collate_fn=collate, pin_memory=rt.device.type == "cuda",
                            persistent_workers=cfg.workers > 0, drop_last=rt.distributed and
                            len(dataset) >= cfg.batch_size * rt.world_size)
        return loader, sampler

    def _epoch(self, loader: DataLoader, epoch: int) -> float:
        self.net.train()
        losses: list[float] = []
        steps = len(loader)
        for step, batch in enumerate(loader):
            if ddp.any_rank(self.s.stop.is_set(), self.rt):
                raise Cancelled()
            self.s.report(batch.problems, self.train_idx)
            n = 0 if batch.images is None else batch.images.shape[0]
            if n >= 2 or (self.rt.distributed and n >= 1):
                gidx = torch.as_tensor(self.train_idx[batch.indices.numpy()], device=self.rt.device)
                losses.append(self._batch(batch.images, gidx, epoch))
            self.scheduler.step()
            self.s.eta.step(n * self.rt.world_size)
            self._progress(epoch, step + 1, steps, losses[-1] if losses else float("nan"))
        return float(np.mean(losses)) if losses else float("nan")

    def _batch(self, images: torch.Tensor, gidx: torch.Tensor, epoch: int) -> float:
        """Optimizer steps over the batch in chunks of the current (maybe halved) size."""
        start, n, values = 0, images.shape[0], []
        while start < n:
            size = self.s.micro_batch
            end = min(n, start + size)
            if end - start < 2 and not self.rt.distributed and start > 0:
                break
            try:
                values.append(self._step(images[start:end], gidx[start:end], epoch))
            except torch.cuda.OutOfMemoryError:
                if self.rt.distributed or size < 2:
                    raise
                self._recover_from_oom(size)
                continue
            start = end
        return float(np.mean(values)) if values else float("nan")

    def _recover_from_oom(self, size: int) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        if self.rt.device.type == "cuda":
            torch.cuda.empty_cache()
        self.s.micro_batch = max(1, size // 2)
        self.s.progress.warning(f"out of GPU memory at batch size {size}; "
                                f"continuing with batch size {self.s.micro_batch}")

    def _step(self, images: torch.Tensor, gidx: torch.Tensor, epoch: int) -> float:
        cfg, rt = self.cfg, self.rt
        x = images.to(rt.device, non_blocking=True)
        if rt.device.type == "cuda":
            x = x.contiguous(memory_format=torch.channels_last)
        y = self.s.targets[gidx]
        known_negative = self.s.known_negative[gidx]
        with torch.autocast(rt.device.type, dtype=torch.float16, enabled=self.scaler.is_enabled()):
            logits, embedding = self.net(x)
        logits, embedding = logits.float(), embedding.float()
        base = self.s.base_loss(logits, y, known_negative=known_negative, epoch=epoch)
        # DDP averages gradients over ranks; scaling the per-rank sum by the world
        # size gives the gradient of the global-batch sum, as in one process.
        total = base * rt.world_size
        clml_value = torch.zeros((), device=rt.device)
        if cfg.clml_lambda > 0:
            corrected = y
            if epoch >= cfg.change_epoch:
                corrected = correct_labels(logits.detach(), y, cfg.tau, known_negative)
            features = embedding
            if rt.distributed:
                features = gather_features(embedding)
                corrected = gather_features(corrected)
            clml_value = clml_loss(features, corrected)
            total = total + cfg.clml_lambda * clml_value * rt.world_size
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(total).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.ema.update(self.model)
        return float((base.detach() + cfg.clml_lambda * clml_value.detach()).item())

    def _progress(self, epoch: int, step: int, steps: int, loss: float) -> None:
        now = time.monotonic()
        if step != steps and now - self._last_emit < 0.5:
            return
        self._last_emit = now
        eta = self.s.eta
        self.s.progress.emit(ProgressEvent(phase=self.phase, epoch=epoch + 1, epochs=self.cfg.epochs,
                                           step=step, steps=steps, loss=loss, eta_s=eta.seconds_left,
                                           images_per_s=eta.images_per_s, fraction=eta.fraction,
                                           batch_size=self.s.micro_batch))

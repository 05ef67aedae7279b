"""`python -m training fit`: from a training-set JSONL to a model directory.

The run, in order (ADR 0002 for the files and events, ADR 0004 for why):
1. read the JSONL, drop images whose header cannot be read (each one a warning);
2. hold out the images a person confirmed (or a random share) for metrics and
   per-tag thresholds;
3. train the final model on the rest; its checkpoint is kept after every
   epoch, so a cancelled run still leaves the last good weights;
4. train K fold models, each on the other folds, and score the images it did
   not see: the out-of-fold scores that suggestions for the training images
   come from (held-out images get the final model's scores, also unseen);
5. write oof.npz, model.onnx, manifest.json, checkpoint.pt; emit `done`.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from clml_desktop.collection.atomic import atomic_write_bytes
from models.artifact import save_model_dir
from models.resnet import build_model
from models.transforms import eval_transform
from models.weights import resolve_init
from training import ddp
from training.base_losses import make_base_loss
from training.dataset import TrainingSet, find_unreadable, load_rgb, read_training_set
from training.folds import assign_folds, holdout_split
from training.loop import Session, TrainSettings, steps_per_epoch, train_phase
from training.metrics import calibrate_thresholds, map_known
from training.progress import Eta, Progress
from training.scoring import score_images

RECIPE_LR = 1e-4  # the authors' rate, for fine-tuning pretrained weights
RANDOM_INIT_LR = 1e-3  # random weights learn nothing useful at 1e-4 in a CPU-sized budget


class FitError(RuntimeError):
    """The run cannot go on; the message names the file or setting at fault."""


@dataclass
class FitConfig:
    """Everything `fit` needs; cli.py fills in the per-device defaults."""

    data: Path
    out: Path
    init: str
    arch: str
    image_size: int
    epochs: int
    batch_size: int
    lr: float | None  # None: 1e-4 from pretrained weights (the recipe), 1e-3 from random ones
    loss: str
    clml_lambda: float
    tau: float
    folds: int
    seed: int
    weight_decay: float = 1e-4
    change_epoch: int = 1
    ema_decay: float = 0.9997
    augment: bool = True
    amp: bool = True
    workers: int = 0
    holdout_share: float = 0.15


@dataclass
class FitResult:
    """What the run produced, in memory too (the quality benchmark reads it)."""

    model_dir: Path
    metrics: dict
    tags: list[str]
    paths: list[Path]  # readable images, in training-set order
    oof_probs: np.ndarray | None  # float32 N×C, each image scored by a model that never saw it
    insample_probs: np.ndarray  # float32 N×C, the final model's scores (seen images biased)
    embeddings: np.ndarray  # float32 N×D, final model
    holdout: np.ndarray  # indices into `paths` held out of all training
    fold_mean_holdout_probs: np.ndarray | None  # the folds' mean on `holdout` (final vs mean)


def fit(cfg: FitConfig, runtime: ddp.Runtime, progress: Progress, stop: threading.Event) -> FitResult:
    """Train, score out-of-fold, export; raises Cancelled on a stop request."""
    started = time.monotonic()
    out = Path(cfg.out)
    if (out / "manifest.json").exists():
        raise FitError(f"{out} already holds a model; choose a new folder for the new model")
    early: list[str] = []  # said after `start`, which the protocol puts first
    data = _read_data(cfg.data, early)
    init = resolve_init(cfg.init, arch=cfg.arch, tags=data.tags)
    early += init.warnings
    lr = cfg.lr if cfg.lr is not None else (RANDOM_INIT_LR if init.kind == "random" else RECIPE_LR)
    train_idx, val_idx, basis = holdout_split(data.confirmed, cfg.holdout_share, cfg.seed)
    fold_of = _plan_folds(cfg, len(train_idx), early)
    settings = TrainSettings(
        image_size=cfg.image_size, epochs=cfg.epochs, batch_size=cfg.batch_size, lr=lr,
        weight_decay=cfg.weight_decay, clml_lambda=cfg.clml_lambda, tau=cfg.tau,
        change_epoch=cfg.change_epoch, ema_decay=cfg.ema_decay, augment=cfg.augment,
        amp=cfg.amp, workers=cfg.workers, seed=cfg.seed)
    eta = Eta(_total_steps(cfg, len(train_idx), fold_of, runtime.world_size))
    progress.emit("start", device=str(runtime.device), device_reason=runtime.device_reason,
                  arch=cfg.arch, image_size=cfg.image_size, epochs=cfg.epochs,
                  folds=0 if fold_of is None else cfg.folds, images=len(data), tags=len(data.tags),
                  holdout=int(val_idx.size), holdout_basis=basis, init=init.description,
                  world_size=runtime.world_size)
    progress.log(f"training on {runtime.device} ({runtime.device_reason}); {len(data)} images, "
                 f"{len(data.tags)} tags, {val_idx.size} held out ({basis})")
    for message in early:
        progress.warning(message)
    if runtime.is_main:
        out.mkdir(parents=True, exist_ok=True)

    def make_model() -> torch.nn.Module:
        model = build_model(cfg.arch, len(data.tags))
        init.apply(model)
        return model

    def keep(model: torch.nn.Module) -> None:
        atomic_write_bytes(out / "checkpoint.pt", _state_bytes(model))

    session = Session(data=data, settings=settings, runtime=runtime, progress=progress, stop=stop,
                      make_model=make_model, base_loss=make_base_loss(cfg.loss),
                      mean=list(init.mean), std=list(init.std), eta=eta, save_checkpoint=keep)

    final = train_phase(session, "final", train_idx, val_idx, keep_checkpoints=True)
    n, c = len(data), len(data.tags)
    scored = _score(session, final.model, np.arange(n))
    ok = scored.ok
    oof = None
    fold_val_probs: list[np.ndarray] = []
    if fold_of is not None:
        oof = np.zeros((n, c), dtype=np.float32)
        oof[val_idx] = scored.probs[val_idx]
        for k in range(cfg.folds):
            own = train_idx[fold_of == k]
            fold_model = train_phase(session, f"fold {k + 1}/{cfg.folds}", train_idx[fold_of != k],
                                     val_idx, keep_checkpoints=False).model
            s = _score(session, fold_model, np.concatenate([own, val_idx]))
            oof[own] = s.probs[: own.size]
            fold_val_probs.append(s.probs[own.size:][ok[val_idx]])
            del fold_model
    ddp.barrier(runtime)
    val_ok = val_idx[ok[val_idx]]  # held-out images that could be read
    metrics = _metrics(data, val_ok, basis, scored.probs, fold_val_probs, final, len(train_idx))
    thresholds, pooled = calibrate_thresholds(
        scored.probs[val_ok], data.targets[val_ok], data.known_negative[val_ok],
        data.confirmed[val_ok], data.tags)
    metrics["threshold_pooled"] = pooled
    metrics["seconds"] = round(time.monotonic() - started, 1)
    if runtime.is_main:
        if oof is not None:
            _write_oof(out / "oof.npz", data, ok, oof, scored.embeddings)
        training = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(cfg).items()}
        training.update(lr=lr, device=str(runtime.device), world_size=runtime.world_size,
                        init=init.description, weights=final.chosen, holdout_basis=basis)
        save_model_dir(
            out, final.model, tags=data.tags, arch=cfg.arch, image_size=cfg.image_size,
            mean=list(init.mean), std=list(init.std), thresholds=thresholds, training=training,
            metrics=metrics, parent=init.parent, has_oof=oof is not None,
            verify_images=_verify_images(data, ok, cfg.image_size, init.mean, init.std))
    paths = [p for p, good in zip(data.paths, ok, strict=True) if good]
    keep_rows = np.flatnonzero(ok)
    remap = -np.ones(n, dtype=np.int64)
    remap[keep_rows] = np.arange(keep_rows.size)
    return FitResult(
        model_dir=out.resolve(), metrics=metrics, tags=data.tags, paths=paths,
        oof_probs=None if oof is None else oof[keep_rows], insample_probs=scored.probs[keep_rows],
        embeddings=scored.embeddings[keep_rows], holdout=remap[val_ok],
        fold_mean_holdout_probs=np.mean(np.stack(fold_val_probs), axis=0) if fold_val_probs else None)


def _read_data(path: Path, warnings: list[str]) -> TrainingSet:
    data = read_training_set(path)
    warnings += data.problems
    bad = find_unreadable(data.paths)
    warnings += bad.values()
    if len(bad) == len(data):
        raise FitError(f"{path}: none of the {len(data)} images could be read")
    if bad:
        data = data.subset([i for i in range(len(data)) if i not in bad])
    if len(data) < 2:
        raise FitError(f"{path}: training needs at least 2 readable images, found {len(data)}")
    return data


def _plan_folds(cfg: FitConfig, n_train: int, warnings: list[str]) -> np.ndarray | None:
    if cfg.folds < 2:
        return None
    if n_train < 2 * cfg.folds:
        warnings.append(f"{n_train} training images are too few for {cfg.folds} folds; "
                         "no out-of-fold scores this time")
        return None
    return assign_folds(n_train, cfg.folds, cfg.seed)


def _total_steps(cfg: FitConfig, n_train: int, fold_of: np.ndarray | None, world: int) -> int:
    total = cfg.epochs * steps_per_epoch(n_train, cfg.batch_size, world)
    if fold_of is not None:
        for k in range(cfg.folds):
            total += cfg.epochs * steps_per_epoch(int((fold_of != k).sum()), cfg.batch_size, world)
    return total


def _score(session: Session, model: torch.nn.Module, rows: np.ndarray):
    cfg = session.settings
    scores = score_images(model, [session.data.paths[i] for i in rows], size=cfg.image_size,
                          mean=session.mean, std=session.std, device=session.runtime.device,
                          batch_size=cfg.batch_size, workers=cfg.workers,
                          amp=cfg.amp and session.runtime.device.type == "cuda", stop=session.stop)
    session.report(scores.problems, rows)
    return scores


def _metrics(data: TrainingSet, val_idx: np.ndarray, basis: str, probs: np.ndarray,
             fold_val_probs: list[np.ndarray], final, n_train: int) -> dict:
    """Held-out quality of the final model and, for comparison, of the folds' mean."""
    metrics: dict = {"train_images": n_train, "holdout_images": int(val_idx.size),
                     "holdout_basis": basis, "weights": final.chosen,
                     "train_loss": final.train_loss}
    if val_idx.size == 0:
        metrics.update(val_map=None, val_map_basis=None)
        return metrics
    t, kn, cf = data.targets[val_idx], data.known_negative[val_idx], data.confirmed[val_idx]
    result = map_known(probs[val_idx], t, kn, cf)
    metrics.update(val_map=_num(result.map), val_map_basis=result.basis,
                   val_tags_scored=result.tags_scored,
                   val_ap={tag: _num(v) for tag, v in zip(data.tags, result.per_tag, strict=True)
                           if math.isfinite(v)})
    if fold_val_probs:
        mean_probs = np.mean(np.stack(fold_val_probs), axis=0)
        metrics["fold_mean_val_map"] = _num(map_known(mean_probs, t, kn, cf).map)
    return metrics


def _num(value: float) -> float | None:
    return round(float(value), 6) if math.isfinite(value) else None


def _state_bytes(model: torch.nn.Module) -> bytes:
    import io

    buffer = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, buffer)
    return buffer.getvalue()


def _verify_images(data: TrainingSet, ok: np.ndarray, size: int, mean, std) -> torch.Tensor:
    """A few real images for the ONNX-vs-torch parity check of the export."""
    tf = eval_transform(size, mean, std)
    rows = np.flatnonzero(ok)[:4]
    return torch.stack([tf(load_rgb(data.paths[i], size)) for i in rows])


def _write_oof(target: Path, data: TrainingSet, ok: np.ndarray, probs: np.ndarray,
               embeddings: np.ndarray) -> None:
    """oof.npz per ADR 0002: paths as given in the JSONL, float32 probs, float16 embeddings."""
    import io

    rows = np.flatnonzero(ok)
    buffer = io.BytesIO()
    np.savez(buffer, paths=np.array([str(data.paths[i]) for i in rows], dtype=np.str_),
             probs=probs[rows].astype(np.float32), embeddings=embeddings[rows].astype(np.float16))
    atomic_write_bytes(target, buffer.getvalue())

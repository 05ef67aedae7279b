"""`python -m training fit`: from a training-set JSONL to a model directory.

The run, in order (ADR 0002 for the files and events, ADR 0004 for why):
1. read the JSONL, drop images whose header cannot be read (each one a warning);
2. train the final model on every image, the ones a person confirmed
   included; its checkpoint is kept after every epoch, so a cancelled run
   still leaves the last good weights;
3. train K fold models, each on the other folds, and score the images it did
   not see: the out-of-fold scores that suggestions for the training images
   come from, and that the held-out mAP, the EMA-or-raw choice and the
   calibration check on confirmed images are computed on;
4. write oof.npz, model.onnx, manifest.json, checkpoint.pt; emit `done`.
With folds off, a share of the unconfirmed images is held out instead and
scored by the final model.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch

from clml_contract.atomic import atomic_write_bytes
from clml_contract.events import StartEvent
from clml_contract.oof import OofError, read_oof, write_oof
from clml_contract.training_set import NO_ID
from models.artifact import save_model_dir
from models.convert import RUN_INFO_NAME, write_run_info
from models.resnet import build_model
from models.transforms import eval_transform
from models.weights import DownloadStopped, InitError, InitPlan, resolve_init
from training import ddp
from training.augment import resolve_augmentation
from training.base_losses import make_base_loss
from training.calibration import apply_calibration, fit_calibration
from training.dataset import TrainingSet, find_unreadable, load_rgb, read_training_set
from training.folds import Plan, plan_split
from training.loop import PhaseResult, Session, TrainSettings, steps_per_epoch, train_phase
from training.metrics import (
    calibration_on_confirmed,
    compare_on_same_images,
    evaluation_rows,
    map_known,
)
from training.progress import Eta, Progress
from training.scoring import Cancelled, score_images

RECIPE_LR = 1e-4  # the authors' rate, for fine-tuning pretrained weights
RANDOM_INIT_LR = 2e-3  # random weights learn nothing useful at 1e-4 in a CPU-sized budget (ADR 0018)


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
    augment: str = "randaugment"  # training.augment.AUGMENTATIONS
    unknown_weight: float = 1.0  # weight of an unknown pair's negative term (weak negatives)
    reject_rate: float = 0.0  # large-loss rejection: share of unknown pairs ignored, per epoch
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
    oof_probs: np.ndarray | None  # float32 N×C, each image scored by a fold model that never saw it
    insample_probs: np.ndarray  # float32 N×C, the final model's scores (seen images biased)
    embeddings: np.ndarray  # float32 N×D, final model
    holdout: np.ndarray  # indices into `paths` held out of all training (folds off only)
    final_model: torch.nn.Module  # the weights written to model.onnx, eval mode


FoldHook = Callable[[int, PhaseResult], None]


def fit(cfg: FitConfig, runtime: ddp.Runtime, progress: Progress, stop: threading.Event,
        on_fold_model: FoldHook | None = None) -> FitResult:
    """Train, score out-of-fold, export; raises Cancelled on a stop request.

    `on_fold_model(k, phase)` sees each fold model after it scored its fold
    (the quality benchmark scores extra images with it).
    """
    started = time.monotonic()
    out = Path(cfg.out)
    if (out / "manifest.json").exists():
        raise FitError(f"{out} already holds a model; choose a new folder for the new model")
    early: list[str] = []  # said after `start`, which the protocol puts first
    data = _read_data(cfg.data, early)
    init = _resolve(cfg.init, cfg, data.tags, progress, stop)
    early += init.warnings
    lr = _lr(cfg, init)
    plan, plan_warnings = plan_split(data.confirmed, cfg.folds, cfg.holdout_share, cfg.seed)
    early += plan_warnings
    folds = 0 if plan.fold_of is None else cfg.folds
    augment, augment_why = resolve_augmentation(cfg.augment, data.tags)
    settings = TrainSettings(
        image_size=cfg.image_size, epochs=cfg.epochs, batch_size=cfg.batch_size, lr=lr,
        weight_decay=cfg.weight_decay, clml_lambda=cfg.clml_lambda, tau=cfg.tau,
        change_epoch=cfg.change_epoch, ema_decay=cfg.ema_decay, augment=augment,
        amp=cfg.amp, workers=cfg.workers, seed=cfg.seed)
    eta = Eta(_total_steps(cfg, plan, runtime.world_size))
    progress.emit(StartEvent(device=str(runtime.device), device_reason=runtime.device_reason,
                             arch=cfg.arch, image_size=cfg.image_size, epochs=cfg.epochs, folds=folds,
                             images=len(data), tags=len(data.tags), holdout=int(plan.holdout.size),
                             holdout_basis=plan.holdout_basis, init=init.description,
                             world_size=runtime.world_size))
    progress.log(f"training on {runtime.device} ({runtime.device_reason}); {len(data)} images, "
                 f"{len(data.tags)} tags, " + (f"{folds} folds" if folds else
                                                f"{plan.holdout.size} held out"))
    progress.log(f"augmentation: {augment_why}")
    for message in early:
        progress.warning(message)
    if runtime.is_main:
        out.mkdir(parents=True, exist_ok=True)
        write_run_info(out, tags=data.tags, arch=cfg.arch, image_size=cfg.image_size,
                       mean=init.mean, std=init.std, parent=init.parent,
                       training={"init": init.description, "root_init": init.root,
                                 "unfinished_run": True})

    def make_model() -> torch.nn.Module:
        model = build_model(cfg.arch, len(data.tags))
        init.apply(model)
        return model

    def keep(model: torch.nn.Module) -> None:
        atomic_write_bytes(out / "checkpoint.pt", _state_bytes(model))

    session = Session(data=data, settings=settings, runtime=runtime, progress=progress, stop=stop,
                      make_model=make_model,
                      base_loss=make_base_loss(cfg.loss, cfg.unknown_weight, cfg.reject_rate),
                      mean=list(init.mean), std=list(init.std), eta=eta, save_checkpoint=keep)

    final = train_phase(session, "final", plan.train, keep_checkpoints=True)
    fold_init, fold_session = init, session
    if plan.fold_of is not None and init.fold_start is not None:
        fold_init = _fold_init(init, cfg, data.tags, progress, stop)
        fold_session = _fold_session(session, fold_init, cfg)
    unseen = _unseen_scores(fold_session, plan, final, on_fold_model)
    ddp.barrier(runtime)
    metrics, chosen, unseen_rows = _metrics(data, plan, unseen, final)
    if init.kind == "model":
        metrics.update(_parent_comparison(cfg.init, init.parent, data,
                                          unseen.probs[chosen], _val_rows(data, plan, unseen_rows)))
        if metrics.get("compare_note"):
            progress.log(f"comparison with the start model: {metrics['compare_note']}")
    model = final.weights(chosen)
    scored = _score(session, model, np.arange(len(data)))
    ok = scored.ok & (unseen.ok if plan.fold_of is not None else True)
    score_map = _score_map(data, unseen.probs[chosen], unseen_rows) if plan.fold_of is not None else None
    if score_map is None:
        progress.log("shown percentages are the network's own: too few pairs, or scores too unsure, "
                     "to map 'likely tagged' to 'likely true' (ADR 0018)")
    check = calibration_on_confirmed(apply_calibration(unseen.probs[chosen], score_map)[unseen_rows],
                                     data.targets[unseen_rows], data.confirmed[unseen_rows])
    if check is not None:
        metrics["calibration_confirmed"] = check
    metrics["seconds"] = round(time.monotonic() - started, 1)
    oof = unseen.probs[chosen] if plan.fold_of is not None else None
    if runtime.is_main:
        if oof is not None:
            _write_oof(out / "oof.npz", data, ok, oof, scored.embeddings)
        training = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(cfg).items()}
        training.update(lr=lr, augment=augment, augment_asked=cfg.augment,
                        device=str(runtime.device), world_size=runtime.world_size,
                        init=init.description, root_init=init.root,
                        fold_init=fold_init.description if plan.fold_of is not None else None,
                        weights=chosen, holdout_basis=plan.holdout_basis)
        save_model_dir(
            out, model, tags=data.tags, arch=cfg.arch, image_size=cfg.image_size,
            mean=list(init.mean), std=list(init.std), thresholds={}, calibration=score_map,
            training=training,
            metrics=metrics, parent=init.parent, has_oof=oof is not None,
            verify_images=_verify_images(data, ok, cfg.image_size, init.mean, init.std))
        (out / RUN_INFO_NAME).unlink(missing_ok=True)  # the manifest says it all now
    keep_rows = np.flatnonzero(ok)
    remap = -np.ones(len(data), dtype=np.int64)
    remap[keep_rows] = np.arange(keep_rows.size)
    held = plan.holdout[ok[plan.holdout]]
    return FitResult(
        model_dir=out.resolve(), metrics=metrics, tags=data.tags,
        paths=[data.paths[i] for i in keep_rows],
        oof_probs=None if oof is None else oof[keep_rows], insample_probs=scored.probs[keep_rows],
        embeddings=scored.embeddings[keep_rows], holdout=remap[held], final_model=model)


def _score_map(data: TrainingSet, probs: np.ndarray, rows: np.ndarray) -> dict | None:
    """The out-of-fold calibration map for untagged pairs (training.calibration), if one fits.

    Untagged means no known label: not positive, not rejected, not on an
    image a person confirmed.
    """
    tagged = data.targets[rows].astype(bool)
    untagged = ~tagged & ~data.known_negative[rows] & ~data.confirmed[rows][:, None]
    return fit_calibration(probs[rows], tagged, untagged)


def _lr(cfg: FitConfig, init: InitPlan) -> float:
    return cfg.lr if cfg.lr is not None else (RANDOM_INIT_LR if init.kind == "random" else RECIPE_LR)


def _resolve(text: str, cfg: FitConfig, tags: list[str], progress: Progress,
             stop: threading.Event) -> InitPlan:
    """`resolve_init` with a first-time download shown to the app and stopped by a cancel."""
    def heard(what: str, done: int, total: int | None) -> None:
        if stop.is_set():
            raise DownloadStopped(f"{what}: download stopped on request")
        progress.download(what, done, total)

    try:
        return resolve_init(text, arch=cfg.arch, tags=tags, on_download=heard)
    except DownloadStopped as exc:
        raise Cancelled(str(exc)) from exc


def _fold_init(init: InitPlan, cfg: FitConfig, tags: list[str], progress: Progress,
               stop: threading.Event) -> InitPlan:
    """Where fold models start when the final model fine-tunes a model that trained on these images.

    Starting them from that model would let each fold model remember the fold
    it scores, burying its missing tags and flattering the metrics; so they
    start where the chain of fine-tunes began (ImageNet, random, a weights
    file), normalised as the final model is.
    """
    try:
        fold_init = _resolve(init.fold_start, cfg, tags, progress, stop)
    except InitError as exc:
        # The fold models set the metrics and the scores shown: a weaker start must reach the app.
        progress.warning(f"fold models cannot start from {init.fold_start} ({exc}); using ImageNet")
        fold_init = _resolve("imagenet", cfg, tags, progress, stop)
    warnings = fold_init.warnings
    if fold_init.kind == "random" and init.fold_start == "random":
        # Not "as asked": this run was asked to fine-tune; random is where its chain began.
        warnings = [f"starting {cfg.arch} from RANDOM weights, where the chain of fine-tunes began "
                    "(its first model was trained with --init random): expect much weaker "
                    "suggestions than from ImageNet weights"]
    for message in warnings:
        progress.warning(f"fold models: {message}")
    progress.log(f"fold models start from {fold_init.description}, not from {init.description}: "
                 "out-of-fold scores must come from weights that never saw the image")
    fold_init.mean, fold_init.std = init.mean, init.std
    return fold_init


def _fold_session(session: Session, fold_init: InitPlan, cfg: FitConfig) -> Session:
    """The session the fold models train in: their own start and learning rate, shared state."""

    def make_model() -> torch.nn.Module:
        model = build_model(cfg.arch, len(session.data.tags))
        fold_init.apply(model)
        return model

    return replace(session, make_model=make_model,
                   settings=replace(session.settings, lr=_lr(cfg, fold_init)))


@dataclass
class _Unseen:
    """Scores of images by a model that never trained on them, for both sets of weights."""

    probs: dict[str, np.ndarray]  # "ema" / "raw" -> float32 N×C (zero where not scored)
    ok: np.ndarray  # bool N: scored by an unseeing model and readable


def _unseen_scores(session: Session, plan: Plan, final: PhaseResult,
                   on_fold_model: FoldHook | None) -> _Unseen:
    """Out-of-fold scores (folds on) or the final model's scores of the held-out images."""
    n, c = len(session.data), len(session.data.tags)
    probs = {w: np.zeros((n, c), dtype=np.float32) for w in ("ema", "raw")}
    ok = np.zeros(n, dtype=bool)
    if plan.fold_of is None:
        if plan.holdout.size:
            _score_both(session, final, plan.holdout, probs, ok)
        return _Unseen(probs=probs, ok=ok)
    k_total = int(plan.fold_of.max()) + 1
    for k in range(k_total):
        phase = train_phase(session, f"fold {k + 1}/{k_total}", plan.train[plan.fold_of != k],
                            keep_checkpoints=False)
        _score_both(session, phase, plan.train[plan.fold_of == k], probs, ok)
        if on_fold_model is not None:
            on_fold_model(k, phase)
        del phase
    return _Unseen(probs=probs, ok=ok)


def _score_both(session: Session, phase: PhaseResult, rows: np.ndarray,
                probs: dict[str, np.ndarray], ok: np.ndarray) -> None:
    for chosen in probs:
        s = _score(session, phase.weights(chosen), rows)
        probs[chosen][rows] = s.probs
        ok[rows] = s.ok


def _metrics(data: TrainingSet, plan: Plan, unseen: _Unseen,
             final: PhaseResult) -> tuple[dict, str, np.ndarray]:
    """Held-out quality from unseen scores; also picks EMA or raw weights on the same images.

    Returns (metrics, "ema" | "raw", the rows scored by a model that never saw them).
    """
    rows = np.flatnonzero(unseen.ok)
    metrics: dict = {"train_images": int(plan.train.size), "train_loss": final.train_loss}
    if plan.holdout.size:
        metrics["holdout_images"] = int(plan.holdout.size)
    if rows.size == 0:
        metrics.update(weights="ema", val_map=None, val_map_basis=None, val_scores=None,
                       val_images=0, val_images_basis=None)
        return metrics, "ema", rows
    val_rows = _val_rows(data, plan, rows)
    if plan.fold_of is not None:
        val_images_basis = evaluation_rows(data.confirmed, rows)[1]
        val_scores = "out-of-fold"
    else:
        val_images_basis, val_scores = "unconfirmed-holdout", "held-out"
    t, kn, cf = data.targets[val_rows], data.known_negative[val_rows], data.confirmed[val_rows]
    results = {w: map_known(p[val_rows], t, kn, cf) for w, p in unseen.probs.items()}
    raw, ema = results["raw"].map, results["ema"].map
    chosen = "raw" if math.isfinite(raw) and (not math.isfinite(ema) or raw > ema) else "ema"
    result = results[chosen]
    metrics.update(
        weights=chosen, val_scores=val_scores, val_images=int(val_rows.size),
        val_images_basis=val_images_basis, val_map=_num(result.map), val_map_basis=result.basis,
        val_tags_scored=result.tags_scored,
        val_ap={tag: _num(v) for tag, v in zip(data.tags, result.per_tag, strict=True)
                if math.isfinite(v)})
    return metrics, chosen, rows


def _val_rows(data: TrainingSet, plan: Plan, rows: np.ndarray) -> np.ndarray:
    """The rows the held-out mAP is computed on (of the rows scored by an unseeing model)."""
    if plan.fold_of is not None:
        return evaluation_rows(data.confirmed, rows)[0]
    return rows


def _parent_comparison(init_text: str, parent: str | None, data: TrainingSet, probs: np.ndarray,
                       rows: np.ndarray) -> dict:
    """The start model's held-out mAP beside this run's, on the same images, tags and labels.

    A fine-tune's parent trained on most of these images, so scoring them with
    its weights would flatter it; its out-of-fold scores (oof.npz, each from a
    fold model that never saw the image) are compared instead, with this run's
    held-out scores, on the images both have (same image id and version, else
    the same path) and the tags both know, with today's labels and the same
    `map_known`. The app keeps the better model active (ADR 0006).
    """
    folder = Path(init_text)
    folder = folder if folder.is_dir() else folder.parent
    result: dict = {"parent_model": parent, "parent_val_map": None, "compare_val_map": None,
                    "compare_images": 0}
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        oof_name = (manifest.get("files") or {}).get("oof")
        parent_tags = list(manifest["tags"])
        if not oof_name:
            result["compare_note"] = f"model {parent} has no out-of-fold scores to compare with"
            return result
        oof = read_oof(folder / oof_name, len(parent_tags))
    except (OSError, ValueError, KeyError, TypeError, OofError) as exc:
        result["compare_note"] = f"model {parent}'s scores cannot be read: {exc}"
        return result
    by_identity = {oof.identity(j): j for j in range(len(oof.paths)) if oof.identity(j) is not None}
    by_path = {p: j for j, p in enumerate(oof.paths)}
    mine, theirs = [], []
    for i in rows:
        image_id, version = int(data.image_ids[i]), int(data.versions[i])
        j = by_identity.get((image_id, version)) if image_id != NO_ID else None
        if j is None and (image_id == NO_ID or not by_identity):
            j = by_path.get(str(data.paths[i]))
        if j is not None:
            mine.append(int(i))
            theirs.append(j)
    columns = [(c, parent_tags.index(tag)) for c, tag in enumerate(data.tags) if tag in parent_tags]
    if not mine or not columns:
        result["compare_note"] = f"model {parent} scored none of this run's held-out images"
        return result
    new_cols, old_cols = [c for c, _ in columns], [c for _, c in columns]
    r = np.asarray(mine)
    result_cmp = compare_on_same_images(
        probs[np.ix_(r, new_cols)], oof.probs[np.ix_(np.asarray(theirs), old_cols)],
        data.targets[np.ix_(r, new_cols)], data.known_negative[np.ix_(r, new_cols)], data.confirmed[r])
    if not (math.isfinite(result_cmp.new_map) and math.isfinite(result_cmp.parent_map)):
        result["compare_note"] = "no tag has a known positive and negative on the shared images"
        return result
    result.update(parent_val_map=_num(result_cmp.parent_map), compare_val_map=_num(result_cmp.new_map),
                  compare_images=result_cmp.images, compare_tags=result_cmp.tags_scored)
    return result


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


def _total_steps(cfg: FitConfig, plan: Plan, world: int) -> int:
    total = cfg.epochs * steps_per_epoch(plan.train.size, cfg.batch_size, world)
    if plan.fold_of is not None:
        for k in range(int(plan.fold_of.max()) + 1):
            total += cfg.epochs * steps_per_epoch(int((plan.fold_of != k).sum()), cfg.batch_size, world)
    return total


def _score(session: Session, model: torch.nn.Module, rows: np.ndarray):
    cfg = session.settings
    scores = score_images(model, [session.data.paths[i] for i in rows], size=cfg.image_size,
                          mean=session.mean, std=session.std, device=session.runtime.device,
                          batch_size=cfg.batch_size, workers=cfg.workers,
                          amp=cfg.amp and session.runtime.device.type == "cuda", stop=session.stop)
    session.report(scores.problems, rows)
    return scores


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
    """oof.npz (clml_contract.oof) of the readable images: paths as read, and
    the image ids and versions it named, so the app drops scores of images changed since."""
    rows = np.flatnonzero(ok)
    write_oof(target, [data.paths[i] for i in rows], probs[rows], embeddings[rows],
              image_ids=data.image_ids[rows], versions=data.versions[rows])

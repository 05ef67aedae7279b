"""Turning a bare checkpoint into a model folder: our own, or one of the authors' release.

A checkpoint is only weights; the app also needs the tag names in output
order and the preprocessing. For a checkpoint inside one of our model
folders the manifest beside it says all that; a run that stopped before its
manifest leaves `run.json` beside its last good checkpoint with the same
facts, so `python -m training export MODEL_DIR/checkpoint.pt` needs no options. For the authors' release
(github.com/chuangua/ContrastiveLossMLML) the tag names come from a class
names file, and the preprocessing is theirs: squash-resize to 448 and scale
to [0, 1] with no mean/std normalisation (mean 0, std 1), with 0.5 as the
decision threshold their validation uses.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from torch import Tensor

from clml_contract.atomic import atomic_write_text
from clml_contract.manifest import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    MANIFEST_NAME,
    MAX_INPUT_SIZE,
    MIN_INPUT_SIZE,
    Manifest,
    ManifestError,
    new_model_id,
)
from clml_contract.preprocess import IMAGE_EXTENSIONS
from models.artifact import save_model_dir, synthetic_images
from models.checkpoint import CheckpointError, load_checkpoint, load_into
from models.resnet import ARCHITECTURES, build_model
from models.transforms import load_batch

AUTHORS_MEAN = (0.0, 0.0, 0.0)
AUTHORS_STD = (1.0, 1.0, 1.0)
AUTHORS_IMAGE_SIZE = 448
AUTHORS_THRESHOLD = 0.5
RUN_INFO_NAME = "run.json"


class ConvertError(ValueError):
    """The checkpoint, names file or options cannot make a model folder; names the file."""


@dataclass
class _Known:
    """What a record beside a checkpoint says about it (a model's manifest or a run's run.json).

    `training` is carried into the new manifest only from a run record: a
    finished model's settings describe that model, and its export becomes a
    new model whose parent it is.
    """

    tags: list[str]
    architecture: str
    input_size: int
    mean: list[float]
    std: list[float]
    parent: str | None
    thresholds: dict[str, float] = field(default_factory=dict)
    metrics: dict[str, object] = field(default_factory=dict)
    training: dict[str, object] = field(default_factory=dict)

    @classmethod
    def of_manifest(cls, manifest: Manifest) -> _Known:
        return cls(tags=list(manifest.tags), architecture=manifest.architecture,
                   input_size=manifest.input_size, mean=list(manifest.mean),
                   std=list(manifest.std), parent=manifest.id,
                   thresholds=dict(manifest.thresholds), metrics=dict(manifest.metrics))


def infer_arch(state: Mapping[str, Tensor]) -> str:
    """Which of our ResNets a torchvision-style state dict belongs to (by its block layout)."""
    if "layer1.0.conv3.weight" not in state:
        blocks = {i for k in state if k.startswith("layer4.") for i in [k.split(".")[1]]}
        if "layer1.0.conv1.weight" in state and len(blocks) == 2:
            return "resnet18"
        raise ConvertError("the checkpoint is not a ResNet18/50/101 with torchvision key names")
    layer3 = {k.split(".")[1] for k in state if k.startswith("layer3.")}
    by_depth = {6: "resnet50", 23: "resnet101"}
    if len(layer3) not in by_depth:
        raise ConvertError(
            f"the checkpoint's layer3 has {len(layer3)} blocks; only ResNet50 (6) and ResNet101 (23) are supported"
        )
    return by_depth[len(layer3)]


def read_class_names(path: Path) -> list[str]:
    """One tag per line in output order (UTF-8, a BOM is fine); blank lines at the end are ignored."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise ConvertError(f"{path}: no such class names file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConvertError(f"{path}: unreadable as UTF-8 text ({exc})") from exc
    lines = [line.strip() for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    for number, name in enumerate(lines, 1):
        if not name:
            raise ConvertError(f"{path}: line {number} is empty; every output needs a tag name")
    seen: set[str] = set()
    for name in lines:
        if name in seen:
            raise ConvertError(f"{path}: tag {name!r} is listed twice")
        seen.add(name)
    if not lines:
        raise ConvertError(f"{path}: holds no tag names")
    return lines


def images_from_folder(
    folder: Path, size: int, mean: Sequence[float], std: Sequence[float], limit: int = 8
) -> Tensor:
    """Up to `limit` readable images of `folder`, preprocessed, for the ONNX parity check."""
    paths = [
        p
        for p in sorted(Path(folder).rglob("*"))
        if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()
    ]
    batch = load_batch(paths, size, mean, std, limit)
    if batch is None:
        raise ConvertError(f"{folder}: no readable images to check the export with")
    return batch


def export_checkpoint(
    checkpoint: Path,
    out_dir: Path,
    *,
    arch: str | None = None,
    image_size: int | None = None,
    tags: Sequence[str] | None = None,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    thresholds: Mapping[str, float] | None = None,
    training: Mapping[str, object] | None = None,
    verify_folder: Path | None = None,
) -> Manifest:
    """Build the network from `checkpoint`, export ONNX + manifest + checkpoint into `out_dir`.

    Unset options come from a manifest beside the checkpoint, when there is one,
    else from the state dict (architecture) and the defaults (ImageNet mean/std, 448 px).
    """
    checkpoint = Path(checkpoint)
    try:
        state = load_checkpoint(checkpoint)
    except CheckpointError as exc:
        raise ConvertError(str(exc)) from exc
    beside = _manifest_beside(checkpoint) or _run_info_beside(checkpoint)
    arch = arch or (beside.architecture if beside else None) or infer_arch(state)
    if arch not in ARCHITECTURES:
        raise ConvertError(
            f"unknown architecture {arch!r}; choose one of {', '.join(ARCHITECTURES)}"
        )
    tags = list(tags) if tags is not None else (list(beside.tags) if beside else None)
    if tags is None:
        raise ConvertError(
            f"{checkpoint}: no manifest beside it; give the tag names with --tags NAMES.txt"
        )
    classes = state.get("fc.weight")
    if classes is None or classes.shape[0] != len(tags):
        have = "no classifier" if classes is None else f"{classes.shape[0]} outputs"
        raise ConvertError(f"{checkpoint}: has {have} but {len(tags)} tag names were given")
    size = int(image_size or (beside.input_size if beside else AUTHORS_IMAGE_SIZE))
    if not MIN_INPUT_SIZE <= size <= MAX_INPUT_SIZE:
        raise ConvertError(f"image size {size} px is outside {MIN_INPUT_SIZE}..{MAX_INPUT_SIZE} px")
    mean = list(mean if mean is not None else (beside.mean if beside else IMAGENET_MEAN))
    std = list(std if std is not None else (beside.std if beside else IMAGENET_STD))
    if thresholds is None and beside is not None:
        thresholds = {t: v for t, v in beside.thresholds.items() if t in tags}
    model = build_model(arch, len(tags))
    try:
        load_into(model, state, source=str(checkpoint))
    except CheckpointError as exc:
        raise ConvertError(str(exc)) from exc
    verify = (
        images_from_folder(verify_folder, size, mean, std)
        if verify_folder
        else synthetic_images(2, size, mean, std)
    )
    info = dict(training if training is not None else (beside.training if beside else {}))
    info.setdefault("source_checkpoint", str(checkpoint.resolve()))
    return save_model_dir(
        out_dir,
        model,
        tags=tags,
        arch=arch,
        image_size=size,
        mean=mean,
        std=std,
        thresholds=thresholds,
        training=info,
        metrics=dict(beside.metrics) if beside else {},
        parent=beside.parent if beside else None,
        model_id=new_model_id(),  # never the folder's name: A/model and B/model are two models
        verify_images=verify,
    )


def import_authors_checkpoint(
    checkpoint: Path,
    classes: Path,
    out_dir: Path,
    *,
    arch: str | None = None,
    image_size: int = AUTHORS_IMAGE_SIZE,
    verify_folder: Path | None = None,
) -> Manifest:
    """A checkpoint of the authors' release plus its class names -> our model folder."""
    tags = read_class_names(classes)
    return export_checkpoint(
        checkpoint,
        out_dir,
        arch=arch,
        image_size=image_size,
        tags=tags,
        mean=AUTHORS_MEAN,
        std=AUTHORS_STD,
        thresholds={t: AUTHORS_THRESHOLD for t in tags},
        training={
            "origin": "authors' release (chuangua/ContrastiveLossMLML)",
            "classes_file": str(Path(classes).resolve()),
        },
        verify_folder=verify_folder,
    )


def _manifest_beside(checkpoint: Path) -> _Known | None:
    folder = checkpoint if checkpoint.is_dir() else checkpoint.parent
    if not (folder / MANIFEST_NAME).is_file():
        return None
    try:
        return _Known.of_manifest(Manifest.read(folder / MANIFEST_NAME))
    except ManifestError as exc:
        raise ConvertError(str(exc)) from exc


def write_run_info(folder: Path, *, tags: Sequence[str], arch: str, image_size: int,
                   mean: Sequence[float], std: Sequence[float], parent: str | None,
                   training: Mapping[str, object]) -> Path:
    """What `export` needs to turn a run's checkpoint into a model, written when the run starts."""
    path = Path(folder) / RUN_INFO_NAME
    info = {"tags": list(tags), "architecture": arch, "input_size": int(image_size),
            "mean": [float(v) for v in mean], "std": [float(v) for v in std], "parent": parent,
            "training": dict(training)}
    atomic_write_text(path, json.dumps(info, indent=1, ensure_ascii=False) + "\n")
    return path


def _run_info_beside(checkpoint: Path) -> _Known | None:
    """run.json beside the checkpoint: a run that stopped before its manifest (no metrics)."""
    folder = checkpoint if checkpoint.is_dir() else checkpoint.parent
    path = folder / RUN_INFO_NAME
    if not path.is_file():
        return None
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        return _Known(tags=[str(t) for t in info["tags"]], architecture=str(info["architecture"]),
                      input_size=int(info["input_size"]),
                      mean=[float(v) for v in info["mean"]], std=[float(v) for v in info["std"]],
                      parent=info.get("parent"), training=dict(info.get("training") or {}))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConvertError(f"{path}: unreadable run record ({exc}); give the options explicitly") from exc

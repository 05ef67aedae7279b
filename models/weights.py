"""Where a network's weights start: ImageNet, a weights file, a previous model, or random.

Fine-tuning the collection's previous model is the normal case after the first
training; its classifier rows are mapped by tag name, so adding a tag keeps
what the model learnt about the others. Random init is a last resort that
trains poorly, so it is never silent: asking for it, or falling back to it
when ImageNet weights cannot be fetched, leaves a warning the trainer shows.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import torch
import torch.hub
from torch import Tensor, nn
from torchvision.models import ResNet18_Weights, ResNet50_Weights, ResNet101_Weights

from clml_contract.manifest import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    MANIFEST_NAME,
    Manifest,
    ManifestError,
)
from clml_contract.tagnames import tag_key
from models.checkpoint import CHECKPOINT_NAME, CheckpointError, load_checkpoint, load_into

IMAGENET_WEIGHTS = {
    "resnet18": ResNet18_Weights.IMAGENET1K_V1,
    "resnet50": ResNet50_Weights.IMAGENET1K_V2,
    "resnet101": ResNet101_Weights.IMAGENET1K_V2,
}


DownloadReport = Callable[[str, int, int | None], None]
"""Called as bytes of a download arrive: (what, bytes so far, total bytes or None)."""


class InitError(ValueError):
    """The requested start cannot be used (wrong architecture, unreadable file, ...)."""


class DownloadStopped(Exception):
    """A download report asked to stop (the run was cancelled): not a reason to fall back."""


@dataclass
class InitPlan:
    """A resolved start: call `apply(model)` on each freshly built network.

    `mean`/`std` are the normalisation the start was trained with (the new
    model must keep them); `parent` is the previous model's id when
    fine-tuning; `warnings` are meant for the user, not just a log: the caller reports
    them (the trainer as `warning` events), so they are not logged here as well, which
    showed each one twice in the app's log.
    """

    kind: str  # "imagenet" | "file" | "model" | "random"
    description: str
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    parent: str | None = None
    warnings: list[str] = field(default_factory=list)
    state: dict[str, Tensor] | None = None
    old_tags: list[str] | None = None
    tags: list[str] = field(default_factory=list)
    skip_fc: bool = False
    root: str = "imagenet"  # the --init a chain of fine-tunes started from (manifest training.root_init)
    fold_start: str | None = None  # the --init for fold models when this start saw the images

    def apply(self, model: nn.Module) -> None:
        """Load the start into `model` (built with this plan's tag count)."""
        if self.state is None:
            return
        if self.kind == "model" and self.old_tags is not None:
            load_into(model, self.state, source=self.description, skip_fc=True)
            _copy_known_rows(model, self.state, self.old_tags, self.tags)
            return
        load_into(model, self.state, source=self.description, skip_fc=self.skip_fc)


def resolve_init(
    init: str | Path,
    *,
    arch: str,
    tags: Sequence[str],
    progress: bool = True,
    fetch: Callable[[str, bool], dict[str, Tensor]] | None = None,
    on_download: DownloadReport | None = None,
) -> InitPlan:
    """Turn `--init` (imagenet | random | MODEL_DIR | weights file) into an InitPlan.

    Loads and checks the weights once, here, so a bad file fails before any
    training starts. `fetch` replaces the ImageNet download (tests);
    `on_download` hears how a first-time ImageNet download is going, so the
    app can show it (torchvision's own bar only reaches a terminal).
    """
    tags = list(tags)
    text = str(init)
    if text == "random":
        message = (
            f"starting {arch} from RANDOM weights, as asked: expect much weaker suggestions "
            "than from ImageNet weights"
        )
        return InitPlan("random", "random init (asked)", warnings=[message], tags=tags,
                        root="random")
    if text == "imagenet":
        with reporting_downloads(on_download, f"ImageNet weights for {arch}"):
            return _imagenet(arch, tags, progress, fetch or _fetch_imagenet)
    path = Path(text).expanduser()
    if path.is_dir():
        return _previous_model(path, arch, tags)
    if path.is_file():
        if _is_model_checkpoint(path):
            # A model folder's own checkpoint is a fine-tune of that model, with its
            # tags, normalisation and lineage (and fold models kept off it).
            return _previous_model(path.parent, arch, tags)
        return _weights_file(path, arch, tags)
    raise InitError(
        f"--init {text!r}: expected 'imagenet', 'random', a model folder or a weights file, "
        "and no such file or folder exists"
    )


@contextlib.contextmanager
def reporting_downloads(report: DownloadReport | None, what: str) -> Iterator[None]:
    """Hear the bytes of any torch.hub download made inside the block.

    torch.hub draws its progress bar with the module-level `tqdm` it looks up
    for every download; this swaps in a bar that calls `report` instead and
    restores the original afterwards. A torch without that hook downloads
    unheard, as before. `report` may raise DownloadStopped to abandon the
    download (torch.hub deletes its partial file).
    """
    if report is None or not hasattr(torch.hub, "tqdm"):
        yield
        return

    class _ReportingBar:
        def __init__(self, total: int | None = None, **_options: object) -> None:
            self.total = int(total) if total else None
            self.n = 0
            report(what, 0, self.total)

        def update(self, n: int) -> None:
            self.n += int(n)
            report(what, self.n, self.total)

        def __enter__(self) -> _ReportingBar:
            return self

        def __exit__(self, *_exc: object) -> None:
            return None

    original = torch.hub.tqdm
    torch.hub.tqdm = _ReportingBar
    try:
        yield
    finally:
        torch.hub.tqdm = original


def imagenet_cache_file(arch: str) -> Path:
    """Where torchvision keeps the downloaded ImageNet weights of `arch` (torch.hub's cache)."""
    name = Path(urlparse(IMAGENET_WEIGHTS[arch].url).path).name
    return Path(torch.hub.get_dir()) / "checkpoints" / name


def _fetch_imagenet(arch: str, progress: bool) -> dict[str, Tensor]:
    """torchvision's own loader: downloads once into the torch hub cache, checks the hash."""
    return IMAGENET_WEIGHTS[arch].get_state_dict(progress=progress, check_hash=True)


def _imagenet(
    arch: str, tags: list[str], progress: bool, fetch: Callable[[str, bool], dict[str, Tensor]]
) -> InitPlan:
    if arch not in IMAGENET_WEIGHTS:
        raise InitError(f"no ImageNet weights known for architecture {arch!r}")
    weights = IMAGENET_WEIGHTS[arch]
    try:
        state = fetch(arch, progress)
    except DownloadStopped:
        raise
    except Exception as exc:  # offline, proxy, disk full, corrupt cache: all mean "fall back"
        cached = imagenet_cache_file(arch)
        remedy = (
            f"The cached copy {cached} is unreadable: delete it and connect once to download it again"
            if cached.is_file()
            else f"Connect once so torchvision can cache {weights.url}"
        )
        message = (
            f"could not load ImageNet weights for {arch} ({type(exc).__name__}: {exc}); "
            f"TRAINING FROM RANDOM WEIGHTS instead, which gives much weaker suggestions. "
            f"{remedy}, or pass --init weights.pt"
        )
        return InitPlan(
            "random",
            f"random init (ImageNet weights unavailable for {arch})",
            warnings=[message],
            tags=tags,
        )
    return InitPlan(
        "imagenet", f"ImageNet weights ({weights})", state=dict(state), tags=tags, skip_fc=True
    )


def _is_model_checkpoint(path: Path) -> bool:
    """Whether `path` is the checkpoint a readable manifest beside it names."""
    try:
        manifest = Manifest.read(path.parent / MANIFEST_NAME)
    except (ManifestError, OSError):
        return False
    return path.name == ((manifest.files or {}).get("checkpoint") or CHECKPOINT_NAME)


def _weights_file(path: Path, arch: str, tags: list[str]) -> InitPlan:
    try:
        state = load_checkpoint(path)
        probe = _probe(arch, len(tags))
        report = load_into(probe, state, source=str(path), check_only=True)
    except CheckpointError as exc:
        raise InitError(str(exc)) from exc
    plan = InitPlan(
        "file", f"weights file {path}", state=state, tags=tags, skip_fc=report.skipped_fc,
        root=str(path.resolve()),
    )
    plan.warnings.extend(report.messages)
    return plan


def _previous_model(folder: Path, arch: str, tags: list[str]) -> InitPlan:
    try:
        manifest = Manifest.read(folder / MANIFEST_NAME)
    except ManifestError as exc:
        raise InitError(f"--init {folder}: not a model folder ({exc})") from exc
    if manifest.architecture != arch:
        raise InitError(
            f"--init {folder}: that model is a {manifest.architecture}, this run builds a {arch}; "
            f"pass --arch {manifest.architecture} to fine-tune it"
        )
    file = folder / ((manifest.files or {}).get("checkpoint") or CHECKPOINT_NAME)
    try:
        state = load_checkpoint(file)
        load_into(_probe(arch, len(manifest.tags)), state, source=str(file), check_only=True)
    except CheckpointError as exc:
        raise InitError(str(exc)) from exc
    plan = InitPlan(
        "model",
        f"fine-tuning model {manifest.id}",
        mean=tuple(manifest.mean),  # type: ignore[arg-type]
        std=tuple(manifest.std),  # type: ignore[arg-type]
        parent=manifest.id,
        state=state,
        old_tags=list(manifest.tags),
        tags=tags,
        root=_root_of(manifest),
    )
    if "origin" in manifest.training:
        # An imported checkpoint never saw this collection: its fold models may start
        # from it, and the chain of fine-tunes starting here begins with it (with its
        # own normalisation), not with ImageNet.
        plan.root = str(folder.resolve())
    else:
        plan.fold_start = plan.root
    new = [t for t in tags if _find(t, plan.old_tags) is None]
    if new:
        plan.warnings.append(
            f"{len(new)} tag(s) new to model {manifest.id} start untrained: {', '.join(new[:10])}"
        )
    return plan


def _root_of(manifest: Manifest) -> str:
    """Where the parent's chain of fine-tunes began (older manifests: read from its init text)."""
    root = manifest.training.get("root_init")
    if isinstance(root, str) and root:
        return root
    described = str(manifest.training.get("init", ""))
    return "random" if described.startswith("random") else "imagenet"


def _probe(arch: str, num_classes: int) -> nn.Module:
    """A throwaway network to check a state dict fits before training starts."""
    from models.resnet import build_model

    with torch.device("meta"):
        return build_model(arch, num_classes)


def _find(tag: str, old_tags: Sequence[str]) -> int | None:
    """Row of `tag` in the old model: exact name first, then the alias key."""
    if tag in old_tags:
        return list(old_tags).index(tag)
    key = tag_key(tag)
    for i, old in enumerate(old_tags):
        if tag_key(old) == key:
            return i
    return None


@torch.no_grad()
def _copy_known_rows(
    model: nn.Module, state: dict[str, Tensor], old_tags: list[str], tags: list[str]
) -> None:
    """Copy the old classifier rows of tags both models know; new tags keep their fresh init."""
    weight, bias = state["fc.weight"], state["fc.bias"]
    for row, tag in enumerate(tags):
        old = _find(tag, old_tags)
        if old is not None:
            model.fc.weight[row].copy_(weight[old])
            model.fc.bias[row].copy_(bias[old])

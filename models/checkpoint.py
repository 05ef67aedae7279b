"""Reading state dicts safely, whoever wrote them.

Checkpoints come from us (`checkpoint.pt`, a bare state dict), from
torchvision, and from the authors' release, which saves `model.state_dict()`
or `ema.module.state_dict()` of a model wrapped in `nn.DataParallel`, so its
keys start with `module.`. Loading is always `weights_only=True`: a
checkpoint is untrusted input and must never run pickled code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor, nn

CHECKPOINT_NAME = "checkpoint.pt"
# Wrappers that add a prefix to every key: DataParallel/DDP and EMA copies
# (`module.`), torch.compile (`_orig_mod.`), and trainers that nest the net.
_PREFIXES = ("module.", "_orig_mod.", "model.", "backbone.")
# Containers that trainers put around the state dict, in order of preference.
_CONTAINER_KEYS = ("state_dict", "model", "model_state_dict", "state_dict_ema", "model_ema", "ema")


class CheckpointError(ValueError):
    """A checkpoint that cannot be read or does not fit the network; names the file."""


@dataclass
class LoadReport:
    """What `load_into` did, for the log: nothing is skipped silently."""

    loaded: int = 0
    skipped_fc: bool = False
    unexpected: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)


def checkpoint_path(path: Path) -> Path:
    """`path` itself, or the checkpoint inside a model folder."""
    path = Path(path)
    return path / CHECKPOINT_NAME if path.is_dir() else path


def load_checkpoint(path: Path) -> dict[str, Tensor]:
    """The state dict of a checkpoint file or model folder, unwrapped, prefixes stripped."""
    file = checkpoint_path(path)
    if not file.is_file():
        raise CheckpointError(f"{file}: no such checkpoint file")
    try:
        obj = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises pickle/zip/runtime errors alike; all mean "unreadable"
        # torch's own message advises retrying with weights_only=False, which runs any code
        # the file carries: never repeated to a person who may not have made the file.
        raise CheckpointError(f"{file}: {_unreadable_reason(exc)}") from None
    state = _unwrap(obj)
    if state is None:
        raise CheckpointError(f"{file}: holds no state dict of tensors")
    return strip_prefixes(state)


def _unreadable_reason(exc: Exception) -> str:
    """Our words for why torch refused the file; torch's text (with its unsafe advice) is dropped."""
    text = str(exc)
    if "Weights only load failed" in text or "WeightsUnpickler" in text or "Unsupported global" in text:
        return (
            "refused: the file holds Python objects besides tensors, which could run code when "
            "loaded, so it was not loaded. Use a checkpoint that holds only weights (a state "
            "dict), e.g. one saved with torch.save(model.state_dict(), PATH)"
        )
    return f"could not load it as a PyTorch checkpoint of weights ({type(exc).__name__}); the file is damaged or of another kind"


def strip_prefixes(state: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Remove wrapper prefixes that every key shares (repeatedly: `module.module.` happens)."""
    state = dict(state)
    changed = True
    while changed and state:
        changed = False
        for prefix in _PREFIXES:
            if all(k.startswith(prefix) for k in state):
                state = {k[len(prefix) :]: v for k, v in state.items()}
                changed = True
    return state


def load_into(
    model: nn.Module,
    state: Mapping[str, Tensor],
    *,
    source: str,
    skip_fc: bool = False,
    check_only: bool = False,
) -> LoadReport:
    """Copy `state` into `model`; the classifier is skipped when asked or when its shape differs.

    `check_only` runs every check and fills the report without copying (for a
    network built on the meta device, to vet a file before training starts).
    Every backbone tensor must be present with the right shape, or the start
    would be partly random without anyone knowing: that raises CheckpointError.
    """
    report = LoadReport()
    own = model.state_dict()
    fc_keys = {k for k in own if k.startswith("fc.")}
    state = dict(state)
    if not skip_fc:
        mismatch = [
            k for k in fc_keys if k in state and tuple(state[k].shape) != tuple(own[k].shape)
        ]
        if mismatch:
            skip_fc = True
            theirs = state["fc.weight"].shape[0] if "fc.weight" in state else "?"
            report.messages.append(
                f"{source}: classifier not loaded: it has {theirs} classes, the model has {own['fc.weight'].shape[0]}"
            )
    if skip_fc:
        report.skipped_fc = True
        state = {k: v for k, v in state.items() if k not in fc_keys}
    missing = [k for k in own if k not in state and not (skip_fc and k in fc_keys)]
    wrong = [k for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    if missing or wrong:
        detail = []
        if missing:
            detail.append(f"missing {len(missing)} tensors (e.g. {', '.join(missing[:3])})")
        if wrong:
            k = wrong[0]
            detail.append(
                f"{len(wrong)} of the wrong shape (e.g. {k}: {tuple(state[k].shape)} vs {tuple(own[k].shape)})"
            )
        raise CheckpointError(
            f"{source}: does not fit a {getattr(model, 'arch', type(model).__name__)}: "
            + "; ".join(detail)
        )
    report.unexpected = sorted(k for k in state if k not in own)
    if report.unexpected:
        report.messages.append(
            f"{source}: ignored {len(report.unexpected)} tensors the model does not have "
            f"(e.g. {', '.join(report.unexpected[:3])})"
        )
    usable = {k: v for k, v in state.items() if k in own}
    if not check_only:
        model.load_state_dict(usable, strict=False)
    report.loaded = len(usable)
    return report


def _unwrap(obj: object) -> dict[str, Tensor] | None:
    if isinstance(obj, Mapping):
        if obj and all(isinstance(k, str) and isinstance(v, Tensor) for k, v in obj.items()):
            return dict(obj)
        for key in _CONTAINER_KEYS:
            if key in obj:
                inner = _unwrap(obj[key])
                if inner is not None:
                    return inner
    return None

"""The child processes' voice: one JSON object a line on stdout (ADR 0002, ADR 0020).

Both children of the app speak it: the trainer (`python -m training fit`,
`import-checkpoint`) and the background scorer. Each event is a dataclass
here; the child builds one and `encode`s it, the app `parse_line`s each line
back into the same class. The fields are read from the dataclass, so a field
the emitter adds is a field the reader knows, and neither side spells field
names by hand.

Reading is forgiving: non-JSON lines, unknown events and fields of the wrong
type give None or the field's default, never an exception, since a newer
child may add events and a library may print to stdout despite our care.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True)
class StartEvent:
    """The trainer has its data and device and is about to train."""

    kind: ClassVar[str] = "start"
    device: str = ""
    device_reason: str = ""
    arch: str = ""
    image_size: int = 0
    epochs: int = 0
    folds: int = 0
    images: int = 0
    tags: int = 0
    holdout: int = 0
    holdout_basis: str = ""
    init: str = ""
    world_size: int = 1


@dataclass(frozen=True)
class ProgressEvent:
    """A training step of one phase (the final model or a fold model)."""

    kind: ClassVar[str] = "progress"
    phase: str = ""
    epoch: int = 0
    epochs: int = 0
    step: int = 0
    steps: int = 0
    loss: float | None = None
    eta_s: float | None = None
    images_per_s: float | None = None
    fraction: float | None = None
    batch_size: int = 0


@dataclass(frozen=True)
class EpochEvent:
    kind: ClassVar[str] = "epoch"
    phase: str = ""
    epoch: int = 0
    epochs: int = 0
    train_loss: float | None = None
    val_map: float | None = None


@dataclass(frozen=True)
class DownloadEvent:
    """Bytes of a first-time download (ImageNet weights) so far; comes before `start`."""

    kind: ClassVar[str] = "download"
    what: str = "a file"
    done_bytes: int = 0
    total_bytes: int | None = None

    @property
    def fraction(self) -> float | None:
        if not self.total_bytes:
            return None
        return min(1.0, max(0.0, self.done_bytes / self.total_bytes))

    @property
    def text(self) -> str:
        """"Downloading ImageNet weights for resnet101: 45.2 of 170.5 MB" (GUI and CLI alike)."""
        total = f" of {self.total_bytes / 1e6:.1f}" if self.total_bytes else ""
        return f"Downloading {self.what}: {self.done_bytes / 1e6:.1f}{total} MB"


@dataclass(frozen=True)
class StepEvent:
    """Plain progress of work in units (the scorer's images): `total` 0 means unknown."""

    kind: ClassVar[str] = "step"
    done: int = 0
    total: int = 0
    text: str = ""


@dataclass(frozen=True)
class WarningEvent:
    kind: ClassVar[str] = "warning"
    message: str = ""


@dataclass(frozen=True)
class DoneEvent:
    """The trainer finished: the model folder to register, and its metrics."""

    kind: ClassVar[str] = "done"
    required: ClassVar[tuple[str, ...]] = ("model_dir",)
    model_dir: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ScoredEvent:
    """The scorer finished: what it did, as the fields of a `PipelineReport`."""

    kind: ClassVar[str] = "scored"
    report: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ErrorEvent:
    kind: ClassVar[str] = "error"
    message: str = "the child process failed without a message"


@dataclass(frozen=True)
class CancelledEvent:
    """Stopped on request; `checkpoint` is the last good one the trainer kept, if any."""

    kind: ClassVar[str] = "cancelled"
    checkpoint: str | None = None


Event = (
    StartEvent
    | ProgressEvent
    | EpochEvent
    | DownloadEvent
    | StepEvent
    | WarningEvent
    | DoneEvent
    | ScoredEvent
    | ErrorEvent
    | CancelledEvent
)
TrainerEvent = Event

EVENTS: dict[str, type] = {
    cls.kind: cls
    for cls in (
        StartEvent, ProgressEvent, EpochEvent, DownloadEvent, StepEvent, WarningEvent,
        DoneEvent, ScoredEvent, ErrorEvent, CancelledEvent,
    )
}


def encode(event: Event) -> str:
    """One line (no newline) for `event`; non-finite floats become null (JSON has none)."""
    record = {"event": event.kind, **_clean(dataclasses.asdict(event))}
    return json.dumps(record, ensure_ascii=False, allow_nan=False)


def parse_line(line: str | bytes) -> Event | None:
    """One stdout line → its event, or None for anything that is not a known event."""
    if isinstance(line, bytes):
        line = line.decode("utf-8", errors="replace")
    text = line.strip()
    if not text.startswith("{"):
        return None
    try:
        obj = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return None
    if not isinstance(obj, dict):
        return None
    cls = EVENTS.get(obj.get("event"))  # type: ignore[arg-type]
    if cls is None:
        return None
    try:
        return _build(cls, obj)
    except (TypeError, ValueError, OverflowError):
        return None


def _build(cls: type, obj: dict[str, Any]) -> Event | None:
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in obj or obj[f.name] is None:
            continue
        values[f.name] = _coerce(obj[f.name], hints[f.name])
    for name in getattr(cls, "required", ()):
        if not values.get(name):
            return None
    for f in dataclasses.fields(cls):
        if f.name in values and values[f.name] is _DEFAULT:
            del values[f.name]
    return cls(**values)


_DEFAULT = object()


def _coerce(value: Any, hint: Any) -> Any:
    """`value` as the field's type; `_DEFAULT` (keep the default) when it cannot be."""
    args = typing.get_args(hint)
    optional = type(None) in args
    base = next((a for a in args if a is not type(None)), hint) if args and (
        typing.get_origin(hint) in (typing.Union, types.UnionType)) else hint
    if base is str:
        return value if isinstance(value, str) else str(value)
    if base is int:
        if isinstance(value, bool):
            return _DEFAULT
        if isinstance(value, int | float) and math.isfinite(value):
            return int(value)
        raise TypeError(f"expected a number, got {value!r}")
    if base is float:
        if isinstance(value, bool):
            return None if optional else _DEFAULT
        if isinstance(value, int | float):
            return float(value) if math.isfinite(value) else (None if optional else _DEFAULT)
        raise TypeError(f"expected a number, got {value!r}")
    if typing.get_origin(base) is dict or base is dict:
        return value if isinstance(value, dict) else _DEFAULT
    return value


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value

"""The one parser of the trainer's JSON-lines protocol (ADR 0002).

The CLI (subprocess) and the GUI (QProcess) both read `python -m training fit`
stdout line by line and hand each line to `parse_line`, which returns a typed
event or None. Non-JSON lines, unknown events and lines with fields of the
wrong type are ignored (None), never fatal: a newer trainer may add events,
and a library may print to stdout despite the trainer's care.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class StartEvent:
    device: str
    device_reason: str = ""
    arch: str = ""
    image_size: int = 0
    epochs: int = 0
    folds: int = 0
    images: int = 0
    tags: int = 0


@dataclass(frozen=True)
class ProgressEvent:
    phase: str = ""
    epoch: int = 0
    epochs: int = 0
    step: int = 0
    steps: int = 0
    loss: float | None = None
    eta_s: float | None = None
    images_per_s: float | None = None


@dataclass(frozen=True)
class EpochEvent:
    phase: str = ""
    epoch: int = 0
    train_loss: float | None = None
    val_map: float | None = None


@dataclass(frozen=True)
class DownloadEvent:
    """Bytes of a first-time download (ImageNet weights) so far; comes before `start`."""

    what: str
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
class WarningEvent:
    message: str


@dataclass(frozen=True)
class DoneEvent:
    model_dir: str
    metrics: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ErrorEvent:
    message: str


@dataclass(frozen=True)
class CancelledEvent:
    pass


TrainerEvent = (
    StartEvent
    | ProgressEvent
    | EpochEvent
    | DownloadEvent
    | WarningEvent
    | DoneEvent
    | ErrorEvent
    | CancelledEvent
)


def parse_line(line: str | bytes) -> TrainerEvent | None:
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
    try:
        return _build(obj)
    except (TypeError, ValueError, OverflowError):
        return None


def _build(obj: dict[str, Any]) -> TrainerEvent | None:
    kind = obj.get("event")
    if kind == "start":
        return StartEvent(
            device=_str(obj.get("device")),
            device_reason=_str(obj.get("device_reason")),
            arch=_str(obj.get("arch")),
            image_size=_int(obj.get("image_size")),
            epochs=_int(obj.get("epochs")),
            folds=_int(obj.get("folds")),
            images=_int(obj.get("images")),
            tags=_int(obj.get("tags")),
        )
    if kind == "progress":
        return ProgressEvent(
            phase=_str(obj.get("phase")),
            epoch=_int(obj.get("epoch")),
            epochs=_int(obj.get("epochs")),
            step=_int(obj.get("step")),
            steps=_int(obj.get("steps")),
            loss=_float(obj.get("loss")),
            eta_s=_float(obj.get("eta_s")),
            images_per_s=_float(obj.get("images_per_s")),
        )
    if kind == "epoch":
        return EpochEvent(
            phase=_str(obj.get("phase")),
            epoch=_int(obj.get("epoch")),
            train_loss=_float(obj.get("train_loss")),
            val_map=_float(obj.get("val_map")),
        )
    if kind == "download":
        total = obj.get("total_bytes")
        return DownloadEvent(
            what=_str(obj.get("what")) or "a file",
            done_bytes=_int(obj.get("done_bytes")),
            total_bytes=_int(total) if total is not None else None,
        )
    if kind == "warning":
        return WarningEvent(message=_str(obj.get("message")))
    if kind == "done":
        model_dir = obj.get("model_dir")
        if not isinstance(model_dir, str) or not model_dir:
            return None
        metrics = obj.get("metrics")
        return DoneEvent(model_dir=model_dir, metrics=metrics if isinstance(metrics, dict) else {})
    if kind == "error":
        return ErrorEvent(
            message=_str(obj.get("message")) or "the trainer failed without a message"
        )
    if kind == "cancelled":
        return CancelledEvent()
    return None


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))


def _int(value: Any) -> int:
    if isinstance(value, bool) or value is None:
        return 0
    if isinstance(value, int | float) and math.isfinite(value):
        return int(value)
    raise TypeError(f"expected a number, got {value!r}")


def _float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    raise TypeError(f"expected a number, got {value!r}")

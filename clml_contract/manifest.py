"""`manifest.json`: what a model folder holds and how to feed its network (ADR 0002).

Torch-free on purpose: the app reads manifests to run ONNX models and must
never import torch. Reading validates every field, so a malformed or
hand-edited manifest fails here with the file and the field named, instead of
as a shape error deep inside inference.
"""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

from clml_contract.atomic import atomic_write_text
from clml_contract.tagnames import TagNameError, clean_tag_name

FORMAT = 1
RESIZE_MODES = ("squash",)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
DEFAULT_FILES = {"onnx": "model.onnx", "checkpoint": "checkpoint.pt", "oof": None}
MANIFEST_NAME = "manifest.json"
# The largest square input a model may ask for. Inference batches 8 images at
# this size (a dynamic-size ONNX takes whatever the manifest says): 4096 px took
# 2.5 GB for 8 small images; 1024 px is ~16x less and twice what CLML trains at.
MIN_INPUT_SIZE, MAX_INPUT_SIZE = 8, 1024


class ManifestError(ValueError):
    """A manifest that is missing, unreadable or breaks ADR 0002; the message names the file."""


def new_model_id() -> str:
    """A model id that sorts by creation time and never collides: UTC stamp + random suffix."""
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]


def utc_now_iso() -> str:
    """The `created` timestamp: ISO-8601 in UTC, seconds precision."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


@dataclass
class Manifest:
    """The fields of ADR 0002, in output order for `tags`."""

    id: str
    tags: list[str]
    architecture: str
    input_size: int
    embedding_dim: int
    mean: list[float] = field(default_factory=lambda: list(IMAGENET_MEAN))
    std: list[float] = field(default_factory=lambda: list(IMAGENET_STD))
    resize: str = "squash"
    thresholds: dict[str, float] = field(default_factory=dict)
    # P(tagged) -> P(true) for untagged pairs, a piecewise-linear map (training.calibration)
    calibration: dict[str, Any] | None = None
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    parent: str | None = None
    created: str = field(default_factory=utc_now_iso)
    files: dict[str, str | None] = field(default_factory=lambda: dict(DEFAULT_FILES))
    format: int = FORMAT

    def to_dict(self) -> dict[str, Any]:
        """The JSON object, `format` first so a reader sees it at a glance."""
        data = asdict(self)
        return {"format": data.pop("format"), **data}

    @classmethod
    def from_dict(cls, data: Any, source: str = "manifest") -> Manifest:
        """Build and validate from parsed JSON; ManifestError names `source` and the field."""
        if not isinstance(data, dict):
            raise ManifestError(f"{source}: the manifest must be a JSON object")
        known = {f for f in cls.__dataclass_fields__}
        missing = [
            k
            for k in ("format", "id", "tags", "architecture", "input_size", "embedding_dim")
            if k not in data
        ]
        if missing:
            raise ManifestError(f"{source}: missing field(s) {', '.join(missing)}")
        manifest = cls(**{k: v for k, v in data.items() if k in known})
        manifest.validate(source)
        return manifest

    @classmethod
    def read(cls, path: Path) -> Manifest:
        """Read `path` (a manifest.json or a model folder holding one)."""
        path = Path(path)
        if path.is_dir():
            path = path / MANIFEST_NAME
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise ManifestError(f"{path}: missing") from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise ManifestError(f"{path}: unreadable ({exc})") from exc
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ManifestError(f"{path}: not valid JSON ({exc})") from exc
        return cls.from_dict(data, str(path))

    def write(self, path: Path) -> Path:
        """Validate, then write atomically; `path` is a file or a model folder. Returns the file."""
        path = Path(path)
        if path.is_dir():
            path = path / MANIFEST_NAME
        self.validate(str(path))
        text = json.dumps(_finite(self.to_dict()), indent=2, ensure_ascii=False, allow_nan=False)
        atomic_write_text(path, text + "\n")
        return path

    def validate(self, source: str = "manifest") -> None:
        """Raise ManifestError for anything that would make the model unusable or ambiguous."""

        def bad(name: str, why: str) -> ManifestError:
            return ManifestError(f"{source}: field {name!r} {why}")

        if self.format != FORMAT:
            raise bad("format", f"is {self.format!r}; this version reads format {FORMAT}")
        if not isinstance(self.id, str) or not self.id.strip():
            raise bad("id", "must be a non-empty string")
        if not isinstance(self.tags, list) or not self.tags:
            raise bad("tags", "must be a non-empty list of tag names")
        if not all(isinstance(t, str) and t.strip() for t in self.tags):
            raise bad("tags", "must hold non-empty strings only")
        for tag in self.tags:  # the store's rule (clml_contract.tagnames), exactly
            try:
                cleaned = clean_tag_name(tag)
            except TagNameError as exc:
                raise bad("tags", f"holds a name the collection cannot store: {exc}") from exc
            if cleaned != tag:
                raise bad("tags", f"holds {tag!r}, with space around it; write {cleaned!r}")
        if len(set(self.tags)) != len(self.tags):
            dupes = sorted({t for t in self.tags if self.tags.count(t) > 1})
            raise bad("tags", f"has duplicates: {', '.join(dupes)}")
        if not isinstance(self.architecture, str) or not self.architecture:
            raise bad("architecture", "must be a non-empty string")
        if not _is_int(self.input_size) or not MIN_INPUT_SIZE <= self.input_size <= MAX_INPUT_SIZE:
            raise bad(
                "input_size",
                f"must be an integer in {MIN_INPUT_SIZE}..{MAX_INPUT_SIZE} pixels, got "
                f"{self.input_size!r} (larger inputs need gigabytes of memory per batch)",
            )
        if not _is_int(self.embedding_dim) or self.embedding_dim < 1:
            raise bad("embedding_dim", f"must be a positive integer, got {self.embedding_dim!r}")
        for name in ("mean", "std"):
            value = getattr(self, name)
            if (
                not isinstance(value, list)
                or len(value) != 3
                or not all(_is_finite(v) for v in value)
            ):
                raise bad(name, "must be a list of 3 finite numbers")
        if not all(v > 0 for v in self.std):
            raise bad("std", "must be positive")
        if self.resize not in RESIZE_MODES:
            raise bad("resize", f"is {self.resize!r}; supported: {', '.join(RESIZE_MODES)}")
        if not isinstance(self.thresholds, dict):
            raise bad("thresholds", "must be an object mapping tag to threshold")
        for tag, value in self.thresholds.items():
            if tag not in self.tags:
                raise bad("thresholds", f"names {tag!r}, which is not one of the model's tags")
            if not _is_finite(value) or not 0.0 <= value <= 1.0:
                raise bad("thresholds", f"for {tag!r} must be a number in [0, 1], got {value!r}")
        if self.calibration is not None:
            _check_calibration(self.calibration, bad)
        for name in ("training", "metrics"):
            if not isinstance(getattr(self, name), dict):
                raise bad(name, "must be an object")
        if self.parent is not None and (not isinstance(self.parent, str) or not self.parent):
            raise bad("parent", "must be a model id or null")
        if not isinstance(self.created, str):
            raise bad("created", "must be an ISO-8601 string")
        try:
            datetime.fromisoformat(self.created)
        except ValueError as exc:
            raise bad("created", f"is not ISO-8601: {self.created!r}") from exc
        if not isinstance(self.files, dict) or not isinstance(self.files.get("onnx"), str):
            raise bad("files", "must be an object with at least an 'onnx' file name")
        for key, name in self.files.items():
            if name is None:
                continue
            if (
                not isinstance(name, str)
                or not name
                or "/" in name
                or "\\" in name
                or name in (".", "..")
            ):
                raise bad(
                    "files",
                    f"entry {key!r} must be a plain file name inside the model folder, got {name!r}",
                )


def _finite(value: Any) -> Any:
    """JSON has no NaN/Infinity: a metric that could not be computed is written as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check_calibration(value: Any, bad) -> None:
    """A map the app can apply blindly: equal-length numeric lists in [0, 1], raw increasing."""
    if not isinstance(value, dict):
        raise bad("calibration", "must be an object or null")
    raw, out = value.get("raw"), value.get("calibrated")
    if not isinstance(raw, list) or not isinstance(out, list) or len(raw) != len(out) or len(raw) < 2:
        raise bad("calibration", "needs 'raw' and 'calibrated' lists of the same length (2 or more)")
    if not all(_is_finite(v) and 0.0 <= v <= 1.0 for v in (*raw, *out)):
        raise bad("calibration", "values must be numbers in [0, 1]")
    if any(b <= a for a, b in pairwise(raw)):
        raise bad("calibration", "'raw' must be strictly increasing")
    if any(b < a for a, b in pairwise(out)):
        raise bad("calibration", "'calibrated' must never decrease")

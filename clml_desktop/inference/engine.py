"""The ONNX model of a model folder, ready to score batches.

Loading checks everything a model folder from the user's disk can get wrong
(no manifest, a malformed one, no ONNX file, an ONNX file whose inputs or
outputs disagree with the manifest) and raises `ModelLoadError` with the file
and the problem, so the GUI can show it and go on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import onnxruntime as ort

from clml_contract.manifest import Manifest, ManifestError
from clml_contract.preprocess import Normalizer
from clml_desktop.inference import cpu_share, optimized_cache, providers
from clml_desktop.inference.errors import ModelLoadError, TagMismatchError

if TYPE_CHECKING:  # type-only, so importing this module never opens a cycle
    from clml_desktop.collection.store import CollectionStore

log = logging.getLogger(__name__)

INPUT = "images"
LOGITS = "logits"
EMBEDDING = "embedding"


def read_manifest(model_dir: Path) -> Manifest:
    """The folder's manifest.json, validated (ADR 0002), or ModelLoadError naming it."""
    path = Path(model_dir) / "manifest.json"
    if not Path(model_dir).is_dir():
        raise ModelLoadError(f"{model_dir}: not a model folder (it does not exist)")
    if not path.is_file():
        raise ModelLoadError(
            f"{path}: missing; a model folder needs manifest.json beside model.onnx"
        )
    try:
        manifest = Manifest.read(path)
    except (ManifestError, TypeError) as exc:
        raise ModelLoadError(str(exc) if str(path) in str(exc) else f"{path}: {exc}") from exc
    return manifest


def model_dir_of(store: CollectionStore, row) -> Path:
    """Where a registered model's folder is now: its stored path, or — when the
    collection folder was moved or renamed — the same id under the store's models/."""
    stored = Path(row.path)
    if stored.is_dir():
        return stored
    moved = Path(store.data_dir) / "models" / row.id
    return moved if moved.is_dir() else stored


@dataclass(frozen=True)
class Outputs:
    """One batch's results: probabilities (sigmoid of logits) and float32 embeddings."""

    probs: np.ndarray
    embeddings: np.ndarray


def _open(onnx_path: Path, opts: ort.SessionOptions, wanted: list[str]) -> ort.InferenceSession:
    try:
        return optimized_cache.open_session(onnx_path, opts, wanted)
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
        raise ModelLoadError(f"{onnx_path}: onnxruntime cannot load it: {exc}") from exc


class Engine:
    """An onnxruntime session plus the manifest that says how to feed it."""

    def __init__(
        self,
        model_dir: Path,
        manifest: Manifest,
        session: ort.InferenceSession,
        choice: providers.ProviderChoice,
    ) -> None:
        self.model_dir = Path(model_dir)
        self.manifest = manifest
        self.session = session
        self.provider = choice
        self.normalizer = Normalizer(manifest.mean, manifest.std)
        self._load_rule: tuple[Path, bool] | None = None  # (onnx file, spinning now)

    @classmethod
    def load(cls, model_dir: Path | str, device: str = "auto", spin: bool | None = None) -> Engine:
        """Open a model folder on the best provider `device` allows; see providers.py.

        `spin`: whether CPU threads busy-wait between operators; None decides
        from how busy the machine is now (`cpu_share.spinning`).
        """
        model_dir = Path(model_dir)
        manifest = read_manifest(model_dir)
        # The manifest's validation allows only a plain file name, so this stays inside.
        onnx_path = model_dir / ((manifest.files or {}).get("onnx") or "model.onnx")
        if not onnx_path.is_file():
            raise ModelLoadError(
                f"{onnx_path}: missing; the manifest names it as the model's ONNX file"
            )
        wanted, reason = providers.plan_providers(device)
        on_cpu = wanted == [providers.CPU]
        follows_load = on_cpu and spin is None and cpu_share.forced() is None
        if on_cpu and spin is None:
            spin, why = cpu_share.spinning()
            log.info("CPU threads %s: %s", "spin" if spin else "sleep", why)
        session = _open(onnx_path, providers.session_options(on_cpu=on_cpu, spin=bool(spin)), wanted)
        choice = providers.resolve(device, reason, session)
        engine = cls(model_dir, manifest, session, choice)
        engine._check_signature(onnx_path)
        if follows_load and not choice.on_gpu:
            engine._load_rule = (onnx_path, bool(spin))
        return engine

    @property
    def follows_load(self) -> bool:
        """Whether `follow_load` may switch spinning (a CPU session whose spinning nobody forced)."""
        return self._load_rule is not None

    def follow_load(self, busy: float | None) -> bool:
        """Reopen the CPU session with threads spinning or sleeping, as other processes'
        CPU use `busy` (cores, from `cpu_share.LoadWatch`) now calls for; True when it did.

        Call it between runs: the session in use is replaced. A session that
        cannot be reopened keeps the one it has.
        """
        if self._load_rule is None or busy is None:
            return False
        onnx_path, spinning = self._load_rule
        spin, why = cpu_share.spin_for(busy)
        if spin == spinning:
            return False
        try:
            self.session = _open(
                onnx_path, providers.session_options(on_cpu=True, spin=spin), [providers.CPU]
            )
        except ModelLoadError as exc:
            log.warning("kept the CPU session as it was: %s", exc)
            return False
        self._load_rule = (onnx_path, spin)
        log.info("CPU threads now %s: %s", "spin" if spin else "sleep", why)
        return True

    @property
    def model_id(self) -> str:
        return self.manifest.id

    @property
    def tags(self) -> list[str]:
        return list(self.manifest.tags)

    @property
    def input_size(self) -> int:
        return int(self.manifest.input_size)

    def batch_size(self) -> int:
        """Images per run: large on a GPU (fills it), small on a CPU (the speed is flat
        there beyond a few images, and small batches keep progress and cancel prompt)."""
        if self.provider.on_gpu:
            return 64 if self.input_size <= 256 else 32
        return 8 if self.input_size <= 256 else 4

    def _check_signature(self, onnx_path: Path) -> None:
        inputs = {i.name: i for i in self.session.get_inputs()}
        outputs = {o.name: o for o in self.session.get_outputs()}
        if INPUT not in inputs:
            raise ModelLoadError(f"{onnx_path}: no input named {INPUT!r} (has {sorted(inputs)})")
        missing = [n for n in (LOGITS, EMBEDDING) if n not in outputs]
        if missing:
            raise ModelLoadError(
                f"{onnx_path}: no output named {', '.join(map(repr, missing))} (has {sorted(outputs)})"
            )
        shape = inputs[INPUT].shape
        if len(shape) != 4 or (isinstance(shape[1], int) and shape[1] != 3):
            raise ModelLoadError(
                f"{onnx_path}: input {INPUT!r} has shape {shape}, expected N×3×S×S"
            )
        for axis in (2, 3):
            if isinstance(shape[axis], int) and shape[axis] != self.input_size:
                raise ModelLoadError(
                    f"{onnx_path}: input is {shape[axis]} px but the manifest says input_size={self.input_size}"
                )
        classes = outputs[LOGITS].shape[-1]
        if isinstance(classes, int) and classes != len(self.manifest.tags):
            raise TagMismatchError(
                f"{onnx_path}: the model has {classes} outputs but its manifest lists "
                f"{len(self.manifest.tags)} tags"
            )
        dim = outputs[EMBEDDING].shape[-1]
        expected_dim = getattr(self.manifest, "embedding_dim", None)
        if isinstance(dim, int) and expected_dim and dim != int(expected_dim):
            raise ModelLoadError(
                f"{onnx_path}: the embedding has {dim} dimensions but the manifest says {expected_dim}"
            )

    def run(self, batch: np.ndarray) -> Outputs:
        """Score an N×3×S×S float32 batch; a wrong output shape is a TagMismatchError."""
        logits, embedding = self.session.run([LOGITS, EMBEDDING], {INPUT: batch})
        if logits.shape != (batch.shape[0], len(self.manifest.tags)):
            raise TagMismatchError(
                f"{self.model_dir / 'model.onnx'}: produced logits of shape {logits.shape}, "
                f"expected ({batch.shape[0]}, {len(self.manifest.tags)}) from the manifest"
            )
        probs = sigmoid(logits.astype(np.float32, copy=False))
        return Outputs(probs=probs, embeddings=embedding.astype(np.float32, copy=False))


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Numerically stable logistic function (no overflow warnings at ±1e4)."""
    out = np.empty_like(x, dtype=np.float32)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    ex = np.exp(x[~pos])
    out[~pos] = ex / (1.0 + ex)
    return out

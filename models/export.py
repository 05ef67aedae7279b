"""ONNX export that proves itself: checker, then onnxruntime against torch.

The app runs only the ONNX file, so an export that silently differs from the
trained network would turn every suggestion wrong. Each export is therefore
checked on real images: max |ort − torch| / max(1, max |torch|) ≤ 1e-4 for
both outputs, or it raises. A network with random weights has BatchNorm
statistics that blow activations up (logits reach 1e5) and make that
comparison meaningless, so `calibrate_batchnorm` gives it sane statistics first.
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import Tensor, nn

OPSET = 17
INPUT_NAME = "images"
OUTPUT_NAMES = ("logits", "embedding")
TOLERANCE = 1e-4


class ExportError(RuntimeError):
    """The ONNX file is invalid or does not reproduce the torch network."""


@torch.no_grad()
def calibrate_batchnorm(model: nn.Module, images: Tensor, batch_size: int = 16) -> None:
    """Recompute every BatchNorm's running mean/var from `images` (a cumulative average).

    Runs the forward passes in train mode with momentum=None, then restores
    each layer's momentum and the model's mode. Only the statistics change.
    """
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms or images.shape[0] == 0:
        return
    was_training = model.training
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
    model.train()
    try:
        for start in range(0, images.shape[0], batch_size):
            chunk = images[start : start + batch_size]
            if chunk.shape[0] < 2 and start > 0:
                break
            model(chunk)
    finally:
        for m, momentum in zip(norms, momenta, strict=True):
            m.momentum = momentum
        model.train(was_training)


def cpu_copy(model: nn.Module) -> nn.Module:
    """A float32, CPU, contiguous-format eval copy: export and compare without TF32 or AMP noise."""
    clone = copy.deepcopy(model).float().cpu().to(memory_format=torch.contiguous_format)
    return clone.eval()


def export_onnx(
    model: nn.Module, path: Path, image_size: int, verify_images: Tensor | None = None
) -> Parity | None:
    """Write `model` (forward -> logits, embedding) to `path` as ONNX and check it.

    Input `images` N×3×S×S float32 with dynamic N; outputs `logits`, `embedding`;
    opset 17. With `verify_images`, onnxruntime must match torch within 1e-4
    relative (see `verify_onnx`); returns the measured Parity (None without images).
    """
    path = Path(path)
    net = cpu_copy(model)
    dummy = torch.zeros(2, 3, int(image_size), int(image_size))
    dynamic = {INPUT_NAME: {0: "N"}, **{name: {0: "N"} for name in OUTPUT_NAMES}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter's deprecation notice is not for users
        torch.onnx.export(
            net,
            (dummy,),
            str(path),
            input_names=[INPUT_NAME],
            output_names=list(OUTPUT_NAMES),
            dynamic_axes=dynamic,
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )
    try:
        onnx.checker.check_model(str(path), full_check=True)
    except onnx.checker.ValidationError as exc:
        raise ExportError(f"{path}: onnx.checker rejected the export ({exc})") from exc
    if verify_images is None:
        return None
    return verify_onnx(path, net, verify_images)


@dataclass(frozen=True)
class Parity:
    """How closely onnxruntime reproduces torch: the measured error and how it was judged."""

    rel_err: float  # max |ort − torch| / max(1, max |torch|) over both outputs
    float32_floor: float | None = None  # torch float32's own error vs float64, when it was needed

    @property
    def judged_by_float64(self) -> bool:
        return self.float32_floor is not None


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)) / max(1.0, float(np.max(np.abs(b)))))


@torch.no_grad()
def verify_onnx(
    path: Path, model: nn.Module, images: Tensor, tolerance: float = TOLERANCE
) -> Parity:
    """Run `path` in onnxruntime (CPU) and `model` in torch on `images`; raise if they differ.

    The limit is `tolerance` relative. A network can be so ill-conditioned (a
    deep ResNet with random weights) that torch float32 itself is further than
    that from the exact result; then float64 torch is the referee: the export
    passes when onnxruntime is no further from float64 than twice torch
    float32's own error, since no float32 runtime could do better.
    """
    import onnxruntime as ort

    net = cpu_copy(model)
    x = images.detach().float().cpu().contiguous()
    expected = [t.numpy() for t in net(x)]
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    got = session.run(list(OUTPUT_NAMES), {INPUT_NAME: x.numpy()})
    errors = {}
    for name, a, b in zip(OUTPUT_NAMES, expected, got, strict=True):
        if a.shape != b.shape:
            raise ExportError(
                f"{path}: output {name} has shape {b.shape} in onnxruntime, {a.shape} in torch"
            )
        if not np.isfinite(a).all():
            raise ExportError(
                f"{path}: torch output {name} is not finite; calibrate BatchNorm first"
            )
        errors[name] = _rel(b, a)
    worst = max(errors.values())
    if worst <= tolerance:
        return Parity(worst)
    exact = [t.numpy() for t in net.double()(x.double())]
    floor = max(_rel(a.astype(np.float64), e) for a, e in zip(expected, exact, strict=True))
    ort_vs_exact = {
        n: _rel(b.astype(np.float64), e) for n, b, e in zip(OUTPUT_NAMES, got, exact, strict=True)
    }
    name = max(ort_vs_exact, key=ort_vs_exact.get)
    if ort_vs_exact[name] <= max(tolerance, 2.0 * floor):
        return Parity(worst, float32_floor=floor)
    raise ExportError(
        f"{path}: onnxruntime {name} differs from torch by {errors[name]:.2e} relative (limit {tolerance:.0e}; "
        f"torch float32 itself is within {floor:.1e} of float64, onnxruntime {ort_vs_exact[name]:.1e})"
    )

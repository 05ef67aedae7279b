"""Which onnxruntime execution provider runs, and why not CUDA when it doesn't.

"The GPU is not used" is the most common complaint about peer tools, and
onnxruntime makes it easy to get wrong: when the CUDA provider cannot load
(no driver, a missing cuBLAS/cuDNN library) it logs to stderr and silently
runs on the CPU. So we (1) find out beforehand whether CUDA can work and
collect the exact reason when it can't, by loading the driver and the
provider library ourselves with ctypes, whose OSError names the missing
library; and (2) after creating the session, trust only
`session.get_providers()`.
"""

from __future__ import annotations

import ctypes
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import onnxruntime as ort

from clml_desktop.inference import cuda_libraries

log = logging.getLogger(__name__)

DEVICES = ("auto", "cuda", "cpu")
CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"


@dataclass(frozen=True)
class ProviderChoice:
    """What was asked for, what runs, and (when CUDA does not run) why."""

    requested: str
    provider: str
    reason: str | None = None

    @property
    def on_gpu(self) -> bool:
        return self.provider == CUDA

    @property
    def fell_back(self) -> bool:
        """True when CUDA was asked for explicitly but the CPU runs."""
        return self.requested == "cuda" and not self.on_gpu

    def status(self) -> str:
        """One line for the GUI's status bar and the CLI's log."""
        name = "CUDA GPU" if self.on_gpu else "CPU"
        text = f"onnxruntime on {name} ({self.provider})"
        if self.reason:
            text += f" — CUDA not used: {self.reason}"
        return text


# PyInstaller's ctypes hook appends this to every failed load in the bundle; the driver
# and CUDA libraries are the user's system's, never the bundle's, so it only misleads.
_FROZEN_HINT = "Most likely this dynlib/dll was not found when the application was frozen."


def _load_error(exc: OSError) -> str:
    return " ".join(str(exc).replace(_FROZEN_HINT, "").split())


def cuda_problem() -> str | None:
    """Why the CUDA provider cannot run here, or None when it should.

    Checks, in order: the onnxruntime build, the NVIDIA driver, and the
    provider library with its CUDA/cuDNN dependencies (after letting
    onnxruntime preload the ones pip installed with torch or nvidia-* wheels).
    """
    if CUDA not in ort.get_available_providers():
        return (
            f"this onnxruntime {ort.__version__} build has no CUDA provider "
            "(install onnxruntime-gpu instead of onnxruntime)"
        )
    try:
        ctypes.CDLL("libcuda.so.1" if os.name != "nt" else "nvcuda.dll")
    except OSError as exc:
        return f"no NVIDIA driver found ({_load_error(exc)})"
    preload = getattr(ort, "preload_dlls", None)
    if preload is not None:
        try:
            preload(cuda=True, cudnn=True, msvc=False)
        except Exception as exc:  # a preload failure is a diagnosis, not a crash
            log.debug("onnxruntime.preload_dlls failed: %s", exc)
    lib = (
        "onnxruntime_providers_cuda.dll" if os.name == "nt" else "libonnxruntime_providers_cuda.so"
    )
    provider_lib = Path(ort.__file__).parent / "capi" / lib
    if provider_lib.exists():
        try:
            ctypes.CDLL(str(provider_lib))
        except OSError as exc:
            return _load_with_trainer_libraries(provider_lib, exc)
    return None


def _cuda_major() -> int | None:
    """The CUDA major version this onnxruntime build was made for (13 for CUDA 13.0)."""
    try:
        from onnxruntime.capi import build_and_package_info as info

        return int(str(info.cuda_version).split(".")[0])
    except (ImportError, AttributeError, ValueError):
        return None


def _load_with_trainer_libraries(provider_lib: Path, first: OSError) -> str | None:
    """The provider lacks CUDA libraries here: load them from a trainer environment's
    PyTorch (a review-only install, the bundle) and try once more. The reason, or None."""
    major = _cuda_major()
    loaded = cuda_libraries.preload_from_trainer_environments(major) if major else []
    if loaded:
        try:
            ctypes.CDLL(str(provider_lib))
        except OSError as exc:
            return (f"the CUDA provider cannot load a CUDA/cuDNN library ({_load_error(exc)}), "
                    f"also after loading {len(loaded)} from a trainer environment")
        log.info("CUDA provider: loaded %d CUDA libraries from a trainer environment: %s",
                 len(loaded), ", ".join(path.name for path in loaded))
        return None
    return (f"the CUDA provider cannot load a CUDA/cuDNN library ({_load_error(first)}); "
            f"none found in a trainer environment either (PyTorch's CUDA {major or '?'} "
            "packages there would serve)")


def plan_providers(device: str) -> tuple[list[str], str | None]:
    """The provider list to ask onnxruntime for, and why CUDA is left out (if it is)."""
    if device not in DEVICES:
        raise ValueError(f"device must be one of {', '.join(DEVICES)}, not {device!r}")
    if device == "cpu":
        return [CPU], "the CPU was asked for (--device cpu)"
    problem = cuda_problem()
    if problem is not None:
        return [CPU], problem
    return [CUDA, CPU], None


def resolve(
    requested: str, planned_reason: str | None, session: ort.InferenceSession
) -> ProviderChoice:
    """What really runs, from `session.get_providers()`; logs a fallback loudly."""
    active = session.get_providers()
    provider = active[0] if active else CPU
    reason = planned_reason
    if provider != CUDA and reason is None:
        reason = (
            "onnxruntime did not start the CUDA provider although the driver and "
            "libraries load (no visible GPU, or GPU memory exhausted?)"
        )
    if provider == CUDA:
        reason = None
    choice = ProviderChoice(requested=requested, provider=provider, reason=reason)
    if choice.fell_back:
        log.warning("CUDA was requested but the CPU runs: %s", reason)
    else:
        log.info("%s", choice.status())
    return choice


def cpu_threads() -> int:
    """Threads for the CPU provider: the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def session_options(on_cpu: bool, spin: bool = False) -> ort.SessionOptions:
    """Our session options: full graph optimisation, one intra-op pool sized to the cores.

    ENABLE_ALL includes the NCHWc layout transform, which turns every Conv of a
    ResNet (with its BatchNorm, Add and ReLU fused in) into a blocked-layout
    kernel. Sequential execution and no inter-op pool: a ResNet is a chain, so a
    second pool only competes with the first for the same cores. Pool threads
    spin between operators only when `spin` says the cores are ours alone
    (`cpu_share.spinning`): spinning is faster on an idle machine and much
    slower on a busy one (ADR 0016).
    """
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.log_severity_level = 3
    if on_cpu:
        opts.intra_op_num_threads = cpu_threads()
        opts.inter_op_num_threads = 1
        opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    return opts

"""CUDA libraries for the onnxruntime CUDA provider from a trainer environment (ADR 0024).

The CUDA provider needs the CUDA runtime, cuBLAS, cuRAND, cuFFT and cuDNN of
its CUDA major version. A full install gets them with PyTorch's `nvidia-*`
packages in the same environment (onnxruntime's own `preload_dlls` finds
them). A review-only install and the standalone bundle have none of their own,
and most desktops have the NVIDIA driver but no CUDA toolkit; the trainer
environment such a person made for training does have them. So when the
provider cannot load, we look in the `nvidia/*/lib` folders of the trainer
Pythons (`trainer_places`) and load what it needs, in dependency order, before
trying again. Nothing is downloaded or copied.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
from collections.abc import Iterable
from pathlib import Path

from clml_desktop import trainer_places

log = logging.getLogger(__name__)

# The provider's CUDA libraries in the order they depend on each other. Those marked
# True carry the CUDA major version in their soname (libcudart.so.13); the others
# have versions of their own (libcurand.so.10, libcufft.so.12, libcudnn.so.9).
LIBRARIES: tuple[tuple[str, bool], ...] = (
    ("cudart", True),
    ("cublasLt", True),
    ("cublas", True),
    ("nvrtc", True),
    ("curand", False),
    ("cufft", False),
    ("cudnn", False),
)


def environment_pythons() -> list[Path]:
    """The trainer Pythons a person chose or made at the documented places."""
    found: list[Path] = []
    chosen = os.environ.get(trainer_places.PYTHON_ENV, "").strip() or trainer_places.saved_python()
    if chosen:
        found.append(Path(chosen))
    documented = trainer_places.venv_python(trainer_places.default_trainer_venv())
    if documented.exists():
        found.append(documented)
    return found + trainer_places.pipx_pythons()


def library_dirs(python: Path) -> list[Path]:
    """The `nvidia/*/lib` folders of the environment `python` belongs to (venv and conda
    layout: <env>/bin/python, <env>/lib/python3.X/site-packages)."""
    env = Path(python).absolute().parent.parent
    return sorted(env.glob("lib/python3*/site-packages/nvidia/*/lib"))


def libraries_to_load(dirs: Iterable[Path], cuda_major: int) -> list[Path]:
    """For each library the provider needs, its first file in `dirs`, in load order."""
    dirs = list(dirs)
    chosen: list[Path] = []
    for name, with_cuda_major in LIBRARIES:
        for folder in dirs:
            if with_cuda_major:
                matches = [folder / f"lib{name}.so.{cuda_major}"]
            else:
                matches = sorted(folder.glob(f"lib{name}.so.[0-9]*"))
            hit = next((path for path in matches if path.is_file()), None)
            if hit is not None:
                chosen.append(hit)
                break
    return chosen


def preload(paths: Iterable[Path]) -> list[Path]:
    """Load `paths` into the process, globally, so the provider finds them by soname;
    the ones that loaded. A library that does not load is skipped (logged)."""
    loaded: list[Path] = []
    for path in paths:
        try:
            ctypes.CDLL(str(path), mode=ctypes.RTLD_GLOBAL)
        except OSError as exc:
            log.debug("not loaded: %s (%s)", path, exc)
            continue
        loaded.append(path)
    return loaded


def preload_from_trainer_environments(cuda_major: int) -> list[Path]:
    """Load the provider's CUDA libraries from the trainer environments; what loaded.
    Linux only (Windows finds DLLs differently and onnxruntime handles its own there)."""
    if not sys.platform.startswith("linux"):
        return []
    dirs = [folder for python in environment_pythons() for folder in library_dirs(python)]
    return preload(libraries_to_load(dirs, cuda_major)) if dirs else []

"""The CUDA provider's libraries from a trainer environment (ADR 0024): a review-only
install or the bundle has no CUDA libraries of its own, the trainer environment's
PyTorch does. Which files are picked, in which order, and that loading them really
satisfies the provider (everything but the driver, which this machine lacks)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from clml_desktop import trainer_places
from clml_desktop.inference import cuda_libraries, providers


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def fake_env(root: Path) -> Path:
    """A venv whose site-packages holds PyTorch's nvidia packages (CUDA 13 layout)."""
    site = root / "lib" / "python3.12" / "site-packages" / "nvidia"
    for name in ("libcudart.so.13", "libcudart.so.12", "libcublasLt.so.13", "libcublas.so.13",
                 "libnvrtc.so.13", "libnvrtc-builtins.so.13.0", "libcurand.so.10", "libcufft.so.12"):
        touch(site / "cu13" / "lib" / name)
    for name in ("libcudnn.so.9", "libcudnn_adv.so.9", "libcudnn_ops.so.9"):
        touch(site / "cudnn" / "lib" / name)
    return touch(root / "bin" / "python")


def test_the_provider_libraries_are_picked_in_dependency_order_for_the_cuda_major(tmp_path):
    python = fake_env(tmp_path / "trainer")
    dirs = cuda_libraries.library_dirs(python)
    assert [d.parent.name for d in dirs] == ["cu13", "cudnn"]
    names = [p.name for p in cuda_libraries.libraries_to_load(dirs, 13)]
    assert names == ["libcudart.so.13", "libcublasLt.so.13", "libcublas.so.13", "libnvrtc.so.13",
                     "libcurand.so.10", "libcufft.so.12", "libcudnn.so.9"]
    assert [p.name for p in cuda_libraries.libraries_to_load(dirs, 12)][:1] == ["libcudart.so.12"]


def test_the_trainer_pythons_are_the_chosen_one_and_the_documented_places(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv(trainer_places.PYTHON_ENV, raising=False)
    assert cuda_libraries.environment_pythons() == []
    documented = touch(trainer_places.venv_python(trainer_places.default_trainer_venv()))
    pipx = touch(trainer_places.venv_python(tmp_path / "home/.local/share/pipx/venvs/clml-desktop"))
    monkeypatch.setenv(trainer_places.PYTHON_ENV, "/opt/conda/envs/torch/bin/python")
    assert cuda_libraries.environment_pythons() == [
        Path("/opt/conda/envs/torch/bin/python"), documented, pipx]


def test_a_provider_that_cannot_load_tries_the_trainer_environments_libraries(monkeypatch):
    if providers.CUDA not in providers.ort.get_available_providers():
        pytest.skip("this onnxruntime build has no CUDA provider")
    attempts = []

    def fake_cdll(name, *args, **kwargs):
        attempts.append(Path(name).name)
        if "providers_cuda" in name and attempts.count(Path(name).name) == 1:
            raise OSError("libcublasLt.so.13: cannot open shared object file")
        return object()

    monkeypatch.setattr(providers.ctypes, "CDLL", fake_cdll)
    monkeypatch.setattr(providers.ort, "preload_dlls", lambda **kwargs: None)
    monkeypatch.setattr(cuda_libraries, "preload_from_trainer_environments",
                        lambda major: [Path(f"/trainer/libcudart.so.{major}")])
    assert providers.cuda_problem() is None
    assert attempts.count("libonnxruntime_providers_cuda.so") == 2

    attempts.clear()
    monkeypatch.setattr(cuda_libraries, "preload_from_trainer_environments", lambda major: [])
    reason = providers.cuda_problem()
    assert "libcublasLt.so.13" in reason and "none found in a trainer environment" in reason


def test_loading_a_real_environments_libraries_leaves_only_the_driver_missing():
    """This machine's .venv holds PyTorch's CUDA packages but no NVIDIA driver: loading
    its libraries the way the bundle would turns the provider's first missing library
    from a CUDA one into the driver (or lets it load, where a driver exists)."""
    import onnxruntime

    provider = Path(onnxruntime.__file__).parent / "capi" / "libonnxruntime_providers_cuda.so"
    dirs = cuda_libraries.library_dirs(Path(sys.executable))
    if not provider.exists() or not dirs:
        pytest.skip("needs onnxruntime-gpu and PyTorch's nvidia packages in this environment")
    code = (
        "import ctypes, sys\n"
        "from pathlib import Path\n"
        "from clml_desktop.inference import cuda_libraries, providers\n"
        "def attempt():\n"
        "    try:\n"
        f"        ctypes.CDLL({str(provider)!r}); return 'loaded'\n"
        "    except OSError as exc: return str(exc).split(':')[0]\n"
        "before = attempt()\n"
        "paths = cuda_libraries.libraries_to_load(cuda_libraries.library_dirs(Path(sys.executable)),"
        " providers._cuda_major())\n"
        "loaded = cuda_libraries.preload(paths)\n"
        "print(before, len(paths), len(loaded), attempt())\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    before, wanted, loaded, after = done.stdout.split()
    assert int(loaded) == int(wanted) == 7
    assert after in ("loaded", "libcuda.so.1"), done.stdout
    assert before != after

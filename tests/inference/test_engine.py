"""Loading a model folder: clear typed errors for bad input, and honest provider reports."""

from __future__ import annotations

import json
import shutil

import numpy as np
import onnxruntime as ort
import pytest

from clml_desktop.inference import providers
from clml_desktop.inference.engine import Engine, sigmoid
from clml_desktop.inference.errors import InferenceError, ModelLoadError, TagMismatchError

from .conftest import SIZE


@pytest.fixture
def model_copy(model_kit, tmp_path):
    target = tmp_path / "model"
    shutil.copytree(model_kit.dir, target)
    return target


def _edit_manifest(folder, **changes):
    path = folder / "manifest.json"
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


def test_loads_and_scores(model_kit):
    engine = Engine.load(model_kit.dir, device="cpu")
    out = engine.run(np.zeros((3, 3, SIZE, SIZE), np.float32))
    assert out.probs.shape == (3, 5) and out.embeddings.shape == (3, 512)
    assert np.all((out.probs > 0) & (out.probs < 1))
    assert engine.provider.provider == providers.CPU
    assert "CPU" in engine.provider.status() and "--device cpu" in engine.provider.status()


def test_missing_folder(tmp_path):
    with pytest.raises(ModelLoadError, match="does not exist"):
        Engine.load(tmp_path / "nowhere")


def test_missing_manifest(model_copy):
    (model_copy / "manifest.json").unlink()
    with pytest.raises(ModelLoadError, match="manifest.json: missing"):
        Engine.load(model_copy)


def test_malformed_manifest_json(model_copy):
    (model_copy / "manifest.json").write_text("{ not json")
    with pytest.raises(ModelLoadError, match="not valid JSON"):
        Engine.load(model_copy)


@pytest.mark.parametrize(
    "changes, words",
    [
        ({"tags": []}, "tags"),
        ({"input_size": "big"}, "input_size"),
        ({"mean": [0.5]}, "mean"),
        ({"resize": "crop"}, "resize"),
        ({"unexpected": 1, "format": 99}, "format"),
    ],
)
def test_invalid_manifest_fields(model_copy, changes, words):
    _edit_manifest(model_copy, **changes)
    with pytest.raises(ModelLoadError, match=words) as info:
        Engine.load(model_copy)
    assert "manifest.json" in str(info.value)


def test_missing_onnx(model_copy):
    (model_copy / "model.onnx").unlink()
    with pytest.raises(ModelLoadError, match=r"model\.onnx: missing"):
        Engine.load(model_copy)


def test_corrupt_onnx(model_copy):
    (model_copy / "model.onnx").write_bytes(b"\x00garbage" * 10)
    with pytest.raises(ModelLoadError, match="onnxruntime cannot load it"):
        Engine.load(model_copy)


def test_manifest_tags_disagree_with_outputs(model_copy):
    _edit_manifest(model_copy, tags=["a", "b", "c"], thresholds={})
    with pytest.raises(TagMismatchError, match="5 outputs but its manifest lists 3 tags"):
        Engine.load(model_copy)


def test_input_size_disagrees_with_manifest(model_copy):
    _edit_manifest(model_copy, input_size=64)
    engine_or_error = None
    try:
        engine_or_error = Engine.load(model_copy)
    except ModelLoadError as exc:
        engine_or_error = exc
    # The exported input has dynamic N but fixed S: a wrong size is caught at load time.
    assert isinstance(engine_or_error, ModelLoadError)
    assert "input_size=64" in str(engine_or_error)


def test_errors_are_one_family():
    assert issubclass(TagMismatchError, ModelLoadError) and issubclass(
        ModelLoadError, InferenceError
    )


def test_unknown_device_is_refused(model_kit):
    with pytest.raises(ValueError, match="auto, cuda, cpu"):
        Engine.load(model_kit.dir, device="tpu")


def test_cuda_request_falls_back_to_cpu_with_the_reason(model_kit, monkeypatch, caplog):
    monkeypatch.setattr(
        providers, "cuda_problem", lambda: "no NVIDIA driver found (libcuda.so.1: cannot open)"
    )
    engine = Engine.load(model_kit.dir, device="cuda")
    assert engine.provider.provider == providers.CPU
    assert engine.provider.fell_back
    assert "libcuda.so.1" in engine.provider.status()
    assert any("CUDA was requested" in r.getMessage() for r in caplog.records)


def test_silent_onnxruntime_fallback_is_detected():
    """onnxruntime drops CUDA without raising; only get_providers() tells the truth."""

    class FakeSession:
        def get_providers(self):
            return [providers.CPU]

    choice = providers.resolve("cuda", None, FakeSession())
    assert choice.fell_back and choice.reason and "did not start the CUDA provider" in choice.reason


def test_cuda_problem_names_the_cause_here():
    problem = providers.cuda_problem()
    if problem is None:
        pytest.skip("CUDA works on this machine")
    assert any(word in problem for word in ("driver", "library", "onnxruntime-gpu", "provider"))


def test_gpu_choice_reports_no_reason():
    class FakeSession:
        def get_providers(self):
            return [providers.CUDA, providers.CPU]

    choice = providers.resolve("auto", None, FakeSession())
    assert choice.on_gpu and choice.reason is None and "CUDA GPU" in choice.status()


def test_cpu_session_options_are_ours():
    """One pool of threads sized to the cores, full optimisation; spinning only when asked."""
    opts = providers.session_options(on_cpu=True)
    assert opts.intra_op_num_threads == providers.cpu_threads()
    assert opts.inter_op_num_threads == 1
    assert opts.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    assert opts.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    spinning = providers.session_options(on_cpu=True, spin=True)
    assert spinning.get_session_config_entry("session.intra_op.allow_spinning") == "1"


def test_sigmoid_is_stable_at_extremes():
    x = np.array([-1e4, -20, 0, 20, 1e4], np.float32)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = sigmoid(x)
    assert y[0] == 0.0 and y[2] == 0.5 and y[-1] == 1.0


@pytest.mark.gpu
def test_cuda_provider_runs_on_a_gpu(model_kit):
    if providers.cuda_problem() is not None:
        pytest.skip("no usable CUDA here")
    engine = Engine.load(model_kit.dir, device="cuda")
    assert engine.provider.on_gpu, engine.provider.status()
    cpu = Engine.load(model_kit.dir, device="cpu")
    batch = np.random.default_rng(0).standard_normal((4, 3, SIZE, SIZE)).astype(np.float32)
    assert np.allclose(engine.run(batch).probs, cpu.run(batch).probs, atol=1e-3)


def test_a_missing_driver_in_the_bundle_is_not_blamed_on_the_bundle(monkeypatch):
    """PyInstaller appends "not found when the application was frozen" to every failed
    library load; the NVIDIA driver is the system's, so the reason drops that sentence."""
    if providers.CUDA not in providers.ort.get_available_providers():
        pytest.skip("this onnxruntime build has no CUDA provider; the driver is never looked for")

    def frozen_load(name, *args, **kwargs):
        raise OSError(f"Failed to load dynlib/dll '{name}'. "
                      "Most likely this dynlib/dll was not found when the application was frozen.")

    monkeypatch.setattr(providers.ctypes, "CDLL", frozen_load)
    reason = providers.cuda_problem()
    assert reason == "no NVIDIA driver found (Failed to load dynlib/dll 'libcuda.so.1'.)"

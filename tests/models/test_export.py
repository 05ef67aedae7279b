"""ONNX export: checker, onnxruntime parity with torch on real images, the model folder."""

from __future__ import annotations

import copy
import os

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from torchvision.models.resnet import Bottleneck

import models.artifact as artifact
from clml_contract.manifest import Manifest
from models.artifact import ArtifactError, load_checkpoint, save_model_dir
from models.export import ExportError, calibrate_batchnorm, export_onnx, verify_onnx
from models.resnet import build_model


def _ort(path, x: np.ndarray):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(["logits", "embedding"], {"images": x})


def test_calibration_sets_batchnorm_statistics_from_images(real_images):
    model = build_model("resnet18", 4).eval()
    calibrate_batchnorm(model, real_images)
    assert not model.training  # the caller's mode is restored
    assert model.bn1.momentum == 0.1
    with torch.no_grad():
        x = model.bn1(model.conv1(real_images))
    mean = x.mean(dim=(0, 2, 3))
    assert torch.allclose(mean, model.bn1.bias, atol=1e-3)
    assert torch.count_nonzero(model.layer4[1].bn2.running_var - 1) > 0


@pytest.fixture(scope="module")
def exported(tmp_path_factory, real_images):
    """One calibrated random ResNet18 exported once, shared by the checks below (CPU time is scarce)."""
    torch.manual_seed(0)
    model = build_model("resnet18", 5)
    calibrate_batchnorm(model, real_images)
    path = tmp_path_factory.mktemp("onnx") / "m.onnx"
    worst = export_onnx(model, path, 64, real_images[:2])
    return model, path, worst


def test_export_checks_and_matches_torch_with_dynamic_batch(exported, real_images):
    model, path, worst = exported
    assert worst is not None and worst.rel_err <= 1e-4 and not worst.judged_by_float64
    graph = onnx.load(str(path))
    onnx.checker.check_model(graph)
    assert max(o.version for o in graph.opset_import if o.domain in ("", "ai.onnx")) >= 17
    assert [i.name for i in graph.graph.input] == ["images"]
    assert [o.name for o in graph.graph.output] == ["logits", "embedding"]
    assert graph.graph.input[0].type.tensor_type.shape.dim[0].dim_param  # dynamic N
    x = real_images[:5]
    logits, embedding = _ort(path, x.numpy())
    with torch.no_grad():
        t_logits, t_embedding = model.eval()(x)
    assert logits.shape == (5, 5) and embedding.shape == (5, 512)
    scale = max(1.0, float(t_logits.abs().max()))
    assert np.max(np.abs(logits - t_logits.numpy())) / scale <= 1e-4
    assert (
        np.max(np.abs(embedding - t_embedding.numpy())) / max(1.0, float(t_embedding.abs().max()))
        <= 1e-4
    )


def test_parity_check_raises_when_onnx_and_torch_disagree(exported, real_images):
    model, path, _ = exported
    changed = copy.deepcopy(model)
    with torch.no_grad():
        changed.fc.bias += 1.0
    with pytest.raises(ExportError, match="logits differs"):
        verify_onnx(path, changed, real_images[:2])


def test_float64_referee_accepts_only_float32_rounding(exported, real_images):
    """With a limit below float32 resolution, the export passes only because onnxruntime is as
    close to the exact (float64) result as torch float32 is; a real difference still fails."""
    model, path, _ = exported
    parity = verify_onnx(path, model, real_images[:2], tolerance=1e-12)
    assert parity.judged_by_float64 and 0 < parity.float32_floor < 1e-4
    changed = copy.deepcopy(model)
    with torch.no_grad():
        changed.fc.weight.mul_(1.001)
    with pytest.raises(ExportError, match="float32 itself"):
        verify_onnx(path, changed, real_images[:2], tolerance=1e-12)


def test_model_folder_has_valid_manifest_checkpoint_and_onnx(tmp_path, real_images):
    model = build_model("resnet18", 3)
    out = tmp_path / "models" / "m1"
    manifest = save_model_dir(
        out,
        model,
        tags=["a", "b", "c"],
        arch="resnet18",
        image_size=64,
        thresholds={"a": 0.3},
        training={"epochs": 1},
        metrics={"val_map": 0.5},
        parent="m0",
        calibration_images=real_images,
    )
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.pt", "manifest.json", "model.onnx"]
    assert [p.name for p in out.parent.iterdir()] == ["m1"]  # no staging folder left behind
    read = Manifest.read(out)
    assert read == manifest
    assert (read.id, read.embedding_dim, read.parent, read.files["oof"]) == ("m1", 512, "m0", None)
    assert read.metrics["onnx_parity_rel_err"] <= 1e-4
    state = load_checkpoint(out)
    rebuilt = build_model("resnet18", 3)
    rebuilt.load_state_dict(state, strict=True)
    logits, _ = _ort(out / "model.onnx", real_images[:3].numpy())
    with torch.no_grad():
        expected = rebuilt.eval()(real_images[:3])[0].numpy()
    assert np.max(np.abs(logits - expected)) <= 1e-4 * max(1.0, float(np.abs(expected).max()))
    with pytest.raises(ArtifactError, match="already holds a model"):
        save_model_dir(out, model, tags=["a", "b", "c"], arch="resnet18", image_size=64)


def test_trainer_work_files_are_kept_and_manifest_comes_last(tmp_path, demo_folder):
    out = tmp_path / "m2"
    out.mkdir()
    np.savez(out / "oof.npz", paths=np.array(["x.jpg"]), probs=np.zeros((1, 2), np.float32))
    (out / "checkpoint.pt").write_bytes(b"last good epoch")
    manifest = save_model_dir(
        out,
        build_model("resnet18", 2),
        tags=["a", "b"],
        arch="resnet18",
        image_size=64,
        has_oof=True,
        verify_paths=[tmp_path / "missing.jpg", *sorted(demo_folder.glob("*.jpg"))],
    )
    assert manifest.files["oof"] == "oof.npz"
    assert sorted(p.name for p in out.iterdir()) == [
        "checkpoint.pt",
        "manifest.json",
        "model.onnx",
        "oof.npz",
    ]
    assert load_checkpoint(out)["fc.weight"].shape == (2, 512)


def test_failed_export_leaves_no_model_folder(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise ExportError("simulated crash during export")

    monkeypatch.setattr(artifact, "export_onnx", broken)
    with pytest.raises(ExportError):
        save_model_dir(
            tmp_path / "m3",
            build_model("resnet18", 2),
            tags=["a", "b"],
            arch="resnet18",
            image_size=64,
        )
    assert os.listdir(tmp_path) == []


def test_tag_count_must_match_outputs(tmp_path):
    with pytest.raises(ArtifactError, match="3 outputs but 2 tags"):
        save_model_dir(
            tmp_path / "m",
            build_model("resnet18", 3),
            tags=["a", "b"],
            arch="resnet18",
            image_size=64,
        )


@pytest.mark.slow
def test_resnet101_exports_and_matches_torch(tmp_path, real_images):
    """A random ResNet101 is chaotic: torch float32 vs float64 alone differ by 1.4e-4 on it, so
    no float32 runtime could meet 1e-4. Damping the residual branches (as training does) makes
    it as well-conditioned as a trained network, and the export must then match."""
    torch.manual_seed(0)
    model = build_model("resnet101", 4)
    with torch.no_grad():
        for block in model.modules():
            if isinstance(block, Bottleneck):
                block.bn3.weight.mul_(0.25)
    calibrate_batchnorm(model, real_images)
    worst = export_onnx(model, tmp_path / "r101.onnx", 64, real_images[:2])
    assert worst is not None and worst.rel_err <= 1e-4 and not worst.judged_by_float64
    _, embedding = _ort(tmp_path / "r101.onnx", real_images[:2].numpy())
    assert embedding.shape == (2, 2048)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_channels_last_model_exports_from_a_float32_cpu_copy(tmp_path, real_images):
    """The trainer's network lives on the GPU in channels_last after AMP steps; the export must
    not depend on that (nor on TF32 convolutions) and must leave the original where it was."""
    model = build_model("resnet18", 3).cuda().to(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    x = real_images.cuda().contiguous(memory_format=torch.channels_last)
    with torch.autocast("cuda", dtype=torch.float16):
        logits, embedding = model(x)
        loss = logits.float().pow(2).mean() + embedding.float().mean()
    loss.backward()
    optimizer.step()
    manifest = save_model_dir(
        tmp_path / "m",
        model,
        tags=["a", "b", "c"],
        arch="resnet18",
        image_size=64,
        verify_images=real_images[:2],
    )
    assert manifest.metrics["onnx_parity_rel_err"] <= 1e-4
    assert next(model.parameters()).is_cuda
    assert load_checkpoint(tmp_path / "m")["fc.weight"].device.type == "cpu"

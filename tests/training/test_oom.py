"""CUDA out-of-memory halves the batch and training goes on (simulated on the CPU)."""

from __future__ import annotations

import io
import json
import threading

import torch

from models.resnet import build_model
from training import fit as fit_module
from training.ddp import Runtime
from training.fit import FitConfig, fit
from training.progress import Progress


def test_oom_halves_the_batch_and_the_run_completes(tiny_set, tmp_path, monkeypatch):
    raised = []

    def build_with_one_oom(arch: str, num_classes: int):
        model = build_model(arch, num_classes)

        def hook(module, inputs):
            if module.training and inputs[0].shape[0] > 4 and not raised:
                raised.append(inputs[0].shape[0])
                raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")

        model.register_forward_pre_hook(hook)
        return model

    monkeypatch.setattr(fit_module, "build_model", build_with_one_oom)
    out = io.StringIO()
    cfg = FitConfig(data=tiny_set, out=tmp_path / "model", init="random", arch="resnet18",
                    image_size=32, epochs=1, batch_size=8, lr=1e-3, loss="bce", clml_lambda=1.0,
                    tau=0.8, folds=0, seed=0, amp=False)
    runtime = Runtime(device=torch.device("cpu"), device_reason="test")
    result = fit(cfg, runtime, Progress(out, io.StringIO()), threading.Event())
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    assert raised == [8]
    assert any("out of GPU memory" in e.get("message", "") and "batch size 4" in e["message"]
               for e in events if e["event"] == "warning")
    sizes = [e["batch_size"] for e in events if e["event"] == "progress"]
    assert sizes[-1] == 4
    assert (result.model_dir / "model.onnx").is_file()

"""Parity: our numpy/Pillow preprocessing + onnxruntime equals torchvision's eval
transform + the torch model on the same real files, ≤ 1e-4 relative on logits."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from clml_contract.preprocess import open_rgb, preprocess_file
from clml_desktop.inference.engine import Engine
from models.transforms import eval_transform

from .conftest import MEAN, SIZE, STD

CASES = [
    "rotated.jpg",
    "large.jpg",
    "grey.png",
    "alpha.png",
    "palette.png",
    "deep16.png",
    "plain.jpg",
]


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)) / max(1.0, float(np.max(np.abs(a)))))


@pytest.fixture(scope="module")
def engine(model_kit):
    return Engine.load(model_kit.dir, device="cpu")


def test_logits_match_torch_on_real_files(engine, model_kit, image_files):
    ours = np.stack([preprocess_file(image_files[name], SIZE, engine.normalizer) for name in CASES])
    tf = eval_transform(SIZE, MEAN, STD)
    reference_input = torch.stack(
        [tf(open_rgb(image_files[name], size_hint=SIZE)) for name in CASES]
    )
    assert np.array_equal(ours, reference_input.numpy())
    with torch.no_grad():
        torch_logits, torch_embedding = model_kit.torch_model(reference_input)
    ort_logits, ort_embedding = engine.session.run(["logits", "embedding"], {"images": ours})
    assert 0.05 < float(np.abs(torch_logits.numpy()).max()) < 100, (
        "BN calibration keeps logits O(1)"
    )
    assert relative_error(torch_logits.numpy(), ort_logits) <= 1e-4
    assert relative_error(torch_embedding.numpy(), ort_embedding) <= 1e-4


def test_batch_and_single_agree(engine, image_files):
    batch = np.stack(
        [preprocess_file(image_files[name], SIZE, engine.normalizer) for name in CASES]
    )
    together = engine.run(batch).probs
    alone = np.concatenate([engine.run(batch[i : i + 1]).probs for i in range(len(CASES))])
    assert relative_error(together, alone) <= 1e-5

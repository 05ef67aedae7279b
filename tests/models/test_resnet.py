"""The network's shapes and state-dict names (torchvision's, so outside checkpoints load)."""

from __future__ import annotations

import pytest
import torch
import torchvision

from models.resnet import ClmlNet, build_model


@pytest.mark.parametrize(("arch", "dim"), [("resnet18", 512), ("resnet101", 2048)])
def test_forward_returns_logits_and_pooled_embedding(arch, dim):
    model = build_model(arch, 7).eval()
    with torch.no_grad():
        logits, embedding = model(torch.rand(1, 3, 64, 64))
    assert logits.shape == (1, 7)
    assert embedding.shape == (1, dim)
    assert model.embedding_dim == dim and model.num_classes == 7
    assert torch.allclose(logits, model.fc(embedding))


@pytest.mark.parametrize("arch", ["resnet18", "resnet50"])
def test_state_dict_keys_are_torchvisions(arch):
    ours = build_model(arch, 5).state_dict()
    theirs = getattr(torchvision.models, arch)(weights=None, num_classes=5).state_dict()
    assert list(ours) == list(theirs)
    assert all(ours[k].shape == theirs[k].shape for k in ours)
    assert {k.split(".")[0] for k in ours} == {
        "conv1",
        "bn1",
        "layer1",
        "layer2",
        "layer3",
        "layer4",
        "fc",
    }


def test_torchvision_weights_load_strictly():
    reference = torchvision.models.resnet18(weights=None, num_classes=3)
    model = build_model("resnet18", 3)
    model.load_state_dict(reference.state_dict(), strict=True)
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(model.eval()(x)[0], reference.eval()(x), atol=1e-6)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="unknown architecture"):
        build_model("vgg16", 3)
    with pytest.raises(ValueError, match="num_classes"):
        build_model("resnet18")
    assert isinstance(build_model("resnet18", 1), ClmlNet)

"""Shared fixtures for the network tests: small real images from the demo generator."""

from __future__ import annotations

import pytest
import torch

from clml_contract.manifest import IMAGENET_MEAN, IMAGENET_STD
from clml_desktop.demo import make_demo
from models.convert import images_from_folder


@pytest.fixture(autouse=True)
def _few_threads():
    """Two cores are shared by the whole suite; keep torch from oversubscribing them."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def demo_folder(tmp_path_factory):
    return make_demo(tmp_path_factory.mktemp("demo") / "demo", images=12, size=(64, 48)).folder


@pytest.fixture(scope="session")
def real_images(demo_folder):
    """Eight demo images, squash-resized to 64 px and ImageNet-normalised (N×3×64×64)."""
    return images_from_folder(demo_folder, 64, IMAGENET_MEAN, IMAGENET_STD, limit=8)

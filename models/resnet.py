"""The network: a torchvision ResNet that returns (logits, embedding).

The CLML loss needs the pooled feature the classifier sees, so `forward`
returns both. `ClmlNet` subclasses torchvision's `ResNet` instead of wrapping
it, so the state-dict keys stay torchvision's own (`conv1.*`, `bn1.*`,
`layer1..4.*`, `fc.*`): ImageNet weights and checkpoints of the authors'
release (whose ResNet also returns `(x, feature)` under the same names) load
without renaming.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torchvision.models.resnet import BasicBlock, Bottleneck, ResNet

DEFAULT_ARCH = "resnet101"
ARCHITECTURES: dict[str, tuple[type[BasicBlock] | type[Bottleneck], list[int]]] = {
    "resnet18": (BasicBlock, [2, 2, 2, 2]),
    "resnet50": (Bottleneck, [3, 4, 6, 3]),
    "resnet101": (Bottleneck, [3, 4, 23, 3]),
}


class ClmlNet(ResNet):
    """torchvision's ResNet with `forward(images) -> (logits N×C, embedding N×D)`."""

    def __init__(self, arch: str, num_classes: int) -> None:
        block, layers = ARCHITECTURES[arch]
        super().__init__(block, layers, num_classes=num_classes)
        self.arch = arch

    @property
    def embedding_dim(self) -> int:
        """D of the pooled feature: 2048 for ResNet50/101, 512 for ResNet18."""
        return int(self.fc.in_features)

    @property
    def num_classes(self) -> int:
        return int(self.fc.out_features)

    def features(self, images: Tensor) -> Tensor:
        """The pooled N×D embedding, before the classifier."""
        x = self.conv1(images)
        x = self.bn1(x)
        x = self.relu(x)
        x = self.maxpool(x)
        x = self.layer1(x)
        x = self.layer2(x)
        x = self.layer3(x)
        x = self.layer4(x)
        return torch.flatten(self.avgpool(x), 1)

    def forward(self, images: Tensor) -> tuple[Tensor, Tensor]:  # type: ignore[override]
        embedding = self.features(images)
        return self.fc(embedding), embedding


def build_model(arch: str = DEFAULT_ARCH, num_classes: int | None = None) -> ClmlNet:
    """A randomly initialised ClmlNet; `models.weights.resolve_init` gives it a start.

    `num_classes` is required (a silent default would hide a tag-list mismatch).
    """
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHITECTURES)}")
    if num_classes is None or int(num_classes) < 1:
        raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}")
    return ClmlNet(arch, int(num_classes))

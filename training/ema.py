"""An exponential moving average of the weights (and BatchNorm buffers).

The authors keep an EMA with decay 0.9997, which on COCO (about 5,000 steps an
epoch) averages over the last few thousand steps. A user's collection may
give only a hundred steps in the whole run, where 0.9997 would leave the EMA
at the starting weights; so the decay warms up as (1 + t) / (10 + t) and is
capped at the authors' value, the usual fix (TensorFlow's `num_updates`).
"""

from __future__ import annotations

import copy

import torch
from torch import nn


class ModelEma:
    """Holds a frozen copy of `model` and pulls it towards the live weights each step."""

    def __init__(self, model: nn.Module, decay: float = 0.9997) -> None:
        self.module = copy.deepcopy(model).eval()
        for p in self.module.parameters():
            p.requires_grad_(False)
        self.decay = decay
        self.updates = 0

    def current_decay(self) -> float:
        return min(self.decay, (1 + self.updates) / (10 + self.updates))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.updates += 1
        d = self.current_decay()
        live = model.state_dict()
        for name, avg in self.module.state_dict().items():
            value = live[name].detach()
            if avg.dtype.is_floating_point:
                avg.lerp_(value.to(avg.dtype), 1.0 - d)
            else:
                avg.copy_(value)

"""The paper's missing-label correction, with a person's rejections respected.

CLML (and SPLC) treat an unknown label as positive once the model is
confident: y' = y or (sigmoid(logit) > tau). A tag a person rejected is a
known negative, not a missing label, so it is never flipped.
"""

from __future__ import annotations

import torch


def correct_labels(
    logits: torch.Tensor,
    targets: torch.Tensor,
    tau: float,
    known_negative: torch.Tensor | None = None,
) -> torch.Tensor:
    """y' = y or (sigmoid(logits) > tau), except where `known_negative` is set.

    Returns a tensor of `targets`' dtype and shape (bools stay bools, floats
    become 0/1) that carries no gradient.
    """
    if logits.shape != targets.shape:
        raise ValueError(
            f"logits {tuple(logits.shape)} and targets {tuple(targets.shape)} differ in shape"
        )
    with torch.no_grad():
        positive = targets if targets.dtype == torch.bool else targets > 0.5
        confident = torch.sigmoid(logits.detach().float()) > tau
        if known_negative is not None:
            if known_negative.shape != targets.shape:
                raise ValueError(
                    f"known_negative {tuple(known_negative.shape)} and targets "
                    f"{tuple(targets.shape)} differ in shape"
                )
            confident = confident & ~known_negative.to(torch.bool)
        corrected = positive | confident
    return corrected if targets.dtype == torch.bool else corrected.to(targets.dtype)

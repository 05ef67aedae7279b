"""Label correction turns confident unknowns into positives and never overrides a person."""

from __future__ import annotations

import torch

from training.clml import correct_labels


def test_confident_unknowns_become_positive_and_positives_stay():
    logits = torch.tensor([[3.0, -3.0, 0.5], [-5.0, 2.0, 1.0]])
    targets = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    corrected = correct_labels(logits, targets, tau=0.8)
    # sigmoid: 0.95 > 0.8 flips; a given positive stays even at low probability.
    assert torch.equal(corrected, torch.tensor([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0]]))
    assert corrected.dtype == targets.dtype


def test_known_negatives_are_never_flipped():
    g = torch.Generator().manual_seed(0)
    logits = 20.0 * torch.randn(32, 10, generator=g)
    targets = (torch.rand(32, 10, generator=g) < 0.2).float()
    known_negative = (torch.rand(32, 10, generator=g) < 0.3) & (targets == 0)
    corrected = correct_labels(logits, targets, tau=0.5, known_negative=known_negative)
    assert torch.all(corrected[known_negative] == 0)
    flipped = (corrected == 1) & (targets == 0)
    assert flipped.any()
    assert torch.all(torch.sigmoid(logits[flipped]) > 0.5)
    assert torch.all(corrected[targets == 1] == 1)


def test_no_gradient_and_bool_targets_stay_bool():
    logits = torch.randn(4, 3, requires_grad=True)
    targets = torch.zeros(4, 3, dtype=torch.bool)
    corrected = correct_labels(logits, targets, tau=0.0)
    assert corrected.dtype == torch.bool
    assert corrected.all()
    assert not corrected.requires_grad
    assert not correct_labels(logits, targets.float(), tau=0.0).requires_grad

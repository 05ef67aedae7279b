"""Base losses: hand-computed values, known negatives treated as certain, finiteness."""

from __future__ import annotations

import math

import pytest
import torch

from training.base_losses import BASE_LOSSES, make_base_loss


def sig(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


# One positive with logit 2 and one unknown with logit -1.
LOGITS = torch.tensor([[2.0, -1.0]])
TARGETS = torch.tensor([[1.0, 0.0]])
P_POS, P_NEG = sig(2.0), sig(-1.0)


def _asl_neg(p: float) -> float:
    shifted = max(p - 0.05, 0.0)
    return shifted**4 * -math.log(1.0 - shifted)


HAND = {
    "bce": -math.log(P_POS) - math.log(1 - P_NEG),
    "focal": (1 - P_POS) ** 2 * -math.log(P_POS) + P_NEG**2 * -math.log(1 - P_NEG),
    "asl": -math.log(P_POS) + _asl_neg(P_NEG),
    "hill": (1 - sig(1.0)) ** 2 * -math.log(sig(1.0)) + (1.5 - P_NEG) * P_NEG**2,
    "splc": (1 - sig(1.0)) ** 2 * -math.log(sig(1.0)) + P_NEG**2 * -math.log(1 - P_NEG),
}


@pytest.mark.parametrize("name", BASE_LOSSES)
def test_value_on_a_hand_computed_case(name):
    loss = make_base_loss(name)(LOGITS, TARGETS)
    assert loss.item() == pytest.approx(HAND[name], rel=1e-5)


@pytest.mark.parametrize("name", BASE_LOSSES)
def test_known_negative_gets_the_plain_bce_term(name):
    fn = make_base_loss(name)
    known = torch.tensor([[False, True]])
    with_known = fn(LOGITS, TARGETS, known_negative=known, epoch=5)
    positive_part = fn(LOGITS[:, :1], TARGETS[:, :1])
    assert with_known.item() == pytest.approx(positive_part.item() - math.log(1 - P_NEG), rel=1e-5)


@pytest.mark.parametrize("name", BASE_LOSSES)
def test_known_negative_is_never_flipped_or_down_weighted(name):
    fn = make_base_loss(name)
    logits = torch.tensor([[4.0]], requires_grad=True)  # a confident "negative"
    loss = fn(logits, torch.zeros(1, 1), known_negative=torch.ones(1, 1, dtype=torch.bool),
              epoch=10)
    loss.backward()
    assert loss.item() == pytest.approx(-math.log(1 - sig(4.0)), rel=1e-5)
    assert logits.grad.item() == pytest.approx(sig(4.0), rel=1e-5)


def test_splc_flips_confident_unknowns_from_epoch_one_only():
    fn = make_base_loss("splc")
    logits, targets = torch.tensor([[2.0]]), torch.zeros(1, 1)  # sigmoid 0.88 > tau 0.6
    before = fn(logits, targets, epoch=0).item()
    after = fn(logits, targets, epoch=1).item()
    assert before == pytest.approx(sig(2.0) ** 2 * -math.log(1 - sig(2.0)), rel=1e-5)
    assert after == pytest.approx((1 - sig(2.0)) ** 2 * -math.log(sig(2.0)), rel=1e-5)
    low = torch.tensor([[0.0]])  # sigmoid 0.5 <= tau stays a negative
    assert fn(low, targets, epoch=1).item() == pytest.approx(0.25 * math.log(2), rel=1e-5)


def test_losses_are_sums_over_batch_and_labels():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(6, 5, generator=g)
    targets = (torch.rand(6, 5, generator=g) < 0.4).float()
    for name in BASE_LOSSES:
        fn = make_base_loss(name)
        whole = fn(logits, targets)
        parts = sum(fn(logits[i : i + 1], targets[i : i + 1]) for i in range(6))
        assert whole.item() == pytest.approx(parts.item(), rel=1e-5)


@pytest.mark.parametrize("name", BASE_LOSSES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_finite_values_and_gradients_at_extreme_logits(name, dtype):
    logits = torch.tensor([[-100.0, -30.0, 0.0, 30.0, 100.0]] * 2, dtype=dtype, requires_grad=True)
    targets = torch.tensor([[1.0] * 5, [0.0] * 5])
    known = torch.tensor([[False] * 5, [False, True, False, True, False]])
    loss = make_base_loss(name)(logits, targets, known_negative=known, epoch=3)
    loss.backward()
    assert loss.dtype == torch.float32
    assert torch.isfinite(loss)
    assert torch.isfinite(logits.grad.float()).all()


def test_names_and_unknown_name():
    assert BASE_LOSSES == ("bce", "focal", "asl", "hill", "splc")
    assert make_base_loss("Hill") is make_base_loss("hill")
    with pytest.raises(ValueError, match="bce"):
        make_base_loss("softmax")


def test_bool_targets_equal_float_targets():
    for name in BASE_LOSSES:
        fn = make_base_loss(name)
        assert torch.equal(fn(LOGITS, TARGETS.bool(), epoch=2), fn(LOGITS, TARGETS, epoch=2))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("name", BASE_LOSSES)
def test_cuda_equals_cpu(name):
    g = torch.Generator().manual_seed(1)
    logits = 3 * torch.randn(8, 6, generator=g)
    targets = (torch.rand(8, 6, generator=g) < 0.3).float()
    known = (torch.rand(8, 6, generator=g) < 0.2) & (targets == 0)
    fn = make_base_loss(name)
    cpu = fn(logits, targets, known_negative=known, epoch=2)
    gpu = fn(logits.cuda(), targets.cuda(), known_negative=known.cuda(), epoch=2)
    assert gpu.item() == pytest.approx(cpu.item(), rel=1e-5)


@pytest.mark.parametrize("name", ["bce", "focal", "asl", "hill", "splc"])
def test_unknown_weight_scales_only_the_unknown_pairs(name):
    """Weak negatives: positives and a person's rejections keep their full weight."""
    from training.base_losses import make_base_loss

    torch.manual_seed(0)
    logits = torch.randn(6, 4)
    targets = torch.zeros(6, 4)
    targets[:, 0] = 1
    rejected = torch.zeros(6, 4, dtype=torch.bool)
    rejected[:, 1] = True
    unknown = torch.zeros(6, 4)
    unknown[:, 2:] = 1
    full = make_base_loss(name)
    weak = make_base_loss(name, unknown_weight=0.25)
    none = make_base_loss(name, unknown_weight=0.0)
    only_known = full(logits[:, :2], targets[:, :2], known_negative=rejected[:, :2])
    assert torch.allclose(none(logits, targets, known_negative=rejected), only_known)
    unknown_part = full(logits, targets, known_negative=rejected) - only_known
    assert unknown_part > 0
    assert torch.allclose(weak(logits, targets, known_negative=rejected),
                          only_known + 0.25 * unknown_part, rtol=1e-5)
    with pytest.raises(ValueError, match="unknown-pair weight"):
        make_base_loss(name, unknown_weight=1.5)


def test_large_loss_rejection_ignores_the_unknowns_the_model_insists_on():
    """Kim et al. 2022: from the second epoch, the highest-scored unknown pairs stop counting."""
    from training.base_losses import make_base_loss, reject_largest_unknowns

    logits = torch.tensor([[3.0, 2.0, -1.0, 0.5], [-2.0, 4.0, 1.0, -3.0]])
    targets = torch.tensor([[1.0, 0, 0, 0], [0, 0, 0, 0]])
    rejected = torch.zeros(2, 4, dtype=torch.bool)
    rejected[1, 1] = True  # a person's rejection is never ignored, however high its score
    keep = reject_largest_unknowns(logits, targets, rejected, share=2 / 6)
    assert keep.tolist() == [[1, 0, 1, 1], [1, 1, 0, 1]]
    loss = make_base_loss("bce", reject_rate=1 / 6)
    plain = make_base_loss("bce")
    assert torch.allclose(loss(logits, targets, rejected, epoch=0), plain(logits, targets, rejected))
    ignored = torch.nn.functional.softplus(logits[0, 1]) + torch.nn.functional.softplus(logits[1, 2])
    assert torch.allclose(loss(logits, targets, rejected, epoch=2),
                          plain(logits, targets, rejected) - ignored)
    with pytest.raises(ValueError, match="rejection rate"):
        make_base_loss("bce", reject_rate=-0.1)

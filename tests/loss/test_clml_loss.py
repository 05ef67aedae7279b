"""clml_loss against a plain per-label SVD written here, plus the properties AMP needs."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from training.clml import clml_loss


def reference(features: torch.Tensor, targets: torch.Tensor, delta: float = 1.0):
    """The paper's loss and the release's subgradient, one SVD per label, in float64."""
    x = features.detach().to(torch.float64)
    n = x.shape[0]
    total = torch.zeros((), dtype=torch.float64)
    grad = torch.zeros_like(x)
    for c in range(targets.shape[1]):
        rows = targets[:, c] > 0.5
        if not bool(rows.any()):
            total += delta
            continue
        u, s, vh = torch.linalg.svd(x[rows], full_matrices=False)
        nuclear = s.sum()
        if nuclear > delta:
            total += nuclear
            keep = s >= 1e-6
            grad[rows] += u[:, keep] @ vh[keep]
        else:
            total += delta
    u, s, vh = torch.linalg.svd(x, full_matrices=False)
    keep = s >= 1e-6
    total -= s.sum()
    grad -= u[:, keep] @ vh[keep]
    return total / n, grad / n


def _case(name: str, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    if name == "random":
        x = torch.randn(16, 24, generator=g)
        y = torch.rand(16, 7, generator=g) < 0.4
    elif name == "rank_deficient":
        # Small integers multiply exactly in float32, so the rank is exactly 3; a
        # float product would carry rounding-noise singular values (~1e-7 of the
        # largest) that no float32 method can tell from real ones.
        a = torch.randint(-3, 4, (14, 3), generator=g).float()
        x = a @ torch.randint(-3, 4, (3, 20), generator=g).float() / 8.0
        y = torch.rand(14, 6, generator=g) < 0.5
    elif name == "duplicates":
        base = torch.relu(torch.randn(5, 30, generator=g))
        x = base[torch.tensor([0, 1, 0, 2, 3, 1, 4, 0, 2, 2])]
        y = torch.rand(10, 5, generator=g) < 0.6
    elif name == "empty_single_and_all":
        x = torch.randn(9, 12, generator=g)
        y = torch.zeros(9, 4, dtype=torch.bool)
        y[:, 1] = True  # every row
        y[4, 2] = True  # one row
        y[::2, 3] = True
    elif name == "tall":  # more rows than feature dimensions
        x = torch.randn(20, 5, generator=g)
        y = torch.rand(20, 6, generator=g) < 0.5
    elif name == "small_norms":  # some labels below delta, some above
        x = 0.15 * torch.randn(12, 10, generator=g)
        y = torch.rand(12, 8, generator=g) < 0.4
    elif name == "one_row":
        x = torch.randn(1, 8, generator=g)
        y = torch.tensor([[True, False, True]])
    elif name == "large_scale":
        x = 300.0 * torch.relu(torch.randn(24, 40, generator=g))
        y = torch.rand(24, 9, generator=g) < 0.3
    elif name == "mixed_sizes":  # every block size, including the capped one (N = 40)
        x = torch.relu(torch.randn(40, 64, generator=g))
        counts = [0, 1, 2, 3, 4, 5, 8, 9, 13, 17, 20, 33, 39, 40]
        y = torch.zeros(40, len(counts), dtype=torch.bool)
        for c, k in enumerate(counts):
            y[torch.randperm(40, generator=g)[:k], c] = True
    elif name == "resnet_like":
        x = torch.relu(torch.randn(64, 512, generator=g))
        y = torch.rand(64, 80, generator=g) < 0.05
    else:
        raise ValueError(name)
    return x, y.float()


CASES = ["random", "rank_deficient", "duplicates", "empty_single_and_all", "tall",
         "small_norms", "one_row", "large_scale", "mixed_sizes", "resnet_like"]


def _check_against_reference(x: torch.Tensor, y: torch.Tensor, device: str = "cpu") -> None:
    feats = x.to(device).requires_grad_(True)
    loss = clml_loss(feats, y.to(device))
    loss.backward()
    want_value, want_grad = reference(x, y)
    assert loss.dtype == torch.promote_types(x.dtype, torch.float32)
    assert torch.isfinite(feats.grad).all()
    torch.testing.assert_close(loss.detach().cpu().double(), want_value, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(feats.grad.cpu().double(), want_grad, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_value_and_gradient_match_per_label_svd(name, dtype):
    x, y = _case(name)
    _check_against_reference(x.to(dtype), y)


def test_all_zero_features_give_delta_per_label_and_zero_gradient():
    x = torch.zeros(6, 10, requires_grad=True)
    y = (torch.rand(6, 5, generator=torch.Generator().manual_seed(1)) < 0.5).float()
    loss = clml_loss(x, y, delta=1.0)
    loss.backward()
    assert loss.item() == pytest.approx(5 / 6)
    assert torch.equal(x.grad, torch.zeros_like(x))


def test_bool_and_float_targets_agree_and_targets_get_no_gradient():
    x, y = _case("random", seed=3)
    targets = y.clone().requires_grad_(True)
    a = clml_loss(x, targets)
    b = clml_loss(x, y.bool())
    assert torch.equal(a, b)
    assert not a.requires_grad
    feats = x.clone().requires_grad_(True)
    clml_loss(feats, targets).backward()
    assert targets.grad is None


def test_delta_is_a_floor_per_label():
    x, y = _case("small_norms", seed=5)
    low, high = clml_loss(x, y, delta=0.0), clml_loss(x, y, delta=100.0)
    whole = torch.linalg.svdvals(x.double()).sum()
    assert high.item() == pytest.approx((100.0 * y.shape[1] - whole.item()) / x.shape[0], rel=1e-6)
    assert low.item() < high.item()


def test_gradcheck_where_the_nuclear_norm_is_smooth():
    g = torch.Generator().manual_seed(11)
    x = torch.randn(7, 9, generator=g, dtype=torch.float64)
    y = torch.tensor([[1, 0, 1], [1, 1, 0], [0, 1, 1], [1, 0, 0], [0, 1, 1], [1, 1, 0], [0, 0, 1]],
                     dtype=torch.float64)
    for c in range(y.shape[1]):  # away from the max(delta, .) kink
        norm = torch.linalg.svdvals(x[y[:, c] > 0.5]).sum().item()
        assert abs(norm - 1.0) > 1e-2
    x.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda f: clml_loss(f, y), (x,), eps=1e-6, atol=1e-6)
    # Below delta the label is constant and the loss is still smooth.
    small = (0.05 * x.detach()).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda f: clml_loss(f, y), (small,), eps=1e-7, atol=1e-6)


def test_gradient_scales_with_the_loss_scale():
    x, y = _case("random", seed=7)
    plain = x.clone().requires_grad_(True)
    clml_loss(plain, y).backward()
    scaled = x.clone().requires_grad_(True)
    (65536.0 * clml_loss(scaled, y)).backward()
    torch.testing.assert_close(scaled.grad, 65536.0 * plain.grad, rtol=1e-6, atol=0.0)
    assert plain.grad.abs().max() > 0


def test_works_under_cpu_autocast_bfloat16():
    g = torch.Generator().manual_seed(2)
    layer = torch.nn.Linear(12, 32)
    inputs = torch.randn(10, 12, generator=g)
    y = (torch.rand(10, 6, generator=g) < 0.5).float()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        feats = layer(inputs)
        assert feats.dtype == torch.bfloat16
        loss = clml_loss(feats, y)
    assert loss.dtype == torch.float32
    loss.backward()
    assert torch.isfinite(layer.weight.grad).all() and layer.weight.grad.abs().max() > 0
    want, _ = reference(feats.detach().float(), y)
    assert loss.item() == pytest.approx(want.item(), rel=1e-5)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_features_give_nan_for_grad_scaler_instead_of_an_error(bad):
    x, y = _case("random", seed=9)
    x[3, 5] = bad
    feats = x.requires_grad_(True)
    loss = clml_loss(feats, y)
    loss.backward()
    assert torch.isnan(loss)
    assert not torch.isfinite(feats.grad).all()


def test_rejects_bad_shapes():
    with pytest.raises(ValueError):
        clml_loss(torch.randn(4, 3), torch.ones(5, 2))
    with pytest.raises(ValueError):
        clml_loss(torch.randn(0, 3), torch.ones(0, 2))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("name", CASES)
def test_cuda_matches_reference(name):
    x, y = _case(name)
    _check_against_reference(x, y, device="cuda")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_autocast_float16_with_grad_scaler():
    g = torch.Generator().manual_seed(4)
    layer = torch.nn.Linear(16, 64).cuda()
    inputs = torch.randn(32, 16, generator=g).cuda()
    y = (torch.rand(32, 10, generator=g) < 0.3).float().cuda()
    scale = 2.0**10  # small enough that no fp16 gradient overflows
    scaler = torch.amp.GradScaler("cuda", init_scale=scale)
    with torch.autocast("cuda", dtype=torch.float16):
        feats = layer(inputs)
        loss = clml_loss(feats, y)
    scaler.scale(loss).backward()
    scaled_grad = layer.weight.grad.clone()
    layer.weight.grad = None
    feats32 = layer(inputs)
    clml_loss(feats32, y).backward()
    assert torch.isfinite(scaled_grad).all()
    ratio = (scaled_grad.norm() / layer.weight.grad.norm()).item()
    assert ratio == pytest.approx(scale, rel=2e-2)


@settings(max_examples=25, deadline=None)
@given(
    rows=st.integers(1, 24),
    dim=st.integers(1, 30),
    labels=st.integers(1, 8),
    rank=st.integers(1, 6),
    density=st.floats(0.0, 1.0),
    exponent=st.integers(-6, 7),
    seed=st.integers(0, 2**31 - 1),
)
def test_matches_reference_on_random_exact_low_rank_batches(rows, dim, labels, rank, density,
                                                            exponent, seed):
    """Any shape, rank, label density and scale (small integers times a power of
    two multiply exactly in float32, so the rank is exact)."""
    g = torch.Generator().manual_seed(seed)
    a = torch.randint(-3, 4, (rows, rank), generator=g).float()
    x = a @ torch.randint(-3, 4, (rank, dim), generator=g).float() * 2.0**exponent
    y = (torch.rand(rows, labels, generator=g) < density).float()
    _check_against_reference(x, y)

"""The exact top-k projection of the ADMM baseline, tested alone."""
import pytest
import torch

from baselines.projection import keep_count, magnitude_mask, project


def _check_topk(weight: torch.Tensor, mask: torch.Tensor, k: int) -> None:
    assert mask.dtype == torch.bool and mask.shape == weight.shape
    assert int(mask.sum()) == k
    mags = weight.abs()
    if 0 < k < weight.numel():
        assert mags[mask].min() >= mags[~mask].max()


@pytest.mark.parametrize("shape", [(10,), (6, 5), (4, 3, 3, 3)])
@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.5, 0.9, 1.0])
@pytest.mark.parametrize("ties", [False, True])
def test_magnitude_mask_keeps_exactly_k_largest(shape, fraction, ties):
    gen = torch.Generator().manual_seed(0)
    if ties:  # few distinct magnitudes, both signs: many ties at the boundary
        weight = (torch.randint(-2, 3, shape, generator=gen)).float()
    else:
        weight = torch.randn(shape, generator=gen)
    k = round(fraction * weight.numel())
    _check_topk(weight, magnitude_mask(weight, k), k)


def test_magnitude_mask_all_equal():
    weight = torch.ones(7, 3)
    assert int(magnitude_mask(weight, 5).sum()) == 5  # a threshold would keep all 21
    assert int(magnitude_mask(torch.zeros(4), 2).sum()) == 2


def test_magnitude_mask_uses_magnitude():
    weight = torch.tensor([0.1, -5.0, 0.3, 2.0, -0.2])
    assert magnitude_mask(weight, 2).tolist() == [False, True, False, True, False]


def test_project_is_pure_and_exact():
    weight = torch.tensor([[0.5, -3.0], [1.0, 2.0]], requires_grad=True)
    before = weight.detach().clone()
    z = project(weight, 2)
    assert torch.equal(weight.detach(), before)
    assert not z.requires_grad and z.dtype == weight.dtype
    assert torch.equal(z, torch.tensor([[0.0, -3.0], [0.0, 2.0]]))
    assert torch.equal(project(before, 4), before)
    assert torch.count_nonzero(project(before, 0)) == 0


def test_project_float64_and_half():
    for dtype in (torch.float64, torch.float16):
        weight = torch.randn(8, 8, generator=torch.Generator().manual_seed(1)).to(dtype)
        z = project(weight, 10)
        assert z.dtype == dtype and torch.count_nonzero(z) == 10


@pytest.mark.parametrize("numel,sparsity,k", [(10, 0.0, 10), (10, 0.9, 1), (100, 0.75, 25), (7, 0.5, 4)])
def test_keep_count(numel, sparsity, k):
    assert keep_count(numel, sparsity) == k


@pytest.mark.parametrize("sparsity", [-0.1, 1.0, 1.5])
def test_keep_count_rejects_bad_sparsity(sparsity):
    with pytest.raises(ValueError, match=r"keep_count: sparsity must be in \[0, 1\)"):
        keep_count(10, sparsity)


@pytest.mark.parametrize("k", [-1, 11])
def test_magnitude_mask_rejects_bad_k(k):
    with pytest.raises(ValueError, match=r"magnitude_mask: k must be in \[0, 10\]"):
        magnitude_mask(torch.randn(10), k)

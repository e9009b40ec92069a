import math

import pytest
import torch

from gnn_sparse import DSTEE
from gnn_sparse.vision import DigitsCNN, erk_sparsities, masked_layers, resnet50, vgg19

# VGG-19 (CIFAR) kernels written out by hand: (out, in, 3, 3) for the 16 convs, then the
# classifier (10, 512). RigL's convention leaves the first conv (64, 3, 3, 3) unmasked.
CONVS = [(64, 3), (64, 64), (128, 64), (128, 128), (256, 128), (256, 256), (256, 256), (256, 256),
         (512, 256)] + [(512, 512)] * 7
CONV_NAMES = [f"features.{i}.weight" for i in (0, 3, 7, 10, 14, 17, 20, 23, 27, 30, 33, 36, 40, 43, 46, 49)]


@pytest.fixture(scope="module")
def vgg():
    torch.manual_seed(0)
    return vgg19(10)


def test_rigl_convention_first_dense_last_sparse(vgg):
    names = masked_layers(vgg)
    assert names == CONV_NAMES[1:] + ["classifier.weight"]
    assert masked_layers(vgg, prune_first_layer=True) == CONV_NAMES + ["classifier.weight"]
    assert masked_layers(vgg, prune_last_layer=False) == CONV_NAMES[1:]
    model = resnet50()
    names = masked_layers(model)
    assert names[0] == "layer1.0.conv1.weight" and names[-1] == "linear.weight" and "conv1.weight" not in names
    assert "layer1.0.shortcut.0.weight" in names and len(names) == 53


def test_nothing_left_to_mask():
    model = torch.nn.Sequential(torch.nn.Linear(3, 2))
    with pytest.raises(ValueError, match="masked_layers: Sequential has only .* no layer is left to mask"):
        masked_layers(model)


@pytest.mark.parametrize("sparsity", [0.9, 0.98])
def test_vgg19_erk_equals_hand_computation(vgg, sparsity):
    out = erk_sparsities(vgg, sparsity)
    assert list(out) == CONV_NAMES[1:] + ["classifier.weight"]
    # ERK density of an (o, i, 3, 3) kernel: eps * (o + i + 3 + 3) / (o * i * 9). The
    # classifier's would be eps * 522 / 5120 > 1, so it is dense; eps spends the rest of the
    # budget (1 - s) * N on the convs:
    convs = CONVS[1:]
    total = sum(o * i * 9 for o, i in convs) + 10 * 512
    eps = ((1 - sparsity) * total - 10 * 512) / sum(o + i + 6 for o, i in convs)
    assert eps * 522 / 5120 > 1
    for name, (o, i) in zip(CONV_NAMES[1:], convs):
        density = eps * (o + i + 6) / (o * i * 9)
        assert density < 1
        assert out[name] == pytest.approx(1 - density, abs=1e-12)
    assert out["classifier.weight"] == 0.0


@pytest.mark.parametrize("sparsity", [0.9, 0.98])
def test_vgg19_global_sparsity_exact(vgg, sparsity):
    dist = erk_sparsities(vgg, sparsity)
    optimizer = torch.optim.SGD(vgg.parameters(), lr=0.1, momentum=0.9)
    sparsifier = DSTEE(vgg, optimizer, distribution=dist, params=list(dist), update_interval=100, end_step=1000)
    report = sparsifier.sparsity_report()
    total = sum(r["numel"] for r in report.values())
    active = 0
    for name, r in report.items():
        k = round((1 - dist[name]) * r["numel"])
        assert r["active"] == k and r["zeros"] >= r["numel"] - k  # exact per layer
        active += k
    # per layer the count is rounded, so globally it is off by at most half a weight per layer
    assert abs(active - (1 - sparsity) * total) <= len(report) / 2
    assert 1 - active / total == pytest.approx(sparsity, abs=1e-6)
    assert dict(vgg.named_parameters())["features.0.weight"].ne(0).all()  # first conv dense
    sparsifier.squash()


def test_erk_budget_on_digits_cnn_counts_masked_layers_only():
    params = dict(DigitsCNN().named_parameters())
    dist = erk_sparsities(DigitsCNN(), 0.8)
    assert list(dist) == ["features.3.weight", "classifier.weight"]  # first conv left out
    total = sum(math.prod(params[n].shape) for n in dist)
    nnz = sum((1 - s) * params[n].numel() for n, s in dist.items())
    assert nnz == pytest.approx(0.2 * total)

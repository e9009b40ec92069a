"""FLOPs accounting: counts equal a hand computation for a 2-layer MLP, a small CNN and a tiny GCN."""
import pytest
import torch
from torch import nn
from torch_geometric.nn import GCNConv

from gnn_sparse.sparsity.flops import (
    count_forward_flops,
    flops_summary,
    sparse_forward_flops,
    training_flops,
    training_step_flops,
)


def test_two_layer_mlp_by_hand():
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    x = torch.randn(5, 4)
    flops = count_forward_flops(model, lambda: model(x))
    # 5 rows x 4 x 8 multiply-adds, 5 x 8 x 3 multiply-adds, 2 FLOPs each
    assert flops == {"0.weight": 2 * 5 * 4 * 8, "2.weight": 2 * 5 * 8 * 3}
    density = {"0.weight": 0.25, "2.weight": 0.5}
    assert sparse_forward_flops(flops, density) == 0.25 * 320 + 0.5 * 240 == 200
    assert training_step_flops(flops, density) == 3 * 200
    assert training_step_flops(flops, density, dense_gradient=True) == 2 * 200 + 320 + 240
    # 3 epochs of 10 such steps, 2 of them with RigL's dense weight gradient
    epoch = {k: 10 * f for k, f in flops.items()}
    assert training_flops(epoch, [(3, density)], flops, 2, density) == 3 * 10 * 600 + 2 * (960 - 600)
    # ADMM: 2 dense epochs, then 1 sparse epoch
    assert training_flops(epoch, [(2, {}), (1, density)]) == 2 * 10 * 3 * 560 + 10 * 600
    summary = flops_summary(epoch, flops, [(3, density)], flops, 2, density)
    assert summary["train_ratio"] == pytest.approx((18000 + 720) / (3 * 10 * 3 * 560))
    assert summary["inference_ratio"] == pytest.approx(200 / 560)


def test_rows_of_a_batched_linear_and_a_layer_called_twice_are_summed():
    lin = nn.Linear(3, 2)
    x = torch.randn(4, 5, 3)  # 20 rows
    assert count_forward_flops(lin, lambda: (lin(x), lin(x[:1]))) == {"weight": 2 * 20 * 3 * 2 + 2 * 5 * 3 * 2}


def test_conv_by_hand():
    model = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 6, 3, stride=2, groups=2))
    x = torch.randn(2, 2, 8, 8)
    flops = count_forward_flops(model, lambda: model(x))
    # conv 1: 8x8 outputs per image, 4 x 2 x 3 x 3 weights; conv 2: 3x3 outputs, 6 x 2 x 3 x 3 weights
    assert flops == {"0.weight": 2 * 2 * 8 * 8 * 4 * 2 * 9, "2.weight": 2 * 2 * 3 * 3 * 6 * 2 * 9}


@pytest.mark.parametrize("normalize", [False, True])
def test_tiny_gcn_by_hand(normalize):
    conv = GCNConv(3, 2, normalize=normalize)
    x = torch.randn(4, 3)
    edge_index = torch.tensor([[0, 1, 1, 2, 3], [1, 0, 2, 3, 0]])
    flops = count_forward_flops(conv, lambda: conv(x, edge_index))
    edges = 5 + (4 if normalize else 0)  # gcn_norm adds a self-loop per node
    assert flops == {"lin.weight": 2 * 4 * 3 * 2, ":propagate": 2 * edges * 2}
    # the propagation is not scaled by the weight's density and costs 2F in training (no weight gradient)
    assert sparse_forward_flops(flops, {"lin.weight": 0.5}) == 24 + 2 * edges * 2
    assert training_step_flops(flops, {"lin.weight": 0.5}) == 3 * 24 + 2 * (2 * edges * 2)

import pytest
import torch
from torch import nn
from torch_geometric.nn import GCNConv, Linear as PygLinear

from gnn_sparse import DSTEE
from gnn_sparse.sparsity import select_parameters


class Mixed(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(10, 4)
        self.conv = nn.Conv1d(4, 6, 3)
        self.norm = nn.LayerNorm(6)
        self.lin = PygLinear(6, 5)
        self.head = nn.Linear(5, 2)


def test_default_selection_takes_linear_conv_and_pyg_linear_weights_only():
    assert list(select_parameters(Mixed())) == ["conv.weight", "lin.weight", "head.weight"]


def test_named_patterns_and_modules():
    m = Mixed()
    assert list(select_parameters(m, ["head.*"])) == ["head.weight", "head.bias"]
    assert list(select_parameters(m, [m.emb, "norm.weight"])) == ["emb.weight", "norm.weight"]


def test_unknown_name():
    with pytest.raises(ValueError, match="Parameter 'fc9.weight' does not exist"):
        select_parameters(Mixed(), ["fc9.weight"])


def test_no_layer_matched():
    with pytest.raises(ValueError, match="No layer matched in Embedding"):
        select_parameters(nn.Embedding(3, 3))


def test_lazy_pyg_linear_needs_a_forward_first():
    model = nn.Sequential(PygLinear(-1, 8), nn.ReLU(), PygLinear(8, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="still uninitialised"):
        DSTEE(model, opt, sparsity=0.5, update_interval=2, end_step=10)
    model(torch.randn(3, 5))
    s = DSTEE(model, opt, sparsity=0.5, update_interval=2, end_step=10)
    assert s.sparsity_report()["0.weight"]["active"] == 20


def test_gcn_conv_weights_are_selected_by_default():
    names = list(select_parameters(GCNConv(4, 4)))
    assert names == ["lin.weight"]


def test_parameter_not_in_optimizer():
    m = Mixed()
    opt = torch.optim.SGD(m.head.parameters(), lr=0.1)
    with pytest.raises(ValueError, match=r"\['conv.weight', 'lin.weight'\] are selected .* not in the optimizer"):
        select_parameters(m, None, opt)

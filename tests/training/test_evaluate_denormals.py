"""Evaluation flushes denormal floats (decayed weights of pruned units) and leaves the
thread's float mode as it found it."""
import platform

import torch

from gnn_sparse.models import build_link_predictor
from gnn_sparse.training.loop import evaluate
from gnn_sparse.utils.denormals import flushing_denormals

X86 = platform.machine().lower() in ("x86_64", "amd64")


def test_evaluate_with_denormal_weights_matches_them_zeroed_and_restores_the_mode(tiny_dataset):
    torch.manual_seed(0)
    ds = tiny_dataset
    features = torch.randn(ds.num_nodes, 8)
    model = build_link_predictor(ds.num_nodes, "twalk", node_features=features)
    with torch.no_grad():
        model.fc1.weight[::3] = 1e-40  # rows of "pruned" units, decayed into the denormal range
        model.fc1.bias[::3] = 3e-39
    pairs, labels = ds.test.edge_label_index, ds.test.edge_label
    modes, decode = [], model.decode
    model.decode = lambda *args: modes.append(flushing_denormals()) or decode(*args)
    flushed = evaluate(model, None, pairs, labels)
    assert modes and all(modes) == X86 and not flushing_denormals()
    del model.decode
    with torch.no_grad():
        model.fc1.weight[::3] = 0.0
        model.fc1.bias[::3] = 0.0
    assert evaluate(model, None, pairs, labels) == flushed

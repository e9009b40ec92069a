"""Skip-gram embeddings and pair features: shapes, zeros for unseen nodes, determinism, errors."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from gnn_sparse.features import pair_features, skipgram_embeddings

WALKS = np.array([[0, 1, 2, -1], [1, 2, 0, 1], [2, 0, -1, -1], [3, -1, -1, -1]])


def test_embeddings_shape_and_zero_rows_for_nodes_without_context():
    z = skipgram_embeddings(WALKS, 6, dim=4, window=2, seed=1)
    assert z.shape == (6, 4) and z.dtype == torch.float32
    assert (z[:3].abs().sum(1) > 0).all()
    assert (z[3:] == 0).all()  # node 3 only in a one-node walk, nodes 4, 5 in none


def test_same_seed_same_embeddings_other_seed_other_embeddings():
    a = skipgram_embeddings(WALKS, 4, seed=5)
    assert torch.equal(a, skipgram_embeddings(WALKS, 4, seed=5))
    assert not torch.equal(a, skipgram_embeddings(WALKS, 4, seed=6))


def test_embeddings_do_not_depend_on_python_hash_seed():
    code = ("import numpy as np; from gnn_sparse.features import skipgram_embeddings; "
            f"print(skipgram_embeddings(np.array({WALKS.tolist()}), 4, seed=5).numpy().tobytes().hex())")
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": h}).stdout for h in ("1", "2")}
    assert len(outs) == 1
    assert bytes.fromhex(outs.pop().strip()) == skipgram_embeddings(WALKS, 4, seed=5).numpy().tobytes()


@pytest.mark.parametrize(
    "kwargs, walks, match",
    [
        ({"dim": 0}, WALKS, "dim must be >= 1"),
        ({"window": 0}, WALKS, "window must be >= 1"),
        ({"negatives": 0}, WALKS, "negatives must be >= 1"),
        ({"epochs": 0}, WALKS, "epochs must be >= 1"),
        ({"seed": -1}, WALKS, "seed must be in"),
        ({}, np.array([0, 1, 2]), "2-D integer array"),
        ({}, np.array([[0, 9]]), r"node id 9 is not in \[0, 4\)"),
        ({}, np.array([[0, -1], [1, -1]]), "no walk has two or more nodes"),
    ],
)
def test_bad_embedding_input_is_rejected(kwargs, walks, match):
    with pytest.raises(ValueError, match=match):
        skipgram_embeddings(walks, 4, **kwargs)


def test_pair_features_concatenate_source_then_destination():
    z = torch.arange(6.0).view(3, 2)
    x = pair_features(z, torch.tensor([[0, 2, 1], [1, 0, 1]]))
    assert torch.equal(x, torch.tensor([[0.0, 1, 2, 3], [4, 5, 0, 1], [2, 3, 2, 3]]))
    assert pair_features(z, torch.empty(2, 0, dtype=torch.long)).shape == (0, 4)


@pytest.mark.parametrize(
    "z, index, match",
    [
        (torch.zeros(3), torch.zeros(2, 1, dtype=torch.long), r"embeddings must be \[N, k\]"),
        (torch.zeros(3, 2), torch.zeros(3, 1, dtype=torch.long), r"edge_label_index must be \[2, P\]"),
        (torch.zeros(3, 2), torch.zeros(2, 1), "must hold integers"),
        (torch.zeros(3, 2), torch.tensor([[0], [3]]), r"node ids must be in \[0, 3\)"),
    ],
)
def test_bad_pair_input_is_rejected(z, index, match):
    with pytest.raises(ValueError, match=match):
        pair_features(z, index)


def test_params_object_and_overrides_give_one_result_and_a_misspelt_option_is_named():
    from gnn_sparse.features import SkipGramParams

    params = SkipGramParams(dim=4, seed=5)
    assert torch.equal(skipgram_embeddings(WALKS, 4, params), skipgram_embeddings(WALKS, 4, dim=4, seed=5))
    assert torch.equal(skipgram_embeddings(WALKS, 4, params, seed=6), skipgram_embeddings(WALKS, 4, dim=4, seed=6))
    with pytest.raises(TypeError, match="'dimm'"):
        skipgram_embeddings(WALKS, 4, dimm=4)
    with pytest.raises(ValueError, match="dim must be >= 1, got 0"):
        skipgram_embeddings(WALKS, 4, params, dim=0)

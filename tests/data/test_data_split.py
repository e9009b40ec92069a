import numpy as np
import pytest

from gnn_sparse.data import SplitError, chronological_split, original_split
from gnn_sparse.data.split import split_sizes


def test_chronological_is_contiguous_in_time_order():
    train, val, test = chronological_split(10, 0.2, 0.2)
    assert train.tolist() == list(range(6))
    assert val.tolist() == [6, 7] and test.tolist() == [8, 9]


@pytest.mark.parametrize("n, ratios, sizes", [
    (332334, (0.2, 0.2), (199400, 66467, 66467)),
    (100, (0.1, 0.3), (60, 10, 30)),
    (3, (0.2, 0.2), (1, 1, 1)),
])
def test_split_sizes(n, ratios, sizes):
    assert split_sizes(n, *ratios) == sizes


@pytest.mark.parametrize("n", [0, 1, 2])
def test_too_few_edges(n):
    with pytest.raises(SplitError, match=rf"too few edges for the split: {n} events give train/val/test"):
        chronological_split(n, 0.2, 0.2)


@pytest.mark.parametrize("val, test", [(0.0, 0.2), (0.5, 0.5), (0.2, -0.1), (1.0, 0.1)])
def test_bad_ratios(val, test):
    with pytest.raises(ValueError, match="need 0 < val_ratio, 0 < test_ratio"):
        chronological_split(100, val, test)


def test_original_split_is_leaky_and_seeded():
    n = 1000
    train, val, test = original_split(n, 0.2, 0.2, np.random.default_rng(0))
    assert test.tolist() == list(range(800, 1000))
    assert len(train) == 600 and len(val) == 200
    assert len(np.unique(train)) == 600 and train.max() < 800 and val.max() < 800
    assert len(np.intersect1d(train, val)) > 0  # validation overlaps training: the documented flaw
    again = original_split(n, 0.2, 0.2, np.random.default_rng(0))
    assert all(np.array_equal(a, b) for a, b in zip((train, val, test), again))

import numpy as np
import pytest

from gnn_sparse.data import SplitError, sample_negatives
from gnn_sparse.data.pairs import is_member, keys_to_edge_index, pair_keys, sorted_unique, unique_pairs


def test_pair_keys_round_trip_and_dedup():
    src, dst = np.array([2, 0, 2, 1]), np.array([1, 3, 1, 1])
    keys = unique_pairs(src, dst, 4, directed=True)
    assert keys_to_edge_index(keys, 4).tolist() == [[0, 1, 2], [3, 1, 1]]
    sym = keys_to_edge_index(unique_pairs(src, dst, 4, directed=False), 4)
    assert sym.T.tolist() == [[0, 3], [1, 1], [1, 2], [2, 1], [3, 0]]


def test_pair_keys_fit_int64_near_the_limit():
    n = 3_000_000_000
    keys = pair_keys(np.array([n - 1]), np.array([n - 2]), n)
    assert keys_to_edge_index(keys, n).tolist() == [[n - 1], [n - 2]]
    with pytest.raises(ValueError, match="do not fit 64-bit pair keys"):
        pair_keys(np.array([0]), np.array([0]), 4_000_000_000)


def test_is_member_and_sorted_unique_match_numpy():
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 50, 200), rng.integers(0, 50, 100)
    assert np.array_equal(sorted_unique(a), np.unique(a))
    assert np.array_equal(is_member(b, np.unique(a)), np.isin(b, a))
    assert not is_member(b, np.array([], dtype=np.int64)).any()


def random_graph(n=30, m=200, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, n, m), rng.integers(0, n, m)


@pytest.mark.parametrize("directed", [True, False])
@pytest.mark.parametrize("ratio", [1.0, 0.5, 2.5])
def test_negatives_are_never_edges(directed, ratio):
    n = 30
    src, dst = random_graph(n)
    forbidden = unique_pairs(src, dst, n, directed)
    pos = np.stack([src[:100], dst[:100]])
    neg = sample_negatives(pos, n, forbidden, np.random.default_rng(1), ratio)
    assert neg.shape == (2, round(ratio * 100))
    assert not is_member(pair_keys(neg[0], neg[1], n), forbidden).any()
    assert (neg[0] != neg[1]).all()
    if not directed:  # neither direction of an edge is a negative
        assert not is_member(pair_keys(neg[1], neg[0], n), unique_pairs(src, dst, n, True)).any()


def test_first_half_corrupts_the_destination():
    n = 30
    src, dst = random_graph(n)
    pos = np.stack([src[:101], dst[:101]])
    neg = sample_negatives(pos, n, unique_pairs(src, dst, n, False), np.random.default_rng(0))
    assert neg.shape == (2, 101)
    # ceil(101/2) rows keep the source of distinct positives: a sub-multiset of the sources
    assert (np.bincount(neg[0, :51], minlength=n) <= np.bincount(pos[0], minlength=n)).all()


def test_each_positive_anchors_once_at_ratio_two():
    pos = np.stack([np.arange(10), (np.arange(10) + 1) % 10])
    neg = sample_negatives(pos, 1000, np.array([], dtype=np.int64), np.random.default_rng(0), ratio=2.0)
    assert sorted(neg[0, :10].tolist()) == list(range(10))  # 10 corrupt-dst rows: each source once


def test_seeded():
    n = 30
    src, dst = random_graph(n)
    forbidden = unique_pairs(src, dst, n, False)
    pos = np.stack([src, dst])
    a = sample_negatives(pos, n, forbidden, np.random.default_rng(7))
    b = sample_negatives(pos, n, forbidden, np.random.default_rng(7))
    c = sample_negatives(pos, n, forbidden, np.random.default_rng(8))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_saturated_source_falls_back_to_both_ends():
    # node 0 links to every other node: no corrupted destination exists for it
    n = 6
    src = np.array([0, 0, 0, 0, 0])
    dst = np.array([1, 2, 3, 4, 5])
    forbidden = unique_pairs(src, dst, n, True)
    neg = sample_negatives(np.stack([src, dst]), n, forbidden, np.random.default_rng(0), max_rounds=8)
    assert neg.shape == (2, 5)
    assert not is_member(pair_keys(neg[0], neg[1], n), forbidden).any()
    assert (neg[0] != 0).all()


def test_complete_graph_raises():
    n = 4
    s, d = np.meshgrid(np.arange(n), np.arange(n))
    forbidden = unique_pairs(s.ravel(), d.ravel(), n, True)
    with pytest.raises(SplitError, match="could not draw 2 negatives in 16 rounds"):
        sample_negatives(np.array([[0, 1], [1, 2]]), n, forbidden, np.random.default_rng(0), max_rounds=8)

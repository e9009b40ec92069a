"""Fixed ranking negatives: valid, distinct, padded where a source has too few, uniform, seeded."""
import numpy as np
import pytest
import torch

from gnn_sparse.data import load_dataset
from gnn_sparse.data.pairs import unique_pairs
from gnn_sparse.data.ranking import ValidDestinations, sample_ranking_negatives


def _valid_destinations(u, n, forbidden):
    """D_u by brute force: every node but u that forms no forbidden pair with u."""
    keys = set(forbidden.tolist())
    return {v for v in range(n) if v != u and u * n + v not in keys}


def _draw(positives, n, forbidden, k, seed=0):
    destinations = ValidDestinations.from_forbidden(torch.from_numpy(forbidden), n)
    return sample_ranking_negatives(torch.from_numpy(positives), destinations, k, torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("directed", [True, False])
@pytest.mark.parametrize("n, edges, k", [(40, 300, 5), (40, 300, 30), (12, 100, 4)])  # 30, 4: some rows short
def test_negatives_are_valid_distinct_and_padded_at_the_end(directed, n, edges, k):
    rng = np.random.default_rng(1)
    src, dst = rng.integers(0, n, edges), rng.integers(0, n, edges)
    forbidden = unique_pairs(src, dst, n, directed)
    positives = np.stack([src[:100], dst[:100]])
    out = _draw(positives, n, forbidden, k)
    assert out.shape == (100, k) and out.dtype == torch.int32
    for row, u in zip(out.tolist(), positives[0].tolist()):
        valid = _valid_destinations(u, n, forbidden)
        taken = [v for v in row if v >= 0]
        assert len(set(taken)) == len(taken) == min(k, len(valid))  # never one negative twice
        assert set(taken) <= valid  # never an edge, never the source, never the positive's own destination
        assert row[len(taken):] == [-1] * (k - len(taken))


def test_a_source_joined_to_every_node_has_no_negative():
    n = 6
    src = np.array([0] * 5 + [1, 1])
    dst = np.array([1, 2, 3, 4, 5, 2, 3])
    out = _draw(np.stack([src, dst]), n, unique_pairs(src, dst, n, True), 3)
    assert out[:5].tolist() == [[-1, -1, -1]] * 5  # node 0 points at every other node
    assert sorted(out[5].tolist()) == sorted(out[6].tolist()) == [0, 4, 5]  # node 1: its three valid ones


@pytest.mark.parametrize("k, n", [(3, 8), (3, 60)])  # a permutation (|D_u| <= 2k), redrawn repeats (|D_u| > 2k)
def test_each_valid_destination_is_drawn_equally_often(k, n):
    src = np.zeros(6000, dtype=np.int64)  # one source, many positives: each row its own draw
    forbidden = unique_pairs(np.array([0]), np.array([1]), n, True)  # D_0 = {2, ..., n-1}
    out = _draw(np.stack([src, np.ones_like(src)]), n, forbidden, k, seed=3).numpy()
    counts = np.bincount(out.ravel(), minlength=n)
    assert counts[:2].sum() == 0
    expected = 6000 * k / (n - 2)
    # binomial spread of one count: sqrt(N p (1 - p)); 5 sigma never fails by chance here
    assert np.abs(counts[2:] - expected).max() < 5 * np.sqrt(expected * (1 - k / (n - 2)))
    assert len({tuple(sorted(r)) for r in out.tolist()}) > 1  # rows differ


def test_dataset_negatives_are_fixed_by_the_seed_and_independent_of_the_model(tiny_dataset):
    a, b = tiny_dataset.ranking_negatives(20), tiny_dataset.ranking_negatives(20)
    for split in ("val", "test"):
        positives = int(getattr(tiny_dataset, split).edge_label.sum())
        assert a[split].shape == (positives, 20)
        assert torch.equal(a[split], b[split])  # drawn again: the same
    assert not torch.equal(a["val"][:50], a["test"][:50])  # each split its own stream
    other = load_dataset("synthetic", num_nodes=200, num_events=4000, seed=1).ranking_negatives(20)
    assert not torch.equal(other["val"], a["val"])


def test_ranking_streams_leave_the_split_and_labelled_negatives_unchanged():
    """The split and labelled negatives are children 0-3 of SeedSequence(seed), as before the
    ranking streams (4, 5) were added: committed results keep their splits."""
    from gnn_sparse.data.negatives import sample_negatives

    ds = load_dataset("synthetic", num_nodes=200, num_events=4000, seed=7)
    val = ds.val.edge_label_index
    positives = val[:, ds.val.edge_label == 1].numpy()
    old_stream = np.random.default_rng(np.random.SeedSequence(7).spawn(4)[2])
    assert np.array_equal(sample_negatives(positives, ds.num_nodes, ds._forbidden, old_stream),
                          val[:, ds.val.edge_label == 0].numpy())

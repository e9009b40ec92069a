"""Temporal random walks: time order, real out-edges, maximality, probabilities, seeding, errors."""
from __future__ import annotations

import numpy as np
import pytest

from gnn_sparse.features import temporal_random_walks


def _random_graph(seed=0, n=30, e=400, times=20):
    """A directed multigraph with many timestamp ties (integer times in ``0..times-1``)."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, n, e), rng.integers(0, n, e), rng.integers(0, times, e).astype(float) * 7.5, n


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("dt", [None, 0.05])
def test_walks_follow_out_edges_strictly_forward_in_time(seed, dt):
    src, dst, time, n = _random_graph(seed)
    walks = temporal_random_walks(src, dst, time, n, walks_per_node=5, walk_length=6, dt=dt, seed=seed)
    nodes, edges = walks.nodes, walks.edges
    assert nodes.shape == (5 * len(np.unique(src)), 7) and edges.shape == (len(nodes), 6)
    for i in range(len(walks)):
        k = walks.lengths[i]
        assert (edges[i, k:] == -1).all() and (nodes[i, k + 1:] == -1).all() and (edges[i, :k] >= 0).all()
        e = edges[i, :k]
        np.testing.assert_array_equal(src[e], nodes[i, :k])  # each step leaves the current node
        np.testing.assert_array_equal(dst[e], nodes[i, 1:k + 1])  # ... and arrives at the edge's head
        assert (np.diff(time[e]) > 0).all()  # strictly later at every step
        if k < 6:  # stopped early: no strictly later out-edge at the last node
            last, t_last = nodes[i, k], time[e[-1]] if k else -np.inf
            assert not ((src == last) & (time > t_last)).any()
    assert walks.lengths.max() >= 3


def test_walks_start_at_every_node_with_an_out_edge_round_by_round():
    src, dst, time = np.array([3, 0, 3]), np.array([0, 1, 1]), np.array([1.0, 2.0, 3.0])
    walks = temporal_random_walks(src, dst, time, 5, walks_per_node=2, walk_length=2)
    np.testing.assert_array_equal(walks.nodes[:, 0], [0, 3, 0, 3])  # nodes 1, 2, 4 have no out-edge


def test_first_step_may_take_the_earliest_edge_and_ties_block():
    # 0 -> 1 at t=0 (the earliest time), then 1 -> 2 at the same t=0 (not strictly later)
    walks = temporal_random_walks(np.array([0, 1]), np.array([1, 2]), np.array([0.0, 0.0]), 3, walk_length=3)
    np.testing.assert_array_equal(walks.nodes[0], [0, 1, -1, -1])
    np.testing.assert_array_equal(walks.nodes[1], [1, 2, -1, -1])


def _step_frequencies(dt):
    """Empirical distribution of the second step out of node 1 after arriving there at t=1."""
    # 0 -> 1 at t=1; node 1 has out-edges at t = 0.5 (too early), 2, 3, 5 (to nodes 2, 3, 4, 5)
    src = np.array([0, 1, 1, 1, 1])
    dst = np.array([1, 2, 3, 4, 5])
    time = np.array([1.0, 0.5, 2.0, 3.0, 5.0])
    walks = temporal_random_walks(src, dst, time, 6, walks_per_node=40_000, walk_length=2, dt=dt, seed=3)
    from_0 = walks.nodes[walks.nodes[:, 0] == 0]
    return np.bincount(from_0[:, 2], minlength=6)[2:] / len(from_0), time


@pytest.mark.parametrize("dt", [None, 0.5])
def test_step_probability_is_exp_of_time_gap_over_dt(dt):
    freq, time = _step_frequencies(dt)
    t = (time - time.min()) / (time.max() - time.min())  # normalised to [0, 1]
    span = t[1:].max() - t[1:].min() if dt is None else dt  # node 1's out-edge time span
    weight = np.where(t[1:] > t[0], np.exp((t[1:] - t[0]) / span), 0.0)
    np.testing.assert_allclose(freq, weight / weight.sum(), atol=0.01)
    assert freq[0] == 0  # the edge before the arrival time is never taken


def test_zero_time_span_gives_a_uniform_choice():
    src, dst, time = np.zeros(3, dtype=int), np.array([1, 2, 3]), np.full(3, 4.0)
    walks = temporal_random_walks(src, dst, time, 4, walks_per_node=30_000, walk_length=1)
    freq = np.bincount(walks.nodes[walks.nodes[:, 0] == 0, 1], minlength=4)[1:] / 30_000
    np.testing.assert_allclose(freq, 1 / 3, atol=0.01)


def test_same_seed_same_walks_other_seed_other_walks():
    src, dst, time, n = _random_graph()
    a = temporal_random_walks(src, dst, time, n, seed=7)
    b = temporal_random_walks(src, dst, time, n, seed=7)
    c = temporal_random_walks(src, dst, time, n, seed=8)
    np.testing.assert_array_equal(a.nodes, b.nodes)
    np.testing.assert_array_equal(a.edges, b.edges)
    assert not np.array_equal(a.nodes, c.nodes)


@pytest.mark.parametrize(
    "kwargs, events, match",
    [
        ({"walk_length": 0}, None, "walk_length must be >= 1"),
        ({"walks_per_node": 0}, None, "walks_per_node must be >= 1"),
        ({"dt": 0.0}, None, "dt must be a finite float > 0"),
        ({"dt": float("nan")}, None, "dt must be a finite float > 0"),
        ({}, ([0, 1], [1], [0.0, 1.0]), "1-D of one length"),
        ({}, ([], [], []), "no events"),
        ({}, ([0.0], [1.0], [0.0]), "must be integers"),
        ({}, ([0], [9], [0.0]), r"must be in \[0, 3\)"),
        ({}, ([0], [1], [np.nan]), "finite"),
    ],
)
def test_bad_input_is_rejected_with_a_clear_message(kwargs, events, match):
    src, dst, time = events or ([0, 1], [1, 2], [0.0, 1.0])
    with pytest.raises(ValueError, match=match):
        temporal_random_walks(np.array(src), np.array(dst), np.array(time), 3, **kwargs)

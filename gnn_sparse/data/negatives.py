"""Negative sampling for link prediction: pairs that are never an edge of the graph.

For ``P`` positives and ``ratio`` :math:`\\rho`, :math:`N = \\operatorname{round}(\\rho P)`
negatives are drawn, as in the original pipeline:

* the first :math:`\\lceil N/2 \\rceil` keep the source of a positive and draw the
  destination uniformly (*corrupt the destination*). Positives are used in a random order,
  cycled when :math:`\\rho > 1`, so each is used :math:`\\lfloor\\rho\\rfloor` or
  :math:`\\lceil\\rho\\rceil` times;
* the other :math:`\\lfloor N/2 \\rfloor` draw both ends uniformly (*corrupt both ends*).

A draw is rejected, and only the rejected rows are redrawn (vectorised), while it is a
self-pair ``(u, u)`` or its 64-bit key is among the ``forbidden`` keys (every pair that is an
edge anywhere in the graph, at any time, in any split; see :mod:`gnn_sparse.data.pairs`).
With edge density :math:`d`, each round keeps about a fraction :math:`d` of the rows, so the
expected number of rounds is :math:`O(\\log N / \\log(1/d))`. A source connected to every
other node has no valid corrupted destination: after ``max_rounds`` rounds its remaining rows
switch to corrupting both ends; a graph so dense that that fails too raises
:class:`~gnn_sparse.data.errors.SplitError`.
"""
from __future__ import annotations

import numpy as np

from gnn_sparse.data.errors import SplitError
from gnn_sparse.data.pairs import is_member, pair_keys


def sample_negatives(
    positives: np.ndarray,
    num_nodes: int,
    forbidden: np.ndarray,
    rng: np.random.Generator,
    ratio: float = 1.0,
    max_rounds: int = 64,
) -> np.ndarray:
    """Draw negatives for ``positives`` (rules in the module docstring).

    Args:
        positives: ``int64`` array ``[2, P]`` of (src, dst) node indices.
        num_nodes: number of nodes ``n``; negatives are drawn from ``[0, n)``.
        forbidden: sorted unique pair keys that must not be drawn.
        rng: numpy random generator (the only source of randomness).
        ratio: negatives per positive (default: ``1.0``).
        max_rounds: redraw rounds before rows switch to corrupting both ends, and again
            before giving up (default: ``64``).

    Returns:
        ``int64`` array ``[2, N]``; the first :math:`\\lceil N/2 \\rceil` columns corrupt the
        destination.

    Raises:
        SplitError: fewer than 2 nodes, or no non-edge found within ``2 * max_rounds`` rounds.
    """
    num_pos = positives.shape[1]
    num_neg = round(ratio * num_pos)
    if num_neg and num_nodes < 2:
        raise SplitError(f"cannot sample negatives in a graph with {num_nodes} node(s)")
    num_corrupt_dst = num_neg - num_neg // 2
    anchors = np.resize(rng.permutation(num_pos), num_corrupt_dst)
    src = np.concatenate([positives[0, anchors], rng.integers(0, num_nodes, num_neg // 2)])
    dst = rng.integers(0, num_nodes, num_neg)
    redraw_src = np.arange(num_neg) >= num_corrupt_dst

    def invalid(s: np.ndarray, d: np.ndarray) -> np.ndarray:
        return (s == d) | is_member(pair_keys(s, d, num_nodes), forbidden)

    bad = invalid(src, dst)
    for round_ in range(2 * max_rounds):
        rows = np.flatnonzero(bad)
        if len(rows) == 0:
            return np.stack([src, dst])
        if round_ == max_rounds:
            redraw_src[rows] = True
        dst[rows] = rng.integers(0, num_nodes, len(rows))
        both = rows[redraw_src[rows]]
        src[both] = rng.integers(0, num_nodes, len(both))
        bad[rows] = invalid(src[rows], dst[rows])
    raise SplitError(
        f"could not draw {num_neg} negatives in {2 * max_rounds} rounds: "
        f"{len(np.flatnonzero(bad))} draws kept hitting edges; the graph ({num_nodes} nodes, "
        f"{len(forbidden)} forbidden pairs) is too dense for ratio={ratio}"
    )

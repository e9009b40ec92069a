r"""Fixed negatives for ranking evaluation: each positive against many corrupted destinations.

For every positive :math:`(u, v)` of a split, :math:`K` destinations :math:`v'` are drawn
(TGB's one-vs-many protocol): uniformly *without replacement* among the valid destinations
of :math:`u`,

.. math::
    D_u = \{v' \in V : v' \neq u,\ (u, v') \notin \mathcal{F}\},

where :math:`\mathcal{F}` are the ``forbidden`` pairs, every edge of the graph in any split
(both directions unless the dataset is directed, as for the labelled negatives of
:mod:`gnn_sparse.data.negatives`); so :math:`v \notin D_u`. Each positive has its own draw
(two positives of one source get different negatives).

A source with :math:`|D_u| < K` (a hub connected to almost every node, or a graph with
fewer than :math:`K + 2` nodes) gets all of :math:`D_u` and ``-1`` in the remaining slots:
it is ranked against fewer negatives, never against one twice (a repeated negative would
count twice in its rank). :func:`~gnn_sparse.training.metrics.ranks_among_negatives` leaves
the ``-1`` slots out.

How, without a Python loop over edges: the excluded destinations of :math:`u` (its forbidden
pairs plus :math:`u` itself) are a sorted run :math:`x_0 < x_1 < \dots` of the sorted pair
keys (:mod:`gnn_sparse.data.pairs`). Drawing :math:`K` distinct *ranks* :math:`r \in [0, |D_u|)`
and mapping each to the :math:`r`-th valid destination,

.. math::
    v' = r + \#\{i : x_i - i \le r\},

(the :math:`x_i - i` are non-decreasing: a binary search) never hits an excluded node, so no
draw is rejected however dense the source. Distinct ranks come from independent uniform
draws whose repeats are redrawn until none is left when :math:`|D_u| > 2K` (each draw
repeats another with probability below 1/2), and from a random permutation of
:math:`[0, |D_u|)` otherwise. Both give every :math:`K`-subset of :math:`D_u` the same
probability: neither treats one value differently from another.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from gnn_sparse.data.pairs import MAX_NODES

DRAW_CHUNK = 1 << 14
"""Positives drawn per pass (bounds the temporary memory: a few ``DRAW_CHUNK x K`` arrays).
Part of what the draw is: changing it changes the negatives of a seed."""


@dataclass(frozen=True)
class ValidDestinations:
    """The valid destinations :math:`D_u` of every source, as sorted excluded keys (module
    docstring); build it once per graph with :meth:`from_forbidden`, then draw for each split."""

    num_nodes: int
    excluded: torch.Tensor
    """Sorted keys ``u n + x`` of the excluded destinations ``x`` of every source ``u``."""
    gaps: torch.Tensor
    """``u n + (x_i - i)``, ``i`` the index of ``x_i`` in the run of ``u``: sorted too."""

    @classmethod
    def from_forbidden(cls, forbidden: torch.Tensor, num_nodes: int) -> "ValidDestinations":
        """From the sorted unique ``int64`` pair keys ``src * n + dst`` that are never a negative."""
        n = num_nodes
        if n > MAX_NODES:
            raise ValueError(f"{n} nodes do not fit 64-bit pair keys (at most {MAX_NODES})")
        excluded = torch.unique(torch.cat([forbidden.to(torch.int64), torch.arange(n, dtype=torch.int64) * (n + 1)]))
        source = excluded // n
        first = torch.searchsorted(excluded, source * n)  # where each key's source run starts
        return cls(n, excluded, source * n + excluded % n - (torch.arange(len(excluded)) - first))

    def run_start(self, sources: torch.Tensor) -> torch.Tensor:
        """Index of each source's first excluded key."""
        return torch.searchsorted(self.excluded, sources * self.num_nodes)

    def count(self, sources: torch.Tensor) -> torch.Tensor:
        """:math:`|D_u|` of each source."""
        return self.num_nodes - (torch.searchsorted(self.excluded, (sources + 1) * self.num_nodes)
                                 - self.run_start(sources))

    def nth(self, sources: torch.Tensor, ranks: torch.Tensor) -> torch.Tensor:
        """The ``ranks``-th (``[R, k]``, each in ``[0, |D_u|)``) valid destination of each source
        (``[R]``): the ``r``-th smallest node of :math:`D_u`."""
        queries = sources[:, None] * self.num_nodes + ranks
        below = torch.searchsorted(self.gaps, queries, right=True) - self.run_start(sources)[:, None]
        return ranks + below


def sample_ranking_negatives(positives: torch.Tensor, destinations: ValidDestinations, k: int,
                             generator: torch.Generator) -> torch.Tensor:
    """``K`` corrupted destinations per positive (rules in the module docstring).

    Positives are drawn in the order of their sources (stable), so the binary searches of
    one pass stay in a few runs of the keys: 2 x 10^5 positives of a graph with 10^6 nodes
    and 1.6 x 10^7 keys drew in 3.2 s instead of 10 s in time order.

    Args:
        positives: ``[2, P]`` (src, dst) node indices.
        destinations: the graph's :class:`ValidDestinations`.
        k: negatives per positive, ``>= 1``.
        generator: CPU generator, the only source of randomness.

    Returns:
        ``[P, k]`` destinations, ``int32`` (``int64`` beyond ``2**31 - 1`` nodes), ``-1`` in the
        slots of a source with fewer than ``k`` valid destinations; on the CPU.
    """
    if k < 1:
        raise ValueError(f"sample_ranking_negatives needs k >= 1, got {k}")
    n = destinations.num_nodes
    dtype = torch.int32 if n <= torch.iinfo(torch.int32).max else torch.int64
    src = positives[0].to(torch.int64)
    order = torch.argsort(src, stable=True)
    out = torch.empty(len(src), k, dtype=dtype)
    for start in range(0, len(src), DRAW_CHUNK):
        rows = order[start:start + DRAW_CHUNK]
        u = src[rows]
        ranks = _distinct_ranks(destinations.count(u), k, generator)
        nodes = destinations.nth(u, ranks.clamp_min(0))
        out[rows] = torch.where(ranks >= 0, nodes, -1).to(dtype)
    return out


def _distinct_ranks(num_valid: torch.Tensor, k: int, generator: torch.Generator) -> torch.Tensor:
    """``[R, k]``: per row, ``min(k, num_valid)`` distinct uniform values in ``[0, num_valid)``,
    then ``-1``."""
    ranks = torch.full((len(num_valid), k), -1, dtype=torch.int64)
    few = num_valid <= 2 * k
    if few.any():
        counts = num_valid[few]
        keys = torch.rand(len(counts), int(counts.max()), dtype=torch.float64, generator=generator)
        keys[torch.arange(keys.size(1)) >= counts[:, None]] = 2.0  # after every real value
        order = keys.argsort(dim=1)[:, :k]
        ranks[few, :order.size(1)] = torch.where(order < counts[:, None], order, -1)
    many = ~few
    if many.any():
        ranks[many] = _distinct_uniform(num_valid[many], k, generator)
    return ranks


def _distinct_uniform(high: torch.Tensor, k: int, generator: torch.Generator) -> torch.Tensor:
    """``[R, k]`` distinct values per row, uniform in ``[0, high)`` (``high > 2k``), sorted:
    independent draws, the repeats redrawn (and only their rows sorted again) until none is left."""
    def draw(bounds: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
        u = torch.rand(shape, dtype=torch.float64, generator=generator)
        return torch.minimum((u * bounds).to(torch.int64), bounds - 1)

    values = draw(high[:, None], (len(high), k)).sort(dim=1).values
    while True:
        rows, cols = (values[:, 1:] == values[:, :-1]).nonzero(as_tuple=True)
        if not len(rows):
            return values
        values[rows, cols + 1] = draw(high[rows], (len(rows),))
        redrawn = rows.unique()
        values[redrawn] = values[redrawn].sort(dim=1).values

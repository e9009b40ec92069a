r"""Neighbour sampling for mini-batch GNN training, and the graph forms it works on.

* :class:`CSRGraph`: a split's prepared message-passing graph as in-neighbour lists (CSR over
  the target node), built once per graph; it feeds the sampler and the bounded-memory,
  layer-wise evaluation (:meth:`~gnn_sparse.models.LinkPredictor.encode`).
* :class:`NeighborSampler`: the computation graph of a set of seed nodes, one fan-out per
  GNN layer, like PyG's ``NeighborLoader`` / ``LinkNeighborLoader`` (which need ``pyg-lib``
  or ``torch-sparse``; this one is plain, vectorised torch: no loop over nodes or edges,
  only over hops and fan-out positions).
* :class:`PyGNeighborSampler`: the same interface on PyG's own sampler, used by
  :func:`make_sampler` when ``pyg-lib`` or ``torch-sparse`` is importable (neither installs for
  torch 2.13, so the torch sampler is what runs here; the PyG one draws from torch's global RNG,
  not the given generator).
* :class:`SampledGraph`: what a sampler returns and the model encodes.

Sampling is without replacement: a node with :math:`d_i \le k` in-neighbours keeps all of
them, a node with more keeps a uniform :math:`k`-subset (Floyd's algorithm, vectorised over
the frontier). Each node is expanded once, at the first hop that reaches it; the seeds come
first in ``n_id``, then the new nodes of hop 1, hop 2, ...

GCN normalisation on a sample (the choice, and why): the split's full-graph weights
:math:`\hat a_{ij} = 1/\sqrt{\hat d_i \hat d_j}` are kept and each sampled in-edge of node
:math:`i` is scaled by :math:`d_i / k_i` (its in-degree over the number sampled), the
self-loop unscaled:

.. math::
    \tilde h_i = \hat a_{ii} h_i + \frac{d_i}{k_i} \sum_{j \in S(i)} \hat a_{ij} h_j,
    \qquad \mathbb{E}[\tilde h_i] = \sum_{j} \hat a_{ij} h_j

so the sampled aggregation is an unbiased estimate of the full-graph one that evaluation
uses, and it *is* the full-graph one where :math:`d_i \le k` (every seed's output equals the
full-graph encoder's when no fan-out truncates). PyG's loaders renormalise on the sampled
subgraph instead (``GCNConv(normalize=True)``), which gives unexpanded last-hop nodes a
degree of 1 and a different scale at training than at full-graph evaluation. SAGE's mean
aggregation needs no rescaling: the mean of a uniform sample estimates the mean.

What the estimate costs, and the alternative measured (docs/benchmarks.md): on email-eu
(in-degree mean 24, median 16: most nodes are cut at :math:`k = 10`) sampled ``[10, 10]``
training ends 1.4-1.9 points of test accuracy below full-graph training; a fan-out above every
degree matches it and ``[25, 10]`` narrows the gap, so the cost is the estimate's variance. The
self-normalised (ratio) estimator, which rescales the sampled weights to the node's full
in-weight :math:`\sum_j \hat a_{ij}` (exact for a constant :math:`h`, lower variance for the
non-negative post-ReLU features, :math:`O(1/k)` bias), cut the layer-1 mean squared error
there only from 6.5% to 5.3% of the signal for unit-variance features of mean 1 (33.4% to
32.6% at mean 0) and trained 0.1-0.5 points *worse* on each of 3 seeds (15 epochs), so the
unbiased scaling stays. Control variates (VR-GCN, :mod:`~gnn_sparse.models.control_variates`,
``--control-variates``) attack the variance instead: they sample only the difference from a
history of each layer's input and add the history's exact neighbour sum, which makes layer 1's
forward exact. They close most of the gap (docs/benchmarks.md for the figures and the cost
per step).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from gnn_sparse.models.encoders import graph_to


@dataclass
class CSRGraph:
    """In-neighbour lists of a prepared graph: the sources of the edges into node ``i`` are
    ``col[rowptr[i]:rowptr[i + 1]]`` with weights ``weight[...]`` (``None``: unweighted).

    ``self_weight`` (GCN) holds each node's self-loop weight, kept out of the lists so that
    sampling never drops it; ``None`` where self-edges are ordinary neighbours (SAGE).
    """

    rowptr: Tensor
    col: Tensor
    weight: Tensor | None
    self_weight: Tensor | None
    num_nodes: int

    @classmethod
    def from_prepared(cls, graph, num_nodes: int) -> "CSRGraph":
        """From :meth:`~gnn_sparse.models.LinkPredictor.prepare`'s output: ``(edge_index,
        edge_weight)`` (GCN: self-loops split off into ``self_weight``) or ``edge_index`` (SAGE)."""
        if isinstance(graph, tuple):
            edge_index, weight = graph
            loop = edge_index[0] == edge_index[1]
            self_weight = torch.zeros(num_nodes, dtype=weight.dtype, device=weight.device)
            self_weight.index_add_(0, edge_index[0, loop], weight[loop])
            edge_index, weight = edge_index[:, ~loop], weight[~loop]
        else:
            edge_index, weight, self_weight = graph, None, None
        order = torch.sort(edge_index[1], stable=True).indices
        dst = edge_index[1, order]
        rowptr = torch.zeros(num_nodes + 1, dtype=torch.long, device=dst.device)
        rowptr[1:] = torch.cumsum(torch.bincount(dst, minlength=num_nodes), 0)
        return cls(rowptr, edge_index[0, order].contiguous(), None if weight is None else weight[order].contiguous(),
                   self_weight, num_nodes)

    @property
    def num_edges(self) -> int:
        return self.col.numel()

    def degree(self) -> Tensor:
        """In-degree of every node (self-loops of a GCN graph not counted)."""
        return self.rowptr[1:] - self.rowptr[:-1]

    def edge_index(self) -> Tensor:
        """``[2, E]`` (source, target) of the listed edges, sorted by target."""
        dst = torch.repeat_interleave(torch.arange(self.num_nodes, device=self.col.device), self.degree())
        return torch.stack([self.col, dst])

    def chunks(self, max_edges: int) -> list[tuple[int, int]]:
        """Consecutive target ranges ``[a, b)`` with at most ``max_edges`` in-edges each (a
        node with more gets a range of its own): the unit of bounded-memory evaluation."""
        if self.num_nodes == 0:
            return []
        cuts = torch.arange(max_edges, max(self.num_edges, max_edges), max_edges, device=self.rowptr.device)
        inner = torch.searchsorted(self.rowptr, cuts, right=True) - 1  # node whose list holds each cut
        bounds = torch.unique(torch.cat([inner.clamp(1, self.num_nodes - 1),
                                         torch.tensor([0, self.num_nodes], device=inner.device)])).tolist()
        return list(zip(bounds[:-1], bounds[1:]))

    def to(self, device: torch.device) -> "CSRGraph":
        return CSRGraph(self.rowptr.to(device), self.col.to(device), graph_to(self.weight, device),
                        graph_to(self.self_weight, device), self.num_nodes)


@dataclass
class SampledGraph:
    """A sampled computation graph: global ids ``n_id`` of its nodes (seeds first, then hop 1,
    hop 2, ...) and its edges in local ids, in the form the encoder consumes (``graph``:
    ``(edge_index, edge_weight)`` for GCN, ``edge_index`` for SAGE). ``hop_bounds[h]`` is the
    number of nodes within ``h`` hops of the seeds (``hop_bounds[0]`` = the seeds), so layer
    ``l`` of an ``L``-layer encoder needs outputs for the first ``hop_bounds[L - 1 - l]`` nodes only.
    ``control``: the :class:`~gnn_sparse.models.control_variates.ControlVariates` to encode it
    with (``None``: the plain sampled estimate)."""

    n_id: Tensor
    graph: Tensor | tuple[Tensor, Tensor]
    hop_bounds: list[int]
    control: Any = None

    @property
    def num_seeds(self) -> int:
        return self.hop_bounds[0]


def floyd_sample(degree: Tensor, k: int, generator: torch.Generator | None = None) -> Tensor:
    r"""``[m, k]`` distinct positions in ``[0, degree[r])`` per row, uniformly (Floyd's
    algorithm: for :math:`j = d-k .. d-1` draw :math:`t \sim \mathcal{U}\{0..j\}` and take
    :math:`j` if :math:`t` was taken already, else :math:`t`). Needs ``degree >= k``.
    Vectorised over the rows; the loop runs over the ``k`` positions, and not at all without
    rows (a fan-out above every degree, e.g. ``[100000]``, cuts no node)."""
    m = degree.numel()
    out = torch.empty(m, k, dtype=torch.long, device=degree.device)
    if not m:
        return out
    for i in range(k):
        j = degree - k + i
        r = torch.rand(m, generator=generator, dtype=torch.float64).to(degree.device)
        t = torch.minimum((r * (j + 1).to(torch.float64)).long(), j)
        if i:
            t = torch.where((out[:, :i] == t[:, None]).any(dim=1), j, t)
        out[:, i] = t
    return out


class NeighborSampler:
    """Samples the computation graph of seed nodes on a fixed :class:`CSRGraph`.

    Args:
        graph: the split's in-neighbour lists (the training graph at training time: no
            validation or test edge can be sampled).
        num_neighbors: fan-out per hop, hop 1 (the seeds' neighbours, the last GNN layer)
            first; ``-1`` takes every neighbour at that hop.

    Example:
        >>> sampler = NeighborSampler(csr, [10, 10])
        >>> sub, local_pairs = sampler.sample_pairs(pairs, torch.Generator().manual_seed(0))
        >>> logits = model(sub, local_pairs)
    """

    backend = "torch"

    def __init__(self, graph: CSRGraph, num_neighbors: list[int]):
        if not num_neighbors or any(k == 0 or k < -1 for k in num_neighbors):
            raise ValueError(f"'{type(self).__name__}' needs fan-outs > 0 or -1, got {num_neighbors!r}")
        self.csr = graph
        self.num_neighbors = list(num_neighbors)
        self._local = torch.full((graph.num_nodes,), -1, dtype=torch.long, device=graph.rowptr.device)

    def sample(self, seeds: Tensor, generator: torch.Generator | None = None) -> SampledGraph:
        """The computation graph of ``seeds`` (distinct global node ids)."""
        csr, local = self.csr, self._local
        n_id, frontier = [seeds], seeds
        count = seeds.numel()
        bounds = [count]
        local[seeds] = torch.arange(count, device=seeds.device)
        srcs, dsts, weights = [], [], []
        try:
            for k in self.num_neighbors:
                start = csr.rowptr.index_select(0, frontier)
                degree = csr.rowptr.index_select(0, frontier + 1) - start
                whole = degree <= k if k > 0 else torch.ones_like(degree, dtype=torch.bool)
                # nodes keeping all their neighbours: every position of their lists
                deg_w = degree[whole]
                offsets = torch.cumsum(deg_w, 0) - deg_w
                within = torch.arange(int(deg_w.sum()), device=seeds.device) - torch.repeat_interleave(offsets, deg_w)
                pos_w = torch.repeat_interleave(start[whole], deg_w) + within
                dst_w = torch.repeat_interleave(frontier[whole], deg_w)
                # nodes with more than k: a uniform k-subset each, edges scaled by degree / k
                cut, k = ~whole, max(k, 0)  # (k = -1: no node is cut)
                pos_c = (start[cut, None] + floyd_sample(degree[cut], k, generator)).flatten()
                dst_c = frontier[cut].repeat_interleave(k)
                pos, dst = torch.cat([pos_w, pos_c]), torch.cat([dst_w, dst_c])
                src = csr.col.index_select(0, pos)
                if csr.weight is not None:
                    scale = torch.cat([torch.ones(pos_w.numel(), dtype=csr.weight.dtype, device=pos.device),
                                       (degree[cut].to(csr.weight.dtype) / max(k, 1)).repeat_interleave(k)])
                    weights.append(csr.weight.index_select(0, pos) * scale)
                new = torch.unique(src[local.index_select(0, src) < 0])
                local[new] = torch.arange(count, count + new.numel(), device=seeds.device)
                count += new.numel()
                bounds.append(count)
                n_id.append(new)
                srcs.append(local.index_select(0, src))
                dsts.append(local.index_select(0, dst))
                frontier = new
            n_id = torch.cat(n_id)
            edge_index = torch.stack([torch.cat(srcs), torch.cat(dsts)])
        finally:
            local[torch.cat(n_id) if isinstance(n_id, list) else n_id] = -1
        if csr.self_weight is None:
            return SampledGraph(n_id, edge_index, bounds)
        loops = torch.arange(n_id.numel(), device=n_id.device)
        edge_index = torch.cat([edge_index, torch.stack([loops, loops])], dim=1)
        weight = torch.cat(weights + [csr.self_weight.index_select(0, n_id)])
        return SampledGraph(n_id, (edge_index, weight), bounds)

    def sample_pairs(self, pairs: Tensor, generator: torch.Generator | None = None) -> tuple[SampledGraph, Tensor]:
        """The computation graph of the endpoints of ``pairs`` (``[2, P]``) and the pairs in its local ids."""
        seeds, inverse = torch.unique(pairs.reshape(-1), return_inverse=True)
        return self.sample(seeds, generator), inverse.view_as(pairs)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(num_neighbors={self.num_neighbors}, backend={self.backend!r})"


class PyGNeighborSampler(NeighborSampler):
    """:class:`NeighborSampler`'s interface on :class:`torch_geometric.sampler.NeighborSampler`
    (needs ``pyg-lib`` or ``torch-sparse``): the same hops, fan-outs, node order (seeds first)
    and edge weighting; PyG draws from torch's global RNG (``generator`` is not used)."""

    backend = "pyg"

    def __init__(self, graph: CSRGraph, num_neighbors: list[int]):
        from torch_geometric.data import Data
        from torch_geometric.sampler import NeighborSampler as Sampler

        super().__init__(graph, num_neighbors)
        # edges already sorted by target (CSC order), so PyG's edge ids index col / weight directly
        data = Data(edge_index=graph.edge_index(), num_nodes=graph.num_nodes)
        self._sampler = Sampler(data, num_neighbors=self.num_neighbors, is_sorted=True)

    def sample(self, seeds: Tensor, generator: torch.Generator | None = None) -> SampledGraph:
        from torch_geometric.sampler import NodeSamplerInput

        out = self._sampler.sample_from_nodes(NodeSamplerInput(input_id=None, node=seeds.cpu()))
        device = seeds.device
        n_id, src, dst, edge = (t.to(device) for t in (out.node, out.row, out.col, out.edge))
        edge_index = torch.stack([src, dst])
        csr = self.csr
        bounds = torch.cumsum(torch.tensor(out.num_sampled_nodes), 0).tolist()
        if csr.self_weight is None:
            return SampledGraph(n_id, edge_index, bounds)
        sampled = torch.bincount(dst, minlength=n_id.numel()).clamp(min=1)
        degree = csr.degree()[n_id]
        weight = csr.weight[edge] * (degree[dst].to(csr.weight.dtype) / sampled[dst])
        loops = torch.arange(n_id.numel(), device=device)
        return SampledGraph(n_id, (torch.cat([edge_index, torch.stack([loops, loops])], dim=1),
                                   torch.cat([weight, csr.self_weight[n_id]])), bounds)


def pyg_sampling_available() -> bool:
    """Whether PyG's neighbour sampler can run (``pyg-lib`` or ``torch-sparse`` importable)."""
    import torch_geometric.typing as pyg_typing

    return bool(pyg_typing.WITH_PYG_LIB or pyg_typing.WITH_TORCH_SPARSE)


def make_sampler(graph: CSRGraph, num_neighbors: list[int]) -> NeighborSampler:
    """PyG's sampler where it can run, the vectorised torch one otherwise (same interface)."""
    cls = PyGNeighborSampler if pyg_sampling_available() else NeighborSampler
    return cls(graph, num_neighbors)

r"""Control variates for sampled GCN training (VR-GCN: Chen, Zhu & Song, "Stochastic Training
of Graph Convolutional Networks with Variance Reduction", ICML 2018).

Why: the sampled aggregation of :mod:`~gnn_sparse.models.sampling` is unbiased, but its
variance costs accuracy where fan-outs cut most nodes (email-eu, docs/big_graphs.md). VR-GCN
samples only the *difference* between a layer's input and a detached history
:math:`\bar h` of it, and adds the history's exact aggregation over *all* in-neighbours:

.. math::
    \tilde a_i = \hat a_{ii} h_i + \frac{d_i}{k_i} \sum_{j \in S(i)} \hat a_{ij} (h_j - \bar h_j)
               + \sum_{j \in N(i)} \hat a_{ij} \bar h_j,
    \qquad \mathbb{E}[\tilde a_i] = \sum_j \hat a_{ij} h_j \text{ (with the self-loop)}

unbiased for *any* history drawn before the sample, and exact where :math:`\bar h = h`; the
layer is then :math:`\tilde a W + b` (GCNConv's ``lin`` and ``bias``), computed as
:math:`(\hat a_{ii} h_i + \sum_N \hat a_{ij} \bar h_j) W` for the targets plus the sampled
:math:`\frac{d_i}{k_i} \hat a_{ij} (h_j - \bar h_j) W` summed at the output width, as the plain
path sums its messages (summing them at the input width made a step at wiki-talk size about
0.1 s slower). The last sum carries no gradient; gradients reach :math:`W` through the whole
of :math:`\tilde a` and the inputs :math:`h_j` through the sampled edges only.

The histories used here:

* layer 1's input is the trainable node embedding itself: :math:`\bar h = E` detached, its
  current values (zero staleness), so layer 1's *forward* is exact full-neighbourhood
  aggregation with any fan-out and only the gradient into embedding rows is sampled. Under
  :class:`~gnn_sparse.training.optim.LazySGD` the "current values" are the stored rows, those
  that evaluation reads too (rows a step did not touch keep their weight);
* the input of each later layer (the previous layer's ReLU output) has a table
  ``num_nodes x width`` (no gradient, on the model's device): :meth:`ControlVariates.refresh`
  fills it with the exact full-graph values (chunked, as evaluation) at the start of every
  epoch, and each training forward writes the fresh rows it computed, *after* the layer that
  reads them (so a step's history never depends on its own sample). Refreshing at epoch
  boundaries makes the history a function of the model's state there: checkpoints need not
  store it and a resumed run continues exactly.

Under ``torchrun`` every rank keeps its own tables: equal after each epoch's refresh (the
parameters are), then each rank writes the rows of its own samples. The estimate stays
unbiased on every rank (any history is allowed); only how fresh the rows are differs.

Cost: the full-neighbour sums read every in-edge of the nodes a layer outputs (layer 1: the
hop-1 nodes; layer 2: the seeds), one sparse-CSR x dense product per layer, which grows with
their in-degrees rather than with the fan-out (docs/benchmarks.md for the measured step
times). GCN only: SAGE's mean aggregation would need its own form.
"""
from __future__ import annotations

import torch
from torch import Tensor

import warnings
from dataclasses import replace

from gnn_sparse.models.sampling import CSRGraph, NeighborSampler, SampledGraph
from gnn_sparse.sparsity.flops import PROPAGATION, propagation_flops


def neighbour_rows(csr: CSRGraph, targets: Tensor) -> Tensor:
    r"""``[len(targets), num_nodes]`` sparse CSR matrix of the full in-neighbour weights of
    ``targets`` (global ids): row :math:`r` holds :math:`\hat a_{t_r j}` for every in-neighbour
    :math:`j` (self-loops excluded: :attr:`CSRGraph.self_weight`). Gathered without a loop."""
    start = csr.rowptr[targets]
    degree = csr.rowptr[targets + 1] - start
    crow = torch.zeros(targets.numel() + 1, dtype=torch.long, device=targets.device)
    crow[1:] = torch.cumsum(degree, 0)
    pos = torch.arange(int(crow[-1]), device=targets.device) - torch.repeat_interleave(crow[:-1] - start, degree)
    with warnings.catch_warnings():  # "sparse CSR support is in beta": CSR x dense is all we use
        warnings.simplefilter("ignore", UserWarning)
        return torch.sparse_csr_tensor(crow, csr.col[pos], csr.weight[pos], (targets.numel(), csr.num_nodes),
                                       check_invariants=False)


class ControlVariates:
    """The histories of a :class:`~gnn_sparse.models.GCNEncoder` on one training graph, and
    the variance-reduced forward pass of a sampled computation graph (module docstring).

    Args:
        csr: the training graph's in-neighbour lists (what the sampler samples from).
        encoder: the GCN encoder whose hidden layers get a history table each.

    Example:
        >>> cv = ControlVariates(csr, model.encoder)
        >>> cv.refresh(model.embedding.weight, model.encoder)   # each epoch's start
        >>> z = cv.forward_sampled(model.encoder, model.embedding(sub.n_id), model.embedding.weight, sub)
    """

    def __init__(self, csr: CSRGraph, encoder):
        from gnn_sparse.models.encoders import GCNEncoder

        if not isinstance(encoder, GCNEncoder):
            raise ValueError(f"control variates need a GCN encoder (weighted sums over neighbours), "
                             f"got {type(encoder).__name__}")
        if any(conv.lin.bias is not None for conv in encoder.convs):  # lin runs on differences below
            raise ValueError("control variates need GCNConv's bias-free lin (the bias added once, after it)")
        if csr.weight is None:
            raise ValueError("control variates need a GCN-prepared graph (edge weights and self-loop weights)")
        self.csr = csr
        device = csr.rowptr.device
        self.tables = [torch.zeros(csr.num_nodes, conv.in_channels, device=device) for conv in encoder.convs[1:]]
        """History of the input of layer ``l + 1`` (0-based: ``tables[0]`` is layer 2's input)."""

    @torch.no_grad()
    def refresh(self, embedding: Tensor, encoder) -> None:
        """Every history row set to its exact full-graph value under the current parameters
        (layer by layer in bounded-memory chunks, as evaluation)."""
        from gnn_sparse.models.link_predictor import EVAL_EDGE_CHUNK

        chunks = self.csr.chunks(EVAL_EDGE_CHUNK)
        x = embedding
        for conv, table in zip(encoder.convs[:-1], self.tables):
            x = encoder._layer_chunked(conv, x, self.csr, chunks).relu()
            table.copy_(x)

    def forward_sampled(self, encoder, x: Tensor, embedding: Tensor, sub: SampledGraph) -> Tensor:
        """The seeds' outputs on ``sub`` with control variates: ``x`` the inputs of its nodes
        (``embedding[sub.n_id]``, with gradient), ``embedding`` the whole table (read detached).
        Writes each hidden layer's fresh rows into its history once the layer reading it is done."""
        edge_index, weight = sub.graph
        loop = edge_index[0] == edge_index[1]  # the self-loops the sampler appended, one per node
        self_weight = torch.zeros(sub.n_id.numel(), dtype=weight.dtype, device=weight.device)
        self_weight[edge_index[1, loop]] = weight[loop]
        edge_index, weight = edge_index[:, ~loop], weight[~loop]
        last = len(encoder.convs) - 1
        history, full = x.detach(), embedding.detach()
        pending = None  # (table, rows, values) to write once this layer has read the old values
        for i, conv in enumerate(encoder.convs):
            n_out = sub.hop_bounds[min(last - i, len(sub.hop_bounds) - 1)]
            keep = edge_index[1] < n_out
            edge_index, weight = edge_index[:, keep], weight[keep]
            src, dst = edge_index
            exact = self_weight[:n_out, None] * x[:n_out] + neighbour_rows(self.csr, sub.n_id[:n_out]) @ full
            diff = conv.lin(x - history).index_select(0, src) * weight[:, None]  # at the output width
            x = conv.lin(exact).index_add(0, dst, diff)
            if conv.bias is not None:
                x = x + conv.bias
            if pending is not None:
                table, rows, values = pending
                table[rows] = values
                pending = None
            if i < last:
                x = x.relu()
                table = self.tables[i]
                history, full = table[sub.n_id[:n_out]], table
                pending = (table, sub.n_id[:n_out], x.detach())
        return x

    def propagation_flops(self, encoder, sub: SampledGraph) -> dict[str, int]:
        """FLOPs of each layer's aggregation on ``sub`` (:mod:`~gnn_sparse.sparsity.flops`'s
        ``2 E C``: full-neighbour sums and self-loops at the input width, sampled differences at
        the output width), which the forward hooks do not see (only ``lin`` runs as a module
        here; its two calls per layer are counted by them)."""
        dst = sub.graph[0][1, sub.graph[0][0] != sub.graph[0][1]]
        last = len(encoder.convs) - 1
        out = {}
        for i, conv in enumerate(encoder.convs):
            n_out = sub.hop_bounds[min(last - i, len(sub.hop_bounds) - 1)]
            targets = sub.n_id[:n_out]
            full = int((self.csr.rowptr[targets + 1] - self.csr.rowptr[targets]).sum())
            out[f"encoder.convs.{i}{PROPAGATION}"] = (propagation_flops(full + n_out, conv.in_channels)
                                                      + propagation_flops(int((dst < n_out).sum()), conv.out_channels))
        return out

    def __repr__(self) -> str:
        widths = ", ".join(str(t.size(1)) for t in self.tables)
        return f"{type(self).__name__}(num_nodes={self.csr.num_nodes}, history widths=[{widths}])"


class ControlVariateSampler:
    """A :class:`~gnn_sparse.models.sampling.NeighborSampler` whose samples carry
    ``control``, so that :meth:`~gnn_sparse.models.LinkPredictor.encode` runs
    :meth:`ControlVariates.forward_sampled` on them (through ``DistributedDataParallel`` too:
    the model's forward is unchanged)."""

    def __init__(self, sampler: NeighborSampler, control: ControlVariates):
        self.sampler, self.control = sampler, control

    @property
    def backend(self) -> str:
        return self.sampler.backend

    def sample_pairs(self, pairs, generator=None):
        sub, local = self.sampler.sample_pairs(pairs, generator)
        return replace(sub, control=self.control), local

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.sampler!r}, {self.control!r})"

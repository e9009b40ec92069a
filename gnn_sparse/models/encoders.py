"""Graph encoders: a stack of PyG convolutions mapping node inputs to node embeddings.

Each encoder has a :meth:`prepare` step that turns a split's message-passing graph into
what its convolutions consume, done once per graph instead of once per forward pass.

PyG (the ``graph`` extra) is imported when an encoder is built or a graph prepared, not
with this module: the encoder names (:data:`ENCODERS`) are read by the run config, which
the image runner shares.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn


class _ConvStack(nn.Module):
    """``num_layers`` convolutions ``in -> hidden -> ... -> out`` with ReLU in between."""

    def __init__(self, in_channels: int, hidden_channels: int, out_channels: int, num_layers: int):
        super().__init__()
        name = type(self).__name__
        for arg, value in (("in_channels", in_channels), ("hidden_channels", hidden_channels),
                           ("out_channels", out_channels), ("num_layers", num_layers)):
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"'{name}' needs a positive integer {arg}, got {value!r}")
        dims = [in_channels] + [hidden_channels] * (num_layers - 1) + [out_channels]
        self.convs = nn.ModuleList(self._conv(a, b) for a, b in zip(dims[:-1], dims[1:]))
        self.in_channels, self.out_channels, self.num_layers = in_channels, out_channels, num_layers

    def _conv(self, in_channels: int, out_channels: int) -> nn.Module:
        raise NotImplementedError

    def reset_parameters(self) -> None:
        for conv in self.convs:
            conv.reset_parameters()

    def forward_sampled(self, x: Tensor, sub) -> Tensor:
        """The forward pass on a :class:`~gnn_sparse.models.sampling.SampledGraph` (``x``: its
        nodes' inputs), computing each layer only where a later layer reads it (PyG's
        ``trim_to_layer``): layer ``l`` of ``L`` outputs the nodes within ``L - 1 - l`` hops,
        over the edges into them. Returns the seeds' outputs (exactly those of :meth:`forward`
        on the whole subgraph)."""
        graph = sub.graph
        edge_index, weight = graph if isinstance(graph, tuple) else (graph, None)
        last = len(self.convs) - 1
        for i, conv in enumerate(self.convs):
            n_out = sub.hop_bounds[min(last - i, len(sub.hop_bounds) - 1)]
            keep = edge_index[1] < n_out  # their sources lie within one more hop: rows of x
            edge_index, weight = edge_index[:, keep], None if weight is None else weight[keep]
            x = self._layer_trimmed(conv, x, edge_index, weight, n_out)
            if i < last:
                x = x.relu()
        return x

    def _layer_trimmed(self, conv: nn.Module, x: Tensor, edge_index: Tensor, weight, n_out: int) -> Tensor:
        raise NotImplementedError

    def forward_chunked(self, x: Tensor, csr, max_edges: int) -> Tensor:
        """The full-graph forward pass, layer by layer over target chunks of at most
        ``max_edges`` in-edges (:meth:`CSRGraph.chunks`), so memory is bounded by the chunk,
        not by the graph; equal to :meth:`forward` up to float summation order."""
        chunks = csr.chunks(max_edges)
        for i, conv in enumerate(self.convs):
            x = self._layer_chunked(conv, x, csr, chunks)
            if i < len(self.convs) - 1:
                x = x.relu()
        return x

    def _layer_chunked(self, conv: nn.Module, x: Tensor, csr, chunks: list[tuple[int, int]]) -> Tensor:
        raise NotImplementedError

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.in_channels}, {self.out_channels}, "
                f"num_layers={self.num_layers})")


class GCNEncoder(_ConvStack):
    r"""Stacked :class:`~torch_geometric.nn.GCNConv` layers (Kipf & Welling, ICLR 2017).

    .. math::
        X^{(l+1)} = \sigma\big(\hat D^{-1/2} \hat A \hat D^{-1/2} X^{(l)} W^{(l)}\big),
        \qquad \hat A = A + I

    with :math:`\sigma` = ReLU between layers and none after the last. :meth:`prepare`
    computes the symmetric normalisation once and merges repeated (temporal multi-)edges
    into one edge whose weight is the sum, which is exactly the same operator as message
    passing over every repeated edge, at the cost of the unique edges only.

    Args:
        in_channels: input feature size.
        hidden_channels: size of the intermediate layers.
        out_channels: size of the node embedding.
        num_layers: number of convolutions (default: 2).

    Shapes:
        - input: node features :math:`(|V|, F_{in})`, graph from :meth:`prepare`
        - output: node embeddings :math:`(|V|, F_{out})`
    """

    def __init__(self, in_channels: int, hidden_channels: int, out_channels: int, num_layers: int = 2):
        super().__init__(in_channels, hidden_channels, out_channels, num_layers)

    def _conv(self, in_channels: int, out_channels: int) -> nn.Module:
        from torch_geometric.nn import GCNConv

        return GCNConv(in_channels, out_channels, normalize=False)

    @staticmethod
    def prepare(edge_index: Tensor, num_nodes: int) -> tuple[Tensor, Tensor]:
        """``(edge_index, edge_weight)``: normalised, self-loops added, duplicates summed."""
        from torch_geometric.nn.conv.gcn_conv import gcn_norm
        from torch_geometric.utils import coalesce

        index, weight = gcn_norm(edge_index, None, num_nodes, add_self_loops=True)
        return coalesce(index, weight, num_nodes=num_nodes, reduce="sum")

    def forward(self, x: Tensor, graph: tuple[Tensor, Tensor]) -> Tensor:
        edge_index, edge_weight = graph
        for i, conv in enumerate(self.convs):
            x = conv(x, edge_index, edge_weight)
            if i < len(self.convs) - 1:
                x = x.relu()
        return x

    def _layer_trimmed(self, conv, x, edge_index, weight, n_out):
        return conv(x, edge_index, weight)[:n_out]

    def _layer_chunked(self, conv, x, csr, chunks):
        # GCNConv(normalize=False): lin, then sum of edge_weight * x_j over in-edges, then bias
        h = conv.lin(x)
        out = torch.empty(h.shape, dtype=h.dtype, device=h.device)
        for a, b in chunks:
            s, e = int(csr.rowptr[a]), int(csr.rowptr[b])
            dst = torch.repeat_interleave(torch.arange(b - a, device=h.device), csr.rowptr[a + 1:b + 1] - csr.rowptr[a:b])
            part = (csr.self_weight[a:b, None] * h[a:b]).index_add_(0, dst, h[csr.col[s:e]] * csr.weight[s:e, None])
            out[a:b] = part if conv.bias is None else part + conv.bias
        return out


class SAGEEncoder(_ConvStack):
    r"""Stacked :class:`~torch_geometric.nn.SAGEConv` layers (Hamilton et al., NeurIPS 2017).

    .. math::
        x_i^{(l+1)} = \sigma\Big(W_1 x_i^{(l)} + W_2 \operatorname{mean}_{j \in \mathcal{N}(i)} x_j^{(l)}\Big)

    The mean runs over every incoming edge, so a repeated temporal edge counts as often as it
    occurs; :meth:`prepare` therefore keeps the edge list as given.

    Args: as :class:`GCNEncoder`.
    """

    def __init__(self, in_channels: int, hidden_channels: int, out_channels: int, num_layers: int = 2):
        super().__init__(in_channels, hidden_channels, out_channels, num_layers)

    def _conv(self, in_channels: int, out_channels: int) -> nn.Module:
        from torch_geometric.nn import SAGEConv

        return SAGEConv(in_channels, out_channels, aggr="mean")

    @staticmethod
    def prepare(edge_index: Tensor, num_nodes: int) -> Tensor:
        return edge_index

    def forward(self, x: Tensor, graph: Tensor) -> Tensor:
        for i, conv in enumerate(self.convs):
            x = conv(x, graph)
            if i < len(self.convs) - 1:
                x = x.relu()
        return x

    def _layer_trimmed(self, conv, x, edge_index, weight, n_out):
        return conv((x, x[:n_out]), edge_index, size=(x.size(0), n_out))

    def _layer_chunked(self, conv, x, csr, chunks):
        parts = []
        for a, b in chunks:  # bipartite: every node -> the targets a..b-1
            s, e = int(csr.rowptr[a]), int(csr.rowptr[b])
            dst = torch.repeat_interleave(torch.arange(b - a, device=x.device), csr.rowptr[a + 1:b + 1] - csr.rowptr[a:b])
            parts.append(conv((x, x[a:b]), torch.stack([csr.col[s:e], dst]), size=(x.size(0), b - a)))
        return torch.cat(parts)


ENCODERS: dict[str, type[_ConvStack] | None] = {"gcn": GCNEncoder, "sage": SAGEEncoder, "none": None,
                                                "twalk": None}
"""Encoder names accepted by :func:`~gnn_sparse.models.build_link_predictor` (``none``: no
message passing, the learnable node embedding feeds the head directly; ``twalk``: fixed node
features given by the caller, see :data:`FIXED_FEATURE_ENCODERS`)."""

FIXED_FEATURE_ENCODERS: dict[str, str] = {
    "twalk": "temporal random walks + skip-gram node embeddings (the original pipeline; "
             ":func:`gnn_sparse.features.dataset_twalk_embeddings`)",
}
"""Encoders whose node features are computed once, before training, and never trained: the
model holds them as a fixed buffer and only ``fc1``/``fc2`` learn."""


def prepare_graph(encoder: nn.Module | None, edge_index: Tensor, num_nodes: int):
    """What ``encoder`` consumes for this message-passing graph (``None`` without encoder)."""
    if encoder is None:
        return None
    if edge_index.dim() != 2 or edge_index.size(0) != 2:
        raise ValueError(f"edge_index must have shape [2, E], got {tuple(edge_index.shape)}")
    return encoder.prepare(edge_index.long(), num_nodes)


def graph_to(graph, device: torch.device):
    """Move a prepared graph (tensor, tuple of tensors or ``None``) to ``device``."""
    if graph is None:
        return None
    if isinstance(graph, tuple):
        return tuple(t.to(device) for t in graph)
    return graph.to(device)

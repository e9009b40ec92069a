"""The link predictor of the paper's GNN experiments, trained end to end."""
from __future__ import annotations

import fnmatch

import torch
from torch import Tensor, nn

from gnn_sparse.models.encoders import ENCODERS, FIXED_FEATURE_ENCODERS, prepare_graph
from gnn_sparse.models.sampling import CSRGraph, SampledGraph

EVAL_EDGE_CHUNK = 1 << 21
"""In-edges per target chunk when a :class:`CSRGraph` is encoded layer by layer (bounds the
memory of evaluation on big graphs: about ``EVAL_EDGE_CHUNK x hidden`` floats per chunk)."""

HIDDEN_BLOCK = 1 << 18
"""Hidden activations (floats, 1 MiB) that :meth:`LinkPredictor.score_candidates` computes at
a time: blocks that stay in the CPU cache. Measured with a dense 128-wide ``fc1`` on one
thread: 60 ns per pair in blocks of 1,600 pairs, 380 ns in blocks of 131,000."""

SPARSIFY_SCOPES: dict[str, tuple[str, ...]] = {
    "fc": ("fc1.weight", "fc2.weight"),
    "gnn": ("encoder.*.weight",),
    "all": ("fc1.weight", "fc2.weight", "encoder.*.weight"),
}
"""``--sparsify`` choices as parameter-name patterns (biases and the input embedding are
never masked)."""


class LinkPredictor(nn.Module):
    r"""Scores a directed node pair :math:`(u, v)` with a logit.

    .. math::
        z = \mathrm{Enc}(E, \mathcal{G}), \qquad
        \hat y_{uv} = \mathrm{fc}_2\big(\mathrm{ReLU}(\mathrm{fc}_1([z_u \,\|\, z_v]))\big)

    :math:`E` is a learnable embedding per node, :math:`\mathcal{G}` the split's message-passing
    graph and Enc a graph encoder (for example :class:`~gnn_sparse.models.GCNEncoder`) or the
    identity. ``fc1`` and ``fc2`` are the two fully connected layers that the paper
    sparsifies; with the defaults they are ``Linear(16, 128)`` and ``Linear(128, 1)``. The
    probability of a link is :math:`\sigma(\hat y)`; train with
    :func:`~torch.nn.functional.binary_cross_entropy_with_logits`.

    With ``node_features`` (e.g. the temporal-walk skip-gram embeddings of the original
    pipeline, :func:`gnn_sparse.features.dataset_twalk_embeddings`), :math:`z` is that fixed
    matrix instead: it is a non-persistent buffer (not a parameter, not trained, not in the
    ``state_dict``, so checkpoints stay small; rebuild the model with the same features to
    load one), there is no learnable embedding and no encoder, and
    :math:`[z_u \,\|\, z_v]` is exactly :func:`gnn_sparse.features.pair_features`. Only
    ``fc1`` and ``fc2`` train, and a forward pass is a row gather plus the head.

    Args:
        num_nodes: number of nodes (rows of the embedding).
        embedding_dim: size of the learnable node input (with ``node_features``: their width).
        encoder: a module with ``prepare(edge_index, num_nodes)`` and ``forward(x, graph)``
            mapping ``embedding_dim`` to ``encoder.out_channels`` features, or ``None``.
        fc_hidden: width of ``fc1`` (default: 128).
        node_features: fixed ``[num_nodes, embedding_dim]`` node features, or ``None`` for a
            learnable embedding (default). Excludes ``encoder``.
        sparse_embedding: encoding a :class:`~gnn_sparse.models.sampling.SampledGraph` gives
            the embedding a sparse gradient (its rows only; for
            :class:`~gnn_sparse.training.optim.LazySGD`); full-graph encoding stays dense.

    The graph given to :meth:`encode` / :meth:`forward` is a prepared full graph
    (:meth:`prepare`), a :class:`~gnn_sparse.models.sampling.CSRGraph` (the same full-graph
    encoder, evaluated layer by layer in target chunks: bounded memory) or a
    :class:`~gnn_sparse.models.sampling.SampledGraph` (only its nodes are encoded, and
    ``pair_index`` is then in its local ids).

    Shapes:
        - :meth:`encode`: prepared graph -> :math:`(|V|, d)`
        - :meth:`decode`: :math:`(|V|, d)`, pairs :math:`(2, P)` -> logits :math:`(P,)`
        - :meth:`classify`: pair features :math:`(P, 2d)` -> logits :math:`(P,)`
    """

    def __init__(self, num_nodes: int, embedding_dim: int, encoder: nn.Module | None = None,
                 fc_hidden: int = 128, node_features: Tensor | None = None, sparse_embedding: bool = False):
        super().__init__()
        name = type(self).__name__
        for arg, value in (("num_nodes", num_nodes), ("embedding_dim", embedding_dim), ("fc_hidden", fc_hidden)):
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"'{name}' needs a positive integer {arg}, got {value!r}")
        if encoder is not None and encoder.in_channels != embedding_dim:
            raise ValueError(f"'{name}': the encoder takes {encoder.in_channels} input features, "
                             f"the embedding has {embedding_dim}")
        self.num_nodes = num_nodes
        if node_features is None:
            self.embedding = nn.Embedding(num_nodes, embedding_dim, sparse=sparse_embedding)
        else:
            if encoder is not None:
                raise ValueError(f"'{name}': fixed node_features take no encoder")
            if node_features.dim() != 2 or tuple(node_features.shape) != (num_nodes, embedding_dim):
                raise ValueError(f"'{name}': node_features must have shape ({num_nodes}, {embedding_dim}), "
                                 f"got {tuple(node_features.shape)}")
            if not node_features.is_floating_point() or not torch.isfinite(node_features).all():
                raise ValueError(f"'{name}': node_features must be finite floats")
            self.embedding = None
            self.register_buffer("node_features", node_features.detach().to(torch.float32).clone(),
                                 persistent=False)
        self.encoder = encoder
        node_dim = embedding_dim if encoder is None else encoder.out_channels
        self.fc1 = nn.Linear(2 * node_dim, fc_hidden)
        self.fc2 = nn.Linear(fc_hidden, 1)

    @property
    def fixed_features(self) -> bool:
        """Whether the node features are fixed (given at construction) rather than learned."""
        return self.embedding is None

    def reset_parameters(self) -> None:
        if self.embedding is not None:
            self.embedding.reset_parameters()
        if self.encoder is not None:
            self.encoder.reset_parameters()
        self.fc1.reset_parameters()
        self.fc2.reset_parameters()

    @torch.no_grad()
    def calibrate(self, graph, std: float = 1.0, iterations: int = 3) -> float:
        r"""Data-dependent initialisation: rescale the node embedding so that the encoder
        output has standard deviation ``std`` on ``graph`` (LSUV, Mishkin & Matas, ICLR 2016).

        .. math::
            E \leftarrow E \cdot \frac{s}{\operatorname{std}(\mathrm{Enc}(E, \mathcal{G}))}

        GCN propagation averages about :math:`\bar d` neighbours and shrinks the output of a
        unit-variance embedding to a standard deviation of about 0.15 on the synthetic graph;
        from such a small start a sparse ``fc1``/``fc2`` escapes the initial plateau
        (loss :math:`\ln 2`) very slowly (measured: 58% test accuracy after 50 DST-EE epochs at
        90% sparsity, 83% after calibration). With ReLU and zero biases the encoder is
        positively homogeneous, so one step is exact; a few iterations cover encoders
        with biases. Returns the standard deviation reached.
        """
        if std <= 0:
            raise ValueError(f"'{type(self).__name__}.calibrate' needs std > 0, got {std}")
        if self.fixed_features:  # given features are used as they are (the original pipeline's)
            return float(self.node_features.std())
        reached = float(self.encode(graph).std())
        for _ in range(iterations):
            if reached == 0 or abs(reached - std) <= 1e-3 * std:
                break
            self.embedding.weight.mul_(std / reached)
            reached = float(self.encode(graph).std())
        return reached

    def prepare(self, edge_index: Tensor):
        """The message-passing graph in the form the encoder consumes (once per graph)."""
        return prepare_graph(self.encoder, edge_index, self.num_nodes)

    def encode(self, graph) -> Tensor:
        if self.fixed_features:
            return self.node_features
        if isinstance(graph, SampledGraph):  # rows for the seeds (the first nodes) at least
            x = self.embedding(graph.n_id)
            if self.encoder is None:
                return x
            if graph.control is not None:  # variance-reduced (VR-GCN), models/control_variates.py
                return graph.control.forward_sampled(self.encoder, x, self.embedding.weight, graph)
            return self.encoder.forward_sampled(x, graph)
        x = self.embedding.weight
        if self.encoder is None:
            return x
        if isinstance(graph, CSRGraph):
            return self.encoder.forward_chunked(x, graph, EVAL_EDGE_CHUNK)
        return self.encoder(x, graph)

    def classify(self, pair_features: Tensor) -> Tensor:
        """The head alone: ``fc2(relu(fc1(features)))`` for user-given pair features."""
        return self.fc2(self.fc1(pair_features).relu()).squeeze(-1)

    def decode(self, z: Tensor, pair_index: Tensor) -> Tensor:
        return self.classify(torch.cat([z[pair_index[0]], z[pair_index[1]]], dim=-1))

    def score_candidates(self, z: Tensor, src: Tensor, dst: Tensor) -> Tensor:
        r"""Logits of each source against its candidate destinations: ``out[i, j]`` scores
        ``(src[i], dst[i, j])``, as :meth:`decode` does (equal up to float rounding).

        Ranking evaluation scores each positive with many negatives of the same source, so
        the head is computed with fewer operations, exactly:

        * ``fc1`` splits into a source and a destination half,
          :math:`W_1 [z_u \,\|\, z_v] = W_1^{s} z_u + W_1^{d} z_v`: the source half once per
          distinct source;
        * hidden units with a zero ``fc2`` weight (pruned) cannot change the logit and are
          skipped (at 90% sparsity about 13 of 128 remain);
        * when the distinct sources :math:`U` are few, :math:`|U| \cdot |V| \le` the number of
          candidates, every (source, node) logit is computed once and gathered;
        * the hidden activations are computed :data:`HIDDEN_BLOCK` floats at a time.

        Args:
            z: node embeddings :math:`(|V|, d)` (:meth:`encode`).
            src: source nodes :math:`(C,)`.
            dst: candidate destinations :math:`(C, M)`, each a valid node id.

        Returns:
            logits :math:`(C, M)`.
        """
        live = (self.fc2.weight[0] != 0).nonzero().squeeze(1)
        node_dim, num_nodes = z.size(1), z.size(0)
        w1 = self.fc1.weight[live]
        destination_weight = w1[:, node_dim:].T  # (d, H')
        sources, row_source = torch.unique(src, return_inverse=True)
        source_part = torch.addmm(self.fc1.bias[live], z[sources], w1[:, :node_dim].T)  # (U, H')

        def logits(hidden: Tensor) -> Tensor:  # fc1's output (R, M, H') -> (R, M)
            flat = hidden.relu_().flatten(0, 1)  # mv, then the bias: addmv mishandles H' = 0 (all fc2 pruned)
            return torch.mv(flat, self.fc2.weight[0, live]).add_(self.fc2.bias).view(hidden.shape[:2])

        # every (source, node) once, then gathered; indexed in dst's type (int32: 20% faster), so within its range
        if len(sources) * num_nodes <= min(dst.numel(), torch.iinfo(dst.dtype).max):
            destination_part = z @ destination_weight
            table = torch.cat([logits(destination_part + source_part[block, None, :])
                               for block in _row_blocks(len(sources), num_nodes * len(live))])
            index = row_source.to(dst.dtype)[:, None] * num_nodes + dst
            return table.view(-1).index_select(0, index.view(-1)).view_as(dst)

        def pair_logits(block: slice) -> Tensor:
            block_dst = dst[block]
            hidden = (z.index_select(0, block_dst.reshape(-1)) @ destination_weight).view(*block_dst.shape, len(live))
            hidden += source_part[row_source[block], None, :]  # in place: 2.5x faster than a new tensor
            return logits(hidden)

        return torch.cat([pair_logits(block) for block in _row_blocks(len(src), dst.size(1) * len(live))])

    def forward(self, graph, pair_index: Tensor) -> Tensor:
        return self.decode(self.encode(graph), pair_index)

    def sparsifiable(self, scope: str = "fc") -> list[str]:
        """Names of the weights that ``--sparsify scope`` masks (``fc``, ``gnn`` or ``all``)."""
        if scope not in SPARSIFY_SCOPES:
            raise ValueError(f"'{type(self).__name__}': unknown sparsify scope {scope!r}; "
                             f"expected one of {sorted(SPARSIFY_SCOPES)}")
        names = [n for n, _ in self.named_parameters()
                 if any(fnmatch.fnmatchcase(n, pat) for pat in SPARSIFY_SCOPES[scope])]
        if not names:
            raise ValueError(f"'{type(self).__name__}': sparsify scope {scope!r} selects no weight "
                             "(an encoder-less model has no GNN weights)")
        return names

    def __repr__(self) -> str:
        encoder = "fixed node features" if self.fixed_features else repr(self.encoder)
        return (f"{type(self).__name__}(num_nodes={self.num_nodes}, encoder={encoder}, "
                f"fc1={self.fc1.in_features}->{self.fc1.out_features}, fc2={self.fc2.in_features}->1)")


def _row_blocks(rows: int, row_floats: int) -> list[slice]:
    """Slices of ``rows`` rows of ``row_floats`` hidden activations each, at most
    :data:`HIDDEN_BLOCK` floats per slice (at least one row)."""
    step = max(1, HIDDEN_BLOCK // max(1, row_floats))
    return [slice(start, start + step) for start in range(0, rows, step)]


def build_link_predictor(num_nodes: int, encoder: str = "gcn", embedding_dim: int = 64,
                         hidden_dim: int = 32, out_dim: int = 8, num_layers: int = 2,
                         fc_hidden: int = 128, node_features: Tensor | None = None,
                         sparse_embedding: bool = False) -> LinkPredictor:
    """The paper's link predictor with a named encoder.

    ``encoder`` is a key of :data:`~gnn_sparse.models.encoders.ENCODERS`: ``"gcn"`` (default:
    embedding 64 -> GCNConv -> 32 -> GCNConv -> 8, pair feature 16), ``"sage"``, or ``"none"``
    (no message passing: an ``out_dim``-sized learnable embedding per node feeds the head, as
    the original pipeline's fixed 8-dimensional node embeddings did), or ``"twalk"`` (the
    original pipeline itself: the given fixed ``node_features`` ``[num_nodes, k]``, e.g. from
    :func:`gnn_sparse.features.dataset_twalk_embeddings`, feed the head, which takes ``2k``;
    ``embedding_dim``, ``hidden_dim``, ``out_dim`` and ``num_layers`` are then unused).
    """
    if encoder not in ENCODERS:
        raise ValueError(f"unknown encoder {encoder!r}; expected one of {', '.join(ENCODERS)}")
    if encoder in FIXED_FEATURE_ENCODERS:
        if node_features is None:
            raise ValueError(f"encoder {encoder!r} needs its fixed node_features "
                             "(e.g. gnn_sparse.features.dataset_twalk_embeddings(dataset))")
        return LinkPredictor(num_nodes, node_features.size(-1), None, fc_hidden, node_features=node_features)
    if node_features is not None:
        raise ValueError(f"encoder {encoder!r} learns its node input; node_features are only for "
                         f"{', '.join(FIXED_FEATURE_ENCODERS)}")
    cls = ENCODERS[encoder]
    if cls is None:
        return LinkPredictor(num_nodes, out_dim, None, fc_hidden, sparse_embedding=sparse_embedding)
    return LinkPredictor(num_nodes, embedding_dim, cls(embedding_dim, hidden_dim, out_dim, num_layers), fc_hidden,
                         sparse_embedding=sparse_embedding)

r"""Full-graph or sampled mini-batches: the rule, and what a run records about it.

Full-graph encoding (every mini-batch re-encodes every node; exact gradients, the paper's
protocol) costs :math:`O(|V| + |E|)` per step; sampled encoding (:mod:`~gnn_sparse.models.sampling`)
costs the batch's computation graph. The default (``num_neighbors=None``) is therefore:

* **full graph** when the training graph is small, :math:`|V| + |E_\text{train}| \le`
  :data:`FULL_GRAPH_MAX_SIZE` (every graph in ``../shared/data`` and ia-email: their results
  and tests are unchanged);
* otherwise **sampled**, fan-out :data:`DEFAULT_FANOUT` per GNN layer (PyG's usual
  ``[10, 10]``), the node embedding updated lazily (:class:`~gnn_sparse.training.optim.LazySGD`),
  and evaluation layer by layer in bounded-memory target chunks (exact full-neighbourhood
  inference, :meth:`~gnn_sparse.models.LinkPredictor.encode` on a
  :class:`~gnn_sparse.models.sampling.CSRGraph`).

``num_neighbors=[-1]`` (or all ``-1``) forces the full graph; any other list forces sampling.
``embedding_optimizer``: ``auto`` is ``lazy`` when sampled, ``dense`` otherwise; ``dense``
keeps exact SGD over the whole embedding in sampled runs too. ``control_variates`` (off by
default) swaps the sampled GCN aggregation for VR-GCN's variance-reduced one
(:mod:`~gnn_sparse.models.control_variates`); it needs sampled batches.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from gnn_sparse.training.config import ConfigError, LinkModelConfig

FULL_GRAPH_MAX_SIZE = 1_000_000
"""Nodes + training message-passing edges up to which full-graph encoding is the default.
A full-graph GCN step costs about 0.5 us per node or edge on 2 CPU cores (6.1 s at wiki-talk
size, 12M), so at this size a step is about 0.5 s."""

DEFAULT_FANOUT = 10


@dataclass(frozen=True)
class TrainingGraph:
    """The resolved choice: ``mode`` (``full``/``sampled``), ``num_neighbors`` (per layer,
    ``None`` when full), ``embedding_optimizer`` (``dense``/``lazy``), ``evaluation``
    (``full``/``layer-wise chunks``), ``reason`` and ``control_variates`` (sampled runs only)."""

    mode: str
    num_neighbors: list[int] | None
    embedding_optimizer: str
    evaluation: str
    reason: str
    control_variates: bool = False

    @property
    def sampled(self) -> bool:
        return self.mode == "sampled"

    def describe(self) -> dict[str, Any]:
        return asdict(self)


def resolve_training_graph(network: LinkModelConfig, num_nodes: int, num_edges: int) -> TrainingGraph:
    """The :class:`TrainingGraph` of ``network`` (a run's ``network`` group) for a training
    graph of ``num_nodes`` nodes and ``num_edges`` message-passing edges."""
    fanouts = network.num_neighbors
    size = num_nodes + num_edges
    gnn = network.encoder in ("gcn", "sage")
    if not gnn:
        return TrainingGraph("full", None, "dense", "full", f"--encoder {network.encoder}: no message passing")
    if fanouts is None:
        sampled = size > FULL_GRAPH_MAX_SIZE
        reason = (f"default rule: |V| + |E_train| = {size:,} "
                  f"{'>' if sampled else '<='} {FULL_GRAPH_MAX_SIZE:,}")
        fanouts = [DEFAULT_FANOUT] * network.num_layers
    else:
        sampled = not all(k == -1 for k in fanouts)
        reason = "--num-neighbors"
        fanouts = fanouts * network.num_layers if len(fanouts) == 1 else list(fanouts)
    if not sampled:
        for flag, wrong in (("--embedding-optimizer lazy", network.embedding_optimizer == "lazy"),
                            ("--control-variates", network.control_variates)):
            if wrong:
                raise ConfigError(f"{flag} needs sampled batches, but this run encodes the full "
                                  f"graph ({reason}); pass --num-neighbors")
        return TrainingGraph("full", None, "dense", "full", reason)
    optimizer = "lazy" if network.embedding_optimizer == "auto" else network.embedding_optimizer
    return TrainingGraph("sampled", fanouts, optimizer, "layer-wise chunks", reason, network.control_variates)

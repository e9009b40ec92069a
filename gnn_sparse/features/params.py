"""The parameters of the temporal-walk features, in one object.

Walks and skip-gram are configured together everywhere they are used (the pipeline, the
dataset helper, the run's fixed features, the cache key), so they travel as one frozen
dataclass instead of nine keyword arguments repeated at each level.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from gnn_sparse.features.embedding import SkipGramParams, resolve_backend
from gnn_sparse.features.walks import check_walk_params


@dataclass(frozen=True)
class TwalkParams:
    """Temporal random walks followed by skip-gram (the original pipeline's defaults).

    Attributes:
        walks_per_node, walk_length, dt: the walks
            (:func:`~gnn_sparse.features.walks.temporal_random_walks`; ``dt=None``: each
            node's own time span).
        dim, window, negatives, epochs: skip-gram
            (:func:`~gnn_sparse.features.embedding.skipgram_embeddings`).
        seed: seeds both the walks and skip-gram.
        workers: skip-gram threads: ``1`` is reproducible, more are faster but not.
        backend: skip-gram implementation, ``"auto"``, ``"gensim"`` or ``"numba"``
            (:class:`SkipGramParams`; :meth:`resolved` replaces ``"auto"``).

    Raises:
        ValueError: on construction, for any invalid value (before any work is done).
    """

    walks_per_node: int = 10
    walk_length: int = 5
    dt: float | None = None
    dim: int = SkipGramParams.dim
    window: int = SkipGramParams.window
    negatives: int = SkipGramParams.negatives
    epochs: int = SkipGramParams.epochs
    seed: int = SkipGramParams.seed
    workers: int = SkipGramParams.workers
    backend: str = SkipGramParams.backend

    def __post_init__(self) -> None:
        check_walk_params(walks_per_node=self.walks_per_node, walk_length=self.walk_length, dt=self.dt)
        self.skipgram()  # checks the skip-gram fields

    def walk_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :class:`~gnn_sparse.features.walks.TemporalWalkSampler`."""
        return dict(walks_per_node=self.walks_per_node, walk_length=self.walk_length, dt=self.dt, seed=self.seed)

    def skipgram(self) -> SkipGramParams:
        """The skip-gram part (:func:`~gnn_sparse.features.embedding.skipgram_from_corpus`)."""
        return SkipGramParams(**{f.name: getattr(self, f.name) for f in fields(SkipGramParams)})

    def resolved(self, num_nodes: int) -> "TwalkParams":
        """These parameters with ``backend="auto"`` replaced by the implementation it means for
        ``num_nodes`` nodes (:func:`~gnn_sparse.features.embedding.resolve_backend`)."""
        return replace(self, backend=resolve_backend(self.backend, num_nodes))

    def as_dict(self) -> dict[str, Any]:
        """Every field, JSON-ready (the results' ``node_features`` record them)."""
        return asdict(self)

"""The configuration of one link-prediction run: its groups, their defaults and checks.

:class:`RunConfig` is made of the groups :class:`LinkDataConfig`, :class:`LinkModelConfig`,
:class:`WalkFeaturesConfig` (link prediction's own) and :class:`OptimConfig`,
:class:`SparsityConfig`, :class:`AdmmConfig` (shared with the image runner,
:mod:`gnn_sparse.training.config_groups`); it is built from, and written as, one flat dict
(``RunConfig.from_dict({"dataset": "email-eu", "sparsity": 0.8})``, ``to_dict()``: the
results JSON's ``config``, ``docs/results.md``).

**Protocols.** ``protocol="sound"`` (the default) is this project's protocol: the split,
features and selection as configured (chronological split, walk embeddings without the test
events, best epoch on validation). ``protocol="original"`` is the paper's, as one switch:
the original split (training and validation sampled from the older 80%,
:func:`~gnn_sparse.data.split.original_split`), walk embeddings trained on the whole graph
test events included (``leaky_embeddings``; ``encoder="twalk"`` only: the other encoders
learn from the training graph, so for them ``original`` means the split and the
selection), and the best epoch chosen on *test* accuracy (:attr:`RunConfig.selection`).
:meth:`RunConfig.from_dict` fills in the split and the leaky embeddings it implies when they
are not given; a given value that contradicts it (``split="chronological"``,
``leaky_embeddings=False`` with twalk) is refused, not overridden.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gnn_sparse.features.embedding import SKIPGRAM_BACKENDS
from gnn_sparse.features.params import TwalkParams
from gnn_sparse.models import ENCODERS, SPARSIFY_SCOPES
from gnn_sparse.training.config_checks import (  # ConfigError & co. re-exported: the runner's modules import them here
    MAX_COUNT,
    MAX_SEED,
    MAX_WIDTH,
    ConfigError,
    OutOfSpaceError,
    check_choice,
    check_fields,
    check_int,
)
from gnn_sparse.training.config_groups import (
    AdmmConfig,
    GroupedConfig,
    OptimConfig,
    SparsityConfig,
    method_label,
    require_set,
)

__all__ = [
    "MAX_SEED", "ConfigError", "OutOfSpaceError", "check_int", "PROTOCOLS", "SELECTIONS",
    "LinkDataConfig", "LinkModelConfig", "WalkFeaturesConfig", "RunConfig", "config_differences",
]

PROTOCOLS = ("sound", "original")
"""``RunConfig.protocol``: this project's protocol, or the paper's (module docstring)."""
SELECTIONS = {"sound": "val", "original": "test"}
"""The split whose accuracy chooses the best epoch, per protocol (:attr:`RunConfig.selection`)."""
IMPLIED_BY_PROTOCOL = ("split", "leaky_embeddings")
"""The flat keys ``protocol="original"`` sets when they are not given (:meth:`RunConfig.from_dict`)."""

_TWALK = TwalkParams()  # the walk and skip-gram defaults: one source for the API and the command line


@dataclass(frozen=True)
class LinkDataConfig:
    """The graph and its split: ``dataset`` (registry name or file path), ``columns`` (column
    roles of an edge-list file), ``data_root``, ``split`` (``chronological`` or
    ``original``), ``val_ratio``, ``test_ratio``, ``neg_ratio`` (negatives per positive),
    ``ranking_negatives`` (``K``: fixed negatives each validation and test positive is
    ranked against for MRR and Hits@k, :mod:`gnn_sparse.training.metrics`; 0: no ranking
    metrics), ``directed``."""

    dataset: str = "synthetic"
    columns: str | None = None
    data_root: str | None = None
    split: str = "chronological"
    val_ratio: float = 0.2
    test_ratio: float = 0.2
    neg_ratio: float = 1.0
    ranking_negatives: int = 100
    directed: bool = False

    def __post_init__(self):
        check_fields(self, ints={"ranking_negatives": (0, MAX_WIDTH)},
                     reals=("val_ratio", "test_ratio", "neg_ratio"),
                     rules=[("neg_ratio", lambda v: 0 < v <= 1000, "in (0, 1000]"),
                            ("val_ratio", lambda v: 0 < v < 1, "in (0, 1)"),
                            ("test_ratio", lambda v: 0 < v < 1, "in (0, 1)")],
                     choices={"split": ("chronological", "original")})


@dataclass(frozen=True)
class LinkModelConfig:
    """The link predictor: ``encoder`` (``gcn``/``sage``/``none``/``twalk``),
    ``embedding_dim``, ``hidden_dim``, ``out_dim`` (``twalk``: the skip-gram dimension),
    ``num_layers``, ``fc_hidden``; and how its GNN is fed (:mod:`~gnn_sparse.training.graph_mode`):
    ``num_neighbors`` (one fan-out per GNN layer, or one for all; ``-1`` = every neighbour;
    ``[-1]`` forces full-graph encoding; ``None`` = the size rule) and
    ``embedding_optimizer`` (``auto``; ``dense``: exact SGD over the whole node embedding
    every step; ``lazy``: touched rows only, sampled batches only); ``control_variates``:
    sampled GCN aggregation with VR-GCN's control variates
    (:mod:`~gnn_sparse.models.control_variates`; sampled ``gcn`` runs only)."""

    encoder: str = "gcn"
    embedding_dim: int = 64
    hidden_dim: int = 32
    out_dim: int = 8
    num_layers: int = 2
    fc_hidden: int = 128
    num_neighbors: list[int] | None = None
    embedding_optimizer: str = "auto"
    control_variates: bool = False

    def __post_init__(self):
        check_fields(self, ints={"num_layers": (1, 64), **{n: (1, MAX_WIDTH) for n in (
                         "embedding_dim", "hidden_dim", "out_dim", "fc_hidden")}},
                     choices={"encoder": tuple(ENCODERS)})
        check_choice("embedding_optimizer", self.embedding_optimizer, ("auto", "dense", "lazy"))
        self._check_num_neighbors()
        if not isinstance(self.control_variates, bool):
            raise ConfigError(f"control_variates must be true or false, got {self.control_variates!r}")
        if self.control_variates and self.encoder != "gcn":
            raise ConfigError(f"--control-variates applies to sampled GCN training (weighted neighbour sums); "
                              f"--encoder {self.encoder} has no such form here")

    def _check_num_neighbors(self) -> None:
        fanouts = self.num_neighbors
        if fanouts is None:
            return
        if not isinstance(fanouts, (list, tuple)) or not fanouts:
            raise ConfigError(f"--num-neighbors expects one or more integers, got {fanouts!r}")
        object.__setattr__(self, "num_neighbors", list(fanouts))  # JSON round-trips stay equal
        if self.encoder not in ("gcn", "sage"):
            raise ConfigError(f"--num-neighbors applies to the GNN encoders (gcn, sage); --encoder {self.encoder} "
                              "has no message passing to sample")
        for k in fanouts:
            if not isinstance(k, int) or isinstance(k, bool) or (k <= 0 and k != -1) or k > MAX_COUNT:
                raise ConfigError(f"--num-neighbors: each fan-out must be a positive integer or -1 "
                                  f"(every neighbour), at most {MAX_COUNT}, got {k!r}")
        if len(fanouts) not in (1, self.num_layers):
            raise ConfigError(f"--num-neighbors gives {len(fanouts)} fan-outs for {self.num_layers} GNN layers "
                              "(--num-layers): give one per layer, or one for all")
        if self.embedding_optimizer == "lazy" and all(k == -1 for k in fanouts):
            raise ConfigError("--embedding-optimizer lazy needs sampled batches; --num-neighbors -1 encodes "
                              "the full graph")


@dataclass(frozen=True)
class WalkFeaturesConfig:
    """The fixed node features of ``encoder="twalk"`` (the original pipeline), with the
    defaults of :class:`~gnn_sparse.features.TwalkParams`: ``walks_per_node``,
    ``walk_length``, ``walk_dt`` (``None``: per-node time span), ``skipgram_window``,
    ``skipgram_negatives``, ``skipgram_epochs``, ``skipgram_workers`` (1: reproducible; more:
    faster, not reproducible), ``skipgram_backend`` (``"auto"``: numba on big graphs, gensim
    on small ones, resolved by the runner before the run is identified; ``"gensim"``; or
    ``"numba"``); ``leaky_embeddings`` trains them on the whole graph (test
    edges included). Their dimension is the model's ``out_dim``, their seed the run's."""

    leaky_embeddings: bool = False
    walks_per_node: int = _TWALK.walks_per_node
    walk_length: int = _TWALK.walk_length
    walk_dt: float | None = _TWALK.dt
    skipgram_window: int = _TWALK.window
    skipgram_negatives: int = _TWALK.negatives
    skipgram_epochs: int = _TWALK.epochs
    skipgram_workers: int = _TWALK.workers
    skipgram_backend: str = _TWALK.backend

    def __post_init__(self):
        check_fields(self, ints={n: (1, MAX_WIDTH) for n in (
            "walks_per_node", "walk_length", "skipgram_window", "skipgram_negatives", "skipgram_epochs",
            "skipgram_workers")}, choices={"skipgram_backend": SKIPGRAM_BACKENDS})
        dt = self.walk_dt
        if dt is not None and not (isinstance(dt, (int, float)) and not isinstance(dt, bool) and 0 < dt < float("inf")):
            raise ConfigError(f"walk_dt must be a finite number > 0 or None, got {self.walk_dt!r}")

    def twalk_params(self, dim: int, seed: int) -> TwalkParams:
        """The walk and skip-gram parameters, ``dim`` wide, seeded by ``seed``."""
        return TwalkParams(walks_per_node=self.walks_per_node, walk_length=self.walk_length, dt=self.walk_dt,
                           dim=dim, window=self.skipgram_window, negatives=self.skipgram_negatives,
                           epochs=self.skipgram_epochs, seed=seed, workers=self.skipgram_workers,
                           backend=self.skipgram_backend)


@dataclass(frozen=True)
class RunConfig(GroupedConfig):
    """Everything that determines a link-prediction run's result (defaults:
    ``../shared/reference/protocol.md``), in groups: ``data``, ``network``, ``features``,
    ``optim``, ``sparse``, ``admm``; plus ``protocol`` (``sound`` or ``original``, the
    paper's: see the module docstring), ``seed`` and ``device`` (where the run happened; not
    compared on resume).

    Build it from flat options, ``RunConfig.from_dict({"method": "rigl", "sparsity": 0.8})``
    (:meth:`~gnn_sparse.training.config_groups.GroupedConfig.from_dict`); read it by group,
    ``config.sparse.sparsity``, ``config.optim.lr``. ``sparse.sparsify`` is ``fc``, ``gnn``
    or ``all`` (a model without a GNN encoder has only ``fc``).
    """

    data: LinkDataConfig = field(default_factory=LinkDataConfig)
    network: LinkModelConfig = field(default_factory=LinkModelConfig)
    features: WalkFeaturesConfig = field(default_factory=WalkFeaturesConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    sparse: SparsityConfig = field(default_factory=SparsityConfig)
    admm: AdmmConfig = field(default_factory=AdmmConfig)
    protocol: str = "sound"
    seed: int = 0
    device: str = "cpu"

    def __post_init__(self):
        require_set(self.optim, self.sparse, self.admm)
        check_choice("protocol", self.protocol, PROTOCOLS)
        check_int("seed", self.seed, 0, MAX_SEED)
        check_choice("sparsify", self.sparse.sparsify, tuple(SPARSIFY_SCOPES))
        encoder = self.network.encoder
        if encoder in ("none", "twalk") and self.sparse.sparsify != "fc":
            raise ConfigError(f"--sparsify {self.sparse.sparsify} needs a GNN encoder; --encoder {encoder} "
                              "has only the fc layers")
        if self.features.leaky_embeddings and encoder != "twalk":
            raise ConfigError(f"--leaky-embeddings applies to --encoder twalk only, not {encoder!r}")
        if self.protocol == "original":
            if self.data.split != "original":
                raise ConfigError(f"--protocol original uses the original split; --split {self.data.split} "
                                  "conflicts with it")
            if encoder == "twalk" and not self.features.leaky_embeddings:
                raise ConfigError("--protocol original trains the walk embeddings on the whole graph; "
                                  "--no-leaky-embeddings conflicts with it")

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "RunConfig":
        """:meth:`GroupedConfig.from_dict`, with the split and (twalk) the leaky embeddings
        that ``protocol="original"`` implies filled in when ``values`` does not give them."""
        if values.get("protocol") == "original":
            implied = {"split": "original"}
            if values.get("encoder", LinkModelConfig.encoder) == "twalk":
                implied["leaky_embeddings"] = True
            values = {**implied, **values}
        return super().from_dict(values)

    @property
    def selection(self) -> str:
        """``"val"``: the best epoch is chosen on validation accuracy; ``"test"`` under
        ``protocol="original"``, as the paper's code did (:func:`~gnn_sparse.training.results.select_best`)."""
        return SELECTIONS[self.protocol]

    def run_id(self) -> str:
        """Default name of the run: dataset, method (``admm-run`` for ADMM with the run's
        optimizer), encoder, sparsify scope, sparsity, seed; ``-original`` at the end under
        ``protocol="original"`` (runs of the sound protocol keep the names they always had)."""
        dataset = self.data.dataset
        data = Path(dataset).name if ("/" in dataset or Path(dataset).suffix) else dataset
        data = re.sub(r"[^A-Za-z0-9_.-]+", "_", data)
        sparse = self.sparse
        sparsity = 0.0 if sparse.method == "dense" else sparse.sparsity
        encoder = f"{self.network.encoder}-leaky" if self.features.leaky_embeddings else self.network.encoder
        name = (f"{data}-{method_label(sparse, self.admm)}-{encoder}-{sparse.sparsify}-s{sparsity:g}"
                f"-seed{self.seed}")
        return f"{name}-original" if self.protocol == "original" else name


NOT_COMPARED_ON_RESUME = ("device",)


def config_differences(saved: dict[str, Any], config: GroupedConfig) -> list[str]:
    """``["lr: 0.05 (checkpoint) vs 0.1 (now)", ...]``: the options of the flat ``saved`` dict
    that differ from ``config`` (a :class:`RunConfig` or an image runner's config)."""
    current = config.to_dict()
    keys = sorted((set(saved) | set(current)) - set(NOT_COMPARED_ON_RESUME))
    # an option added after a run was saved counts as its runner's default there (old runs stay resumable)
    defaults = type(config)().to_dict()
    saved = {**{k: v for k, v in defaults.items() if k not in saved and k in current}, **saved}
    return [f"{k}: {saved.get(k, '<unset>')!r} (checkpoint) vs {current.get(k, '<unset>')!r} (now)"
            for k in keys if saved.get(k, "<unset>") != current.get(k, "<unset>")]

"""The configuration of one training run: every option, its default and its checks."""
from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from gnn_sparse.features.params import TwalkParams
from gnn_sparse.models import ENCODERS, SPARSIFY_SCOPES
from gnn_sparse.sparsity.rules import DST_EE_C, DST_EE_C_DECAY, DST_EE_C_DECAY_INTERVAL, DST_EE_EPS

_TWALK = TwalkParams()  # the walk and skip-gram defaults: one source for the API and the command line


class ConfigError(ValueError):
    """An invalid option or an impossible request; the CLI prints it as one line, exit code 2."""


MAX_EPOCHS = 1_000_000
"""Cap on ``epochs`` and on each ADMM phase: far beyond any run of this toolkit, so only a
typo or a hostile value (``1e30``) is refused instead of being run "forever"."""
MAX_COUNT = 2**31 - 1
"""Cap on batch sizes and step intervals (int32: what index tensors and counters hold)."""
MAX_WIDTH = 65_536
"""Cap on layer widths and on the walk and skip-gram sizes: a bound on typos (a 10**11-wide
layer fails inside the allocator with a traceback), not a promise that any width below fits
in memory."""
MAX_SEED = 2**32 - 1
"""Seeds go to numpy, which takes [0, 2**32)."""


def check_int(name: str, value: Any, low: int, high: int) -> None:
    """:class:`ConfigError` unless ``value`` is an int (not a bool) in ``[low, high]``."""
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ConfigError(f"{name} must be an integer in [{low}, {high}], got {value!r}")


def check_finite(name: str, value: Any) -> None:
    """:class:`ConfigError` unless ``value`` is a finite real number (NaN and inf compare in
    surprising ways, so every range check below starts here)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, got {value!r}")


class OutOfSpaceError(ConfigError):
    """The results folder's file system is full (or over quota). A :class:`ConfigError`, so
    that every command line prints it as one line with exit code 2 and a ``compare`` grid
    stops instead of failing every following run; the files already written are intact."""


class DictConfig:
    """A dataclass config that round-trips through a plain dict (results JSON, checkpoints)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]):
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown config keys {unknown}")
        return cls(**values)


@dataclass(frozen=True)
class RunConfig(DictConfig):
    """Everything that determines a run's result (defaults: ``../shared/reference/protocol.md``).

    Data: ``dataset`` (registry name or file path), ``columns``, ``data_root``, ``split``,
    ``val_ratio``, ``test_ratio``, ``neg_ratio``, ``directed``.
    Model: ``encoder`` (``gcn``/``sage``/``none``/``twalk``), ``embedding_dim``, ``hidden_dim``,
    ``out_dim``, ``num_layers``, ``fc_hidden``.
    Fixed features of ``encoder="twalk"`` (the original pipeline; ``out_dim`` is the skip-gram
    dimension): ``walks_per_node``, ``walk_length``, ``walk_dt`` (``None``: per-node time
    span), ``skipgram_window``, ``skipgram_negatives``, ``skipgram_epochs``,
    ``skipgram_workers`` (1: reproducible; more: faster, not reproducible); seeded by
    ``seed``; ``leaky_embeddings`` trains them on the whole graph (test edges included).
    Mini-batches (:mod:`~gnn_sparse.training.graph_mode`): ``num_neighbors`` (one fan-out per
    GNN layer, or one for all; ``-1`` = every neighbour; ``[-1]`` forces full-graph encoding;
    ``None`` = the size rule) and ``embedding_optimizer`` (``auto``, ``dense``: exact SGD over
    the whole node embedding every step; ``lazy``: touched rows only, sampled batches only).
    Optimisation (every method, dense included): SGD with ``lr``, ``momentum``, ``nesterov``,
    ``weight_decay``; ``lr_schedule`` (``cosine`` annealing to 0 over the epochs, or
    ``constant``); ``epochs``; ``batch_size`` labelled pairs per step.
    Sparsity: ``method``, ``sparsity`` (target fraction of zeros), ``sparsify`` (``fc``,
    ``gnn``, ``all``), ``distribution``; mask updates every ``update_interval`` steps until
    ``end_fraction`` of the steps, moving ``drop_fraction`` (``drop_schedule``) of the active
    weights; DST-EE's ``c`` x ``c_decay`` every ``c_decay_interval`` steps and ``eps``.
    ADMM (``method="admm"``, :mod:`baselines.link_prediction`): ``pretrain_epochs``,
    ``admm_epochs``, ``retrain_epochs`` (its run has their sum, not ``epochs``), ``rho`` and
    ``rho_factor`` (``rho`` is multiplied by it at each Z/U update).
    ``exploitation_probe``: measure the exploitation degree :math:`L_g` of every mask update
    (one extra forward pass per update, :mod:`gnn_sparse.sparsity.exploitation`); off for
    timing runs. It does not change training.
    ``method_options``: extra options of a plug-in method (see :mod:`~gnn_sparse.training.methods`).
    ``device``: where the run happened (not compared on resume).
    """

    dataset: str = "synthetic"
    columns: str | None = None
    data_root: str | None = None
    split: str = "chronological"
    val_ratio: float = 0.2
    test_ratio: float = 0.2
    neg_ratio: float = 1.0
    directed: bool = False

    method: str = "dst-ee"
    sparsity: float = 0.9
    sparsify: str = "fc"
    distribution: str = "uniform"

    encoder: str = "gcn"
    embedding_dim: int = 64
    hidden_dim: int = 32
    out_dim: int = 8
    num_layers: int = 2
    fc_hidden: int = 128
    num_neighbors: list[int] | None = None
    embedding_optimizer: str = "auto"
    leaky_embeddings: bool = False
    walks_per_node: int = _TWALK.walks_per_node
    walk_length: int = _TWALK.walk_length
    walk_dt: float | None = _TWALK.dt
    skipgram_window: int = _TWALK.window
    skipgram_negatives: int = _TWALK.negatives
    skipgram_epochs: int = _TWALK.epochs
    skipgram_workers: int = _TWALK.workers

    epochs: int = 50
    batch_size: int = 1024
    lr: float = 0.1
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    lr_schedule: str = "cosine"

    update_interval: int = 500
    end_fraction: float = 0.75
    drop_fraction: float = 0.5
    drop_schedule: str = "cosine"
    c: float = DST_EE_C
    c_decay: float = DST_EE_C_DECAY
    c_decay_interval: int = DST_EE_C_DECAY_INTERVAL
    eps: float = DST_EE_EPS
    pretrain_epochs: int = 20
    admm_epochs: int = 20
    retrain_epochs: int = 20
    rho: float = 0.01
    rho_factor: float = 1.0
    exploitation_probe: bool = True

    method_options: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    device: str = "cpu"

    def __post_init__(self):
        ranges = {"epochs": (1, MAX_EPOCHS), "batch_size": (1, MAX_COUNT), "update_interval": (1, MAX_COUNT),
                  "c_decay_interval": (1, MAX_COUNT), "num_layers": (1, 64), "seed": (0, MAX_SEED),
                  **{n: (0, MAX_EPOCHS) for n in ("pretrain_epochs", "admm_epochs", "retrain_epochs")},
                  **{n: (1, MAX_WIDTH) for n in ("embedding_dim", "hidden_dim", "out_dim", "fc_hidden",
                                                 "walks_per_node", "walk_length", "skipgram_window",
                                                 "skipgram_negatives", "skipgram_epochs", "skipgram_workers")}}
        for name, (low, high) in ranges.items():
            check_int(name, getattr(self, name), low, high)
        for name in ("sparsity", "val_ratio", "test_ratio", "neg_ratio", "lr", "momentum", "weight_decay",
                     "end_fraction", "drop_fraction", "c", "c_decay", "eps", "rho", "rho_factor"):
            check_finite(name, getattr(self, name))
        checks = [
            ("sparsity", 0 <= self.sparsity < 1, "in [0, 1)"),
            ("lr", self.lr > 0, "> 0"),
            ("momentum", 0 <= self.momentum < 1, "in [0, 1)"),
            ("weight_decay", self.weight_decay >= 0, ">= 0"),
            ("end_fraction", 0 < self.end_fraction <= 1, "in (0, 1]"),
            ("drop_fraction", 0 <= self.drop_fraction <= 1, "in [0, 1]"),
            ("c", self.c >= 0, ">= 0"),
            ("c_decay", 0 < self.c_decay <= 1, "in (0, 1]"),
            ("eps", self.eps > 0, "> 0"),
            ("neg_ratio", 0 < self.neg_ratio <= 1000, "in (0, 1000]"),
            ("val_ratio", 0 < self.val_ratio < 1, "in (0, 1)"),
            ("test_ratio", 0 < self.test_ratio < 1, "in (0, 1)"),
            ("rho", self.rho > 0, "> 0"),
            ("rho_factor", self.rho_factor > 0, "> 0"),
        ]
        for name, ok, rule in checks:
            if not ok:
                raise ConfigError(f"{name} must be {rule}, got {getattr(self, name)!r}")
        if self.nesterov and self.momentum == 0:
            raise ConfigError("nesterov needs momentum > 0 (pass --no-nesterov or --momentum > 0)")
        choices = {"lr_schedule": ("cosine", "constant"), "drop_schedule": ("cosine", "constant"),
                   "distribution": ("uniform", "erk"), "split": ("chronological", "original"),
                   "encoder": tuple(ENCODERS), "sparsify": tuple(SPARSIFY_SCOPES)}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ConfigError(f"{name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}")
        if self.encoder in ("none", "twalk") and self.sparsify != "fc":
            raise ConfigError(f"--sparsify {self.sparsify} needs a GNN encoder; --encoder {self.encoder} "
                              "has only the fc layers")
        self._check_num_neighbors()
        if self.leaky_embeddings and self.encoder != "twalk":
            raise ConfigError(f"--leaky-embeddings applies to --encoder twalk only, not {self.encoder!r}")
        dt = self.walk_dt
        if dt is not None and not (isinstance(dt, (int, float)) and not isinstance(dt, bool) and 0 < dt < float("inf")):
            raise ConfigError(f"walk_dt must be a finite number > 0 or None, got {self.walk_dt!r}")

    def _check_num_neighbors(self) -> None:
        if self.embedding_optimizer not in ("auto", "dense", "lazy"):
            raise ConfigError(f"embedding_optimizer must be one of auto, dense, lazy, got {self.embedding_optimizer!r}")
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

    def run_id(self) -> str:
        """Default name of the run: dataset, method, encoder, sparsify scope, sparsity, seed."""
        data = Path(self.dataset).name if ("/" in self.dataset or Path(self.dataset).suffix) else self.dataset
        data = re.sub(r"[^A-Za-z0-9_.-]+", "_", data)
        sparsity = 0.0 if self.method == "dense" else self.sparsity
        encoder = f"{self.encoder}-leaky" if self.leaky_embeddings else self.encoder
        return f"{data}-{self.method}-{encoder}-{self.sparsify}-s{sparsity:g}-seed{self.seed}"


NOT_COMPARED_ON_RESUME = ("device",)


def config_differences(saved: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """``["lr: 0.05 (checkpoint) vs 0.1 (now)", ...]`` for the options that differ."""
    keys = sorted((set(saved) | set(current)) - set(NOT_COMPARED_ON_RESUME))
    # an option added after a run was saved counts as its default there (old runs stay resumable)
    defaults = {f.name: getattr(RunConfig, f.name) for f in fields(RunConfig) if hasattr(RunConfig, f.name)}
    saved = {**{k: v for k, v in defaults.items() if k not in saved and k in current}, **saved}
    return [f"{k}: {saved.get(k, '<unset>')!r} (checkpoint) vs {current.get(k, '<unset>')!r} (now)"
            for k in keys if saved.get(k, "<unset>") != current.get(k, "<unset>")]

"""The configuration groups both runners share, and the flat dict a grouped config reads and writes.

A run's configuration is a few small frozen dataclasses, one concept each (data, network,
features, optimisation, sparsity, ADMM), each checking its own fields on construction.
:class:`OptimConfig`, :class:`SparsityConfig` and :class:`AdmmConfig` are the same classes in
the link-prediction :class:`~gnn_sparse.training.RunConfig` and the image
:class:`~gnn_sparse.vision.config.ImageRunConfig`, so the pluggable methods
(:mod:`gnn_sparse.training.methods`) and the ADMM baseline read ``config.optim``,
``config.sparse`` and ``config.admm`` whichever runner built them.

Outside Python, a config is one flat dict, one key per command-line option (the results
JSON's ``config``, checkpoints, resume): :class:`GroupedConfig` flattens and rebuilds it, so
that shape does not depend on the grouping (``docs/results.md``).
"""
from __future__ import annotations

from dataclasses import MISSING, asdict, dataclass, field, fields, is_dataclass, replace
from typing import Any, ClassVar

from gnn_sparse.sparsity.exploration import EXPLORATION_VARIANTS
from gnn_sparse.sparsity.rules import DST_EE_C, DST_EE_C_DECAY, DST_EE_C_DECAY_INTERVAL, DST_EE_EPS
from gnn_sparse.training.config_checks import MAX_COUNT, MAX_EPOCHS, ConfigError, check_fields

SCHEDULES = ("cosine", "constant")
ADMM_OPTIMIZERS = ("original", "run")
"""``AdmmConfig.admm_optimizer``: the original code's SGD (lr 0.05, no momentum, its own
per-phase decay) or the run's own optimizer and schedule (:mod:`baselines.link_prediction`)."""
ADMM_RUN_OPTIMIZER = "admm-run"
"""How run names and reports call ADMM with ``admm_optimizer="run"`` (:func:`method_label`);
plain ``admm`` is ADMM with the original optimizer, as before the option existed."""


@dataclass(frozen=True)
class OptimConfig:
    """SGD and its schedule, for every method but ADMM (which has its own).

    ``epochs``; ``batch_size`` examples per step; ``lr``, ``momentum``, ``nesterov``,
    ``weight_decay``; ``lr_schedule`` (``cosine`` annealing to 0 over the epochs, or
    ``constant``). Defaults: link prediction's. The fields in :attr:`UNSET` may be ``None``:
    the image runner's per-dataset defaults, filled in before a run.
    """

    epochs: int | None = 50
    batch_size: int | None = 1024
    lr: float | None = 0.1
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float | None = 5e-4
    lr_schedule: str = "cosine"

    UNSET: ClassVar[tuple[str, ...]] = ("epochs", "batch_size", "lr", "weight_decay")

    def __post_init__(self):
        check_fields(self, ints={"epochs": (1, MAX_EPOCHS), "batch_size": (1, MAX_COUNT)},
                     reals=("lr", "momentum", "weight_decay"),
                     rules=[("lr", lambda v: v > 0, "> 0"), ("momentum", lambda v: 0 <= v < 1, "in [0, 1)"),
                            ("weight_decay", lambda v: v >= 0, ">= 0")],
                     choices={"lr_schedule": SCHEDULES}, unset=self.UNSET)
        if self.nesterov and self.momentum == 0:
            raise ConfigError("nesterov needs momentum > 0 (pass --no-nesterov or --momentum > 0)")


@dataclass(frozen=True)
class SparsityConfig:
    """The training method and its masks.

    ``method`` (a registered name: ``dense``, ``dst-ee``, ``rigl``, ``set``, ``static``,
    ``admm``, plug-ins); ``sparsity`` (target fraction of zeros); ``sparsify`` (which weights
    are masked: the runner's config checks the scopes its models have); ``distribution``
    (``uniform`` or ``erk`` over the layers); mask updates every ``update_interval`` steps
    until ``end_fraction`` of the steps, moving ``drop_fraction`` (``drop_schedule``) of the
    active weights; DST-EE's ``c`` x ``c_decay`` every ``c_decay_interval`` steps and
    ``eps``; ``exploration``: the variant of DST-EE's grow rule (``paper``: Eq. 1;
    ``normalized``, ``ucb`` with ``c``, ``quota`` with ``exploration_rho``:
    :mod:`gnn_sparse.sparsity.exploration`; runs of a variant are named ``dst-ee-<variant>``);
    ``exploitation_probe``: measure the exploitation degree :math:`L_g` of every
    mask update (one extra forward pass per update, :mod:`gnn_sparse.sparsity.exploitation`;
    off for timing runs; it does not change training); ``method_options``: extra options of
    a plug-in method. Defaults: link prediction's; ``update_interval`` may be ``None`` (the
    image runner's per-dataset default).
    """

    method: str = "dst-ee"
    sparsity: float = 0.9
    sparsify: str = "fc"
    distribution: str = "uniform"
    update_interval: int | None = 500
    end_fraction: float = 0.75
    drop_fraction: float = 0.5
    drop_schedule: str = "cosine"
    c: float = DST_EE_C
    c_decay: float = DST_EE_C_DECAY
    c_decay_interval: int = DST_EE_C_DECAY_INTERVAL
    eps: float = DST_EE_EPS
    exploration: str = "paper"
    exploration_rho: float = 0.25
    exploitation_probe: bool = True
    method_options: dict[str, Any] = field(default_factory=dict)

    UNSET: ClassVar[tuple[str, ...]] = ("update_interval",)

    def __post_init__(self):
        check_fields(self, ints={"update_interval": (1, MAX_COUNT), "c_decay_interval": (1, MAX_COUNT)},
                     reals=("sparsity", "end_fraction", "drop_fraction", "c", "c_decay", "eps"),
                     rules=[("sparsity", lambda v: 0 <= v < 1, "in [0, 1)"),
                            ("end_fraction", lambda v: 0 < v <= 1, "in (0, 1]"),
                            ("drop_fraction", lambda v: 0 <= v <= 1, "in [0, 1]"),
                            ("c", lambda v: v >= 0, ">= 0"),
                            ("c_decay", lambda v: 0 < v <= 1, "in (0, 1]"),
                            ("eps", lambda v: v > 0, "> 0"),
                            ("exploration_rho", lambda v: 0 <= v <= 1, "in [0, 1]")],
                     choices={"drop_schedule": SCHEDULES, "distribution": ("uniform", "erk"),
                              "exploration": EXPLORATION_VARIANTS}, unset=self.UNSET)
        if self.exploration != "paper" and self.method != "dst-ee":
            raise ConfigError(f"exploration {self.exploration!r} is a variant of DST-EE's grow rule; method "
                              f"{self.method!r} has none (use method dst-ee)")


@dataclass(frozen=True)
class AdmmConfig:
    """The ADMM prune-from-dense baseline (``method="admm"``, :mod:`baselines.link_prediction`).

    ``pretrain_epochs``, ``admm_epochs``, ``retrain_epochs`` (its run has their sum, not
    ``optim.epochs``); ``rho`` and ``rho_factor`` (``rho`` is multiplied by it at each Z/U
    update); ``admm_optimizer``: ``original`` (SGD lr 0.05 without momentum, the original
    code's) or ``run`` (every phase uses the run's ``optim`` group, as the sparse methods do;
    the run is then named ``admm-run``, :func:`method_label`). Defaults: link prediction's;
    the epochs may be ``None`` (the image runner's per-dataset defaults).
    """

    pretrain_epochs: int | None = 20
    admm_epochs: int | None = 20
    retrain_epochs: int | None = 20
    rho: float = 0.01
    rho_factor: float = 1.0
    admm_optimizer: str = "original"

    UNSET: ClassVar[tuple[str, ...]] = ("pretrain_epochs", "admm_epochs", "retrain_epochs")

    def __post_init__(self):
        check_fields(self, ints={n: (0, MAX_EPOCHS) for n in self.UNSET}, reals=("rho", "rho_factor"),
                     rules=[("rho", lambda v: v > 0, "> 0"), ("rho_factor", lambda v: v > 0, "> 0")],
                     choices={"admm_optimizer": ADMM_OPTIMIZERS}, unset=self.UNSET)


def method_label(sparse: SparsityConfig, admm: AdmmConfig) -> str:
    """The method as run names and reports tell it apart: ``sparse.method``, except
    :data:`ADMM_RUN_OPTIMIZER` for ADMM with ``admm_optimizer="run"`` (so that both ADMM
    variants can live in one results folder; ADMM with the original optimizer keeps ``admm``)."""
    if sparse.method == "admm" and admm.admm_optimizer == "run":
        return ADMM_RUN_OPTIMIZER
    if sparse.method == "dst-ee" and sparse.exploration != "paper":
        return f"dst-ee-{sparse.exploration}"
    return sparse.method


def require_set(*groups: Any) -> None:
    """:class:`ConfigError` for the first field of ``groups`` still ``None`` among those its
    class lets be unset: a runner without per-dataset defaults needs every value."""
    for group in groups:
        for name in type(group).UNSET:
            if getattr(group, name) is None:
                raise ConfigError(f"{name} must be set, got None")


class GroupedConfig:
    """A frozen dataclass of config groups (dataclass fields) and top-level options (the
    others, e.g. ``seed``), read and written as one flat dict, one key per option.

    Every field needs a default: a group's default instance holds the runner's defaults of
    its options (link prediction's and the image runner's differ), so :meth:`from_dict`
    starts from it and replaces only the keys it is given.
    """

    @classmethod
    def _defaults(cls) -> dict[str, Any]:
        return {f.name: f.default if f.default is not MISSING else f.default_factory() for f in fields(cls)}

    @classmethod
    def groups(cls) -> dict[str, list[str]]:
        """``{group: its flat keys}``; a top-level option is a group of one key, itself."""
        return {name: [f.name for f in fields(value)] if is_dataclass(value) else [name]
                for name, value in cls._defaults().items()}

    def to_dict(self) -> dict[str, Any]:
        """The flat dict: every option of every group, one key each (JSON-ready)."""
        flat: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            flat.update(asdict(value) if is_dataclass(value) else {f.name: value})
        return flat

    @classmethod
    def from_dict(cls, values: dict[str, Any]):
        """The config of a flat dict (keys of :meth:`to_dict`; those missing keep their
        default). :class:`ConfigError` for an unknown key or an invalid value."""
        known = {key for keys in cls.groups().values() for key in keys}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown config keys {unknown}")
        built = {}
        for name, default in cls._defaults().items():
            if is_dataclass(default):
                given = {f.name: values[f.name] for f in fields(default) if f.name in values}
                built[name] = replace(default, **given) if given else default
            elif name in values:
                built[name] = values[name]
        return cls(**built)

    def updated(self, **changes: Any):
        """This config with some flat options changed (checked again, as :meth:`from_dict`)."""
        return type(self).from_dict({**self.to_dict(), **changes})

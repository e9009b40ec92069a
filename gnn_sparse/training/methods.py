"""Training methods as small pluggable objects, and the registry that names them.

A method decides what differs between dense training, DST-EE, RigL, SET, static masks or a
multi-phase baseline such as ADMM; the runner (:mod:`~gnn_sparse.training.runner`) owns
the data, the loop, evaluation, checkpoints and results and never branches on a method's
name. The runner drives a method through these hooks, in this order::

    for phase in method.phases():                      # e.g. [Phase("train", 50)]
        optimizer, scheduler = method.start_phase(phase, model, steps_per_epoch)
        # on resume: model, optimizer, scheduler and method.load_state_dict(...) restored here
        for epoch in phase:
            for batch in epoch:
                loss = bce(model(batch)) + method.penalty(model)     # penalty may be None
                loss.backward(); optimizer.step()
                method.observe_step(loss, closure); method.after_step()
            scheduler.step(); method.after_epoch(phase, epoch)
            evaluate; checkpoint with method.state_dict()
    results |= method.report()

Contract for a new method (subclass :class:`Method`, override only what differs):

* ``start_phase`` builds the phase's optimizer and per-epoch LR scheduler and anything tied
  to them (a sparsifier, masks). On resume it is called on a freshly built model *before*
  the checkpoint is loaded, so whatever it derives from the weights must also be in
  ``state_dict()``.
* ``penalty`` returns an extra loss term (a scalar tensor) or ``None``.
* ``observe_step(loss, closure)`` runs after every ``optimizer.step()``, before
  ``after_step``, with the step's training loss and a closure recomputing it on the same
  batch with the current weights (the exploitation probe's one extra forward per mask update).
* ``after_step`` runs after every ``optimizer.step()``; ``after_epoch`` after every epoch's
  ``scheduler.step()``, before evaluation.
* ``phase_density(phase)`` and ``dense_gradient_steps()`` feed the FLOPs accounting
  (:mod:`gnn_sparse.training.flops`): the density of each masked weight during a phase
  (``{}``: dense) and the number of steps that computed a dense weight gradient on top of
  the sparse step (RigL's and DST-EE's mask updates).
* ``state_dict``/``load_state_dict`` hold everything needed to continue exactly.
* ``report`` returns JSON-ready extras for the results; ``exploration_rate`` is required
  (``None`` for methods without a mask history).
* ``Phase.selectable=False`` keeps a phase's epochs (e.g. dense pre-training) out of the
  best-epoch selection.
* Method-specific options come from ``config.sparse.method_options`` (``--method-option KEY=VALUE``);
  list the accepted keys in ``options`` so unknown ones fail early.

A method reads only the groups of the run's config that both runners have
(:class:`MethodConfig`: ``config.optim``, ``config.sparse``, ``config.seed``), so it runs on
link prediction and on images alike. Register with :func:`register_method`
(``name -> factory(config)``); the CLI's ``--method`` choices are the registry's keys.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Protocol

import torch
from torch import nn

from gnn_sparse.sparsity import DSTEE, SET, RigL, StaticSparse
from gnn_sparse.sparsity.exploitation import ExploitationProbe, LossClosure
from gnn_sparse.training.config_checks import ConfigError
from gnn_sparse.training.config_groups import OptimConfig, SparsityConfig
from gnn_sparse.training.optim import LazySGD


class MethodConfig(Protocol):
    """What a method reads of a run's config: the groups both runners share
    (:class:`~gnn_sparse.training.RunConfig`, :class:`~gnn_sparse.vision.config.ImageRunConfig`)."""

    optim: OptimConfig
    sparse: SparsityConfig
    seed: int


@dataclass(frozen=True)
class Phase:
    """A stretch of training with one optimizer and one LR schedule.

    Args:
        name: label in the per-epoch log.
        epochs: number of epochs (> 0).
        selectable: whether its epochs can be chosen as the best epoch (default: ``True``).
    """

    name: str
    epochs: int
    selectable: bool = True

    def __post_init__(self):
        if self.epochs <= 0:
            raise ConfigError(f"phase {self.name!r} needs epochs > 0, got {self.epochs}")


def make_sgd(model: nn.Module, optim: OptimConfig, lr: float | None = None) -> torch.optim.SGD:
    """SGD over all parameters with ``optim``'s learning rate (or ``lr``), momentum, Nesterov
    flag and weight decay; :class:`~gnn_sparse.training.optim.LazySGD` if the model has a
    sparse-gradient embedding."""
    lazy = any(isinstance(m, nn.Embedding) and m.sparse for m in model.modules())
    return (LazySGD if lazy else torch.optim.SGD)(model.parameters(), lr=optim.lr if lr is None else lr,
                                                  momentum=optim.momentum, nesterov=optim.nesterov,
                                                  weight_decay=optim.weight_decay)


def make_lr_scheduler(optimizer: torch.optim.Optimizer, schedule: str, epochs: int):
    r"""A per-epoch schedule: ``"cosine"`` anneals :math:`\eta_e = \frac{\eta_0}{2}(1 + \cos\frac{\pi e}{E})`
    to 0 over ``epochs`` (``CosineAnnealingLR``), ``"constant"`` keeps :math:`\eta_0`."""
    if schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    if schedule == "constant":
        return torch.optim.lr_scheduler.ConstantLR(optimizer, factor=1.0, total_iters=0)
    raise ConfigError(f"unknown lr schedule {schedule!r}; expected 'cosine' or 'constant'")


class Method:
    """Dense training (one phase, SGD, per-epoch LR schedule); the base of every method.

    Args:
        config: the run's configuration.
    """

    sparse = False
    options: tuple[str, ...] = ()

    def __init__(self, config: MethodConfig):
        unknown = sorted(set(config.sparse.method_options) - set(self.options))
        if unknown:
            accepted = ", ".join(self.options) or "none"
            raise ConfigError(f"method {config.sparse.method!r} does not take option(s) {unknown} "
                              f"(accepted: {accepted})")
        self.config = config

    @property
    def target_sparsity(self) -> float:
        return self.config.sparse.sparsity if self.sparse else 0.0

    def phases(self) -> list[Phase]:
        return [Phase("train", self.config.optim.epochs)]

    def start_phase(self, phase: Phase, model: nn.Module, steps_per_epoch: int):
        optimizer = make_sgd(model, self.config.optim)
        return optimizer, make_lr_scheduler(optimizer, self.config.optim.lr_schedule, phase.epochs)

    def penalty(self, model: nn.Module) -> torch.Tensor | None:
        return None

    def observe_step(self, loss: torch.Tensor, closure: LossClosure) -> None:
        """Dense training measures nothing after an optimizer step."""

    def after_step(self) -> None:
        """Dense training does nothing after an optimizer step."""

    def after_epoch(self, phase: Phase, epoch: int) -> None:
        """Dense training does nothing after an epoch."""

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state:
            raise ValueError(f"{type(self).__name__} keeps no state, got keys {sorted(state)}")

    def bind_validation(self, evaluate: Callable[[], dict[str, Any]]) -> None:
        """The runner hands over ``evaluate()``, the model's metrics on the validation split,
        before the first phase, for methods that log them mid-run (ADMM); unused by default."""

    def report(self) -> dict[str, Any]:
        return {"exploration_rate": None}

    def phase_density(self, phase: str) -> dict[str, float]:
        """Density of each masked weight during ``phase`` (``{}``: every weight dense)."""
        return {}

    def dense_gradient_steps(self) -> int:
        """Steps that computed a dense weight gradient on top of a sparse step."""
        return 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}(method={self.config.sparse.method!r})"


class SparseMethod(Method):
    """Sparse training from scratch with a :class:`~gnn_sparse.DynamicSparsifier` subclass.

    The sparsifier masks ``model.sparsifiable(sparse.sparsify)`` at ``sparse.sparsity`` and
    updates masks every ``update_interval`` steps until ``end_step = round(end_fraction x
    epochs x steps_per_epoch)`` (75% of the run by default).

    Args:
        config: the run's configuration.
        sparsifier_cls: ``DSTEE``, ``RigL``, ``SET`` or ``StaticSparse`` (or a user subclass).
        **sparsifier_kwargs: extra constructor arguments (DST-EE's ``c``, ``eps``, ...).
    """

    sparse = True

    def __init__(self, config: MethodConfig, sparsifier_cls: type, **sparsifier_kwargs):
        super().__init__(config)
        self.sparsifier_cls = sparsifier_cls
        self.sparsifier_kwargs = sparsifier_kwargs
        self.sparsifier = None
        self.probe: ExploitationProbe | None = None

    def start_phase(self, phase, model, steps_per_epoch):
        optimizer, scheduler = super().start_phase(phase, model, steps_per_epoch)
        cfg = self.config.sparse
        end_step = max(1, round(cfg.end_fraction * phase.epochs * steps_per_epoch))
        updates = {} if issubclass(self.sparsifier_cls, StaticSparse) else dict(
            update_interval=cfg.update_interval, end_step=end_step, drop_fraction=cfg.drop_fraction,
            drop_schedule=cfg.drop_schedule)
        try:
            self.sparsifier = self.sparsifier_cls(
                model, optimizer, sparsity=cfg.sparsity, distribution=cfg.distribution,
                params=model.sparsifiable(cfg.sparsify), seed=self.config.seed, **updates, **self.sparsifier_kwargs)
        except ValueError as err:
            raise ConfigError(f"{cfg.method}: {err}") from None
        self.probe = ExploitationProbe(self.sparsifier, enabled=cfg.exploitation_probe)
        return optimizer, scheduler

    def observe_step(self, loss, closure) -> None:
        self.probe.observe(loss, closure)

    def after_step(self) -> None:
        self.sparsifier.step()

    def state_dict(self):
        return {"sparsifier": self.sparsifier.state_dict(), "probe": self.probe.state_dict()}

    def load_state_dict(self, state):
        self.sparsifier.load_state_dict(state["sparsifier"])
        self.probe.load_state_dict(state["probe"])

    def phase_density(self, phase):
        return {n: float(m.count_nonzero()) / m.numel() for n, m in self.sparsifier.masks.items()}

    def dense_gradient_steps(self):
        sp = self.sparsifier
        return len(sp.history) if sp.grow is not None and sp.grow.needs_grad else 0

    def report(self):
        sp = self.sparsifier
        report = sp.sparsity_report()
        return {
            "exploration_rate": sp.exploration_rate(),
            "mask_sparsity": {n: 1.0 - r["active"] / r["numel"] for n, r in report.items()},
            "exploration_rate_per_layer": sp.exploration_rate(per_layer=True),
            "exploration_history": list(sp.history),
            "mask_updates": sum(1 for h in sp.history if "skipped" not in h),
            "exploitation_probe": {"enabled": self.probe.enabled,
                                   "forwards": sum(1 for h in sp.history if "exploitation" in h)},
            "sparsifier": repr(sp),
        }


MethodFactory = Callable[[MethodConfig], Method]
METHODS: dict[str, MethodFactory] = {}


def register_method(name: str, factory: MethodFactory, *, replace: bool = False) -> None:
    """Make ``factory(config) -> Method`` available as ``--method name``."""
    if name in METHODS and not replace:
        raise ValueError(f"method {name!r} is already registered (pass replace=True to override)")
    METHODS[name] = factory


def build_method(config: MethodConfig) -> Method:
    """The method named by ``config.sparse.method``; :class:`ConfigError` for an unknown name."""
    name = config.sparse.method
    if name not in METHODS:
        raise ConfigError(f"unknown method {name!r}; choose one of {', '.join(METHODS)}")
    return METHODS[name](config)


def _dst_ee(config: MethodConfig) -> Method:
    sparse = config.sparse
    return SparseMethod(config, DSTEE, c=sparse.c, eps=sparse.eps, c_decay=sparse.c_decay,
                        c_decay_interval=sparse.c_decay_interval, exploration=sparse.exploration,
                        rho=sparse.exploration_rho)


register_method("dense", Method)
register_method("dst-ee", _dst_ee)
register_method("rigl", lambda config: SparseMethod(config, RigL))
register_method("set", lambda config: SparseMethod(config, SET))
register_method("static", lambda config: SparseMethod(config, StaticSparse))

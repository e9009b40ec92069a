r"""``--method admm``: the ADMM prune-from-dense baseline as a method of the link-prediction
trainer (:mod:`gnn_sparse.training`).

**Import direction.** ``baselines`` builds on ``gnn_sparse`` (the pruner already uses its
layer selection, sparsity distributions and :class:`~gnn_sparse.sparsity.StaticSparse`), and
``gnn_sparse``'s library code never imports ``baselines``. :func:`register_admm` registers
``"admm"`` in :data:`gnn_sparse.training.methods.METHODS`; the application layer (the command
lines :mod:`gnn_sparse.cli` and :mod:`gnn_sparse.vision.cli`) calls it, so ``--method admm``
is a CLI choice. From Python: ``from baselines.link_prediction import register_admm;
register_admm()`` before ``run(RunConfig.from_dict({"method": "admm"}))``. Importing the module registers
nothing (``tests/test_layering.py`` keeps the import direction).

**Mapping onto the Method protocol.** :class:`ADMMMethod` is a thin wrapper: the phase logic
(Z/U reset and updates, hard pruning, logs, checkpoint state) stays in
:class:`~baselines.phases.ADMMRunner`, driven phase by phase:

=================  =====================================================================
``phases()``       ``pretrain`` and ``admm`` (``selectable=False``), ``retrain``; a phase
                   with 0 epochs is left out. The best epoch is chosen among the retraining
                   epochs only: before them the model is dense, and only the hard-pruned
                   model has the target sparsity. Hence ``retrain_epochs >= 1``.
``start_phase``    a fresh optimizer and per-epoch LR scheduler for the phase (see
                   "The optimizer" below); then :meth:`ADMMRunner.start_phase` (ADMM:
                   :math:`Z_0 = \Pi_k(W)`, :math:`U_0 = 0`; retrain: hard prune, masks
                   fixed).
``penalty``        :math:`\frac{\rho}{2}\sum_l \|W_l - Z_l + U_l\|_F^2` in the ADMM phase.
``after_step``     re-masks the weights in retraining.
``after_epoch``    :meth:`ADMMRunner.end_epoch`: the Z/U/rho update between ADMM epochs
                   (logged with the validation accuracy the model would have if
                   hard-pruned now) and the final accuracy.
``state_dict``     the runner's state: Z, U, rho, update count, masks, logs.
=================  =====================================================================

**The optimizer** (``--admm-optimizer``, :attr:`AdmmConfig.admm_optimizer
<gnn_sparse.training.config_groups.AdmmConfig>`):

* ``original`` (the default, the original code's): SGD over all parameters, lr 0.05, no
  momentum, no weight decay; per-epoch lr :math:`0.05 \cdot d^{e}` at phase epoch
  :math:`e`, :math:`d` = 0.98 (pretrain, retrain) or 1 (ADMM), from
  :class:`~baselines.phases.ADMMSchedule`. ``--lr``, ``--momentum``, ``--nesterov``,
  ``--weight-decay`` and ``--lr-schedule`` do not apply.
* ``run``: every phase (pretraining, ADMM, retraining) trains with the optimizer the sparse
  methods use, built from the run's ``optim`` group exactly as theirs
  (:func:`~gnn_sparse.training.methods.make_sgd`: SGD with ``--lr``, ``--momentum``,
  ``--nesterov``, ``--weight-decay``; by default lr 0.1, momentum 0.9, Nesterov, weight
  decay 5e-4), and their per-epoch schedule ``--lr-schedule``
  (:func:`~gnn_sparse.training.methods.make_lr_scheduler`) over each phase's own epochs: with
  ``cosine``, the lr starts at ``--lr`` at the first epoch of each phase and anneals towards
  0 at its end, as a sparse run's does over its whole run. The optimizer and its momentum
  are rebuilt at every phase start, as in the original. Only the epoch budget stays ADMM's
  own (below), so that ``original`` and ``run`` differ in the optimizer alone. The run is
  named ``admm-run`` (run names, reports); the results record ``config.admm_optimizer`` and
  ``admm.optimizer``.

Either way ``--epochs`` does not apply to ADMM: its run has ``pretrain_epochs + admm_epochs +
retrain_epochs`` epochs (60 by default). ``--sparsity`` (0 means no pruning),
``--sparsify`` (which weights, default fc1/fc2) and ``--distribution`` (uniform or ERK) are
shared with the sparse methods. The method option ``layers`` (``--method-option
layers='["fc1.weight"]'`` or ``layers='{"fc1.weight": 0.95, "fc2.weight": 0.8}'``) names the
pruned weights (names or glob patterns) instead of the ``--sparsify`` scope, or gives each
one its sparsity.

**Validation accuracy.** The logged accuracies (``val_accuracy_if_pruned``,
``accuracy_after_hard_prune``, ``accuracy_after_retrain``) need the validation split, which
the trainer owns: it hands it over with :meth:`ADMMMethod.bind_validation` (or pass
``validation`` to the constructor). Without it they are ``None``.
"""
from __future__ import annotations

from dataclasses import asdict
from typing import Any, Callable, Mapping

import torch
from torch import nn

from baselines.admm import ADMMPruner
from baselines.phases import ADMMRunner, ADMMSchedule
from baselines.phases import Phase as ADMMPhase
from gnn_sparse.training.config_checks import ConfigError
from gnn_sparse.training.config_groups import AdmmConfig
from gnn_sparse.training.methods import Method, MethodConfig, Phase, make_lr_scheduler, make_sgd, register_method

OPTIMIZER = "SGD, no momentum, no weight decay (as the original code)"
"""``admm.optimizer`` in the results of ``admm_optimizer="original"``."""


class AdmmMethodConfig(MethodConfig):
    """What ADMM reads of a run's config: the groups every method reads, and ``admm``."""

    admm: AdmmConfig


class ADMMMethod(Method):
    """ADMM prune-from-dense (pretrain, ADMM, hard prune and masked retraining) for
    ``run_link_prediction.py``; see the module docstring.

    Args:
        config: the run's configuration (``config.admm``; ``sparsity``, ``sparsify``,
            ``distribution`` and method option ``layers`` of ``config.sparse``).
        validation: ``validation(model) -> float``, the model's validation accuracy (default:
            none until :meth:`bind_validation`).

    Raises:
        ConfigError: ``retrain_epochs`` is 0, or a bad ``layers`` option.
    """

    sparse = True
    options = ("layers",)

    def __init__(self, config: AdmmMethodConfig, validation: Callable[[nn.Module], float] | None = None):
        super().__init__(config)
        admm = config.admm
        if admm.retrain_epochs < 1:
            raise ConfigError("admm: retrain_epochs must be >= 1 (the best epoch is chosen among the "
                              f"retraining epochs), got {admm.retrain_epochs}")
        try:
            self.schedule = ADMMSchedule(admm.pretrain_epochs, admm.admm_epochs, admm.retrain_epochs)
        except ValueError as err:
            raise ConfigError(f"admm: {err}") from None
        layers = config.sparse.method_options.get("layers")
        if layers is not None and not (
            (isinstance(layers, list) and layers and all(isinstance(n, str) for n in layers))
            or (isinstance(layers, dict) and layers and all(isinstance(n, str) for n in layers))
        ):
            raise ConfigError("admm: option 'layers' must be a non-empty JSON list of parameter names or "
                              f"a {{name: sparsity}} object, got {layers!r}")
        self.layers = layers
        self.validation = validation
        self.runner: ADMMRunner | None = None

    def phases(self) -> list[Phase]:
        return [Phase(p.value, self.schedule.epochs(p), selectable=p is ADMMPhase.RETRAIN)
                for p in ADMMPhase if self.schedule.epochs(p) > 0]

    def bind_validation(self, evaluate: Callable[[], Mapping[str, Any]]) -> None:
        """Let the trainer hand over ``evaluate() -> {"accuracy": ..., ...}``, the metrics of
        the model on the validation split."""
        self.validation = lambda model: float(evaluate()["accuracy"])
        if self.runner is not None:
            self.runner.evaluate = self._evaluator(self.runner.pruner.model)

    def _evaluator(self, model: nn.Module) -> Callable[[], float] | None:
        validation = self.validation
        return None if validation is None else (lambda: validation(model))

    def make_optimizer(self, phase: Phase, model: nn.Module):
        """The phase's optimizer and per-epoch LR scheduler: the original code's SGD and decay,
        or with ``admm_optimizer="run"`` the sparse methods' optimizer and schedule over the
        phase's epochs (module docstring)."""
        if self.config.admm.admm_optimizer == "run":
            optim = self.config.optim
            optimizer = make_sgd(model, optim)
            return optimizer, make_lr_scheduler(optimizer, optim.lr_schedule, phase.epochs)
        optimizer = torch.optim.SGD(model.parameters(), lr=self.schedule.lr)
        decay = self.schedule.lr_decay(ADMMPhase(phase.name))
        return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, lambda e: decay**e)

    def optimizer_text(self) -> str:
        """``admm.optimizer`` of the results: which optimizer the phases used."""
        if self.config.admm.admm_optimizer != "run":
            return OPTIMIZER
        o = self.config.optim
        momentum = f"momentum {o.momentum:g}{' (Nesterov)' if o.nesterov else ''}" if o.momentum else "no momentum"
        return (f"SGD lr {o.lr:g}, {momentum}, weight decay {o.weight_decay:g}, {o.lr_schedule} schedule over "
                "each phase's epochs (the sparse runs' optimizer)")

    def schedule_record(self) -> dict[str, Any]:
        """``admm.schedule`` of the results: the phases' epochs, and with the original optimizer
        its learning rates (:class:`~baselines.phases.ADMMSchedule`)."""
        schedule = asdict(self.schedule)
        if self.config.admm.admm_optimizer == "run":
            return {k: v for k, v in schedule.items() if k.endswith("_epochs")}
        return schedule

    def start_phase(self, phase: Phase, model: nn.Module, steps_per_epoch: int):
        optimizer, scheduler = self.make_optimizer(phase, model)
        if self.runner is None:
            cfg, admm = self.config.sparse, self.config.admm
            if isinstance(self.layers, dict):
                sparsity, distribution, params = None, dict(self.layers), list(self.layers)
            else:
                sparsity, distribution = cfg.sparsity, cfg.distribution
                params = self.layers if self.layers is not None else model.sparsifiable(cfg.sparsify)
            try:
                pruner = ADMMPruner(model, sparsity, distribution, params, rho=admm.rho, rho_factor=admm.rho_factor)
            except ValueError as err:
                raise ConfigError(f"admm: {err}") from None
            self.runner = ADMMRunner(pruner, optimizer, self.schedule, evaluate=self._evaluator(model))
        self.runner.start_phase(phase.name, optimizer)
        return optimizer, scheduler

    def penalty(self, model: nn.Module) -> torch.Tensor | None:
        return self.runner.penalty()

    def after_step(self) -> None:
        self.runner.step()

    def after_epoch(self, phase: Phase, epoch: int) -> None:
        self.runner.end_epoch()

    def phase_density(self, phase: str) -> dict[str, float]:
        """Dense during pretraining and ADMM training; the hard-pruned masks' density in retraining."""
        sparsifier = None if self.runner is None else self.runner.sparsifier
        if phase != ADMMPhase.RETRAIN.value or sparsifier is None:
            return {}
        return {n: float(m.count_nonzero()) / m.numel() for n, m in sparsifier.masks.items()}

    def state_dict(self) -> dict[str, Any]:
        return {"runner": self.runner.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.runner.load_state_dict(state["runner"])

    def report(self) -> dict[str, Any]:
        runner = self.runner
        pruner = runner.pruner
        report: dict[str, Any] = {"exploration_rate": None}
        if runner.sparsifier is not None:
            report["mask_sparsity"] = {n: 1.0 - int(m.sum()) / m.numel() for n, m in runner.sparsifier.masks.items()}
        report["admm"] = {
            **runner.results(),
            "rho": pruner.rho_init, "rho_factor": pruner.rho_factor, "final_rho": pruner.rho,
            "layer_sparsity_target": dict(pruner.sparsity), "pruned_layers": list(pruner.pruned),
            "schedule": self.schedule_record(), "optimizer": self.optimizer_text(),
        }
        return report

    def __repr__(self) -> str:
        return f"{type(self).__name__}(schedule={self.schedule}, runner={self.runner!r})"


def register_admm() -> None:
    """Make ``"admm"`` a method of the trainer (:data:`gnn_sparse.training.methods.METHODS`),
    hence a ``--method`` choice. Called by the application layer (the command lines), not on
    import: importing this module changes nothing. Calling it again is harmless."""
    register_method("admm", ADMMMethod, replace=True)

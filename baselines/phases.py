r"""The three phases of the ADMM baseline, driven epoch by epoch by any training loop.

1. **pretrain**: dense training, lr :math:`0.05 \cdot 0.98^{e}` at phase epoch :math:`e`;
2. **admm**: loss + :meth:`~baselines.admm.ADMMPruner.penalty`, lr 0.05 constant;
   :math:`Z_0 = \Pi_k(W)`, :math:`U_0 = 0` at the first ADMM epoch, and an ADMM update
   at the start of every later ADMM epoch;
3. **retrain**: hard prune (top-k :math:`|w|`) at the start of the phase, then masked
   training; lr :math:`0.05 \cdot 0.98^{e}` (the protocol does not state the retraining lr;
   the default restarts the dense schedule).

Default epochs 20 / 20 / 20 as in the paper's text (the authors' scripts ran 20 / 10 / 10).
The optimizer is SGD without momentum in the original code; batch size (1024 there) is the
training loop's business. The learning rates above are :class:`ADMMSchedule`'s, used by the
original optimizer; with ``--admm-optimizer run`` the trainer's ADMM method
(:class:`baselines.link_prediction.ADMMMethod`) builds each phase's optimizer and schedule
from the run's options instead, and this module's phase logic is unchanged.
"""
from __future__ import annotations

import copy
from dataclasses import asdict, dataclass
from enum import Enum
from typing import Any, Callable, Mapping

import torch

from baselines.admm import ADMMPruner
from gnn_sparse.sparsity import StaticSparse


class Phase(str, Enum):
    """A phase of the ADMM baseline."""

    PRETRAIN = "pretrain"
    ADMM = "admm"
    RETRAIN = "retrain"


@dataclass(frozen=True)
class ADMMSchedule:
    r"""Epochs and learning rates of the three phases.

    The learning rate at epoch :math:`e` of a phase is :math:`\text{lr} \cdot d^{e}`, with
    :math:`d` the phase's decay.

    Args:
        pretrain_epochs (int): dense pretraining epochs (default: ``20``).
        admm_epochs (int): ADMM epochs; there are ``admm_epochs - 1`` ADMM updates
            (default: ``20``).
        retrain_epochs (int): masked retraining epochs (default: ``20``).
        lr (float): learning rate at the start of every phase (default: ``0.05``).
        pretrain_lr_decay (float): per-epoch factor in pretraining (default: ``0.98``).
        admm_lr_decay (float): per-epoch factor in the ADMM phase (default: ``1.0``).
        retrain_lr_decay (float): per-epoch factor in retraining (default: ``0.98``).

    Raises:
        ValueError: an epoch count is negative or not an integer, all are zero, or a
            learning rate or decay is not positive.
    """

    pretrain_epochs: int = 20
    admm_epochs: int = 20
    retrain_epochs: int = 20
    lr: float = 0.05
    pretrain_lr_decay: float = 0.98
    admm_lr_decay: float = 1.0
    retrain_lr_decay: float = 0.98

    def __post_init__(self):
        name = type(self).__name__
        for field in ("pretrain_epochs", "admm_epochs", "retrain_epochs"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name}: {field} must be an integer >= 0, got {value!r}")
        if self.total_epochs == 0:
            raise ValueError(f"{name}: at least one epoch is needed")
        for field in ("lr", "pretrain_lr_decay", "admm_lr_decay", "retrain_lr_decay"):
            value = getattr(self, field)
            if not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"{name}: {field} must be > 0, got {value!r}")

    @property
    def total_epochs(self) -> int:
        return self.pretrain_epochs + self.admm_epochs + self.retrain_epochs

    def phase(self, epoch: int) -> tuple[Phase, int]:
        """``(phase, epoch within the phase)`` of global epoch ``epoch`` (from 0)."""
        if not 0 <= epoch < self.total_epochs:
            raise ValueError(f"{type(self).__name__}: epoch {epoch} is outside [0, {self.total_epochs})")
        if epoch < self.pretrain_epochs:
            return Phase.PRETRAIN, epoch
        epoch -= self.pretrain_epochs
        if epoch < self.admm_epochs:
            return Phase.ADMM, epoch
        return Phase.RETRAIN, epoch - self.admm_epochs

    def epochs(self, phase: Phase) -> int:
        """Number of epochs of ``phase``."""
        return {Phase.PRETRAIN: self.pretrain_epochs, Phase.ADMM: self.admm_epochs,
                Phase.RETRAIN: self.retrain_epochs}[Phase(phase)]

    def lr_decay(self, phase: Phase) -> float:
        r"""Per-epoch learning-rate factor :math:`d` of ``phase`` (the lr at phase epoch
        :math:`e` is :math:`\text{lr} \cdot d^{e}`; a per-phase ``LambdaLR`` reproduces it)."""
        return {Phase.PRETRAIN: self.pretrain_lr_decay, Phase.ADMM: self.admm_lr_decay,
                Phase.RETRAIN: self.retrain_lr_decay}[Phase(phase)]

    def lr_at(self, epoch: int) -> float:
        r"""Learning rate of global epoch ``epoch``: :math:`\text{lr} \cdot d_{phase}^{e}`."""
        phase, e = self.phase(epoch)
        return self.lr * self.lr_decay(phase)**e


class ADMMRunner:
    """Drives an :class:`~baselines.admm.ADMMPruner` through pretrain / ADMM / retrain.

    This class is the one place of the phase logic; a training loop drives it in one of two
    ways. **Epoch-driven**, with one optimizer for the whole run (the runner sets its lr)::

        runner = ADMMRunner(ADMMPruner(model, sparsity=0.9), optimizer, ADMMSchedule(),
                            evaluate=lambda: val_accuracy(model))
        while not runner.finished:
            runner.begin_epoch()                       # lr; start_phase() at a phase's start
            for batch in loader:
                optimizer.zero_grad()
                loss = runner.add_penalty(criterion(model(batch), ...))
                loss.backward()
                optimizer.step()
                runner.step()                          # re-masks weights in retraining
            runner.end_epoch()                         # Z/U update between ADMM epochs
            save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                  "admm": runner.state_dict()})
        results["admm"] = runner.results()

    **Phase-driven**, for a loop that builds an optimizer and LR scheduler per phase (the
    ``Method`` protocol of :mod:`gnn_sparse.training`, see
    :class:`baselines.link_prediction.ADMMMethod`): call :meth:`start_phase` with the
    phase's new optimizer at the start of each phase (and set the lr from
    :meth:`ADMMSchedule.lr_decay`), :meth:`penalty` / :meth:`add_penalty` and :meth:`step`
    at every iteration and :meth:`end_epoch` after every epoch.

    The work of the phases:

    * :meth:`start_phase`: the optimizer state is cleared (the original scripts built a
      fresh optimizer per phase); first ADMM epoch: :meth:`ADMMPruner.reset`
      (:math:`Z_0 = \\Pi_k(W)`, :math:`U_0 = 0`); first retraining epoch: hard pruning
      (:meth:`ADMMPruner.hard_prune`) and :attr:`accuracy_after_hard_prune`;
    * :meth:`end_epoch` of an ADMM epoch followed by another one: :meth:`ADMMPruner.update`
      and, with ``evaluate``, the validation accuracy the model would have if hard-pruned
      now, appended to :attr:`history` (``epoch`` = the number of epochs done, i.e. the
      0-based global epoch the update precedes);
    * :meth:`end_epoch` of the last epoch: hard pruning if there was no retraining, and
      :attr:`accuracy_after_retrain`.

    Every evaluation goes through :meth:`ADMMPruner.evaluate_if_pruned` (after hard pruning
    the projection changes nothing), so it never changes the training run's RNG or the
    module's train mode.

    To resume, rebuild model, optimizer, pruner and runner as for a fresh run (a
    phase-driven loop may also have called :meth:`start_phase` on the fresh model), load the
    model's and optimizer's state, then :meth:`load_state_dict`. Checkpoint only between
    :meth:`end_epoch` and the next epoch.

    Args:
        pruner (ADMMPruner): the pruner (its :math:`Z`, :math:`U` are reset at the first
            ADMM epoch, so it may be built before pretraining).
        optimizer (torch.optim.Optimizer): the optimizer of the model's parameters; SGD
            without momentum in the original code. A phase-driven loop replaces it in
            :meth:`start_phase`.
        schedule (ADMMSchedule, optional): epochs and learning rates (default:
            ``ADMMSchedule()``, 20 / 20 / 20 epochs).
        evaluate (callable, optional): ``evaluate() -> float``, the validation accuracy of
            the model as it is; without it the accuracies are ``None``.

    Raises:
        ValueError: a pruned parameter is not in ``optimizer``.
    """

    def __init__(
        self,
        pruner: ADMMPruner,
        optimizer: torch.optim.Optimizer,
        schedule: ADMMSchedule | None = None,
        evaluate: Callable[[], float] | None = None,
    ):
        self.pruner = pruner
        self.optimizer = self._checked(optimizer)
        self.schedule = schedule if schedule is not None else ADMMSchedule()
        self.evaluate = evaluate
        self.epoch = 0
        self.sparsifier: StaticSparse | None = None
        self.history: list[dict[str, Any]] = []
        self.accuracy_after_hard_prune: float | None = None
        self.accuracy_after_retrain: float | None = None
        self._phase: Phase | None = None  # the phase started last (None: none yet)
        self._in_epoch = False  # epoch-driven: between begin_epoch() and end_epoch()
        self._epoch_driven = False

    @property
    def finished(self) -> bool:
        return self.epoch >= self.schedule.total_epochs

    @property
    def phase(self) -> Phase | None:
        """The phase in progress (``None`` before the first phase starts and, epoch-driven,
        between epochs)."""
        if self._epoch_driven and not self._in_epoch:
            return None
        return self._phase

    # ------------------------------------------------------------------ phase-driven hooks
    def start_phase(self, phase: Phase | str, optimizer: torch.optim.Optimizer | None = None) -> None:
        """The work at the start of ``phase`` (see the class docstring).

        Args:
            phase: the phase that starts.
            optimizer: the phase's optimizer, replacing the current one (default: keep the
                current one). Its state is cleared either way.

        Raises:
            ValueError: a pruned parameter is not in ``optimizer``.
        """
        phase = Phase(phase)
        if optimizer is not None:
            self.optimizer = self._checked(optimizer)
        self.optimizer.state.clear()
        if phase is Phase.ADMM:
            self.pruner.reset()
        elif phase is Phase.RETRAIN and self.sparsifier is None:
            self._hard_prune()
        self._phase = phase

    def penalty(self) -> torch.Tensor | None:
        """The ADMM penalty in the ADMM phase, ``None`` otherwise."""
        phase = self.phase
        if phase is None:
            raise RuntimeError(f"{type(self).__name__}.penalty: call begin_epoch() or start_phase() first")
        return self.pruner.penalty() if phase is Phase.ADMM else None

    def add_penalty(self, loss: torch.Tensor) -> torch.Tensor:
        """``loss`` plus the ADMM penalty in the ADMM phase; ``loss`` unchanged otherwise."""
        if self.phase is None:
            raise RuntimeError(f"{type(self).__name__}.add_penalty: call begin_epoch() or start_phase() first")
        penalty = self.penalty()
        return loss if penalty is None else loss + penalty

    def step(self) -> None:
        """Call after every ``optimizer.step()``: re-masks the weights once hard-pruned."""
        if self.sparsifier is not None:
            self.sparsifier.step()

    def end_epoch(self) -> None:
        """Finish global epoch :attr:`epoch`: the ADMM update if the next epoch is an ADMM
        epoch too; after the last epoch, hard prune if not yet done and record
        :attr:`accuracy_after_retrain`."""
        name = type(self).__name__
        if self.phase is None:
            raise RuntimeError(f"{name}.end_epoch: no epoch in progress")
        phase, _ = self.schedule.phase(self.epoch)
        if phase is not self._phase:
            raise RuntimeError(f"{name}.end_epoch: epoch {self.epoch} is a {phase.value} epoch, but the "
                               f"phase started last is {self._phase.value}; call start_phase()")
        self._in_epoch = False
        self.epoch += 1
        if self.finished:
            if self.sparsifier is None:
                self._hard_prune()
            self.accuracy_after_retrain = self._evaluate()
        elif phase is Phase.ADMM and self.schedule.phase(self.epoch)[0] is Phase.ADMM:
            record = self.pruner.update()
            self.history.append({"epoch": self.epoch, **record, "val_accuracy_if_pruned": self._evaluate()})

    # ------------------------------------------------------------------ epoch-driven hook
    def begin_epoch(self) -> Phase:
        """Start global epoch :attr:`epoch` of an epoch-driven loop: :meth:`start_phase` at
        the first epoch of a phase, then the lr of :meth:`ADMMSchedule.lr_at`; returns the
        phase."""
        name = type(self).__name__
        if self._in_epoch:
            raise RuntimeError(f"{name}.begin_epoch: epoch {self.epoch} is in progress; call end_epoch()")
        if self.finished:
            raise RuntimeError(f"{name}.begin_epoch: all {self.schedule.total_epochs} epochs are done")
        phase, e = self.schedule.phase(self.epoch)
        if e == 0:
            self.start_phase(phase)
        self._phase = phase  # also after a resume in the middle of a phase
        lr = self.schedule.lr_at(self.epoch)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self._epoch_driven = self._in_epoch = True
        return phase

    # ------------------------------------------------------------------ results
    def results(self) -> dict[str, Any]:
        """``{"history": [{"epoch", "update", "rho", "w_minus_z", "z_change",
        "val_accuracy_if_pruned"}], "accuracy_after_hard_prune", "accuracy_after_retrain"}``
        (JSON-serialisable; ``epoch`` is the number of epochs done before the update, i.e.
        the 0-based global epoch the update precedes)."""
        return {
            "history": copy.deepcopy(self.history),
            "accuracy_after_hard_prune": self.accuracy_after_hard_prune,
            "accuracy_after_retrain": self.accuracy_after_retrain,
        }

    def _checked(self, optimizer: torch.optim.Optimizer) -> torch.optim.Optimizer:
        in_opt = {id(p) for group in optimizer.param_groups for p in group["params"]}
        missing = [n for n, p in self.pruner.params.items() if id(p) not in in_opt]
        if missing:
            raise ValueError(f"{type(self).__name__}: pruned parameters {missing} are not in the optimizer")
        return optimizer

    def _hard_prune(self) -> None:
        self.sparsifier = self.pruner.hard_prune(self.optimizer)
        self.accuracy_after_hard_prune = self._evaluate()

    def _evaluate(self) -> float | None:
        return None if self.evaluate is None else self.pruner.evaluate_if_pruned(self.evaluate)

    # ------------------------------------------------------------------ checkpointing
    def state_dict(self) -> dict[str, Any]:
        """Epoch, schedule, pruner state (Z, U, rho), hard-pruning masks and the logs."""
        if self._in_epoch:
            raise RuntimeError(
                f"{type(self).__name__}.state_dict: epoch {self.epoch} is in progress; checkpoint "
                "between end_epoch() and begin_epoch()"
            )
        return {
            "epoch": self.epoch,
            "schedule": asdict(self.schedule),
            "pruner": self.pruner.state_dict(),
            "sparsifier": None if self.sparsifier is None else self.sparsifier.state_dict(),
            **self.results(),
        }

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore a :meth:`state_dict` into a runner that has not finished an epoch, after
        the model's and the optimizer's state have been loaded. The hard-pruning masks are
        rebuilt (or, if :meth:`start_phase` already hard-pruned the fresh model, replaced).

        Raises:
            RuntimeError: this runner has already finished an epoch or is in one.
            ValueError: the state was saved with another schedule, or is from before hard
                pruning while this runner has hard-pruned.
        """
        name = type(self).__name__
        if self.epoch != 0 or self._in_epoch:
            raise RuntimeError(f"{name}.load_state_dict: load into a runner that has not started")
        if dict(state_dict["schedule"]) != asdict(self.schedule):
            raise ValueError(
                f"{name}.load_state_dict: the state was saved with {dict(state_dict['schedule'])}, "
                f"this runner has {asdict(self.schedule)}"
            )
        saved = state_dict["sparsifier"]
        if saved is None and self.sparsifier is not None:
            raise ValueError(f"{name}.load_state_dict: the state is from before hard pruning, "
                             "this runner has hard-pruned")
        self.pruner.load_state_dict(state_dict["pruner"])
        if saved is not None:
            if self.sparsifier is None:
                self.sparsifier = StaticSparse(self.pruner.model, self.optimizer, masks=saved["masks"])
            self.sparsifier.load_state_dict(saved)
        self.epoch = int(state_dict["epoch"])
        self.history = copy.deepcopy(list(state_dict["history"]))
        self.accuracy_after_hard_prune = state_dict["accuracy_after_hard_prune"]
        self.accuracy_after_retrain = state_dict["accuracy_after_retrain"]

    def __repr__(self) -> str:
        s = self.schedule
        return (f"{type(self).__name__}(epochs={s.pretrain_epochs}/{s.admm_epochs}/{s.retrain_epochs}, "
                f"epoch={self.epoch}, pruner={self.pruner!r})")

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
training loop's business.
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

    def lr_at(self, epoch: int) -> float:
        r"""Learning rate of global epoch ``epoch``: :math:`\text{lr} \cdot d_{phase}^{e}`."""
        phase, e = self.phase(epoch)
        decay = {Phase.PRETRAIN: self.pretrain_lr_decay, Phase.ADMM: self.admm_lr_decay,
                 Phase.RETRAIN: self.retrain_lr_decay}[phase]
        return self.lr * decay**e


class ADMMRunner:
    """Drives an :class:`~baselines.admm.ADMMPruner` through pretrain / ADMM / retrain.

    The training loop keeps the model, data and optimizer; it calls four hooks::

        runner = ADMMRunner(ADMMPruner(model, sparsity=0.9), optimizer, ADMMSchedule(),
                            evaluate=lambda: val_accuracy(model))
        while not runner.finished:
            runner.begin_epoch()                       # lr, Z/U update or hard prune
            for batch in loader:
                optimizer.zero_grad()
                loss = runner.add_penalty(criterion(model(batch), ...))
                loss.backward()
                optimizer.step()
                runner.step()                          # re-masks weights in retraining
            runner.end_epoch()
            save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                  "admm": runner.state_dict()})
        results["admm"] = runner.results()

    What happens at :meth:`begin_epoch`:

    * it sets ``lr`` of every parameter group to :meth:`ADMMSchedule.lr_at`;
    * at the first epoch of each phase it clears the optimizer state, as if a fresh
      optimizer were built (the original scripts built one per phase);
    * first ADMM epoch: :meth:`ADMMPruner.reset` (:math:`Z_0 = \\Pi_k(W)`, :math:`U_0 = 0`);
      later ADMM epochs: :meth:`ADMMPruner.update` and, with ``evaluate``, the validation
      accuracy the model would have if hard-pruned now, appended to :attr:`history`;
    * first retraining epoch: hard pruning (:meth:`ADMMPruner.hard_prune`) and
      :attr:`accuracy_after_hard_prune`.

    After the last epoch, :meth:`end_epoch` records :attr:`accuracy_after_retrain` (and hard
    prunes first if there are no retraining epochs). Every evaluation goes through
    :meth:`ADMMPruner.evaluate_if_pruned` (after hard pruning the projection changes
    nothing), so it never changes the training run's RNG or the module's train mode.

    To resume, rebuild model, optimizer, pruner and runner as for a fresh run, load the
    model's and optimizer's state, then :meth:`load_state_dict`. Checkpoint only between
    :meth:`end_epoch` and :meth:`begin_epoch`.

    Args:
        pruner (ADMMPruner): the pruner (its :math:`Z`, :math:`U` are reset at the first
            ADMM epoch, so it may be built before pretraining).
        optimizer (torch.optim.Optimizer): the optimizer of the model's parameters; SGD
            without momentum in the original code.
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
        in_opt = {id(p) for group in optimizer.param_groups for p in group["params"]}
        missing = [n for n, p in pruner.params.items() if id(p) not in in_opt]
        if missing:
            raise ValueError(f"{type(self).__name__}: pruned parameters {missing} are not in the optimizer")
        self.pruner = pruner
        self.optimizer = optimizer
        self.schedule = schedule if schedule is not None else ADMMSchedule()
        self.evaluate = evaluate
        self.epoch = 0
        self.sparsifier: StaticSparse | None = None
        self.history: list[dict[str, Any]] = []
        self.accuracy_after_hard_prune: float | None = None
        self.accuracy_after_retrain: float | None = None
        self._phase: Phase | None = None  # the phase of the epoch in progress

    @property
    def finished(self) -> bool:
        return self.epoch >= self.schedule.total_epochs

    @property
    def phase(self) -> Phase | None:
        """The phase of the epoch in progress (``None`` between epochs)."""
        return self._phase

    def begin_epoch(self) -> Phase:
        """Start global epoch :attr:`epoch`: set the lr, run the phase's epoch-start work
        (see the class docstring) and return the phase."""
        name = type(self).__name__
        if self._phase is not None:
            raise RuntimeError(f"{name}.begin_epoch: epoch {self.epoch} is in progress; call end_epoch()")
        if self.finished:
            raise RuntimeError(f"{name}.begin_epoch: all {self.schedule.total_epochs} epochs are done")
        phase, e = self.schedule.phase(self.epoch)
        if e == 0:
            self.optimizer.state.clear()
        if phase is Phase.ADMM:
            if e == 0:
                self.pruner.reset()
            else:
                record = self.pruner.update()
                record = {"epoch": self.epoch, **record, "val_accuracy_if_pruned": self._evaluate()}
                self.history.append(record)
        elif phase is Phase.RETRAIN and self.sparsifier is None:
            self._hard_prune()
        lr = self.schedule.lr_at(self.epoch)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self._phase = phase
        return phase

    def add_penalty(self, loss: torch.Tensor) -> torch.Tensor:
        """``loss`` plus the ADMM penalty in the ADMM phase; ``loss`` unchanged otherwise."""
        if self._phase is None:
            raise RuntimeError(f"{type(self).__name__}.add_penalty: call begin_epoch() first")
        return loss + self.pruner.penalty() if self._phase is Phase.ADMM else loss

    def step(self) -> None:
        """Call after every ``optimizer.step()``: re-masks the weights once hard-pruned."""
        if self.sparsifier is not None:
            self.sparsifier.step()

    def end_epoch(self) -> None:
        """Finish the epoch; after the last one, hard prune if not yet done and record
        :attr:`accuracy_after_retrain`."""
        if self._phase is None:
            raise RuntimeError(f"{type(self).__name__}.end_epoch: no epoch in progress")
        self._phase = None
        self.epoch += 1
        if self.finished:
            if self.sparsifier is None:
                self._hard_prune()
            self.accuracy_after_retrain = self._evaluate()

    def results(self) -> dict[str, Any]:
        """``{"history": [{"epoch", "update", "rho", "w_minus_z", "z_change",
        "val_accuracy_if_pruned"}], "accuracy_after_hard_prune", "accuracy_after_retrain"}``
        (JSON-serialisable; ``epoch`` is the global epoch, from 0, that the update precedes)."""
        return {
            "history": copy.deepcopy(self.history),
            "accuracy_after_hard_prune": self.accuracy_after_hard_prune,
            "accuracy_after_retrain": self.accuracy_after_retrain,
        }

    def _hard_prune(self) -> None:
        self.sparsifier = self.pruner.hard_prune(self.optimizer)
        self.accuracy_after_hard_prune = self._evaluate()

    def _evaluate(self) -> float | None:
        return None if self.evaluate is None else self.pruner.evaluate_if_pruned(self.evaluate)

    # ------------------------------------------------------------------ checkpointing
    def state_dict(self) -> dict[str, Any]:
        """Epoch, schedule, pruner state (Z, U, rho), hard-pruning masks and the logs."""
        if self._phase is not None:
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
        """Restore a :meth:`state_dict` into a fresh runner, after the model's and the
        optimizer's state have been loaded; rebuilds the retraining masks if the run had
        hard-pruned.

        Raises:
            RuntimeError: this runner has already started.
            ValueError: the state was saved with another schedule.
        """
        name = type(self).__name__
        if self.epoch != 0 or self._phase is not None or self.sparsifier is not None:
            raise RuntimeError(f"{name}.load_state_dict: load into a runner that has not started")
        if dict(state_dict["schedule"]) != asdict(self.schedule):
            raise ValueError(
                f"{name}.load_state_dict: the state was saved with {dict(state_dict['schedule'])}, "
                f"this runner has {asdict(self.schedule)}"
            )
        self.pruner.load_state_dict(state_dict["pruner"])
        saved = state_dict["sparsifier"]
        if saved is not None:
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

"""The sparsifier: keeps masks on a model's parameters and updates them during training."""
from __future__ import annotations

import logging
import math
from typing import Any, Callable, Mapping, Sequence

import torch
from torch import nn

from gnn_sparse.sparsity.distributed import DistributedSync, NoSync, default_sync
from gnn_sparse.sparsity.distributions import Distribution, distribution_config, resolve_distribution
from gnn_sparse.sparsity.optim_state import mask_optimizer_state
from gnn_sparse.sparsity.pieces import config_differences, piece_config
from gnn_sparse.sparsity.rules import (
    DST_EE_C,
    DST_EE_C_DECAY,
    DST_EE_C_DECAY_INTERVAL,
    DST_EE_EPS,
    DropRule,
    GradientGrowth,
    GrowthRule,
    LayerState,
    MagnitudeDrop,
    RandomGrowth,
)
from gnn_sparse.sparsity.schedules import Schedule, UpdateSchedule, as_schedule
from gnn_sparse.sparsity.selection import Selector, select_parameters
from gnn_sparse.sparsity.exploration import exploration_rule
from gnn_sparse.sparsity.update import drop_set, grow_set

logger = logging.getLogger("gnn_sparse.sparsity")

DEFAULT_UPDATE_INTERVAL = 100
DEFAULT_DROP_FRACTION = 0.5
DEFAULT_DROP_SCHEDULE = "cosine"
"""The defaults of the scalar schedule arguments (:class:`UpdateSchedule`)."""
MASKS = {"distribution": "masks"}
"""The distribution config of a sparsifier given explicit ``masks``."""
SCHEDULE_LABELS = {"update_interval": "update_interval (T)", "end_step": "end_step",
                   "drop_fraction": "drop_fraction", "decay": "drop schedule"}

ZERO_PRESERVING_OPTIMIZERS = (torch.optim.SGD, torch.optim.Adam, torch.optim.AdamW)
"""Optimizers under which a weight with zero gradient and zero state stays exactly 0
(momentum, Nesterov, L2 and decoupled weight decay, AMSGrad included). Since inactive
weights get zero gradients and zero state, re-masking the weights after a non-update step is
skipped for exactly these classes (not subclasses, which may change ``step``)."""


LAYER_COUNTS = ("dropped", "grown", "grown_never_active", "slots", "slots_regrown", "slots_zero_grad")
"""The counts of a layer's update record. ``grown``: entries inactive before the update and
active after it; ``grown_never_active``: those of them never active before. ``slots``: the
``k`` growth slots of the update, ``slots_regrown``: slots that went to an entry dropped in
the same update (kept, so not in ``grown``), ``slots_zero_grad``: slots whose entry had a
gradient of exactly 0 when scored (``None`` when the layer had no gradient)."""


def growth_diagnostics(dropped: torch.Tensor, chosen: torch.Tensor, grad: torch.Tensor | None) -> list[torch.Tensor]:
    """``[slots, slots_regrown, slots_zero_grad]`` of one layer's update as 0-d tensors (read
    back with the other counts in one transfer)."""
    regrown = torch.isin(chosen, dropped).count_nonzero()
    zero = (grad.reshape(-1)[chosen] == 0).count_nonzero() if grad is not None else torch.zeros((), dtype=torch.long,
                                                                                                 device=chosen.device)
    return [torch.tensor(chosen.numel(), device=chosen.device), regrown, zero]


class DynamicSparsifier:
    """Dynamic sparse training for any ``torch.nn.Module`` and ``torch.optim.Optimizer``.

    Call :meth:`step` once after every ``optimizer.step()``::

        optimizer.zero_grad(); loss.backward(); optimizer.step(); sparsifier.step()

    What it does:

    * **Initially** each selected parameter gets a random mask with exactly
      ``round(density * numel)`` active entries (seeded); inactive weights are set to 0.
    * **Every iteration** inactive weights are exactly 0 after :meth:`step`. Their gradients
      are zeroed before the optimizer uses them (through the optimizer's public
      ``register_step_pre_hook``), so inactive weights never move through momentum or
      weight decay; on update iterations the dense gradient is left in ``.grad`` because
      the grow rule scores inactive weights with it.
    * **On every update iteration of the schedule** (by default every ``update_interval``
      iterations while ``t < end_step``) each layer drops the ``k = floor(f(t) * active)``
      active weights chosen by the drop rule and grows ``k`` weights chosen by the grow rule (:func:`~gnn_sparse.sparsity.update.drop_and_grow`).
      Grown weights start at exactly 0 and all their optimizer state is zeroed; the state of
      dropped weights is zeroed too. Then ``ever_active |= mask`` and ``N += mask``. ``N``
      grows at *every* update round and in every layer (the paper's step 4), also when the
      round moves nothing: a layer with ``k = 0``, a layer kept dense, or a round skipped for
      non-finite gradients. So a weight's ``N`` is 1 if it was in the initial mask, plus the
      number of update rounds after which it was active.

    With ``torch.amp.GradScaler`` call ``scaler.step(optimizer)`` (which unscales the
    gradients in place) and then :meth:`step`; an update whose gradients are not finite is
    skipped and logged. Under gradient accumulation call :meth:`step` once per optimizer step.

    Every piece is swappable (``docs/sparse_training.md``): the grow rule, the drop rule, the
    schedule and the distribution may be a user's own, and each is recorded in
    :meth:`state_dict` by its config (:mod:`~gnn_sparse.sparsity.pieces`), so that a strict
    :meth:`load_state_dict` in another process recognises the same experiment.

    Args:
        model: the model whose parameters are masked.
        optimizer: the optimizer that updates them (every masked parameter must be in it).
        grow: the grow rule (:class:`~gnn_sparse.sparsity.rules.GrowthRule` or any object with
            ``scores(layer)``), or ``None`` for a static mask.
        sparsity: global target sparsity in [0, 1).
        distribution: a name of :data:`~gnn_sparse.sparsity.distributions.DISTRIBUTIONS`
            (``"uniform"``, ``"erk"``), an explicit ``{name: sparsity}`` dict, or a function
            ``(shapes, sparsity) -> {name: sparsity}``.
        params: which parameters to mask (names, glob patterns, modules); default: weights
            of Linear / Conv1d/2d/3d / ``torch_geometric.nn.Linear`` layers.
        update_interval: T, iterations between mask updates (default 100).
        end_step: T_end, no updates at ``t >= end_step`` (required unless ``schedule`` is given).
        drop_fraction: initial fraction of active weights moved per update (default 0.5).
        drop_schedule: ``"cosine"`` (default) or ``"constant"`` decay of the drop fraction.
        schedule: instead of the four arguments above, a schedule object
            (``is_update_step(t)``, ``fraction(t)``; e.g.
            :class:`~gnn_sparse.sparsity.schedules.UpdateSchedule`) or a function ``t ->
            fraction or None`` (``None``: no update at ``t``).
        drop: the drop rule (default :class:`MagnitudeDrop`; any object with ``scores(layer)``).
        erk_power_scale: exponent of the ERK density formula (``distribution="erk"``).
        seed: seeds the initial masks and any random growth.
        masks: explicit initial masks ``{name: bool tensor}`` instead of random ones (for
            example the top-|w| masks of a pruned model); they define the per-layer sparsity
            and, when ``params`` is not given, which parameters are masked.
        sync: how masks are kept identical across processes (default: broadcast from rank 0
            and a checksum check after every update when ``torch.distributed`` is
            initialised with several ranks; see :mod:`gnn_sparse.sparsity.distributed`).
    """

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        grow: GrowthRule | None,
        sparsity: float | None = None,
        distribution: str | Mapping[str, float] | Distribution = "uniform",
        params: Sequence[Selector] | None = None,
        update_interval: int | None = None,
        end_step: int | None = None,
        drop_fraction: float | None = None,
        drop_schedule: str | None = None,
        drop: DropRule | None = None,
        erk_power_scale: float = 1.0,
        seed: int = 0,
        masks: Mapping[str, torch.Tensor] | None = None,
        sync: DistributedSync | NoSync | None = None,
        schedule: Schedule | Callable[[int], float | None] | None = None,
    ):
        name = type(self).__name__
        self.schedule: Schedule | None = None
        if grow is not None:
            _check_rule(name, "grow", grow)
            scalars = {"update_interval": update_interval, "end_step": end_step, "drop_fraction": drop_fraction,
                       "drop_schedule": drop_schedule}
            if schedule is not None:
                given = [key for key, value in scalars.items() if value is not None]
                if given:
                    raise TypeError(f"{name}: pass either schedule= or {', '.join(given)}, not both")
                self.schedule = as_schedule(schedule)
            elif end_step is None:
                raise ValueError(f"{name}: end_step is required (no mask updates at t >= end_step)")
            else:
                self.schedule = UpdateSchedule(
                    DEFAULT_UPDATE_INTERVAL if update_interval is None else update_interval, end_step,
                    DEFAULT_DROP_FRACTION if drop_fraction is None else drop_fraction,
                    DEFAULT_DROP_SCHEDULE if drop_schedule is None else drop_schedule)
        if isinstance(model, (nn.parallel.DistributedDataParallel, nn.DataParallel)):
            model = model.module  # names without "module.", so checkpoints work with and without DDP
        self.model = model
        self.optimizer = optimizer
        self.grow = grow
        self.drop = drop if drop is not None else MagnitudeDrop()
        _check_rule(name, "drop", self.drop)
        if masks is not None and params is None:
            params = list(masks)
        self.params = select_parameters(model, params, optimizer)
        self._numel = sum(p.numel() for p in self.params.values())
        shapes = {n: tuple(p.shape) for n, p in self.params.items()}
        if masks is not None:
            masks = _check_masks(name, masks, shapes)
            self.target_sparsity = {n: 1.0 - int(m.sum()) / m.numel() for n, m in masks.items()}
            self.distribution_config = dict(MASKS)
        else:
            self.target_sparsity = resolve_distribution(distribution, shapes, sparsity, erk_power_scale)
            self.distribution_config = distribution_config(distribution, erk_power_scale)
        self.t = 0
        self.rounds = 0  # update iterations so far, skipped ones included
        self.history: list[dict[str, Any]] = []
        self.generator = torch.Generator().manual_seed(seed)

        self.masks: dict[str, torch.Tensor] = {}
        self._n_active: dict[str, int] = {}
        for n, p in self.params.items():
            k = round((1.0 - self.target_sparsity[n]) * p.numel())
            if k == 0:
                raise ValueError(
                    f"{name}: sparsity {self.target_sparsity[n]:.6g} leaves '{n}' "
                    f"({p.numel()} weights) with no active weight"
                )
            if masks is not None:
                self.masks[n] = masks[n].detach().to(device=p.device, dtype=torch.bool).clone()
                k = int(self.masks[n].count_nonzero())
            else:
                mask = torch.zeros(p.numel(), dtype=torch.bool)
                mask[torch.randperm(p.numel(), generator=self.generator)[:k]] = True
                self.masks[n] = mask.view(p.shape).to(p.device)
            self._n_active[n] = k
        self.sync = sync if sync is not None else default_sync()
        self.sync.broadcast_masks(self.masks)
        self.sync.broadcast_generator(self.generator)
        self.counts = {n: m.to(torch.int32) for n, m in self.masks.items()}
        self.ever_active = {n: m.clone() for n, m in self.masks.items()}
        self._refresh_float_masks()
        with torch.no_grad():
            for n, p in self.params.items():
                p.mul_(self._float_masks[n])
                mask_optimizer_state(optimizer, p, self.masks[n])
        self._hook = optimizer.register_step_pre_hook(self._mask_gradients)

    # ------------------------------------------------------------------ training loop
    def is_update_step(self, t: int) -> bool:
        return self.schedule is not None and self.schedule.is_update_step(t)

    @torch.no_grad()
    def step(self) -> None:
        """Advance the iteration count; update the masks on update iterations; re-mask."""
        self.t += 1
        updated = self.is_update_step(self.t)
        if updated:
            self._update(self.t)
        sparse = self._sparse_layers
        if sparse and (updated or type(self.optimizer) not in ZERO_PRESERVING_OPTIMIZERS):
            torch._foreach_mul_([self.params[n] for n in sparse], [self._float_masks[n] for n in sparse])

    def _mask_gradients(self, optimizer, args, kwargs) -> None:
        if self.is_update_step(self.t + 1):
            return  # the grow rule needs the dense gradient of this iteration
        pairs = [(self.params[n].grad, self._float_masks[n]) for n in self._sparse_layers
                 if self.params[n].grad is not None]
        if pairs:
            grads, masks = zip(*pairs)
            torch._foreach_mul_(list(grads), list(masks))

    def _update(self, t: int) -> None:
        self.rounds += 1
        fraction = self.schedule.fraction(t)
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"{type(self).__name__}: the schedule's fraction at t={t} is {fraction!r}, "
                             "outside [0, 1]")
        grads = {n: p.grad for n, p in self.params.items()}
        if getattr(self.grow, "needs_grad", True):
            missing = [n for n, g in grads.items() if g is None]
            if missing:
                raise RuntimeError(
                    f"{type(self).__name__}.step() at update iteration t={t}: {missing} have no "
                    "gradient; call loss.backward() and optimizer.step() before sparsifier.step()"
                )
            finite = torch.stack([torch.isfinite(g).all() for g in grads.values()]).all()
            if not bool(finite):
                record = {"t": t, "skipped": "non-finite gradients"}
                self.history.append(record)
                logger.warning("mask update at t=%d skipped: non-finite gradients", t)
                for n in self._sparse_layers:
                    mask_optimizer_state(self.optimizer, self.params[n], self.masks[n])
                for n, mask in self.masks.items():
                    self.counts[n].add_(mask)  # a round that kept every mask still counts (step 4)
                return

        stats, names = [], []
        for n, p in self.params.items():
            mask, count, ever = self.masks[n], self.counts[n], self.ever_active[n]
            k = math.floor(fraction * self._n_active[n])
            if self._n_active[n] == p.numel() or k == 0:
                if self._n_active[n] < p.numel():
                    # The optimizer has just stepped with the dense gradient: clear what it left
                    # in the state of inactive weights, or momentum would move them later.
                    mask_optimizer_state(self.optimizer, p, mask)
                count.add_(mask)  # step 4 counts every round, also one that moves nothing
                continue
            layer = LayerState(weight=p, grad=grads[n], mask=mask, count=count, t=t, generator=self.generator,
                               k=k, round=self.rounds)
            kept, dropped = drop_set(mask, self.drop.scores(layer), k)
            layer.candidates = ~kept.view_as(mask)
            chosen = grow_set(kept, self.grow.scores(layer), k)
            new = kept.view_as(mask)
            keep = mask & new
            grown = new & ~mask
            p.mul_(keep)
            mask_optimizer_state(self.optimizer, p, keep)
            stats.append(torch.stack([(mask & ~new).count_nonzero(), grown.count_nonzero(),
                                      (grown & ~ever).count_nonzero(), *growth_diagnostics(dropped, chosen, grads[n])]))
            names.append(n)
            mask.copy_(new)
            count.add_(new)
            ever.logical_or_(new)
            self._float_masks[n] = new.to(p.dtype)

        layers = {n: dict.fromkeys(LAYER_COUNTS, 0) for n in self.params}
        for n, values in zip(names, torch.stack(stats).tolist() if stats else []):
            layers[n] = dict(zip(LAYER_COUNTS, values))
            if grads[n] is None:
                layers[n]["slots_zero_grad"] = None
        explored = {n: int(e.count_nonzero()) for n, e in self.ever_active.items()}
        for n in layers:
            layers[n]["exploration_rate"] = explored[n] / self.params[n].numel()
        record = {"t": t, "drop_fraction": fraction, **self._grow_state(t),
                  "exploration_rate": sum(explored.values()) / self._numel, "layers": layers}
        self.history.append(record)
        self.sync.check_masks(self.masks, t)
        logger.info("mask update t=%d drop_fraction=%.4f R=%.4f", t, fraction, record["exploration_rate"])

    def _grow_state(self, t: int) -> dict[str, Any]:
        state = getattr(self.grow, "state", None)
        return dict(state(t)) if self.grow is not None and callable(state) else {}

    def _refresh_float_masks(self) -> None:
        self._float_masks = {n: m.to(self.params[n].dtype) for n, m in self.masks.items()}
        # Layers kept dense (for example by ERK) need no masking on every step.
        self._sparse_layers = [n for n in self.params if self._n_active[n] < self.params[n].numel()]

    # ------------------------------------------------------------------ metrics
    def exploration_rate(self, per_layer: bool = False) -> float | dict[str, float]:
        """R: fraction of maskable weights that have ever been active (initial mask included)."""
        explored = {n: int(e.count_nonzero()) for n, e in self.ever_active.items()}
        if per_layer:
            return {n: explored[n] / self.params[n].numel() for n in explored}
        return sum(explored.values()) / self._numel

    def sparsity_report(self) -> dict[str, dict[str, float]]:
        """Per layer: ``numel``, ``active`` (mask), ``zeros`` (in the weight), ``sparsity``
        (achieved fraction of zeros in the weight) and ``target``."""
        report = {}
        for n, p in self.params.items():
            zeros = p.numel() - int(p.detach().count_nonzero())
            report[n] = {
                "numel": p.numel(),
                "active": int(self.masks[n].count_nonzero()),
                "zeros": zeros,
                "sparsity": zeros / p.numel(),
                "target": self.target_sparsity[n],
            }
        return report

    # ------------------------------------------------------------------ checkpointing
    def state_dict(self) -> dict[str, Any]:
        """Masks, counts N, ever-active sets, t, the update rounds, the current c, the configs
        of the grow rule, drop rule, schedule and distribution, the per-layer targets, the
        history and the RNG state."""
        return {
            "t": self.t,
            "rounds": self.rounds,
            "masks": {n: m.clone() for n, m in self.masks.items()},
            "counts": {n: c.clone() for n, c in self.counts.items()},
            "ever_active": {n: e.clone() for n, e in self.ever_active.items()},
            "rng_state": self.generator.get_state(),
            **self.configs(),
            "grow_state": self._grow_state(self.t),
            "target_sparsity": dict(self.target_sparsity),
            "history": list(self.history),
        }

    def configs(self) -> dict[str, dict[str, Any] | None]:
        """What defines this sparsifier's experiment besides its per-layer targets: the
        configs of its ``grow`` rule, ``drop`` rule, ``schedule`` (``None`` for a static
        mask) and ``distribution`` (see :func:`~gnn_sparse.sparsity.pieces.piece_config`)."""
        return {
            "grow": None if self.grow is None else piece_config(self.grow, "rule"),
            "drop": piece_config(self.drop, "rule"),
            "schedule": None if self.schedule is None else piece_config(self.schedule, "schedule"),
            "distribution": dict(self.distribution_config),
        }

    @torch.no_grad()
    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> None:
        """Restore a :meth:`state_dict`; masks are applied to the weights at once.

        The state must come from the same experiment: with ``strict=True`` (default) a state
        saved with another grow rule or grow-rule setting (DST-EE's ``c``, ``eps``,
        ``c_decay``, ``c_decay_interval``), drop rule, schedule (``update_interval``,
        ``end_step``, ``drop_fraction``, drop schedule, or another schedule), distribution or
        per-layer target sparsity is refused with a :class:`ValueError` naming every
        difference. The pieces are compared by their configs (:meth:`configs`), so a user's
        own rule, schedule or distribution is recognised in a fresh process. ``strict=False``
        loads it anyway: masks, ``N``, ever-active sets, ``t``, update rounds, RNG, history
        and target sparsities come from the state, while the pieces stay this sparsifier's
        own. The masked parameters (names and shapes) must match in either case.
        """
        name = type(self).__name__
        theirs = state_dict["masks"]
        if set(theirs) != set(self.masks):
            raise ValueError(
                f"{name}.load_state_dict: the state dict is from a different model: it masks "
                f"{sorted(theirs)}, this sparsifier masks {sorted(self.masks)}"
            )
        for n, m in theirs.items():
            if tuple(m.shape) != tuple(self.masks[n].shape):
                raise ValueError(
                    f"{name}.load_state_dict: the state dict is from a different model: '{n}' has "
                    f"shape {tuple(m.shape)} there and {tuple(self.masks[n].shape)} here"
                )
        differences = self._differences(state_dict)
        if differences and strict:
            raise ValueError(
                f"{name}.load_state_dict: the state dict is from a different experiment: "
                f"{'; '.join(differences)} (the state's value first; pass strict=False to load "
                "its masks and counts anyway)"
            )
        for n in self.masks:
            self.masks[n].copy_(theirs[n])
            self.counts[n].copy_(state_dict["counts"][n])
            self.ever_active[n].copy_(state_dict["ever_active"][n])
            self._n_active[n] = int(self.masks[n].count_nonzero())
        self.t = int(state_dict["t"])
        self.rounds = int(state_dict["rounds"])
        self.generator.set_state(state_dict["rng_state"])
        self.target_sparsity = dict(state_dict["target_sparsity"])
        self.history = list(state_dict["history"])
        self._refresh_float_masks()
        self.sync.check_masks(self.masks, self.t)
        for n, p in self.params.items():
            p.mul_(self._float_masks[n])

    def _differences(self, state: Mapping[str, Any]) -> list[str]:
        """What differs between the experiment that saved ``state`` and this one."""
        ours = self.configs()
        out = config_differences("grow rule", state.get("grow"), ours["grow"], "rule")
        out += config_differences("drop rule", state.get("drop"), ours["drop"], "rule")
        out += config_differences("schedule", state.get("schedule"), ours["schedule"], "schedule", SCHEDULE_LABELS)
        out += config_differences("distribution", state.get("distribution"), ours["distribution"], "distribution")
        target = state.get("target_sparsity", {})
        out += [f"target sparsity of '{n}' {target.get(n)!r} there, {s!r} here"
                for n, s in self.target_sparsity.items() if target.get(n) != s]
        return out

    # ------------------------------------------------------------------ export
    @torch.no_grad()
    def squash(self) -> nn.Module:
        """Stop sparse training: bake the zeros into the weights, detach from the optimizer
        and return the (now plain) model."""
        for n, p in self.params.items():
            p.mul_(self._float_masks[n])
        self._hook.remove()
        return self.model

    def sparse_weights(self) -> dict[str, torch.Tensor]:
        """Each masked weight as a ``torch.sparse_csr`` matrix (conv kernels flattened to
        ``(out_channels, -1)``), for inference with ``torch.sparse.mm``."""
        return {
            n: (p.detach() * self._float_masks[n]).reshape(p.shape[0], -1).to_sparse_csr()
            for n, p in self.params.items()
        }

    def __repr__(self) -> str:
        sched = self.schedule
        return (f"{type(self).__name__}(layers={len(self.params)}, grow={self.grow!r}, "
                f"schedule={sched!r}, t={self.t})")


def _check_rule(owner: str, kind: str, rule: Any) -> None:
    if not callable(getattr(rule, "scores", None)):
        raise TypeError(f"{owner}: a {kind} rule needs a scores(layer) method, got {rule!r}")


def _check_masks(owner: str, masks: Mapping[str, torch.Tensor], shapes: Mapping[str, tuple]) -> dict:
    if set(masks) != set(shapes):
        raise ValueError(f"{owner}: `masks` names {sorted(masks)} differ from the masked parameters {sorted(shapes)}")
    for n, m in masks.items():
        if tuple(m.shape) != shapes[n]:
            raise ValueError(f"{owner}: mask for '{n}' has shape {tuple(m.shape)}, the parameter {shapes[n]}")
    return {n: masks[n] for n in shapes}


class DSTEE(DynamicSparsifier):
    r"""Dynamic sparse training with exploration and exploitation (Huang et al., DAC 2023).

    Grows the inactive weights with the highest acquisition score
    :math:`S = |g| + c_t \ln t / (N + \epsilon)` (see :class:`ExplorationGrowth`). The
    defaults are the authors' GNN protocol and the command lines' (:data:`~.rules.DST_EE_C`,
    ``DST_EE_EPS``, ``DST_EE_C_DECAY``, ``DST_EE_C_DECAY_INTERVAL``): ``c = 1e-2``, ``eps = 1``
    and ``c`` multiplied by 0.9 every 1000 iterations; ``c_decay=1.0`` keeps ``c`` constant
    (Eq. 1 as printed). ``exploration`` chooses a variant of the grow rule
    (:mod:`~gnn_sparse.sparsity.exploration`: ``"paper"``, Eq. 1, the default;
    ``"normalized"``, ``"ucb"`` with ``c``; ``"quota"`` with ``rho``). Other arguments as in
    :class:`DynamicSparsifier`.
    """

    def __init__(self, model, optimizer, sparsity=None, distribution="uniform", *, c: float = DST_EE_C,
                 eps: float = DST_EE_EPS, c_decay: float = DST_EE_C_DECAY,
                 c_decay_interval: int = DST_EE_C_DECAY_INTERVAL, exploration: str = "paper", rho: float = 0.25,
                 **kwargs):
        grow = exploration_rule(exploration, c=c, eps=eps, c_decay=c_decay, c_decay_interval=c_decay_interval,
                                rho=rho)
        super().__init__(model, optimizer, grow, sparsity, distribution, **kwargs)


class RigL(DynamicSparsifier):
    """RigL (Evci et al., 2020): grow the inactive weights with the largest :math:`|g|`."""

    def __init__(self, model, optimizer, sparsity=None, distribution="uniform", **kwargs):
        super().__init__(model, optimizer, GradientGrowth(), sparsity, distribution, **kwargs)


class SET(DynamicSparsifier):
    """SET (Mocanu et al., 2018): grow inactive weights uniformly at random."""

    def __init__(self, model, optimizer, sparsity=None, distribution="uniform", **kwargs):
        super().__init__(model, optimizer, RandomGrowth(), sparsity, distribution, **kwargs)


class StaticSparse(DynamicSparsifier):
    """A random sparse mask kept fixed for the whole run (no updates)."""

    UPDATE_ARGUMENTS = ("update_interval", "end_step", "drop_fraction", "drop_schedule", "schedule", "drop")
    """Arguments of :class:`DynamicSparsifier` that only mask updates use: refused here."""

    def __init__(self, model, optimizer, sparsity=None, distribution="uniform", **kwargs):
        ignored = [key for key in self.UPDATE_ARGUMENTS if key in kwargs]
        if ignored:
            raise TypeError(f"StaticSparse never updates its mask, so it takes no {', '.join(ignored)}")
        super().__init__(model, optimizer, None, sparsity, distribution, **kwargs)

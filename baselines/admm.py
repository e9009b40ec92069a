r"""ADMM pruning of a dense model (Zhang et al., "A Systematic DNN Weight Pruning Framework
using Alternating Direction Methods of Multipliers", ECCV 2018), the prune-from-dense baseline.

For each pruned layer :math:`l` with :math:`k_l` weights to keep, ADMM solves

.. math::
    \min_W f(W) \quad \text{s.t.} \quad W_l \in S_l = \{Z : \|Z\|_0 \le k_l\}

by alternating SGD on the augmented loss (scaled form, :math:`U_l` the scaled dual)

.. math::
    f(W) + \sum_l \frac{\rho}{2} \|W_l - Z_l + U_l\|_F^2

with, once per epoch, the :math:`Z` and :math:`U` updates

.. math::
    Z_l \leftarrow \Pi_{k_l}(W_l + U_l), \qquad U_l \leftarrow U_l + W_l - Z_l,
    \qquad \rho \leftarrow \gamma \rho,

where :math:`\Pi_k` keeps the :math:`k` largest :math:`|w|`
(:func:`~baselines.projection.project`). The math lives in the pure functions
:func:`admm_penalty` and :func:`admm_update`; :class:`ADMMPruner` holds :math:`Z`, :math:`U`
and :math:`\rho` per layer.
"""
from __future__ import annotations

import logging
import math
from typing import Any, Callable, Mapping, Sequence, TypeVar

import torch
from torch import nn

from baselines.projection import keep_count, magnitude_mask, project
from gnn_sparse.sparsity import StaticSparse, resolve_distribution, select_parameters
from gnn_sparse.sparsity.selection import Selector

logger = logging.getLogger("baselines.admm")

T = TypeVar("T")


def admm_penalty(
    weights: Sequence[torch.Tensor], z: Sequence[torch.Tensor], u: Sequence[torch.Tensor], rho: float
) -> torch.Tensor:
    r"""The ADMM penalty, to be added to the loss.

    .. math::
        P = \frac{\rho}{2} \sum_l \|W_l - Z_l + U_l\|_F^2, \qquad
        \frac{\partial P}{\partial W_l} = \rho\, (W_l - Z_l + U_l)

    The norm is the *squared* Frobenius norm (not the norm or its square root, as some
    public ports have it). Gradients flow into ``weights`` only.

    :rtype: :class:`torch.Tensor` (a scalar)
    """
    total = sum(((w - zl.detach() + ul.detach()).pow(2).sum() for w, zl, ul in zip(weights, z, u)))
    return 0.5 * rho * total


@torch.no_grad()
def admm_update(weight: torch.Tensor, u: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    r"""One ADMM :math:`Z`/:math:`U` update of a layer; returns the new :math:`(Z, U)`.

    .. math::
        Z' = \Pi_k(W + U), \qquad U' = U + W - Z'

    (the new :math:`Z` does not depend on the old one).
    """
    weight = weight.detach()
    z_new = project(weight + u, k)
    return z_new, u + weight - z_new


class ADMMPruner:
    r"""ADMM prune-from-dense for any ``torch.nn.Module`` (GNN, CNN, MLP).

    Per pruned layer it keeps :math:`Z` (the projection) and :math:`U` (the scaled dual); see
    the module docstring for the equations. Usage (what :class:`~baselines.phases.ADMMRunner`
    does for the three phases)::

        pruner = ADMMPruner(model, sparsity=0.9, rho=0.01)   # after dense pretraining:
                                                               # Z = proj(W), U = 0
        for epoch in range(admm_epochs):
            if epoch > 0:
                record = pruner.update()        # Z, U, rho; per-layer residuals
            for batch in loader:
                loss = criterion(...) + pruner.penalty()
                ...
        sparsifier = pruner.hard_prune(optimizer)   # keep top-k |w|, weights only
        for batch in loader:                         # masked retraining
            ...; optimizer.step(); sparsifier.step()

    Layers whose sparsity is 0 (or rounds to keeping every weight) are not pruned: they
    have no :math:`Z`, :math:`U` or penalty, so sparsity 0 means plain training.

    As in the original code, :math:`U` is not rescaled when :math:`\rho` changes (the
    textbook scaled form would divide it by ``rho_factor``); with the default
    ``rho_factor=1`` the two agree.

    Args:
        model (torch.nn.Module): the model to prune; lazy layers must have run a forward pass.
        sparsity (float or None): global target sparsity in :math:`[0, 1)`; required with a
            named distribution (``0`` means no pruning). May be ``None`` with a dict.
        distribution (str or dict): ``"uniform"``, ``"erk"`` or ``{parameter name: sparsity}``
            (default: ``"uniform"``), shared out by
            :func:`gnn_sparse.sparsity.resolve_distribution`.
        params (list, optional): which parameters to prune (names, glob patterns, modules or
            parameters), as in :func:`gnn_sparse.sparsity.select_parameters`; default: the
            weights of Linear / Conv1d/2d/3d / ``torch_geometric.nn.Linear``, never biases.
        rho (float): penalty coefficient :math:`\rho > 0` (default: ``0.01``).
        rho_factor (float): :math:`\gamma > 0`, multiplies :math:`\rho` at each update
            (default: ``1.0``, constant; ``1.3`` is a documented alternative).
        erk_power_scale (float): exponent of the ERK formula (default: ``1.0``).

    Raises:
        ValueError: ``rho`` or ``rho_factor`` is not positive and finite, ``sparsity`` is
            outside :math:`[0, 1)`, a name in ``params`` or in a sparsity dict is unknown, or
            a layer would keep no weight.
    """

    def __init__(
        self,
        model: nn.Module,
        sparsity: float | None,
        distribution: str | Mapping[str, float] = "uniform",
        params: Sequence[Selector] | None = None,
        rho: float = 0.01,
        rho_factor: float = 1.0,
        erk_power_scale: float = 1.0,
    ):
        name = type(self).__name__
        for arg, value in (("rho", rho), ("rho_factor", rho_factor)):
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                raise ValueError(f"{name}: {arg} must be a finite number > 0, got {value!r}")
        try:
            self.params = select_parameters(model, params)
            shapes = {n: tuple(p.shape) for n, p in self.params.items()}
            self.sparsity = resolve_distribution(distribution, shapes, sparsity, erk_power_scale)
        except ValueError as err:
            raise ValueError(f"{name}: {err}") from err
        self.keep = {n: keep_count(p.numel(), self.sparsity[n]) for n, p in self.params.items()}
        empty = [n for n, k in self.keep.items() if k == 0]
        if empty:
            raise ValueError(f"{name}: the sparsity leaves {empty} with no weight to keep")
        self.model = model
        self.rho_init = float(rho)
        self.rho_factor = float(rho_factor)
        self.pruned = [n for n, p in self.params.items() if self.keep[n] < p.numel()]
        self.reset()

    @torch.no_grad()
    def reset(self) -> None:
        r"""Start ADMM from the current weights: :math:`Z_0 = \Pi_k(W)`, :math:`U_0 = 0`,
        :math:`\rho = \rho_0`, no updates yet. Call it after dense pretraining if the pruner
        was created before."""
        self.z = {n: project(self.params[n], self.keep[n]) for n in self.pruned}
        self.u = {n: torch.zeros_like(self.params[n], memory_format=torch.contiguous_format) for n in self.pruned}
        self.rho = self.rho_init
        self.updates = 0

    def penalty(self) -> torch.Tensor:
        r""":math:`\frac{\rho}{2}\sum_l \|W_l - Z_l + U_l\|_F^2` (see :func:`admm_penalty`), a
        scalar with gradients into the weights; add it to the loss at every ADMM iteration.
        It is an exact zero when no layer is pruned."""
        if not self.pruned:
            return torch.zeros((), device=next(iter(self.params.values())).device)
        return admm_penalty([self.params[n] for n in self.pruned],
                            [self.z[n] for n in self.pruned], [self.u[n] for n in self.pruned], self.rho)

    @torch.no_grad()
    def update(self) -> dict[str, Any]:
        r"""The once-per-epoch ADMM update (from the second ADMM epoch on).

        Per pruned layer :math:`Z \leftarrow \Pi_k(W + U)`, :math:`U \leftarrow U + W - Z`;
        then :math:`\rho \leftarrow \gamma\rho`.

        Returns:
            ``{"update": n, "rho": rho, "w_minus_z": {layer: norm}, "z_change": {layer:
            norm}}``: the update's number (from 1), :math:`\rho` after the update (the value
            the penalty uses from now on), :math:`\|W - Z_{new}\|_F` (primal residual) and
            :math:`\|Z_{new} - Z_{old}\|_F` per pruned layer.

        Raises:
            RuntimeError: a pruned weight is not finite (the projection would be meaningless).
        """
        bad = [n for n in self.pruned if not bool(torch.isfinite(self.params[n]).all())]
        if bad:
            raise RuntimeError(f"{type(self).__name__}.update: weights {bad} are not finite")
        w_minus_z, z_change = {}, {}
        for n in self.pruned:
            w = self.params[n]
            z_new, u_new = admm_update(w, self.u[n], self.keep[n])
            z_change[n] = float(torch.linalg.vector_norm(z_new - self.z[n]))
            w_minus_z[n] = float(torch.linalg.vector_norm(w - z_new))
            self.z[n], self.u[n] = z_new, u_new
        self.rho *= self.rho_factor
        self.updates += 1
        record = {"update": self.updates, "rho": self.rho, "w_minus_z": w_minus_z, "z_change": z_change}
        logger.info("ADMM update %d: rho=%.6g max ||W-Z||=%.6g", self.updates, self.rho,
                    max(w_minus_z.values(), default=0.0))
        return record

    def masks(self) -> dict[str, torch.Tensor]:
        """The hard-pruning masks of the current weights: per selected parameter the top-k
        :math:`|w|` (:func:`~baselines.projection.magnitude_mask`); all ``True`` for layers
        that are not pruned."""
        return {n: magnitude_mask(p, self.keep[n]) for n, p in self.params.items()}

    def evaluate_if_pruned(self, evaluate: Callable[[], T]) -> T:
        """Return ``evaluate()`` run on the model hard-pruned now, leaving the model as it was.

        The pruned weights are saved, pruned in place (top-k :math:`|w|`), ``evaluate`` is
        called, and the weights and the module's train/eval mode are restored, even if
        ``evaluate`` raises. ``evaluate`` runs under a forked RNG (CPU and the CUDA devices of
        the weights), so logging this value never changes the training run.
        """
        saved = {n: self.params[n].detach().clone() for n in self.pruned}
        was_training = self.model.training
        devices = sorted({p.device.index or 0 for p in self.params.values() if p.device.type == "cuda"})
        try:
            with torch.no_grad():
                for n, mask in self.masks().items():
                    if n in saved:
                        self.params[n].mul_(mask)
            with torch.random.fork_rng(devices=devices):
                return evaluate()
        finally:
            with torch.no_grad():
                for n, value in saved.items():
                    self.params[n].copy_(value)
            self.model.train(was_training)

    def hard_prune(self, optimizer: torch.optim.Optimizer) -> StaticSparse:
        """Keep the top-k :math:`|w|` of every selected weight and fix the mask for retraining.

        Returns a :class:`gnn_sparse.sparsity.StaticSparse` over the same parameters: pruned
        weights are zeroed now, their optimizer state (momentum, Adam moments) is zeroed,
        their gradients are masked before every ``optimizer.step()``; call its ``step()``
        after each ``optimizer.step()`` to re-mask the weights. Its ``masks`` are the masks.

        Raises:
            ValueError: a selected parameter is not in ``optimizer``.
        """
        try:
            return StaticSparse(self.model, optimizer, masks=self.masks())
        except ValueError as err:
            raise ValueError(f"{type(self).__name__}.hard_prune: {err}") from err

    # ------------------------------------------------------------------ checkpointing
    def state_dict(self) -> dict[str, Any]:
        """``z``, ``u`` (per pruned layer), ``rho``, ``updates`` and the per-layer ``sparsity``."""
        return {
            "z": {n: t.clone() for n, t in self.z.items()},
            "u": {n: t.clone() for n, t in self.u.items()},
            "rho": self.rho,
            "updates": self.updates,
            "sparsity": dict(self.sparsity),
        }

    @torch.no_grad()
    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore a :meth:`state_dict` of a pruner of the same model and sparsity.

        Raises:
            ValueError: the state is from other layers, shapes or per-layer sparsities.
        """
        name = type(self).__name__
        if dict(state_dict["sparsity"]) != self.sparsity:
            raise ValueError(
                f"{name}.load_state_dict: the state dict prunes {dict(state_dict['sparsity'])}, "
                f"this pruner {self.sparsity}"
            )
        for key in ("z", "u"):
            if set(state_dict[key]) != set(self.pruned):
                raise ValueError(
                    f"{name}.load_state_dict: '{key}' holds {sorted(state_dict[key])}, this pruner "
                    f"prunes {sorted(self.pruned)}"
                )
            for n, t in state_dict[key].items():
                if tuple(t.shape) != tuple(self.params[n].shape):
                    raise ValueError(f"{name}.load_state_dict: '{key}' of '{n}' does not fit this model")
        self.z = {n: state_dict["z"][n].to(self.params[n]).clone() for n in self.pruned}
        self.u = {n: state_dict["u"][n].to(self.params[n]).clone() for n in self.pruned}
        self.rho = float(state_dict["rho"])
        self.updates = int(state_dict["updates"])

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(layers={len(self.params)}, pruned={len(self.pruned)}, "
                f"rho={self.rho:.6g}, rho_factor={self.rho_factor:g}, updates={self.updates})")

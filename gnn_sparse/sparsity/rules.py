"""Drop and grow rules: the only pieces in which SET, RigL and DST-EE differ.

A rule maps the state of one layer (:class:`LayerState`) to a score per weight;
:func:`~.update.drop_and_grow` then drops the lowest-scoring active weights and grows the
highest-scoring inactive ones. Rules are small objects so that a user can pass their own:

* a **drop rule** has ``scores(layer) -> tensor`` (the lowest active scores are dropped);
* a **grow rule** has ``scores(layer) -> tensor`` (the highest inactive scores grow), and may
  say ``needs_grad = False`` (default ``True``: ``layer.grad`` is the dense gradient) and give
  ``state(t) -> dict`` (values logged with each update);

and both best a ``config()``: what defines the rule, recorded in the sparsifier's state and
compared when it is loaded (:mod:`~gnn_sparse.sparsity.pieces`). Subclassing
:class:`DropRule` or :class:`GrowthRule` gives one: the class name and the public scalar
attributes, which is right unless the rule has settings of other types.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from gnn_sparse.sparsity.pieces import scalar_settings

DST_EE_C = 1e-2
"""DST-EE's exploration coefficient c (the authors' GNN runs)."""
DST_EE_EPS = 1.0
"""DST-EE's epsilon in c ln(t) / (N + eps)."""
DST_EE_C_DECAY = 0.9
DST_EE_C_DECAY_INTERVAL = 1000
"""c is multiplied by ``DST_EE_C_DECAY`` every ``DST_EE_C_DECAY_INTERVAL`` iterations, as in the
authors' code. The one source of these defaults: :class:`ExplorationGrowth`, ``DSTEE`` and both
command lines (``RunConfig``, ``ImageRunConfig``) import them. The interval counts iterations,
so it scales with the batch size (``docs/distributed.md``); ``c_decay=1.0`` keeps c constant."""


@dataclass
class LayerState:
    """What a rule may look at for one layer at iteration ``t`` (all on the weight's device).

    ``k`` is the number of weights the update drops and grows, ``round`` the number of mask
    updates so far (this one included), ``candidates`` the entries a grow rule may choose
    (inactive after the drop; set before the grow rule is called, ``None`` before).
    """

    weight: torch.Tensor
    grad: torch.Tensor | None
    mask: torch.Tensor
    count: torch.Tensor
    t: int
    generator: torch.Generator
    k: int = 0
    round: int = 0
    candidates: torch.Tensor | None = None


class DropRule:
    """Base class: ``scores(layer)`` gives a score per weight; the lowest active are dropped."""

    def scores(self, layer: LayerState) -> torch.Tensor:
        raise NotImplementedError

    def config(self) -> dict[str, Any]:
        """What defines the rule (its class and scalar settings); a sparsifier refuses to load
        a state saved under a different one."""
        return {"rule": type(self).__name__, **scalar_settings(self)}


class MagnitudeDrop(DropRule):
    """Drop the active weights closest to zero: score :math:`|w|` (lowest are dropped)."""

    def scores(self, layer: LayerState) -> torch.Tensor:
        return layer.weight.detach().abs()

    def __repr__(self) -> str:
        return "MagnitudeDrop()"


class GrowthRule:
    """Base class: ``scores(layer)`` gives a score per weight; the highest inactive grow."""

    needs_grad = True

    def scores(self, layer: LayerState) -> torch.Tensor:
        raise NotImplementedError

    def state(self, t: int) -> dict:
        """Values worth logging and checkpointing at iteration ``t``."""
        return {}

    def config(self) -> dict[str, Any]:
        """What defines the rule (its class and scalar settings); a sparsifier refuses to load
        a state saved under a different one."""
        return {"rule": type(self).__name__, **scalar_settings(self)}


class RandomGrowth(GrowthRule):
    """SET: grow uniformly at random among the inactive weights (seeded)."""

    needs_grad = False

    def scores(self, layer: LayerState) -> torch.Tensor:
        # Drawn on the CPU generator so that a seed gives the same masks on every device.
        noise = torch.rand(layer.weight.shape, generator=layer.generator)
        return noise.to(layer.weight.device)

    def __repr__(self) -> str:
        return "RandomGrowth()"


class GradientGrowth(GrowthRule):
    """RigL: grow the inactive weights with the largest dense gradient magnitude :math:`|g|`."""

    def scores(self, layer: LayerState) -> torch.Tensor:
        return layer.grad.detach().abs()

    def __repr__(self) -> str:
        return "GradientGrowth()"


class ExplorationGrowth(GrowthRule):
    r"""DST-EE's acquisition function (Huang et al., DAC 2023, Eq. 1):

    .. math::
        S = |g| + c_t \frac{\ln t}{N + \epsilon}, \qquad
        c_t = c \cdot \gamma^{\lfloor t / t_\gamma \rfloor}

    :math:`|g|` is the dense gradient magnitude (exploitation); :math:`N` counts how many mask
    updates each weight has been active (exploration: rarely or never tried weights get a
    bonus that grows slowly with :math:`t`). :math:`\gamma` = ``c_decay`` every
    :math:`t_\gamma` = ``c_decay_interval`` iterations. With ``c = 0`` this is RigL's rule.
    The bonus is added to :math:`|g|` as in the paper (the authors' prototype added it to the
    signed gradient before taking the magnitude).
    """

    def __init__(self, c: float = DST_EE_C, eps: float = DST_EE_EPS, c_decay: float = DST_EE_C_DECAY,
                 c_decay_interval: int = DST_EE_C_DECAY_INTERVAL):
        if c < 0:
            raise ValueError(f"c must be >= 0, got {c!r}")
        if eps <= 0:
            raise ValueError(f"eps must be > 0, got {eps!r}")
        if not 0 < c_decay <= 1:
            raise ValueError(f"c_decay must be in (0, 1], got {c_decay!r}")
        if c_decay_interval <= 0:
            raise ValueError(f"c_decay_interval must be positive, got {c_decay_interval!r}")
        self.c, self.eps, self.c_decay, self.c_decay_interval = c, eps, c_decay, c_decay_interval

    def current_c(self, t: int) -> float:
        return self.c * self.c_decay ** (t // self.c_decay_interval)

    def scores(self, layer: LayerState) -> torch.Tensor:
        bonus = self.current_c(layer.t) * math.log(layer.t)
        return layer.grad.detach().abs().add_(bonus / (layer.count + self.eps))

    def state(self, t: int) -> dict:
        return {"c": self.current_c(t)}

    def __repr__(self) -> str:
        return (f"ExplorationGrowth(c={self.c}, eps={self.eps}, c_decay={self.c_decay}, "
                f"c_decay_interval={self.c_decay_interval})")

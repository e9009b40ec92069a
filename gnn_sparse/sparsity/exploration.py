r"""Variants of DST-EE's grow rule whose exploration term keeps its meaning across layers,
tasks and phases of the learning rate.

Why: in Eq. 1, :math:`S = |g| + c \ln t / (N + \epsilon)`, the bonus gap between a
never-active weight (:math:`N = 0`) and a once-active one (:math:`N = 1`) is about
:math:`3c` at :math:`t = 500`, while the gradients the grow rule compares are :math:`10^{-3}`
early and :math:`10^{-6}` late in a cosine schedule. For any useful ``c`` the score is then
lexicographic (fewest past visits first, then :math:`|g|`): the two terms never trade off,
and once the never-active weights of the live rows run out, weights with a gradient of
exactly zero are grown in ``topk``'s tie order. The variants here make the exploitation term
scale-free and put zero-gradient weights last:

* :class:`NormalizedExplorationGrowth` (``normalized``):
  :math:`S = |g| / s_l + c_t \ln t / (N + \epsilon)` with :math:`s_l` the mean :math:`|g|` of the
  ``k`` strongest candidates of the layer, so the gradient term of the weights RigL would
  grow is about 1 in every layer and phase;
* :class:`UCBGrowth` (``ucb``): :math:`S = \mathrm{pct}(|g|) + c \sqrt{\ln q / (N + 1)}`, the
  percentile of :math:`|g|` within the layer plus a UCB bonus in the number ``q`` of mask
  updates so far, so neither the batch size nor ``T`` changes the schedule;
* :class:`QuotaGrowth` (``quota``): a fraction :math:`\rho` of the ``k`` slots goes to the
  least-visited candidates (fewest :math:`N`, then largest :math:`|g|`), the rest to RigL's
  choice (top :math:`|g|`, regrowth of just-dropped weights allowed).

In every variant a weight whose gradient is exactly 0 is grown only when no candidate with a
non-zero gradient is left, and then at random (seeded), never by ``topk``'s tie order
(:func:`zero_gradient_last`). ``paper`` stays :class:`~gnn_sparse.sparsity.rules.ExplorationGrowth`,
Eq. 1 exactly.
"""
from __future__ import annotations

import math

import torch

from gnn_sparse.sparsity.rules import (DST_EE_C, DST_EE_C_DECAY, DST_EE_C_DECAY_INTERVAL, DST_EE_EPS,
                                       ExplorationGrowth, GrowthRule, LayerState)


def zero_gradient_last(scores: torch.Tensor, grad: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """``scores`` (as float64) with every zero-gradient entry moved below all others, in a
    seeded random order among themselves. The noise is drawn on the CPU generator (one value
    per entry, every update) so that a seed gives the same masks on every device."""
    noise = torch.rand(scores.shape, generator=generator, dtype=torch.float64).to(scores.device)
    scores = scores.double()
    zero = grad == 0
    nonzero = scores[~zero]
    floor = float(nonzero.min()) if nonzero.numel() else 0.0
    return torch.where(zero, floor - 1.0 - noise, scores)


def percentile(values: torch.Tensor) -> torch.Tensor:
    """The fraction of the entries of ``values`` strictly below each entry, in ``[0, 1)``
    (ties share a percentile)."""
    flat = values.reshape(-1)
    ranks = torch.searchsorted(flat.sort().values, flat, right=False)
    return (ranks.double() / flat.numel()).view_as(values)


def candidates(layer: LayerState) -> torch.Tensor:
    """The entries the update may grow: inactive after the drop (``layer.candidates``), or
    inactive now when the rule is called outside an update."""
    return layer.candidates if layer.candidates is not None else ~layer.mask


class NormalizedExplorationGrowth(ExplorationGrowth):
    r""":math:`S = |g| / s_l + c_t \ln t / (N + \epsilon)`, zero gradients last.

    :math:`s_l` is the mean :math:`|g|` of the layer's ``k`` candidates with the largest
    :math:`|g|` (1 when they are all 0): the exploitation term of the weights RigL would grow
    is about 1, so ``c`` weighs exploration against a unit that does not shrink with the
    learning rate. ``c``, ``eps`` and the decay of ``c`` as in
    :class:`~gnn_sparse.sparsity.rules.ExplorationGrowth`.
    """

    def scores(self, layer: LayerState) -> torch.Tensor:
        grad = layer.grad.detach().abs()
        pool = grad[candidates(layer)]
        k = max(1, min(layer.k, pool.numel()))
        scale = float(torch.topk(pool, k).values.mean()) if pool.numel() else 0.0
        bonus = self.current_c(layer.t) * math.log(layer.t)
        score = grad.double() / (scale if scale > 0 else 1.0) + bonus / (layer.count.double() + self.eps)
        return zero_gradient_last(score, grad, layer.generator)

    def __repr__(self) -> str:
        return (f"NormalizedExplorationGrowth(c={self.c}, eps={self.eps}, c_decay={self.c_decay}, "
                f"c_decay_interval={self.c_decay_interval})")


class UCBGrowth(GrowthRule):
    r""":math:`S = \mathrm{pct}(|g|) + c \sqrt{\ln q / (N + 1)}`, zero gradients last.

    :math:`\mathrm{pct}` is the percentile of :math:`|g|` within the layer (in ``[0, 1)``),
    ``q`` the number of mask updates so far (this one included). Both terms are free of the
    gradient's scale, the batch size and ``T``; the bonus of an untried weight grows like
    :math:`\sqrt{\ln q}`, as in UCB1.
    """

    def __init__(self, c: float = 0.5):
        if not (c >= 0 and math.isfinite(c)):
            raise ValueError(f"c must be a finite number >= 0, got {c!r}")
        self.c = c

    def scores(self, layer: LayerState) -> torch.Tensor:
        grad = layer.grad.detach().abs()
        bonus = self.c * torch.sqrt(math.log(max(layer.round, 1)) / (layer.count.double() + 1.0))
        return zero_gradient_last(percentile(grad) + bonus, grad, layer.generator)

    def __repr__(self) -> str:
        return f"UCBGrowth(c={self.c})"


class QuotaGrowth(GrowthRule):
    r"""A quota :math:`\rho` of the ``k`` slots for the least-visited candidates, the rest RigL.

    ``round((1 - rho) * k)`` slots go to the candidates with the largest :math:`|g|` (RigL:
    a weight dropped in this update may be regrown); the other slots to the remaining
    candidates with the fewest past visits :math:`N`, the largest :math:`|g|` first among
    equals. ``rho = 0`` is RigL, ``rho = 1`` "never-active first". Zero gradients last.
    """

    def __init__(self, rho: float = 0.25):
        if not (0.0 <= rho <= 1.0):
            raise ValueError(f"rho must be in [0, 1], got {rho!r}")
        self.rho = rho

    def scores(self, layer: LayerState) -> torch.Tensor:
        grad = layer.grad.detach().abs()
        pool = candidates(layer) & (grad != 0)
        exploit = layer.k - round(self.rho * layer.k)
        # least visited first, then by |g|: -N plus a tie-break in [0, 0.5)
        score = -layer.count.double() + 0.5 * percentile(grad)
        if exploit > 0 and pool.any():
            strongest = torch.topk(grad.masked_fill(~pool, -1.0).reshape(-1), min(exploit, int(pool.sum()))).indices
            score.view(-1)[strongest] = math.inf
        return zero_gradient_last(score, grad, layer.generator)

    def __repr__(self) -> str:
        return f"QuotaGrowth(rho={self.rho})"


EXPLORATION_VARIANTS = ("paper", "normalized", "ucb", "quota")
"""The choices of DST-EE's grow rule (``--exploration``); ``paper`` is Eq. 1."""


def exploration_rule(variant: str = "paper", *, c: float = DST_EE_C, eps: float = DST_EE_EPS,
                     c_decay: float = DST_EE_C_DECAY, c_decay_interval: int = DST_EE_C_DECAY_INTERVAL,
                     rho: float = 0.25) -> GrowthRule:
    """The grow rule of a DST-EE ``variant``: ``paper`` and ``normalized`` take ``c``,
    ``eps``, ``c_decay`` and ``c_decay_interval``; ``ucb`` takes ``c``; ``quota`` takes ``rho``.
    :class:`ValueError` for an unknown variant or a knob out of range."""
    if variant == "paper":
        return ExplorationGrowth(c, eps, c_decay, c_decay_interval)
    if variant == "normalized":
        return NormalizedExplorationGrowth(c, eps, c_decay, c_decay_interval)
    if variant == "ucb":
        return UCBGrowth(c)
    if variant == "quota":
        return QuotaGrowth(rho)
    raise ValueError(f"unknown exploration variant {variant!r}; choose from {', '.join(EXPLORATION_VARIANTS)}")

"""Sparsity distributions: how a global sparsity is shared out between layers.

A distribution is a callable ``(shapes, sparsity) -> {name: sparsity}``, a pure function of
the shapes (``{parameter name: shape}``), so it can be tested alone and swapped: a plain
function, or an object with ``__call__`` and best a ``config()`` (see
:mod:`~gnn_sparse.sparsity.pieces`). The named ones are the entries of
:data:`DISTRIBUTIONS` (``uniform``, ``erk``; add your own), and :func:`uniform` and
:func:`erk` are also plain functions.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from gnn_sparse.sparsity.pieces import format_config, piece_config

Shapes = Mapping[str, Sequence[int]]
Distribution = Callable[[Shapes, "float | None"], Mapping[str, float]]


def uniform(shapes: Shapes, sparsity: float) -> dict[str, float]:
    """Every layer gets the same sparsity."""
    _check_sparsity(sparsity)
    return {name: float(sparsity) for name in shapes}


def erk(
    shapes: Mapping[str, Sequence[int]],
    sparsity: float,
    power_scale: float = 1.0,
    dense_layers: Sequence[str] = (),
) -> dict[str, float]:
    r"""Erdos-Renyi-Kernel distribution (RigL, Evci et al. 2020).

    A layer of shape :math:`(n_1, \dots, n_k)` gets density proportional to

    .. math::
        p_l = \epsilon \left(\frac{\sum_i n_i}{\prod_i n_i}\right)^{\text{power\_scale}}

    with :math:`\epsilon` chosen so that the number of non-zeros matches the global density
    :math:`1 - s`: :math:`\sum_l p_l N_l = (1 - s) \sum_l N_l`. Layers whose :math:`p_l`
    would exceed 1 become dense and :math:`\epsilon` is solved again for the rest. Layers in
    ``dense_layers`` are dense from the start (and count towards the budget).

    Raises:
        ValueError: the dense layers alone already exceed the non-zero budget.
    """
    _check_sparsity(sparsity)
    unknown = [n for n in dense_layers if n not in shapes]
    if unknown:
        raise ValueError(f"erk: dense_layers {unknown} are not among the sparsified parameters")
    numel = {n: math.prod(s) for n, s in shapes.items()}
    total = sum(numel.values())
    budget = (1.0 - sparsity) * total
    raw = {n: (sum(s) / math.prod(s)) ** power_scale for n, s in shapes.items()}
    dense = set(dense_layers)
    while True:
        dense_numel = sum(numel[n] for n in dense)
        if dense_numel > budget + 1e-9:
            raise ValueError(
                f"erk: impossible target sparsity {sparsity}: the layers that must be dense "
                f"({sorted(dense)}) already hold {dense_numel} weights, more than the budget of "
                f"{budget:.0f} non-zeros"
            )
        rest = [n for n in shapes if n not in dense]
        if not rest:
            break
        eps = (budget - dense_numel) / sum(raw[n] * numel[n] for n in rest)
        overflow = [n for n in rest if eps * raw[n] > 1.0]
        if not overflow:
            break
        dense.update(overflow)
    out = {}
    for n in shapes:
        out[n] = 0.0 if n in dense else 1.0 - eps * raw[n]
    return out


class Uniform:
    """:func:`uniform` as a distribution object (the name ``"uniform"``)."""

    def __call__(self, shapes: Shapes, sparsity: float | None) -> dict[str, float]:
        return uniform(shapes, _required(sparsity))

    def config(self) -> dict[str, Any]:
        return {"distribution": "uniform"}

    def __repr__(self) -> str:
        return "Uniform()"


@dataclass(frozen=True)
class ERK:
    """:func:`erk` as a distribution object (the name ``"erk"``)."""

    power_scale: float = 1.0
    dense_layers: tuple[str, ...] = ()

    def __call__(self, shapes: Shapes, sparsity: float | None) -> dict[str, float]:
        return erk(shapes, _required(sparsity), power_scale=self.power_scale, dense_layers=self.dense_layers)

    def config(self) -> dict[str, Any]:
        return {"distribution": "erk", "power_scale": self.power_scale, "dense_layers": list(self.dense_layers)}


DISTRIBUTIONS: dict[str, Callable[..., Distribution]] = {"uniform": Uniform, "erk": ERK}
"""The named distributions: name -> a factory of the distribution (called with no arguments,
or with ``power_scale=`` when a sparsifier is given ``erk_power_scale``). Add an entry to give
a distribution of your own a name."""

EXPLICIT = {"distribution": "explicit"}
"""The config of an explicit ``{name: sparsity}`` dict (its values are the per-layer targets)."""


def as_distribution(distribution: str | Distribution, erk_power_scale: float = 1.0) -> Distribution:
    """The distribution a name of :data:`DISTRIBUTIONS` (``erk_power_scale``, when not 1,
    goes to its factory as ``power_scale``) or a callable stands for."""
    if isinstance(distribution, str):
        factory = DISTRIBUTIONS.get(distribution)
        if factory is None:
            raise ValueError(
                f"Unknown sparsity distribution {distribution!r}; expected one of {sorted(DISTRIBUTIONS)}, "
                "a {parameter name: sparsity} dict or a function (shapes, sparsity) -> {parameter name: sparsity}"
            )
        if erk_power_scale == 1.0:
            return factory()
        try:
            return factory(power_scale=erk_power_scale)
        except TypeError:
            raise ValueError(f"erk_power_scale is not an option of the {distribution!r} distribution") from None
    if callable(distribution):
        return distribution
    raise TypeError(f"a sparsity distribution is a name, a {{parameter name: sparsity}} dict or a function "
                    f"(shapes, sparsity) -> {{parameter name: sparsity}}; got {distribution!r}")


def distribution_config(distribution: str | Mapping[str, float] | Distribution,
                        erk_power_scale: float = 1.0) -> dict[str, Any]:
    """The config of a distribution (:func:`~gnn_sparse.sparsity.pieces.piece_config`);
    :data:`EXPLICIT` for a dict."""
    if isinstance(distribution, Mapping):
        return dict(EXPLICIT)
    return piece_config(as_distribution(distribution, erk_power_scale), "distribution")


def resolve_distribution(
    distribution: str | Mapping[str, float] | Distribution,
    shapes: Shapes,
    sparsity: float | None,
    erk_power_scale: float = 1.0,
) -> dict[str, float]:
    """Per-layer sparsity from a distribution name, an explicit ``{name: sparsity}`` dict or a
    distribution function (whose result is checked as an explicit dict is)."""
    if isinstance(distribution, Mapping):
        return _checked(distribution, shapes, "Explicit sparsity dict")
    function = as_distribution(distribution, erk_power_scale)
    name = format_config(piece_config(function, "distribution"), "distribution")
    return _checked(function(shapes, sparsity), shapes, f"The result of the distribution {name}")


def _checked(result: Any, shapes: Shapes, what: str) -> dict[str, float]:
    if not isinstance(result, Mapping):
        raise TypeError(f"{what} must be a {{parameter name: sparsity}} dict, got {type(result).__name__}")
    unknown = [n for n in result if n not in shapes]
    missing = [n for n in shapes if n not in result]
    if unknown or missing:
        raise ValueError(
            f"{what} does not match the selected parameters: unknown {unknown}, missing {missing}"
        )
    for n, s in result.items():
        _check_sparsity(s, what=f"sparsity of '{n}'")
    return {n: float(result[n]) for n in shapes}


def _required(sparsity: float | None) -> float:
    if sparsity is None:
        raise ValueError("`sparsity` is required with a named distribution")
    return sparsity


def _check_sparsity(sparsity: float, what: str = "sparsity") -> None:
    if not isinstance(sparsity, (int, float)) or not 0.0 <= float(sparsity) < 1.0:
        raise ValueError(f"{what} must be in [0, 1), got {sparsity!r}")

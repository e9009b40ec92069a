"""Sparsity distributions: how a global sparsity is shared out between layers.

Every distribution has the same signature ``(shapes, sparsity, **options) -> {name:
sparsity}`` and is a pure function of the shapes, so it can be tested alone and swapped.
"""
from __future__ import annotations

import math
from typing import Callable, Mapping, Sequence


def uniform(shapes: Mapping[str, Sequence[int]], sparsity: float) -> dict[str, float]:
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


DISTRIBUTIONS: dict[str, Callable[..., dict[str, float]]] = {"uniform": uniform, "erk": erk}


def resolve_distribution(
    distribution: str | Mapping[str, float],
    shapes: Mapping[str, Sequence[int]],
    sparsity: float | None,
    erk_power_scale: float = 1.0,
) -> dict[str, float]:
    """Turn a distribution name or an explicit ``{name: sparsity}`` dict into per-layer sparsity."""
    if isinstance(distribution, Mapping):
        unknown = [n for n in distribution if n not in shapes]
        missing = [n for n in shapes if n not in distribution]
        if unknown or missing:
            raise ValueError(
                f"Explicit sparsity dict does not match the selected parameters: unknown "
                f"{unknown}, missing {missing}"
            )
        for n, s in distribution.items():
            _check_sparsity(s, what=f"sparsity of '{n}'")
        return {n: float(distribution[n]) for n in shapes}
    if distribution == "uniform":
        return uniform(shapes, _required(sparsity))
    if distribution == "erk":
        return erk(shapes, _required(sparsity), power_scale=erk_power_scale)
    raise ValueError(
        f"Unknown sparsity distribution {distribution!r}; expected one of {sorted(DISTRIBUTIONS)} "
        "or a {parameter name: sparsity} dict"
    )


def _required(sparsity: float | None) -> float:
    if sparsity is None:
        raise ValueError("`sparsity` is required with a named distribution")
    return sparsity


def _check_sparsity(sparsity: float, what: str = "sparsity") -> None:
    if not isinstance(sparsity, (int, float)) or not 0.0 <= float(sparsity) < 1.0:
        raise ValueError(f"{what} must be in [0, 1), got {sparsity!r}")

"""Which parameters of a model get a mask.

By default every ``weight`` of :class:`torch.nn.Linear`, :class:`torch.nn.Conv1d`,
:class:`torch.nn.Conv2d`, :class:`torch.nn.Conv3d` and
:class:`torch_geometric.nn.Linear` (which is *not* an ``nn.Linear`` and may be lazy).
Biases, normalisation and embedding parameters are masked only when named explicitly.
"""
from __future__ import annotations

import fnmatch
from typing import Iterable, Sequence, Union

import torch
from torch import nn
from torch.nn.parameter import UninitializedParameter

from gnn_sparse.sparsity.pyg import loaded_pyg_classes

Selector = Union[str, nn.Module, nn.Parameter]


def _default_layer_types() -> tuple[type, ...]:
    return (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, *loaded_pyg_classes("Linear"))


def select_parameters(
    model: nn.Module,
    params: Sequence[Selector] | None = None,
    optimizer: torch.optim.Optimizer | None = None,
) -> dict[str, nn.Parameter]:
    """Return ``{qualified name: parameter}`` of the parameters to sparsify, in model order.

    Args:
        model: the model.
        params: ``None`` for the default layer types, or a list whose items are parameter
            names, glob patterns over names (``"fc*.weight"``), modules (their ``weight``)
            or parameters.
        optimizer: if given, every selected parameter must be one of its parameters.

    Raises:
        ValueError: nothing matched, a name or pattern matched nothing, a selected
            parameter is still uninitialised (lazy) or not in the optimizer.
    """
    named = dict(model.named_parameters())
    by_id = {id(p): n for n, p in named.items()}
    selected: dict[str, nn.Parameter] = {}

    if params is None:
        layer_types = _default_layer_types()
        for mod_name, module in model.named_modules():
            if isinstance(module, layer_types) and getattr(module, "weight", None) is not None:
                name = f"{mod_name}.weight" if mod_name else "weight"
                selected[name] = named[name]
        if not selected:
            raise ValueError(
                f"No layer matched in {type(model).__name__}: the default selection takes the "
                "weights of Linear, Conv1d/2d/3d and torch_geometric.nn.Linear; pass `params=` "
                "to choose parameters by name, glob pattern or module"
            )
    else:
        if isinstance(params, (str, nn.Module, torch.Tensor)):
            params = [params]
        for item in params:
            for name in _resolve(item, named, by_id):
                selected[name] = named[name]
        if not selected:
            raise ValueError("No parameter matched the given `params`")
        selected = {n: named[n] for n in named if n in selected}  # model order

    for name, p in selected.items():
        if isinstance(p, UninitializedParameter):
            raise ValueError(
                f"Parameter '{name}' is still uninitialised (a lazy layer): run one forward "
                "pass of the model before creating the sparsifier"
            )
    if optimizer is not None:
        in_opt = {id(p) for g in optimizer.param_groups for p in g["params"]}
        missing = [n for n, p in selected.items() if id(p) not in in_opt]
        if missing:
            raise ValueError(
                f"Parameters {missing} are selected for sparsification but are not in the "
                "optimizer; a sparsifier must see every masked parameter's optimizer state"
            )
    return selected


def _resolve(item: Selector, named: dict[str, nn.Parameter], by_id: dict[int, str]) -> Iterable[str]:
    if isinstance(item, str):
        if item in named:
            return [item]
        matches = fnmatch.filter(named, item)
        if not matches:
            raise ValueError(
                f"Parameter '{item}' does not exist in the model (nor matches any name as a "
                f"pattern); known parameters: {sorted(named)}"
            )
        return matches
    if isinstance(item, nn.Module):
        weight = getattr(item, "weight", None)
        if not isinstance(weight, torch.Tensor) or id(weight) not in by_id:
            raise ValueError(f"Module {type(item).__name__} has no weight that belongs to the model")
        return [by_id[id(weight)]]
    if isinstance(item, torch.Tensor):
        if id(item) not in by_id:
            raise ValueError("A parameter given in `params` does not belong to the model")
        return [by_id[id(item)]]
    raise TypeError(f"Cannot select parameters from a {type(item).__name__}")

r"""FLOPs of sparse training and inference, counted from the shapes of the layers that run
(the accounting of the DST-EE paper's Table II, which follows RigL, Evci et al. 2020, App. H).

Counting rules (one multiply-add = 2 FLOPs; biases, activations, normalisation and pooling
are not counted, as in Table II):

* ``nn.Linear`` / ``torch_geometric.nn.Linear`` with :math:`r` input rows:
  :math:`F = 2\, r\, d_{in} d_{out}`;
* ``nn.Conv1d/2d/3d``: :math:`F = 2\, |W|\, N \prod_i s_i` (every kernel weight once per
  output position, :math:`N` images, output size :math:`s`);
* ``torch_geometric.nn.GCNConv`` propagation over :math:`E` (weighted) edges of :math:`C`
  output channels (plus one self-loop per node when the layer normalises and adds them
  itself): :math:`F = 2 E C`; ``SAGEConv`` aggregation of its :math:`C_{in}` input
  channels: :math:`F = 2 E C_{in}`. Neither is scaled by any weight's density; their
  feature transforms are Linears (``lin``, ``lin_l``, ``lin_r``), counted as such.

A weight of density :math:`d` costs :math:`d F` in a sparse forward. Training (RigL's
convention): a step costs the forward, the gradient of the inputs and the gradient of the
weights, each :math:`d F` for a weight layer (:math:`F`, :math:`F` and nothing for a
propagation), so :math:`3 f_S` per sparse step; a step that computes the dense weight
gradient (RigL and DST-EE score inactive weights with it at every mask update) costs
:math:`2 f_S + f_D` for the masked weights.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Iterable, Mapping

import torch
from torch import nn

from gnn_sparse.sparsity.pyg import loaded_pyg_classes

PROPAGATION = ":propagate"
"""Suffix of the keys of weight-free operations (``"encoder.convs.0:propagate"``)."""


def linear_flops(in_features: int, out_features: int, rows: int) -> int:
    """:math:`2\\, r\\, d_{in} d_{out}` FLOPs of a Linear applied to ``rows`` input rows."""
    return 2 * rows * in_features * out_features


def conv_flops(weight_numel: int, output_positions: int) -> int:
    """:math:`2 |W| P` FLOPs of a convolution producing ``output_positions`` = N x output size."""
    return 2 * weight_numel * output_positions


def propagation_flops(num_edges: int, channels: int) -> int:
    """:math:`2 E C` FLOPs of a weighted sum over ``num_edges`` messages of ``channels`` features."""
    return 2 * num_edges * channels


def _layer_types():
    return (nn.Linear, *loaded_pyg_classes("Linear")), (nn.Conv1d, nn.Conv2d, nn.Conv3d), \
        loaded_pyg_classes("GCNConv", "SAGEConv")


def _num_edges(graph: Any) -> int:
    if isinstance(graph, torch.Tensor):
        return int(graph._nnz()) if graph.is_sparse or graph.layout != torch.strided else int(graph.size(1))
    if hasattr(graph, "nnz"):  # torch_sparse.SparseTensor
        return int(graph.nnz())
    raise TypeError(f"count_forward_flops: cannot count the edges of a {type(graph).__name__}")


def count_forward_flops(model: nn.Module, forward: Callable[[], Any]) -> dict[str, int]:
    """Dense FLOPs of one call of ``forward()`` (which runs ``model``), per layer.

    Runs ``forward`` once under ``torch.no_grad()`` with forward hooks on every Linear,
    Conv, GCNConv and SAGEConv of ``model`` and returns ``{weight name: FLOPs}`` (e.g.
    ``"fc1.weight"``) plus ``{"<module>:propagate": FLOPs}`` for GCN propagation; a layer
    called several times is summed. See the module docstring for the rules.
    """
    linear, conv, gcn = _layer_types()
    counts: dict[str, int] = {}

    def add(key: str, flops: int) -> None:
        counts[key] = counts.get(key, 0) + int(flops)

    def on_linear(name):
        def hook(module, args, output):
            weight = module.weight
            add(f"{name}.weight" if name else "weight",
                linear_flops(weight.shape[1], weight.shape[0], args[0].numel() // weight.shape[1]))
        return hook

    def on_conv(name):
        def hook(module, args, output):
            positions = output.numel() // module.out_channels
            add(f"{name}.weight" if name else "weight", conv_flops(module.weight.numel(), positions))
        return hook

    def on_gcn(name):
        def hook(module, args, output):
            x, edges = args[0], _num_edges(args[1])
            if type(module).__name__ == "SAGEConv":
                channels = x[0].shape[-1] if isinstance(x, tuple) else x.shape[-1]
            else:
                channels = output.shape[-1]
                if getattr(module, "normalize", False) and getattr(module, "add_self_loops", False):
                    edges += x.size(0)
            add(f"{name}{PROPAGATION}", propagation_flops(edges, channels))
        return hook

    handles = []
    for name, module in model.named_modules():
        if isinstance(module, linear):
            handles.append(module.register_forward_hook(on_linear(name)))
        elif isinstance(module, conv):
            handles.append(module.register_forward_hook(on_conv(name)))
        elif gcn and isinstance(module, gcn):
            handles.append(module.register_forward_hook(on_gcn(name)))
    try:
        with torch.no_grad():
            forward()
    finally:
        for h in handles:
            h.remove()
    return counts


def sparse_forward_flops(layer_flops: Mapping[str, float], density: Mapping[str, float] | None = None) -> float:
    r""":math:`f_S = \sum_l d_l F_l` (weights not in ``density`` are dense, :math:`d = 1`)."""
    density = density or {}
    return float(sum(density.get(k, 1.0) * f for k, f in layer_flops.items()))


def training_step_flops(layer_flops: Mapping[str, float], density: Mapping[str, float] | None = None,
                        dense_gradient: bool = False) -> float:
    r"""FLOPs of one training step: per weight layer :math:`2 d F + d F` (sparse weight gradient)
    or :math:`2 d F + F` (``dense_gradient``), per propagation :math:`2F`."""
    density = density or {}
    total = 0.0
    for key, f in layer_flops.items():
        if key.endswith(PROPAGATION):
            total += 2.0 * f
        else:
            d = density.get(key, 1.0)
            total += 2.0 * d * f + (f if dense_gradient else d * f)
    return total


def training_flops(epoch_flops: Mapping[str, float], phases: Iterable[tuple[int, Mapping[str, float]]],
                   update_flops: Mapping[str, float] | None = None, dense_gradient_steps: int = 0,
                   update_density: Mapping[str, float] | None = None) -> float:
    r"""FLOPs of a whole run.

    .. math::
        \sum_{\text{phases}} e_p \cdot \mathrm{step}(F^{\text{epoch}}, d_p)
        + n_{\text{dense grad}} \sum_l (1 - d_l) F^{\text{step}}_l

    Args:
        epoch_flops: dense forward FLOPs per layer summed over one epoch's steps.
        phases: ``(epochs, density)`` per phase (``{}``: dense).
        update_flops: dense forward FLOPs per layer of one step with a dense weight gradient.
        dense_gradient_steps: how many such steps (RigL / DST-EE mask updates).
        update_density: the masked weights' density at those steps.
    """
    total = sum(epochs * training_step_flops(epoch_flops, density) for epochs, density in phases)
    if dense_gradient_steps and update_flops is not None:
        dense_grad = training_step_flops(update_flops, update_density, dense_gradient=True)
        total += dense_gradient_steps * (dense_grad - training_step_flops(update_flops, update_density))
    return total


def flops_summary(epoch_flops: Mapping[str, float], inference_flops: Mapping[str, float],
                  phases: list[tuple[int, Mapping[str, float]]], update_flops: Mapping[str, float] | None = None,
                  dense_gradient_steps: int = 0, final_density: Mapping[str, float] | None = None,
                  probe_forwards: int = 0) -> dict[str, Any]:
    """The results-JSON block: training and inference FLOPs, each with the dense model's
    (same layers, same epochs and steps, every weight dense) and their ratio."""
    final_density = dict(final_density or {})
    train = training_flops(epoch_flops, phases, update_flops, dense_gradient_steps, final_density)
    train_dense = training_flops(epoch_flops, [(e, {}) for e, _ in phases])
    inference = sparse_forward_flops(inference_flops, final_density)
    inference_dense = sparse_forward_flops(inference_flops)
    probe = probe_forwards * sparse_forward_flops(update_flops or {}, final_density)
    return {
        "train": train, "train_dense": train_dense, "train_ratio": _ratio(train, train_dense),
        "inference": inference, "inference_dense": inference_dense,
        "inference_ratio": _ratio(inference, inference_dense),
        "dense_gradient_steps": dense_gradient_steps,
        "probe_forward_flops": probe,
        "layers": {k: {"epoch_forward_dense": float(epoch_flops.get(k, 0)),
                       "inference_dense": float(inference_flops.get(k, 0)),
                       "final_density": final_density.get(k, 1.0)}
                   for k in dict.fromkeys([*epoch_flops, *inference_flops])},
    }


def _ratio(a: float, b: float) -> float | None:
    return a / b if b > 0 and math.isfinite(b) else None

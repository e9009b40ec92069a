"""A run's FLOPs block (:mod:`gnn_sparse.sparsity.flops`) from its method and epoch log.

The runner counts the dense forward FLOPs per layer of one epoch, of one full step and of
its inference unit (:func:`~gnn_sparse.sparsity.flops.count_forward_flops`); the method says
how dense each masked weight was in each phase (``phase_density``) and how many steps
computed a dense weight gradient (``dense_gradient_steps``): ADMM's pretraining and ADMM
phases are dense, its retraining sparse; RigL and DST-EE add a dense weight gradient at
every mask update; SET and static masks never do.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from gnn_sparse.sparsity.flops import flops_summary


def run_flops(method, history: Sequence[Mapping[str, Any]], epoch_flops: Mapping[str, float],
              step_flops: Mapping[str, float], inference_flops: Mapping[str, float],
              probe_forwards: int = 0) -> dict[str, Any]:
    """The ``flops`` block of the results (see :func:`~gnn_sparse.sparsity.flops.flops_summary`);
    epochs per phase are counted from ``history`` (what was actually trained)."""
    epochs: dict[str, int] = {}
    for record in history:
        epochs[record["phase"]] = epochs.get(record["phase"], 0) + 1
    phases = [(n, method.phase_density(name)) for name, n in epochs.items()]
    final = method.phase_density(history[-1]["phase"]) if history else {}
    summary = flops_summary(epoch_flops, inference_flops, phases, step_flops, method.dense_gradient_steps(),
                            final, probe_forwards)
    summary["phases"] = [{"phase": name, "epochs": n} for name, n in epochs.items()]
    return summary

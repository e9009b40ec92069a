"""Baselines that are not sparse training: ADMM pruning of a dense model.

:mod:`baselines.link_prediction` (imported on its own, it needs :mod:`gnn_sparse.training`)
makes it a method of the trainer; its ``register_admm()``, called by the command lines, makes
it ``--method admm`` of ``run_link_prediction.py`` and ``python -m gnn_sparse.vision``.
"""
from baselines.admm import ADMMPruner, admm_penalty, admm_update
from baselines.phases import ADMMRunner, ADMMSchedule, Phase
from baselines.projection import keep_count, magnitude_mask, project

__all__ = [
    "ADMMPruner", "ADMMRunner", "ADMMSchedule", "Phase",
    "admm_penalty", "admm_update", "keep_count", "magnitude_mask", "project",
]

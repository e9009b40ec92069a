"""Baselines that are not sparse training: ADMM pruning of a dense model."""
from baselines.admm import ADMMPruner, admm_penalty, admm_update
from baselines.phases import ADMMRunner, ADMMSchedule, Phase
from baselines.projection import keep_count, magnitude_mask, project

__all__ = [
    "ADMMPruner", "ADMMRunner", "ADMMSchedule", "Phase",
    "admm_penalty", "admm_update", "keep_count", "magnitude_mask", "project",
]

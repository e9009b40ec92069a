"""Model-agnostic sparse-training core: masks, distributions, schedules, drop and grow rules."""
from gnn_sparse.sparsity.distributions import DISTRIBUTIONS, ERK, Uniform, erk, resolve_distribution, uniform
from gnn_sparse.sparsity.exploitation import ExploitationProbe
from gnn_sparse.sparsity.exploration import (EXPLORATION_VARIANTS, NormalizedExplorationGrowth, QuotaGrowth,
                                             UCBGrowth, exploration_rule)
from gnn_sparse.sparsity.export import ExportError, export_sparse, load_sparse
from gnn_sparse.sparsity.flops import count_forward_flops
from gnn_sparse.sparsity.optim_state import mask_optimizer_state
from gnn_sparse.sparsity.pieces import piece_config
from gnn_sparse.sparsity.rules import (
    DropRule,
    ExplorationGrowth,
    GradientGrowth,
    GrowthRule,
    LayerState,
    MagnitudeDrop,
    RandomGrowth,
)
from gnn_sparse.sparsity.schedules import FunctionSchedule, Schedule, UpdateSchedule
from gnn_sparse.sparsity.selection import select_parameters
from gnn_sparse.sparsity.sparsifier import DSTEE, SET, DynamicSparsifier, RigL, StaticSparse
from gnn_sparse.sparsity.update import drop_and_grow

__all__ = [
    "DSTEE", "RigL", "SET", "StaticSparse", "DynamicSparsifier",
    "ExplorationGrowth", "NormalizedExplorationGrowth", "UCBGrowth", "QuotaGrowth", "exploration_rule",
    "EXPLORATION_VARIANTS", "GradientGrowth", "RandomGrowth", "GrowthRule", "DropRule", "MagnitudeDrop", "LayerState",
    "Schedule", "UpdateSchedule", "FunctionSchedule", "DISTRIBUTIONS", "Uniform", "ERK", "uniform", "erk",
    "resolve_distribution", "piece_config", "select_parameters",
    "drop_and_grow", "mask_optimizer_state",
    "ExploitationProbe", "export_sparse", "load_sparse", "ExportError", "count_forward_flops",
]

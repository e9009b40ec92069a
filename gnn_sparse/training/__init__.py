"""Training for link prediction: config, pluggable methods, loop, metrics, runner, results."""
from gnn_sparse.training.config import ConfigError, RunConfig
from gnn_sparse.training.loop import evaluate, predict, train_epoch
from gnn_sparse.training.methods import METHODS, Method, Phase, SparseMethod, build_method, register_method
from gnn_sparse.training.metrics import link_metrics, ranking_metrics, ranks_among_negatives
from gnn_sparse.training.results import REQUIRED_KEYS, read_index, select_best, summary_table
from gnn_sparse.training.lifecycle import RunOptions
from gnn_sparse.training.runner import run

__all__ = [
    "ConfigError", "RunConfig", "RunOptions", "run", "train_epoch", "evaluate", "predict", "link_metrics",
    "ranking_metrics", "ranks_among_negatives",
    "METHODS", "Method", "Phase", "SparseMethod", "build_method", "register_method",
    "REQUIRED_KEYS", "read_index", "select_best", "summary_table",
]

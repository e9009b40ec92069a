"""``--export-sparse``: a finished link-prediction run as a sparse model file, and its loader.

The export holds the weights of the run's checkpoint, i.e. of its **last** epoch (the
results' test metrics are those of the best validation epoch, which is not kept), with the
final masks applied (:func:`~gnn_sparse.sparsity.export.export_sparse`), plus what is needed
to rebuild the architecture (:func:`~gnn_sparse.models.build_link_predictor` arguments and
the fixed node features of ``--encoder twalk``).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

import torch

from gnn_sparse.models import build_link_predictor
from gnn_sparse.models.fixed import fixed_node_features
from gnn_sparse.sparsity.export import ExportError, export_sparse, load_sparse, read_export
from gnn_sparse.training.checkpoint import load_checkpoint
from gnn_sparse.training.config import ConfigError, RunConfig
from gnn_sparse.training.results import checkpoint_path, read_results, results_path
from gnn_sparse.utils.io import CorruptFileError

BUILDER_KEYS = ("encoder", "embedding_dim", "hidden_dim", "out_dim", "num_layers", "fc_hidden")


def find_masks(method_state: Mapping[str, Any]) -> dict[str, torch.Tensor] | None:
    """The masks of the (first) sparsifier state inside a method's checkpointed state:
    ``state["sparsifier"]["masks"]`` (DST-EE, RigL, SET, static) or nested deeper (ADMM's
    ``state["runner"]["sparsifier"]``); ``None`` if there is none."""
    if not isinstance(method_state, Mapping):
        return None
    sparsifier = method_state.get("sparsifier")
    if isinstance(sparsifier, Mapping) and "masks" in sparsifier:
        return dict(sparsifier["masks"])
    for value in method_state.values():
        found = find_masks(value)
        if found is not None:
            return found
    return None


def export_run(results_dir: str | os.PathLike, run_id: str, path: str | os.PathLike, dataset=None) -> Path:
    """Export the finished run ``run_id`` of ``results_dir`` to ``path``; returns ``path``.

    Raises:
        ConfigError: no such finished run, a dense run, or its checkpoint is missing or unreadable.
    """
    results_file = results_path(results_dir, run_id)
    if not results_file.is_file():
        raise ConfigError(f"--export-sparse: no finished run {run_id!r} in {results_dir}/ (train it first)")
    try:
        results = read_results(results_file)
    except CorruptFileError as err:
        raise ConfigError(f"--export-sparse: {err}") from None
    if results["method"] == "dense" or not results.get("sparsity"):
        raise ConfigError(f"--export-sparse: run {run_id!r} is dense (method {results['method']!r}, sparsity "
                          f"{results.get('sparsity')}); only a sparse run (dst-ee, rigl, set, static, admm) has "
                          "sparse weights to export")
    ckpt_file = checkpoint_path(results_dir, run_id)
    try:
        ckpt = load_checkpoint(ckpt_file)
    except Exception as err:
        raise ConfigError(f"--export-sparse: cannot read the checkpoint {ckpt_file} of run {run_id!r} "
                          f"({err}); rerun it with --force") from None
    masks = find_masks(ckpt["method"])
    if masks is None:
        raise ConfigError(f"--export-sparse: the checkpoint {ckpt_file} holds no masks (method {results['method']!r})")
    config = RunConfig.from_dict(results["config"])
    if dataset is None:
        from gnn_sparse.training.runner import load_run_dataset

        dataset = load_run_dataset(config)
    node_features, _ = fixed_node_features(config, dataset)
    model = build_link_predictor(dataset.num_nodes, *(getattr(config.network, k) for k in BUILDER_KEYS),
                                 node_features=node_features)
    model.load_state_dict(ckpt["model"])
    meta = {"task": "link-prediction", "run_id": run_id, "method": results["method"],
            "epoch": len(ckpt["history"]), "best_epoch": results["best_epoch"],
            "builder": {"num_nodes": dataset.num_nodes, **{k: getattr(config.network, k) for k in BUILDER_KEYS}},
            "node_features": node_features}
    try:
        export_sparse(model, masks, path, meta)
    except ExportError as err:
        raise ConfigError(str(err)) from None
    return Path(path)


def load_link_predictor(path: str | os.PathLike, device: str | torch.device = "cpu"):
    """Rebuild the link predictor of an :func:`export_run` file with sparse fc (and, if
    masked, GCN) layers; prepare a graph with ``model.prepare(edge_index)`` as usual.

    Raises:
        ExportError: a bad file, or an export that is not a link predictor's.
    """
    payload = read_export(path)
    meta = payload["meta"]
    if meta.get("task") != "link-prediction" or "builder" not in meta:
        raise ExportError(f"{path}: not a link-predictor export (task {meta.get('task')!r}); "
                          "use gnn_sparse.sparsity.export.load_sparse with your own model")
    builder = dict(meta["builder"])
    model = build_link_predictor(builder.pop("num_nodes"), **builder, node_features=meta.get("node_features"))
    return load_sparse(payload, model).to(device)

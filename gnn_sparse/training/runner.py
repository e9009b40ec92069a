"""Run one configuration end to end: data, model, method, epochs, checkpoints, results.

Per epoch: fresh training negatives (seeded by ``(seed, epoch)``), one pass over the
training pairs, the LR-scheduler step, validation and test evaluation (accuracy, AUC, AP and,
unless ``ranking_negatives`` is 0, MRR and Hits@k against fixed negatives), then an atomic
checkpoint (model, optimizer, scheduler, method state, RNG states, the epoch log). The best
epoch is chosen on validation accuracy (ties: AUC) and its test metrics are reported; under
``protocol="original"`` it is chosen on test accuracy, as the paper's code did
(``config.selection``, recorded as ``selection`` with ``protocol`` in the results).

A run is identified by ``run_id`` (default :meth:`RunConfig.run_id`). A finished run (its
results JSON exists with the same config) is not redone unless ``force``; ``resume``
continues from the checkpoint of an interrupted one, and the result equals an uninterrupted
run's exactly (CPU).
"""
from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any, Callable

import numpy as np
import torch
from tqdm.auto import tqdm

from gnn_sparse.features.embedding import resolve_backend
from gnn_sparse.models import build_link_predictor
from gnn_sparse.models.encoders import FIXED_FEATURE_ENCODERS, graph_to
from gnn_sparse.models.fixed import fixed_node_features
from gnn_sparse.models.control_variates import ControlVariates, ControlVariateSampler
from gnn_sparse.models.sampling import CSRGraph, make_sampler
from gnn_sparse.training.config import RunConfig
from gnn_sparse.training.device import describe_device
from gnn_sparse.training.distributed import data_parallel
from gnn_sparse.training.epochs import EpochLoop
from gnn_sparse.sparsity.flops import PROPAGATION, count_forward_flops, propagation_flops
from gnn_sparse.training.flops import run_flops
from gnn_sparse.training.graph_mode import resolve_training_graph
from gnn_sparse.training.config_checks import ConfigError
from gnn_sparse.training.lifecycle import RunOptions, begin_run, run_lock
from gnn_sparse.training.loop import evaluate, predict, train_epoch
from gnn_sparse.training.methods import build_method
from gnn_sparse.training.ranking import ranking_candidates
from gnn_sparse.training.results import build_results, checkpoint_path, results_path, write_results
from gnn_sparse.training.run_files import metrics_path
from gnn_sparse.utils.memory import PeakMemory

ENCODER_REFRESH = "per-batch"
"""The full-graph encoder is recomputed for every mini-batch (exact end-to-end gradients);
``"sampled"`` when each mini-batch encodes only its sampled computation graph
(:mod:`~gnn_sparse.training.graph_mode`, recorded under ``training_graph`` in the results).
Fixed-feature encoders (``--encoder twalk``) record ``"fixed"``: their node features are
computed once per run (:func:`~gnn_sparse.models.fixed.fixed_node_features`) and never trained."""


def load_run_dataset(config: RunConfig, progress: bool = False):
    """The dataset of ``config`` (split and negatives seeded by ``config.seed``); ``progress``:
    a note per loading stage on stderr."""
    from gnn_sparse.data import load_dataset

    data = config.data
    return load_dataset(data.dataset, columns=data.columns, split=data.split,
                        val_ratio=data.val_ratio, test_ratio=data.test_ratio,
                        neg_ratio=data.neg_ratio, seed=config.seed, directed=data.directed,
                        root=data.data_root, progress=progress)


def run(config: RunConfig, options: RunOptions = RunOptions(), dataset=None,
        on_epoch_end: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Train, evaluate and record one run; return its results dict.

    Args:
        config: what to run (``config.device`` may be ``auto``; the resolved device is recorded).
        options: how to run (:class:`RunOptions`).
        dataset: an already loaded dataset for ``config`` (default: :func:`load_run_dataset`).
        on_epoch_end: called with each epoch's record after its checkpoint is written.

    Raises:
        ConfigError: bad options, an unwritable results folder, a finished or checkpointed run
            with a different config, or an existing checkpoint without ``resume``/``force``.
    """
    started = time.perf_counter()
    dp = data_parallel(config.device, config.optim.batch_size)  # under torchrun: process group, this rank's device
    device = dp.device
    if not dp.is_writer:
        options = replace(options, quiet=True)  # progress and notes from rank 0 only
    config = config.updated(device=str(device))
    ds = dataset
    if config.network.encoder in FIXED_FEATURE_ENCODERS and config.features.skipgram_backend == "auto":
        # the run records the implementation "auto" means for this graph, so that a run made with
        # it explicitly, or before "auto" existed, is the same run
        ds = ds if ds is not None else load_run_dataset(config, progress=not options.quiet)
        config = config.updated(skipgram_backend=resolve_backend("auto", ds.num_nodes))
    method = build_method(config)
    run_id = options.run_name or config.run_id()
    with run_lock(options, run_id, dp):  # a second process of this run waits, then reuses it
        done, ckpt = begin_run(options, run_id, config, dp, "link-prediction")
        if done is not None:
            _check_same_data(done, ds.sha256 if ds is not None else run_data_fingerprint(config), options, run_id)
            return done
        memory = PeakMemory(device)

        ds = ds if ds is not None else load_run_dataset(config, progress=not options.quiet)
        node_features, features_info = fixed_node_features(config, ds, progress=not options.quiet)  # twalk: cached
        setup = build_model_and_graphs(config, ds, device, node_features)
        training_graph, model, graphs, sampler, control = (setup.training_graph, setup.model, setup.graphs,
                                                           setup.sampler, setup.control)
        val_pairs, val_labels = ds.val.edge_label_index.to(device), ds.val.edge_label.to(device)
        test_pairs, test_labels = ds.test.edge_label_index.to(device), ds.test.edge_label.to(device)
        ranking = ranking_candidates(ds, config.data.ranking_negatives, device)
        method.bind_validation(lambda: evaluate(model, graphs["val"], val_pairs, val_labels))
        num_train = ds.train.edge_label.numel()
        steps_per_epoch = math.ceil(num_train / config.optim.batch_size)
        shuffle = torch.Generator().manual_seed(config.seed)

        loop = EpochLoop(method, model, dp, steps_per_epoch, shuffle, checkpoint_path(options.results_dir, run_id),
                         {"run_id": run_id, "config": config.to_dict()}, desc=run_id, quiet=options.quiet,
                         started=started, metrics_file=metrics_path(options.results_dir, run_id),
                         selection=config.selection)

        def train_one(train_model, optimizer, epoch: int) -> dict[str, Any]:
            pairs, labels = ds.resample_train_negatives(np.random.default_rng([config.seed, epoch]))
            pairs, labels = pairs.to(device), labels.to(device)
            sampling = None  # each rank its own stream, fixed by (seed, epoch, rank): resumable at epoch boundaries
            if control is not None:  # exact histories from this epoch's parameters: resumable too
                control.refresh(model.embedding.weight, model.encoder)
            if sampler is not None:
                seed = int(np.random.SeedSequence([config.seed, epoch, dp.rank]).generate_state(1)[0])
                sampling = (sampler, torch.Generator().manual_seed(seed))
            with tqdm(total=steps_per_epoch, desc=f"epoch {epoch + 1}", leave=False, disable=options.quiet,
                      dynamic_ncols=True, file=sys.stderr) as batches:
                loss = train_epoch(train_model, graphs["train"], pairs, labels, optimizer, method,
                                   config.optim.batch_size, shuffle, on_batch=lambda: batches.update(), shard=dp,
                                   sampling=sampling)
            return {"train_loss": loss}

        history = loop.run(
            train_one,
            lambda: {"val": evaluate(model, graphs["val"], val_pairs, val_labels, ranking.get("val")),
                     "test": evaluate(model, graphs["test"], test_pairs, test_labels, ranking.get("test"))},
            ckpt=ckpt,
            on_fresh_start=lambda: model.calibrate(graphs["train"]),  # after the method's initial masks
            on_epoch_end=on_epoch_end)
        elapsed_before = loop.elapsed_before
        resumed_from = None if ckpt is None else len(ckpt["history"])
        report = method.report()
        flops = _flops(model, method, history, graphs, ds.train.edge_label_index.to(device), num_train,
                       config.optim.batch_size, steps_per_epoch, test_pairs, report, sampler)

        results = build_results(
            run_id=run_id, config=config.to_dict(), method_name=config.sparse.method,
            target_sparsity=method.target_sparsity, dataset=_dataset_info(ds, graphs), history=history,
            layer_sparsity=layer_sparsity(model, config.sparse.sparsify), method_report=report,
            wall_time_s=elapsed_before + time.perf_counter() - started, device=describe_device(device),
            selection=config.selection,
            ranking=True,
            extra={"protocol": config.protocol, "encoder_refresh": ("fixed" if node_features is not None else
                                       "sampled" if training_graph.sampled else ENCODER_REFRESH),
                   "training_graph": {**training_graph.describe(),
                                      "sampler": None if sampler is None else sampler.backend},
                   "leaky_embeddings": config.features.leaky_embeddings, "node_features": features_info,
                   "steps_per_epoch": steps_per_epoch,
                   "threads": torch.get_num_threads(), **dp.describe(),
                   "resumed_from_epoch": resumed_from,
                   "train_flops_ratio": flops["train_ratio"], "inference_flops_ratio": flops["inference_ratio"],
                   "flops": flops, "peak_memory": memory.read(),
                   "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds")},
        )
        dp.on_writer(lambda: write_results(options.results_dir, results))
        return results


def _flops(model, method, history, graphs, train_pairs, num_train: int, batch_size: int, steps_per_epoch: int,
           test_pairs, report, sampler=None) -> dict[str, Any]:
    """FLOPs of training (each step runs the encoder on the whole training graph, or with
    ``sampler`` on one batch's sampled computation graph: counted on a batch drawn with a
    fixed seed, an estimate of the mean, and the head on the step's pairs) and of inference
    (scoring the test split: the encoder once, the head per pair), counted from the layers'
    shapes (:mod:`gnn_sparse.training.flops`)."""
    def step_inputs(rows: int):
        pairs = train_pairs[:, :rows]
        return (graphs["train"], pairs) if sampler is None else sampler.sample_pairs(pairs, torch.Generator().manual_seed(0))

    def step_flops(rows: int) -> dict[str, int]:
        inputs = step_inputs(rows)
        counts = count_forward_flops(model, lambda: model(*inputs))
        control = getattr(inputs[0], "control", None)  # its aggregation runs outside the hooked GCNConvs
        return counts if control is None else {**counts, **control.propagation_flops(model.encoder, inputs[0])}

    step = step_flops(batch_size)
    last = num_train - (steps_per_epoch - 1) * batch_size
    tail = step if last == batch_size else step_flops(last)
    epoch = {k: (steps_per_epoch - 1) * f + tail.get(k, 0) for k, f in step.items()}
    inference = count_forward_flops(model, lambda: predict(model, graphs["test"], test_pairs))
    inference.update(_chunked_propagation_flops(model, graphs["test"]))
    probe = (report.get("exploitation_probe") or {}).get("forwards", 0)
    flops = run_flops(method, history, epoch, step, inference, probe)
    flops["inference_unit"] = f"the test split ({test_pairs.size(1)} pairs)"
    return flops


def _chunked_propagation_flops(model, graph) -> dict[str, int]:
    """GCN propagation of the layer-by-layer evaluation on a :class:`CSRGraph`, which the
    forward hooks do not see (it calls each ``GCNConv``'s linear part only): ``2 E C`` per
    layer over the listed edges plus one self-loop per node."""
    encoder = getattr(model, "encoder", None)
    if not isinstance(graph, CSRGraph) or type(encoder).__name__ != "GCNEncoder":
        return {}
    edges = graph.num_edges + graph.num_nodes
    return {f"encoder.convs.{i}{PROPAGATION}": propagation_flops(edges, conv.out_channels)
            for i, conv in enumerate(encoder.convs)}


@dataclass
class ModelAndGraphs:
    """What a link-prediction run trains (:func:`build_model_and_graphs`)."""

    training_graph: Any
    model: torch.nn.Module
    graphs: dict[str, Any]
    sampler: Any
    control: ControlVariates | None


def build_model_and_graphs(config: RunConfig, ds, device: torch.device, node_features=None) -> ModelAndGraphs:
    """The full-graph or sampled choice (:func:`~gnn_sparse.training.graph_mode.resolve_training_graph`),
    the model (seeded by ``config.seed``), each split's prepared graph, the sampler of sampled
    runs and their control variates: the part of :func:`run` that ``benchmarks/bench_scale.py``
    times step by step, built in one place so the two cannot drift apart."""
    training_graph = resolve_training_graph(config.network, ds.num_nodes, ds.train.edge_index.size(1))
    torch.manual_seed(config.seed)
    net = config.network
    model = build_link_predictor(ds.num_nodes, net.encoder, net.embedding_dim, net.hidden_dim,
                                 net.out_dim, net.num_layers, net.fc_hidden, node_features=node_features,
                                 sparse_embedding=training_graph.embedding_optimizer == "lazy").to(device)
    graphs = _prepare_graphs(model, ds, device, csr=training_graph.sampled)
    sampler = make_sampler(graphs["train"], training_graph.num_neighbors) if training_graph.sampled else None
    control = ControlVariates(graphs["train"], model.encoder) if training_graph.control_variates else None
    if control is not None:
        sampler = ControlVariateSampler(sampler, control)
    return ModelAndGraphs(training_graph, model, graphs, sampler, control)


def _prepare_graphs(model, ds, device: torch.device, csr: bool = False) -> dict[str, Any]:
    """Each split's message-passing graph prepared once (val shares train's graph object);
    with ``csr``, as in-neighbour lists (:class:`CSRGraph`: sampling, chunked evaluation)."""
    prepared: dict[int, Any] = {}
    graphs = {}
    for split in ("train", "val", "test"):
        edge_index = getattr(ds, split).edge_index
        if id(edge_index) not in prepared:
            graph = model.prepare(edge_index)
            if csr and graph is not None:
                graph = CSRGraph.from_prepared(graph, ds.num_nodes)
            prepared[id(edge_index)] = graph.to(device) if isinstance(graph, CSRGraph) else graph_to(graph, device)
        graphs[split] = prepared[id(edge_index)]
    return graphs


def layer_sparsity(model, scope: str) -> dict[str, float]:
    """Achieved fraction of exact zeros of each weight in the ``--sparsify`` scope."""
    params = dict(model.named_parameters())
    return {n: float((params[n] == 0).sum()) / params[n].numel() for n in model.sparsifiable(scope)}


def run_data_fingerprint(config: RunConfig) -> str | None:
    """The sha256 of ``config``'s data as :func:`load_run_dataset` would record it, without
    loading it (:func:`~gnn_sparse.data.data_fingerprint`)."""
    from gnn_sparse.data import data_fingerprint

    return data_fingerprint(config.data.dataset, seed=config.seed, root=config.data.data_root)


def _check_same_data(done: dict[str, Any], sha256: str | None, options: RunOptions, run_id: str) -> None:
    """Refuse to reuse a finished run made on other data than ``sha256`` (the loaded dataset's,
    or :func:`run_data_fingerprint`; ``None``: a file still to download, nothing to compare). A
    run's name and config name its dataset, not the data: a generated graph at another size
    (``load_dataset("wiki-talk-twin", scale=...)``) or an edited file has the same name."""
    recorded = (done.get("dataset_info") or {}).get("sha256")
    if sha256 is None or recorded is None or recorded == sha256:
        return
    raise ConfigError(f"{results_path(options.results_dir, run_id)} holds run {run_id!r} made on other data "
                      f"(sha256 {recorded[:16]}... there, {sha256[:16]}... now); pass --force to overwrite "
                      "it or --run-name to keep both")


def _dataset_info(ds, graphs) -> dict[str, Any]:
    return {
        "name": ds.name, "sha256": ds.sha256,
        "source_path": None if ds.source_path is None else str(ds.source_path),
        "num_nodes": ds.num_nodes, "num_events": ds.num_events, "directed": ds.directed,
        "time_column": ds.time_column, "time_constant": ds.time_constant,
        **{f"{s}_pairs": getattr(ds, s).edge_label.numel() for s in ("train", "val", "test")},
        **{f"{s}_message_passing_edges": getattr(ds, s).edge_index.size(1) for s in ("train", "test")},
    }

"""Wiki-talk scale on one machine, stage by stage: wall time, CPU time and peak resident memory.

Every stage runs in a fresh child process (``--child STAGE``), so its peak resident set
size (``ru_maxrss`` of that process: the data it loads included) is its own; wall and CPU
seconds are measured inside the child around the stage's work (CPU seconds, all threads, say
what a stage costs on a quiet machine when the shared machine is loaded). Stages:

* ``load``: parse + split + negatives of the edge-list file, cold (no processed cache),
  then once more from the processed cache (written under ``--data-root``);
* ``twalk-features``: the ``--encoder twalk`` features on the train+val events: walks
  (generated in chunks and written to the corpus file) and skip-gram, timed separately; the
  result is stored in the feature cache for ``twalk-epoch``;
* ``twalk-epoch``: a DST-EE (90%) ``--encoder twalk`` run through the normal runner, stopped
  after ``--train-epochs`` epochs; one epoch's training and evaluation time, and the run
  extrapolated to ``--epochs`` epochs;
* ``gcn-sampled``: ``--steps`` sampled DST-EE GCN steps (``--num-neighbors``, lazy embedding
  SGD, the runner's own components; ``--control-variates``: VR-GCN's variance-reduced
  aggregation, whose per-epoch history refresh is timed too), one chunked evaluation, and the
  extrapolated epoch (steps per epoch x step time + validation and test evaluation + refresh);
* ``gcn-full``: the old full-graph path (every step re-encodes the whole graph, dense SGD):
  ``--full-steps`` steps only, and its extrapolated epoch;
* ``embedding``: one SGD step over the node embedding alone, dense (exact) vs lazy (touched
  rows of a sampled batch), the cost the lazy optimizer removes;
* ``gcn-ddp``: the sampled steps under 2 gloo processes (one thread each) against 1, the
  speed-up of scaling out, and where a step's time goes in each (the loop's ``torch.profiler``
  labels: sampling, forward, backward with DDP's all-reduce, optimizer, mask update);
* ``accuracy``: sampled (``--num-neighbors``, embedding optimizer
  ``--accuracy-embedding-optimizer``, ``--control-variates``) vs full-graph GCN DST-EE on
  ``--accuracy-dataset`` (email-eu), test accuracy over ``--seeds`` at ``--accuracy-epochs``
  epochs (``--accuracy-sides sampled``: the sampled runs only; runs are deterministic, so the
  full-graph side measured before stands).

Without ``--dataset`` the graph is the synthetic one of wiki-talk's size (1,140,149 nodes,
7,833,140 events; ``--scale`` shrinks both), generated with :mod:`gnn_sparse.data.synthetic`
and written once as an edge-list file (``src dst time``, integer times) under ``--workdir``,
so loading is measured as for a user's file. Only one stage process runs at a time (each
loads the graph, ~1.5 GiB at full size).

Adding a stage: write ``stage_NAME(args, data) -> dict`` (figures to print; ``data`` is the
dataset path or name) and add it to :data:`STAGES`.

Usage::

    python benchmarks/bench_scale.py                                  # the default stages, wiki-talk size
    python benchmarks/bench_scale.py --stages load twalk-features --scale 0.1
    python benchmarks/bench_scale.py --stages gcn-sampled gcn-full embedding gcn-ddp accuracy
    python benchmarks/bench_scale.py --dataset email-eu --stages twalk-features
"""
from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

WIKI_TALK = {"num_nodes": 1_140_149, "num_events": 7_833_140}
TODAY_FULL_GRAPH_EPOCH_H = 15.6
"""The full-graph path's reference figure at wiki-talk size, 6.1 s x 9,180 steps per epoch: the
sampled epoch's speed-up is reported against it (docs/benchmarks.md)."""
RESULT = "BENCH_SCALE_RESULT "


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux


class Meter:
    """Wall and CPU seconds of a block (``with Meter() as m: ...; m.wall, m.cpu``)."""

    def __enter__(self):
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self._wall, time.process_time() - self._cpu


def _load(args, data, **kwargs):
    from gnn_sparse.data import load_dataset

    return load_dataset(data, root=args.data_root, progress=not args.quiet, **kwargs)


def stage_load(args, data) -> dict[str, Any]:
    with Meter() as cold:
        ds = _load(args, data, cache=False)
    figures = {"events": ds.num_events, "nodes": ds.num_nodes, "train_pairs": ds.train.edge_label.numel(),
               "cold_s": cold.wall, "cold_cpu_s": cold.cpu}
    del ds
    _load(args, data)  # writes the processed cache if it is missing
    with Meter() as warm:
        _load(args, data)
    return {**figures, "cached_s": warm.wall, "cached_cpu_s": warm.cpu}


def stage_twalk_features(args, data) -> dict[str, Any]:
    import shutil

    from gnn_sparse.features import dataset_twalk_embeddings, feature_cache_dir

    with Meter() as load:
        ds = _load(args, data)
    stats: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(dir=args.workdir) as fresh, Meter() as features:
        dataset_twalk_embeddings(ds, epochs=args.skipgram_epochs, workers=args.skipgram_workers,
                                 backend=args.skipgram_backend, cache_dir=fresh, progress=not args.quiet, stats=stats)
        [entry] = Path(fresh).iterdir()  # always computed here; then kept for twalk-epoch
        folder = feature_cache_dir(ds, args.data_root)
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            shutil.move(str(entry), folder / entry.name)
    return {"load_s": load.wall, "visible_events": ds.events("train", "val").num_events,
            "walks": stats["num_walks"], "tokens": stats["num_tokens"], "walks_s": stats["walks_s"],
            "walks_cpu_s": stats["walks_cpu_s"], "skipgram_s": stats["skipgram_s"],
            "skipgram_vocab_cpu_s": stats["vocab_cpu_s"], "skipgram_train_cpu_s": stats["train_cpu_s"],
            "skipgram_epochs": args.skipgram_epochs,
            "skipgram_workers": args.skipgram_workers, "skipgram_backend": args.skipgram_backend,
            "features_s": features.wall, "features_cpu_s": features.cpu}


class _Stop(Exception):
    pass


def stage_twalk_epoch(args, data) -> dict[str, Any]:
    from gnn_sparse.training import RunConfig, RunOptions, run

    config = RunConfig.from_dict({"dataset": str(data), "data_root": args.data_root, "encoder": "twalk",
                                  "method": "dst-ee", "sparsity": 0.9, "epochs": args.epochs,
                                  "skipgram_epochs": args.skipgram_epochs,
                                  "skipgram_workers": args.skipgram_workers,
                                  "skipgram_backend": args.skipgram_backend, "device": "cpu"})
    records = []

    def stop(record):
        records.append(record)
        if len(records) == args.train_epochs:
            raise _Stop

    with tempfile.TemporaryDirectory(dir=args.workdir) as results, Meter() as whole:
        try:
            run(config, RunOptions(results_dir=results, quiet=args.quiet), on_epoch_end=stop)
        except _Stop:
            pass
    last = records[-1]
    epochs_s = sum(r["time_s"] for r in records)
    setup_s = whole.wall - epochs_s  # load, cached features, model, first masks
    return {"setup_s": setup_s, "epoch_train_s": last["train_time_s"], "epoch_s": last["time_s"],
            "epoch_eval_s": last["time_s"] - last["train_time_s"], "val_accuracy": last["val"]["accuracy"],
            f"extrapolated_{args.epochs}_epochs_s": setup_s + args.epochs * epochs_s / len(records),
            "measured_epochs": len(records), "cpu_s": whole.cpu}


def load_graph(args):
    """The benchmark's dataset (``--dataset``, or the synthetic edge-list file) through the
    processed-split cache under ``--data-root``."""
    from gnn_sparse.data import load_dataset

    return load_dataset(args.dataset, root=args.data_root)


def _config(args, **overrides):
    from gnn_sparse.training import RunConfig

    values = dict(method="dst-ee", sparsity=0.9, device="cpu", num_neighbors=args.num_neighbors,
                  control_variates=args.control_variates)
    values.update(overrides)
    return RunConfig.from_dict(values)


def _timed_steps(ds, config, steps: int, dp=None, phases: bool = False) -> dict[str, Any]:
    """``steps`` training steps of ``config`` on ``ds`` with the runner's components (model,
    graphs, sampler, method, optimizer, loop), after one untimed warm-up step; plus one
    evaluation of the test split. With ``phases``, ``steps`` more under :mod:`torch.profiler`:
    milliseconds per step in each part the loop labels (``train.sample``, ``train.backward``, ...)."""
    from gnn_sparse.training.distributed import SINGLE_PROCESS
    from gnn_sparse.training.loop import evaluate, train_epoch
    from gnn_sparse.training.methods import build_method
    from gnn_sparse.training.runner import build_model_and_graphs

    dp = SINGLE_PROCESS if dp is None else dp
    tick = time.perf_counter()
    setup = build_model_and_graphs(config, ds, torch.device("cpu"))
    tg, model, graphs, sampler, control = setup.training_graph, setup.model, setup.graphs, setup.sampler, setup.control
    method = build_method(config)
    num_train = ds.train.edge_label.numel()
    steps_per_epoch = math.ceil(num_train / config.optim.batch_size)
    optimizer, _ = method.start_phase(method.phases()[0], model, steps_per_epoch)
    model.calibrate(graphs["train"])
    setup_s = time.perf_counter() - tick
    refresh_s = 0.0
    if control is not None:  # once per epoch in the runner
        tick = time.perf_counter()
        control.refresh(model.embedding.weight, model.encoder)
        refresh_s = time.perf_counter() - tick
    train_model = dp.wrap(model)
    pairs, labels = ds.resample_train_negatives(np.random.default_rng([config.seed, 0]))
    shuffle = torch.Generator().manual_seed(config.seed)
    sampling = None if sampler is None else (sampler, torch.Generator().manual_seed(config.seed + dp.rank))
    b = config.optim.batch_size
    train_epoch(train_model, graphs["train"], pairs[:, :b], labels[:b], optimizer, method, b, shuffle,
                shard=dp, sampling=sampling)  # warm-up
    tick, cpu = time.perf_counter(), time.process_time()
    train_epoch(train_model, graphs["train"], pairs[:, :steps * b], labels[:steps * b], optimizer, method, b,
                shuffle, shard=dp, sampling=sampling)
    step_s, cpu_step_s = (time.perf_counter() - tick) / steps, (time.process_time() - cpu) / steps
    phase_ms = top_ops_ms = None
    if phases:
        from torch.profiler import ProfilerActivity, profile

        with profile(activities=[ProfilerActivity.CPU]) as prof:
            train_epoch(train_model, graphs["train"], pairs[:, :steps * b], labels[:steps * b], optimizer, method,
                        b, shuffle, shard=dp, sampling=sampling)
        averages = prof.key_averages()
        phase_ms = {e.key.removeprefix("train."): e.cpu_time_total / 1000 / steps
                    for e in averages if e.key.startswith("train.")}
        top_ops_ms = {e.key: e.self_cpu_time_total / 1000 / steps
                      for e in sorted(averages, key=lambda e: -e.self_cpu_time_total)[:8]}
    eval_s = eval_cpu_s = None
    if dp.rank == 0 and dp.world_size == 1:
        tick, cpu = time.perf_counter(), time.process_time()
        evaluate(model, graphs["test"], ds.test.edge_label_index, ds.test.edge_label)
        eval_s, eval_cpu_s = time.perf_counter() - tick, time.process_time() - cpu
    return {"mode": tg.mode, "num_neighbors": tg.num_neighbors, "embedding_optimizer": tg.embedding_optimizer,
            "control_variates": tg.control_variates, "refresh_s": refresh_s,
            "setup_s": setup_s, "step_s": step_s, "cpu_step_s": cpu_step_s, "steps": steps, "phase_ms": phase_ms,
            "top_ops_ms": top_ops_ms,
            "steps_per_epoch": steps_per_epoch, "eval_split_s": eval_s,
            "epoch_h": None if eval_s is None else (steps_per_epoch * step_s + 2 * eval_s + refresh_s) / 3600,
            "cpu_epoch_h": None if eval_s is None else (steps_per_epoch * cpu_step_s + 2 * eval_cpu_s) / 3600}


def stage_gcn_sampled(args, data) -> dict[str, Any]:
    """Sampled GCN steps (lazy embedding SGD), where their time goes, and the extrapolated epoch."""
    tick = time.perf_counter()
    ds = load_graph(args)
    load_s = time.perf_counter() - tick
    out = _timed_steps(ds, _config(args), args.steps, phases=True)
    return {"load_s": load_s, **out, "speedup_vs_today": TODAY_FULL_GRAPH_EPOCH_H / out["epoch_h"],
            "cpu_speedup_vs_today": TODAY_FULL_GRAPH_EPOCH_H / out["cpu_epoch_h"]}


def stage_gcn_full(args, data) -> dict[str, Any]:
    """The old full-graph path: a few steps only."""
    tick = time.perf_counter()
    ds = load_graph(args)
    load_s = time.perf_counter() - tick
    return {"load_s": load_s, **_timed_steps(ds, _config(args, num_neighbors=[-1], control_variates=False),
                                             args.full_steps)}


def stage_embedding(args, data) -> dict[str, Any]:
    """One optimizer step over a ``nodes x 64`` embedding: dense SGD (momentum, Nesterov, weight
    decay: every row) vs :class:`~gnn_sparse.training.optim.LazySGD` on the rows of a sampled
    batch (as many distinct rows as a sampled step touches: ``--touched``), the latter as the
    torch ops and as the compiled pass (when numba is installed; the same floats)."""
    from gnn_sparse.training import optim

    kw = dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    nodes = max(2, round(WIKI_TALK["num_nodes"] * args.scale))
    rows = torch.randperm(nodes, generator=torch.Generator().manual_seed(0))[:args.touched]
    out = {"rows": nodes, "touched": args.touched, "compiled": optim._fused_kernel() is not None}
    threshold = optim.FUSED_MIN_ELEMENTS
    try:
        for name, sparse, opt_cls, fused_from in (("dense", False, torch.optim.SGD, threshold),
                                                  ("lazy_torch", True, optim.LazySGD, 1 << 62),
                                                  ("lazy", True, optim.LazySGD, threshold)):
            optim.FUSED_MIN_ELEMENTS = fused_from
            emb = torch.nn.Embedding(nodes, 64, sparse=sparse)
            opt = opt_cls(emb.parameters(), **kw)
            times = []
            for _ in range(4):
                opt.zero_grad()
                emb(rows).sum().backward()
                tick = time.perf_counter()
                opt.step()
                times.append(time.perf_counter() - tick)
            out[f"{name}_step_s"] = min(times[1:])  # the first step allocates the momentum buffer
            del emb, opt
    finally:
        optim.FUSED_MIN_ELEMENTS = threshold
    return out


def _ddp_rank(rank: int, port: int, args, queue) -> None:
    from gnn_sparse.training.distributed import data_parallel, shutdown

    os.environ.update(RANK=str(rank), WORLD_SIZE="2", LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))
    torch.set_num_threads(1)
    ds = load_graph(args)
    config = _config(args)
    dp = data_parallel("cpu", config.optim.batch_size)
    out = _timed_steps(ds, config, args.steps, dp=dp, phases=True)
    queue.put({"rank": rank, "step_s": out["step_s"], "phase_ms": out["phase_ms"], "peak_rss_gib": peak_rss_gib()})
    shutdown(synchronize=True)


def stage_gcn_ddp(args, data) -> dict[str, Any]:
    """The same sampled steps on 2 processes (gloo, one thread each) vs 1 process, one thread."""
    import socket

    import torch.multiprocessing as mp

    torch.set_num_threads(1)
    ds = load_graph(args)
    one = _timed_steps(ds, _config(args), args.steps, phases=True)
    del ds
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ctx = mp.get_context("spawn")
    queue = ctx.SimpleQueue()
    mp.spawn(_ddp_rank, args=(port, args, queue), nprocs=2, join=True)
    ranks = sorted((queue.get() for _ in range(2)), key=lambda r: r["rank"])
    two = max(r["step_s"] for r in ranks)
    return {"one_process_step_s": one["step_s"], "two_process_step_s": two, "speedup": one["step_s"] / two,
            "steps": args.steps, "rank_peak_rss_gib": [r["peak_rss_gib"] for r in ranks],
            "one_process_phase_ms": one["phase_ms"], "rank0_phase_ms": ranks[0]["phase_ms"]}


def stage_accuracy(args, data) -> dict[str, Any]:
    """Sampled vs full-graph GCN DST-EE accuracy on a small graph, ``--seeds`` seeds."""
    from gnn_sparse.data import load_dataset
    from gnn_sparse.training import RunOptions, run

    fanouts = args.num_neighbors or [10, 10]
    out = {"dataset": args.accuracy_dataset, "epochs": args.accuracy_epochs, "num_neighbors": fanouts,
           "embedding_optimizer": args.accuracy_embedding_optimizer, "control_variates": args.control_variates}
    sides = {"full": ([-1], "auto", False),
             "sampled": (fanouts, args.accuracy_embedding_optimizer, args.control_variates)}
    with tempfile.TemporaryDirectory() as results:
        for name in args.accuracy_sides:
            fanouts, optimizer, control = sides[name]
            accs, times = [], []
            for seed in args.seeds:
                config = _config(args, dataset=args.accuracy_dataset, num_neighbors=fanouts, seed=seed,
                                 epochs=args.accuracy_epochs, embedding_optimizer=optimizer,
                                 control_variates=control)
                ds = load_dataset(args.accuracy_dataset, seed=seed)
                res = run(config, RunOptions(results_dir=results, run_name=f"{name}-{seed}", quiet=True), dataset=ds)
                accs.append(res["test_accuracy"])
                times.append(res["wall_time_s"])
            out[name] = {"test_accuracy": accs, "mean": float(np.mean(accs)), "std": float(np.std(accs)),
                         "wall_s": float(np.sum(times))}
    if "full" in out and "sampled" in out:
        out["difference"] = out["sampled"]["mean"] - out["full"]["mean"]
    return out


STAGES: dict[str, Callable[[argparse.Namespace, str], dict[str, Any]]] = {
    "load": stage_load,
    "twalk-features": stage_twalk_features,
    "twalk-epoch": stage_twalk_epoch,
    "gcn-sampled": stage_gcn_sampled,
    "gcn-full": stage_gcn_full,
    "embedding": stage_embedding,
    "gcn-ddp": stage_gcn_ddp,
    "accuracy": stage_accuracy,
}
DEFAULT_STAGES = ["load", "twalk-features", "twalk-epoch", "gcn-sampled", "gcn-full", "embedding"]


def synthetic_file(args) -> Path:
    """The synthetic graph as an edge-list file under ``--workdir`` (written once)."""
    nodes, events = (max(2, round(WIKI_TALK[k] * args.scale)) for k in ("num_nodes", "num_events"))
    path = Path(args.workdir) / f"synthetic-{nodes}-{events}.txt"
    if not path.exists():
        import numpy as np
        import pandas as pd

        from gnn_sparse.data import SyntheticConfig, generate_synthetic
        from gnn_sparse.utils.io import atomic_write

        g = generate_synthetic(SyntheticConfig(num_nodes=nodes, num_events=events, seed=0))
        frame = pd.DataFrame({"src": g.src, "dst": g.dst, "time": np.round(g.time * 1e9).astype(np.int64)})
        with atomic_write(path) as f:
            frame.to_csv(f, sep=" ", header=False, index=False)
        print(f"wrote {path} ({events:,} events, {nodes:,} nodes)", file=sys.stderr)
    return path


def run_child(args) -> None:
    import torch

    torch.set_num_threads(args.threads)
    import gnn_sparse.data, gnn_sparse.features, gnn_sparse.training  # noqa: E401,F401  imports out of the timings
    tick = time.perf_counter()
    figures = STAGES[args.child](args, args.dataset)
    print(RESULT + json.dumps({**figures, "wall_s": time.perf_counter() - tick, "peak_rss_gib": peak_rss_gib()}))


def _report(name: str, r: dict[str, Any]) -> str:
    head = f"{name:16s} process wall {r['wall_s']:8.1f} s   peak RSS {r['peak_rss_gib']:5.2f} GiB"
    if name in ("gcn-sampled", "gcn-full"):
        cv = f", control variates (history refresh {r['refresh_s']:.1f} s per epoch)" if r["control_variates"] else ""
        lines = [head, f"  {r['mode']} {r['num_neighbors'] or ''} embedding {r['embedding_optimizer']}{cv}: "
                       f"load {r['load_s']:.1f} s, setup {r['setup_s']:.1f} s, {r['step_s']:.3f} s/step "
                       f"({r['cpu_step_s']:.3f} CPU s) over {r['steps']} steps, evaluation of one split "
                       f"{r['eval_split_s']:.1f} s",
                 f"  epoch = {r['steps_per_epoch']:,} steps + val + test = {r['epoch_h'] * 60:.1f} min wall "
                 f"({r['epoch_h']:.2f} h), {r['cpu_epoch_h'] * 60:.1f} min of CPU time"]
        if r.get("phase_ms"):
            lines.append("  ms per step under torch.profiler (which inflates them): "
                         + ", ".join(f"{k} {v:.1f}" for k, v in r["phase_ms"].items()))
            lines.append("  ms per step by operator (self time, top 8): "
                         + ", ".join(f"{k} {v:.1f}" for k, v in r["top_ops_ms"].items()))
        if "speedup_vs_today" in r:
            lines.append(f"  {r['speedup_vs_today']:.1f}x (wall), {r['cpu_speedup_vs_today']:.1f}x (CPU time) faster "
                         f"than today's {TODAY_FULL_GRAPH_EPOCH_H} h/epoch "
                         f"{'ok' if r['speedup_vs_today'] >= 20 else 'UNDER TARGET (20x) in wall time'}; peak "
                         f"{'ok' if r['peak_rss_gib'] < 6 else 'OVER TARGET (6 GiB)'}")
        return "\n".join(lines)
    if name == "embedding":
        compiled = "compiled pass" if r["compiled"] else "torch ops again: no numba, or it differs from them"
        return (f"{head}\n  {r['rows']:,} x 64 embedding, {r['touched']:,} rows touched: dense SGD step "
                f"{r['dense_step_s'] * 1e3:.1f} ms, lazy as torch ops {r['lazy_torch_step_s'] * 1e3:.1f} ms, "
                f"lazy ({compiled}) {r['lazy_step_s'] * 1e3:.1f} ms ({r['dense_step_s'] / r['lazy_step_s']:.0f}x)")
    if name == "gcn-ddp":
        parts = lambda ms: ", ".join(f"{k} {v:.0f}" for k, v in ms.items())  # noqa: E731
        return (f"{head}\n  sampled step: 1 process {r['one_process_step_s']:.3f} s, 2 processes "
                f"{r['two_process_step_s']:.3f} s: speed-up {r['speedup']:.2f}x "
                f"(rank peaks {', '.join(f'{g:.2f}' for g in r['rank_peak_rss_gib'])} GiB)\n"
                f"  ms per step under torch.profiler: 1 process {parts(r['one_process_phase_ms'])}; "
                f"rank 0 of 2 {parts(r['rank0_phase_ms'])}")
    if name == "accuracy":
        fmt = lambda m: f"{m['mean']:.2f} +- {m['std']:.2f} ({', '.join(f'{a:.2f}' for a in m['test_accuracy'])})"  # noqa: E731
        cv = ", control variates" if r["control_variates"] else ""
        parts = [f"full graph {fmt(r['full'])}"] if "full" in r else []
        if "sampled" in r:
            parts.append(f"sampled {r['num_neighbors']} ({r['embedding_optimizer']} embedding optimizer{cv}) "
                         f"{fmt(r['sampled'])}")
        tail = "" if "difference" not in r else (f": difference {r['difference']:+.2f} points "
                                                 f"{'ok' if abs(r['difference']) <= 1 else 'OVER TARGET (1 point)'}")
        return f"{head}\n  {r['dataset']}, {r['epochs']} epochs, DST-EE 90%: {', '.join(parts)}{tail}"
    shown = "  ".join(f"{k}={v:,.2f}" if isinstance(v, float) else f"{k}={v:,}" if isinstance(v, int)
                      else f"{k}={v}" for k, v in r.items() if k not in ("wall_s", "peak_rss_gib"))
    return f"{head}   {shown}"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--stages", nargs="+", choices=list(STAGES), default=DEFAULT_STAGES,
                        help="stages to run, in order, each in its own process")
    parser.add_argument("--dataset", default=None,
                        help="registry name or edge-list file (default: the synthetic graph)")
    parser.add_argument("--scale", type=float, default=1.0, help="synthetic graph size as a fraction of wiki-talk's")
    parser.add_argument("--workdir", default=str(Path(tempfile.gettempdir()) / "gnn-sparse-bench-scale"),
                        help="where the synthetic file, temporary results and (default) the data root go")
    parser.add_argument("--data-root", default=None,
                        help="data root for processed splits and features (default: WORKDIR/data)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per stage process")
    parser.add_argument("--skipgram-epochs", type=int, default=5, help="skip-gram epochs of the twalk features")
    parser.add_argument("--skipgram-workers", type=int, default=1, help="skip-gram threads (1: reproducible)")
    parser.add_argument("--skipgram-backend", choices=["auto", "gensim", "numba"], default="auto",
                        help="skip-gram implementation of the twalk features (auto: numba at this size)")
    parser.add_argument("--epochs", type=int, default=50, help="epochs of the run that twalk-epoch extrapolates to")
    parser.add_argument("--train-epochs", type=int, default=1, help="epochs twalk-epoch actually trains")
    parser.add_argument("--num-neighbors", type=int, nargs="+", default=[10, 10], help="fan-outs of the sampled stages")
    parser.add_argument("--steps", type=int, default=50, help="timed sampled steps")
    parser.add_argument("--full-steps", type=int, default=3, help="timed full-graph steps")
    parser.add_argument("--touched", type=int, default=108_000, help="embedding stage: rows a sampled step touches")
    parser.add_argument("--accuracy-dataset", default="email-eu", help="small graph of the accuracy stage")
    parser.add_argument("--accuracy-epochs", type=int, default=50, help="epochs per run of the accuracy stage")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds of the accuracy stage")
    parser.add_argument("--accuracy-embedding-optimizer", choices=["auto", "dense", "lazy"], default="auto",
                        help="embedding optimizer of the accuracy stage's sampled runs (auto: lazy)")
    parser.add_argument("--accuracy-sides", nargs="+", choices=["full", "sampled"], default=["full", "sampled"],
                        help="which runs the accuracy stage trains")
    parser.add_argument("--control-variates", action="store_true",
                        help="sampled stages: VR-GCN control variates (gnn_sparse/models/control_variates.py)")
    parser.add_argument("--quiet", action="store_true", help="no progress output from the stages")
    parser.add_argument("--child", choices=list(STAGES), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    Path(args.workdir).mkdir(parents=True, exist_ok=True)
    args.data_root = args.data_root or str(Path(args.workdir) / "data")
    if args.child:
        return run_child(args)

    data = args.dataset or str(synthetic_file(args))
    print(f"data: {data}   threads: {args.threads}   (each stage in its own process; machine load: "
          f"{os.getloadavg()[0]:.1f})", flush=True)
    for name in args.stages:
        argv_child = list(argv if argv is not None else sys.argv[1:])
        cmd = [sys.executable, __file__, *argv_child, "--child", name, "--dataset", data,
               "--data-root", args.data_root]
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
        lines = [line for line in proc.stdout.splitlines() if line.startswith(RESULT)]
        if proc.returncode != 0 or not lines:
            print(f"{name:16s} FAILED (exit code {proc.returncode})", flush=True)
            continue
        print(_report(name, json.loads(lines[-1][len(RESULT):])), flush=True)


if __name__ == "__main__":
    main()

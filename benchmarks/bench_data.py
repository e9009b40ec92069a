"""Benchmark the data pipeline: load + split + negatives vs a bare ``pandas.read_csv``.

Targets: load + split + negative sampling at most 3x a bare ``read_csv`` of the same
file (email-Eu-core-temporal, sx-mathoverflow from $GNN_SPARSE_SHARED_DATA), and a peak memory under
6 GiB for a synthetic graph of wiki-talk size (1,140,149 nodes, 7,833,140 events).

* *bare*: ``pd.read_csv(file, sep=r"\\s+", comment="#", header=None)``;
* *cold*: ``load_dataset(file, cache=False)`` — hash, parse, remap, sort, split,
  message-passing graphs, negatives for all three splits, tensors;
* *warm*: ``load_dataset(file)`` with its processed cache already written.

Times are the best of ``--repeat`` runs. The scale run happens in a fresh child process,
whose peak resident set size (``ru_maxrss``) is reported, so the parent's memory does not
count.

Usage::

    python benchmarks/bench_data.py [--repeat 3] [--no-scale]
"""
from __future__ import annotations

import argparse
import multiprocessing
import resource
import tempfile
import time
from pathlib import Path

import pandas as pd

from gnn_sparse.data import load_dataset
from gnn_sparse.data.registry import load_manifest, shared_data_dir

WIKI_TALK = {"num_nodes": 1_140_149, "num_events": 7_833_140}


def best_of(repeat: int, fn) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_file(name: str, repeat: int) -> None:
    file = (shared_data_dir() or Path("$GNN_SPARSE_SHARED_DATA")) / load_manifest()[name].shared_file
    if not file.is_file():
        print(f"{name:14s} skipped: {file} not found (set GNN_SPARSE_SHARED_DATA)")
        return
    bare = best_of(repeat, lambda: pd.read_csv(file, sep=r"\s+", comment="#", header=None))
    cold = best_of(repeat, lambda: load_dataset(file, cache=False))
    with tempfile.TemporaryDirectory() as root:
        load_dataset(file, root=root)
        warm = best_of(repeat, lambda: load_dataset(file, root=root))
    ds = load_dataset(file, cache=False)
    print(f"{name:14s} {ds.num_events:>10,d} {bare:8.3f} {cold:8.3f} {warm:8.3f} {cold / bare:7.2f}x"
          f"  {'ok' if cold / bare <= 3 else 'OVER TARGET (3x)'}")


def _scale_child(num_nodes: int, num_events: int) -> None:
    start = time.perf_counter()
    ds = load_dataset("synthetic", num_nodes=num_nodes, num_events=num_events)
    built = time.perf_counter() - start
    start = time.perf_counter()
    ds.resample_train_negatives(1)
    resample = time.perf_counter() - start
    print(f"synthetic      {ds.num_events:>10,d} events, {ds.num_nodes:,d} nodes: "
          f"generate+split+negatives {built:.1f} s, one training-negative resample {resample:.2f} s")


def bench_scale(num_nodes: int, num_events: int) -> None:
    context = multiprocessing.get_context("spawn")
    child = context.Process(target=_scale_child, args=(num_nodes, num_events))
    child.start()
    child.join()
    if child.exitcode != 0:
        raise SystemExit(f"scale benchmark failed with exit code {child.exitcode}")
    peak_gib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20  # ru_maxrss is KiB on Linux
    print(f"peak memory    {peak_gib:.2f} GiB  {'ok' if peak_gib < 6 else 'OVER TARGET (6 GiB)'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (best is reported)")
    parser.add_argument("--no-scale", action="store_true", help="skip the wiki-talk-scale synthetic run (~20 s)")
    parser.add_argument("--scale-nodes", type=int, default=WIKI_TALK["num_nodes"], help="nodes of the scale run")
    parser.add_argument("--scale-events", type=int, default=WIKI_TALK["num_events"], help="events of the scale run")
    args = parser.parse_args()

    print(f"{'dataset':14s} {'events':>10s} {'bare[s]':>8s} {'cold[s]':>8s} {'warm[s]':>8s} {'cold/bare':>8s}")
    load_dataset("synthetic", num_nodes=100, num_events=1000)  # import and first-call costs out of the timings
    for name in ("email-eu", "mathoverflow"):
        bench_file(name, args.repeat)
    if not args.no_scale:
        bench_scale(args.scale_nodes, args.scale_events)


if __name__ == "__main__":
    main()

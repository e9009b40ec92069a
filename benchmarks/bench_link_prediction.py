"""Benchmark: epoch time of DST-EE relative to dense, the encoder's share of a step, and the
wall time of a full run.

    python benchmarks/bench_link_prediction.py                      # email-eu, CPU/auto
    python benchmarks/bench_link_prediction.py --dataset synthetic --full-epochs 0

Epoch times are the training part of the first ``--timed-epochs`` epochs of the real
``--epochs``-epoch configuration (so mask updates happen at the rate of a full run: every
T = 500 steps), measured ``--repeats`` times with dense and DST-EE interleaved; the minimum
is reported. Target: ratio <= 1.15.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import torch
import torch.nn.functional as F

from gnn_sparse.models import build_link_predictor
from gnn_sparse.training import RunConfig, RunOptions, run
from gnn_sparse.training.device import resolve_device
from gnn_sparse.training.runner import load_run_dataset


class _Stop(Exception):
    pass


def epoch_times(config: RunConfig, dataset, timed: int) -> list[float]:
    """Training seconds of the first ``timed`` epochs of ``config`` (the run is cut there)."""
    times = []

    def hook(record):
        times.append(record["train_time_s"])
        if len(times) == timed:
            raise _Stop

    with tempfile.TemporaryDirectory() as tmp:
        try:
            run(config, RunOptions(results_dir=tmp, quiet=True), dataset=dataset, on_epoch_end=hook)
        except _Stop:
            pass
    return times


def encoder_share(config: RunConfig, dataset, steps: int = 30) -> tuple[float, float]:
    """Seconds per step with the encoder recomputed per batch vs. the head alone on fixed z."""
    device = resolve_device(config.device)
    torch.manual_seed(0)
    model = build_link_predictor(dataset.num_nodes, config.network.encoder).to(device)
    graph = model.prepare(dataset.train.edge_index.to(device))
    pairs = dataset.train.edge_label_index[:, :config.optim.batch_size].to(device)
    labels = dataset.train.edge_label[:config.optim.batch_size].to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    with torch.no_grad():
        z_fixed = model.encode(graph)

    def timed(fn):
        for _ in range(3):
            fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        for _ in range(steps):
            fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        return (time.perf_counter() - t) / steps

    def full():
        opt.zero_grad()
        F.binary_cross_entropy_with_logits(model(graph, pairs), labels).backward()
        opt.step()

    def head():
        opt.zero_grad()
        F.binary_cross_entropy_with_logits(model.decode(z_fixed, pairs), labels).backward()
        opt.step()

    return timed(full), timed(head)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--dataset", default="email-eu", help="dataset name or path")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--epochs", type=int, default=50, help="epochs of the configuration being timed")
    p.add_argument("--timed-epochs", type=int, default=2, help="epochs timed per repeat")
    p.add_argument("--repeats", type=int, default=2, help="interleaved repeats (minimum reported)")
    p.add_argument("--full-epochs", type=int, default=50, help="epochs of the full DST-EE run (0: skip)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--exploitation-probe", action=argparse.BooleanOptionalAction, default=False,
                   help="time DST-EE with the L_g diagnostic (one extra forward per mask update)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    base = RunConfig.from_dict({"dataset": args.dataset, "device": str(resolve_device(args.device)),
                                "epochs": args.epochs, "exploitation_probe": args.exploitation_probe})
    t = time.perf_counter()
    dataset = load_run_dataset(base)
    print(f"dataset {dataset!r} loaded in {time.perf_counter() - t:.1f}s; device {base.device}, "
          f"threads {torch.get_num_threads()}")

    times = {"dense": [], "dst-ee": []}
    for _ in range(args.repeats):
        for method in times:
            config = base.updated(method=method)
            times[method] += epoch_times(config, dataset, args.timed_epochs)
    best = {m: min(v) for m, v in times.items()}
    for m, v in times.items():
        print(f"{m:7s} epoch train time: min {min(v):.3f}s  median {statistics.median(v):.3f}s  ({len(v)} epochs)")
    print(f"ratio dst-ee / dense (min epoch time): {best['dst-ee'] / best['dense']:.3f}  (target <= 1.15)")

    full, head = encoder_share(base, dataset)
    print(f"step with per-batch encoder {1e3 * full:.2f} ms, head alone on fixed embeddings {1e3 * head:.2f} ms "
          f"(encoder share {100 * (1 - head / full):.0f}%)")

    if args.full_epochs > 0:
        config = base.updated(method="dst-ee", epochs=args.full_epochs)
        with tempfile.TemporaryDirectory() as tmp:
            res = run(config, RunOptions(results_dir=tmp, quiet=True), dataset=dataset)
        print(f"full {args.full_epochs}-epoch dst-ee run: wall time {res['wall_time_s']:.1f}s, "
              f"test accuracy {res['test_accuracy']:.2f}% (best epoch {res['best_epoch']}), "
              f"AUC {res['test_auc']:.4f}, R {res['exploration_rate']:.3f}")


if __name__ == "__main__":
    main()

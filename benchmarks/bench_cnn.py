"""Amortised sparsifier overhead per training step, ResNet-50 (CIFAR form), DST-EE at 90 % ERK.

One training step is forward + backward + ``optimizer.step()`` (SGD, momentum 0.9, weight
decay 5e-4) on a random batch of 32x32 images. The dense and the sparse model are timed in
alternation, step by step, so slow phases of a shared machine hit both alike; every figure is
a median over the timed steps. The sparsifier adds

* ``hook``: the gradient masking run inside ``optimizer.step()`` (its pre-hook), taken as
  median sparse ``optimizer.step()`` - median dense ``optimizer.step()``;
* ``plain``: ``sparsifier.step()`` on a non-update iteration (re-masking the weights);
* ``update``: ``sparsifier.step()`` on an update iteration (drop and grow in 53 layers).

    overhead(T) = (hook + plain + (update - plain) / T) / dense step

is printed for T = 100 (the core's default update interval; target <= 5 %), together with
the raw ratio of median step times (non-update steps). The sparsifier's cost does not depend
on the batch size, so the ratio falls roughly as 1 / batch (the paper trains with 128). Layers follow RigL's convention (first conv dense and
unmasked, classifier masked; ``gnn_sparse.vision.layers``).

    python benchmarks/bench_cnn.py [--device cpu|cuda|all] [--steps 6] [--batch 8] [--threads N]
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from gnn_sparse import DSTEE
from gnn_sparse.vision import erk_sparsities, resnet50


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(fn, device: torch.device) -> float:
    _sync(device)
    start = time.perf_counter()
    fn()
    _sync(device)
    return time.perf_counter() - start


class _Run:
    """A model, its optimizer and (for the sparse run) a DST-EE sparsifier; one step at a time."""

    def __init__(self, device: torch.device, sparse: bool, update_every: int):
        torch.manual_seed(0)
        self.device = device
        self.model = resnet50(10).to(device)
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
        self.sparsifier = None
        if sparse:
            dist = erk_sparsities(self.model, 0.9)
            self.sparsifier = DSTEE(self.model, self.optimizer, distribution=dist, params=list(dist),
                                    update_interval=update_every, end_step=10**9, c=1e-3)
        self.times: dict[str, list[float]] = {"step": [], "opt": [], "plain": [], "update": []}
        # "step" holds non-update steps only: the raw ratio compares like with like

    def step(self, x: torch.Tensor, y: torch.Tensor, record: bool) -> None:
        _sync(self.device)
        start = time.perf_counter()
        self.optimizer.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(self.model(x), y).backward()
        t_opt = _timed(self.optimizer.step, self.device)
        kind, t_sp = None, 0.0
        if self.sparsifier is not None:
            kind = "update" if self.sparsifier.is_update_step(self.sparsifier.t + 1) else "plain"
            t_sp = _timed(self.sparsifier.step, self.device)
        _sync(self.device)
        total = time.perf_counter() - start
        if record:
            if kind:
                self.times[kind].append(t_sp)
            if kind != "update":
                self.times["step"].append(total)
                self.times["opt"].append(t_opt)


def bench(device: torch.device, steps: int, batch: int, warmup: int, update_every: int, interval: int) -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch, 3, 32, 32, generator=g).to(device)
    y = torch.randint(0, 10, (batch,), generator=g).to(device)
    dense, sparse = _Run(device, False, update_every), _Run(device, True, update_every)
    for i in range(warmup + steps):
        dense.step(x, y, record=i >= warmup)
        sparse.step(x, y, record=i >= warmup)
    med = lambda v: statistics.median(v) if v else float("nan")  # noqa: E731
    d_step, s_step = med(dense.times["step"]), med(sparse.times["step"])
    hook = max(med(sparse.times["opt"]) - med(dense.times["opt"]), 0.0)
    plain, update = med(sparse.times["plain"]), med(sparse.times["update"])
    overhead = (hook + plain + (update - plain) / interval) / d_step
    print(f"[{device}] ResNet-50 (CIFAR), batch {batch}, {steps} timed steps after {warmup} warm-up "
          f"({len(sparse.times['update'])} of them updates)")
    print(f"  dense step        {1e3 * d_step:10.1f} ms   (optimizer.step {1e3 * med(dense.times['opt']):.1f} ms)")
    print(f"  sparse step       {1e3 * s_step:10.1f} ms   raw ratio {s_step / d_step - 1:+.2%} "
          "(non-update steps; noisy on a shared machine)")
    print(f"  hook in opt.step  {1e3 * hook:10.2f} ms")
    print(f"  sparsifier.step   {1e3 * plain:10.2f} ms plain, {1e3 * update:.1f} ms on an update")
    print(f"  amortised overhead at T={interval}: {overhead:.2%}  (target <= 5%: "
          f"{'met' if overhead <= 0.05 else 'NOT met'})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="all", help="cpu, cuda, or all (cpu, and cuda when available)")
    parser.add_argument("--steps", type=int, default=6, help="timed steps per model")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps per model first")
    parser.add_argument("--batch", type=int, default=8, help="images per batch (the paper trains with 128)")
    parser.add_argument("--update-every", type=int, default=3, help="update interval used while timing, so "
                        "that update steps are measured at all")
    parser.add_argument("--interval", type=int, default=100, help="update interval T the overhead is amortised over")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = ["cpu", "cuda"] if args.device == "all" else [args.device]
    devices = [d for d in devices if d != "cuda" or torch.cuda.is_available()]
    print(f"torch {torch.__version__}, CPU threads {torch.get_num_threads()}, CUDA available: "
          f"{torch.cuda.is_available()}")
    for name in devices:
        bench(torch.device(name), args.steps, args.batch, args.warmup, args.update_every, args.interval)


if __name__ == "__main__":
    main()

"""Cost of the sparsifier relative to training, for an MLP and a small CNN.

Prints, per model and device:
  * ``sparsifier.step()`` on non-update and on update iterations, relative to ``optimizer.step()``;
  * the amortised overhead at T = 100: (time of a training step with the sparsifier, update
    every 100 iterations) / (time of the same dense training step) - 1. Target: <= 5 %.

    python benchmarks/bench_sparsifier.py [--device cpu|cuda] [--steps 300]
"""
from __future__ import annotations

import argparse
import time

import torch
from torch import nn

from gnn_sparse import DSTEE


def models():
    yield "mlp 1024-2048-2048-10", lambda: nn.Sequential(
        nn.Linear(1024, 2048), nn.ReLU(), nn.Linear(2048, 2048), nn.ReLU(), nn.Linear(2048, 10)
    ), (256, 1024)
    yield "cnn 3x(conv64-128-256)+fc", lambda: nn.Sequential(
        nn.Conv2d(3, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(128, 256, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(256, 10),
    ), (64, 3, 32, 32)


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(fn, device):
    sync(device)
    start = time.perf_counter()
    fn()
    sync(device)
    return time.perf_counter() - start


def run(build, shape, device, steps, sparse, interval=100):
    torch.manual_seed(0)
    model = build().to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    sparsifier = DSTEE(model, opt, sparsity=0.9, update_interval=interval, end_step=10**9) if sparse else None
    x = torch.randn(shape, device=device)
    y = torch.randint(0, 10, (shape[0],), device=device)
    t_opt, t_sp_plain, t_sp_update, t_total = [], [], [], []
    for i in range(steps + 10):
        sync(device)
        start = time.perf_counter()
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        t_o = timed(opt.step, device)
        t_s = timed(sparsifier.step, device) if sparse else 0.0
        sync(device)
        total = time.perf_counter() - start
        if i < 10:
            continue  # warm-up
        t_opt.append(t_o)
        t_total.append(total)
        if sparse:
            (t_sp_update if sparsifier.t % interval == 0 else t_sp_plain).append(t_s)
    mean = lambda v: sum(v) / max(len(v), 1)
    return mean(t_total), mean(t_opt), mean(t_sp_plain), mean(t_sp_update)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--steps", type=int, default=300, help="timed steps per configuration (>= 100)")
    args = parser.parse_args()
    device = torch.device(args.device)
    print(f"device={device} torch={torch.__version__} threads={torch.get_num_threads()}")
    for name, build, shape in models():
        dense_step, dense_opt, _, _ = run(build, shape, device, args.steps, sparse=False)
        sparse_step, sparse_opt, plain, _ = run(build, shape, device, args.steps, sparse=True)
        # The update cost from many updates (every step an update), not the one or two of a T=100 run.
        _, update_opt, _, update = run(build, shape, device, 20, sparse=True, interval=1)
        print(f"\n{name}")
        print(f"  dense train step              {dense_step * 1e3:8.2f} ms")
        print(f"  sparse train step (T=100)     {sparse_step * 1e3:8.2f} ms")
        print(f"  sparsifier.step / optimizer.step, non-update: {plain / sparse_opt:6.3f}")
        print(f"  sparsifier.step / optimizer.step, update:     {update / update_opt:6.3f}")
        amortised = (plain * (99 / 100) + update / 100) / dense_step
        print(f"  amortised sparsifier cost / dense train step: {amortised:6.3%}")
        print(f"  whole-step overhead vs dense (incl. gradient masking): {sparse_step / dense_step - 1:+6.2%}")


if __name__ == "__main__":
    main()

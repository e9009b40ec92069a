"""Inference of exported sparse fc layers (``torch.sparse_csr`` weights, ``torch.sparse.addmm``)
against the same layers dense (masked ``nn.Linear``): time and weight memory.

Layers: the paper's link-prediction head (``fc1 = Linear(16, 128)``, ReLU, ``fc2 =
Linear(128, 1)``, what ``--export-sparse`` ships) and, for contrast, one wide
``Linear(W, W)`` (``--width``, default 1024). Per sparsity (80 / 90 / 98%) and batch size
(1 .. 65,536) it prints the median forward time of each form and their ratio
(sparse / dense: below 1 means the sparse kernel wins), and the weight storage of each form
(CSR: values + int64 column indices + row pointers). On CUDA it also prints the peak memory
allocated during the forward. Timings on a shared machine are noisy; read the ratios.

    python benchmarks/bench_export.py [--device cpu|cuda] [--threads 1] [--width 2048]
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from gnn_sparse.sparsity.export import export_sparse, load_sparse

SPARSITIES = (0.8, 0.9, 0.98)
BATCHES = (1, 16, 256, 4096, 65536)


def head(width: int | None) -> nn.Module:
    if width is None:
        return nn.Sequential(nn.Linear(16, 128), nn.ReLU(), nn.Linear(128, 1))
    return nn.Sequential(nn.Linear(width, width))


def masked(model: nn.Module, sparsity: float, seed: int = 0) -> dict[str, torch.Tensor]:
    """Random masks with exactly round((1 - s) n) active weights per layer, applied in place."""
    g = torch.Generator().manual_seed(seed)
    masks = {}
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("weight"):
                mask = torch.zeros(p.numel(), dtype=torch.bool)
                mask[torch.randperm(p.numel(), generator=g)[:round((1 - sparsity) * p.numel())]] = True
                masks[name] = mask.view_as(p)
                p.mul_(masks[name])
    return masks


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


@torch.no_grad()
def median_time(model: nn.Module, x: torch.Tensor, min_time: float = 0.2, max_runs: int = 50) -> float:
    model(x)  # warm-up
    sync(x.device)
    times: list[float] = []
    while len(times) < 3 or (sum(times) < min_time and len(times) < max_runs):
        start = time.perf_counter()
        model(x)
        sync(x.device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@torch.no_grad()
def peak_bytes(model: nn.Module, x: torch.Tensor) -> int | None:
    if x.device.type != "cuda":
        return None
    torch.cuda.reset_peak_memory_stats(x.device)
    base = torch.cuda.memory_allocated(x.device)
    model(x)
    sync(x.device)
    return torch.cuda.max_memory_allocated(x.device) - base


def weight_bytes(model: nn.Module) -> int:
    total = 0
    for t in list(model.parameters()) + list(model.buffers()):
        if t.layout == torch.sparse_csr:
            total += sum(p.numel() * p.element_size() for p in (t.values(), t.col_indices(), t.crow_indices()))
        else:
            total += t.numel() * t.element_size()
    return total


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--threads", type=int, default=1, help="CPU threads for torch")
    p.add_argument("--width", type=int, default=1024, help="size of the wide contrast layer (0: skip it)")
    p.add_argument("--batches", type=int, nargs="+", default=list(BATCHES))
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    print(f"device {device}, torch {torch.__version__}, {torch.get_num_threads()} thread(s)")
    layers = [("head 16-128-1", None)] + ([(f"linear {args.width}x{args.width}", args.width)] if args.width else [])
    header = f"{'layers':<18} {'sparsity':>8} {'batch':>6} {'dense ms':>10} {'sparse ms':>10} {'ratio':>7} " \
             f"{'dense KiB':>10} {'sparse KiB':>10} {'mem ratio':>9}"
    cuda = device.type == "cuda"
    print(header + (f" {'peak dense MiB':>14} {'peak sparse MiB':>15}" if cuda else ""))
    for label, width in layers:
        for sparsity in SPARSITIES:
            torch.manual_seed(0)
            dense = head(width)
            masks = masked(dense, sparsity)
            sparse = load_sparse(export_sparse(dense, masks), head(width)).to(device)
            dense = dense.to(device).eval()
            wd, ws = weight_bytes(dense), weight_bytes(sparse)
            for batch in args.batches:
                x = torch.randn(batch, 16 if width is None else width, device=device)
                td, ts = median_time(dense, x), median_time(sparse, x)
                line = (f"{label:<18} {sparsity:>8.0%} {batch:>6} {td * 1e3:>10.4f} {ts * 1e3:>10.4f} "
                        f"{ts / td:>7.2f} {wd / 1024:>10.1f} {ws / 1024:>10.1f} {ws / wd:>9.2f}")
                if cuda:
                    line += f" {peak_bytes(dense, x) / 2**20:>14.2f} {peak_bytes(sparse, x) / 2**20:>15.2f}"
                print(line, flush=True)
                del x


if __name__ == "__main__":
    main()

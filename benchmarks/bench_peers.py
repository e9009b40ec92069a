"""Our RigL and DST-EE side by side with other dynamic-sparse-training libraries.

Peers are optional installs; the script runs those it can import and names the others:

  * rigl-torch (``pip install gnn-sparse[peers]`` or ``pip install rigl-torch``): ``RigLScheduler``;
  * sparsimony (``pip install --no-deps sparsimony``: 0.1.0 pins numpy 1.* but runs on numpy 2): ``RigL``.

Every method trains the same MLP from the same initial weights, with the same batches, SGD
(momentum, weight decay, cosine learning rate), sparsity, mask-update interval T, drop
fraction (cosine decay) and end step. The first layer stays dense for every method, because
rigl-torch's 'uniform' distribution always keeps it dense: ours gets an explicit
``{name: sparsity}`` distribution with 0 for it, sparsimony is given only the other layers.
Each library runs in its own documented loop: rigl-torch skips ``optimizer.step()`` on its
update iterations (``if scheduler(): optimizer.step()``), ours and sparsimony take it
(``optimizer.step(); sparsifier.step()``).

Prints, per method:
  * the amortised sparsifier overhead at each interval T: (CPU time of T training steps with
    the sparsifier, one mask update among them) / (CPU time of T plain steps of the same
    model) - 1, the median over repeats of blocks interleaved in one process (wall-time
    ratios too), on an MLP fed synthetic MNIST-size batches;
  * test accuracy on scikit-learn's digits (bundled, offline), mean and sd over seeds, and
    the difference to our RigL paired by seed, with a 95% t interval.

    python benchmarks/bench_peers.py [--seeds 0 1 2 3 4] [--intervals 10 100 1000] [--json PATH]
"""
from __future__ import annotations

import argparse
import importlib.metadata
import json
import math
import statistics
import sys
import time
import types
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from gnn_sparse import DSTEE, RigL

Step = Callable[[], None]
"""What replaces ``optimizer.step()`` after ``loss.backward()`` in a method's loop."""


@dataclass(frozen=True)
class Setup:
    """What every method shares: the sparsity of the sparse layers and the mask-update schedule."""

    weights: tuple[str, ...]  # the Linear weights, first layer first
    sparsity: float
    interval: int
    end_step: int
    drop_fraction: float
    seed: int

    def sparse_weights(self) -> list[str]:
        return list(self.weights[1:])


def mlp(sizes) -> nn.Sequential:
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers += [nn.Linear(a, b)] + ([nn.ReLU()] if i < len(sizes) - 2 else [])
    return nn.Sequential(*layers)


def linear_weights(model: nn.Module) -> tuple[str, ...]:
    return tuple(f"{name}.weight" for name, m in model.named_modules() if isinstance(m, nn.Linear))


# ---------------------------------------------------------------------------------- methods
def dense(model, optimizer, setup: Setup) -> Step:
    return optimizer.step


def ours(cls):
    def attach(model, optimizer, setup: Setup) -> Step:
        distribution = {n: 0.0 for n in setup.weights[:1]} | {n: setup.sparsity for n in setup.sparse_weights()}
        sparsifier = cls(model, optimizer, distribution=distribution, update_interval=setup.interval,
                         end_step=setup.end_step, drop_fraction=setup.drop_fraction, seed=setup.seed)

        def step():
            optimizer.step()
            sparsifier.step()
        return step
    return attach


def import_rigl_torch():
    """rigl-torch 0.5.2 imports torchvision only to recognise torchvision's ResNet blocks, which
    it then walks like any other module (and declares no dependency on it). Without
    torchvision it is imported with a stand-in module holding those two classes, removed again
    at once, so that nothing else in the process sees a torchvision."""
    try:
        from rigl_torch.RigL import RigLScheduler
        return RigLScheduler, ""
    except ModuleNotFoundError as err:
        if err.name != "torchvision":
            raise
    blocks = {name: type(name, (), {}) for name in ("Bottleneck", "BasicBlock")}
    stand_in = types.ModuleType("torchvision")
    stand_in.models = types.SimpleNamespace(resnet=types.SimpleNamespace(**blocks))
    sys.modules["torchvision"] = stand_in
    try:
        from rigl_torch.RigL import RigLScheduler
    finally:
        del sys.modules["torchvision"]
    return RigLScheduler, "torchvision absent: imported with a stand-in for its ResNet-block check"


def rigl_torch(model, optimizer, setup: Setup) -> Step:
    scheduler_cls, _ = import_rigl_torch()
    # 'uniform' keeps the first layer dense; ignore_linear_layers=False, or an MLP stays dense.
    scheduler = scheduler_cls(model, optimizer, dense_allocation=1 - setup.sparsity, T_end=setup.end_step,
                              delta=setup.interval, alpha=setup.drop_fraction, sparsity_distribution="uniform",
                              ignore_linear_layers=False)

    def step():
        if scheduler():
            optimizer.step()
    return step


def import_sparsimony():
    from sparsimony.dst.rigl import RigL as SparsimonyRigL
    return SparsimonyRigL, ""


def sparsimony(model, optimizer, setup: Setup) -> Step:
    from sparsimony.distributions.base import UniformDistribution
    from sparsimony.schedulers.base import CosineDecayScheduler

    SparsimonyRigL, _ = import_sparsimony()

    # init_method=None keeps the initial weights of the other methods (its default re-draws them).
    sparsifier = SparsimonyRigL(CosineDecayScheduler(setup.drop_fraction, setup.end_step, setup.interval),
                                UniformDistribution(), optimizer, sparsity=setup.sparsity, init_method=None)
    sparsifier.prepare(model, [{"tensor_fqn": n} for n in setup.sparse_weights()])

    def step():
        optimizer.step()
        sparsifier.step()
    return step


OURS = {"gnn-sparse RigL": ours(RigL), "gnn-sparse DST-EE": ours(DSTEE)}
PEERS = {  # distribution name -> (import check, {row label: attach})
    "rigl-torch": (import_rigl_torch, {"rigl-torch RigL": rigl_torch}),
    "sparsimony": (import_sparsimony, {"sparsimony RigL": sparsimony}),
}
REFERENCE = "gnn-sparse RigL"


def find_peers(names):
    """``({name: note}, {name: why not})`` for the peers asked for."""
    found, missing = {}, {}
    for name in names:
        check, _ = PEERS[name]
        try:
            note = check()[1]
        except Exception as err:  # any failure to import means: not available here
            missing[name] = f"{type(err).__name__}: {err}"
            continue
        try:
            version = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            version = "version unknown"
        found[name] = version + (f" ({note})" if note else "")
    return found, missing


# ---------------------------------------------------------------------------------- training
class Runner:
    """One model, its optimizer and one method's step, training on a pool of batches."""

    def __init__(self, attach, sizes, setup: Setup, batches, lr, total_steps=None):
        torch.manual_seed(setup.seed)
        self.model = mlp(sizes)
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4)
        self.update = attach(self.model, self.optimizer, setup)
        self.batches, self.lr, self.total = batches, lr, total_steps
        self.t = 0

    def step(self):
        x, y = self.batches[self.t % len(self.batches)]
        if self.total:
            for group in self.optimizer.param_groups:
                group["lr"] = self.lr * 0.5 * (1 + math.cos(math.pi * self.t / self.total))
        self.optimizer.zero_grad()
        nn.functional.cross_entropy(self.model(x), y).backward()
        self.update()
        self.t += 1


def timed_block(runner: Runner, steps: int) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(steps):
        runner.step()
    return time.process_time() - cpu, time.perf_counter() - wall


def overhead(methods, sizes, batch, interval, repeats, sparsity, drop_fraction):
    """``{method: {"cpu": ratio - 1, "wall": ratio - 1}}`` at one interval: blocks of
    ``interval`` steps (one mask update each), methods interleaved in a rotating order."""
    gen = torch.Generator().manual_seed(0)
    pool = [(torch.randn(batch, sizes[0], generator=gen), torch.randint(0, sizes[-1], (batch,), generator=gen))
            for _ in range(8)]
    setup = Setup(linear_weights(mlp(sizes)), sparsity, interval, 10**9, drop_fraction, 0)
    runners = {name: Runner(attach, sizes, setup, pool, lr=0.01) for name, attach in {"dense": dense, **methods}.items()}
    for runner in runners.values():
        timed_block(runner, interval)  # warm-up, one update included
    names = list(runners)
    ratios = {name: {"cpu": [], "wall": []} for name in methods}
    for rep in range(repeats):
        order = names[rep % len(names):] + names[:rep % len(names)]
        times = {name: timed_block(runners[name], interval) for name in order}
        for name in methods:
            for i, kind in enumerate(("cpu", "wall")):
                ratios[name][kind].append(times[name][i] / times["dense"][i])
    return {name: {kind: statistics.median(v) - 1 for kind, v in r.items()} for name, r in ratios.items()}


def digits(split_seed=0):
    """scikit-learn's digits as standardised 64-pixel vectors, a stratified 80/20 split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    x = torch.tensor(data.data, dtype=torch.float32)
    y = torch.tensor(data.target)
    train, test = train_test_split(torch.arange(len(y)).numpy(), test_size=0.2, stratify=data.target,
                                   random_state=split_seed)
    mean, std = x[train].mean(0), x[train].std(0).clamp_min(1e-6)
    x = (x - mean) / std
    return (x[train], y[train]), (x[test], y[test])


def accuracy_run(attach, hidden, train, test, setup_args, epochs, batch, lr, seed):
    """Test accuracy (%) and the share of zeros in the sparse layers after training."""
    (x, y), (xt, yt) = train, test
    order = torch.Generator().manual_seed(seed)
    batches = []
    for _ in range(epochs):
        perm = torch.randperm(len(y), generator=order)
        batches += [(x[perm[i:i + batch]], y[perm[i:i + batch]]) for i in range(0, len(y) - batch + 1, batch)]
    sizes = [x.shape[1], *hidden, int(y.max()) + 1]
    total = len(batches)
    setup = Setup(linear_weights(mlp(sizes)), end_step=int(0.75 * total), seed=seed, **setup_args)
    runner = Runner(attach, sizes, setup, batches, lr, total_steps=total)
    for _ in range(total):
        runner.step()
    modules = dict(runner.model.named_modules())
    with torch.no_grad():
        acc = (runner.model(xt).argmax(1) == yt).float().mean().item() * 100
        weights = [getattr(modules[n.rsplit(".", 1)[0]], "weight") for n in setup.sparse_weights()]
        zeros = sum(int((w == 0).sum()) for w in weights) / sum(w.numel() for w in weights)
    return acc, zeros


def paired(diffs):
    """``(mean, low, high)`` of the 95% t interval of the paired differences (nan below 2)."""
    from scipy import stats

    n, mean = len(diffs), statistics.fmean(diffs)
    if n < 2:
        return mean, math.nan, math.nan
    half = stats.t.ppf(0.975, n - 1) * statistics.stdev(diffs) / math.sqrt(n)
    return mean, mean - half, mean + half


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--peers", nargs="*", default=list(PEERS), choices=list(PEERS),
                        help="peer libraries to try (default: all; none with an empty list)")
    parser.add_argument("--sparsity", type=float, default=0.9, help="sparsity of every layer but the first")
    parser.add_argument("--drop-fraction", type=float, default=0.3, help="initial drop fraction (rigl-torch's alpha)")
    parser.add_argument("--threads", type=int, default=1)
    timing = parser.add_argument_group("overhead")
    timing.add_argument("--intervals", type=int, nargs="+", default=[100], help="mask-update intervals T")
    timing.add_argument("--timing-sizes", type=int, nargs="+", default=[784, 300, 100, 10], help="MLP layer widths")
    timing.add_argument("--timing-batch", type=int, default=128)
    timing.add_argument("--repeats", type=int, default=7, help="interleaved blocks of T steps per method")
    acc = parser.add_argument_group("accuracy (digits)")
    acc.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    acc.add_argument("--hidden", type=int, nargs="+", default=[256, 256], help="hidden widths of the digits MLP")
    acc.add_argument("--epochs", type=int, default=40)
    acc.add_argument("--batch-size", type=int, default=32)
    acc.add_argument("--lr", type=float, default=0.05, help="initial learning rate (cosine to 0)")
    acc.add_argument("--update-interval", type=int, default=100, help="T of the accuracy runs")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    found, missing = find_peers(args.peers)
    methods = dict(OURS)
    for name in found:
        methods.update(PEERS[name][1])
    print(f"torch={torch.__version__} threads={torch.get_num_threads()} sparsity={args.sparsity} "
          f"(first layer dense) drop_fraction={args.drop_fraction} (cosine)")
    print("peers found: " + (", ".join(f"{n} {v}" for n, v in found.items()) or "none"))
    print("peers not found: " + (", ".join(f"{n} ({why})" for n, why in missing.items()) or "none"))

    over = {}
    for interval in args.intervals:
        over[interval] = overhead(methods, args.timing_sizes, args.timing_batch, interval, args.repeats,
                                  args.sparsity, args.drop_fraction)

    train, test = digits()
    setup_args = {"sparsity": args.sparsity, "interval": args.update_interval, "drop_fraction": args.drop_fraction}
    runs = {name: {} for name in {"dense": dense, **methods}}
    for seed in args.seeds:
        for name, attach in {"dense": dense, **methods}.items():
            runs[name][seed] = accuracy_run(attach, args.hidden, train, test, setup_args, args.epochs,
                                            args.batch_size, args.lr, seed)

    results = {}
    for name, per_seed in runs.items():
        accs = [per_seed[s][0] for s in args.seeds]
        diff = paired([per_seed[s][0] - runs[REFERENCE][s][0] for s in args.seeds])
        results[name] = {
            "overhead": {str(t): over[t].get(name, {"cpu": 0.0, "wall": 0.0}) for t in args.intervals},
            "accuracy": {str(s): per_seed[s][0] for s in args.seeds},
            "accuracy_mean": statistics.fmean(accs),
            "accuracy_sd": statistics.stdev(accs) if len(accs) > 1 else math.nan,
            "vs_reference": dict(zip(("mean", "low", "high"), diff)),
            "zeros_in_sparse_layers": statistics.fmean(per_seed[s][1] for s in args.seeds),
        }

    sizes = "-".join(map(str, args.timing_sizes))
    digits_sizes = "-".join(map(str, [64, *args.hidden, 10]))
    print(f"\noverhead: MLP {sizes}, batch {args.timing_batch}, CPU-time ratio to plain steps "
          f"(wall in brackets), median of {args.repeats} interleaved blocks of T steps")
    print(f"accuracy: digits, MLP {digits_sizes}, {args.epochs} epochs, batch {args.batch_size}, "
          f"T={args.update_interval}, seeds {' '.join(map(str, args.seeds))}\n")
    head = ["method", *(f"overhead T={t}" for t in args.intervals), "test accuracy %", f"- {REFERENCE} (95% CI)",
            "zeros in sparse layers"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for name, r in results.items():
        cells = [name]
        for t in args.intervals:
            o = r["overhead"][str(t)]
            cells.append("reference" if name == "dense" else f"{o['cpu']:+.1%} ({o['wall']:+.1%})")
        sd, d = r["accuracy_sd"], r["vs_reference"]
        cells.append(f"{r['accuracy_mean']:.2f}" + ("" if math.isnan(sd) else f" ± {sd:.2f}"))
        interval = "" if math.isnan(d["low"]) else f" [{d['low']:+.2f}, {d['high']:+.2f}]"  # one seed: none
        cells.append("" if name == REFERENCE else f"{d['mean']:+.2f}{interval}")
        cells.append("" if name == "dense" else f"{r['zeros_in_sparse_layers']:.1%}")
        print("| " + " | ".join(cells) + " |")

    if args.json:
        config = {k: v for k, v in vars(args).items() if k != "json"}
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"config": config, "torch": torch.__version__, "peers_found": found, "peers_not_found": missing,
                       "methods": results}, f, indent=2)
    return results


if __name__ == "__main__":
    main()

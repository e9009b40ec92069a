"""gensim vs numba skip-gram: does the faster backend give the same link-prediction accuracy?

For each dataset and seed, two ``--encoder twalk`` runs that differ only in
``skipgram_backend`` (same split, negatives, walks, classifier initialisation and batch order:
everything the seed decides), through the toolkit's own runner. Prints per dataset the test
accuracy of each backend, the paired difference numba - gensim with its 95% t interval over
the seeds (:func:`~gnn_sparse.reports.paired.t_interval`), and the skip-gram wall time of each.
Features are computed afresh (a new data root per invocation, raw files from the shared folder).

Usage::

    python benchmarks/bench_skipgram_backends.py [--datasets email-eu college-msg bitcoin-otc mathoverflow]
        [--seeds 0 1 2 3 4] [--method dst-ee] [--sparsity 0.9] [--epochs 50] [--workdir DIR]
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from gnn_sparse.data import load_dataset
from gnn_sparse.reports.paired import t_interval
from gnn_sparse.training import RunConfig, RunOptions, run

BACKENDS = ("gensim", "numba")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=["email-eu", "college-msg", "bitcoin-otc", "mathoverflow"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--method", default="dst-ee")
    parser.add_argument("--sparsity", type=float, default=0.9)
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--workdir", default=None, help="data root and results (default: a temporary folder)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.workdir or tmp)
        print(f"{args.method} {args.sparsity:g}, --encoder twalk, {args.epochs} epochs, seeds {args.seeds}, "
              "1 skip-gram worker, 1 torch thread", flush=True)
        summary = {}
        for name in args.datasets:
            acc = {b: [] for b in BACKENDS}
            sg_s = {b: [] for b in BACKENDS}
            for seed in args.seeds:
                ds = load_dataset(name, seed=seed, root=work / "data")
                for backend in BACKENDS:
                    config = RunConfig.from_dict(dict(dataset=name, encoder="twalk", method=args.method,
                                                      sparsity=args.sparsity, epochs=args.epochs, seed=seed,
                                                      device="cpu", data_root=str(work / "data"),
                                                      skipgram_backend=backend))
                    tick = time.perf_counter()
                    res = run(config, RunOptions(results_dir=str(work / "results"), run_name=f"{name}-{backend}-{seed}",
                                                 quiet=True, force=True), dataset=ds)
                    acc[backend].append(res["test_accuracy"])
                    sg_s[backend].append(res["node_features"]["skipgram_s"])
                    print(f"  {name} seed {seed} {backend:6s}: test {res['test_accuracy']:.2f}%, skip-gram "
                          f"{res['node_features']['skipgram_s']:.2f} s, run {time.perf_counter() - tick:.1f} s", flush=True)
            mean, _, low, high = t_interval(np.subtract(acc["numba"], acc["gensim"]).tolist())
            summary[name] = {"accuracy": acc, "skipgram_s": sg_s, "difference": [mean, low, high]}
            print(f"{name}: gensim {np.mean(acc['gensim']):.2f}, numba {np.mean(acc['numba']):.2f}; numba - gensim "
                  f"{mean:+.2f} [{low:+.2f}, {high:+.2f}] (95% t, {len(args.seeds)} seeds); skip-gram "
                  f"{np.mean(sg_s['gensim']):.2f} s vs {np.mean(sg_s['numba']):.2f} s", flush=True)
        print(json.dumps(summary))


if __name__ == "__main__":
    main()

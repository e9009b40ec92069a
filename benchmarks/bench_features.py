"""Benchmark the twalk feature pipeline: walk and skip-gram time, gensim vs a torch skip-gram.

For email-Eu-core-temporal and sx-mathoverflow (``$GNN_SPARSE_SHARED_DATA``), with the original
parameters (10 walks per node, 5 steps, dim 8, window 10, 5 negatives, 5 epochs):

* *walks*: :func:`~gnn_sparse.features.temporal_random_walks` on the events visible to the
  test split (train + val, chronological split) — and on all events (the leaky original);
* *gensim*: :func:`~gnn_sparse.features.skipgram_embeddings` (Word2Vec, ``workers=1``);
* *torch*: the alternative, a vectorised skip-gram with negative sampling in torch
  (:func:`torch_skipgram`, below; same pairs, SparseAdam, batch 4096);
* *acc*: test accuracy (balanced, chance 50%) of the original link classifier
  (Linear(16, 128), ReLU, Linear(128, 1)) trained on ``ds.train`` pairs and evaluated on
  ``ds.test`` pairs, both with features from the one embedding.

The machine may be shared: times are wall-clock, single runs.

Usage::

    python benchmarks/bench_features.py [--datasets email-eu mathoverflow] [--no-torch]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from gnn_sparse.data import chronological_split, load_dataset, read_edge_list
from gnn_sparse.data.registry import load_manifest
from gnn_sparse.features import pair_features, skipgram_embeddings, temporal_random_walks

PARAMS = dict(dim=8, window=10, negatives=5, epochs=5, seed=0)


def visible_events(name: str, ds) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``{"test": train+val events, "leaky": all events}``, node ids as in ``ds``."""
    ev = read_edge_list(ds.source_path, load_manifest()[name].columns)
    order = np.argsort(ev.time, kind="stable")
    src, dst, t = ev.src[order], ev.dst[order], ev.time[order]
    train, val, _ = chronological_split(len(src), 0.2, 0.2)
    seen = np.concatenate([train, val])
    return {"test": (src[seen], dst[seen], t[seen]), "leaky": (src, dst, t)}


def torch_skipgram(walks: np.ndarray, num_nodes: int, *, dim, window, negatives, epochs, seed,
                   batch: int = 4096, lr: float = 0.01) -> torch.Tensor:
    """Skip-gram with negative sampling in torch: all (centre, context) pairs within ``window``."""
    gen = torch.Generator().manual_seed(seed)
    w = torch.from_numpy(walks)
    centre, context = [], []
    for off in range(1, min(window, w.shape[1] - 1) + 1):
        a, b = w[:, :-off].reshape(-1), w[:, off:].reshape(-1)
        ok = (a >= 0) & (b >= 0)
        centre += [a[ok], b[ok]]
        context += [b[ok], a[ok]]
    centre, context = torch.cat(centre), torch.cat(context)
    counts = torch.bincount(w[w >= 0], minlength=num_nodes).double()
    noise = counts.pow(0.75)
    emb_in = torch.nn.Embedding(num_nodes, dim, sparse=True)
    emb_out = torch.nn.Embedding(num_nodes, dim, sparse=True)
    with torch.no_grad():
        emb_in.weight.uniform_(-0.5 / dim, 0.5 / dim, generator=gen)
        emb_out.weight.zero_()
    opt = torch.optim.SparseAdam(list(emb_in.parameters()) + list(emb_out.parameters()), lr=lr)
    for _ in range(epochs):
        perm = torch.randperm(len(centre), generator=gen)
        for i in range(0, len(perm), batch):
            idx = perm[i:i + batch]
            c, o = centre[idx], context[idx]
            neg = torch.multinomial(noise, len(idx) * negatives, replacement=True, generator=gen).view(-1, negatives)
            v = emb_in(c)
            pos = torch.nn.functional.logsigmoid((v * emb_out(o)).sum(-1))
            negl = torch.nn.functional.logsigmoid(-(emb_out(neg) @ v.unsqueeze(-1)).squeeze(-1)).sum(-1)
            loss = -(pos + negl).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    out = emb_in.weight.detach().clone()
    out[counts == 0] = 0
    return out


def link_accuracy(z: torch.Tensor, ds, epochs: int = 20, seed: int = 0) -> float:
    """Test accuracy (%) of the original two-layer classifier on pair features of ``z``."""
    torch.manual_seed(seed)
    x_tr, y_tr = pair_features(z, ds.train.edge_label_index), ds.train.edge_label
    x_te, y_te = pair_features(z, ds.test.edge_label_index), ds.test.edge_label
    mean, std = x_tr.mean(0), x_tr.std(0) + 1e-8
    model = torch.nn.Sequential(torch.nn.Linear(16, 128), torch.nn.ReLU(), torch.nn.Linear(128, 1))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(epochs):
        for idx in torch.randperm(len(y_tr)).split(1024):
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                model((x_tr[idx] - mean) / std).squeeze(-1), y_tr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        pred = (model((x_te - mean) / std).squeeze(-1) > 0).float()
    return 100.0 * (pred == y_te).float().mean().item()


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=["email-eu", "mathoverflow"], help="registry names")
    parser.add_argument("--no-torch", action="store_true", help="skip the torch skip-gram alternative")
    args = parser.parse_args()
    torch.set_num_threads(1)
    import gensim.models  # noqa: F401  (import once, outside the timings)
    print(f"torch threads: 1; gensim workers: 1; params: walks/node 10, length 5, {PARAMS}")
    for name in args.datasets:
        ds = load_dataset(name)
        for view, (src, dst, t) in visible_events(name, ds).items():
            walks, t_walk = timed(lambda: temporal_random_walks(src, dst, t, ds.num_nodes, seed=0))
            z, t_gensim = timed(lambda: skipgram_embeddings(walks.nodes, ds.num_nodes, **PARAMS))
            line = (f"{name:13s} {view:5s} events={len(src):>7,} walks={len(walks):>7,} "
                    f"tokens={int(walks.lengths.sum() + len(walks)):>9,} | walks {t_walk:6.2f}s | "
                    f"gensim {t_gensim:6.2f}s acc {link_accuracy(z, ds):5.1f}%")
            if view == "test" and not args.no_torch:
                zt, t_torch = timed(lambda: torch_skipgram(walks.nodes, ds.num_nodes, **PARAMS))
                line += f" | torch {t_torch:6.2f}s acc {link_accuracy(zt, ds):5.1f}%"
            print(line, flush=True)


if __name__ == "__main__":
    main()

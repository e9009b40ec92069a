"""What denormal floats cost inference, and what flushing them to zero saves.

Weight decay shrinks the weights of pruned hidden units that get no gradient until they are
denormal (below 1.2e-38); evaluation then multiplies by them. This scores ranking candidates
(``LinkPredictor.score_candidates``, as the ranking metrics do) with the head of a sparse
twalk model in which some live hidden units have decayed into that range, once with IEEE
arithmetic and once inside :func:`gnn_sparse.utils.denormals.flush_denormals` (what
``evaluate`` uses), and prints both times, their ratio and the largest logit difference.
With ``--checkpoint``, the same for a link-prediction run's checkpoint instead: ``evaluate``
of its test split (ranking metrics included), both ways, and the metrics of each.

    python benchmarks/bench_denormals.py [--nodes 200000] [--positives 20000] [--candidates 101]
    python benchmarks/bench_denormals.py --checkpoint RESULTS/checkpoints/RUN.pt
"""
from __future__ import annotations

import argparse
import contextlib
import time

import torch

from gnn_sparse.models import build_link_predictor
from gnn_sparse.utils.denormals import flush_denormals


def from_checkpoint(path: str) -> None:
    """``evaluate`` of the run's test split with and without flushing, from its checkpoint."""
    from gnn_sparse.models.fixed import fixed_node_features
    from gnn_sparse.training import RunConfig
    from gnn_sparse.training import loop
    from gnn_sparse.training.ranking import ranking_candidates
    from gnn_sparse.training.runner import build_model_and_graphs, load_run_dataset

    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    config = RunConfig.from_dict({**ckpt["config"], "device": "cpu"})
    ds = load_run_dataset(config)
    features, _ = fixed_node_features(config, ds)
    setup = build_model_and_graphs(config, ds, torch.device("cpu"), features)
    setup.model.load_state_dict(ckpt["model"])
    ranking = ranking_candidates(ds, config.data.ranking_negatives, torch.device("cpu")).get("test")
    args = (setup.model, setup.graphs["test"], ds.test.edge_label_index, ds.test.edge_label, ranking)
    print(f"{ckpt['run_id']} after epoch {len(ckpt['history'])}, {torch.get_num_threads()} thread(s)")
    for name, flush in (("denormals flushed", None), ("IEEE", contextlib.nullcontext)):
        original = loop.flush_denormals
        if flush is not None:
            loop.flush_denormals = flush  # evaluate() without its flushing
        try:
            tick = time.perf_counter()
            metrics = loop.evaluate(*args)
        finally:
            loop.flush_denormals = original
        shown = ", ".join(f"{k} {v:.10g}" for k, v in metrics.items() if v is not None)
        print(f"{name}: {time.perf_counter() - tick:.1f} s; {shown}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", type=int, default=200_000)
    parser.add_argument("--positives", type=int, default=20_000, help="sources ranked")
    parser.add_argument("--candidates", type=int, default=101, help="candidates per source (positive + negatives)")
    parser.add_argument("--live", type=int, default=24, help="hidden units with a nonzero fc2 weight (of 128)")
    parser.add_argument("--decayed", type=int, default=8, help="of the live units, how many have decayed")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--checkpoint", help="a link-prediction run's checkpoint to evaluate instead")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.checkpoint:
        from_checkpoint(args.checkpoint)
        return
    generator = torch.Generator().manual_seed(0)
    features = torch.randn(args.nodes, 8, generator=generator)
    model = build_link_predictor(args.nodes, "twalk", node_features=features).eval()
    with torch.no_grad():
        model.fc2.weight[0, args.live:] = 0.0  # pruned units
        decayed = slice(0, args.decayed)
        model.fc1.weight[decayed] = 1e-40  # a live unit whose fc1 row and bias decayed
        model.fc1.bias[decayed] = 1e-39
        model.fc2.weight[0, decayed] = 1e-39
    src = torch.randint(0, args.nodes, (args.positives,), generator=generator)
    dst = torch.randint(0, args.nodes, (args.positives, args.candidates), generator=generator)
    z = model.encode(None)
    times, logits = {}, {}
    for name in ("ieee", "flushed", "ieee again"):
        mode = flush_denormals() if name == "flushed" else contextlib.nullcontext()
        with torch.no_grad(), mode:
            tick = time.perf_counter()
            logits[name] = model.score_candidates(z, src, dst)
            times[name] = time.perf_counter() - tick
    ieee = min(times["ieee"], times["ieee again"])
    print(f"{args.positives:,} sources x {args.candidates} candidates, {args.live} live hidden units "
          f"({args.decayed} decayed), {torch.get_num_threads()} thread(s)")
    print(f"IEEE {ieee:.2f} s, denormals flushed {times['flushed']:.2f} s: {ieee / times['flushed']:.1f}x; "
          f"largest logit difference {(logits['ieee'] - logits['flushed']).abs().max().item():.1e}")


if __name__ == "__main__":
    main()

"""The shape of ``wiki-talk-twin`` against its targets: a table and the degree plot of the docs.

Generates the twin (:mod:`gnn_sparse.data.twin`), measures it with
:func:`~gnn_sparse.data.stats.temporal_graph_stats`, prints a markdown table of target vs
measured, and draws the log-log CCDF of its in- and out-degrees. With ``--real PATH`` (an
edge-list file, e.g. SNAP's ``wiki-talk-temporal.txt.gz``) the real graph is measured the same
way, gets its own column and is drawn next to the twin.

Usage::

    python benchmarks/twin_stats.py [--scale 1.0] [--figure docs/figures/wiki_talk_twin_degrees.png] [--real PATH]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from gnn_sparse.data import TwinConfig, generate_twin, read_edge_list, temporal_graph_stats
from gnn_sparse.data.stats import degree_ccdf
from gnn_sparse.data.twin import WIKI_TALK_DAYS, WIKI_TALK_EVENTS, WIKI_TALK_NODES, WIKI_TALK_PAIRS
from gnn_sparse.reports.figures import new_figure, save_figure

FIGURE = Path(__file__).resolve().parents[1] / "docs" / "figures" / "wiki_talk_twin_degrees.png"
MEAN_DEGREE = WIKI_TALK_PAIRS / WIKI_TALK_NODES
ROWS = [  # key, label, target, where the target comes from, format
    ("nodes", "nodes", f"{WIKI_TALK_NODES:,}", "SNAP", "{:,}"),
    ("events", "temporal edges", f"{WIKI_TALK_EVENTS:,}", "SNAP", "{:,}"),
    ("pairs", "distinct directed pairs", f"{WIKI_TALK_PAIRS:,}", "SNAP (static edges)", "{:,}"),
    ("repeated_events", "events on an already seen pair", f"{1 - WIKI_TALK_PAIRS / WIKI_TALK_EVENTS:.1%}",
     "SNAP (1 - pairs/events)", "{:.1%}"),
    ("span_days", "time span, days", f"{WIKI_TALK_DAYS:,}", "SNAP", "{:,.0f}"),
    ("out_degree_mean", "mean out-degree (distinct destinations)", f"{MEAN_DEGREE:.2f}", "SNAP (pairs/nodes)",
     "{:.2f}"),
    ("in_degree_mean", "mean in-degree (distinct sources)", f"{MEAN_DEGREE:.2f}", "SNAP (pairs/nodes)", "{:.2f}"),
    ("out_degree_max", "max out-degree", "≫ mean", "chosen", "{:,}"),
    ("in_degree_max", "max in-degree", "≫ mean", "chosen", "{:,}"),
    ("out_exponent", "out-degree power-law exponent (k ≥ 10)", "1.5 – 3", "chosen", "{:.2f}"),
    ("in_exponent", "in-degree power-law exponent (k ≥ 10)", "1.5 – 3", "chosen", "{:.2f}"),
    ("reciprocity", "reciprocity (pairs whose reverse is a pair)", "> 0.3", "chosen", "{:.3f}"),
    ("replies_within_day", "events answered by dst → src within a day", "> 0.3", "chosen", "{:.3f}"),
    ("burstiness", "burstiness B of a sender's inter-event gaps", "> 0.5", "chosen", "{:.3f}"),
]


def table(measured: dict, real: dict | None) -> str:
    """The markdown table: statistic, target, its source, measured (and the real graph's)."""
    head = "| statistic | target | target from | twin |" + (" real |" if real else "")
    lines = [head, "|---" * (5 if real else 4) + "|"]
    for key, label, target, source, fmt in ROWS:
        cells = [label, target, source, fmt.format(measured[key])] + ([fmt.format(real[key])] if real else [])
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def degrees(edges) -> dict[str, np.ndarray]:
    """Static out- and in-degree of every node."""
    n = edges.num_nodes
    keys = np.unique(edges.src.astype(np.int64) * n + edges.dst)
    return {"out": np.bincount(keys // n, minlength=n), "in": np.bincount(keys % n, minlength=n)}


def plot(graphs: dict[str, dict[str, np.ndarray]], path: Path) -> None:
    """Log-log CCDF of out- and in-degree, one line per graph."""
    fig, axes = new_figure(9, 3.6, ncols=2)
    for ax, side in zip(axes, ("out", "in")):
        for name, degree in graphs.items():
            k, p = degree_ccdf(degree[side])
            ax.loglog(k, p, marker=".", markersize=2, linestyle="none", label=name)
        ax.set_xlabel(f"{side}-degree k (distinct {'destinations' if side == 'out' else 'sources'})")
        ax.set_ylabel("P(degree ≥ k)")
        ax.set_title(f"{side}-degree CCDF")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend()
    path.parent.mkdir(parents=True, exist_ok=True)
    save_figure(fig, path)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="size relative to wiki-talk (default: 1.0)")
    parser.add_argument("--graph-seed", type=int, default=0, help="seed of the twin (default: 0)")
    parser.add_argument("--figure", type=Path, default=FIGURE, help=f"PNG to write (default: {FIGURE})")
    parser.add_argument("--real", type=Path, help="an edge-list file to measure and draw next to the twin")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    twin = generate_twin(TwinConfig(scale=args.scale, graph_seed=args.graph_seed))
    print(f"generated in {time.perf_counter() - start:.1f} s")
    graphs = {"wiki-talk-twin": degrees(twin)}
    measured = temporal_graph_stats(twin)
    real = None
    if args.real is not None:
        edges = read_edge_list(args.real)
        real, graphs[args.real.name] = temporal_graph_stats(edges), degrees(edges)
    print(table(measured, real))
    plot(graphs, args.figure)
    print(f"figure: {args.figure}")


if __name__ == "__main__":
    main()

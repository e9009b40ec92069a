"""The exploration study (Fig. 3) as a table: per ``c``, accuracy, its paired difference to
RigL (``c = 0``), the exploration rate R, and how many grown weights had never been active.

The last column answers "does ``c`` change any decision at all": the exploration bonus
``c ln t / (N + eps)`` favours weights with a small activation count ``N``, so it can only
change which weights grow where RigL (``c = 0``) would regrow weights that had been active
before. If RigL already grows only never-active weights, or the bonus is too small to reorder
the gradient ranking, DST-EE makes RigL's decisions whatever ``c``.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import pandas as pd

from gnn_sparse.reports.grid import EXPLORATION_METHOD, normalise_sparsity
from gnn_sparse.reports.paired import Side, metric_value, paired_difference
from gnn_sparse.reports.records import Run, growth_curve
from gnn_sparse.reports.tables import markdown_table, sparsity_header

BASELINES = ("rigl", "set")


def study_rows(runs: Sequence[Run], grid: dict[str, Any]) -> pd.DataFrame:
    """One row per (swept sparsity, RigL / DST-EE at each ``c`` / SET)."""
    if EXPLORATION_METHOD not in grid["methods"]:
        return pd.DataFrame()
    at = grid.get("c_sparsities")
    sparsities = [normalise_sparsity(s) for s in (at if at is not None else grid["sparsities"])]
    c_values = sorted({*grid.get("c_values", []), *([grid["default_c"]] if grid.get("default_c") else [])})
    seeds = grid["seeds"]
    rows = []
    for s in sparsities:
        sides = ([Side("rigl")] if "rigl" in grid["methods"] else []) + \
                [Side(EXPLORATION_METHOD, c) for c in c_values] + ([Side("set")] if "set" in grid["methods"] else [])
        for side in sides:
            rows.append(_row(runs, side, s, seeds, "rigl" in grid["methods"]))
    return pd.DataFrame(rows)


def _row(runs: Sequence[Run], side: Side, sparsity: float, seeds: Sequence[int], with_rigl: bool) -> dict[str, Any]:
    found = {r.key: r for r in runs}
    mine = [found[k] for k in (side.key(sparsity, s) for s in seeds) if k in found and not found[k].failed]
    acc = [v for v in (metric_value(r, "test_accuracy") for r in mine) if v is not None]
    final_r = [v for v in (metric_value(r, "final_exploration_rate") for r in mine) if v is not None]
    growth = [growth_curve(r.result) for r in mine]
    grown = sum(g for curve in growth for g, _ in curve)
    fresh = sum(f for curve in growth for _, f in curve)
    rounds = max((len(c) for c in growth), default=0)
    per_round = []
    for i in range(rounds):
        fractions = [c[i][1] / c[i][0] for c in growth if i < len(c) and c[i][0] > 0]
        per_round.append(sum(fractions) / len(fractions) if fractions else math.nan)
    row = {"sparsity": sparsity, "row": side.label, "method": side.method,
           "c": 0.0 if side.method == "rigl" else side.c, "n": len(acc),
           "accuracy_mean": _mean(acc), "accuracy_std": pd.Series(acc, dtype=float).std(ddof=1),
           "final_R_mean": _mean(final_r), "grown": grown, "grown_never_active": fresh,
           "never_active_fraction": fresh / grown if grown else math.nan,
           "per_round_never_active": ", ".join("–" if math.isnan(f) else f"{f:.2f}" for f in per_round)}
    if with_rigl and side.method != "rigl":
        pair = paired_difference(runs, side, Side("rigl"), sparsity, seeds)
        mean, _, low, high = pair.interval
        row.update(vs_rigl_mean=mean, vs_rigl_low=low, vs_rigl_high=high, vs_rigl_n=pair.n,
                   vs_rigl_dropped=pair.dropped_text())
    return row


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else math.nan


def study_markdown(frame: pd.DataFrame) -> list[str]:
    """The ``table.md`` section of the study (empty when there is no sweep)."""
    if frame.empty:
        return []
    lines = ["## Exploration study (Fig. 3): c, accuracy, R and the decisions c changes", "",
             "Per row: test accuracy (mean ± std over seeds), the paired difference to RigL (= DST-EE at c = 0; "
             "mean and 95% t interval over seeds), the exploration rate R after the last mask update (mean over "
             "seeds), and the fraction of grown weights that had never been active before their mask update "
             "(over all updates and seeds; then per mask-update round, mean over seeds). Where RigL's fraction is "
             "already 1.00, or equals DST-EE's, the exploration bonus cannot change or did not change which weights "
             "grow.", ""]
    for sparsity, group in frame.groupby("sparsity", sort=True):
        shown = pd.DataFrame({
            "row": group["row"],
            "c": [f"{c:g}" if c is not None and not pd.isna(c) else "–" for c in group["c"]],
            "test accuracy (%)": [_acc(m, s, n) for m, s, n in zip(group["accuracy_mean"], group["accuracy_std"],
                                                                   group["n"])],
            "Δ vs RigL [95% CI]": [_vs(r) for _, r in group.iterrows()],
            "final R": [f"{v:.4f}" if not pd.isna(v) else "–" for v in group["final_R_mean"]],
            "grown never active": [f"{f:.3f} ({int(g)})" if not pd.isna(f) else "–"
                                   for f, g in zip(group["never_active_fraction"], group["grown"])],
            "per round": group["per_round_never_active"].replace("", "–"),
        })
        lines += [f"### Sparsity {sparsity_header(sparsity)}", "", markdown_table(shown), ""]
    return lines


def _acc(mean: float, std: float, n: int) -> str:
    if not n:
        return "missing"
    return f"{mean:.2f} ± {'–' if pd.isna(std) else f'{std:.2f}'} (n={n})"


def _vs(row: pd.Series) -> str:
    if "vs_rigl_mean" not in row or pd.isna(row.get("vs_rigl_mean")):
        return "–"
    interval = "" if pd.isna(row["vs_rigl_low"]) else f" [{row['vs_rigl_low']:+.2f}, {row['vs_rigl_high']:+.2f}]"
    dropped = f"; dropped {row['vs_rigl_dropped']}" if row.get("vs_rigl_dropped") else ""
    return f"{row['vs_rigl_mean']:+.2f}{interval} (n={int(row['vs_rigl_n'])}{dropped})"

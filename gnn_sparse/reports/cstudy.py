"""The exploration study (Fig. 3) as a table: per ``c``, accuracy, its paired difference to
RigL (``c = 0``), the exploration rate R, and where each growth slot went.

The bonus ``c ln t / (N + eps)`` favours weights with a small activation count ``N``. A
weight RigL drops and regrows in the same update has ``N >= 1``, so it is exactly what a
large bonus excludes: the share of growth slots RigL spends on regrowth (``regrown``) is the
share of decisions the bonus can change, even where every weight RigL *newly* grows is a
never-active one. The columns over growth slots (the ``k`` weights an update grows,
regrown ones included; runs that record them): ``regrown``, ``never active`` (had never
been active before), and ``zero grad`` (chosen with a gradient of exactly 0: growth that
cannot learn on its next step, decided by the tie order of ``topk`` or by the bonus alone),
with the zero-gradient share per layer. Runs older than these counts show the earlier
column: the never-active share among weights newly grown (``grown`` excludes regrowth).
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import pandas as pd

from gnn_sparse.reports.grid import EXPLORATION_METHOD, VARIANT_ROWS, is_knobbed, normalise_sparsity
from gnn_sparse.reports.paired import Side, metric_value, paired_difference
from gnn_sparse.reports.records import Run, growth_curve, growth_slots
from gnn_sparse.reports.tables import markdown_table, sparsity_header

BASELINES = ("rigl", "set")


def study_rows(runs: Sequence[Run], grid: dict[str, Any]) -> pd.DataFrame:
    """One row per (swept sparsity, RigL / DST-EE at each ``c`` / SET)."""
    if not any(is_knobbed(m) for m in grid["methods"]):
        return pd.DataFrame()
    at = grid.get("c_sparsities")
    sparsities = [normalise_sparsity(s) for s in (at if at is not None else grid["sparsities"])]
    c_values = sorted({*grid.get("c_values", []), *([grid["default_c"]] if grid.get("default_c") else [])})
    seeds = grid["seeds"]
    rows = []
    for s in sparsities:
        variants = [Side(row, knob) for row in grid["methods"] if row in VARIANT_ROWS
                    for knob in (grid.get("variant_knobs") or {}).get(row, [])]
        sides = ([Side("rigl")] if "rigl" in grid["methods"] else []) + \
                [Side(EXPLORATION_METHOD, c) for c in c_values] + variants + \
                ([Side("set")] if "set" in grid["methods"] else [])
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
           "per_round_never_active": ", ".join("–" if math.isnan(f) else f"{f:.2f}" for f in per_round),
           **_slot_shares([growth_slots(r.result) for r in mine])}
    if with_rigl and side.method != "rigl":
        pair = paired_difference(runs, side, Side("rigl"), sparsity, seeds)
        mean, _, low, high = pair.interval
        row.update(vs_rigl_mean=mean, vs_rigl_low=low, vs_rigl_high=high, vs_rigl_n=pair.n,
                   vs_rigl_dropped=pair.dropped_text())
    return row


def _slot_shares(per_run: Sequence[dict[str, dict[str, int]]]) -> dict[str, Any]:
    """Pooled over runs: ``slots`` and the regrown / never-active / zero-gradient shares of
    them, and the zero-gradient share per layer (``"fc1.weight: 0.83, fc2.weight: 0.00"``)."""
    totals: dict[str, dict[str, int]] = {}
    for run in per_run:
        for layer, counts in run.items():
            for key, value in counts.items():
                totals.setdefault(layer, {}).setdefault(key, 0)
                totals[layer][key] += value
    every = totals.get("all", {})
    slots = every.get("slots", 0)
    share = lambda counts, key: counts[key] / counts["slots"] if counts.get("slots") and key in counts \
        else math.nan  # noqa: E731
    layers = ", ".join(f"{name}: {share(c, 'slots_zero_grad'):.2f}" for name, c in totals.items()
                       if name != "all" and c.get("slots"))
    return {"slots": slots, "regrown_share": share(every, "slots_regrown"),
            "slot_never_active_share": share(every, "grown_never_active"),
            "zero_grad_share": share(every, "slots_zero_grad"), "zero_grad_share_by_layer": layers}


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else math.nan


def study_markdown(frame: pd.DataFrame) -> list[str]:
    """The ``table.md`` section of the study (empty when there is no sweep)."""
    if frame.empty:
        return []
    lines = ["## Exploration study (Fig. 3): c, accuracy, R and the decisions c changes", "",
             "Per row: test accuracy (mean ± std over seeds), the paired difference to RigL (= DST-EE at c = 0; "
             "mean and 95% t interval over seeds), the exploration rate R after the last mask update (mean over "
             "seeds), and where the growth went, over all mask updates and seeds. *Slots* are the k weights an "
             "update grows, regrown ones included: *regrown* is the share spent on weights dropped in the same "
             "update (exactly what a large bonus forbids, since their count N is at least 1), *never active* the "
             "share that had never been active, *zero grad* the share chosen with a gradient of exactly 0 (it "
             "cannot learn on its next step), then per layer. *New never active* is the older measure, over newly "
             "grown weights only (regrowth excluded), per run and per mask-update round (mean over seeds): a "
             "fraction of 1.00 there does not mean the bonus changes nothing, because the weights it excludes "
             "are the regrown ones.", ""]
    for sparsity, group in frame.groupby("sparsity", sort=True):
        shown = pd.DataFrame({
            "row": group["row"],
            "c": [f"{c:g}" if c is not None and not pd.isna(c) else "–" for c in group["c"]],
            "test accuracy (%)": [_acc(m, s, n) for m, s, n in zip(group["accuracy_mean"], group["accuracy_std"],
                                                                   group["n"])],
            "Δ vs RigL [95% CI]": [_vs(r) for _, r in group.iterrows()],
            "final R": [f"{v:.4f}" if not pd.isna(v) else "–" for v in group["final_R_mean"]],
            "slots": [str(int(v)) if v else "–" for v in group["slots"]],
            "regrown": [_share(v) for v in group["regrown_share"]],
            "never active": [_share(v) for v in group["slot_never_active_share"]],
            "zero grad": [_share(v) for v in group["zero_grad_share"]],
            "zero grad per layer": group["zero_grad_share_by_layer"].replace("", "–"),
            "new never active": [f"{f:.3f} ({int(g)})" if not pd.isna(f) else "–"
                                 for f, g in zip(group["never_active_fraction"], group["grown"])],
            "per round": group["per_round_never_active"].replace("", "–"),
        })
        lines += [f"### Sparsity {sparsity_header(sparsity)}", "", markdown_table(shown), ""]
    return lines


def _share(value: float) -> str:
    return "–" if pd.isna(value) else f"{value:.2f}"


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

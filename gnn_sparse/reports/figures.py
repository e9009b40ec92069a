"""The report's figures, drawn with matplotlib's Agg canvas and written atomically.

Each figure function takes the runs of the grid (``runs``; runs outside it are not
filtered here) and the grid's expected keys (``expected``, which fix rows and columns).

Figures are built on :class:`matplotlib.figure.Figure` with an explicit Agg canvas rather
than through ``pyplot``, so that building a report neither needs a display nor changes the
caller's global backend or open figures.
"""
from __future__ import annotations

import os
from typing import Sequence

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from gnn_sparse.reports.grid import EXPLORATION_METHOD, RunKey
from gnn_sparse.reports.records import Run, exploration_curve, growth_curve, validation_curve
from gnn_sparse.reports.tables import grid_sparsities, reported_summary, row_label, sparsity_header, summarise
from gnn_sparse.utils.io import atomic_write

EXPLORING_BASELINES = ("rigl", "set")
"""Methods drawn next to DST-EE in the exploration figure (RigL is DST-EE with c = 0)."""

DPI = 120


def new_figure(width: float, height: float, ncols: int = 1) -> tuple[Figure, list]:
    """A figure on an Agg canvas and its row of axes."""
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, list(axes)


def save_figure(fig: Figure, path: str | os.PathLike) -> None:
    """Write ``fig`` as PNG through a temporary file renamed over ``path`` (never half-written)."""
    with atomic_write(path, "wb") as f:
        fig.savefig(f, format="png", dpi=DPI)


def _no_data(ax, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", wrap=True, transform=ax.transAxes)
    ax.set_axis_off()


def _colors(rows: Sequence[tuple[str, str, str]]) -> dict[str, str]:
    """A colour per ``(label, method, source)`` row; a reported row takes the colour of the
    first measured row of its method, so the paper's number sits next to ours."""
    colors: dict[str, str] = {}
    by_method: dict[str, str] = {}
    for label, method, source in sorted(rows, key=lambda r: r[2] == "reported"):
        if label in colors:
            continue
        if source == "reported" and method in by_method:
            colors[label] = by_method[method]
            continue
        colors[label] = f"C{len(set(colors.values())) % 10}"
        by_method.setdefault(method, colors[label])
    return colors


def accuracy_vs_sparsity(runs: Sequence[Run], expected: Sequence[RunKey], dataset: str,
                         path: str | os.PathLike) -> None:
    """Test accuracy (mean ± sample std over seeds) per sparsity, a line per table row.

    Sparsities are equally spaced categories, as in the paper's tables; the paper's
    reported numbers (if any) are open markers on dashed lines.
    """
    sparsities = grid_sparsities(expected)
    headers = [sparsity_header(s) for s in sparsities]
    summary = pd.concat([summarise(runs, expected, "test_accuracy"), reported_summary(dataset, sparsities)])
    labels = list(summary["label"].drop_duplicates())
    colors = _colors(list(summary[["label", "method", "source"]].drop_duplicates().itertuples(index=False)))
    fig, (ax,) = new_figure(9.0, 4.5)
    width = 0.25 / max(len(labels), 1)
    for i, label in enumerate(labels):
        rows = summary[summary["label"] == label]
        if rows["mean"].isna().all():
            continue  # a row with no finished run; the tables say it is missing
        x = [headers.index(sparsity_header(s)) + (i - len(labels) / 2) * width for s in rows["sparsity"]]
        reported = rows["source"].iloc[0] == "reported"
        ax.errorbar(x, rows["mean"], yerr=rows["std"].fillna(0.0), label=label, color=colors[label],
                    marker="o", capsize=3, linestyle="--" if reported else "-",
                    markerfacecolor="none" if reported else colors[label])
    ax.set_xticks(range(len(headers)), headers)
    ax.set_xlabel("sparsity of the sparsified layers")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"{dataset}: test accuracy vs sparsity (mean ± std over seeds)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="center left", bbox_to_anchor=(1.0, 0.5))
    save_figure(fig, path)


def _exploration_frame(runs: Sequence[Run]) -> pd.DataFrame:
    rows = [{"label": row_label(r.key.method, r.key.c), "sparsity": r.key.sparsity, "seed": r.key.seed,
             "round": i + 1, "R": value}
            for r in runs if r.key.method in (EXPLORATION_METHOD, *EXPLORING_BASELINES) and not r.failed
            for i, value in enumerate(exploration_curve(r.result))]
    return pd.DataFrame(rows, columns=["label", "sparsity", "seed", "round", "R"])


def _growth_frame(runs: Sequence[Run]) -> pd.DataFrame:
    rows = [{"label": row_label(r.key.method, r.key.c), "sparsity": r.key.sparsity, "seed": r.key.seed,
             "round": i + 1, "fraction": fresh / grown}
            for r in runs if r.key.method in (EXPLORATION_METHOD, *EXPLORING_BASELINES) and not r.failed
            for i, (grown, fresh) in enumerate(growth_curve(r.result)) if grown > 0]
    return pd.DataFrame(rows, columns=["label", "sparsity", "seed", "round", "fraction"])


def exploration(runs: Sequence[Run], expected: Sequence[RunKey], dataset: str, path: str | os.PathLike) -> None:
    """The paper's Fig. 3 study: exploration rate R per mask-update round, accuracy per c,
    and which grow decisions exploration could change.

    Left: R (mean over seeds, band = ± std) against the mask-update round for DST-EE at
    each ``c`` and for RigL and SET, at the highest sparsity that has such runs (the paper
    plots a high sparsity, 0.95). Middle: DST-EE test accuracy (mean ± std) against ``c``
    per sparsity, with RigL (= DST-EE at ``c = 0``) at the same sparsity as a dotted line.
    Right: per mask-update round, the fraction of grown weights that had never been active
    (mean over seeds), same rows and sparsity as the left panel: where RigL's line is at 1,
    the exploration bonus has nothing to change.
    """
    fig, (left, right, growth) = new_figure(18.0, 4.5, ncols=3)
    curves = _exploration_frame(runs)
    if curves.empty:
        _no_data(left, "no DST-EE, RigL or SET run with an exploration history")
    else:
        sparsity = curves["sparsity"].max()
        at = curves[curves["sparsity"] == sparsity]
        for label, group in at.groupby("label", sort=False):
            stats = group.groupby("round")["R"].agg(["mean", "std"]).fillna({"std": 0.0})
            line, = left.plot(stats.index, stats["mean"], label=label)
            left.fill_between(stats.index, stats["mean"] - stats["std"], stats["mean"] + stats["std"],
                              color=line.get_color(), alpha=0.2)
        left.xaxis.set_major_locator(MaxNLocator(integer=True))
        left.set_xlabel("mask-update round")
        left.set_ylabel("exploration rate R")
        left.set_title(f"{dataset}: R at sparsity {sparsity_header(sparsity)}")
        left.grid(alpha=0.3)
        left.legend(fontsize="small")

    accuracy = summarise(runs, expected, "test_accuracy")
    dst = accuracy[(accuracy["method"] == EXPLORATION_METHOD) & (accuracy["n"] > 0)]
    if dst.empty:
        _no_data(right, "no finished DST-EE run")
    else:
        rigl = accuracy[(accuracy["method"] == "rigl") & (accuracy["n"] > 0)].set_index("sparsity")
        for i, (sparsity, group) in enumerate(dst.groupby("sparsity", sort=True)):
            color = f"C{i % 10}"
            right.errorbar(group["c"], group["mean"], yerr=group["std"].fillna(0.0), marker="o", capsize=3,
                           color=color, label=f"DST-EE, {sparsity_header(sparsity)}")
            if sparsity in rigl.index:
                right.axhline(rigl.loc[sparsity, "mean"], color=color, linestyle=":",
                              label=f"RigL (c = 0), {sparsity_header(sparsity)}")
        right.set_xscale("log")
        right.set_xlabel("exploration coefficient c")
        right.set_ylabel("test accuracy (%)")
        right.set_title(f"{dataset}: DST-EE test accuracy per c (mean ± std)")
        right.grid(alpha=0.3)
        right.legend(fontsize="small")

    grown = _growth_frame(runs)
    if grown.empty:
        _no_data(growth, "no run recorded grown / never-active counts per mask update")
    else:
        sparsity = curves["sparsity"].max() if not curves.empty else grown["sparsity"].max()
        at = grown[grown["sparsity"] == sparsity]
        for label, group in at.groupby("label", sort=False):
            mean = group.groupby("round")["fraction"].mean()
            growth.plot(mean.index, mean.values, marker="o", label=label)
        growth.xaxis.set_major_locator(MaxNLocator(integer=True))
        growth.set_ylim(-0.05, 1.05)
        growth.set_xlabel("mask-update round")
        growth.set_ylabel("grown weights never active before")
        growth.set_title(f"{dataset}: new weights among the grown, {sparsity_header(sparsity)}")
        growth.grid(alpha=0.3)
        growth.legend(fontsize="small")
    save_figure(fig, path)


def _exploitation_frame(runs: Sequence[Run]) -> pd.DataFrame:
    rows = [{"label": row_label(r.key.method, r.key.c), "sparsity": r.key.sparsity, "seed": r.key.seed,
             "round": i + 1, "L_g": e["exploitation"]["L_g"], "first": e["exploitation"]["L_g_first_order"]}
            for r in runs if r.key.method in (EXPLORATION_METHOD, *EXPLORING_BASELINES) and not r.failed
            for i, e in enumerate(sorted((h for h in r.result.get("exploration_history") or [] if "skipped" not in h),
                                         key=lambda h: h["t"]))
            if "exploitation" in e]
    return pd.DataFrame(rows, columns=["label", "sparsity", "seed", "round", "L_g", "first"])


def exploitation(runs: Sequence[Run], expected: Sequence[RunKey], dataset: str, path: str | os.PathLike) -> None:
    """The exploitation degree per mask-update round (next to R in ``exploration.png``), for
    DST-EE at each ``c``, RigL and SET at the highest sparsity that has such runs.

    Left: :math:`L_g`, the loss decrease on the probe batch over the grown weights' first
    step (:mod:`gnn_sparse.sparsity.exploitation`); right: its first-order share of the
    grown weights, summed over layers. Mean over seeds, band = ± std.
    """
    fig, axes = new_figure(12.0, 4.5, ncols=2)
    frame = _exploitation_frame(runs)
    if frame.empty:
        for ax in axes:
            _no_data(ax, "no DST-EE, RigL or SET run with exploitation records (--exploitation-probe)")
        save_figure(fig, path)
        return
    sparsity = frame["sparsity"].max()
    at = frame[frame["sparsity"] == sparsity]
    for ax, column, ylabel in ((axes[0], "L_g", "L_g = loss before - after the first step"),
                               (axes[1], "first", "first-order share of the grown weights")):
        for label, group in at.groupby("label", sort=False):
            stats = group.groupby("round")[column].agg(["mean", "std"]).fillna({"std": 0.0})
            line, = ax.plot(stats.index, stats["mean"], label=label)
            ax.fill_between(stats.index, stats["mean"] - stats["std"], stats["mean"] + stats["std"],
                            color=line.get_color(), alpha=0.2)
        ax.axhline(0.0, color="grey", linewidth=0.8)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("mask-update round")
        ax.set_ylabel(ylabel)
        ax.set_title(f"{dataset}: exploitation at sparsity {sparsity_header(sparsity)}")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    save_figure(fig, path)


def curves(runs: Sequence[Run], expected: Sequence[RunKey], dataset: str, path: str | os.PathLike) -> None:
    """Validation accuracy per epoch (mean over seeds), a panel per sparsity, a line per row.

    Dense has no sparsity and is drawn in every panel.
    """
    sparsities = grid_sparsities(expected)
    rows = [{"label": row_label(r.key.method, r.key.c), "sparsity": s, "seed": r.key.seed, "epoch": e, "acc": a}
            for r in runs if not r.failed for s in ([r.key.sparsity] if r.key.sparsity is not None else sparsities)
            for e, a in validation_curve(r.result)]
    frame = pd.DataFrame(rows, columns=["label", "sparsity", "seed", "epoch", "acc"])
    colors = _colors([(row_label(k.method, k.c), k.method, "measured") for k in expected])
    fig, axes = new_figure(4.5 * len(sparsities), 4.0, ncols=len(sparsities))
    for ax, sparsity in zip(axes, sparsities):
        panel = frame[frame["sparsity"].isna()] if sparsity is None else frame[frame["sparsity"] == sparsity]
        if panel.empty:
            _no_data(ax, f"no per-epoch history at {sparsity_header(sparsity)}")
            continue
        for label, group in panel.groupby("label", sort=False):
            mean = group.groupby("epoch")["acc"].mean()
            ax.plot(mean.index, mean.values, label=label, color=colors[label])
        ax.set_title(f"{dataset}, sparsity {sparsity_header(sparsity)}")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel("validation accuracy (%)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    save_figure(fig, path)


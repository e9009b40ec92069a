r"""Tables III-IV layout: a row per method, a column per sparsity, mean ± std over seeds.

Each cell aggregates the runs of one (method, ``c``, sparsity) over the expected seeds:

.. math::
    \bar{x} = \frac{1}{n}\sum_{i=1}^{n} x_i, \qquad
    s = \sqrt{\frac{1}{n-1}\sum_{i=1}^{n} (x_i - \bar{x})^2}

(the *sample* standard deviation, ``ddof=1``; with ``n = 1`` it is undefined and shown as
``–``). Cells state ``n`` as ``n=found/expected``; a cell without any finished run reads
``missing`` (or ``failed`` when a run exists but has no finite test metric; failed runs
are counted in every cell). Dense has no
sparsity: its seeds fill every column, as the paper repeats the dense number.
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Iterable, Sequence

import pandas as pd

from gnn_sparse.reports.grid import ADMM_ROWS, DENSE_METHOD, RunKey
from gnn_sparse.reports.paper import reported_rows
from gnn_sparse.reports.records import Run, pretrain_validation, validation_at

METHOD_LABELS = {
    "dense": "Dense", "admm": "Prune-from-dense (ADMM, original SGD)",
    "admm-run": "Prune-from-dense (ADMM, run optimizer)", "dst-ee": "DST-EE",
    "dst-ee-normalized": "DST-EE normalized", "dst-ee-ucb": "DST-EE ucb", "dst-ee-quota": "DST-EE quota",
    "rigl": "RigL",
    "set": "SET", "static": "Static sparse",
}
"""Display names as in the paper (ADMM says which optimizer trained it: the original code's
SGD, or the sparse runs' optimizer); an unknown method is shown by its own name."""
REPORTED_LABELS = {"admm": "Prune-from-dense (ADMM)"}
"""The paper's rows keep the paper's name (its ADMM is the original code's)."""


@dataclass(frozen=True)
class Metric:
    """A results key summarised as one table.

    Args:
        key: the results key (``test_accuracy``, ...).
        title: the table's heading.
        digits: decimals shown.
        with_paper: whether the paper's reported accuracies are appended.
    """

    key: str
    title: str
    digits: int
    with_paper: bool


METRICS = (
    Metric("test_accuracy", "Test accuracy (%) at the best validation epoch", 2, True),
    Metric("test_auc", "Test ROC-AUC at the best validation epoch", 4, False),
    Metric("test_mrr", "Test MRR at the best validation epoch (each test positive ranked against its fixed "
           "negatives, docs/results.md; runs older than the ranking metrics show as missing)", 4, False),
    Metric("test_hits@10", "Test Hits@10 at the best validation epoch (the fraction of test positives ranked in "
           "the top 10)", 4, False),
    Metric("best_test_accuracy", "Best test accuracy (%) over epochs, selected on test like the paper's code",
           2, True),
    Metric("train_flops_ratio", "Training FLOPs relative to dense training of the same steps (Table II's "
           "counting; runs older than the FLOPs accounting show as missing)", 3, False),
    Metric("inference_flops_ratio", "Inference FLOPs relative to the dense model", 3, False),
)
"""The tables of ``table.md``: accuracy (the paper's metric), AUC, the ranking metrics MRR and
Hits@10, the test-selected accuracy that matches how the paper's numbers were chosen, and the
FLOPs ratios."""

SUMMARY_COLUMNS = ["source", "method", "c", "label", "sparsity", "epochs", "mean", "std", "n", "n_expected",
                   "n_failed"]


def row_label(method: str, c: float | None) -> str:
    """``"DST-EE (c=0.001)"``, ``"DST-EE quota (rho=0.25)"``, ``"RigL"``: a row per method,
    and per knob for DST-EE and its variants."""
    label = METHOD_LABELS.get(method, method)
    return label if c is None else f"{label} ({'rho' if method == 'dst-ee-quota' else 'c'}={c:g})"


def run_status(runs: Iterable[Run], expected: Sequence[RunKey]) -> pd.DataFrame:
    """One row per expected run: ``method, sparsity, seed, c, status`` (``ok``/``failed``/``missing``)."""
    found = {r.key: r for r in runs}
    rows = []
    for key in expected:
        run = found.get(key)
        status = "missing" if run is None else "failed" if run.failed else "ok"
        rows.append({**key._asdict(), "status": status})
    return pd.DataFrame(rows, columns=["method", "sparsity", "seed", "c", "status"])


def summarise(runs: Iterable[Run], expected: Sequence[RunKey], metric: str) -> pd.DataFrame:
    """Mean, sample std (ddof=1) and counts of ``metric`` per (method, c, sparsity) cell.

    Only expected runs count; failed runs (non-finite metric) count as not found. Dense
    rows are repeated in every sparsity of the grid.

    Returns:
        A frame with :data:`SUMMARY_COLUMNS` (``source == "measured"``), in grid order;
        ``epochs`` is the set of epoch counts of a row's runs (all sparsities), e.g. ``"50"``.
    """
    found = {r.key: r for r in runs}
    sparsities = grid_sparsities(expected)
    rows = []
    for key in expected:
        run = found.get(key)
        value = float("nan") if run is None or run.result.get(metric) is None else float(run.result[metric])
        columns = sparsities if key.sparsity is None else [key.sparsity]
        for sparsity in columns:
            rows.append({"label": row_label(key.method, key.c), "method": key.method, "c": key.c,
                         "sparsity": sparsity, "value": value, "failed": run is not None and run.failed,
                         "epochs": None if run is None else run.result["epochs"]})
    frame = pd.DataFrame(rows)
    frame["epochs"] = frame.groupby("label", sort=False)["epochs"].transform(
        lambda e: ", ".join(str(int(x)) for x in sorted(set(e.dropna()))))
    grouped = frame.groupby(["label", "sparsity"], sort=False, dropna=False)
    summary = grouped["value"].agg(mean="mean", std=lambda v: v.std(ddof=1), n="count", n_expected="size")
    summary["n_failed"] = grouped["failed"].sum()
    summary[["method", "c", "epochs"]] = grouped[["method", "c", "epochs"]].first()
    summary = summary.reset_index()
    summary["source"] = "measured"
    return summary[SUMMARY_COLUMNS]


def reported_summary(dataset: str, sparsities: Sequence[float | None]) -> pd.DataFrame:
    """The paper's rows for ``dataset`` at the grid's sparsities (``source == "reported"``)."""
    rows = []
    for row in reported_rows(dataset):
        for sparsity in sparsities:
            value = row.accuracy.get(sparsity, float("nan"))
            rows.append({"source": "reported", "method": row.method, "c": None,
                         "label": f"{REPORTED_LABELS.get(row.method, METHOD_LABELS.get(row.method, row.method))} "
                                  "(reported)",
                         "sparsity": sparsity, "epochs": "" if row.epochs is None else str(row.epochs),
                         "mean": value, "std": float("nan"), "n": 1, "n_expected": 1, "n_failed": 0})
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def grid_sparsities(expected: Sequence[RunKey]) -> list[float | None]:
    """The sparsity columns of a grid, ascending; ``[None]`` for a dense-only grid."""
    return sorted({k.sparsity for k in expected if k.sparsity is not None}) or [None]


def sparsity_header(sparsity: float | None) -> str:
    """``0.9`` -> ``"90%"``, as the paper's column headings; ``None`` (dense-only grid) -> ``"dense"``."""
    return "dense" if sparsity is None or pd.isna(sparsity) else f"{sparsity * 100:g}%"


def format_cell(mean: float, std: float, n: int, n_expected: int, n_failed: int, source: str, digits: int) -> str:
    """``"83.12 ± 0.20 (n=3/3)"``; ``"83.12 ± – (n=1/3)"`` when n=1; ``"missing (n=0/3)"``
    or ``"failed (n=0/3)"`` when no run finished; failures are counted, e.g. ``(n=2/3, 1 failed)``.

    A reported paper value has no spread and is shown as the bare number.
    """
    if source == "reported":
        return "" if math.isnan(mean) else f"{mean:.{digits}f}"
    failed = f", {n_failed} failed" if n_failed else ""
    if n == 0:
        return f"{'failed' if n_failed else 'missing'} (n=0/{n_expected}{failed})"
    spread = "–" if math.isnan(std) else f"{std:.{digits}f}"
    return f"{mean:.{digits}f} ± {spread} (n={n}/{n_expected}{failed})"


def wide_text(summary: pd.DataFrame, digits: int) -> pd.DataFrame:
    """The Markdown layout: ``method, epochs`` (``–`` when unknown, as the paper's dense row)
    then one formatted column per sparsity."""
    columns = ["mean", "std", "n", "n_expected", "n_failed", "source"]
    summary = summary.assign(cell=[format_cell(*v, digits) for v in summary[columns].itertuples(index=False)])
    wide = _pivot(summary, values="cell").fillna("n/a").reset_index()  # n/a: cell outside the grid
    wide["epochs"] = wide["epochs"].replace("", "–")
    return wide.drop(columns="source").rename(columns={"label": "method"})


def wide_numeric(summary: pd.DataFrame, metric: str) -> pd.DataFrame:
    """The CSV layout: one row per table row, ``<sparsity>_{mean,std,n,n_expected,n_failed}`` columns."""
    stats = ("mean", "std", "n", "n_expected", "n_failed")
    parts = {stat: _pivot(summary, values=stat) for stat in stats}
    headers = parts["mean"].columns
    wide = pd.concat([parts[stat][[h]].rename(columns={h: f"{h}_{stat}"}) for h in headers for stat in stats],
                     axis=1).reset_index()
    wide.insert(0, "metric", metric)
    return wide


def _pivot(summary: pd.DataFrame, values: str) -> pd.DataFrame:
    """Rows keyed by (source, label, epochs) in first-seen order, a column per sparsity
    named by :func:`sparsity_header`, in first-seen order."""
    index = ["source", "label", "epochs"]
    frame = summary.assign(column=summary["sparsity"].map(sparsity_header))
    wide = frame.pivot(index=index, columns="column", values=values)
    rows = list(dict.fromkeys(zip(*(frame[c] for c in index))))
    return wide.reindex(index=pd.MultiIndex.from_tuples(rows, names=index),
                        columns=list(frame["column"].drop_duplicates()))


def markdown_table(frame: pd.DataFrame) -> str:
    """A GitHub Markdown table of ``frame`` (``DataFrame.to_markdown`` would need ``tabulate``,
    which the project does not depend on)."""
    header = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join("" if v is None else str(v) for v in row) + " |")
    return "\n".join(lines)


PRETRAINING_COLUMNS = ["method", "pretrain_epochs", "admm_val_mean", "admm_val_std", "admm_n", "dense_val_mean",
                       "dense_val_std", "dense_n", "difference_mean", "difference_n", "dense_last_val_mean"]


def pretraining_summary(runs: Iterable[Run], expected: Sequence[RunKey]) -> pd.DataFrame:
    """How close ADMM's dense pretraining came to dense training, per ADMM row.

    For each seed: the ADMM row's validation accuracy at its last pretraining epoch ``E``
    (the ``history`` records of phase ``"pretrain"``; a seed's runs at several sparsities
    share their pretraining, their mean is taken) and the dense run's validation accuracy at
    the same epoch ``E`` of its own run. Then over seeds: both means and sample stds, the
    mean paired difference ADMM - dense over the seeds that have both, and the dense runs'
    validation accuracy at their last epoch (context: dense trains longer than ``E``).
    Only expected, finished runs count; an ADMM row without pretraining epochs is left out.

    Returns:
        A frame with :data:`PRETRAINING_COLUMNS`, one row per ADMM row found (labels as
        :func:`row_label`); empty when there is none.
    """
    wanted = set(expected)
    runs = [r for r in runs if r.key in wanted and not r.failed]
    dense = {r.key.seed: r.result for r in runs if r.key.method == DENSE_METHOD}
    rows = []
    for method in ADMM_ROWS:
        per_seed: dict[int, list[tuple[int, float]]] = {}
        for run in runs:
            found = pretrain_validation(run.result) if run.key.method == method else None
            if found is not None:
                per_seed.setdefault(run.key.seed, []).append(found)
        if not per_seed:
            continue
        admm = {seed: statistics.fmean(acc for _, acc in found) for seed, found in per_seed.items()}
        at = {seed: validation_at(dense[seed], found[0][0]) if seed in dense else None
              for seed, found in per_seed.items()}
        dense_at = {seed: v for seed, v in at.items() if v is not None}
        last = [validation_at(result, max(int(r["epoch"]) for r in result["history"]))
                for seed, result in dense.items() if seed in per_seed and result.get("history")]
        rows.append({
            "method": row_label(method, None),
            "pretrain_epochs": "/".join(str(e) for e in sorted({e for found in per_seed.values() for e, _ in found})),
            **_stats("admm_val", list(admm.values())), "admm_n": len(admm),
            **_stats("dense_val", list(dense_at.values())), "dense_n": len(dense_at),
            "difference_mean": _stats("d", [admm[s] - dense_at[s] for s in dense_at])["d_mean"],
            "difference_n": len(dense_at),
            "dense_last_val_mean": _stats("x", [v for v in last if v is not None])["x_mean"],
        })
    return pd.DataFrame(rows, columns=PRETRAINING_COLUMNS)


def _stats(prefix: str, values: list[float]) -> dict[str, float]:
    return {f"{prefix}_mean": statistics.fmean(values) if values else math.nan,
            f"{prefix}_std": statistics.stdev(values) if len(values) > 1 else math.nan}


def pretraining_markdown(summary: pd.DataFrame) -> list[str]:
    """The ``table.md`` section of :func:`pretraining_summary` (nothing without ADMM rows)."""
    if summary.empty:
        return []

    def cell(mean, std, n):
        if n == 0 or math.isnan(mean):
            return "–"
        return f"{mean:.2f} ± {'–' if math.isnan(std) else f'{std:.2f}'} (n={n})"

    shown = pd.DataFrame({
        "ADMM row": summary["method"],
        "pretraining epochs": summary["pretrain_epochs"],
        "ADMM val. acc. at the last pretraining epoch": [
            cell(r.admm_val_mean, r.admm_val_std, r.admm_n) for r in summary.itertuples()],
        "dense val. acc. at the same epoch": [
            cell(r.dense_val_mean, r.dense_val_std, r.dense_n) for r in summary.itertuples()],
        "ADMM - dense (paired)": ["–" if r.difference_n == 0 else f"{r.difference_mean:+.2f} (n={r.difference_n})"
                                  for r in summary.itertuples()],
        "dense val. acc. at its last epoch": ["–" if math.isnan(v) else f"{v:.2f}"
                                              for v in summary["dense_last_val_mean"]],
    })
    return ["## ADMM's dense pretraining vs dense training (validation accuracy, %)", "",
            "How well ADMM's dense pretraining trained the model it prunes: its validation accuracy after the "
            "last pretraining epoch E, against the dense run's at epoch E of its own run (same seed), mean ± "
            "sample std over seeds, and their mean paired difference. A seed's ADMM runs at different sparsities "
            "share their pretraining (their mean is taken). The last column is the dense runs' validation "
            "accuracy at their final epoch.", "",
            markdown_table(shown), ""]

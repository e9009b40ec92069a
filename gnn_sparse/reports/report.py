"""Build a comparison report (Tables III-IV, the Fig. 3 study) from a results folder.

:func:`write_report` reads finished runs only; it never trains. The grid it reports on is
given (``methods`` x ``sparsities`` x ``seeds``, DST-EE also x ``c_values``) or, per axis
left ``None``, taken from the runs found. Every expected run that is absent or failed is
shown as such in the tables, and every result file that could not be used is named in
``table.md`` and ``README.md``.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Sequence

import pandas as pd

from gnn_sparse.reports import figures
from gnn_sparse.reports.grid import (
    DEFAULT_C_VALUES, DEFAULT_METHODS, DEFAULT_SPARSITIES, DENSE_METHOD, EXPLORATION_METHOD, RunKey,
    expected_runs, normalise_c, normalise_sparsity,
)
from gnn_sparse.reports.paper import paper_note, paper_source, paper_table
from gnn_sparse.reports.readme import render_readme
from gnn_sparse.reports.records import LoadedRuns, Run, load_runs
from gnn_sparse.reports.tables import (
    METRICS, grid_sparsities, markdown_table, reported_summary, run_status, summarise, wide_numeric, wide_text,
)
from gnn_sparse.utils.io import atomic_write

TABLE_MD, TABLE_CSV, README = "table.md", "table.csv", "README.md"
ACCURACY_PNG, EXPLORATION_PNG, CURVES_PNG = "accuracy_vs_sparsity.png", "exploration.png", "curves.png"
REPORT_FILES = (TABLE_MD, TABLE_CSV, ACCURACY_PNG, EXPLORATION_PNG, CURVES_PNG, README)


def resolve_grid(runs: Sequence[Run], methods: Iterable[str] | None = None,
                 sparsities: Iterable[float] | None = None, seeds: Iterable[int] | None = None,
                 c_values: Iterable[float] | None = None) -> dict[str, list]:
    """The grid to report on; each axis left ``None`` is taken from ``runs``.

    Methods found are ordered as :data:`~gnn_sparse.reports.grid.DEFAULT_METHODS`, then
    alphabetically. An axis that the runs cannot tell (e.g. sparsities when only dense
    ran) falls back to the default grid's.

    Returns:
        ``{"methods", "sparsities", "seeds", "c_values"}``, each a list.
    """
    keys = [r.key for r in runs]
    if methods is None:
        found = {k.method for k in keys}
        methods = [m for m in DEFAULT_METHODS if m in found] + sorted(found - set(DEFAULT_METHODS))
    if sparsities is None:
        sparsities = sorted({k.sparsity for k in keys if k.sparsity is not None}) or DEFAULT_SPARSITIES
    if seeds is None:
        seeds = sorted({k.seed for k in keys})
    if c_values is None:
        c_values = sorted({k.c for k in keys if k.c is not None}) or DEFAULT_C_VALUES
    methods = list(dict.fromkeys(methods))
    sparse = any(m != DENSE_METHOD for m in methods)
    return {
        "methods": methods,
        "sparsities": sorted({normalise_sparsity(s) for s in sparsities}) if sparse else [],
        "seeds": sorted({int(s) for s in seeds}),
        "c_values": sorted({normalise_c(c) for c in c_values}) if EXPLORATION_METHOD in methods else [],
    }


def render_tables(dataset: str, runs: Sequence[Run], expected: Sequence[RunKey],
                  loaded: LoadedRuns) -> tuple[str, pd.DataFrame]:
    """``table.md`` text and the ``table.csv`` frame (one block of rows per metric)."""
    sparsities = grid_sparsities(expected)
    table = paper_table(dataset)
    lines = [f"# {dataset}: link prediction, method comparison", ""]
    if table is not None:
        lines += [f"Layout of Table {table} of the paper. Rows marked *(reported)* are the paper's numbers "
                  f"({paper_source()}).", ""]
    lines += ["Each measured cell is the mean ± sample standard deviation (ddof=1) over seeds; "
              "`n=found/expected` counts the finished runs. With n=1 the standard deviation is undefined "
              "and shown as `–`; `missing (n=0/k)` means no run of that cell finished. "
              "Dense has no sparsity; its runs fill every column, as in the paper.", ""]
    csv_blocks = []
    for metric in METRICS:
        summary = summarise(runs, expected, metric.key)
        if metric.with_paper:
            summary = pd.concat([summary, reported_summary(dataset, sparsities)], ignore_index=True)
        lines += [f"## {metric.title}", "", markdown_table(wide_text(summary, metric.digits)), ""]
        csv_blocks.append(wide_numeric(summary, metric.key))
    if table is not None:
        lines += [f"Reported rows: {paper_note()}", ""]

    status = run_status(runs, expected)
    absent = status[status["status"] != "ok"]
    lines += ["## Missing or failed runs", ""]
    if absent.empty:
        lines += ["None: every expected run finished.", ""]
    else:
        shown = absent.astype(object).where(absent.notna(), "–")
        lines += [markdown_table(shown), ""]
    if loaded.problems:
        lines += ["## Result files not used", ""]
        lines += [f"- `{name}`: {reason}" for name, reason in loaded.problems] + [""]
    return "\n".join(lines), pd.concat(csv_blocks, ignore_index=True)


def write_report(results_dir: str | os.PathLike, dataset: str, out_dir: str | os.PathLike,
                 methods: Iterable[str] | None = None, sparsities: Iterable[float] | None = None,
                 seeds: Iterable[int] | None = None, c_values: Iterable[float] | None = None,
                 command: str | None = None) -> Path:
    """Write the comparison report of ``dataset`` into ``out_dir`` and return ``out_dir``.

    Files (each written atomically): ``table.md`` and ``table.csv`` (test accuracy, AUC and
    test-selected accuracy, a row per method and a column per sparsity, plus the paper's
    rows for ``ia-email``/``wiki-talk``), ``accuracy_vs_sparsity.png``, ``exploration.png``,
    ``curves.png`` and ``README.md``.

    Args:
        results_dir: the runner's results folder (one JSON per run).
        dataset: dataset name as recorded in the results (``result["dataset"]``).
        out_dir: the report folder itself (the CLI passes ``<reports dir>/<dataset>``);
            created if needed.
        methods: methods of the grid (default: those found).
        sparsities: target sparsities of the grid (default: those found).
        seeds: seeds of the grid (default: those found).
        c_values: DST-EE exploration coefficients (default: those found).
        command: the command line that produced the report, recorded in ``README.md``.

    Raises:
        NoRunsError: ``results_dir`` holds no usable run of ``dataset``.
        ValueError: an empty or invalid grid axis.
    """
    loaded = load_runs(results_dir, dataset)
    grid = resolve_grid(loaded.runs, methods, sparsities, seeds, c_values)
    expected = expected_runs(grid["methods"], grid["sparsities"], grid["seeds"], grid["c_values"])
    wanted = set(expected)
    used = [r for r in loaded.runs if r.key in wanted]
    unused = [r for r in loaded.runs if r.key not in wanted]

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    markdown, csv = render_tables(dataset, used, expected, loaded)
    with atomic_write(out / TABLE_MD, "w", encoding="utf-8") as f:
        f.write(markdown)
    with atomic_write(out / TABLE_CSV, "w", encoding="utf-8", newline="") as f:
        csv.to_csv(f, index=False)
    figures.accuracy_vs_sparsity(used, expected, dataset, out / ACCURACY_PNG)
    figures.exploration(used, expected, dataset, out / EXPLORATION_PNG)
    figures.curves(used, expected, dataset, out / CURVES_PNG)
    readme = render_readme(dataset=dataset, loaded=loaded, used=used, status=run_status(used, expected),
                           unused=unused, grid=grid, command=command, files=REPORT_FILES, results_dir=results_dir)
    with atomic_write(out / README, "w", encoding="utf-8") as f:
        f.write(readme)
    return out

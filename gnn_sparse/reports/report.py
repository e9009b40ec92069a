"""Build a comparison report (Tables III-IV, the Fig. 3 study) from a results folder.

:func:`write_report` reads finished runs only; it never trains. The grid it reports on is
given (``methods`` x ``sparsities`` x ``seeds``, DST-EE also x ``c_values``) or, per axis
left ``None``, taken from the runs found. Every expected run that is absent or failed is
shown as such in the tables, and every result file that could not be used is named in
``table.md`` and ``README.md``.
"""
from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import pandas as pd

from gnn_sparse.reports import claims as claims_mod
from gnn_sparse.reports import figures
from gnn_sparse.reports.claims_index import write_claims_index
from gnn_sparse.reports.cstudy import study_markdown, study_rows
from gnn_sparse.reports.grid import (
    DEFAULT_C_VALUES, DEFAULT_SPARSITIES, DENSE_METHOD, EXPLORATION_METHOD, METHOD_ORDER, VARIANT_ROWS, RunKey,
    expected_runs, normalise_c, normalise_sparsity,
)
from gnn_sparse.reports.paired import paired_frame, paired_markdown, standard_pairs
from gnn_sparse.reports.paper import paper_note, paper_source, paper_table
from gnn_sparse.reports.readme import render_readme
from gnn_sparse.reports.records import LoadedRuns, NoRunsError, Run, load_runs
from gnn_sparse.training.config import RunConfig
from gnn_sparse.training.results import REQUIRED_KEYS
from gnn_sparse.reports.tables import (
    METRICS, grid_sparsities, markdown_table, pretraining_markdown, pretraining_summary, reported_summary,
    run_status, summarise, wide_numeric, wide_text,
)
from gnn_sparse.utils.io import atomic_write

EXPLOITATION_PNG = "exploitation.png"
TABLE_MD, TABLE_CSV, README = "table.md", "table.csv", "README.md"
CLAIMS_CSV, C_STUDY_CSV = "claims.csv", "c_study.csv"
ACCURACY_PNG, EXPLORATION_PNG, CURVES_PNG = "accuracy_vs_sparsity.png", "exploration.png", "curves.png"
TEST_SELECTED = "at the best test epoch (chosen on test accuracy: the original protocol)"
"""How ``table.md`` titles the selected-epoch tables when the runs chose their epoch on test."""
REPORT_FILES = (TABLE_MD, TABLE_CSV, CLAIMS_CSV, C_STUDY_CSV, ACCURACY_PNG, EXPLORATION_PNG, CURVES_PNG, README)


def resolve_grid(runs: Sequence[Run], methods: Iterable[str] | None = None,
                 sparsities: Iterable[float] | None = None, seeds: Iterable[int] | None = None,
                 c_values: Iterable[float] | None = None, c_sparsities: Iterable[float] | None = None,
                 default_c: float | None = None, variant_knobs: dict[str, Iterable[float]] | None = None) -> dict:
    """The grid to report on; each axis left ``None`` is taken from ``runs``.

    Methods found are ordered as :data:`~gnn_sparse.reports.grid.METHOD_ORDER`, then
    alphabetically. An axis that the runs cannot tell (e.g. sparsities when only dense
    ran) falls back to the default grid's.

    The ``c`` sweep: with ``c_sparsities`` given, DST-EE is expected at every ``c`` there
    and at ``default_c`` elsewhere (``default_c`` left ``None``: the most common ``c`` of
    the DST-EE runs). With ``c_values`` *and* ``c_sparsities`` both ``None``, a sweep
    limited to some sparsities is recognised from the runs (DST-EE at a ``c`` other than the
    most common one only there); otherwise every ``c`` is expected at every sparsity.

    The variant rows' knobs (``variant_knobs``, default: those found) are expected at every
    sparsity.

    Returns:
        ``{"methods", "sparsities", "seeds", "c_values"}``, each a list, plus
        ``"c_sparsities"`` (a list, or ``None``: the sweep covers every sparsity),
        ``"default_c"`` (a float, or ``None``) and ``"variant_knobs"`` (``{row: [knob]}``).
    """
    keys = [r.key for r in runs]
    dst_c = Counter(k.c for k in keys if k.method == EXPLORATION_METHOD)
    if c_values is None and c_sparsities is None and len(dst_c) > 1:
        common = dst_c.most_common(1)[0][0]
        swept = {k.sparsity for k in keys if k.method == EXPLORATION_METHOD and k.c != common}
        with_dst = {k.sparsity for k in keys if k.method == EXPLORATION_METHOD}
        if swept != with_dst:
            c_sparsities, default_c = sorted(swept), common
    if c_sparsities is not None and default_c is None:
        default_c = dst_c.most_common(1)[0][0] if dst_c else RunConfig().sparse.c
    if methods is None:
        found = {k.method for k in keys}
        methods = [m for m in METHOD_ORDER if m in found] + sorted(found - set(METHOD_ORDER))
    if sparsities is None:
        sparsities = sorted({k.sparsity for k in keys if k.sparsity is not None}) or DEFAULT_SPARSITIES
    if seeds is None:
        seeds = sorted({k.seed for k in keys})
    if c_values is None:
        c_values = sorted({k.c for k in keys if k.method == EXPLORATION_METHOD}) or DEFAULT_C_VALUES
    methods = list(dict.fromkeys(methods))
    sparse = any(m != DENSE_METHOD for m in methods)
    exploring = EXPLORATION_METHOD in methods
    return {
        "methods": methods,
        "sparsities": sorted({normalise_sparsity(s) for s in sparsities}) if sparse else [],
        "seeds": sorted({int(s) for s in seeds}),
        "c_values": sorted({normalise_c(c) for c in c_values}) if exploring else [],
        "c_sparsities": sorted({normalise_sparsity(s) for s in c_sparsities})
        if exploring and c_sparsities is not None else None,
        "default_c": normalise_c(default_c) if exploring and c_sparsities is not None else None,
        "variant_knobs": {row: sorted({normalise_c(v) for v in (variant_knobs or {}).get(row) or
                                       [k.c for k in keys if k.method == row]})
                          for row in methods if row in VARIANT_ROWS},
    }


def grid_expected(grid: dict) -> list[RunKey]:
    """:func:`~gnn_sparse.reports.grid.expected_runs` of a :func:`resolve_grid` result."""
    return expected_runs(grid["methods"], grid["sparsities"], grid["seeds"], grid["c_values"],
                         c_sparsities=grid.get("c_sparsities"), default_c=grid.get("default_c"),
                         variant_knobs=grid.get("variant_knobs"))


def task_name(runs: Sequence[Run]) -> str:
    """``"image classification"`` when the runs say so, else ``"link prediction"``."""
    tasks = {r.result.get("task") for r in runs}
    return "image classification" if "image-classification" in tasks else "link prediction"


def evaluate_claims(dataset: str, runs: Sequence[Run], grid: dict) -> pd.DataFrame:
    """The paper's claims that the grid can test, with paired intervals and verdicts."""
    ok = [r for r in runs if not r.failed]
    image = task_name(runs) == "image classification"
    claims = claims_mod.image_claims(grid, dataset) if image else claims_mod.link_claims(grid, dataset, ok)
    protocol, differs = claims_mod.setup_note(ok, dataset)
    return claims_mod.evaluate(claims, runs, grid["seeds"], dataset=dataset, protocol=protocol, differs=differs)


def claims_markdown(frame: pd.DataFrame) -> list[str]:
    """The ``table.md`` section of the claims (see :mod:`gnn_sparse.reports.claims` for the rule)."""
    if frame.empty:
        return []
    rows = [r for _, r in frame.iterrows()]
    shown = pd.DataFrame({"claim": frame["claim"], "paper": frame["paper"],
                          "measured Δ [95% CI]": [claims_mod.format_difference(r) for r in rows],
                          "threshold": [f"{t:+g}" for t in frame["threshold"]],
                          "MDD": [claims_mod.format_mdd(r) for r in rows],
                          "verdict": frame["verdict"],
                          "p (Holm)": [claims_mod.format_p(p) for p in frame["p_holm"]],
                          "verdict (Holm)": frame["verdict_holm"],
                          "within ±0.5 (TOST, Holm)": [claims_mod.format_equivalence(r) for r in rows]})
    return ["## The paper's claims on this grid", "",
            "Δ is the paired difference (DST-EE minus the other side, seed by seed; accuracy in points, R as a "
            "fraction) with its 95% t interval. Verdict: *holds* when the whole interval is above the threshold, "
            "*does not hold* when it is at or below it, *inconclusive* otherwise (or with fewer than two pairs). "
            "That verdict is uncorrected; *verdict (Holm)* decides on the two-sided p value of Δ = threshold "
            f"after Holm's correction over the {len(frame)} claims of this report (statsmodels), and the last "
            "column tests |Δ| < 0.5 points with two one-sided tests (TOST), Holm-corrected over this report's "
            "equivalence tests. MDD: the true difference the design would detect with power 0.8 (two-sided, "
            "5%), from the observed paired spread. "
            f"Setup: {frame['protocol'].iloc[0]}. Differs from the paper: {frame['differs'].iloc[0]}.", "",
            markdown_table(shown), ""]


def render_tables(dataset: str, runs: Sequence[Run], expected: Sequence[RunKey],
                  loaded: LoadedRuns, grid: dict | None = None,
                  claims: pd.DataFrame | None = None, study: pd.DataFrame | None = None) -> tuple[str, pd.DataFrame]:
    """``table.md`` text and the ``table.csv`` frame (one block of rows per metric, then the
    paired differences). ``table.md`` also compares ADMM's dense pretraining with dense
    training (:func:`~gnn_sparse.reports.tables.pretraining_summary`), and titles the
    selected-epoch tables by how the runs chose their epoch (validation, or test under the
    original protocol)."""
    sparsities = grid_sparsities(expected)
    table = paper_table(dataset)
    lines = [f"# {dataset}: {task_name(runs)}, method comparison", ""]
    if table is not None:
        lines += [f"Layout of Table {table} of the paper. Rows marked *(reported)* are the paper's numbers "
                  f"({paper_source()}).", ""]
    lines += ["Each measured cell is the mean ± sample standard deviation (ddof=1) over seeds; "
              "`n=found/expected` counts the finished runs. With n=1 the standard deviation is undefined "
              "and shown as `–`; `missing (n=0/k)` means no run of that cell finished. "
              "Dense has no sparsity; its runs fill every column, as in the paper. "
              "`n/a`: not part of the grid (e.g. the DST-EE c sweep runs at one sparsity only).", ""]
    csv_blocks = []
    on_test = {r.result.get("selection") for r in runs if not r.failed} == {"test"}
    for metric in METRICS:
        summary = summarise(runs, expected, metric.key)
        if metric.with_paper:
            summary = pd.concat([summary, reported_summary(dataset, sparsities)], ignore_index=True)
        title = metric.title.replace("at the best validation epoch", TEST_SELECTED) if on_test else metric.title
        lines += [f"## {title}", "", markdown_table(wide_text(summary, metric.digits)), ""]
        csv_blocks.append(wide_numeric(summary, metric.key))
    if table is not None:
        lines += [f"Reported rows: {paper_note()}", ""]
    lines += pretraining_markdown(pretraining_summary(runs, expected))
    if grid is not None:
        pairs = standard_pairs(runs, grid, _main_c(grid))
        lines += paired_markdown(pairs)
        if pairs:
            csv_blocks.append(paired_frame(pairs))
    if claims is not None:
        lines += claims_markdown(claims)
    if study is not None:
        lines += study_markdown(study)

    status = run_status(runs, expected)
    found = {r.key: r for r in runs}
    status["note"] = [_failure_note(found.get(key)) for key in expected]  # run_status keeps this order
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
                 command: str | None = None, *, c_sparsities: Iterable[float] | None = None,
                 default_c: float | None = None, variant_knobs: dict[str, Iterable[float]] | None = None,
                 failures: Mapping[RunKey, str] | None = None,
                 sessions: Sequence[Mapping[str, Any]] | None = None) -> Path:
    """Write the comparison report of ``dataset`` into ``out_dir`` and return ``out_dir``.

    Files (each written atomically): ``table.md`` and ``table.csv`` (test accuracy, AUC, MRR,
    Hits@10 and test-selected accuracy, a row per method and a column per sparsity, plus the
    paper's rows for ``ia-email``/``wiki-talk``; then the paired differences DST-EE - RigL /
    ADMM / dense in test accuracy and test MRR with 95% t intervals,
    :mod:`~gnn_sparse.reports.paired`), ``claims.csv`` (the
    paper's claims with verdicts, :mod:`~gnn_sparse.reports.claims`), ``c_study.csv``
    (:mod:`~gnn_sparse.reports.cstudy`), ``accuracy_vs_sparsity.png``, ``exploration.png``,
    ``curves.png`` and ``README.md``. Then the claims index of ``out_dir``'s parent is
    refreshed (:func:`~gnn_sparse.reports.claims_index.write_claims_index`).

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
        c_sparsities: sparsities of the DST-EE ``c`` sweep (default: see :func:`resolve_grid`).
        default_c: DST-EE's ``c`` outside the sweep (default: the most common ``c`` found).
        variant_knobs: the knobs of the DST-EE variant rows (default: those found).
        failures: runs that raised instead of finishing, ``{key: error message}`` (the
            ``compare`` grid records them); shown as failed unless a finished run of the
            same key exists.
        sessions: the ``compare`` invocations that trained the grid, each
            ``{"command", "started", "elapsed_s", "trained", "reused", "failed"}``; their
            elapsed times add up to the grid's total wall time in ``README.md``.

    Raises:
        NoRunsError: ``results_dir`` holds no usable run of ``dataset`` (and no failure).
        ValueError: an empty or invalid grid axis.
    """
    failures = dict(failures or {})
    try:
        loaded = load_runs(results_dir, dataset)
    except NoRunsError:
        if not failures or not Path(results_dir).is_dir():
            raise
        loaded = LoadedRuns()
    grid = resolve_grid(loaded.runs, methods, sparsities, seeds, c_values, c_sparsities, default_c, variant_knobs)
    expected = grid_expected(grid)
    wanted = set(expected)
    used = [r for r in loaded.runs if r.key in wanted]
    unused = [r for r in loaded.runs if r.key not in wanted]
    finished = {r.key for r in used}
    stubs = [failed_run(key, message) for key, message in failures.items()
             if key in wanted and key not in finished]
    reported = used + stubs

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    claims = evaluate_claims(dataset, reported, grid)
    study = study_rows(reported, grid)
    markdown, csv = render_tables(dataset, reported, expected, loaded, grid, claims, study)
    with atomic_write(out / TABLE_MD, "w", encoding="utf-8") as f:
        f.write(markdown)
    for name, frame in ((TABLE_CSV, csv), (CLAIMS_CSV, claims), (C_STUDY_CSV, study)):
        with atomic_write(out / name, "w", encoding="utf-8", newline="") as f:
            frame.to_csv(f, index=False)
    figures.accuracy_vs_sparsity(reported, expected, dataset, out / ACCURACY_PNG)
    figures.exploration(reported, expected, dataset, out / EXPLORATION_PNG)
    figures.curves(reported, expected, dataset, out / CURVES_PNG)
    figures.exploitation(reported, expected, dataset, out / EXPLOITATION_PNG)
    readme = render_readme(dataset=dataset, loaded=loaded, used=used, status=run_status(reported, expected),
                           unused=unused, grid=grid, command=command, files=(*REPORT_FILES, EXPLOITATION_PNG),
                           results_dir=results_dir,
                           failures=[(s.key, s.result["failure"]) for s in stubs], sessions=list(sessions or []))
    with atomic_write(out / README, "w", encoding="utf-8") as f:
        f.write(readme)
    write_claims_index(out.parent)
    return out


def _main_c(grid: dict) -> float | None:
    """DST-EE's ``c`` of the main rows (see :func:`gnn_sparse.reports.claims._main_c`)."""
    return claims_mod.main_c(grid) if EXPLORATION_METHOD in grid["methods"] else None


def failed_run(key: RunKey, message: str) -> Run:
    """A stand-in :class:`Run` for a run that raised instead of finishing: every results
    key ``None`` (so it counts as failed) and the error under ``"failure"``."""
    result: dict[str, Any] = {k: None for k in REQUIRED_KEYS}
    result.update(method=key.method, sparsity=key.sparsity, seed=key.seed,
                  config={"c": key.c}, failure=str(message))
    return Run(key, Path(f"(failed: {key.method}, sparsity {key.sparsity}, seed {key.seed}, c {key.c})"), result)


def _failure_note(run: Run | None) -> str:
    """Why a run of the grid is not ok, for the missing/failed table (one line, no pipes)."""
    if run is None:
        return "no result file"
    if "failure" in run.result:
        text = " ".join(run.result["failure"].split()).replace("|", "/")
        return text if len(text) <= 160 else text[:157] + "..."
    return "no finite test accuracy" if run.failed else ""

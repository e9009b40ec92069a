"""Comparison reports: the paper's Tables III-IV and the exploration study of its Fig. 3.

Typical use (the ``report``/``compare`` CLI subcommands call the same function)::

    from gnn_sparse.reports import write_report
    write_report("results", "ia-email", "reports/ia-email",
                 methods=["dense", "admm", "dst-ee", "rigl", "set"],
                 sparsities=[0.8, 0.9, 0.98], seeds=[0, 1, 2])

:func:`expected_runs` enumerates the runs a grid needs (for running the missing ones) and
:data:`PRESETS` holds the ``quick``, ``medium`` and ``paper`` epoch budgets.
:mod:`gnn_sparse.reports.compare` holds the ``compare`` / ``report`` subcommands (their
parsers and bodies; :mod:`gnn_sparse.cli` dispatches): :mod:`gnn_sparse.reports.gridrun`
trains a grid's missing runs through the normal runner, :mod:`gnn_sparse.reports.manifest`
keeps the grid record, and :func:`write_report` writes the report.
"""
from gnn_sparse.reports.grid import (
    DEFAULT_C_VALUES, DEFAULT_METHODS, DEFAULT_SEEDS, DEFAULT_SPARSITIES, PRESETS, Preset, RunKey, expected_runs,
)
from gnn_sparse.reports.records import (
    NoRunsError, Run, data_fingerprint, exploration_curve, load_runs, run_versions, validation_curve,
)
from gnn_sparse.reports.report import REPORT_FILES, write_report

__all__ = [
    "DEFAULT_C_VALUES", "DEFAULT_METHODS", "DEFAULT_SEEDS", "DEFAULT_SPARSITIES", "PRESETS", "Preset", "RunKey",
    "expected_runs", "NoRunsError", "Run", "data_fingerprint", "exploration_curve", "load_runs", "run_versions",
    "validation_curve", "REPORT_FILES", "write_report",
]

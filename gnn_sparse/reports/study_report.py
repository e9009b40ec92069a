"""The exploration study's results page: the rules of :mod:`gnn_sparse.reports.study` applied
to the tuning runs and the confirmation reports, written as one Markdown file.

* **Tuning**: the mean validation accuracy of every (row, knob) over the development graphs,
  the chosen knob per variant and the tuning half of H2 (interior and above both endpoints).
* **Confirmation** (once its reports exist): every variant claim with its family-wise Holm
  p value (H1: variant - RigL; H2: variant - never-active first), the H1 verdict per variant,
  the TOST equivalence to RigL and the zero-gradient check (H3).

Nothing here is chosen after seeing the results: the knob grids are the pre-registered ones
(:data:`KNOB_GRIDS`) and every rule is a function of :mod:`~gnn_sparse.reports.study`.
"""
from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path
from typing import Sequence

import pandas as pd

from gnn_sparse.reports.claims import format_p
from gnn_sparse.reports.records import load_runs
from gnn_sparse.reports.report import C_STUDY_CSV, CLAIMS_CSV
from gnn_sparse.reports.study import confirm, h1_wins, interior_optimum, tune, zero_gradient_check
from gnn_sparse.reports.tables import markdown_table
from gnn_sparse.utils.io import atomic_write

KNOB_GRIDS = {"dst-ee-normalized": [0.01, 0.03, 0.1, 0.3], "dst-ee-ucb": [0.03, 0.1, 0.3, 1.0],
              "dst-ee-quota": [0.1, 0.25, 0.5, 0.75]}
"""The pre-registered knob grid of each variant row (docs/reports/exploration_study.md)."""


class StudyInputError(ValueError):
    """A tuning folder or confirmation report that the study cannot use."""


def tuning_runs(tuning: Sequence[tuple[str, str | os.PathLike]]):
    """The finished runs of every ``(dataset, results folder)`` of the tuning."""
    runs = []
    for dataset, folder in tuning:
        loaded = load_runs(folder, dataset)
        if not loaded.runs:
            raise StudyInputError(f"{folder}: no finished {dataset} runs")
        runs += loaded.runs
    return runs


def confirmation_frames(reports: Sequence[str | os.PathLike]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``claims.csv`` and ``c_study.csv`` rows of every confirmation report folder, each
    with a ``report`` column (the folder's name)."""
    claims, studies = [], []
    for folder in map(Path, reports):
        for name, out in ((CLAIMS_CSV, claims), (C_STUDY_CSV, studies)):
            path = folder / name
            if not path.is_file():
                raise StudyInputError(f"{path}: missing; build the report with 'gnn-sparse report' first")
            out.append(pd.read_csv(path, keep_default_na=False, na_values=[""]).assign(report=folder.name))
    return pd.concat(claims, ignore_index=True), pd.concat(studies, ignore_index=True)


def _knob(value) -> str:
    return "–" if pd.isna(value) else f"{value:g}"


def tuning_markdown(tuning: pd.DataFrame, grids=KNOB_GRIDS) -> list[str]:
    """The tuning table (mean validation accuracy per row and knob) and the H2 tuning check."""
    table = pd.DataFrame({
        "row": tuning["row"].where(~((tuning["row"] == "dst-ee-quota") & (tuning["knob"] == 1.0)),
                                   "never-active first (quota, rho=1)"),
        "knob": tuning["knob"].map(_knob),
        "mean validation accuracy (%)": tuning["mean"].map(lambda v: f"{v:.2f}"),
        "runs": tuning["n"],
        "chosen": tuning["chosen"].map(lambda c: "**chosen**" if c else ""),
    })
    h2 = interior_optimum(tuning, grids)
    check = pd.DataFrame({
        "row": h2["row"], "knob": h2["knob"].map(_knob), "mean": h2["mean"].map(lambda v: f"{v:.2f}"),
        "RigL": h2["rigl"].map(lambda v: f"{v:.2f}"),
        "never-active first": h2["never_active_first"].map(lambda v: f"{v:.2f}"),
        "interior knob": h2["interior"].map({True: "yes", False: "no"}),
        "above both endpoints": h2["above_both"].map({True: "yes", False: "no"}),
    })
    return ["## Tuning (validation accuracy, development graphs)", "",
            markdown_table(table), "",
            "H2, tuning half: the chosen knob is interior to its grid and its mean is above both endpoints'.", "",
            markdown_table(check), ""]


def confirmation_markdown(claims: pd.DataFrame, studies: pd.DataFrame) -> list[str]:
    """The confirmation verdicts (H1 with its equivalence test, H2, H3)."""
    verdicts = confirm(claims)
    if verdicts.empty:
        raise StudyInputError("the confirmation reports hold no variant claims")

    def family(vs: str) -> pd.DataFrame:
        part = verdicts[verdicts["vs"] == vs]
        columns = {
            "graph": part["dataset"], "sparsity": part["sparsity"].map(lambda s: f"{s:.0%}"),
            "variant": part["row"] + " (" + part["knob"].map(_knob) + ")",
            "mean difference [95% CI] (points)": [
                f"{m:+.2f} [{lo:+.2f}, {hi:+.2f}] (n={int(n)})"
                for m, lo, hi, n in zip(part["mean"], part["ci_low"], part["ci_high"], part["n"])],
            "p": part["p_value"].map(format_p), "p, Holm over the family": part["p_family"].map(format_p),
            "verdict (Holm)": part["verdict_family"],
        }
        if vs == "rigl":
            columns["equivalent within ±0.5 (TOST, Holm)"] = [
                f"{v} (p={format_p(p)})" for v, p in zip(part["equivalent_family"], part["tost_family"])]
        return pd.DataFrame(columns)

    primary, h2 = verdicts[verdicts["vs"] == "rigl"], verdicts[verdicts["vs"] == "never-active-first"]
    wins = h1_wins(verdicts)
    wins_table = pd.DataFrame({"variant": wins["row"] + " (" + wins["knob"].map(_knob) + ")",
                               "cells": wins["cells"], "beats RigL": wins["beats_rigl"],
                               "worse than RigL": wins["worse_than_rigl"], "H1": wins["h1"]})
    zero = zero_gradient_check(studies)
    zero_table = pd.DataFrame({
        "report": zero["report"], "sparsity": zero["sparsity"].map(lambda s: f"{s:.0%}"), "row": zero["row"],
        "zero-gradient share": zero["zero_grad_share"].map(lambda v: "–" if pd.isna(v) else f"{v:.3f}"),
        "RigL's": zero["rigl_zero_grad_share"].map(lambda v: "–" if pd.isna(v) else f"{v:.3f}"),
        "at most RigL's": zero["at_most_rigl"].map({True: "yes", False: "no", None: "–"}),
    })
    return ["## Confirmation (test accuracy at the epoch chosen on validation, paired by seed)", "",
            f"### H1: variant - RigL ({len(primary)} tests, one Holm family)", "",
            markdown_table(family("rigl")), "",
            "H1 per variant: a win needs at least one cell where it beats RigL and none where it is "
            "significantly worse, both after Holm's correction.", "",
            markdown_table(wins_table), "",
            f"### H2: variant - never-active first ({len(h2)} tests, one Holm family)", "",
            markdown_table(family("never-active-first")), "",
            "### H3: zero-gradient growth (share of growth slots, mean over seeds; descriptive)", "",
            markdown_table(zero_table), ""]


def write_study_report(out: str | os.PathLike, tuning: Sequence[tuple[str, str | os.PathLike]],
                       confirmation: Sequence[str | os.PathLike] = (), command: str = "",
                       preregistration: str | os.PathLike | None = None) -> Path:
    """Write the study's results page to ``out`` (atomically) and return its path:
    the tuning from ``tuning`` (``(dataset, results folder)`` pairs) and, when given, the
    confirmation from its report folders; ``preregistration`` (the design's page) is linked."""
    path = Path(out)
    design = ("the pre-registration" if preregistration is None else
              f"[the pre-registration]({Path(os.path.relpath(preregistration, path.parent)).as_posix()})")
    lines = ["# Exploration study: results", "",
             f"Generated from the runs by the command below; the design, the hypotheses and the rules are "
             f"fixed in {design}.", ""]
    if command:
        lines += ["```", command, "```", ""]
    lines += tuning_markdown(tune(tuning_runs(tuning)))
    if confirmation:
        lines += confirmation_markdown(*confirmation_frames(confirmation))
    else:
        lines += ["## Confirmation", "", "Not run yet.", ""]
    with atomic_write(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))
    return path



def add_study_parser(subparsers, **kwargs) -> argparse.ArgumentParser:
    """The ``study`` subcommand: the exploration study's results page from its runs."""
    p = subparsers.add_parser(
        "study", allow_abbrev=False, **kwargs,
        help="write the exploration study's results page from its tuning runs and confirmation reports",
        description="Apply the pre-registered rules of the exploration study (knob tuning on validation, "
                    "Holm-corrected confirmation, zero-gradient check) and write its results page.")
    p.add_argument("--tuning", nargs="+", required=True, metavar="DATASET=RESULTS_DIR",
                   help="the tuning runs: a development graph and the folder of its results, per graph")
    p.add_argument("--confirmation", nargs="+", default=[], metavar="REPORT_DIR",
                   help="the confirmation grids' report folders (each with claims.csv and c_study.csv)")
    p.add_argument("--out", required=True, metavar="FILE", help="the Markdown page to write")
    p.add_argument("--preregistration", default=None, metavar="FILE", help="the design's page, linked from the results")
    return p


def study_main(args: argparse.Namespace, parser: argparse.ArgumentParser, argv: Sequence[str]) -> int:
    """``study``: exit code 0, or 2 with one line for a malformed or unusable input."""
    tuning = []
    for entry in args.tuning:
        dataset, sep, folder = entry.partition("=")
        if not sep or not dataset or not folder:
            print(f"{parser.prog}: error: --tuning takes DATASET=RESULTS_DIR, got {entry!r}", file=sys.stderr)
            return 2
        tuning.append((dataset, folder))
    try:
        path = write_study_report(args.out, tuning, args.confirmation, command=shlex.join(["gnn-sparse", "study", *argv]),
                                  preregistration=args.preregistration)
    except (StudyInputError, FileNotFoundError) as err:
        print(f"{parser.prog}: error: {err}", file=sys.stderr)
        return 2
    print(f"study: {path}")
    return 0

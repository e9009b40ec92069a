r"""The analysis of the pre-registered exploration study (``docs/reports/exploration_study.md``),
exactly as the design fixes it, so that no choice is made after seeing the results.

* **Tuning** (:func:`tune`): each variant row's knob is the one with the highest mean
  validation accuracy over the development graphs x sparsities x seeds (ties: the smaller
  knob); the endpoints RigL and never-active first (the quota at ``rho = 1``) are listed
  beside them, and whether the chosen knob is interior and above both (H2, first half).
* **Confirmation** (:func:`confirm`): from the confirmation reports' claims, the primary
  family "variant beats RigL" (one test per variant x graph x sparsity) and the H2 family
  "variant beats never-active first", each Holm-corrected over the whole family
  (:func:`~gnn_sparse.reports.statistics.holm`), with the TOST equivalence to RigL as a
  secondary family. A variant *wins H1* when it beats RigL in at least one cell and is
  significantly worse in none.
* **Zero-gradient growth** (:func:`zero_gradient_check`, H3): the variant's share of growth
  slots with a gradient of exactly zero, against RigL's, per confirmation cell.
"""
from __future__ import annotations

import math
import re
from typing import Iterable, Mapping, Sequence

import pandas as pd

from gnn_sparse.reports.claims import QUOTA_ROW
from gnn_sparse.reports.grid import VARIANT_ROWS
from gnn_sparse.reports.paired import metric_value
from gnn_sparse.reports.records import Run
from gnn_sparse.reports.statistics import decided, equivalence_verdict, holm

NEVER_ACTIVE_FIRST = (QUOTA_ROW, 1.0)
"""The exploration end of every knob: the quota at ``rho = 1``."""

CLAIM = re.compile(r"^(?P<row>dst-ee-[a-z]+)-(?P<knob>[0-9.e+-]+)-beats-(?P<other>rigl|never-active-first)-"
                   r"(?P<sparsity>[0-9.]+)$")


def tune(runs: Iterable[Run], metric: str = "val_accuracy") -> pd.DataFrame:
    """One row per (row, knob) of the tuning runs, with ``mean`` (``metric`` over every graph,
    sparsity and seed), ``n`` and ``chosen``: the variant row's best knob (ties: the smaller).
    The endpoints are rows ``rigl`` and the quota at ``rho = 1``."""
    values: dict[tuple[str, float | None], list[float]] = {}
    for run in runs:
        if run.failed:
            continue
        key = (run.key.method, run.key.c)
        if run.key.method in VARIANT_ROWS or run.key.method == "rigl":
            value = metric_value(run, metric)
            if value is not None:
                values.setdefault(key, []).append(value)
    rows = [{"row": row, "knob": knob, "mean": math.fsum(v) / len(v), "n": len(v)}
            for (row, knob), v in sorted(values.items(), key=lambda item: (item[0][0], item[0][1] or 0.0))]
    frame = pd.DataFrame(rows, columns=["row", "knob", "mean", "n"])
    frame["chosen"] = False
    for row in VARIANT_ROWS:
        mine = frame[(frame["row"] == row) & ~((frame["row"] == QUOTA_ROW) & (frame["knob"] == 1.0))]
        if not mine.empty:
            best = mine.sort_values(["mean", "knob"], ascending=[False, True]).index[0]
            frame.loc[best, "chosen"] = True
    return frame


def interior_optimum(tuning: pd.DataFrame, grid: Mapping[str, Sequence[float]]) -> pd.DataFrame:
    """Per variant row: the chosen knob, whether it is interior to its pre-registered
    ``grid`` (not the smallest or largest value) and whether its mean is above both
    endpoints' (RigL and never-active first): the tuning half of H2."""
    def endpoint(row: str, knob: float | None) -> float:
        hit = tuning[(tuning["row"] == row) & ((tuning["knob"] == knob) if knob is not None else tuning["knob"].isna())]
        return float(hit["mean"].iloc[0]) if not hit.empty else math.nan

    rigl, never = endpoint("rigl", None), endpoint(*NEVER_ACTIVE_FIRST)
    out = []
    for row, values in grid.items():
        chosen = tuning[(tuning["row"] == row) & tuning["chosen"]]
        if chosen.empty:
            continue
        knob, mean = float(chosen["knob"].iloc[0]), float(chosen["mean"].iloc[0])
        out.append({"row": row, "knob": knob, "mean": mean, "rigl": rigl, "never_active_first": never,
                    "interior": min(values) < knob < max(values),
                    "above_both": mean > rigl and mean > never})
    return pd.DataFrame(out)


def confirm(claims: pd.DataFrame) -> pd.DataFrame:
    """The confirmation verdicts: one row per variant claim of ``claims`` (the rows of the
    confirmation reports' ``claims.csv``, with a ``report`` column), Holm-corrected within its
    family (``vs`` = ``rigl``: the primary family with its TOST equivalence; ``vs`` =
    ``never-active-first``: H2)."""
    parsed = claims["claim_id"].str.extract(CLAIM)
    frame = claims.join(parsed.drop(columns=[c for c in parsed.columns if c in claims.columns])).dropna(subset=["row"]).copy()
    frame = frame.rename(columns={"other": "vs"})
    frame["knob"] = frame["knob"].astype(float)
    out = []
    for _, family in frame.groupby("vs", sort=False):
        family = family.copy()
        family["p_family"] = holm(family["p_value"].astype(float).tolist())
        family["verdict_family"] = [decided(p, float(m), float(sd), float(t)) for p, m, sd, t in
                                    zip(family["p_family"], family["mean"], family["std"], family["threshold"])]
        family["tost_family"] = holm(family["tost_p"].astype(float).tolist())
        family["equivalent_family"] = [equivalence_verdict(p) for p in family["tost_family"]]
        out.append(family)
    return pd.concat(out) if out else frame


def h1_wins(verdicts: pd.DataFrame) -> pd.DataFrame:
    """Per variant (row, knob): cells where it beats RigL and where it is worse (Holm over
    the primary family), and the H1 verdict: a win needs at least one of the first and none
    of the second."""
    primary = verdicts[verdicts["vs"] == "rigl"]
    rows = []
    for (row, knob), group in primary.groupby(["row", "knob"], sort=True):
        beats = int((group["verdict_family"] == "holds").sum())
        # "does not hold" with a mean below 0: significantly worse (identical runs are not)
        worse = int(((group["verdict_family"] == "does not hold") & (group["mean"] < group["threshold"])).sum())
        rows.append({"row": row, "knob": knob, "cells": len(group), "beats_rigl": beats, "worse_than_rigl": worse,
                     "h1": "win" if beats and not worse else "no win"})
    return pd.DataFrame(rows, columns=["row", "knob", "cells", "beats_rigl", "worse_than_rigl", "h1"])


def zero_gradient_check(studies: pd.DataFrame) -> pd.DataFrame:
    """H3 per confirmation cell: each variant row's zero-gradient share of growth slots
    against RigL's, from the reports' ``c_study.csv`` rows (with a ``report`` column);
    ``at_most_rigl`` is the pre-registered criterion (descriptive, no test)."""
    out = []
    for (report, sparsity), group in studies.groupby(["report", "sparsity"], sort=True):
        rigl = group[group["method"] == "rigl"]["zero_grad_share"]
        rigl_share = float(rigl.iloc[0]) if not rigl.empty else math.nan
        for _, r in group[group["method"].isin(list(VARIANT_ROWS))].iterrows():
            share = float(r["zero_grad_share"])
            out.append({"report": report, "sparsity": sparsity, "row": r["row"], "zero_grad_share": share,
                        "rigl_zero_grad_share": rigl_share,
                        "at_most_rigl": bool(share <= rigl_share) if not math.isnan(share + rigl_share) else None})
    return pd.DataFrame(out, columns=["report", "sparsity", "row", "zero_grad_share", "rigl_zero_grad_share",
                                      "at_most_rigl"])


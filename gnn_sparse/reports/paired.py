r"""Paired differences between two rows of a grid, seed by seed, with a t confidence interval.

Runs with the same seed share everything the seed decides: the data split and negatives
(link prediction), the initial weights and the batch order. Comparing two methods seed by
seed removes that shared noise: for the seeds where *both* have a finished run,

.. math::
    d_i = x^{A}_i - x^{B}_i, \qquad \bar{d} = \frac{1}{n}\sum_i d_i, \qquad
    s_d = \sqrt{\frac{1}{n-1}\sum_i (d_i - \bar{d})^2},

    \bar{d} \pm t_{1-\alpha/2,\, n-1}\, \frac{s_d}{\sqrt{n}}

(the paired t interval; ``scipy.stats.t`` gives the quantile). A seed where either side is
missing or failed is dropped from the pair, and the drop is recorded with its reason.
With fewer than two pairs the interval is undefined (``nan``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Sequence

from scipy import stats

from gnn_sparse.reports.grid import ADMM_ROWS, DENSE_METHOD, RunKey, make_key
from gnn_sparse.reports.records import Run, exploration_curve
from gnn_sparse.reports.tables import row_label

CONFIDENCE = 0.95


def t_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> tuple[float, float, float, float]:
    """``(mean, sample std, low, high)`` of the t interval of the mean of ``values``.

    ``std``, ``low`` and ``high`` are ``nan`` with fewer than two values; with zero spread
    the interval is the mean itself.

    Examples:
        >>> [round(v, 4) for v in t_interval([1.0, 2.0, 3.0])]
        [2.0, 1.0, -0.4841, 4.4841]
    """
    n = len(values)
    if n == 0:
        return (math.nan,) * 4
    mean = math.fsum(values) / n
    if n < 2:
        return mean, math.nan, math.nan, math.nan
    std = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
    half = stats.t.ppf((1.0 + confidence) / 2.0, n - 1) * std / math.sqrt(n)
    return mean, std, mean - half, mean + half


@dataclass(frozen=True)
class Side:
    """One side of a comparison: a method, and DST-EE's ``c`` (``None`` for other methods)."""

    method: str
    c: float | None = None

    @property
    def label(self) -> str:
        return row_label(self.method, self.c)

    def key(self, sparsity: float | None, seed: int) -> RunKey:
        return make_key(self.method, None if self.method == DENSE_METHOD else sparsity, seed, self.c)


@dataclass(frozen=True)
class PairedDifference:
    """``a - b`` of one metric at one sparsity, per seed, and its t interval.

    ``seeds``/``differences`` are the paired seeds and their ``d_i``; ``dropped`` holds
    ``(seed, reason)`` for each seed of the grid left out because a side had no finished run.
    """

    a: Side
    b: Side
    sparsity: float | None
    metric: str
    seeds: tuple[int, ...]
    differences: tuple[float, ...]
    dropped: tuple[tuple[int, str], ...]
    confidence: float = CONFIDENCE

    @property
    def label(self) -> str:
        return f"{self.a.label} - {self.b.label}"

    @property
    def n(self) -> int:
        return len(self.differences)

    @property
    def interval(self) -> tuple[float, float, float, float]:
        """``(mean, std, low, high)``, see :func:`t_interval`."""
        return t_interval(self.differences, self.confidence)

    def per_seed_text(self, digits: int = 2) -> str:
        """``"0: +0.12, 1: -0.30"``, the per-seed differences."""
        return ", ".join(f"{s}: {d:+.{digits}f}" for s, d in zip(self.seeds, self.differences))

    def dropped_text(self) -> str:
        """``"seed 2 (no finished run of RigL)"``, or ``""``."""
        return "; ".join(f"seed {s} ({why})" for s, why in self.dropped)


def metric_value(run: Run, metric: str) -> float | None:
    """A run's value of ``metric``: a results key, or ``final_exploration_rate`` (R after the
    last mask update, as recorded in ``exploration_history``). ``None`` when not finite."""
    if metric == "final_exploration_rate":
        curve = exploration_curve(run.result)
        value = curve[-1] if curve else run.result.get("exploration_rate")
    else:
        value = run.result.get(metric)
    if value is None or not math.isfinite(float(value)):
        return None
    return float(value)


def paired_difference(runs: Iterable[Run], a: Side, b: Side, sparsity: float | None, seeds: Iterable[int],
                      metric: str = "test_accuracy", confidence: float = CONFIDENCE) -> PairedDifference:
    """``a - b`` of ``metric`` at ``sparsity``, paired by seed over ``seeds``.

    Dense (no sparsity) is paired with the other side's run of the same seed at any sparsity.
    """
    found = {r.key: r for r in runs}
    used, diffs, dropped = [], [], []
    for seed in sorted(set(int(s) for s in seeds)):
        values, reasons = [], []
        for side in (a, b):
            run = found.get(side.key(sparsity, seed))
            value = None if run is None else metric_value(run, metric)
            if value is None:
                reasons.append(f"{'no finished' if run is None or run.failed else 'no ' + metric + ' in the'} "
                               f"run of {side.label}")
            values.append(value)
        if reasons:
            dropped.append((seed, "; ".join(reasons)))
        else:
            used.append(seed)
            diffs.append(values[0] - values[1])
    return PairedDifference(a, b, sparsity, metric, tuple(used), tuple(diffs), tuple(dropped), confidence)


def side_mean(runs: Iterable[Run], side: Side, sparsity: float | None, seeds: Iterable[int],
              metric: str = "test_accuracy") -> float:
    """Mean of ``metric`` over the finished runs of ``side`` at ``sparsity`` among ``seeds``
    (``nan`` when there is none)."""
    found = {r.key: r for r in runs}
    values = [v for v in (metric_value(found[k], metric) for k in (side.key(sparsity, int(s)) for s in set(seeds))
                          if k in found) if v is not None]
    return math.fsum(values) / len(values) if values else math.nan


def stronger_side(runs: Iterable[Run], sides: Sequence[Side], sparsity: float | None, seeds: Iterable[int],
                  metric: str = "test_accuracy") -> Side:
    """The side with the highest mean ``metric`` at ``sparsity`` over ``seeds`` (:func:`side_mean`);
    the first side on ties or when no side has a finished run."""
    runs, seeds = list(runs), list(seeds)
    best, best_mean = sides[0], side_mean(runs, sides[0], sparsity, seeds, metric)
    for side in sides[1:]:
        mean = side_mean(runs, side, sparsity, seeds, metric)
        if not math.isnan(mean) and (math.isnan(best_mean) or mean > best_mean):
            best, best_mean = side, mean
    return best


PAIRED_METRICS = ("test_accuracy", "test_mrr")
"""The metrics of the paired section, both at the selected epoch: the paper's test accuracy,
then the ranking metric test MRR (only when some run of the grid has it: runs older than the
ranking metrics have none)."""

METRIC_UNITS = {"test_accuracy": ("test accuracy (points)", "points", 2), "test_mrr": ("test MRR", "MRR", 4)}
"""How each paired metric is shown: ``(section title, column unit, decimals)``."""


def standard_pairs(runs: Iterable[Run], grid: dict, default_c: float | None,
                   metrics: Sequence[str] = PAIRED_METRICS) -> list[PairedDifference]:
    """DST-EE (its main ``c``) minus RigL, ADMM (each of its rows) and dense at every sparsity of the grid,
    for each of those methods the grid has, for each of ``metrics`` (the first always, the
    others when some run has them)."""
    from gnn_sparse.reports.grid import EXPLORATION_METHOD

    runs = list(runs)
    if EXPLORATION_METHOD not in grid["methods"]:
        return []
    dst = Side(EXPLORATION_METHOD, default_c)
    others = [Side(m) for m in ("rigl", *ADMM_ROWS, DENSE_METHOD) if m in grid["methods"]]
    shown = [m for i, m in enumerate(metrics) if i == 0 or any(metric_value(r, m) is not None for r in runs)]
    return [paired_difference(runs, dst, other, s, grid["seeds"], metric)
            for metric in shown for other in others for s in grid["sparsities"]]


def interval_text(pair: PairedDifference, digits: int = 2) -> str:
    """``"-0.42 [-0.90, +0.06] (n=3)"``, with the number of dropped seeds when any."""
    if pair.n == 0:
        return f"no pairs (n=0, {len(pair.dropped)} dropped)"
    mean, _, low, high = pair.interval
    interval = "CI undefined" if math.isnan(low) else f"[{low:+.{digits}f}, {high:+.{digits}f}]"
    dropped = f", {len(pair.dropped)} dropped" if pair.dropped else ""
    return f"{mean:+.{digits}f} {interval} (n={pair.n}{dropped})"


def paired_markdown(pairs: Sequence[PairedDifference]) -> list[str]:
    """The ``table.md`` sections, one per metric (:data:`METRIC_UNITS`): a cell per comparison
    and sparsity, then the per-seed differences."""
    import pandas as pd

    from gnn_sparse.reports.tables import markdown_table, sparsity_header

    lines = []
    for index, metric in enumerate(dict.fromkeys(p.metric for p in pairs)):
        title, unit, digits = METRIC_UNITS.get(metric, (metric, metric, 4))
        group = [p for p in pairs if p.metric == metric]
        labels = list(dict.fromkeys(p.label for p in group))
        headers = list(dict.fromkeys(sparsity_header(p.sparsity) for p in group))
        cells = {(p.label, sparsity_header(p.sparsity)): interval_text(p, digits) for p in group}
        wide = pd.DataFrame([[label, *(cells.get((label, h), "n/a") for h in headers)] for label in labels],
                            columns=[f"difference ({unit})", *headers])
        seeds = pd.DataFrame([[p.label, sparsity_header(p.sparsity), p.per_seed_text(digits) or "–",
                               p.dropped_text() or "–"] for p in group],
                             columns=["difference", "sparsity", "per seed (seed: d)", "dropped"])
        about = (["Differences are taken seed by seed (the same seed gives both methods the same initial weights "
                  "and batch order, and in link prediction the same split, negatives and node features), then "
                  "averaged; the interval is the paired t interval (scipy.stats.t, n - 1 degrees of freedom). A "
                  "seed where either method has no finished run is dropped from that pair and listed."]
                 if index == 0 else
                 [f"The same pairing for the {title} at the selected epoch (each test positive ranked against its "
                  "fixed negatives, the same for every method of a seed). A run without it (older than the ranking "
                  "metrics, or run with `--ranking-negatives 0`) is dropped from its pairs and listed."])
        lines += [f"## Paired differences in {title}, mean and 95% t interval over seeds", "", *about, "",
                  markdown_table(wide), "", markdown_table(seeds), ""]
    return lines


def paired_frame(pairs: Sequence[PairedDifference]) -> "pd.DataFrame":
    """The ``table.csv`` rows: one per metric and comparison, ``metric = paired_<metric>``,
    ``label`` the comparison, and per sparsity ``_mean, _std, _n, _n_expected, _ci_low,
    _ci_high, _per_seed, _dropped``."""
    import pandas as pd

    from gnn_sparse.reports.tables import sparsity_header

    rows: dict[tuple[str, str], dict] = {}
    for p in pairs:
        h = sparsity_header(p.sparsity)
        mean, std, low, high = p.interval
        row = rows.setdefault((p.metric, p.label), {"metric": f"paired_{p.metric}", "source": "paired",
                                                    "label": p.label, "epochs": ""})
        row.update({f"{h}_mean": mean, f"{h}_std": std, f"{h}_n": p.n, f"{h}_n_expected": p.n + len(p.dropped),
                    f"{h}_ci_low": low, f"{h}_ci_high": high, f"{h}_per_seed": p.per_seed_text(4),
                    f"{h}_dropped": p.dropped_text()})
    return pd.DataFrame(list(rows.values()))

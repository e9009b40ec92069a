r"""Tests behind a claim's verdict: a paired t test, Holm's correction, TOST equivalence and
the minimum detectable difference, all from statsmodels.

A claim ``Δ > θ`` is tested on the paired differences :math:`d_1 .. d_n` (one per seed):

* **difference test**: the two-sided one-sample t test of :math:`H_0: E[d] = θ`
  (:meth:`statsmodels.stats.weightstats.DescrStatsW.ttest_mean`), so that ``p < α`` exactly
  when the 95% t interval excludes ``θ``; the sign of :math:`\bar d - θ` then says whether the
  claim holds or does not hold. This is the uncorrected verdict of
  :func:`gnn_sparse.reports.claims.verdict`, written as a p value so that it can be corrected.
* **Holm's correction** (:func:`statsmodels.stats.multitest.multipletests`, ``method="holm"``)
  over a family of claims (one report's, or the whole claims table's) keeps the probability of
  any false verdict in the family at most α: sort the ``m`` p values,
  :math:`p_{(i)}` is rejected while :math:`(m - i + 1)\, p_{(i)} < α`.
* **Equivalence (TOST)**: two one-sided tests of :math:`H_0: E[d] \le -δ` and
  :math:`H_0: E[d] \ge +δ` (:meth:`DescrStatsW.ttost_mean`); the larger p below α says
  "the difference is within ±δ", which turns an "inconclusive" into "equivalent". Equivalence
  p values are corrected by Holm in their own family.
* **Minimum detectable difference**: the true mean difference the design (``n`` seeds, the
  observed paired spread :math:`s_d`) would detect with power 0.8 in a two-sided test at α,
  :math:`\mathrm{MDD} = d^{*}(n)\, s_d` with :math:`d^{*}` from
  :meth:`statsmodels.stats.power.TTestPower.solve_power`. A claim whose effect is below its MDD
  can come out "inconclusive" even when it is true.

Degenerate spreads are decided without a t distribution: with :math:`s_d = 0` (identical runs)
the mean itself is the answer (p = 0 when it is off ``θ``, 1 when on it).
"""
from __future__ import annotations

import math
import warnings
from typing import Sequence

import numpy as np

ALPHA = 0.05
"""The family-wise error rate of every verdict (and the level of the 95% intervals)."""

POWER = 0.8
"""The power of the minimum detectable difference."""

EQUIVALENCE_MARGIN = 0.5
"""δ of the equivalence verdict in accuracy points: "no difference beyond 0.5 points" (the
largest shortfall the paper itself calls a match is 0.44 points)."""


def _stats(differences: Sequence[float]):
    from statsmodels.stats.weightstats import DescrStatsW

    return DescrStatsW(np.asarray(differences, dtype=float))


def _spread(differences: Sequence[float]) -> float:
    return float(np.std(np.asarray(differences, dtype=float), ddof=1))


def difference_p(differences: Sequence[float], threshold: float) -> float:
    """Two-sided p value of :math:`H_0: E[d] = θ` (``nan`` with fewer than two differences).

    Examples:
        >>> round(difference_p([1.0, 2.0, 3.0], 0.0), 4)
        0.0742
        >>> difference_p([0.5, 0.5], 0.0), difference_p([0.0, 0.0], 0.0)
        (0.0, 1.0)
    """
    if len(differences) < 2:
        return math.nan
    if _spread(differences) == 0:
        return 1.0 if float(np.mean(differences)) == threshold else 0.0
    return float(_stats(differences).ttest_mean(threshold, alternative="two-sided")[1])


def equivalence_p(differences: Sequence[float], margin: float = EQUIVALENCE_MARGIN) -> float:
    """TOST p value of "``E[d]`` lies within ``(-margin, +margin)``" (``nan`` with fewer than
    two differences or ``margin <= 0``).

    Examples:
        >>> round(equivalence_p([0.1, 0.3, -0.2], 0.5), 4)
        0.0482
    """
    if len(differences) < 2 or not margin > 0:
        return math.nan
    if _spread(differences) == 0:
        return 0.0 if abs(float(np.mean(differences))) < margin else 1.0
    return float(_stats(differences).ttost_mean(-margin, margin)[0])


def holm(p_values: Sequence[float], alpha: float = ALPHA) -> list[float]:
    """Holm-adjusted p values of one family; ``nan`` entries (untestable claims) stay ``nan``
    and are not counted in the family.

    Examples:
        >>> [round(p, 3) for p in holm([0.01, 0.04, float("nan"), 0.03])]
        [0.03, 0.06, nan, 0.06]
    """
    from statsmodels.stats.multitest import multipletests

    p = np.asarray(p_values, dtype=float)
    adjusted = np.full(p.shape, math.nan)
    tested = ~np.isnan(p)
    if tested.any():
        adjusted[tested] = multipletests(p[tested], alpha=alpha, method="holm")[1]
    return [float(v) for v in adjusted]


def minimum_detectable_difference(std: float, n: int, alpha: float = ALPHA, power: float = POWER) -> float:
    """The smallest true mean difference that ``n`` paired seeds with spread ``std`` detect
    with probability ``power`` (two-sided t test at ``alpha``); ``nan`` for ``n < 2``.

    Examples:
        >>> round(minimum_detectable_difference(1.0, 10), 3)
        0.996
    """
    if n < 2 or std is None or not math.isfinite(std):
        return math.nan
    if std == 0:
        return 0.0
    from statsmodels.stats.power import TTestPower

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # solve_power's convergence notes for tiny n
        effect = TTestPower().solve_power(nobs=n, alpha=alpha, power=power, alternative="two-sided")
    return float(effect) * std


def decided(p: float, mean: float, std: float, threshold: float, alpha: float = ALPHA) -> str:
    """The verdict on ``Δ > threshold`` from a (corrected) two-sided p value: ``holds`` when
    ``p < alpha`` and the mean is above the threshold, ``does not hold`` when ``p < alpha`` and
    it is below, or on it with no spread (identical runs do not "beat"); else ``inconclusive``.

    Examples:
        >>> decided(0.01, 0.4, 0.1, 0.0), decided(0.2, 0.4, 0.1, 0.0), decided(1.0, 0.0, 0.0, 0.0)
        ('holds', 'inconclusive', 'does not hold')
    """
    if math.isnan(p) or math.isnan(mean):
        return "inconclusive"
    if p < alpha:
        return "holds" if mean > threshold else "does not hold"
    if std == 0 and mean <= threshold:
        return "does not hold"
    return "inconclusive"


def equivalence_verdict(p: float, alpha: float = ALPHA) -> str:
    """``equivalent`` when the (corrected) TOST p value is below ``alpha``, ``""`` when the
    claim has no equivalence test, else ``not shown``."""
    if math.isnan(p):
        return ""
    return "equivalent" if p < alpha else "not shown"

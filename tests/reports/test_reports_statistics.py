"""Holm, TOST, p values and the minimum detectable difference behind the claims
(gnn_sparse.reports.statistics), against hand computations from scipy's t distribution."""
import math

import pandas as pd
import pytest
from scipy import stats

from gnn_sparse.reports.claims import R_FLOOR, correct
from gnn_sparse.reports.claims_index import claims_table, collect_claims
from gnn_sparse.reports.statistics import (decided, difference_p, equivalence_p, holm,
                                           minimum_detectable_difference)

from test_reports_claims import build


def t_p(diffs, theta):
    n = len(diffs)
    mean = sum(diffs) / n
    sd = math.sqrt(sum((d - mean) ** 2 for d in diffs) / (n - 1))
    return mean, sd, 2 * stats.t.sf(abs(mean - theta) / (sd / math.sqrt(n)), n - 1)


def test_difference_p_is_the_two_sided_paired_t_test():
    diffs = [1.0, 2.0, 4.0, -0.5]
    _, _, expected = t_p(diffs, 0.5)
    assert difference_p(diffs, 0.5) == pytest.approx(expected)
    assert math.isnan(difference_p([1.0], 0.0))


def test_p_below_alpha_exactly_when_the_95_interval_excludes_the_threshold():
    diffs = [0.2, 0.9, 0.4]
    mean, sd, _ = t_p(diffs, 0.0)
    half = stats.t.ppf(0.975, 2) * sd / math.sqrt(3)
    assert difference_p(diffs, mean - half * 1.001) < 0.05 < difference_p(diffs, mean - half * 0.999)


def test_equivalence_is_the_larger_of_two_one_sided_p_values():
    diffs = [0.1, 0.3, -0.2, 0.05]
    n, mean = len(diffs), sum(diffs) / len(diffs)
    se = math.sqrt(sum((d - mean) ** 2 for d in diffs) / (n - 1)) / math.sqrt(n)
    lower = stats.t.sf((mean + 0.5) / se, n - 1)
    upper = stats.t.cdf((mean - 0.5) / se, n - 1)
    assert equivalence_p(diffs, 0.5) == pytest.approx(max(lower, upper))
    assert equivalence_p([2.0, 2.2, 1.9], 0.5) > 0.5  # far outside the margin
    assert math.isnan(equivalence_p(diffs, float("nan")))


def test_holm_by_hand_and_untested_claims_stay_out_of_the_family():
    # sorted 0.01 < 0.02 < 0.04 of m = 3: 3 * 0.01, max(0.03, 2 * 0.02), max(0.04, 1 * 0.04)
    assert holm([0.04, 0.01, 0.02]) == pytest.approx([0.04, 0.03, 0.04])
    adjusted = holm([0.02, float("nan"), 0.5])
    assert adjusted[0] == pytest.approx(0.04) and math.isnan(adjusted[1]) and adjusted[2] == pytest.approx(0.5)
    assert all(math.isnan(p) for p in holm([float("nan")]))


def test_minimum_detectable_difference_has_the_requested_power():
    sd, n = 1.3, 5
    mdd = minimum_detectable_difference(sd, n)
    # power of the two-sided t test at a true difference of mdd, from the noncentral t
    crit = stats.t.ppf(0.975, n - 1)
    nc = mdd / (sd / math.sqrt(n))
    power = stats.nct.sf(crit, n - 1, nc) + stats.nct.cdf(-crit, n - 1, nc)
    assert power == pytest.approx(0.8, abs=1e-4)
    assert minimum_detectable_difference(sd, 10) < mdd  # more seeds, smaller MDD
    assert math.isnan(minimum_detectable_difference(sd, 1))


def test_degenerate_spreads_are_decided_by_the_mean():
    assert difference_p([0.0, 0.0, 0.0], 0.0) == 1.0
    assert decided(1.0, 0.0, 0.0, 0.0) == "does not hold"  # identical runs do not "beat"
    assert difference_p([0.3, 0.3], 0.0) == 0.0 and decided(0.0, 0.3, 0.0, 0.0) == "holds"
    assert equivalence_p([0.1, 0.1], 0.5) == 0.0 and equivalence_p([0.7, 0.7], 0.5) == 1.0


def test_report_claims_carry_holm_equivalence_and_mdd(tmp_path):
    diffs = [0.05, -0.05, 0.02]
    _, _, claims = build(tmp_path, diffs)
    row = claims.set_index("claim_id").loc["beats-rigl-0.98"]
    assert row["verdict"] == "inconclusive"
    assert row["p_value"] == pytest.approx(t_p(diffs, 0.0)[2])
    tested = claims["p_value"].dropna()
    assert list(claims["p_holm"].dropna()) == pytest.approx(holm(list(tested)))
    assert row["equivalence_margin"] == 0.5
    assert row["tost_p"] == pytest.approx(equivalence_p(diffs, 0.5))
    assert row["equivalence"] == ("equivalent" if row["tost_p_holm"] < 0.05 else "not shown")
    assert row["mdd"] == pytest.approx(minimum_detectable_difference(row["std"], 3))
    md = (tmp_path / "reports" / "toy" / "table.md").read_text()
    assert "verdict (Holm)" in md and "within ±0.5 (TOST, Holm)" in md


def test_holm_turns_a_lone_significant_claim_inconclusive_in_a_big_family():
    base = dict(claim="c", paper="p", dataset="g", protocol="x", comparison="a - b", metric="test_accuracy",
                n=5, n_seeds=5, per_seed="", dropped="", differs="", equivalence_margin=0.5, tost_p=float("nan"),
                mdd=1.0, verdict="", threshold=0.0, mean=1.0, std=1.0, ci_low=0.1, ci_high=1.9)
    rows = [dict(base, claim_id="hit", p_value=0.01)] + [dict(base, claim_id=f"null{i}", p_value=0.9)
                                                          for i in range(9)]
    alone = correct(pd.DataFrame(rows[:1]))
    assert alone["verdict_holm"].iloc[0] == "holds"
    family = correct(pd.DataFrame(rows), "_table")
    assert family["p_holm_table"].iloc[0] == pytest.approx(0.1)
    assert family["verdict_holm_table"].iloc[0] == "inconclusive"


def test_r_claims_have_an_effect_size_floor(tmp_path):
    from test_reports_build import fake_result, write

    results = tmp_path / "results"
    for seed in range(3):
        for c, rate in ((1e-4, 0.30), (1e-2, 0.30 + R_FLOOR / 2 + 0.0001 * seed)):  # R rises, but by < 1%
            result = fake_result("dst-ee", 0.9, seed, 80.0, dataset="toy", c=c)
            result["exploration_history"] = [{"t": 10, "exploration_rate": rate}]
            write(results, f"dst-{c}-{seed}.json", result)
    from gnn_sparse.reports import write_report

    out = write_report(results, "toy", tmp_path / "reports" / "toy", methods=["dst-ee"], sparsities=[0.9],
                       seeds=[0, 1, 2], c_values=[1e-4, 1e-2])
    row = pd.read_csv(out / "claims.csv").set_index("claim_id").loc["c-raises-R-0.9"]
    assert row["threshold"] == R_FLOOR and row["mean"] > 0
    assert row["verdict"] == "does not hold"
    assert math.isnan(row["tost_p"])  # no equivalence test on R
    table = claims_table(collect_claims(tmp_path / "reports"))
    assert "by more than 0.01" in table and "Holm, table (p)" in table


def test_the_claims_table_puts_each_claim_of_both_protocols_side_by_side(tmp_path):
    base = dict(paper="p", dataset="toy", comparison="a - b", metric="test_accuracy", sparsity=0.98,
                n=5, n_seeds=5, per_seed="", dropped="", differs="d", equivalence_margin=0.5, tost_p=0.9,
                mdd=1.0, verdict="", threshold=0.0, std=1.0, ci_low=0.1, ci_high=1.9, p_holm=0.5, verdict_holm="",
                tost_p_holm=0.9, equivalence="")
    rows = [dict(base, report="toy", protocol="encoder twalk", claim_id="beats-admm-98", claim="beats ADMM",
                 mean=0.2, p_value=0.6),
            dict(base, report="toy-original", protocol="encoder twalk, (--protocol original)", claim_id="beats-admm-98",
                 claim="beats ADMM", mean=3.0, p_value=0.001)]
    for name, row in (("toy", rows[0]), ("toy-original", rows[1])):
        (tmp_path / name).mkdir()
        pd.DataFrame([row]).drop(columns=["report"]).to_csv(tmp_path / name / "claims.csv", index=False)
    table = claims_table(collect_claims(tmp_path))
    assert "### toy: the sound protocol beside the paper's original protocol" in table
    line = next(l for l in table.splitlines() if l.startswith("| beats ADMM | +0.20"))
    assert "| inconclusive |" in line and "| holds |" in line and "holds only under the original protocol" in line


def test_the_study_claims_are_corrected_in_their_own_families_not_with_the_papers(tmp_path):
    base = dict(paper="p", dataset="toy", protocol="encoder twalk", comparison="a - b", metric="test_accuracy",
                sparsity=0.98, n=10, n_seeds=10, per_seed="", dropped="", differs="d", equivalence_margin=0.5,
                tost_p=0.9, mdd=1.0, verdict="", threshold=0.0, std=1.0, ci_low=0.1, ci_high=1.9, p_holm=0.5,
                verdict_holm="", tost_p_holm=0.9, equivalence="", claim="c", mean=1.0)
    reports = {"toy": [dict(base, claim_id="beats-rigl-0.98", p_value=0.02),
                       dict(base, claim_id="beats-rigl-0.9", p_value=0.5)],
               "exploration-toy": [dict(base, claim_id=f"dst-ee-ucb-0.1-beats-rigl-{s}", p_value=0.001)
                                   for s in (0.9, 0.98)]
               + [dict(base, claim_id="dst-ee-ucb-0.1-beats-never-active-first-0.9", p_value=0.04)]}
    for name, rows in reports.items():
        (tmp_path / name).mkdir()
        pd.DataFrame(rows).to_csv(tmp_path / name / "claims.csv", index=False)
    table = claims_table(collect_claims(tmp_path))
    assert table.startswith("2 claims of the paper.")
    assert "2 claims of the exploration study, variant vs RigL" in table
    assert "1 claims of the exploration study, variant vs never-active first" in table
    paper = next(l for l in table.splitlines() if l.startswith("| c | p |") and "(0.040)" in l)
    assert "**holds** (0.040)" in paper  # Holm over the paper's 2 claims only: 2 x 0.02
    lone = [l for l in table.splitlines() if "**holds** (0.040)" in l]
    assert len(lone) == 2  # and the never-active-first claim is a family of one: 0.04 stays 0.04

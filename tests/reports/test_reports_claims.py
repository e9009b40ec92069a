"""Paired statistics, claim verdicts and the claims index (gnn_sparse.reports.paired/claims)."""
import math

import pandas as pd
import pytest

from gnn_sparse.cli import main
from gnn_sparse.reports import write_report
from gnn_sparse.reports.claims import verdict
from gnn_sparse.reports.claims_index import BEGIN, END
from gnn_sparse.reports.paired import t_interval

from test_reports_build import fake_result, write

T_975_DF2 = 4.302652729911275
"""The 97.5% quantile of Student's t with 2 degrees of freedom (printed tables: 4.303)."""

GRID = dict(methods=["dense", "dst-ee", "rigl"], sparsities=[0.9, 0.98], seeds=[0, 1, 2], c_values=[1e-2])


def make_results(folder, dst_minus_rigl, *, skip_rigl_seed=None):
    """dense 90/91/92; RigL 80/82/84 at both sparsities; DST-EE = RigL + the given per-seed differences."""
    rigl = [80.0, 82.0, 84.0]
    for seed in range(3):
        write(folder, f"dense-{seed}.json", fake_result("dense", 0.9, seed, 90.0 + seed, dataset="toy"))
        for s in (0.9, 0.98):
            if seed != skip_rigl_seed:
                write(folder, f"rigl-{s}-{seed}.json", fake_result("rigl", s, seed, rigl[seed], dataset="toy"))
            write(folder, f"dst-{s}-{seed}.json",
                  fake_result("dst-ee", s, seed, rigl[seed] + dst_minus_rigl[seed], dataset="toy"))
    return folder


def build(tmp_path, diffs, **kwargs):
    results = make_results(tmp_path / "results", diffs, **kwargs)
    out = write_report(results, "toy", tmp_path / "reports" / "toy", **GRID)
    return out, pd.read_csv(out / "table.csv"), pd.read_csv(out / "claims.csv")


def test_paired_interval_equals_a_hand_computation(tmp_path):
    diffs = [1.0, 2.0, 4.0]
    out, table, _ = build(tmp_path, diffs)
    mean = 7.0 / 3.0
    sd = math.sqrt(((1 - mean) ** 2 + (2 - mean) ** 2 + (4 - mean) ** 2) / 2)
    half = T_975_DF2 * sd / math.sqrt(3)
    row = table[(table["metric"] == "paired_test_accuracy") & (table["label"] == "DST-EE (c=0.01) - RigL")].iloc[0]
    assert row["source"] == "paired"
    assert row["98%_mean"] == pytest.approx(mean)
    assert row["98%_std"] == pytest.approx(sd)
    assert row["98%_ci_low"] == pytest.approx(mean - half)
    assert row["98%_ci_high"] == pytest.approx(mean + half)
    assert row["98%_n"] == 3
    assert row["98%_per_seed"] == "0: +1.0000, 1: +2.0000, 2: +4.0000"
    # DST-EE - dense pairs dense's seed with DST-EE's run of the same seed: (80+1-90, 82+2-91, 84+4-92)
    dense = table[table["label"] == "DST-EE (c=0.01) - Dense"].iloc[0]
    assert dense["90%_mean"] == pytest.approx((-9 - 7 - 4) / 3)
    md = (out / "table.md").read_text()
    assert f"+{mean:.2f} [{mean - half:+.2f}, {mean + half:+.2f}] (n=3)" in md


def test_paired_mrr_equals_a_hand_computation_and_runs_without_it_are_dropped(tmp_path):
    """DST-EE minus RigL in test MRR, seed by seed, beside the accuracy pairs; RigL's seed 2
    has no MRR (a run older than the ranking metrics): dropped from the MRR pair only."""
    folder = make_results(tmp_path / "results", [1.0, 2.0, 4.0])
    for seed, (dst, rigl) in enumerate([(0.30, 0.25), (0.40, 0.30), (0.35, 0.33)]):
        for s in (0.9, 0.98):
            dst_run = fake_result("dst-ee", s, seed, 80.0, dataset="toy")
            write(folder, f"dst-{s}-{seed}.json", {**dst_run, "test_mrr": dst})
            rigl_run = fake_result("rigl", s, seed, 79.0, dataset="toy")
            write(folder, f"rigl-{s}-{seed}.json", rigl_run if seed == 2 else {**rigl_run, "test_mrr": rigl})
    out = write_report(folder, "toy", tmp_path / "reports" / "toy", **GRID)
    table = pd.read_csv(out / "table.csv")
    mrr = table[table["metric"] == "paired_test_mrr"].set_index("label")
    row = mrr.loc["DST-EE (c=0.01) - RigL"]
    mean, sd = (0.05 + 0.10) / 2, math.sqrt(2 * 0.025 ** 2)  # two pairs: +0.05, +0.10
    half = 12.706204736174707 * sd / math.sqrt(2)  # t quantile, 1 degree of freedom
    assert (row["90%_n"], row["90%_n_expected"]) == (2, 3)
    assert row["90%_mean"] == pytest.approx(mean) and row["90%_ci_high"] == pytest.approx(mean + half)
    assert row["90%_per_seed"] == "0: +0.0500, 1: +0.1000"
    assert "seed 2 (no test_mrr in the run of RigL)" in row["90%_dropped"]
    assert mrr.loc["DST-EE (c=0.01) - Dense", "90%_n"] == 0  # the dense runs have no MRR
    accuracy = table[table["metric"] == "paired_test_accuracy"].set_index("label")
    assert accuracy.loc["DST-EE (c=0.01) - RigL", "90%_n"] == 3  # the accuracy pairs keep every seed
    md = (out / "table.md").read_text()
    assert "## Paired differences in test MRR, mean and 95% t interval over seeds" in md
    assert f"| DST-EE (c=0.01) - RigL | {mean:+.4f} [{mean - half:+.4f}, {mean + half:+.4f}] (n=2, 1 dropped) |" in md
    cells = table[table["metric"] == "test_mrr"].set_index("label")
    assert cells.loc["DST-EE (c=0.01)", "90%_mean"] == pytest.approx(0.35)
    assert cells.loc["RigL", "90%_n"] == 2


def test_t_interval_edge_cases():
    assert t_interval([2.0, 2.0, 2.0]) == (2.0, 0.0, 2.0, 2.0)
    mean, std, low, high = t_interval([5.0])
    assert mean == 5.0 and math.isnan(std) and math.isnan(low) and math.isnan(high)
    assert all(math.isnan(v) for v in t_interval([]))


@pytest.mark.parametrize("diffs, expected", [
    ([1.0, 1.2, 0.9], "holds"),
    ([-1.0, -1.2, -0.9], "does not hold"),
    ([0.0, 0.0, 0.0], "does not hold"),  # identical runs do not "beat"
    ([1.0, -1.0, 0.5], "inconclusive"),
])
def test_claim_verdict_flips_with_the_numbers(tmp_path, diffs, expected):
    _, _, claims = build(tmp_path, diffs)
    row = claims.set_index("claim_id").loc["beats-rigl-0.98"]
    assert row["verdict"] == expected
    assert row["comparison"] == "DST-EE (c=0.01) - RigL"


def test_verdict_rule_at_the_threshold():
    assert verdict(0.1, 2.0, 0.0, 3) == "holds"
    assert verdict(-0.1, 2.0, 0.0, 3) == "inconclusive"
    assert verdict(-2.0, 0.0, 0.0, 3) == "does not hold"
    assert verdict(-0.5, -0.2, -1.0, 3) == "holds"  # within 1 point
    assert verdict(0.5, 1.0, 0.0, 1) == "inconclusive"  # one pair: no interval
    assert verdict(math.nan, math.nan, 0.0, 3) == "inconclusive"


def test_a_missing_seed_in_one_method_drops_that_pair_and_says_so(tmp_path):
    out, table, claims = build(tmp_path, [1.0, 2.0, 4.0], skip_rigl_seed=2)
    row = table[table["label"] == "DST-EE (c=0.01) - RigL"].iloc[0]
    assert row["98%_n"] == 2 and row["98%_n_expected"] == 3
    assert row["98%_mean"] == pytest.approx(1.5)
    assert row["98%_per_seed"] == "0: +1.0000, 1: +2.0000"
    assert row["98%_dropped"] == "seed 2 (no finished run of RigL)"
    dense = table[table["label"] == "DST-EE (c=0.01) - Dense"].iloc[0]
    assert dense["98%_n"] == 3  # the other pairs keep seed 2
    md = (out / "table.md").read_text()
    assert "+1.50 [" in md and "(n=2, 1 dropped)" in md
    assert "seed 2 (no finished run of RigL)" in md
    claim = claims.set_index("claim_id").loc["beats-rigl-0.98"]
    assert claim["n"] == 2 and claim["dropped"] == "seed 2 (no finished run of RigL)"


def test_claims_index_replaces_the_readme_block_and_keeps_the_rest(tmp_path):
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "README.md").write_text(f"# Reports\n\n{BEGIN}\nstale table\n{END}\n\nHand-written text.\n")
    build(tmp_path, [1.0, 1.2, 0.9])
    text = (reports / "README.md").read_text()
    assert "stale table" not in text and "Hand-written text." in text
    block = text[text.index(BEGIN):text.index(END)]
    assert "### [toy](toy/)" in block
    assert "| DST-EE beats RigL at 98% |" in block and "**holds**" in block
    assert (reports / "claims.md").read_text().count("DST-EE beats RigL at") == 2


def test_image_compare_tiny_grid_end_to_end(tmp_path, capsys):
    """``compare --dataset digits`` drives the image runner: 1 epoch per run (quick preset)."""
    argv = ["compare", "--dataset", "digits", "--preset", "quick", "--methods", "dense", "dst-ee", "rigl",
            "--sparsities", "0.9", "--seeds", "0", "1", "--c-values", "1e-3", "--update-interval", "5",
            "--threads", "1", "--quiet", "--results-dir", str(tmp_path / "results"),
            "--reports-dir", str(tmp_path / "reports")]
    assert main(argv) == 0
    assert "trained 6, reused 0, failed 0" in capsys.readouterr().out
    results = sorted(p.name for p in (tmp_path / "results").glob("*.json"))
    assert "digits-dst-ee-digits-cnn-rigl-s0.9-seed1-c0.001.json" in results
    out = tmp_path / "reports" / "digits"
    md = (out / "table.md").read_text()
    assert md.startswith("# digits: image classification, method comparison")
    table = pd.read_csv(out / "table.csv")
    acc = table[table["metric"] == "test_accuracy"].set_index("label")
    assert (acc["90%_n"] == 2).all()
    paired = table[table["metric"] == "paired_test_accuracy"].set_index("label")
    assert paired.loc["DST-EE (c=0.001) - RigL", "90%_n"] == 2
    claims = pd.read_csv(out / "claims.csv")
    assert list(claims["claim_id"]) == ["beats-rigl-0.9"]
    assert claims["verdict"].iloc[0] in ("holds", "does not hold", "inconclusive")
    assert "digits" in claims["differs"].iloc[0]
    # rerunning reuses every run
    assert main(argv) == 0
    assert "trained 0, reused 6" in capsys.readouterr().out

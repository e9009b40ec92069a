"""The pre-registered study's analysis (gnn_sparse.reports.study): tuning on validation,
Holm over the confirmation families, the H1 rule and the zero-gradient check."""
import math

import pandas as pd
import pytest

from gnn_sparse.reports.grid import RunKey
from gnn_sparse.reports.records import Run
from gnn_sparse.reports.statistics import holm
from gnn_sparse.reports.study import confirm, h1_wins, interior_optimum, tune, zero_gradient_check


def run(method, knob, val, seed=0):
    return Run(key=RunKey(method, 0.9, seed, knob), result={"val_accuracy": val, "test_accuracy": 0.0}, path=None)


def test_tuning_picks_the_best_validation_knob_with_ties_to_the_smaller():
    runs = [run("rigl", None, 70.0), run("dst-ee-quota", 1.0, 69.0),
            run("dst-ee-quota", 0.25, 72.0), run("dst-ee-quota", 0.25, 70.0, seed=1),  # mean 71
            run("dst-ee-quota", 0.5, 71.0),                                             # tie at 71: 0.25 wins
            run("dst-ee-ucb", 0.1, 68.0), run("dst-ee-ucb", 1.0, 75.0)]
    tuning = tune(runs)
    chosen = tuning[tuning["chosen"]].set_index("row")["knob"].to_dict()
    assert chosen == {"dst-ee-quota": 0.25, "dst-ee-ucb": 1.0}  # the quota's rho = 1 is an endpoint, never chosen
    assert tuning.set_index(["row", "knob"]).loc[("dst-ee-quota", 0.25), "n"] == 2
    h2 = interior_optimum(tuning, {"dst-ee-quota": [0.1, 0.25, 0.5, 0.75], "dst-ee-ucb": [0.03, 0.1, 0.3, 1.0]})
    h2 = h2.set_index("row")
    assert bool(h2.loc["dst-ee-quota", "interior"]) and bool(h2.loc["dst-ee-quota", "above_both"])
    assert not bool(h2.loc["dst-ee-ucb", "interior"])  # the largest knob of its grid


def claim(report, claim_id, mean, p, std=1.0, tost=0.5):
    return {"report": report, "claim_id": claim_id, "mean": mean, "std": std, "threshold": 0.0, "p_value": p,
            "tost_p": tost}


def test_confirmation_is_holm_corrected_within_each_family_and_h1_needs_no_loss():
    rows = [claim("enron", "dst-ee-ucb-0.3-beats-rigl-0.98", 1.5, 0.001),
            claim("enron", "dst-ee-ucb-0.3-beats-rigl-0.9", 0.2, 0.4),
            claim("mo", "dst-ee-quota-0.25-beats-rigl-0.98", 0.9, 0.004),
            claim("mo", "dst-ee-quota-0.25-beats-rigl-0.9", -0.8, 0.001),
            claim("mo", "dst-ee-quota-0.25-beats-never-active-first-0.9", 0.1, 0.03),
            claim("enron", "beats-rigl-0.9", 0.0, 0.01)]  # a paper claim: not part of the study
    verdicts = confirm(pd.DataFrame(rows))
    assert len(verdicts) == 5
    primary = verdicts[verdicts["vs"] == "rigl"]
    assert list(primary["p_family"]) == pytest.approx(holm([0.001, 0.4, 0.004, 0.001]))
    h2 = verdicts[verdicts["vs"] == "never-active-first"]
    assert h2["p_family"].iloc[0] == pytest.approx(0.03) and h2["verdict_family"].iloc[0] == "holds"
    wins = h1_wins(verdicts).set_index("row")
    assert wins.loc["dst-ee-ucb", "h1"] == "win" and wins.loc["dst-ee-ucb", "beats_rigl"] == 1
    assert wins.loc["dst-ee-quota", "h1"] == "no win" and wins.loc["dst-ee-quota", "worse_than_rigl"] == 1


def test_zero_gradient_check_compares_with_rigl_per_cell():
    studies = pd.DataFrame([
        {"report": "enron", "sparsity": 0.98, "method": "rigl", "row": "RigL", "zero_grad_share": 0.06},
        {"report": "enron", "sparsity": 0.98, "method": "dst-ee-ucb", "row": "DST-EE ucb (c=0.3)",
         "zero_grad_share": 0.02},
        {"report": "enron", "sparsity": 0.98, "method": "dst-ee", "row": "DST-EE (c=0.01)", "zero_grad_share": 0.83},
        {"report": "enron", "sparsity": 0.98, "method": "dst-ee-quota", "row": "DST-EE quota (rho=0.25)",
         "zero_grad_share": math.nan},
    ])
    check = zero_gradient_check(studies).set_index("row")
    assert bool(check.loc["DST-EE ucb (c=0.3)", "at_most_rigl"]) is True
    assert check.loc["DST-EE quota (rho=0.25)", "at_most_rigl"] is None
    assert "DST-EE (c=0.01)" not in check.index  # the paper's rule is a reference row, not a variant

"""The c study's growth-slot columns (gnn_sparse.reports.cstudy, records.growth_slots)."""
import math

import pandas as pd
import pytest

from gnn_sparse.reports import write_report
from gnn_sparse.reports.records import growth_slots

from test_reports_build import fake_result, write


def update(t, fc1, fc2):
    """An update record; each layer given as (slots, regrown, zero_grad, never_active)."""
    layers = {}
    for name, (slots, regrown, zero, fresh) in (("fc1.weight", fc1), ("fc2.weight", fc2)):
        layers[name] = {"dropped": slots - regrown, "grown": slots - regrown, "grown_never_active": fresh,
                        "slots": slots, "slots_regrown": regrown, "slots_zero_grad": zero}
    return {"t": t, "exploration_rate": 0.1, "layers": layers}


def test_growth_slots_sum_per_layer_and_skip_old_records():
    result = {"exploration_history": [update(500, (10, 4, 1, 5), (2, 0, 2, 2)), {"t": 1000, "skipped": "x"},
                                      update(1500, (10, 6, 0, 2), (2, 2, None, 0))]}
    slots = growth_slots(result)
    assert slots["fc1.weight"] == {"slots": 20, "slots_regrown": 10, "slots_zero_grad": 1, "grown_never_active": 7}
    assert slots["fc2.weight"]["slots_zero_grad"] == 2  # None (no gradient) is left out
    assert slots["all"]["slots"] == 24 and slots["all"]["slots_regrown"] == 12
    old = {"exploration_history": [{"t": 500, "exploration_rate": 0.1, "layers": {"fc1.weight": {"grown": 3}}}]}
    assert growth_slots(old) == {} and growth_slots({}) == {}


def test_c_study_reports_regrowth_never_active_and_zero_gradient_shares(tmp_path):
    results = tmp_path / "results"
    for seed in range(2):
        rigl = fake_result("rigl", 0.9, seed, 80.0, dataset="toy")
        rigl["exploration_history"] = [update(500, (10, 6, 1, 3), (2, 0, 0, 2))]
        write(results, f"rigl-{seed}.json", rigl)
        dst = fake_result("dst-ee", 0.9, seed, 80.0, dataset="toy", c=1e-2)
        dst["exploration_history"] = [update(500, (10, 0, 8, 10), (2, 0, 2, 2))]
        write(results, f"dst-{seed}.json", dst)
    out = write_report(results, "toy", tmp_path / "reports" / "toy", methods=["dst-ee", "rigl"], sparsities=[0.9],
                       seeds=[0, 1], c_values=[1e-2])
    study = pd.read_csv(out / "c_study.csv").set_index("method")
    assert study.loc["rigl", "slots"] == 24
    assert study.loc["rigl", "regrown_share"] == pytest.approx(12 / 24)
    assert study.loc["rigl", "slot_never_active_share"] == pytest.approx(10 / 24)
    assert study.loc["dst-ee", "zero_grad_share"] == pytest.approx(20 / 24)
    assert study.loc["dst-ee", "zero_grad_share_by_layer"] == "fc1.weight: 0.80, fc2.weight: 1.00"
    assert math.isclose(study.loc["dst-ee", "regrown_share"], 0.0)
    md = (out / "table.md").read_text()
    assert "| zero grad per layer |" in md and "fc1.weight: 0.80, fc2.weight: 1.00" in md

"""DST-EE's exploration variants as grid rows: compare trains each at its knobs, the report
labels them, claims them against RigL and puts them in the growth study."""
import json

import pandas as pd
import pytest
import torch

from gnn_sparse.cli import main
from gnn_sparse.data import load_dataset
from gnn_sparse.reports import gridrun
from gnn_sparse.reports.grid import RunKey, expected_runs
from gnn_sparse.reports.records import run_key
from gnn_sparse.training import runner


@pytest.fixture
def tiny_graph(monkeypatch):
    def load(config):
        return load_dataset("synthetic", num_nodes=200, num_events=4000, seed=config.seed, split=config.data.split)

    monkeypatch.setattr(gridrun, "_load_dataset", load)
    # a finished run is compared with the data its config names: here, the tiny graph
    monkeypatch.setattr(runner, "run_data_fingerprint", lambda config: load(config).sha256)
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def grid(tmp_path, *extra):
    return main(["compare", "--preset", "quick", "--results-dir", str(tmp_path / "results"), "--reports-dir",
                 str(tmp_path / "reports"), "--sparsities", "0.9", "--seeds", "0", "--c-values", "0.01",
                 "--batch-size", "128", "--update-interval", "5", "--threads", "1", "--quiet", *extra])


def test_variant_rows_are_trained_named_reported_and_claimed(tmp_path, tiny_graph, capsys):
    assert grid(tmp_path, "--methods", "rigl", "dst-ee-ucb", "dst-ee-quota", "dst-ee-normalized",
                "--knobs", "dst-ee-ucb=0.1,0.3", "dst-ee-quota=0.5") == 0
    names = sorted(p.name for p in (tmp_path / "results").glob("*.json"))
    assert names == ["synthetic-dst-ee-normalized-gcn-fc-s0.9-seed0-c0.01.json",
                     "synthetic-dst-ee-quota-gcn-fc-s0.9-seed0-rho0.5.json",
                     "synthetic-dst-ee-ucb-gcn-fc-s0.9-seed0-c0.1.json",
                     "synthetic-dst-ee-ucb-gcn-fc-s0.9-seed0-c0.3.json",
                     "synthetic-rigl-gcn-fc-s0.9-seed0.json"]
    quota = json.loads((tmp_path / "results" / names[1]).read_text())
    assert (quota["config"]["exploration"], quota["config"]["exploration_rho"]) == ("quota", 0.5)
    assert run_key(quota) == RunKey("dst-ee-quota", 0.9, 0, 0.5)
    normalized = json.loads((tmp_path / "results" / names[0]).read_text())
    assert normalized["config"]["c_decay"] == 1.0  # the row keeps c constant
    out = tmp_path / "reports" / "synthetic"
    table = pd.read_csv(out / "table.csv")
    labels = set(table[table["metric"] == "test_accuracy"]["label"])
    assert {"DST-EE ucb (c=0.1)", "DST-EE ucb (c=0.3)", "DST-EE quota (rho=0.5)", "DST-EE normalized (c=0.01)",
            "RigL"} <= labels
    claims = pd.read_csv(out / "claims.csv").set_index("claim_id")
    assert claims.loc["dst-ee-quota-0.5-beats-rigl-0.9", "claim"] == "DST-EE quota (rho=0.5) beats RigL at 90%"
    assert "dst-ee-ucb-0.3-beats-rigl-0.9" in claims.index
    study = pd.read_csv(out / "c_study.csv")
    assert "DST-EE ucb (c=0.3)" in set(study["row"]) and study["zero_grad_share"].notna().any()
    record = json.loads((tmp_path / "results" / "compare" / "synthetic.json").read_text())
    assert record["grid"]["variant_knobs"] == {"dst-ee-ucb": [0.1, 0.3], "dst-ee-quota": [0.5],
                                               "dst-ee-normalized": [0.01]}
    # report alone rebuilds the same rows from the record
    (out / "table.csv").unlink()
    assert main(["report", "--results-dir", str(tmp_path / "results"), "--reports-dir",
                 str(tmp_path / "reports")]) == 0
    assert set(pd.read_csv(out / "table.csv")["label"]) >= labels


@pytest.mark.parametrize("knobs, message", [
    (["dst-ee-quota=1.5"], "--exploration-rho must be in [0, 1], got 1.5"),
    (["dst-ee-greedy=0.1"], "--knobs takes ROW=V[,V...]"),
    (["dst-ee-ucb=a"], "the values must be numbers"),
])
def test_bad_knobs_exit_2_with_one_line(tmp_path, capsys, knobs, message):
    assert grid(tmp_path, "--methods", "rigl", "dst-ee-quota", "dst-ee-ucb", "--knobs", *knobs) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_expected_runs_key_variant_rows_by_knob():
    keys = expected_runs(["dst-ee-quota"], [0.9, 0.98], [0], [], variant_knobs={"dst-ee-quota": [0.25, 1.0]})
    assert keys == [RunKey("dst-ee-quota", 0.9, 0, 0.25), RunKey("dst-ee-quota", 0.9, 0, 1.0),
                    RunKey("dst-ee-quota", 0.98, 0, 0.25), RunKey("dst-ee-quota", 0.98, 0, 1.0)]
    with pytest.raises(ValueError, match="need knob values"):
        expected_runs(["dst-ee-ucb"], [0.9], [0], [])


def test_compare_refuses_setting_the_variant_for_every_row(tmp_path, capsys):
    assert grid(tmp_path, "--methods", "rigl", "--exploration", "ucb") == 2
    assert "--exploration is set by the grid (use --methods dst-ee-normalized" in capsys.readouterr().err
    assert grid(tmp_path, "--methods", "dst-ee-quota", "--exploration-rho", "0.5") == 2
    assert "--exploration-rho is set by the grid (use --knobs dst-ee-quota=RHO)" in capsys.readouterr().err


def test_variants_are_claimed_against_rigl_and_never_active_first():
    from gnn_sparse.reports.claims import common_claims

    grid = {"methods": ["rigl", "dst-ee-ucb", "dst-ee-quota"], "sparsities": [0.98], "seeds": [10, 11],
            "variant_knobs": {"dst-ee-ucb": [0.3], "dst-ee-quota": [0.25, 1.0]}}
    claims = {c.claim_id: c.text for c in common_claims(grid)}
    assert claims == {
        "dst-ee-ucb-0.3-beats-rigl-0.98": "DST-EE ucb (c=0.3) beats RigL at 98%",
        "dst-ee-ucb-0.3-beats-never-active-first-0.98": "DST-EE ucb (c=0.3) beats never-active first (quota, rho=1) "
                                                        "at 98%",
        "dst-ee-quota-0.25-beats-rigl-0.98": "DST-EE quota (rho=0.25) beats RigL at 98%",
        "dst-ee-quota-0.25-beats-never-active-first-0.98": "DST-EE quota (rho=0.25) beats never-active first "
                                                           "(quota, rho=1) at 98%",
    }

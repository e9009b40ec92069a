"""Reports with both ADMM rows (the original optimizer, ``admm``; the runs' optimizer,
``admm-run``) and with runs of the original protocol."""
import pandas as pd
import pytest
import torch

from gnn_sparse.cli import main
from gnn_sparse.data import load_dataset
from gnn_sparse.reports import gridrun, load_runs, write_report
from gnn_sparse.reports.claims import link_claims, setup_note
from gnn_sparse.reports.grid import PRESETS, RunKey
from gnn_sparse.reports.paired import Side
from gnn_sparse.reports.records import MixedProtocolsError, run_key
from gnn_sparse.reports.tables import pretraining_summary
from gnn_sparse.training import runner
from gnn_sparse.training import RunConfig

from test_reports_build import fake_result, write

GRID = dict(methods=["dense", "admm", "admm-run", "dst-ee"], sparsities=[0.98], seeds=[0, 1, 2], c_values=[1e-2])


def admm_result(seed, accuracy, optimizer=None, *, pretrain_val=50.0, sparsity=0.98):
    """An ADMM result whose history has 2 pretraining epochs (validation ``pretrain_val`` at
    the second) before its ADMM and retraining epochs; ``optimizer=None``: a run from before
    ``admm_optimizer`` existed."""
    result = fake_result("admm", sparsity, seed, accuracy, dataset="toy", epochs=5)
    phases = ["pretrain", "pretrain", "admm", "retrain", "retrain"]
    result["history"] = [{"epoch": e + 1, "phase": p, "val": {"accuracy": pretrain_val if e == 1 else 40.0}}
                         for e, p in enumerate(phases)]
    result["config"].update(pretrain_epochs=2, admm_epochs=1, retrain_epochs=2, lr=0.1, momentum=0.9,
                            nesterov=True, weight_decay=5e-4, lr_schedule="cosine")
    if optimizer is not None:
        result["config"]["admm_optimizer"] = optimizer
    return result


def dense_result(seed, accuracy, val_at_2, protocol=None):
    result = fake_result("dense", 0.0, seed, accuracy, dataset="toy", epochs=4)
    result["history"] = [{"epoch": e + 1, "phase": "train", "val": {"accuracy": val_at_2 if e == 1 else 70.0}}
                         for e in range(4)]
    if protocol is not None:
        result["config"]["protocol"] = protocol
        result["selection"] = "test" if protocol == "original" else "val"
    return result


def make_results(folder, original, tuned):
    """dense 80/81/82 (validation at epoch 2: 60/62/64); DST-EE 70; ADMM rows as given."""
    for seed in range(3):
        write(folder, f"dense-{seed}.json", dense_result(seed, 80.0 + seed, 60.0 + 2 * seed))
        write(folder, f"dst-{seed}.json", fake_result("dst-ee", 0.98, seed, 70.0, dataset="toy"))
        write(folder, f"admm-{seed}.json", admm_result(seed, original[seed], pretrain_val=50.0 + seed))
        write(folder, f"admm-run-{seed}.json", admm_result(seed, tuned[seed], "run", pretrain_val=58.0 + seed))
    return folder


def test_grid_rows_map_to_the_runner_and_results_map_back():
    base = RunConfig.from_dict({"batch_size": 128})
    tuned = gridrun.config_for(RunKey("admm-run", 0.98, 1, None), base, PRESETS["quick"])
    assert (tuned.sparse.method, tuned.admm.admm_optimizer, tuned.admm.pretrain_epochs, tuned.seed) == \
        ("admm", "run", 1, 1)
    assert gridrun.run_name(tuned) == "synthetic-admm-run-gcn-fc-s0.98-seed1"
    original = gridrun.config_for(RunKey("admm", 0.98, 1, None), base, PRESETS["quick"])
    assert (original.admm.admm_optimizer, gridrun.run_name(original)) == ("original", "synthetic-admm-gcn-fc-s0.98-seed1")
    assert PRESETS["paper"].epochs_for("admm-run") == 60

    assert run_key(admm_result(0, 60.0)).method == "admm"  # committed runs: no admm_optimizer key
    assert run_key(admm_result(0, 60.0, "original")).method == "admm"
    assert run_key(admm_result(0, 60.0, "run")) == RunKey("admm-run", 0.98, 0, None)


@pytest.mark.parametrize("original, tuned, stronger", [
    ([60.0, 61.0, 62.0], [64.0, 65.0, 66.0], "admm-run"),
    ([66.0, 67.0, 68.0], [64.0, 65.0, 66.0], "admm"),
])
def test_claims_against_admm_use_the_stronger_row(tmp_path, original, tuned, stronger):
    out = write_report(make_results(tmp_path / "results", original, tuned), "toy", tmp_path / "reports" / "toy",
                       **GRID)
    claims = pd.read_csv(out / "claims.csv").set_index("claim_id")
    row = claims.loc["beats-admm-98"]
    label = {"admm": "Prune-from-dense (ADMM, original SGD)", "admm-run": "Prune-from-dense (ADMM, run optimizer)"}
    assert row["claim"] == f"DST-EE beats ADMM prune-from-dense at 98% (the stronger ADMM row: {label[stronger]})"
    assert row["comparison"] == f"DST-EE (c=0.01) - {label[stronger]}"
    best = original if stronger == "admm" else tuned
    assert row["mean"] == pytest.approx(70.0 - sum(best) / 3)

    md = (out / "table.md").read_text()
    assert f"| {label['admm']} | 5 |" in md and f"| {label['admm-run']} | 5 |" in md
    # both ADMM rows are paired with DST-EE in the paired section
    assert f"DST-EE (c=0.01) - {label['admm']}" in md and f"DST-EE (c=0.01) - {label['admm-run']}" in md
    setup = row["differs"]
    assert ("ADMM 2/1/2 epochs (paper: 20/20/20), SGD lr 0.05 as the original code and, as a second row, the "
            "sparse runs' optimizer (SGD lr 0.1, momentum 0.9 Nesterov, weight decay 0.0005, cosine schedule "
            "restarted in each phase)") in setup


def test_one_admm_row_keeps_the_claim_text_and_names_the_run_optimizer(tmp_path):
    results = make_results(tmp_path / "results", [60.0] * 3, [64.0] * 3)
    grid = {**GRID, "methods": ["dense", "admm", "dst-ee"]}
    claims = {c.claim_id: c for c in link_claims(grid, "toy", load_runs(results, "toy").runs)}
    assert claims["beats-admm-98"].text == "DST-EE beats ADMM prune-from-dense at 98%"  # as the committed reports
    assert claims["beats-admm-98"].b == Side("admm")
    grid["methods"] = ["dense", "admm-run", "dst-ee"]
    claims = {c.claim_id: c for c in link_claims(grid, "toy", load_runs(results, "toy").runs)}
    assert claims["beats-admm-98"].b == Side("admm-run")
    assert claims["beats-admm-98"].text.endswith("at 98% (Prune-from-dense (ADMM, run optimizer))")


def test_pretraining_table_compares_admm_with_dense_at_the_same_epoch(tmp_path):
    results = make_results(tmp_path / "results", [60.0] * 3, [64.0] * 3)
    # seed 0 also at 0.9: the same pretraining, counted once per seed (mean of the seed's runs)
    write(results, "admm-0.9-0.json", admm_result(0, 60.0, pretrain_val=52.0, sparsity=0.9))
    runs = load_runs(results, "toy").runs
    expected = [r.key for r in runs]
    table = pretraining_summary(runs, expected).set_index("method")
    original, tuned = (table.loc["Prune-from-dense (ADMM, original SGD)"],
                       table.loc["Prune-from-dense (ADMM, run optimizer)"])
    assert original["pretrain_epochs"] == "2" and original["admm_n"] == tuned["admm_n"] == 3
    assert original["admm_val_mean"] == pytest.approx((51.0 + 51.0 + 52.0) / 3)  # seed 0: (50 + 52) / 2
    assert tuned["admm_val_mean"] == pytest.approx(59.0)
    assert original["dense_val_mean"] == tuned["dense_val_mean"] == pytest.approx(62.0)  # dense at epoch 2
    assert original["difference_mean"] == pytest.approx(51.333333 - 62.0)
    assert tuned["difference_mean"] == pytest.approx(-3.0) and tuned["difference_n"] == 3
    assert tuned["dense_last_val_mean"] == pytest.approx(70.0)

    out = write_report(results, "toy", tmp_path / "reports" / "toy", **GRID)
    md = (out / "table.md").read_text()
    section = md.split("## ADMM's dense pretraining vs dense training")[1].split("\n## ")[0]
    assert "| Prune-from-dense (ADMM, run optimizer) | 2 | 59.00 ± 1.00 (n=3) | 62.00 ± 2.00 (n=3) | -3.00 (n=3) " \
           "| 70.00 |" in section
    # no ADMM runs: no section
    assert "pretraining" not in pretraining_summary([r for r in runs if r.key.method == "dense"], expected).to_string()


def test_setup_note_describes_the_original_protocol_from_the_runs(tmp_path):
    folder = tmp_path / "results"
    for seed in range(2):
        result = fake_result("dst-ee", 0.98, seed, 70.0, dataset="toy")
        result["config"].update(protocol="original", split="original", encoder="twalk", val_ratio=0.2,
                                test_ratio=0.2, sparsify="fc")
        result.update(selection="test", leaky_embeddings=True)
        write(folder, f"dst-{seed}.json", result)
        write(folder, f"dense-{seed}.json", dense_result(seed, 80.0, 60.0, protocol="original"))
    protocol, differs = setup_note(load_runs(folder, "toy").runs, "toy")
    assert protocol.startswith("encoder twalk, sparsify fc, epochs") and protocol.endswith(
        "the paper's original protocol (--protocol original)")
    assert ("original split as the paper: test the newest 20%, training 60% and validation 20% of the events "
            "sampled independently from the older 80% (they overlap)") in differs
    assert "best epoch on test accuracy as the paper (optimistic)" in differs
    assert "walk embeddings from the whole graph as the paper" in differs
    assert "best epoch on validation" not in differs and "chronological" not in differs

    out = write_report(folder, "toy", tmp_path / "reports" / "toy", methods=["dense", "dst-ee"], sparsities=[0.98],
                       seeds=[0, 1], c_values=[1e-2])
    md = (out / "table.md").read_text()
    assert "## Test accuracy (%) at the best test epoch (chosen on test accuracy: the original protocol)" in md
    assert "at the best validation epoch" not in md

    # a run of the sound protocol in the same folder: the report refuses to mix them
    write(folder, "dense-sound.json", fake_result("dense", 0.0, 5, 80.0, dataset="toy"))
    with pytest.raises(MixedProtocolsError, match="different protocols: original .*, sound"):
        load_runs(folder, "toy")


@pytest.fixture
def tiny_graph(monkeypatch):
    """Grid runs train on a 200-node synthetic graph, split as their config says."""
    def load(config):
        return load_dataset("synthetic", num_nodes=200, num_events=4000, seed=config.seed, split=config.data.split)

    monkeypatch.setattr(gridrun, "_load_dataset", load)
    # a finished run is compared with the data its config names: here, the tiny graph
    monkeypatch.setattr(runner, "run_data_fingerprint", lambda config: load(config).sha256)
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


FAST = ["--batch-size", "128", "--update-interval", "5", "--threads", "1", "--quiet"]


def _compare(tmp_path, *extra):
    return main(["compare", "--preset", "quick", "--results-dir", str(tmp_path / "results"), "--reports-dir",
                 str(tmp_path / "reports"), "--sparsities", "0.98", "--seeds", "0", "--c-values", "0.01",
                 *extra, *FAST])


def test_compare_trains_both_admm_rows_and_refuses_mixed_protocols(tmp_path, capsys, tiny_graph):
    assert _compare(tmp_path, "--methods", "dense", "admm", "admm-run", "dst-ee") == 0
    names = sorted(p.name for p in (tmp_path / "results").glob("*.json"))
    assert names == ["synthetic-admm-gcn-fc-s0.98-seed0.json", "synthetic-admm-run-gcn-fc-s0.98-seed0.json",
                     "synthetic-dense-gcn-fc-s0-seed0.json", "synthetic-dst-ee-gcn-fc-s0.98-seed0-c0.01.json"]
    md = (tmp_path / "reports" / "synthetic" / "table.md").read_text()
    assert "| Prune-from-dense (ADMM, original SGD) | 4 |" in md and "| Prune-from-dense (ADMM, run optimizer) | 4 |" in md
    assert "## ADMM's dense pretraining vs dense training" in md
    claims = pd.read_csv(tmp_path / "reports" / "synthetic" / "claims.csv").set_index("claim_id")
    assert "(the stronger ADMM row: Prune-from-dense (ADMM, " in claims.loc["beats-admm-98", "claim"]
    capsys.readouterr()

    assert _compare(tmp_path, "--methods", "admm", "--admm-optimizer", "run") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == ("gnn-sparse compare: error: --admm-optimizer is set by the grid (use --methods "
                       "admm-run: the ADMM row with the runs' optimizer)")

    assert _compare(tmp_path, "--methods", "dense", "--protocol", "original") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "holds runs of synthetic made under --protocol sound" in err[0]
    assert "a grid of --protocol original needs its own results folder (--results-dir)" in err[0]


def test_compare_passes_the_original_protocol_through(tmp_path, capsys, tiny_graph):
    assert _compare(tmp_path, "--methods", "dense", "--protocol", "original") == 0
    (path,) = (tmp_path / "results").glob("*.json")
    assert path.name == "synthetic-dense-gcn-fc-s0-seed0-original.json"
    (run,) = load_runs(tmp_path / "results", "synthetic").runs
    assert (run.result["protocol"], run.result["selection"], run.result["config"]["split"]) == \
        ("original", "test", "original")
    readme = (tmp_path / "reports" / "synthetic-original" / "table.md").read_text()  # beside the sound one
    assert "at the best test epoch" in readme
    assert not (tmp_path / "reports" / "synthetic").exists()
    capsys.readouterr()
    assert _compare(tmp_path, "--methods", "dense") == 2  # sound into the original protocol's folder
    assert "made under --protocol original" in capsys.readouterr().err
    # report finds the protocol in the runs; --report-name names the folder
    assert main(["report", "--results-dir", str(tmp_path / "results"), "--reports-dir", str(tmp_path / "again")]) == 0
    assert (tmp_path / "again" / "synthetic-original" / "table.md").is_file()
    assert main(["report", "--results-dir", str(tmp_path / "results"), "--reports-dir", str(tmp_path / "again"),
                 "--report-name", "synthetic-t60"]) == 0
    assert (tmp_path / "again" / "synthetic-t60" / "claims.csv").is_file()
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["report", "--results-dir", str(tmp_path / "results"), "--report-name", "../escape"])
    assert "is not a plain folder name" in capsys.readouterr().err

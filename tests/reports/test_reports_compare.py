"""The ``compare`` / ``report`` subcommands (gnn_sparse.reports.compare) on a tiny graph."""
import json

import pandas as pd
import pytest
import torch
from matplotlib.image import imread

import gnn_sparse.training
from gnn_sparse.cli import main
from gnn_sparse.data import load_dataset
from gnn_sparse.reports import expected_runs, gridrun, load_runs
from gnn_sparse.reports.grid import RunKey
from gnn_sparse.reports.report import resolve_grid, write_report
from gnn_sparse.training import runner

from test_reports_build import fake_result, write

FAST = ["--batch-size", "128", "--update-interval", "5", "--threads", "1", "--quiet"]
"""Single-run options after the grid's: tiny batches so that masks update within 3 epochs."""


@pytest.fixture(autouse=True)
def tiny_graph(monkeypatch):
    """Every grid run trains on a 200-node synthetic graph (about a second per run)."""
    cache = {}

    def load(config):
        if config.seed not in cache:
            cache[config.seed] = load_dataset("synthetic", num_nodes=200, num_events=4000, seed=config.seed)
        return cache[config.seed]

    monkeypatch.setattr(gridrun, "_load_dataset", load)
    # a finished run is compared with the data its config names: here, the tiny graph
    monkeypatch.setattr(runner, "run_data_fingerprint", lambda config: load(config).sha256)
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.fixture
def counting_runner(monkeypatch):
    """Wraps the runner: records each run's name and whether it trained (no results file before)."""
    from gnn_sparse.training.results import results_path

    real, calls = gnn_sparse.training.run, []

    def run(config, options, dataset=None, **kwargs):
        trained = not results_path(options.results_dir, options.run_name).exists()
        calls.append((options.run_name, trained))
        if calls_hook[0] is not None:
            calls_hook[0](config, options, len(calls))
        return real(config, options, dataset=dataset, **kwargs)

    calls_hook = [None]
    monkeypatch.setattr(gnn_sparse.training, "run", run)
    return calls, calls_hook


def grid_args(tmp_path, *extra):
    return ["compare", "--preset", "quick", "--results-dir", str(tmp_path / "results"),
            "--reports-dir", str(tmp_path / "reports"), *extra, *FAST]


def test_quick_compare_end_to_end_writes_tables_figures_and_readme(tmp_path, capsys):
    argv = grid_args(tmp_path, "--methods", "dense", "dst-ee", "rigl", "set", "--sparsities", "0.8", "0.9",
                     "--seeds", "0", "--c-values", "1e-3", "1e-2", "--ranking-negatives", "7")
    assert main(argv) == 0
    out = tmp_path / "reports" / "synthetic"
    assert "report: " in capsys.readouterr().out
    # dense, DST-EE c=0.01 at 0.8, DST-EE c=0.001/0.01 at 0.9 (the sweep's sparsity), RigL x2, SET x2
    results = sorted(p.name for p in (tmp_path / "results").glob("*.json"))
    assert len(results) == 8
    assert "synthetic-dst-ee-gcn-fc-s0.9-seed0-c0.001.json" in results

    table = pd.read_csv(out / "table.csv")
    acc = table[(table["metric"] == "test_accuracy")].set_index("label")
    assert set(acc.index) == {"Dense", "DST-EE (c=0.01)", "DST-EE (c=0.001)", "RigL", "SET"}
    assert (acc["90%_n"] == 1).all()
    assert acc.loc["DST-EE (c=0.001)", "80%_n_expected"] != 1  # outside the grid: no cell
    mrr = table[(table["metric"] == "test_mrr")].set_index("label")
    assert (mrr["90%_n"] == 1).all() and ((mrr["90%_mean"] > 1 / 8) & (mrr["90%_mean"] <= 1)).all()
    assert json.loads((tmp_path / "results" / results[0]).read_text())["config"]["ranking_negatives"] == 7
    md = (out / "table.md").read_text()
    assert "None: every expected run finished." in md
    assert "## Paired differences in test MRR" in md
    assert "| DST-EE (c=0.001) | 3 | n/a |" in md
    for name in ("accuracy_vs_sparsity.png", "exploration.png", "curves.png"):
        image = imread(out / name)
        assert image.shape[0] >= 300 and image.shape[1] >= 500 and image.std() > 0, name
    readme = (out / "README.md").read_text()
    assert "python run_link_prediction.py compare --preset quick" in readme
    assert "Total wall time of the grid:" in readme and "over 1 `compare` session(s)" in readme
    assert "swept at sparsity 0.9 only; DST-EE at c = 0.01 elsewhere" in readme
    record = json.loads((tmp_path / "results" / "compare" / "synthetic.json").read_text())
    assert record["grid"]["c_sparsities"] == [0.9] and record["sessions"][0]["trained"] == 8

    # `report` rebuilds the same tables from the results alone (the grid comes from the record)
    (out / "table.csv").unlink()
    assert main(["report", "--results-dir", str(tmp_path / "results"), "--reports-dir",
                 str(tmp_path / "reports")]) == 0
    assert pd.read_csv(out / "table.csv").equals(table)
    assert "python run_link_prediction.py report" in (out / "README.md").read_text()


def test_interrupted_grid_resumes_without_redoing_finished_runs(tmp_path, counting_runner, capsys):
    calls, hook = counting_runner
    argv = grid_args(tmp_path, "--methods", "dense", "rigl", "--sparsities", "0.9", "--seeds", "0", "1")

    def interrupt_third(config, options, n):
        if n == 3:
            raise KeyboardInterrupt

    hook[0] = interrupt_third
    assert main(argv) == 130
    assert "rerun the same command to continue" in capsys.readouterr().err
    first = [name for name, trained in calls if trained]
    assert len(first) == 3  # two finished, the third interrupted before training
    finished = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "results").glob("*.json")}
    assert len(finished) == 2

    calls.clear()
    hook[0] = None
    assert main(argv) == 0
    trained = [name for name, did in calls if did]
    reused = [name for name, did in calls if not did]
    assert len(trained) == 2 and len(reused) == 2
    assert {f"{n}.json" for n in reused} == set(finished)
    for name, mtime in finished.items():
        assert (tmp_path / "results" / name).stat().st_mtime_ns == mtime, f"{name} was redone"
    record = json.loads((tmp_path / "results" / "compare" / "synthetic.json").read_text())
    assert [(s["trained"], s["reused"], s["finished"]) for s in record["sessions"]] == [(2, 0, False), (2, 2, True)]
    assert "over 2 `compare` session(s)" in (tmp_path / "reports" / "synthetic" / "README.md").read_text()


def test_a_failing_run_is_recorded_the_grid_goes_on_and_a_rerun_fixes_it(tmp_path, counting_runner):
    calls, hook = counting_runner

    def break_rigl(config, options, n):
        if config.sparse.method == "rigl":
            raise RuntimeError("boom: loss went NaN")

    hook[0] = break_rigl
    argv = grid_args(tmp_path, "--methods", "dense", "rigl", "set", "--sparsities", "0.9", "--seeds", "0")
    assert main(argv) == 1
    assert len(calls) == 3  # the grid went on after the failure
    md = (tmp_path / "reports" / "synthetic" / "table.md").read_text()
    assert "| RigL | – | failed (n=0/1, 1 failed) |" in md
    assert "| rigl | 0.9 | 0 | – | failed | RuntimeError: boom: loss went NaN |" in md
    readme = (tmp_path / "reports" / "synthetic" / "README.md").read_text()
    assert "failed: 1" in readme and "rigl, sparsity 0.9, seed 0: RuntimeError: boom" in readme

    hook[0] = None
    assert main(argv) == 0
    md = (tmp_path / "reports" / "synthetic" / "table.md").read_text()
    assert "None: every expected run finished." in md
    record = json.loads((tmp_path / "results" / "compare" / "synthetic.json").read_text())
    assert record["failures"] == {}


def test_report_on_an_empty_results_folder_exits_2_with_one_line(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["report", "--dataset", "email-eu", "--results-dir", str(tmp_path / "empty"),
                 "--reports-dir", str(tmp_path / "reports")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("gnn-sparse report: error: no runs of dataset 'email-eu'")
    assert "compare" in err[0]
    assert not (tmp_path / "reports").exists()


@pytest.mark.parametrize("extra, match", [
    (["--method", "rigl"], "--method is set by the grid (use --methods)"),
    (["--seed", "3"], "--seed is set by the grid (use --seeds)"),
    (["--methods", "dense", "nope"], "unknown method(s) nope"),
    (["--c-sparsity", "0.5"], "--c-sparsity 0.5 is not among --sparsities"),
    (["--dataset", "no-such-graph"], "unknown dataset 'no-such-graph'"),
])
def test_bad_grid_input_exits_2_with_one_line(tmp_path, capsys, extra, match):
    assert main(grid_args(tmp_path, *extra)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("gnn-sparse compare: error: ")
    assert match in err[-1]


def test_expected_runs_with_the_c_sweep_at_one_sparsity():
    keys = expected_runs(["dense", "dst-ee", "rigl"], [0.8, 0.9, 0.98], [0], [1e-4, 1e-3],
                         c_sparsities=[0.98], default_c=1e-2)
    dst = [(k.sparsity, k.c) for k in keys if k.method == "dst-ee"]
    assert dst == [(0.8, 1e-2), (0.9, 1e-2), (0.98, 1e-4), (0.98, 1e-3), (0.98, 1e-2)]
    with pytest.raises(ValueError, match="needs default_c"):
        expected_runs(["dst-ee"], [0.9], [0], [1e-3], c_sparsities=[0.9])
    with pytest.raises(ValueError, match="not among the sparsities"):
        expected_runs(["dst-ee"], [0.9], [0], [1e-3], c_sparsities=[0.5], default_c=1e-2)


def test_a_sweep_at_one_sparsity_is_recognised_from_the_runs(tmp_path):
    """Without a grid record, runs of a sweep at 98% only do not make the other c 'missing'."""
    folder = tmp_path / "results"
    for sparsity in (0.8, 0.98):
        write(folder, f"d{sparsity}.json", fake_result("dst-ee", sparsity, 0, 80.0, c=1e-2))
    write(folder, "e.json", fake_result("dst-ee", 0.98, 0, 80.0, c=1e-3))
    for sparsity in (0.8, 0.98):
        write(folder, f"r{sparsity}.json", fake_result("rigl", sparsity, 0, 80.0))
    grid = resolve_grid(load_runs(folder, "ia-email").runs)
    assert grid["c_sparsities"] == [0.98] and grid["default_c"] == 1e-2
    out = write_report(folder, "ia-email", tmp_path / "report")
    assert "None: every expected run finished." in (out / "table.md").read_text()


def test_failures_without_any_finished_run_still_make_a_report(tmp_path):
    (tmp_path / "results").mkdir()
    out = write_report(tmp_path / "results", "ia-email", tmp_path / "report", ["rigl"], [0.9], [0], [],
                       failures={RunKey("rigl", 0.9, 0, None): "RuntimeError: out of memory"})
    assert "| rigl | 0.9 | 0 | – | failed | RuntimeError: out of memory |" in (out / "table.md").read_text()


def test_single_run_usage_is_unchanged(tmp_path, capsys):
    assert main(["--method", "static", "--epochs", "1", "--results-dir", str(tmp_path), "--threads", "1",
                 "--quiet"]) == 0
    assert "synthetic-static-gcn-fc-s0.9-seed0" in capsys.readouterr().out


def test_compare_and_report_with_spaces_and_unicode_in_the_paths(tmp_path, capsys):
    results, reports = tmp_path / "résultats ü" / "runs here", tmp_path / "rapports ✓"
    argv = ["compare", "--preset", "quick", "--methods", "dense", "static", "--sparsities", "0.9", "--seeds", "0",
            "--results-dir", str(results), "--reports-dir", str(reports), *FAST]
    assert main(argv) == 0
    assert main(["report", "--results-dir", str(results), "--reports-dir", str(reports)]) == 0
    table = (reports / "synthetic" / "table.md").read_text(encoding="utf-8")
    assert "| Static sparse |" in table and "None: every expected run finished." in table
    assert sorted(p.name for p in results.glob("*.json")) == ["synthetic-dense-gcn-fc-s0-seed0.json",
                                                               "synthetic-static-gcn-fc-s0.9-seed0.json"]


def test_compare_sets_up_logging_so_mask_updates_reach_the_user(tmp_path, capsys):
    from gnn_sparse.utils.logs import configure_logging

    configure_logging("ERROR")  # whatever an earlier command in this process chose
    base = ["compare", "--preset", "quick", "--methods", "dst-ee", "--sparsities", "0.9", "--seeds", "0",
            "--c-values", "0.01", "--reports-dir", str(tmp_path / "reports"), *FAST]
    assert main([*base, "--results-dir", str(tmp_path / "a"), "--log-level", "INFO"]) == 0
    assert "INFO gnn_sparse.sparsity: mask update t=5 " in capsys.readouterr().err
    assert main([*base, "--results-dir", str(tmp_path / "b")]) == 0  # FAST has --quiet: WARNING and above
    assert "mask update" not in capsys.readouterr().err

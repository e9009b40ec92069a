"""Reports built from hand-written result files (gnn_sparse.reports)."""
import json
import math

import pandas as pd
import pytest
from matplotlib.image import imread

from gnn_sparse.reports import NoRunsError, exploration_curve, load_runs, validation_curve, write_report

SHA = "ab" * 32
COMMAND = "python run_link_prediction.py report --dataset ia-email"
GRID = dict(methods=["dense", "dst-ee", "rigl"], sparsities=[0.8, 0.9, 0.98], seeds=[0, 1, 2], c_values=[1e-3, 1e-2])


def fake_result(method, sparsity, seed, accuracy, *, c=1e-2, auc=0.9, dataset="ia-email", epochs=4):
    """A results dict with the results contract's keys and the accessor-read extras."""
    return {
        "method": method, "dataset": dataset, "sparsity": 0.0 if method == "dense" else sparsity, "seed": seed,
        "epochs": epochs, "best_epoch": epochs, "test_accuracy": accuracy, "test_auc": auc, "test_ap": auc,
        "val_accuracy": accuracy, "best_test_accuracy": accuracy + 0.5, "layer_sparsity": {"fc1.weight": sparsity},
        "exploration_rate": None if method == "dense" else 0.3, "wall_time_s": 10.0, "device": "cpu",
        "config": {"method": method, "c": c, "seed": seed},
        "history": [{"epoch": e + 1, "val": {"accuracy": 60.0 + 5 * e + seed}, "train_loss": 0.7 - 0.1 * e}
                    for e in range(epochs)],
        "exploration_history": [] if method == "dense" else
        [{"t": 500 * (i + 1), "exploration_rate": 0.1 + 0.05 * i + c} for i in range(3)]
        + [{"t": 2000, "skipped": "non-finite gradients"}],
        "dataset_info": {"name": dataset, "sha256": SHA},
        "versions": {"torch": "2.13.0"},
    }


def write(folder, name, result):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(json.dumps(result))


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """dense: 3 seeds; DST-EE c=1e-2 all cells, c=1e-3 only 0.9; RigL: 0.9 two seeds, 0.8 one
    seed, 0.98 one failed seed; plus a corrupt file and a run of another dataset."""
    folder = tmp_path_factory.mktemp("results")
    for seed, acc in enumerate([80.0, 82.0, 84.0]):
        write(folder, f"dense-s{seed}.json", fake_result("dense", 0.9, seed, acc))
    for sparsity in (0.8, 0.9, 0.98):
        for seed in range(3):
            write(folder, f"dstee-{sparsity}-s{seed}.json", fake_result("dst-ee", sparsity, seed, 75.0 + seed))
    for seed in range(3):
        write(folder, f"dstee-c1e-3-0.9-s{seed}.json", fake_result("dst-ee", 0.9, seed, 70.0 + seed, c=1e-3))
    write(folder, "rigl-0.9-s0.json", fake_result("rigl", 0.9, 0, 70.0, auc=0.8))
    write(folder, "rigl-0.9-s1.json", fake_result("rigl", 0.9, 1, 71.0, auc=0.9))
    write(folder, "rigl-0.8-s0.json", fake_result("rigl", 0.8, 0, 72.0))
    write(folder, "rigl-0.98-s0.json", fake_result("rigl", 0.98, 0, float("nan")))
    write(folder, "wiki-dense.json", fake_result("dense", 0.9, 0, 50.0, dataset="wiki-talk"))
    (folder / "broken.json").write_text('{"method": "rigl", "datas')
    return folder


@pytest.fixture(scope="module")
def report(results, tmp_path_factory):
    """The report of :func:`results` on :data:`GRID`, built once for the tests that read it."""
    return write_report(results, "ia-email", tmp_path_factory.mktemp("report"), command=COMMAND, **GRID)


def test_means_and_sample_std_missing_and_failed_cells(report):
    out = report
    table = pd.read_csv(out / "table.csv")
    acc = table[(table["metric"] == "test_accuracy") & (table["source"] == "measured")].set_index("label")

    # dense 80/82/84: mean 82, sample std 2 (the population std would be 1.63), in every column
    for column in ("80%", "90%", "98%"):
        assert acc.loc["Dense", f"{column}_mean"] == pytest.approx(82.0)
        assert acc.loc["Dense", f"{column}_std"] == pytest.approx(2.0)
        assert acc.loc["Dense", f"{column}_n"] == 3
    assert acc.loc["RigL", "90%_mean"] == pytest.approx(70.5)
    assert acc.loc["RigL", "90%_std"] == pytest.approx(math.sqrt(0.5))
    assert (acc.loc["RigL", "90%_n"], acc.loc["RigL", "90%_n_expected"]) == (2, 3)
    assert math.isnan(acc.loc["RigL", "80%_std"])
    assert acc.loc["RigL", "98%_n"] == 0
    assert acc.loc["DST-EE (c=0.001)", "90%_mean"] == pytest.approx(71.0)
    assert acc.loc["DST-EE (c=0.001)", "80%_n"] == 0
    auc = table[(table["metric"] == "test_auc") & (table["source"] == "measured")].set_index("label")
    assert auc.loc["RigL", "90%_mean"] == pytest.approx(0.85)

    md = (out / "table.md").read_text()
    assert "ddof=1" in md
    assert "| Dense | 4 | 82.00 ± 2.00 (n=3/3) | 82.00 ± 2.00 (n=3/3) | 82.00 ± 2.00 (n=3/3) |" in md
    assert "| RigL | 4 | 72.00 ± – (n=1/3) | 70.50 ± 0.71 (n=2/3) | failed (n=0/3, 1 failed) |" in md
    missing = md.split("## Missing or failed runs")[1]
    assert "| rigl | 0.98 | 0 | – | failed |" in missing
    assert "| rigl | 0.9 | 2 | – | missing |" in missing
    assert "| dst-ee | 0.8 | 0 | 0.001 | missing |" in missing


def test_runs_older_than_the_ranking_metrics_show_them_as_missing(report):
    """The hand-written results have no test_mrr / test_hits@10 (as files written before the
    ranking metrics): the report still builds, their cells read missing, no MRR pairs."""
    table = pd.read_csv(report / "table.csv")
    for metric in ("test_mrr", "test_hits@10"):
        cells = table[table["metric"] == metric].set_index("label")
        assert (cells["90%_n"] == 0).all() and cells.loc["Dense", "90%_n_expected"] == 3
    md = (report / "table.md").read_text()
    assert "| Dense | 4 | missing (n=0/3) | missing (n=0/3) | missing (n=0/3) |" in md.split("## Test MRR")[1]
    assert "Paired differences in test accuracy" in md and "Paired differences in test MRR" not in md
    assert "paired_test_mrr" not in set(table["metric"])


def test_paper_rows_are_appended_and_marked_for_ia_email(report):
    out = report
    md = (out / "table.md").read_text()
    accuracy_table = md.split("## Test accuracy")[1].split("## ")[0]
    assert "| DST-EE (reported) | 50 | 83.77 | 83.29 | 82.82 |" in accuracy_table
    assert "| Prune-from-dense (ADMM) (reported) | 60 | 83.19 | 82.95 | 67.18 |" in accuracy_table
    assert "| Dense (reported) | – | 83.47 | 83.47 | 83.47 |" in accuracy_table
    assert accuracy_table.index("| Dense | 4 |") < accuracy_table.index("(reported)")
    assert "reported" not in md.split("## Test ROC-AUC")[1].split("## ")[0]
    assert "Table IV" in md and "2211.16667" in md


def test_no_paper_rows_for_a_dataset_the_paper_did_not_use(tmp_path):
    folder = tmp_path / "results"
    write(folder, "d.json", fake_result("dense", 0.9, 0, 80.0, dataset="email-Eu-core-temporal"))
    out = write_report(folder, "email-Eu-core-temporal", tmp_path / "report")
    assert "reported" not in (out / "table.md").read_text()


def test_pngs_exist_and_decode(report):
    out = report
    for name in ("accuracy_vs_sparsity.png", "exploration.png", "curves.png"):
        image = imread(out / name)
        height, width = image.shape[:2]
        assert height >= 300 and width >= 500, name
        assert image.std() > 0, f"{name} is blank"
    assert not list(out.glob(".*.tmp"))


def test_readme_records_command_fingerprint_versions_and_wall_time(report):
    readme = (report / "README.md").read_text()
    assert COMMAND in readme
    assert SHA in readme
    assert "2.13.0" in readme and "cpu (" in readme
    # 3 dense + 9 + 3 DST-EE + 4 RigL runs in the grid, 10 s each
    assert "0 h 03 min 10 s (190 s)" in readme
    assert "runs expected: 30; finished: 18; failed: 1; missing: 11" in readme


def test_corrupt_file_is_reported_by_name_and_other_datasets_ignored(results, report):
    loaded = load_runs(results, "ia-email")
    assert [name for name, _ in loaded.problems] == ["broken.json"]
    assert "unreadable" in loaded.problems[0][1]
    assert loaded.other_datasets == 1
    assert all(r.result["dataset"] == "ia-email" for r in loaded.runs)
    assert "`broken.json`: unreadable" in (report / "table.md").read_text()
    assert "`broken.json`: unreadable" in (report / "README.md").read_text()


def test_runs_outside_the_grid_are_listed_not_aggregated(results, tmp_path):
    out = write_report(results, "ia-email", tmp_path / "report", methods=["dense", "rigl"],
                       sparsities=[0.9], seeds=[0, 1, 2])
    md = (out / "table.md").read_text()
    assert "DST-EE (c=" not in md
    assert "dstee-0.8-s0.json`: outside the requested grid (dst-ee, sparsity 0.8, c 0.01, seed 0)" in (
        out / "README.md").read_text()


def test_grid_inferred_from_the_runs(results, tmp_path):
    out = write_report(results, "ia-email", tmp_path / "report")
    table = pd.read_csv(out / "table.csv")
    measured = set(table[table["source"] == "measured"]["label"])
    assert measured == {"Dense", "DST-EE (c=0.001)", "DST-EE (c=0.01)", "RigL"}


def test_empty_or_absent_results_folder_gives_a_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(NoRunsError, match=r"no runs of dataset 'ia-email' in .*empty"):
        write_report(tmp_path / "empty", "ia-email", tmp_path / "report")
    with pytest.raises(NoRunsError, match="no results folder"):
        write_report(tmp_path / "absent", "ia-email", tmp_path / "report")
    assert not (tmp_path / "report").exists()


def test_only_corrupt_files_names_them_in_the_error(tmp_path):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "half.json").write_text("{")
    with pytest.raises(NoRunsError, match="unusable files: half.json"):
        load_runs(tmp_path / "r", "ia-email")


def test_incomplete_result_and_superseded_duplicate(tmp_path):
    import os

    folder = tmp_path / "r"
    partial = fake_result("rigl", 0.9, 0, 70.0)
    del partial["test_auc"]
    write(folder, "partial.json", partial)
    write(folder, "old.json", fake_result("rigl", 0.9, 1, 60.0))
    write(folder, "new.json", fake_result("rigl", 0.9, 1, 65.0))
    os.utime(folder / "old.json", (1_000_000, 1_000_000))
    loaded = load_runs(folder, "ia-email")
    assert [r.path.name for r in loaded.runs] == ["new.json"]
    assert dict(loaded.problems) == {"partial.json": "incomplete: lacks test_auc",
                                     "old.json": "superseded by new.json (same run)"}


def test_accessors_read_history_and_skip_skipped_updates():
    result = fake_result("dst-ee", 0.9, 1, 75.0, c=0.0)
    assert validation_curve(result) == [(1, 61.0), (2, 66.0), (3, 71.0), (4, 76.0)]
    assert exploration_curve(result) == pytest.approx([0.1, 0.15, 0.2])
    assert exploration_curve(fake_result("dense", 0.9, 0, 80.0)) == []


def test_peak_memory_per_run_and_per_method(tmp_path):
    folder = tmp_path / "results"
    for seed, peak in ((0, 3 * 2**30), (1, 2**30)):
        result = fake_result("rigl", 0.9, seed, 70.0)
        result["peak_memory"] = {"rss_bytes": peak, "scope": "run", "cuda_bytes": None}
        write(folder, f"rigl-s{seed}.json", result)
    write(folder, "rigl-s2.json", fake_result("rigl", 0.9, 2, 70.0))  # made before the peak was recorded
    out = write_report(folder, "ia-email", tmp_path / "small", methods=["rigl"], sparsities=[0.9], seeds=[0, 1, 2])
    readme = (out / "README.md").read_text()
    assert "(2 of 3 runs recorded it)" in readme
    assert "| rigl, sparsity 0.9, seed 0 | 0 h 00 min 10 s (10 s) | 3.00 GiB | – |" in readme
    assert "| rigl, sparsity 0.9, seed 1 | 0 h 00 min 10 s (10 s) | 1.00 GiB | – |" in readme

    for seed in range(3, 30):  # above PER_RUN_MEMORY_ROWS: the largest peak per method
        result = fake_result("rigl", 0.9, seed, 70.0)
        result["peak_memory"] = {"rss_bytes": 2**30, "scope": "process", "cuda_bytes": None}
        write(folder, f"rigl-s{seed}.json", result)
    out = write_report(folder, "ia-email", tmp_path / "large", methods=["rigl"], sparsities=[0.9],
                       seeds=list(range(30)))
    readme = (out / "README.md").read_text()
    assert "- rigl: at most 3.00 GiB" in readme and "an upper bound" in readme


def test_no_peak_memory_recorded(report):
    assert "## Peak memory\n\nNot recorded by these runs." in (report / "README.md").read_text()

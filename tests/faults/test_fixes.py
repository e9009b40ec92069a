"""Regression tests of what the fault-injection harness found, each at the unit that was
fixed (the harness cases in ``test_faults.py`` cover the same fixes end to end)."""
import errno
import json
import os
import warnings

import pytest
import torch

from gnn_sparse.reports.manifest import load_manifest, save_manifest
from gnn_sparse.sparsity.export import ExportError, read_export
from gnn_sparse.training.checkpoint import load_checkpoint, save_checkpoint
from gnn_sparse.training.results import read_index, read_results, write_results
from gnn_sparse.training.run_files import append_metrics, remove_stale_temporaries
from gnn_sparse.utils.io import CorruptFileError, atomic_torch_save
from gnn_sparse.utils.logs import configure_logging


def test_a_flipped_byte_in_tensor_data_loads_silently_but_not_through_the_checksum(faults, tmp_path, rng):
    path = tmp_path / "run.pt"
    weights = torch.randn(64, 64)
    save_checkpoint(path, {"model": {"w": weights}})
    faults.flip_tensor_byte(path, rng)
    assert not torch.equal(torch.load(path, weights_only=False)["model"]["w"], weights)  # torch does not notice
    with pytest.raises(CorruptFileError, match=rf"{path}: content does not match its checksum"):
        load_checkpoint(path)


def test_an_export_with_a_flipped_weight_is_refused(faults, tmp_path, rng):
    path = tmp_path / "model.pt"
    atomic_torch_save({"format": "gnn-sparse/sparse-model", "version": 1, "sparse": {}, "shapes": {},
                       "dense": {"w": torch.randn(64, 64)}, "meta": {}}, path)
    read_export(path)
    faults.flip_tensor_byte(path, rng)
    with pytest.raises(ExportError, match="corrupted export .*checksum"):
        read_export(path)


def _results(run_id):
    return {"run_id": run_id, "method": "set", "test_accuracy": 61.25, "config": {"seed": 0}}


def test_results_with_a_changed_digit_are_refused(tmp_path):
    path = write_results(tmp_path, _results("a"))
    assert read_results(path)["test_accuracy"] == 61.25
    path.write_text(path.read_text().replace("61.25", "71.25"))
    with pytest.raises(CorruptFileError, match="does not match its checksum"):
        read_results(path)


def test_a_torn_index_line_is_reported_once_and_rebuilt_from_the_results(tmp_path):
    write_results(tmp_path, _results("a"))
    write_results(tmp_path, _results("b"))
    index = tmp_path / "index.jsonl"
    lines = index.read_text().splitlines()
    index.write_text(lines[0][:40] + "\n" + lines[1] + "\n")
    with pytest.warns(RuntimeWarning, match=r"index.jsonl:1: not JSON .*rebuilding the index") as caught:
        rows = read_index(tmp_path)
    assert len(caught) == 1
    assert sorted(r["run_id"] for r in rows) == ["a", "b"]
    with pytest.warns(RuntimeWarning, match="rebuilding the index"):
        write_results(tmp_path, _results("c"))  # the next writer rewrites it whole
    assert [json.loads(line)["run_id"] for line in index.read_text().splitlines()] == ["a", "b", "c"]


def test_a_killed_runs_index_line_is_added_when_the_run_is_reused(tiny_dataset, tmp_path, one_thread):
    from gnn_sparse.training import RunConfig, RunOptions, run

    config = RunConfig.from_dict({"method": "set", "epochs": 1, "dataset": "synthetic"})
    options = RunOptions(results_dir=str(tmp_path), run_name="r", quiet=True)
    run(config, options, dataset=tiny_dataset)
    (tmp_path / "index.jsonl").unlink()  # killed between the results file and the index line
    run(config, options, dataset=tiny_dataset)
    assert [r["run_id"] for r in read_index(tmp_path)] == ["r"]


def test_a_failed_metrics_append_leaves_no_half_line(tmp_path, monkeypatch):
    path = tmp_path / "metrics.jsonl"
    append_metrics(path, {"epoch": 1})

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError):
        append_metrics(path, {"epoch": 2, "pad": "x" * 100})
    assert path.read_text() == '{"epoch": 1}\n'


def test_stale_temporaries_of_a_killed_run_are_removed(tmp_path):
    stale = [tmp_path / ".r.json.abc.tmp", tmp_path / "checkpoints" / ".r.pt.abc.tmp",
             tmp_path / "r" / ".config.json.x.tmp"]
    kept = [tmp_path / ".other.json.abc.tmp", tmp_path / "r.json"]
    for p in stale + kept:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("x")
    assert sorted(remove_stale_temporaries(tmp_path, "r")) == sorted(stale)
    assert all(p.exists() for p in kept) and not any(p.exists() for p in stale)


def test_two_grids_saving_one_record_keep_both_sessions(tmp_path):
    a, b = load_manifest(tmp_path, "synthetic"), load_manifest(tmp_path, "synthetic")
    a["sessions"].append({"id": "a", "started": "2026-01-01T00:00:00"})
    b["sessions"].append({"id": "b", "started": "2026-01-01T00:00:01"})
    b["failures"]["run-x"] = {"error": "boom"}
    save_manifest(tmp_path, "synthetic", a)
    save_manifest(tmp_path, "synthetic", b)
    save_manifest(tmp_path, "synthetic", a)  # a's later save keeps b's session and failure
    record = load_manifest(tmp_path, "synthetic")
    assert [s["id"] for s in record["sessions"]] == ["a", "b"]
    assert list(record["failures"]) == ["run-x"]


def test_warnings_print_on_one_line_from_the_command_line(capsys):
    before = warnings.formatwarning
    try:
        configure_logging("WARNING")
        text = warnings.formatwarning("cache x is corrupt\n(detail); rebuilding it", RuntimeWarning, "f.py", 3)
    finally:
        warnings.formatwarning = before
    assert text == "RuntimeWarning: cache x is corrupt (detail); rebuilding it\n"

"""CUDA end to end (deselected by default; run by scripts/gpu_check.sh)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gnn_sparse.training import RunOptions, run

pytestmark = [
    pytest.mark.cuda_only,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


@pytest.mark.parametrize("method", ["dense", "dst-ee", "rigl", "set", "static"])
def test_cuda_end_to_end(method, tiny_dataset, tiny_config, tmp_path):
    res = run(tiny_config(method=method, epochs=8, device="cuda"),
              RunOptions(results_dir=str(tmp_path), quiet=True), dataset=tiny_dataset)
    assert res["device"].startswith("cuda:0")
    assert res["test_accuracy"] > 70.0
    if method != "dense":
        assert res["mask_sparsity"]["fc1.weight"] == 1 - round(0.1 * 2048) / 2048


_RESUME_SCRIPT = """
import sys
import torch
from gnn_sparse.data import load_dataset
from gnn_sparse.training import RunConfig, RunOptions, run

torch.use_deterministic_algorithms(True)  # deterministic scatter-add / index-add; cuBLAS via the env
root = sys.argv[1]
ds = load_dataset("synthetic", num_nodes=200, num_events=4000, seed=0)
config = RunConfig.from_dict({"method": "dst-ee", "epochs": 4, "batch_size": 128, "update_interval": 5,
                              "device": "cuda"})
run(config, RunOptions(results_dir=root + "/full", quiet=True), dataset=ds)

class Stop(Exception):
    pass

def stop(record):
    if record["epoch"] == 2:
        raise Stop

try:
    run(config, RunOptions(results_dir=root + "/cut", quiet=True), dataset=ds, on_epoch_end=stop)
    sys.exit("the cut run was not interrupted")
except Stop:
    pass
run(config, RunOptions(results_dir=root + "/cut", quiet=True, resume=True), dataset=ds)
"""


def test_cuda_resume_equals_uninterrupted(tmp_path):
    # In a fresh process: cuBLAS reads CUBLAS_WORKSPACE_CONFIG when it starts, and
    # use_deterministic_algorithms makes CUDA's scatter-add (GCN aggregation) deterministic, so
    # a resumed run must equal the uninterrupted one exactly, as on the CPU.
    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "CUBLAS_WORKSPACE_CONFIG": ":4096:8",
           "PYTHONPATH": os.pathsep.join([str(repo), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", _RESUME_SCRIPT, str(tmp_path)], env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run_id = "synthetic-dst-ee-gcn-fc-s0.9-seed0"
    full = json.loads((tmp_path / "full" / f"{run_id}.json").read_text())
    resumed = json.loads((tmp_path / "cut" / f"{run_id}.json").read_text())
    assert resumed["resumed_from_epoch"] == 2 and full["resumed_from_epoch"] is None
    strip = lambda h: [{k: v for k, v in r.items() if not k.endswith("time_s")} for r in h]  # noqa: E731
    assert strip(resumed["history"]) == strip(full["history"])
    for key in ("best_epoch", "test_accuracy", "test_auc", "test_ap", "val_accuracy", "best_test_accuracy",
                "layer_sparsity", "mask_sparsity", "exploration_rate", "exploration_history"):
        assert resumed[key] == full[key], key
    a = torch.load(tmp_path / "full" / "checkpoints" / f"{run_id}.pt", weights_only=False)
    b = torch.load(tmp_path / "cut" / "checkpoints" / f"{run_id}.pt", weights_only=False)
    sa, sb = a["method"]["sparsifier"], b["method"]["sparsifier"]
    assert sa["t"] == sb["t"] > 0
    for part in ("masks", "counts", "ever_active"):
        assert sa[part].keys() == sb[part].keys()
        assert all(torch.equal(sa[part][n], sb[part][n]) for n in sa[part]), part
    assert all(torch.equal(a["model"][n], b["model"][n]) for n in a["model"])


def test_cuda_device_flag_via_cli(tmp_path):
    from gnn_sparse.cli import main

    assert main(["--device", "cuda:0", "--epochs", "1", "--results-dir", str(tmp_path), "--quiet"]) == 0

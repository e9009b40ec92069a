"""CUDA end to end (deselected by default; run by scripts/gpu_check.sh)."""
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


def test_cuda_resume_equals_uninterrupted(tiny_dataset, tiny_config, tmp_path):
    config = tiny_config(method="dst-ee", epochs=4, device="cuda")
    full = run(config, RunOptions(results_dir=str(tmp_path / "a"), quiet=True), dataset=tiny_dataset)

    class Stop(Exception):
        pass

    def stop(record):
        if record["epoch"] == 2:
            raise Stop

    with pytest.raises(Stop):
        run(config, RunOptions(results_dir=str(tmp_path / "b"), quiet=True), dataset=tiny_dataset, on_epoch_end=stop)
    resumed = run(config, RunOptions(results_dir=str(tmp_path / "b"), quiet=True, resume=True), dataset=tiny_dataset)
    # CUDA scatter-add is not bitwise deterministic; masks and epochs must still match closely
    assert resumed["resumed_from_epoch"] == 2
    assert abs(resumed["test_accuracy"] - full["test_accuracy"]) < 5.0
    assert resumed["mask_sparsity"] == full["mask_sparsity"]


def test_cuda_device_flag_via_cli(tmp_path):
    from gnn_sparse.cli import main

    assert main(["--device", "cuda:0", "--epochs", "1", "--results-dir", str(tmp_path), "--quiet"]) == 0

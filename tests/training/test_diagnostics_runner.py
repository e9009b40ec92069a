"""The paper's diagnostics in every run: L_g in the update records, the FLOPs block, and
switching the probe off changes nothing but the diagnostics."""
import pytest

from baselines.link_prediction import register_admm
from gnn_sparse.training import RunOptions, run
from gnn_sparse.vision import load_digits_splits
from gnn_sparse.vision.config import ImageRunConfig
from gnn_sparse.vision.runner import run_image

register_admm()  # --method admm, as the command lines do


def _run(tmp_path, config, dataset, name):
    return run(config, RunOptions(results_dir=str(tmp_path), run_name=name, quiet=True), dataset=dataset)


@pytest.mark.parametrize("method", ["dst-ee", "set"])
def test_link_prediction_records_lg_and_the_flag_removes_only_the_diagnostic(method, tiny_dataset, tiny_config,
                                                                             tmp_path):
    on = _run(tmp_path, tiny_config(method=method), tiny_dataset, "on")
    off = _run(tmp_path, tiny_config(method=method, exploitation_probe=False), tiny_dataset, "off")
    updates = on["exploration_history"]
    measured = [h for h in updates if "exploitation" in h]
    assert len(measured) >= len(updates) - 1 >= 3  # the last update may fall on the last step
    assert on["exploitation_probe"] == {"enabled": True, "forwards": len(measured)}
    for h in measured:
        e = h["exploitation"]
        assert e["t_measured"] == h["t"] + 1 and e["L_g"] == e["loss_before"] - e["loss_after"]
        assert set(h["layers"]) == {"fc1.weight", "fc2.weight"}
        assert e["L_g_first_order"] == pytest.approx(sum(l["L_g_first_order"] for l in h["layers"].values()))
    assert off["exploitation_probe"] == {"enabled": False, "forwards": 0}
    assert not any("exploitation" in h for h in off["exploration_history"])
    assert on["test_accuracy"] == off["test_accuracy"] and on["test_auc"] == off["test_auc"]
    assert [r["train_loss"] for r in on["history"]] == [r["train_loss"] for r in off["history"]]


def test_flops_ratios_dense_sparse_and_admm(tiny_dataset, tiny_config, tmp_path):
    dense = _run(tmp_path, tiny_config(method="dense"), tiny_dataset, "dense")
    assert dense["train_flops_ratio"] == dense["inference_flops_ratio"] == 1.0
    rigl = _run(tmp_path, tiny_config(method="rigl", sparsity=0.9), tiny_dataset, "rigl")
    set_ = _run(tmp_path, tiny_config(method="set", sparsity=0.9), tiny_dataset, "set")
    admm = _run(tmp_path, tiny_config(method="admm", sparsity=0.9, pretrain_epochs=2, admm_epochs=2,
                                      retrain_epochs=2), tiny_dataset, "admm")
    f = rigl["flops"]
    assert f["dense_gradient_steps"] == len(rigl["exploration_history"]) > 0
    assert set_["flops"]["dense_gradient_steps"] == 0
    # same masks' density: RigL pays the dense weight gradients on top of SET
    assert set_["train_flops_ratio"] < rigl["train_flops_ratio"] < 1.0
    assert rigl["inference_flops_ratio"] == set_["inference_flops_ratio"] < 1.0
    # the head's inference FLOPs scale with its density; the encoder stays dense
    head = sum(f["layers"][n]["inference_dense"] * (1 - f["layers"][n]["final_density"])
               for n in ("fc1.weight", "fc2.weight"))
    assert f["inference"] == pytest.approx(f["inference_dense"] - head)
    # ADMM: 4 of 6 epochs dense, 2 sparse, with the same per-epoch cost as dense
    a = admm["flops"]
    assert [p["epochs"] for p in a["phases"]] == [2, 2, 2]
    sparse_epoch = set_["flops"]["train"] / 6
    assert a["train"] == pytest.approx(4 * dense["flops"]["train"] / 6 + 2 * sparse_epoch, rel=1e-3)


def test_image_runner_records_lg_and_flops_per_image(tmp_path, one_thread):
    splits = load_digits_splits(seed=0)
    config = ImageRunConfig.from_dict({"method": "rigl", "sparsity": 0.9, "epochs": 2, "update_interval": 10})
    result = run_image(config, RunOptions(results_dir=str(tmp_path), quiet=True), splits=splits)
    measured = [h for h in result["exploration_history"] if "exploitation" in h]
    assert len(measured) >= len(result["exploration_history"]) - 1 >= 3
    f = result["flops"]
    assert f["inference_unit"] == "one image" and 0 < result["inference_flops_ratio"] < 1
    conv = f["layers"]["features.0.weight"]  # the first conv: 1 -> 32 channels, 3x3, 8x8 outputs, kept dense
    assert conv["inference_dense"] == 2 * 32 * 9 * 8 * 8 and conv["final_density"] == 1.0

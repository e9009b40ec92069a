import pytest
import torch

from gnn_sparse.training import (
    METHODS,
    ConfigError,
    Method,
    RunConfig,
    build_method,
    link_metrics,
    register_method,
    select_best,
)
from gnn_sparse.training.config import config_differences
from gnn_sparse.training.device import resolve_device


def test_link_metrics_hand_checked():
    logits = torch.tensor([2.0, -1.0, 0.0, 0.5])
    labels = torch.tensor([1.0, 0.0, 1.0, 0.0])
    m = link_metrics(logits, labels)
    assert m["accuracy"] == 50.0  # logit 0 -> sigmoid 0.5 -> "no link"; 0.5 -> link (wrong)
    assert m["auc"] == pytest.approx(0.75)
    # ranked 2 (+), 0.5 (-), 0 (+), -1 (-): precision 1/1 at the first positive, 2/3 at the second
    assert m["ap"] == pytest.approx((1 + 2 / 3) / 2)
    single = link_metrics(torch.tensor([1.0, -1.0]), torch.tensor([1.0, 1.0]))
    assert single == {"accuracy": 50.0, "auc": None, "ap": None}
    with pytest.raises(ValueError, match="1-D"):
        link_metrics(torch.zeros(2, 2), torch.zeros(2, 2))


def _rec(epoch, acc, auc, selectable=True):
    return {"epoch": epoch, "selectable": selectable, "val": {"accuracy": acc, "auc": auc}}


def test_select_best_on_validation_ties_by_auc_then_earliest():
    history = [_rec(1, 70, 0.8), _rec(2, 75, 0.7), _rec(3, 75, 0.9), _rec(4, 75, 0.9), _rec(5, 99, 0.99, False)]
    assert select_best(history)["epoch"] == 3
    with pytest.raises(ValueError, match="selectable"):
        select_best([_rec(1, 50, 0.5, False)])


@pytest.mark.parametrize("kwargs, match", [
    ({"sparsity": 1.0}, "sparsity must be in"),
    ({"sparsity": -0.1}, "sparsity must be in"),
    ({"epochs": 0}, "epochs must be an integer in \\[1, 1000000\\]"),
    ({"batch_size": -1}, "batch_size must be an integer in \\[1, 2147483647\\]"),
    ({"encoder": "gat"}, "encoder must be one of"),
    ({"sparsify": "head"}, "sparsify must be one of"),
    ({"encoder": "none", "sparsify": "gnn"}, "needs a GNN encoder"),
    ({"lr": 0.0}, "lr must be > 0"),
    ({"sparsity": float("nan")}, "sparsity must be a finite number, got nan"),
    ({"lr": float("inf")}, "lr must be a finite number, got inf"),
    ({"c": float("inf")}, "c must be a finite number, got inf"),
    ({"val_ratio": float("nan")}, "val_ratio must be a finite number, got nan"),
    ({"neg_ratio": 1e9}, "neg_ratio must be in \\(0, 1000\\]"),
    ({"epochs": 10**30}, "epochs must be an integer in \\[1, 1000000\\]"),
    ({"epochs": True}, "epochs must be an integer"),
    ({"hidden_dim": 10**11}, "hidden_dim must be an integer in \\[1, 65536\\]"),
    ({"seed": -1}, "seed must be an integer in \\[0, 4294967295\\]"),
    ({"num_neighbors": [2**40]}, "at most 2147483647"),
    ({"ranking_negatives": -1}, "ranking_negatives must be an integer in \\[0, 65536\\], got -1"),
    ({"ranking_negatives": 1.5}, "ranking_negatives must be an integer"),
])
def test_config_validation(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        RunConfig.from_dict(kwargs)


def test_config_differences_and_run_id():
    a, b = RunConfig().to_dict(), RunConfig.from_dict({"lr": 0.05, "device": "cuda:0"})
    assert config_differences(a, b) == ["lr: 0.1 (checkpoint) vs 0.05 (now)"]  # device is not compared
    del a["exploitation_probe"]  # an option added after the run was saved counts as its default
    assert config_differences(a, b) == ["lr: 0.1 (checkpoint) vs 0.05 (now)"]
    assert RunConfig.from_dict({"method": "dense", "sparsity": 0.5}).run_id() == "synthetic-dense-gcn-fc-s0-seed0"
    assert RunConfig.from_dict({"dataset": "/x/y/email.txt.gz"}).run_id().startswith("email.txt.gz-dst-ee")


def test_registry():
    assert set(METHODS) >= {"dense", "dst-ee", "rigl", "set", "static"}
    with pytest.raises(ConfigError, match="unknown method 'admm2'"):
        build_method(RunConfig.from_dict({"method": "admm2"}))
    with pytest.raises(ValueError, match="already registered"):
        register_method("dense", Method)
    with pytest.raises(ConfigError, match="does not take option"):
        build_method(RunConfig.from_dict({"method": "dst-ee", "method_options": {"rho": 0.01}}))
    assert build_method(RunConfig.from_dict({"method": "dense", "sparsity": 0.9})).target_sparsity == 0.0


def test_device_resolution():
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(ConfigError, match="unknown device"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="CUDA is not available"):
            resolve_device("cuda:0")


def _write_index_rows(results_dir, worker, rows):
    from gnn_sparse.training.results import update_index

    for i in range(rows):
        update_index(results_dir, {"run_id": f"w{worker}-r{i}"}, f"w{worker}-r{i}.json")


def test_concurrent_runs_sharing_a_results_folder_lose_no_index_line(tmp_path):
    # Several runs started side by side in one results folder: each rewrites index.jsonl
    # (read, replace its line, write); without a lock, one rewrite can drop another's line.
    import multiprocessing as mp

    from gnn_sparse.training.results import read_index

    workers, rows = 4, 40
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_write_index_rows, args=(str(tmp_path), w, rows)) for w in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    ids = sorted(r["run_id"] for r in read_index(tmp_path))
    assert ids == sorted(f"w{w}-r{i}" for w in range(workers) for i in range(rows))

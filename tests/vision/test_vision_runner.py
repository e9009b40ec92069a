"""The image-classification runner: digits end to end through the trainer's methods and the
ADMM baseline, the results JSON contract, checkpoint/resume, CIFAR on fake pickle batches."""
import json
import pickle

import numpy as np
import pytest
import torch

from baselines.link_prediction import register_admm
from gnn_sparse.reports import load_runs
from gnn_sparse.training import REQUIRED_KEYS, ConfigError, read_index
from gnn_sparse.vision import erk_sparsities, load_digits_splits
from gnn_sparse.vision.cli import main
from gnn_sparse.vision.config import ImageRunConfig
from gnn_sparse.vision.runner import RunOptions, build_image_model, run_image

register_admm()  # --method admm, as the command lines do

SPARSITY = 0.9
TIMING_KEYS = ("time_s", "train_time_s")


@pytest.fixture(scope="module")
def digits():
    return load_digits_splits(seed=0)


def _config(method, epochs, **kw):
    return ImageRunConfig.from_dict({"method": method, "sparsity": SPARSITY, "epochs": epochs, **kw})


def _run(tmp_path, config, splits, **options):
    return run_image(config, RunOptions(results_dir=str(tmp_path), quiet=True, **options), splits=splits)


def _assert_exact_erk(result, config):
    """Every masked layer keeps exactly round((1 - s_l) n_l) weights, s_l = ERK (RigL convention)."""
    model = build_image_model(config, 10, 1)
    dist = erk_sparsities(model, SPARSITY)
    params = dict(model.named_parameters())
    assert set(result["layer_sparsity"]) == set(dist) == set(result["dataset_info"]["masked_layers"])
    assert "features.0.weight" not in dist  # first layer dense (RigL)
    total = kept = 0
    for name, s in dist.items():
        n = params[name].numel()
        k = round((1 - s) * n)
        assert result["mask_sparsity"][name] == pytest.approx(1 - k / n, abs=1e-12), name
        assert result["layer_sparsity"][name] >= result["mask_sparsity"][name] - 1e-12, name  # inactive = 0
        total, kept = total + n, kept + k
    assert 1 - kept / total == pytest.approx(SPARSITY, abs=len(dist) / total)


def _assert_results_file(tmp_path, result):
    with open(tmp_path / f"{result['run_id']}.json", encoding="utf-8") as f:
        saved = json.load(f)
    missing = [k for k in REQUIRED_KEYS if k not in saved]
    assert not missing
    assert saved["test_accuracy"] == result["test_accuracy"] and saved["task"] == "image-classification"
    best = saved["history"][saved["best_epoch"] - 1]["test"]  # the reported metrics are the best epoch's
    assert (saved["test_accuracy"], saved["test_auc"], saved["test_ap"]) == (best["accuracy"], best["auc"], best["ap"])
    best_test = max(r["test"]["accuracy"] for r in saved["history"] if r["selectable"])
    assert saved["best_test_accuracy"] == best_test  # the selection on test, recomputed
    assert saved["history"][saved["best_test_epoch"] - 1]["test"]["accuracy"] == best_test
    assert saved["device"] == "cpu" and saved["config"]["device"] == "cpu"
    c = saved["config"]
    phases = c["pretrain_epochs"] + c["admm_epochs"] + c["retrain_epochs"]
    assert saved["epochs"] == len(saved["history"]) == (phases if saved["method"] == "admm" else c["epochs"])
    assert any(row["run_id"] == result["run_id"] for row in read_index(tmp_path))
    assert (tmp_path / "checkpoints" / f"{result['run_id']}.pt").is_file()
    return saved


def test_digits_dense_through_the_cli(tmp_path, capsys):
    code = main(["--method", "dense", "--epochs", "4", "--results-dir", str(tmp_path), "--quiet", "--threads", "1"])
    assert code == 0
    assert "digits-dense-digits-cnn-rigl-s0-seed0" in capsys.readouterr().out
    path = tmp_path / "digits-dense-digits-cnn-rigl-s0-seed0.json"
    saved = _assert_results_file(tmp_path, json.loads(path.read_text()))
    assert saved["method"] == "dense" and saved["dataset"] == "digits" and saved["sparsity"] == 0.0
    assert saved["test_accuracy"] > 90 and saved["exploration_rate"] is None
    assert max(saved["layer_sparsity"].values()) < 0.01


def test_digits_dst_ee_exact_erk_sparsity(tmp_path, digits):
    config = _config("dst-ee", 5, update_interval=20)
    result = _run(tmp_path, config, digits)
    saved = _assert_results_file(tmp_path, result)
    assert saved["method"] == "dst-ee" and saved["sparsity"] == SPARSITY
    assert saved["test_accuracy"] > 85
    assert 0 < saved["exploration_rate"] <= 1 and saved["mask_updates"] >= 3
    _assert_exact_erk(saved, config.resolved())


def _admm(pretrain, admm, retrain, **kw):
    return _config("admm", None, pretrain_epochs=pretrain, admm_epochs=admm, retrain_epochs=retrain, **kw)


def test_digits_admm_three_phases(tmp_path, digits):
    """The link-prediction trainer's ADMM method, unchanged, on the CNN (ERK, first layer dense)."""
    config = _admm(2, 2, 2)
    result = _run(tmp_path, config, digits)
    saved = _assert_results_file(tmp_path, result)
    assert [r["phase"] for r in saved["history"]] == ["pretrain"] * 2 + ["admm"] * 2 + ["retrain"] * 2
    assert saved["best_epoch"] in (5, 6)  # only the pruned model's epochs are selectable
    admm = saved["admm"]
    assert len(admm["history"]) == 1 and saved["exploration_rate"] is None
    assert admm["accuracy_after_hard_prune"] is not None and admm["accuracy_after_retrain"] is not None
    assert saved["test_accuracy"] > 85
    _assert_exact_erk(saved, config.resolved())


def test_bad_method_options(tmp_path, digits):
    with pytest.raises(ConfigError, match="retrain_epochs must be >= 1"):
        _run(tmp_path, _admm(1, 1, 0), digits)
    with pytest.raises(ConfigError, match="does not take option"):
        _run(tmp_path, _config("dst-ee", 2, method_options={"rho": 1}), digits)


@pytest.mark.parametrize("method, stop_after", [("dst-ee", 2), ("admm", 5)])
def test_resume_equals_an_uninterrupted_run(tmp_path, digits, method, stop_after):
    """DST-EE mid-run; ADMM (2/2/2) inside retraining, so the hard-pruning masks are restored."""
    make = (lambda **kw: _admm(2, 2, 2, **kw)) if method == "admm" else (lambda **kw: _config(method, 4, **kw))
    config = make(update_interval=10)
    full = _run(tmp_path / "full", config, digits)

    def interrupt(record):
        if record["epoch"] == stop_after:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_image(config, RunOptions(results_dir=str(tmp_path / "cut"), quiet=True), splits=digits,
                  on_epoch_end=interrupt)
    with pytest.raises(ConfigError, match="--resume"):
        _run(tmp_path / "cut", config, digits)
    resumed = _run(tmp_path / "cut", config, digits, resume=True)
    assert resumed["resumed_from_epoch"] == stop_after
    strip = lambda h: [{k: v for k, v in r.items() if k not in TIMING_KEYS} for r in h]  # noqa: E731
    assert strip(resumed["history"]) == strip(full["history"])
    # metrics.jsonl: every epoch once, as in the results (the resume rewrote the cut run's lines)
    run_files = tmp_path / "cut" / resumed["run_id"]
    lines = (run_files / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == resumed["history"]
    started = json.loads((run_files / "config.json").read_text())
    assert started["config"] == resumed["config"] and started["resumed_from_epoch"] == stop_after
    assert started["task"] == "image-classification"
    for key in ("test_accuracy", "test_auc", "best_epoch", "layer_sparsity", "exploration_rate",
                "exploration_history", "mask_sparsity", "admm"):
        assert resumed.get(key) == full.get(key), key
    # a finished run is not redone; another config under the same name is refused
    assert _run(tmp_path / "cut", config, digits)["finished_at"] == resumed["finished_at"]
    with pytest.raises(ConfigError, match="different config"):
        _run(tmp_path / "cut", make(update_interval=10, rho=0.5), digits,
             run_name=resumed["run_id"])


def test_report_reads_image_results(tmp_path, digits):
    _run(tmp_path, _config("dense", 1), digits)
    _run(tmp_path, _config("rigl", 1), digits)
    loaded = load_runs(tmp_path, "digits")
    assert sorted(r.key.method for r in loaded.runs) == ["dense", "rigl"] and not loaded.problems


# ----------------------------------------------------------------------------- CIFAR
def _fake_cifar(root, classes, per_file):
    """The released pickle layout, small (uint8 rows of 3072, every class alike)."""
    rng = np.random.default_rng(0)
    rows = lambda n: rng.integers(0, 256, (n, 3072), dtype=np.uint8)  # noqa: E731
    labels = lambda n: [int(v) for v in rng.permutation(np.arange(n) % classes)]  # noqa: E731

    def dump(path, obj):
        with open(path, "wb") as f:
            pickle.dump(obj, f)

    if classes == 10:
        folder = root / "cifar-10-batches-py"
        folder.mkdir(parents=True)
        for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
            dump(folder / name, {b"data": rows(per_file), b"labels": labels(per_file)})
        dump(folder / "batches.meta", {b"label_names": [f"c{i}".encode() for i in range(10)]})
    else:
        folder = root / "cifar-100-python"
        folder.mkdir(parents=True)
        for name in ("train", "test"):
            dump(folder / name, {b"data": rows(per_file), b"fine_labels": labels(per_file)})
        dump(folder / "meta", {b"fine_label_names": [f"f{i}".encode() for i in range(100)]})


@pytest.mark.parametrize("dataset, model, per_file", [("cifar10", "vgg19", 8), ("cifar100", "resnet50", 200)])
def test_cifar_on_fake_batches(tmp_path, dataset, model, per_file):
    classes = 10 if dataset == "cifar10" else 100
    _fake_cifar(tmp_path / "data", classes, per_file)
    config = ImageRunConfig.from_dict({"dataset": dataset, "cifar_root": str(tmp_path / "data"), "model": model,
                                       "width": 4, "val_size": classes, "epochs": 1, "batch_size": 16,
                                       "method": "dst-ee", "sparsity": SPARSITY, "update_interval": 1})
    result = run_image(config, RunOptions(results_dir=str(tmp_path / "results"), quiet=True))
    saved = _assert_results_file(tmp_path / "results", result)
    assert saved["dataset"] == dataset and saved["config"]["augment"] is True
    assert saved["config"]["batch_size"] == 16 and saved["config"]["lr"] == 0.1  # CIFAR defaults kept
    info = saved["dataset_info"]
    assert info["num_classes"] == classes and info["image_shape"] == [3, 32, 32]
    assert info["val_images"] == classes and info["test_images"] == per_file
    assert info["train_images"] == (5 if classes == 10 else 1) * per_file - classes
    model_ = build_image_model(config.resolved(), classes, 3)
    dist = erk_sparsities(model_, SPARSITY)
    params = dict(model_.named_parameters())
    assert set(saved["mask_sparsity"]) == set(dist)
    for name, s in dist.items():
        k = round((1 - s) * params[name].numel())
        assert saved["mask_sparsity"][name] == pytest.approx(1 - k / params[name].numel(), abs=1e-12), name


def test_missing_cifar_files_exit_2_naming_them(tmp_path, capsys):
    (tmp_path / "cifar-10-batches-py").mkdir()
    (tmp_path / "cifar-10-batches-py" / "data_batch_1").write_bytes(b"")
    code = main(["--dataset", "cifar10", "--cifar-root", str(tmp_path), "--results-dir", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    for name in ["data_batch_2", "data_batch_5", "test_batch", "batches.meta", "cifar-10-batches-py"]:
        assert name in err, name
    assert not (tmp_path / "r").exists()  # nothing written
    assert main(["--dataset", "cifar100", "--results-dir", str(tmp_path / "r")]) == 2
    assert "--cifar-root" in capsys.readouterr().err


def test_bad_options_exit_2(tmp_path, capsys):
    args = ["--results-dir", str(tmp_path), "--epochs", "1"]
    assert main([*args, "--model", "vgg19"]) == 2  # 32x32 model on 8x8 digits
    assert main([*args, "--sparsity", "1.0"]) == 2
    with pytest.raises(SystemExit) as exit_:
        main([*args, "--method", "magic"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "digits-cnn" in err and "sparsity must be in [0, 1)" in err and "invalid choice: 'magic'" in err


# ----------------------------------------------------------------------------- config and models
def test_cifar_defaults_follow_the_paper():
    cfg = ImageRunConfig.from_dict({"dataset": "cifar100", "cifar_root": "/data"}).resolved()
    optim, admm = cfg.optim, cfg.admm
    assert (cfg.network.model, cfg.network.width, optim.epochs, optim.batch_size, optim.lr, optim.momentum,
            optim.weight_decay) == ("vgg19", 64, 160, 128, 0.1, 0.9, 5e-4)
    assert (optim.lr_schedule, cfg.sparse.distribution, cfg.sparse.sparsify, cfg.data.augment, cfg.data.val_size) == \
        ("cosine", "erk", "rigl", True, 5000)
    assert admm.pretrain_epochs + admm.admm_epochs + admm.retrain_epochs == 160
    assert cfg.resolved() == cfg and cfg.run_id() == "cifar100-dst-ee-vgg19-rigl-s0.9-seed0"
    small = ImageRunConfig.from_dict({"dataset": "cifar10", "cifar_root": "/data", "model": "resnet50", "width": 8,
                                      "method": "dense"})
    assert small.run_id() == "cifar10-dense-resnet50w8-rigl-s0-seed0"
    digits = ImageRunConfig().resolved()
    assert (digits.network.model, digits.data.augment, digits.data.val_size) == ("digits-cnn", False, None)
    with pytest.raises(ConfigError, match="val_size is for CIFAR"):
        ImageRunConfig.from_dict({"val_size": 100})
    with pytest.raises(ConfigError, match="sparsify must be one of rigl, all"):
        ImageRunConfig.from_dict({"sparsify": "fc"})


def test_sparsifiable_scopes_and_scaled_models():
    from gnn_sparse.vision import DigitsCNN, ResNet, masked_layers

    model = DigitsCNN()
    assert model.sparsifiable() == masked_layers(model) == ["features.3.weight", "classifier.weight"]
    assert model.sparsifiable("all") == ["features.0.weight", "features.3.weight", "classifier.weight"]
    with pytest.raises(ValueError, match="scope must be one of rigl, all"):
        model.sparsifiable("gnn")
    resnet = ResNet(width=4, num_classes=7)
    assert resnet.conv1.out_channels == 4 and resnet.linear.in_features == 4 * 8 * 4
    assert resnet(torch.randn(2, 3, 32, 32)).shape == (2, 7)
    vgg = build_image_model(ImageRunConfig.from_dict({"dataset": "cifar10", "cifar_root": "/d", "width": 8}), 10, 3)
    convs = [m for m in vgg.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs][:3] == [8, 8, 16] and vgg.classifier.in_features == 64


def test_an_option_missing_from_an_old_image_checkpoint_counts_as_the_image_default():
    from gnn_sparse.training.config import config_differences

    config = ImageRunConfig.from_dict({"method": "rigl"}).resolved()
    saved = config.to_dict()
    del saved["distribution"], saved["c"]  # the image runner's erk and 1e-3, not link prediction's
    assert config_differences(saved, config) == []
    assert config_differences(saved, config.updated(distribution="uniform")) == [
        "distribution: 'erk' (checkpoint) vs 'uniform' (now)"]

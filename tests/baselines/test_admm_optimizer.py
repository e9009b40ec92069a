"""``--admm-optimizer``: ADMM with the original code's SGD (the default, unchanged) or with the
sparse runs' optimizer and schedule in every phase (``run``, named ``admm-run``)."""
import math

import pytest
import torch

from baselines.link_prediction import OPTIMIZER, ADMMMethod, register_admm
from gnn_sparse.cli import build_parsers, main
from gnn_sparse.models import build_link_predictor
from gnn_sparse.training import ConfigError, RunConfig, RunOptions, run
from gnn_sparse.vision.config import ImageRunConfig

pytestmark = pytest.mark.usefixtures("one_thread")

register_admm()

PHASES = dict(pretrain_epochs=2, admm_epochs=3, retrain_epochs=2)


def _config(**kw):
    values = dict(method="admm", batch_size=128, device="cpu", sparsity=0.9, **PHASES)
    values.update(kw)
    return RunConfig.from_dict(values)


def _phase_optimizers(config):
    """``[(phase, optimizer, scheduler)]`` as the trainer gets them, on a small model."""
    method = ADMMMethod(config)
    model = build_link_predictor(20, "gcn", 8, 8, 4, 2, 16)
    return [(phase.name, *method.start_phase(phase, model, steps_per_epoch=3)) for phase in method.phases()]


def _lrs(optimizer, scheduler, epochs):
    lrs = []
    for _ in range(epochs):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return lrs


def test_original_is_the_default_and_its_optimizer_is_unchanged():
    config = _config()
    assert config.admm.admm_optimizer == "original"
    for name, optimizer, scheduler in _phase_optimizers(config):
        assert type(optimizer) is torch.optim.SGD
        group = optimizer.param_groups[0]
        assert (group["lr"], group["momentum"], group["weight_decay"], group["nesterov"]) == (0.05, 0, 0, False)
        decay = 1.0 if name == "admm" else 0.98
        epochs = PHASES[f"{name}_epochs"]
        assert _lrs(optimizer, scheduler, epochs) == pytest.approx([0.05 * decay**e for e in range(epochs)])


def test_run_uses_the_sparse_runs_optimizer_and_cosine_in_every_phase():
    config = _config(admm_optimizer="run", lr=0.2, momentum=0.8, weight_decay=1e-3)
    phases = _phase_optimizers(config)
    assert [p[0] for p in phases] == ["pretrain", "admm", "retrain"]
    for name, optimizer, scheduler in phases:
        group = optimizer.param_groups[0]
        assert (group["lr"], group["momentum"], group["weight_decay"], group["nesterov"]) == (0.2, 0.8, 1e-3, True)
        assert isinstance(scheduler, torch.optim.lr_scheduler.CosineAnnealingLR)
        epochs = PHASES[f"{name}_epochs"]
        cosine = [0.1 * (1 + math.cos(math.pi * e / epochs)) for e in range(epochs)]  # 0.2/2 (1 + cos)
        assert _lrs(optimizer, scheduler, epochs) == pytest.approx(cosine)
    constant = _phase_optimizers(_config(admm_optimizer="run", lr_schedule="constant"))
    assert all(_lrs(o, s, 3) == pytest.approx([0.1] * 3) for _, o, s in constant)


def test_both_variants_run_side_by_side_and_record_their_optimizer(tiny_dataset, tmp_path):
    options = RunOptions(results_dir=str(tmp_path), quiet=True)
    original = run(_config(), options, dataset=tiny_dataset)
    tuned = run(_config(admm_optimizer="run"), options, dataset=tiny_dataset)
    assert original["run_id"] == "synthetic-admm-gcn-fc-s0.9-seed0"  # the name of every committed ADMM run
    assert tuned["run_id"] == "synthetic-admm-run-gcn-fc-s0.9-seed0"
    assert {p.name for p in tmp_path.glob("*.json")} == {f"{r['run_id']}.json" for r in (original, tuned)}

    assert original["config"]["admm_optimizer"] == "original" and tuned["config"]["admm_optimizer"] == "run"
    assert original["admm"]["optimizer"] == OPTIMIZER
    assert tuned["admm"]["optimizer"].startswith("SGD lr 0.1, momentum 0.9 (Nesterov), weight decay 0.0005, cosine")
    assert tuned["admm"]["schedule"] == PHASES
    assert original["admm"]["schedule"]["lr"] == 0.05

    # per epoch: the original decay, and cosine restarting at --lr in each phase
    assert [r["lr"] for r in original["history"]] == pytest.approx([0.05, 0.049, 0.05, 0.05, 0.05, 0.05, 0.049])
    assert [r["lr"] for r in tuned["history"]] == pytest.approx([0.1, 0.05, 0.1, 0.075, 0.025, 0.1, 0.05])
    assert [r["phase"] for r in tuned["history"]] == ["pretrain"] * 2 + ["admm"] * 3 + ["retrain"] * 2
    assert tuned["history"][0]["train_loss"] != original["history"][0]["train_loss"]
    assert tuned["layer_sparsity"] == original["layer_sparsity"]  # the same hard pruning


def test_config_validation_and_image_run_names():
    with pytest.raises(ConfigError, match="admm_optimizer must be one of original, run, got 'sgd'"):
        RunConfig.from_dict({"admm_optimizer": "sgd"})
    assert RunConfig.from_dict({"method": "rigl", "admm_optimizer": "run"}).run_id().startswith("synthetic-rigl-")
    image = ImageRunConfig.from_dict({"method": "admm", "admm_optimizer": "run"})
    assert image.run_id() == "digits-admm-run-digits-cnn-rigl-s0.9-seed0"
    assert ImageRunConfig.from_dict({"method": "admm"}).run_id() == "digits-admm-digits-cnn-rigl-s0.9-seed0"


def test_cli_flag_in_train_and_compare_help_and_bad_values_exit_2(capsys):
    parsers = build_parsers()[1]
    for command in ("train", "compare"):
        help_text = " ".join(parsers[command].format_help().split())
        assert "--admm-optimizer {original,run}" in help_text
    assert parsers["train"].parse_args(["--method", "admm"]).admm_optimizer == "original"
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--method", "admm", "--admm-optimizer", "adam"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "argument --admm-optimizer: invalid choice: 'adam'" in err[0]

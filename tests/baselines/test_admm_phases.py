"""ADMMSchedule and ADMMRunner: the three phases, the logs and exact resume."""
import io
import json

import pytest
import torch
from torch import nn

from baselines import ADMMPruner, ADMMRunner, ADMMSchedule, Phase

SCHEDULE = ADMMSchedule(pretrain_epochs=2, admm_epochs=4, retrain_epochs=2)


def _data():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(128, 16, generator=gen)
    return x, x @ torch.randn(4, 16, generator=gen).T


def _build(seed=0, schedule=SCHEDULE, momentum=0.9, sparsity=0.75, evaluate=True):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(16, 12), nn.ReLU(), nn.Linear(12, 4))
    opt = torch.optim.SGD(model.parameters(), lr=1.0, momentum=momentum)
    x, y = _data()

    def val_accuracy():  # stands in for a validation metric; uses the RNG and eval mode
        model.eval()
        with torch.no_grad():
            noise = 1e-3 * torch.rand(())
            return float(-nn.functional.mse_loss(model(x), y) + noise)

    pruner = ADMMPruner(model, sparsity=sparsity, rho=0.5, rho_factor=1.3)
    runner = ADMMRunner(pruner, opt, schedule, evaluate=val_accuracy if evaluate else None)
    return model, opt, runner


def _train(model, opt, runner, until=None, on_step=None):
    """The reference training loop: shuffled mini-batches from the global RNG."""
    x, y = _data()
    phases = []
    while not runner.finished and (until is None or runner.epoch < until):
        phases.append(runner.begin_epoch())
        model.train()
        for idx in torch.randperm(len(x)).split(32):
            opt.zero_grad()
            loss = runner.add_penalty(nn.functional.mse_loss(model(x[idx]), y[idx]))
            loss.backward()
            opt.step()
            runner.step()
            if on_step is not None:
                on_step(runner.phase)
        runner.end_epoch()
    return phases


def _checkpoint(model, opt, runner):
    buf = io.BytesIO()
    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "admm": runner.state_dict(),
                "rng": torch.get_rng_state()}, buf)
    buf.seek(0)
    return torch.load(buf)


# ---------------------------------------------------------------------- schedule
def test_schedule_defaults_phases_and_lr():
    s = ADMMSchedule()
    assert (s.pretrain_epochs, s.admm_epochs, s.retrain_epochs, s.total_epochs) == (20, 20, 20, 60)
    assert s.phase(0) == (Phase.PRETRAIN, 0) and s.phase(19) == (Phase.PRETRAIN, 19)
    assert s.phase(20) == (Phase.ADMM, 0) and s.phase(40) == (Phase.RETRAIN, 0)
    assert s.lr_at(0) == 0.05 and s.lr_at(3) == pytest.approx(0.05 * 0.98**3)
    assert s.lr_at(20) == s.lr_at(39) == 0.05  # ADMM: constant
    assert s.lr_at(41) == pytest.approx(0.05 * 0.98)
    with pytest.raises(ValueError, match=r"ADMMSchedule: epoch 60 is outside \[0, 60\)"):
        s.phase(60)


@pytest.mark.parametrize("field", ["pretrain_epochs", "admm_epochs", "retrain_epochs"])
@pytest.mark.parametrize("value", [-1, 2.5, True])
def test_schedule_rejects_negative_epochs(field, value):
    with pytest.raises(ValueError, match=f"ADMMSchedule: {field} must be an integer >= 0"):
        ADMMSchedule(**{field: value})


def test_schedule_rejects_bad_lr_and_no_epochs():
    with pytest.raises(ValueError, match="ADMMSchedule: lr must be > 0"):
        ADMMSchedule(lr=0.0)
    with pytest.raises(ValueError, match="ADMMSchedule: retrain_lr_decay must be > 0"):
        ADMMSchedule(retrain_lr_decay=-1.0)
    with pytest.raises(ValueError, match="ADMMSchedule: at least one epoch is needed"):
        ADMMSchedule(0, 0, 0)


# ---------------------------------------------------------------------- a whole run
def test_full_run_phases_logs_and_exact_sparsity():
    model, opt, runner = _build()
    lrs = []
    phases = _train(model, opt, runner, on_step=lambda phase: lrs.append(opt.param_groups[0]["lr"]))
    assert phases == [Phase.PRETRAIN] * 2 + [Phase.ADMM] * 4 + [Phase.RETRAIN] * 2
    assert lrs[0] == 0.05 and lrs[-1] == pytest.approx(0.05 * 0.98)

    results = runner.results()
    json.dumps(results)  # goes into the run's results JSON as is
    history = results["history"]
    assert [r["epoch"] for r in history] == [3, 4, 5]  # from the second ADMM epoch on
    assert [r["update"] for r in history] == [1, 2, 3]
    assert [r["rho"] for r in history] == pytest.approx([0.5 * 1.3, 0.5 * 1.3**2, 0.5 * 1.3**3])
    for record in history:
        assert set(record) == {"epoch", "update", "rho", "w_minus_z", "z_change", "val_accuracy_if_pruned"}
        assert set(record["w_minus_z"]) == set(record["z_change"]) == {"0.weight", "2.weight"}
        assert isinstance(record["val_accuracy_if_pruned"], float)
    assert isinstance(results["accuracy_after_hard_prune"], float)
    assert results["accuracy_after_retrain"] > results["accuracy_after_hard_prune"]

    for n, p in runner.pruner.params.items():
        assert torch.count_nonzero(p) == runner.pruner.keep[n] == p.numel() // 4
        assert torch.equal(runner.sparsifier.masks[n], p != 0)


def test_each_phase_starts_with_fresh_optimizer_state():
    model, opt, runner = _build()
    starts = []
    while not runner.finished:
        epoch = runner.epoch
        had_state = len(opt.state) > 0
        runner.begin_epoch()
        if epoch in (2, 6):  # first ADMM and first retraining epoch
            assert had_state and len(opt.state) == 0
            starts.append(epoch)
        elif epoch > 0:
            assert len(opt.state) > 0  # momentum kept within a phase
        x, y = _data()
        opt.zero_grad()
        runner.add_penalty(nn.functional.mse_loss(model(x), y)).backward()
        opt.step()
        runner.step()
        runner.end_epoch()
    assert starts == [2, 6]


def test_logging_does_not_change_training():
    runs = []
    for evaluate in (True, False):
        model, opt, runner = _build(evaluate=evaluate)
        _train(model, opt, runner)
        runs.append({n: p.detach().clone() for n, p in model.named_parameters()})
        if not evaluate:
            assert runner.results()["accuracy_after_retrain"] is None
            assert runner.results()["history"][0]["val_accuracy_if_pruned"] is None
    for n in runs[0]:
        assert torch.equal(runs[0][n], runs[1][n])


def test_without_retraining_prunes_at_the_end():
    model, opt, runner = _build(schedule=ADMMSchedule(1, 2, 0))
    _train(model, opt, runner)
    results = runner.results()
    assert results["accuracy_after_retrain"] == results["accuracy_after_hard_prune"]
    assert all(torch.count_nonzero(p) == runner.pruner.keep[n] for n, p in runner.pruner.params.items())


def test_without_admm_is_one_shot_magnitude_pruning():
    model, opt, runner = _build(schedule=ADMMSchedule(2, 0, 1))
    _train(model, opt, runner, until=2)
    expected = runner.pruner.masks()
    _train(model, opt, runner)
    assert runner.results()["history"] == []
    for n, p in runner.pruner.params.items():
        assert torch.equal(runner.sparsifier.masks[n], expected[n])


def _train_phase_driven(model, runner, momentum=0.9):
    """The Method-protocol shape: a new optimizer and a per-epoch LambdaLR per phase."""
    x, y = _data()
    lrs = []
    for phase in Phase:
        if runner.schedule.epochs(phase) == 0:
            continue
        opt = torch.optim.SGD(model.parameters(), lr=runner.schedule.lr, momentum=momentum)
        decay = runner.schedule.lr_decay(phase)
        scheduler = torch.optim.lr_scheduler.LambdaLR(opt, lambda e: decay**e)
        runner.start_phase(phase, opt)
        for _ in range(runner.schedule.epochs(phase)):
            lrs.append(opt.param_groups[0]["lr"])
            model.train()
            for idx in torch.randperm(len(x)).split(32):
                opt.zero_grad()
                runner.add_penalty(nn.functional.mse_loss(model(x[idx]), y[idx])).backward()
                opt.step()
                runner.step()
            scheduler.step()
            runner.end_epoch()
    return lrs


def test_phase_driven_equals_epoch_driven():
    model, opt, runner = _build()
    lrs = []
    _train(model, opt, runner, on_step=lambda phase: lrs.append(opt.param_groups[0]["lr"]))
    model2, _, runner2 = _build()
    lrs2 = _train_phase_driven(model2, runner2)
    assert lrs2 == lrs[::4]  # 4 steps per epoch
    for n, p in model.named_parameters():
        assert torch.equal(p, dict(model2.named_parameters())[n]), n
    assert runner2.results() == runner.results() and runner2.finished


def test_phase_driven_checks_the_phase():
    model, _, runner = _build()
    with pytest.raises(RuntimeError, match="ADMMRunner.penalty: call begin_epoch"):
        runner.penalty()
    runner.start_phase(Phase.ADMM)  # but epoch 0 is a pretraining epoch
    with pytest.raises(RuntimeError, match="ADMMRunner.end_epoch: epoch 0 is a pretrain epoch, but the phase "
                                           "started last is admm"):
        runner.end_epoch()
    with pytest.raises(ValueError, match=r"ADMMRunner: pruned parameters \['0.weight'\] are not"):
        runner.start_phase(Phase.PRETRAIN, torch.optim.SGD(model[2].parameters(), lr=0.1))


# ---------------------------------------------------------------------- resume
@pytest.mark.parametrize("stop", [1, 2, 3, 4, 6, 7], ids=lambda e: f"after_epoch_{e}")
def test_resume_equals_uninterrupted_run(stop):
    model, opt, runner = _build()
    _train(model, opt, runner)
    reference = {n: p.detach().clone() for n, p in model.named_parameters()}

    model, opt, runner = _build()
    _train(model, opt, runner, until=stop)
    saved = _checkpoint(model, opt, runner)
    del model, opt, runner  # "killed"

    model, opt, runner = _build(seed=1)  # different initial weights, overwritten by the checkpoint
    model.load_state_dict(saved["model"])
    opt.load_state_dict(saved["optimizer"])
    runner.load_state_dict(saved["admm"])
    torch.set_rng_state(saved["rng"])
    assert runner.epoch == stop
    _train(model, opt, runner)
    for n, p in model.named_parameters():
        assert torch.equal(p, reference[n]), n

    model2, opt2, runner2 = _build()
    _train(model2, opt2, runner2)
    assert runner.results() == runner2.results()


# ---------------------------------------------------------------------- misuse
def test_runner_rejects_weights_outside_the_optimizer():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 2))
    opt = torch.optim.SGD(model[0].parameters(), lr=0.1)
    with pytest.raises(ValueError, match=r"ADMMRunner: pruned parameters \['1.weight'\] are not in the optimizer"):
        ADMMRunner(ADMMPruner(model, sparsity=0.5), opt)


def test_runner_call_order_is_checked():
    model, opt, runner = _build()
    with pytest.raises(RuntimeError, match="ADMMRunner.add_penalty: call begin_epoch"):
        runner.add_penalty(torch.zeros(()))
    with pytest.raises(RuntimeError, match="ADMMRunner.end_epoch: no epoch in progress"):
        runner.end_epoch()
    runner.begin_epoch()
    with pytest.raises(RuntimeError, match="ADMMRunner.begin_epoch: epoch 0 is in progress"):
        runner.begin_epoch()
    with pytest.raises(RuntimeError, match="ADMMRunner.state_dict: epoch 0 is in progress"):
        runner.state_dict()
    runner.end_epoch()
    _train(model, opt, runner)
    with pytest.raises(RuntimeError, match="ADMMRunner.begin_epoch: all 8 epochs are done"):
        runner.begin_epoch()


def test_load_state_dict_checks():
    model, opt, runner = _build()
    _train(model, opt, runner, until=3)
    state = runner.state_dict()
    with pytest.raises(RuntimeError, match="ADMMRunner.load_state_dict: load into a runner that has not started"):
        runner.load_state_dict(state)
    _, _, other = _build(schedule=ADMMSchedule(2, 4, 3))
    with pytest.raises(ValueError, match="ADMMRunner.load_state_dict: the state was saved with"):
        other.load_state_dict(state)


def test_repr():
    _, _, runner = _build()
    assert repr(runner).startswith("ADMMRunner(epochs=2/4/2, epoch=0, pruner=ADMMPruner(layers=2")

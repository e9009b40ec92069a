import pytest
import torch

from baselines import ADMMPruner, ADMMRunner, ADMMSchedule
from gnn_sparse import DSTEE
from gnn_sparse.vision import DigitsCNN, ImageBatches, erk_sparsities, evaluate, load_digits_splits, train_epoch

EPOCHS = 5
SPARSITY = 0.9


@pytest.fixture(scope="module")
def digits():
    return load_digits_splits(seed=0)


def _loaders(digits):
    return ImageBatches(digits.train, 32, shuffle=True, seed=0), ImageBatches(digits.test, 256)


def _assert_exact(model, masks, dist):
    params = dict(model.named_parameters())
    assert set(masks) == set(dist)
    for n, s in dist.items():
        k = round((1 - s) * params[n].numel())
        assert int(masks[n].sum()) == k, n
        assert not params[n].detach()[~masks[n]].any(), n
        assert int(params[n].ne(0).sum()) <= k
    total = sum(params[n].numel() for n in dist)
    assert sum(int(m.sum()) for m in masks.values()) / total == pytest.approx(1 - SPARSITY, abs=len(dist) / total)


def test_digits_dense(digits):
    torch.manual_seed(0)
    model = DigitsCNN()
    train, test = _loaders(digits)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    for _ in range(EPOCHS):
        metrics = train_epoch(model, train, optimizer, None, "cpu")
    assert metrics["samples"] == len(digits.train) and metrics["steps"] == len(train)
    assert metrics["accuracy"] > 0.95
    assert evaluate(model, test, "cpu")["accuracy"] > 0.9


def test_digits_dst_ee(digits):
    torch.manual_seed(0)
    model = DigitsCNN()
    train, test = _loaders(digits)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    dist = erk_sparsities(model, SPARSITY)
    sparsifier = DSTEE(model, optimizer, distribution=dist, params=list(dist), update_interval=10,
                       end_step=int(0.75 * EPOCHS * len(train)), c=1e-3, seed=0)
    for _ in range(EPOCHS):
        train_epoch(model, train, optimizer, sparsifier, "cpu")
    assert sparsifier.t == EPOCHS * len(train) and len(sparsifier.history) >= 10
    _assert_exact(model, sparsifier.masks, dist)
    assert evaluate(model, test, "cpu")["accuracy"] > 0.85


def test_digits_admm(digits):
    torch.manual_seed(0)
    model = DigitsCNN()
    train, test = _loaders(digits)
    val = ImageBatches(digits.val, 256)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    dist = erk_sparsities(model, SPARSITY)
    runner = ADMMRunner(ADMMPruner(model, None, distribution=dist, params=list(dist)), optimizer,
                        ADMMSchedule(2, 2, 2), evaluate=lambda: evaluate(model, val, "cpu")["accuracy"])
    while not runner.finished:
        runner.begin_epoch()
        train_epoch(model, train, optimizer, runner, "cpu", loss_hook=runner.add_penalty)
        runner.end_epoch()
    _assert_exact(model, runner.sparsifier.masks, dist)
    assert runner.results()["accuracy_after_retrain"] > 0.85
    assert evaluate(model, test, "cpu")["accuracy"] > 0.85


def test_loss_hook_is_backpropagated_and_loss_reported_before_it():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 2))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
    batches = [(torch.randn(3, 1, 2, 2), torch.tensor([0, 1, 0])) for _ in range(2)]
    seen = []
    hook = lambda loss: seen.append(float(loss.detach())) or loss * 0  # noqa: E731
    out = train_epoch(model, batches, optimizer, None, "cpu", loss_hook=hook)
    assert len(seen) == 2 and out["loss"] == pytest.approx(sum(seen) / 2)
    assert all(p.grad is not None and not p.grad.any() for p in model.parameters())


def test_evaluate_restores_mode_and_rejects_empty_loaders():
    torch.manual_seed(3)  # a seed where batch statistics (train mode) would give 0.0 instead
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.BatchNorm1d(4), torch.nn.Linear(4, 2)).train()
    x, y = torch.randn(5, 1, 2, 2), torch.tensor([0, 1, 1, 0, 1])
    out = evaluate(model, [(x, y)], "cpu")
    assert model.training and out["samples"] == 5 and out["accuracy"] == 0.2  # eval mode: 1 of 5 right (computed once, pinned)
    with pytest.raises(ValueError, match="evaluate: the loader yielded no batch"):
        evaluate(model, [], "cpu")
    with pytest.raises(ValueError, match="train_epoch: the loader yielded no batch"):
        train_epoch(model, [], torch.optim.SGD(model.parameters(), lr=0.1), None, "cpu")

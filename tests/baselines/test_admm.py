"""ADMMPruner: penalty, Z/U updates, hard pruning, checkpoints and bad input."""
import io
import math

import pytest
import torch
from torch import nn

from baselines.admm import ADMMPruner, admm_penalty, admm_update
from baselines.projection import keep_count, project
from gnn_sparse.sparsity import resolve_distribution


def _mlp(seed=0, dtype=torch.float32):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 10), nn.ReLU(), nn.Linear(10, 3)).to(dtype)


def _regression(seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(256, 16, generator=gen)
    return x, x @ torch.randn(4, 16, generator=gen).T


def _epoch(model, opt, x, y, penalty=None):
    for i in range(0, len(x), 32):
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(x[i:i + 32]), y[i:i + 32])
        if penalty is not None:
            loss = loss + penalty()
        loss.backward()
        opt.step()


# ---------------------------------------------------------------------- the math
def test_initial_state_is_projection_and_zero_dual():
    model = _mlp()
    pruner = ADMMPruner(model, sparsity=0.7)
    for n, p in pruner.params.items():
        assert torch.equal(pruner.z[n], project(p, keep_count(p.numel(), 0.7)))
        assert torch.count_nonzero(pruner.u[n]) == 0
    assert pruner.rho == 0.01 and pruner.updates == 0
    assert sorted(pruner.params) == ["0.weight", "2.weight"]  # weights only, never biases


def test_penalty_gradient_is_rho_times_w_minus_z_plus_u():
    model = _mlp(dtype=torch.float64)
    pruner = ADMMPruner(model, sparsity=0.6, rho=0.37)
    with torch.no_grad():  # move W so that the update gives a non-zero U
        for p in model.parameters():
            p.add_(torch.randn_like(p))
    pruner.update()
    assert all(torch.count_nonzero(u) > 0 for u in pruner.u.values())
    model.zero_grad()
    value = pruner.penalty()
    value.backward()
    expected = 0.0
    for n, p in pruner.params.items():
        residual = (p - pruner.z[n] + pruner.u[n]).detach()
        torch.testing.assert_close(p.grad, pruner.rho * residual, rtol=1e-12, atol=1e-12)
        expected += 0.5 * pruner.rho * float(residual.pow(2).sum())
    assert math.isclose(float(value.detach()), expected, rel_tol=1e-12)
    assert model[0].bias.grad is None and model[2].bias.grad is None


def test_admm_penalty_pure_function():
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    z, u = torch.tensor([1.0, 0.0]), torch.tensor([0.5, -1.0])
    value = admm_penalty([w], [z], [u], rho=2.0)
    value.backward()
    assert float(value.detach()) == pytest.approx(0.5 * 2.0 * (0.5**2 + 1.0**2))
    assert torch.equal(w.grad, 2.0 * torch.tensor([0.5, 1.0]))


def test_update_formulas_and_record():
    model = _mlp()
    pruner = ADMMPruner(model, sparsity=0.5, rho=0.1, rho_factor=1.3)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(1.5).add_(0.1)
    old = {n: (pruner.z[n].clone(), pruner.u[n].clone()) for n in pruner.pruned}
    record = pruner.update()
    assert record["update"] == 1 and record["rho"] == pytest.approx(0.13)
    assert pruner.rho == pytest.approx(0.13)
    for n, p in pruner.params.items():
        z_old, u_old = old[n]
        z_new = project(p + u_old, pruner.keep[n])
        assert torch.equal(pruner.z[n], z_new)
        torch.testing.assert_close(pruner.u[n], u_old + p.detach() - z_new)
        assert record["w_minus_z"][n] == pytest.approx(float((p.detach() - z_new).norm()))
        assert record["z_change"][n] == pytest.approx(float((z_new - z_old).norm()))


@pytest.mark.parametrize("rho", [1.0, 5.0])
def test_exact_admm_converges_to_projection(rho):
    # f(W) = 1/2 ||W - A||^2 with the exact W-step W = (A + rho (Z - U)) / (1 + rho)
    a = torch.randn(6, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    k = 9
    z, u = project(a, k), torch.zeros_like(a)
    for _ in range(50):
        w = (a + rho * (z - u)) / (1 + rho)
        z, u = admm_update(w, u, k)
    torch.testing.assert_close(z, project(a, k))
    assert float((w - z).norm()) < 1e-10


def test_w_minus_z_falls_on_regression():
    x, y = _regression()
    torch.manual_seed(0)
    model = nn.Linear(16, 4)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    for _ in range(10):
        _epoch(model, opt, x, y)
    pruner = ADMMPruner(model, sparsity=0.75, rho=1.0, rho_factor=1.3)
    residuals = []
    for epoch in range(10):
        if epoch:
            residuals.append(pruner.update()["w_minus_z"]["weight"])
        _epoch(model, opt, x, y, pruner.penalty)
    assert residuals[-1] < 0.1 * residuals[0]
    assert max(residuals[-3:]) < 0.2 * residuals[0]


# ---------------------------------------------------------------------- hard prune + retraining
@pytest.mark.parametrize("make_opt", [
    lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4),
    lambda ps: torch.optim.Adam(ps, lr=1e-2),
    lambda ps: torch.optim.AdamW(ps, lr=1e-2, weight_decay=0.1, amsgrad=True),
], ids=["sgd_momentum", "adam", "adamw_amsgrad"])
def test_hard_prune_is_exact_and_pruned_weights_stay_zero(make_opt):
    x, y = _regression()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 12), nn.ReLU(), nn.Linear(12, 4))
    opt = make_opt(model.parameters())
    pruner = ADMMPruner(model, sparsity=0.8, rho=0.1)
    for _ in range(2):  # ADMM epochs build momentum / Adam moments at every weight
        _epoch(model, opt, x, y, pruner.penalty)
    expected_masks = pruner.masks()
    sparsifier = pruner.hard_prune(opt)

    def check():
        for n, p in pruner.params.items():
            mask = sparsifier.masks[n]
            assert torch.equal(mask, expected_masks[n])
            assert int(mask.sum()) == pruner.keep[n] == keep_count(p.numel(), 0.8)
            assert torch.count_nonzero(p[~mask]) == 0
            assert torch.count_nonzero(p) <= pruner.keep[n]
            for key, state in opt.state[p].items():
                if torch.is_tensor(state) and state.shape == p.shape:
                    assert torch.count_nonzero(state[~mask]) == 0, key

    check()
    assert all(torch.count_nonzero(opt.state[p]["exp_avg" if "exp_avg" in opt.state[p] else "momentum_buffer"])
               > 0 for p in pruner.params.values())
    for _ in range(3):
        for i in range(0, len(x), 32):
            opt.zero_grad()
            nn.functional.mse_loss(model(x[i:i + 32]), y[i:i + 32]).backward()
            opt.step()
            sparsifier.step()
            check()
    assert torch.count_nonzero(model[0].bias) == model[0].bias.numel()  # biases never pruned


def test_sparsity_zero_means_no_pruning():
    model = _mlp()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    pruner = ADMMPruner(model, sparsity=0.0)
    assert pruner.pruned == []
    penalty = pruner.penalty()
    assert float(penalty) == 0.0
    assert pruner.update()["w_minus_z"] == {}
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sparsifier = pruner.hard_prune(opt)
    assert all(bool(m.all()) for m in sparsifier.masks.values())
    for n, p in model.named_parameters():
        assert torch.equal(p, before[n])


@pytest.mark.parametrize("distribution", ["erk", {"0.weight": 0.5, "2.weight": 0.9}])
def test_distributions_of_the_sparse_core(distribution):
    model = _mlp()
    pruner = ADMMPruner(model, sparsity=0.8 if distribution == "erk" else None, distribution=distribution)
    shapes = {n: tuple(p.shape) for n, p in pruner.params.items()}
    expected = resolve_distribution(distribution, shapes, 0.8)
    assert pruner.sparsity == expected
    for n, p in pruner.params.items():
        assert pruner.keep[n] == keep_count(p.numel(), expected[n])
        assert int(pruner.masks()[n].sum()) == pruner.keep[n]


def test_cnn_and_params_selection():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 4 * 4, 5))
    pruner = ADMMPruner(model, sparsity=0.9)
    assert list(pruner.params) == ["0.weight", "4.weight"]
    only_conv = ADMMPruner(model, sparsity=0.9, params=["0.*"])  # glob: conv weight and bias
    assert list(only_conv.params) == ["0.weight", "0.bias"]
    loss = model(torch.randn(2, 3, 6, 6)).sum() + pruner.penalty()
    loss.backward()
    assert model[0].weight.grad is not None


def test_gnn_layers_are_selected():
    from torch_geometric.nn import GCNConv

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1, self.conv2 = GCNConv(4, 8), GCNConv(8, 8)

        def forward(self, x, edge_index):
            return self.conv2(self.conv1(x, edge_index).relu(), edge_index)

    torch.manual_seed(0)
    model = Net()
    pruner = ADMMPruner(model, sparsity=0.5)
    assert list(pruner.params) == ["conv1.lin.weight", "conv2.lin.weight"]
    x, edge_index = torch.randn(5, 4), torch.tensor([[0, 1, 2, 3], [1, 2, 3, 4]])
    (model(x, edge_index).sum() + pruner.penalty()).backward()
    assert model.conv1.lin.weight.grad is not None


# ---------------------------------------------------------------------- evaluate if pruned
def test_evaluate_if_pruned_restores_model_weights_mode_and_rng():
    model = _mlp()
    model.train()
    pruner = ADMMPruner(model, sparsity=0.7)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    seen = {}

    def evaluate():
        model.eval()
        seen.update({n: p.detach().clone() for n, p in pruner.params.items()})
        return float(torch.rand(()))  # consumes the RNG

    torch.manual_seed(123)
    pruner.evaluate_if_pruned(evaluate)
    after_rng = torch.rand(())
    torch.manual_seed(123)
    assert torch.equal(after_rng, torch.rand(()))  # the training RNG did not move
    masks = pruner.masks()
    for n in pruner.params:
        assert torch.equal(seen[n], before[n] * masks[n])
    for n, p in model.named_parameters():
        assert torch.equal(p, before[n])
    assert model.training

    def failing():
        with torch.no_grad():
            model[0].weight.zero_()
        raise KeyError("boom")

    with pytest.raises(KeyError):
        pruner.evaluate_if_pruned(failing)
    assert torch.equal(model[0].weight, before["0.weight"])


# ---------------------------------------------------------------------- checkpoints
def test_state_dict_round_trip():
    model = _mlp()
    pruner = ADMMPruner(model, sparsity=0.6, rho=0.02, rho_factor=1.3)
    for _ in range(3):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(0.3 * torch.randn_like(p))
        pruner.update()
    buf = io.BytesIO()
    torch.save({"model": model.state_dict(), "admm": pruner.state_dict()}, buf)
    buf.seek(0)
    saved = torch.load(buf)  # weights_only: plain tensors and numbers

    other_model = _mlp(seed=1)
    other_model.load_state_dict(saved["model"])
    other = ADMMPruner(other_model, sparsity=0.6, rho=0.02, rho_factor=1.3)
    other.load_state_dict(saved["admm"])
    assert other.rho == pruner.rho and other.updates == 3
    for n in pruner.pruned:
        assert torch.equal(other.z[n], pruner.z[n]) and torch.equal(other.u[n], pruner.u[n])
    assert torch.equal(other.penalty(), pruner.penalty())
    assert other.update() == pruner.update()


def test_load_state_dict_rejects_other_model():
    state = ADMMPruner(_mlp(), sparsity=0.6).state_dict()
    with pytest.raises(ValueError, match="ADMMPruner.load_state_dict: the state dict prunes"):
        ADMMPruner(_mlp(), sparsity=0.5).load_state_dict(state)
    wide = nn.Sequential(nn.Linear(6, 11), nn.ReLU(), nn.Linear(11, 3))
    with pytest.raises(ValueError, match="ADMMPruner.load_state_dict: 'z' of '0.weight' does not fit"):
        ADMMPruner(wide, sparsity=0.6).load_state_dict(state)


# ---------------------------------------------------------------------- bad input
@pytest.mark.parametrize("rho", [0.0, -0.01, float("nan"), float("inf")])
def test_rejects_bad_rho(rho):
    with pytest.raises(ValueError, match=r"ADMMPruner: rho must be a finite number > 0"):
        ADMMPruner(_mlp(), sparsity=0.5, rho=rho)


def test_rejects_bad_rho_factor():
    with pytest.raises(ValueError, match=r"ADMMPruner: rho_factor must be a finite number > 0"):
        ADMMPruner(_mlp(), sparsity=0.5, rho_factor=0.0)


@pytest.mark.parametrize("sparsity", [-0.1, 1.0, 1.5])
def test_rejects_sparsity_outside_unit_interval(sparsity):
    with pytest.raises(ValueError, match=r"ADMMPruner: sparsity must be in \[0, 1\)"):
        ADMMPruner(_mlp(), sparsity=sparsity)


def test_rejects_missing_sparsity():
    with pytest.raises(ValueError, match="ADMMPruner: `sparsity` is required"):
        ADMMPruner(_mlp(), sparsity=None)


def test_rejects_unknown_layer_name():
    with pytest.raises(ValueError, match="ADMMPruner: Parameter 'fc9.weight' does not exist"):
        ADMMPruner(_mlp(), sparsity=0.5, params=["fc9.weight"])
    with pytest.raises(ValueError, match=r"ADMMPruner: Explicit sparsity dict .* unknown \['fc9.weight'\]"):
        ADMMPruner(_mlp(), sparsity=None, distribution={"0.weight": 0.5, "2.weight": 0.5, "fc9.weight": 0.5})


def test_rejects_layer_left_empty():
    with pytest.raises(ValueError, match=r"ADMMPruner: the sparsity leaves \['2.weight'\] with no weight"):
        ADMMPruner(_mlp(), sparsity=None, distribution={"0.weight": 0.5, "2.weight": 0.99})


def test_update_rejects_non_finite_weights():
    model = _mlp()
    pruner = ADMMPruner(model, sparsity=0.5)
    with torch.no_grad():
        model[2].weight[0, 0] = float("nan")
    with pytest.raises(RuntimeError, match=r"ADMMPruner.update: weights \['2.weight'\] are not finite"):
        pruner.update()


def test_hard_prune_rejects_optimizer_without_the_weights():
    model = _mlp()
    pruner = ADMMPruner(model, sparsity=0.5)
    opt = torch.optim.SGD(model[0].parameters(), lr=0.1)
    with pytest.raises(ValueError, match=r"ADMMPruner.hard_prune: .*\['2.weight'\].* not in the optimizer"):
        pruner.hard_prune(opt)


def test_repr():
    pruner = ADMMPruner(_mlp(), sparsity=0.5, rho_factor=1.3)
    assert repr(pruner) == "ADMMPruner(layers=2, pruned=2, rho=0.01, rho_factor=1.3, updates=0)"

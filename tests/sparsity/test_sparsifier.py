import copy
import math

import pytest
import torch
from torch import nn
from torch_geometric.nn import Linear as PygLinear

from gnn_sparse import DSTEE, SET, RigL, StaticSparse
from gnn_sparse.sparsity.distributions import erk

from helpers_sparsity import batches, cnn, mlp, train_step

OPTIMIZERS = {
    "sgd": lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4),
    "adam": lambda p: torch.optim.Adam(p, lr=1e-2),
    "adamw": lambda p: torch.optim.AdamW(p, lr=1e-2, amsgrad=True),
}


def make(method, model, opt_name="sgd", **kwargs):
    opt = OPTIMIZERS[opt_name](model.parameters())
    defaults = dict(sparsity=0.8, update_interval=5, end_step=60, seed=0)
    defaults.update(kwargs)
    if method is StaticSparse:
        defaults = {k: v for k, v in defaults.items() if k not in ("update_interval", "end_step")}
    return opt, method(model, opt, **defaults)


def expected_active(s, name):
    p = s.params[name]
    return round((1 - s.target_sparsity[name]) * p.numel())


OPTIMIZERS["adagrad"] = lambda p: torch.optim.Adagrad(p, lr=0.05, initial_accumulator_value=0.1)


@pytest.mark.parametrize("method", [DSTEE, RigL, SET, StaticSparse])
@pytest.mark.parametrize("distribution", ["uniform", "erk"])
@pytest.mark.parametrize("build", [mlp, cnn])
@pytest.mark.parametrize("opt_name", ["sgd", "adamw", "adagrad"])
def test_exact_sparsity_after_every_step(method, distribution, build, opt_name):
    model = build()
    opt, s = make(method, model, opt_name, distribution=distribution)
    for x, y in batches(model, 40):
        train_step(model, opt, s, x, y)
        for name, p in s.params.items():
            k = expected_active(s, name)
            assert int(s.masks[name].sum()) == k
            assert int((p != 0).sum()) <= k
            assert not p[~s.masks[name]].any()
    assert len(s.history) == (8 if method is not StaticSparse else 0)


def test_pyg_lazy_linear_model():
    model = nn.Sequential(PygLinear(-1, 32), nn.ReLU(), PygLinear(-1, 3))
    model(torch.randn(2, 12))
    opt, s = make(DSTEE, model)
    for x, y in batches(mlp(), 30):
        train_step(model, opt, s, x, y)
        for name in s.params:
            assert int((s.params[name] != 0).sum()) <= expected_active(s, name)
            assert int(s.masks[name].sum()) == expected_active(s, name)


@pytest.mark.parametrize("opt_name", ["sgd", "adam", "adamw"])
def test_grown_weights_start_at_zero_with_zeroed_state(opt_name):
    model = mlp()
    opt, s = make(DSTEE, model, opt_name)
    checked = 0
    for x, y in batches(model, 30):
        before = {n: m.clone() for n, m in s.masks.items()}
        train_step(model, opt, s, x, y)
        if s.t % 5 or s.t >= 60:
            continue
        for name, p in s.params.items():
            grown = s.masks[name] & ~before[name]
            dropped = before[name] & ~s.masks[name]
            assert grown.any()
            assert (p[grown] == 0).all()
            for key, value in opt.state[p].items():
                if torch.is_tensor(value) and value.shape == p.shape:
                    assert (value[grown] == 0).all(), key
                    assert (value[dropped] == 0).all(), key
            checked += 1
    assert checked > 0


@pytest.mark.parametrize("opt_name", ["sgd", "adam"])
def test_inactive_weights_and_state_never_move_between_updates(opt_name):
    model = mlp()
    opt, s = make(RigL, model, opt_name, update_interval=10)
    for x, y in batches(model, 9):  # no update yet
        train_step(model, opt, s, x, y)
        for name, p in s.params.items():
            for key, value in opt.state[p].items():
                if torch.is_tensor(value) and value.shape == p.shape:
                    assert (value[~s.masks[name]] == 0).all(), key


def test_counts_and_ever_active_exact():
    model = mlp()
    opt, s = make(DSTEE, model)
    ref_n = {n: m.to(torch.int64) for n, m in s.masks.items()}
    ref_ever = {n: m.clone() for n, m in s.masks.items()}
    init_rate = sum(int(m.sum()) for m in s.masks.values()) / sum(m.numel() for m in s.masks.values())
    assert s.exploration_rate() == pytest.approx(init_rate)  # R includes the initial mask
    for x, y in batches(model, 40):
        train_step(model, opt, s, x, y)
        if s.is_update_step(s.t):
            for n, m in s.masks.items():
                ref_n[n] += m
                ref_ever[n] |= m
        for n in s.masks:
            assert torch.equal(s.counts[n].to(torch.int64), ref_n[n])
            assert torch.equal(s.ever_active[n], ref_ever[n])
    total = sum(m.numel() for m in s.masks.values())
    assert s.exploration_rate() == pytest.approx(sum(int(e.sum()) for e in ref_ever.values()) / total)
    per_layer = s.exploration_rate(per_layer=True)
    assert per_layer["0.weight"] == pytest.approx(int(ref_ever["0.weight"].sum()) / 480)
    last = s.history[-1]
    assert last["exploration_rate"] == pytest.approx(s.exploration_rate())


def test_c_zero_gives_rigl_masks():
    runs = []
    for method, extra in [(DSTEE, dict(c=0.0)), (RigL, {})]:
        model = mlp()
        opt, s = make(method, model, **extra)
        trace = []
        for x, y in batches(model, 40):
            train_step(model, opt, s, x, y)
            trace.append({n: m.clone() for n, m in s.masks.items()})
        runs.append(trace)
    for a, b in zip(*runs):
        assert all(torch.equal(a[n], b[n]) for n in a)
    assert any(not torch.equal(runs[0][0][n], runs[0][-1][n]) for n in runs[0][0])  # masks did move


def test_large_c_grows_never_active_weights_first():
    model = mlp()
    opt, s = make(DSTEE, model, sparsity=0.9, c=1e6)
    for x, y in batches(model, 40):
        ever_before = {n: e.clone() for n, e in s.ever_active.items()}
        before = {n: m.clone() for n, m in s.masks.items()}
        train_step(model, opt, s, x, y)
        if s.is_update_step(s.t):
            for n in s.masks:
                grown = s.masks[n] & ~before[n]
                available = int((~ever_before[n]).sum())
                fresh = int((grown & ~ever_before[n]).sum())
                assert fresh == min(int(grown.sum()), available)
    rigl_model = mlp()
    opt2, rigl = make(RigL, rigl_model, sparsity=0.9)
    for x, y in batches(rigl_model, 40):
        train_step(rigl_model, opt2, rigl, x, y)
    assert s.exploration_rate() > rigl.exploration_rate()


def test_drop_count_follows_cosine_and_stops_at_end_step():
    model = mlp()
    opt, s = make(SET, model, update_interval=7, end_step=50, drop_fraction=0.4)
    for x, y in batches(model, 80):
        train_step(model, opt, s, x, y)
    assert [r["t"] for r in s.history] == [7, 14, 21, 28, 35, 42, 49]
    for r in s.history:
        f = 0.4 / 2 * (1 + math.cos(math.pi * r["t"] / 50))
        assert r["drop_fraction"] == pytest.approx(f)
        for n, layer in r["layers"].items():
            k = math.floor(f * expected_active(s, n))
            assert layer["dropped"] <= k and layer["grown"] == layer["dropped"]


def test_set_drops_exactly_k_when_regrowth_is_unlikely():
    model = mlp()
    opt, s = make(SET, model, sparsity=0.5, update_interval=5, end_step=6, drop_fraction=0.5, drop_schedule="constant")
    before = {n: m.clone() for n, m in s.masks.items()}
    for x, y in batches(model, 5):
        train_step(model, opt, s, x, y)
    for n, layer in s.history[0]["layers"].items():
        k = math.floor(0.5 * expected_active(s, n))
        changed = int((before[n] & ~s.masks[n]).sum())
        assert layer["dropped"] == changed and k - changed <= 0.75 * k  # some may regrow at random


def _run(seed, n_steps, method=DSTEE, state=None, split=None):
    model = mlp(seed=1)
    opt, s = make(method, model, seed=seed, c_decay=0.9, c_decay_interval=7) if method is DSTEE else make(method, model, seed=seed)
    data = batches(model, n_steps)
    start = 0
    if state is not None:
        model.load_state_dict(state["model"]); opt.load_state_dict(state["opt"]); s.load_state_dict(state["sparsifier"])
        start = s.t
    for i, (x, y) in enumerate(data[start:], start=start):
        if split is not None and i == split:
            return model, opt, s, {"model": copy.deepcopy(model.state_dict()), "opt": copy.deepcopy(opt.state_dict()),
                                   "sparsifier": copy.deepcopy(s.state_dict())}
        train_step(model, opt, s, x, y)
    return model, opt, s, None


@pytest.mark.parametrize("method", [DSTEE, SET])
def test_resume_is_bit_identical(method):
    full_model, _, full, _ = _run(0, 45, method)
    *_, state = _run(0, 45, method, split=23)
    resumed_model, _, resumed, _ = _run(5, 45, method, state=state)  # other seed: state must win
    for a, b in zip(full_model.state_dict().values(), resumed_model.state_dict().values()):
        assert torch.equal(a, b)
    for n in full.masks:
        assert torch.equal(full.masks[n], resumed.masks[n])
        assert torch.equal(full.counts[n], resumed.counts[n])
        assert torch.equal(full.ever_active[n], resumed.ever_active[n])
    assert full.history == resumed.history and full.t == resumed.t


def test_same_seed_same_masks_other_seed_other_masks():
    a = _run(0, 30)[2].masks
    b = _run(0, 30)[2].masks
    c = _run(1, 30)[2].masks
    assert all(torch.equal(a[n], b[n]) for n in a)
    assert any(not torch.equal(a[n], c[n]) for n in a)


def test_load_state_dict_from_another_model():
    _, s = make(DSTEE, mlp())
    _, other = make(DSTEE, cnn())
    with pytest.raises(ValueError, match="different model"):
        s.load_state_dict(other.state_dict())
    wide = nn.Sequential(nn.Linear(12, 41), nn.ReLU(), nn.Linear(41, 30), nn.ReLU(), nn.Linear(30, 3))
    _, s_wide = make(DSTEE, wide)
    with pytest.raises(ValueError, match=r"'0.weight' has shape \(41, 12\) there and \(40, 12\) here"):
        s.load_state_dict(s_wide.state_dict())


def test_step_before_backward_on_update_step_is_an_error():
    model = mlp()
    opt, s = make(RigL, model, update_interval=1)
    with pytest.raises(RuntimeError, match=r"update iteration t=1: .* have no gradient"):
        s.step()


@pytest.mark.parametrize("kwargs, match", [
    (dict(update_interval=0), "update_interval must be a positive integer"),
    (dict(end_step=0), "end_step must be a positive integer"),
    (dict(end_step=None), "end_step is required"),
    (dict(sparsity=1.0), r"sparsity must be in \[0, 1\)"),
    (dict(distribution="normal"), "Unknown sparsity distribution"),
    (dict(params=["nope.weight"]), "'nope.weight' does not exist"),
    (dict(sparsity=0.998), r"leaves '4.weight' \(90 weights\) with no active weight"),
])
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make(DSTEE, mlp(), **kwargs)


def test_non_finite_gradients_skip_the_update():
    model = mlp()
    opt, s = make(DSTEE, model, update_interval=3)
    data = batches(model, 3)
    for x, y in data[:2]:
        train_step(model, opt, s, x, y)
    before = {n: m.clone() for n, m in s.masks.items()}
    x, y = data[2]
    opt.zero_grad()
    nn.functional.cross_entropy(model(x), y).backward()
    model[0].weight.grad[0, 0] = float("inf")
    s.step()  # as after a GradScaler step that found inf and skipped optimizer.step()
    assert s.history == [{"t": 3, "skipped": "non-finite gradients"}]
    assert all(torch.equal(before[n], s.masks[n]) for n in before)


def test_grad_scaler_call_order():
    model = mlp()
    opt, s = make(DSTEE, model, update_interval=4)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 10)
    for x, y in batches(model, 12):
        opt.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = nn.functional.cross_entropy(model(x), y)
        scaler.scale(loss).backward()
        scaler.step(opt)
        s.step()
        scaler.update()
    assert [r["t"] for r in s.history] == [4, 8, 12]
    for n, p in s.params.items():
        assert int((p != 0).sum()) <= expected_active(s, n)


def test_unknown_optimizer_state_is_refused():
    model = mlp()
    opt, s = make(RigL, model, update_interval=2)
    x, y = batches(model, 1)[0]
    train_step(model, opt, s, x, y)
    opt.state[model[0].weight]["factored"] = torch.zeros(40)
    opt.zero_grad()
    nn.functional.cross_entropy(model(x), y).backward()
    opt.step()
    with pytest.raises(ValueError, match="keeps state 'factored' of shape \\(40,\\)"):
        s.step()


def test_export_squash_and_sparse_csr():
    model = mlp()
    opt, s = make(DSTEE, model)
    for x, y in batches(model, 12):
        train_step(model, opt, s, x, y)
    csr = s.sparse_weights()
    x = torch.randn(5, 12)
    w = model[0].weight
    assert csr["0.weight"].layout == torch.sparse_csr
    assert torch.allclose(torch.sparse.mm(csr["0.weight"], x.t()).t(), x @ w.t(), atol=1e-6)
    plain = s.squash()
    before = plain[0].weight.detach().clone()
    opt.zero_grad()
    nn.functional.cross_entropy(plain(x), torch.zeros(5, dtype=torch.long)).backward()
    assert plain[0].weight.grad.count_nonzero() > (before != 0).sum()  # the hook is gone


def test_erk_sparsifier_matches_distribution_and_global_target():
    model = cnn()
    opt, s = make(RigL, model, distribution="erk", sparsity=0.9)
    shapes = {n: tuple(p.shape) for n, p in s.params.items()}
    assert s.target_sparsity == pytest.approx(erk(shapes, 0.9))
    active = sum(int(m.sum()) for m in s.masks.values())
    total = sum(m.numel() for m in s.masks.values())
    assert abs(active - 0.1 * total) <= len(shapes)  # per-layer rounding only


def test_explicit_masks():
    model = mlp()
    masks = {"0.weight": model[0].weight.abs() > 0.1}
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    s = StaticSparse(model, opt, masks=masks)
    assert list(s.params) == ["0.weight"] and torch.equal(s.masks["0.weight"], masks["0.weight"])
    with pytest.raises(ValueError, match="mask for '0.weight' has shape"):
        StaticSparse(model, opt, masks={"0.weight": torch.ones(3, 3, dtype=torch.bool)})


@pytest.mark.cuda_only
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_masks_on_device_and_no_sync_between_updates():
    model = mlp().cuda()
    opt, s = make(DSTEE, model, update_interval=10)
    assert all(m.device.type == "cuda" for m in s.masks.values())
    data = [(x.cuda(), y.cuda()) for x, y in batches(model, 25)]
    for i, (x, y) in enumerate(data):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
        if s.is_update_step(s.t + 1):
            s.step()
        else:
            torch.cuda.set_sync_debug_mode("error")
            try:
                s.step()
            finally:
                torch.cuda.set_sync_debug_mode("default")
    assert [r["t"] for r in s.history] == [10, 20]


@pytest.mark.parametrize("opt_name", ["sgd", "adam"])
def test_update_that_moves_nothing_still_clears_inactive_state(opt_name):
    # A small layer and a small drop fraction: k = floor(f * active) = 0 at every update, yet
    # the optimizer stepped with the dense gradient; momentum must not move inactive weights.
    model = mlp()
    opt, s = make(DSTEE, model, opt_name, sparsity=0.9, drop_fraction=0.05, update_interval=3)
    for x, y in batches(model, 20):
        train_step(model, opt, s, x, y)
        assert all(layer["dropped"] == 0 for r in s.history for n, layer in r["layers"].items()
                   if n == "4.weight")
        p = s.params["4.weight"]
        assert not p[~s.masks["4.weight"]].any()
        for value in opt.state[p].values():
            if torch.is_tensor(value) and value.shape == p.shape:
                assert not value[~s.masks["4.weight"]].any()

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


# f(t) = 0.5 / 2 * (1 + cos(pi t / 60)) at the updates t = 5, 10, ..., 55 of a run with T = 5,
# end_step = 60; k = floor(f(t) * active) with 48 / 120 / 9 active weights (sparsity 0.9 of the
# 480 / 1200 / 90 weights of mlp()). f = .4915 .4665 .4268 .375 .3147 .25 .1853 .125 .0732 .0335 .0085.
HAND_K = {
    "0.weight": [23, 22, 20, 18, 15, 12, 8, 6, 3, 1, 0],
    "2.weight": [58, 55, 51, 45, 37, 30, 22, 15, 8, 4, 1],
    "4.weight": [4, 4, 3, 3, 2, 2, 1, 1, 0, 0, 0],  # k = 0 from t = 45 on
}
HAND_ACTIVE = {"0.weight": 48, "2.weight": 120, "4.weight": 9}


def _explore_run(n_steps, **kwargs):
    """DST-EE with c = 1e6: a weight never active (N = 0, bonus c ln t) always beats one just
    dropped (N >= 1, bonus <= c ln t / 2), so no weight is regrown in the round it is dropped
    and every round changes exactly k weights per layer, all of them never active before."""
    model = mlp()
    opt, s = make(DSTEE, model, sparsity=0.9, c=1e6, c_decay=1.0, update_interval=5, end_step=60, **kwargs)
    return model, opt, s, batches(model, n_steps)


def test_exactly_k_weights_move_per_layer():
    model, opt, s, data = _explore_run(60)
    moved = {n: [] for n in s.masks}
    for x, y in data:
        before = {n: m.clone() for n, m in s.masks.items()}
        train_step(model, opt, s, x, y)
        if s.t % 5 == 0 and s.t < 60:
            for n in s.masks:
                moved[n].append(int((before[n] & ~s.masks[n]).sum()))
                assert int((s.masks[n] & ~before[n]).sum()) == moved[n][-1]
    assert moved == HAND_K
    assert [r["t"] for r in s.history] == list(range(5, 60, 5))
    for i, r in enumerate(s.history):
        assert r["drop_fraction"] == pytest.approx(0.25 * (1 + math.cos(math.pi * 5 * (i + 1) / 60)))
        assert {n: layer["dropped"] for n, layer in r["layers"].items()} == {n: k[i] for n, k in HAND_K.items()}
        assert {n: layer["grown_never_active"] for n, layer in r["layers"].items()} == {n: k[i] for n, k in HAND_K.items()}


def test_counts_and_ever_active_exact_past_k_zero():
    model, opt, s, data = _explore_run(60)
    ref_n = {n: m.to(torch.int64) for n, m in s.masks.items()}
    ref_ever = {n: m.clone() for n, m in s.masks.items()}
    assert s.exploration_rate() == pytest.approx(177 / 1770)  # R includes the initial mask
    for x, y in data:
        train_step(model, opt, s, x, y)
        if s.t % 5 == 0 and s.t < 60:
            for n, m in s.masks.items():
                ref_n[n] += m
                ref_ever[n] |= m
        if s.t == 44:
            before_k_zero = s.counts["4.weight"].clone()
            last_mask = s.masks["4.weight"].clone()
        for n in s.masks:
            assert torch.equal(s.counts[n].to(torch.int64), ref_n[n])
            assert torch.equal(s.ever_active[n], ref_ever[n])
    # By hand: 11 rounds, each adds the mask to N, so N sums to active x (1 + 11) in every layer.
    assert {n: int(c.sum()) for n, c in s.counts.items()} == {n: 12 * a for n, a in HAND_ACTIVE.items()}
    # 4.weight moves nothing at t = 45, 50, 55, yet each of those rounds counts.
    assert torch.equal(s.masks["4.weight"], last_mask)
    assert torch.equal(s.counts["4.weight"] - before_k_zero, 3 * last_mask.to(torch.int32))
    # Every grown weight was new: ever active = active + sum of k.
    ever = {n: int(e.sum()) for n, e in s.ever_active.items()}
    assert ever == {"0.weight": 48 + 128, "2.weight": 120 + 326, "4.weight": 9 + 20}
    assert s.exploration_rate() == pytest.approx(651 / 1770)
    assert s.exploration_rate(per_layer=True)["4.weight"] == pytest.approx(29 / 90)
    assert s.history[-1]["exploration_rate"] == pytest.approx(651 / 1770)


def test_counts_of_a_dense_layer_grow_every_round():
    model = mlp()
    opt, s = make(DSTEE, model, distribution={"0.weight": 0.9, "2.weight": 0.9, "4.weight": 0.0},
                  update_interval=5, end_step=60)
    for x, y in batches(model, 23):
        train_step(model, opt, s, x, y)
    assert torch.equal(s.counts["4.weight"], torch.full((3, 30), 5, dtype=torch.int32))  # 1 + 4 rounds
    assert int(s.counts["0.weight"].sum()) == 48 * 5


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


def test_set_drops_exactly_k_smallest_and_stops_at_end_step():
    # SET may regrow a weight it has just dropped, so the drop set is recomputed here from the
    # weights the update saw: the k smallest |w| among the active ones, k = floor(f(t) x 240 / 600)
    # (sparsity 0.5, tanh and a dense last layer, so that no unit is cut off and no active weight
    # is stuck at a tied 0). f = 0.2 (1 + cos(pi t / 50)) at t = 7, 14, ..., 49:
    # .3810 .3275 .2497 .1625 .0824 .0247 .0004.
    hand_k = {"0.weight": [91, 78, 59, 39, 19, 5, 0], "2.weight": [228, 196, 149, 97, 49, 14, 0],
              "4.weight": [0] * 7}
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(12, 40), nn.Tanh(), nn.Linear(40, 30), nn.Tanh(), nn.Linear(30, 3))
    opt, s = make(SET, model, distribution={"0.weight": 0.5, "2.weight": 0.5, "4.weight": 0.0},
                  update_interval=7, end_step=50, drop_fraction=0.4)
    rounds = 0
    for x, y in batches(model, 80):
        before = {n: m.clone() for n, m in s.masks.items()}
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
        magnitude = {n: p.detach().abs().flatten().clone() for n, p in s.params.items()}
        s.step()
        if s.t % 7 or s.t >= 50:
            assert all(torch.equal(before[n], s.masks[n]) for n in before)
            continue
        for n, mask in s.masks.items():
            k = hand_k[n][rounds]
            active = before[n].flatten().nonzero().squeeze(1)
            ranked = torch.sort(magnitude[n][active])
            if 0 < k < len(active):
                assert ranked.values[k - 1] < ranked.values[k]  # no tie at the cut: one drop set
            smallest = active[ranked.indices[:k]]
            drop_set = torch.zeros_like(before[n].flatten())
            drop_set[smallest] = True
            gone = (before[n] & ~mask).flatten()
            assert not (gone & ~drop_set).any()  # only the k smallest |w| leave ...
            regrown = int((drop_set & mask.flatten()).sum())
            assert int(gone.sum()) + regrown == k  # ... all k of them, some regrown at once
            assert s.history[-1]["layers"][n]["dropped"] == int(gone.sum())
            assert int((mask & ~before[n]).sum()) == int(gone.sum())
        rounds += 1
    assert rounds == 7 and [r["t"] for r in s.history] == [7, 14, 21, 28, 35, 42, 49]


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
    # the skipped round still counts (step 4): N = initial mask + this round's (unchanged) mask
    assert all(torch.equal(s.counts[n], 2 * before[n].to(torch.int32)) for n in before)


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


@pytest.mark.parametrize("method, changed, match", [
    (DSTEE, dict(c=1e-3), r"c 0\.01 there, 0\.001 here"),
    (DSTEE, dict(eps=0.5), r"eps 1\.0 there, 0\.5 here"),
    (DSTEE, dict(c_decay=1.0), r"c_decay 0\.9 there, 1\.0 here"),
    (DSTEE, dict(c_decay_interval=7), r"c_decay_interval 1000 there, 7 here"),
    (RigL, {}, r"grow rule ExplorationGrowth\(c=0\.01, .*\) there, GradientGrowth\(\) here"),
    (DSTEE, dict(update_interval=6), r"update_interval \(T\) 5 there, 6 here"),
    (DSTEE, dict(end_step=61), r"end_step 60 there, 61 here"),
    (DSTEE, dict(drop_fraction=0.3), r"drop_fraction 0\.5 there, 0\.3 here"),
    (DSTEE, dict(drop_schedule="constant"), r"drop schedule 'cosine' there, 'constant' here"),
    (DSTEE, dict(sparsity=0.7), r"target sparsity of '0\.weight' 0\.8 there, 0\.7 here"),
])
def test_load_state_dict_refuses_another_experiment(method, changed, match):
    model = mlp()
    opt, saved = make(DSTEE, model)
    for x, y in batches(model, 12):
        train_step(model, opt, saved, x, y)
    state = copy.deepcopy(saved.state_dict())
    _, other = make(method, mlp(), **changed)
    with pytest.raises(ValueError, match="different experiment: .*" + match):
        other.load_state_dict(state)
    other.load_state_dict(state, strict=False)  # the escape hatch: masks and counts from the state
    assert other.t == 12 and all(torch.equal(other.counts[n], saved.counts[n]) for n in saved.counts)


def test_static_sparse_refuses_update_arguments():
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(TypeError, match="StaticSparse never updates its mask, so it takes no "
                                        "update_interval, drop_fraction"):
        StaticSparse(model, opt, sparsity=0.5, update_interval=5, drop_fraction=0.3)


def test_api_and_command_line_share_the_dst_ee_defaults():
    import inspect

    from gnn_sparse.sparsity import rules
    from gnn_sparse.training.config import RunConfig
    from gnn_sparse.vision.config import ImageRunConfig

    api = inspect.signature(DSTEE.__init__).parameters
    assert (api["c"].default, api["eps"].default, api["c_decay"].default, api["c_decay_interval"].default) == \
        (1e-2, 1.0, 0.9, 1000) == (rules.DST_EE_C, rules.DST_EE_EPS, rules.DST_EE_C_DECAY, rules.DST_EE_C_DECAY_INTERVAL)
    for config in (RunConfig(), ImageRunConfig()):
        assert (config.sparse.eps, config.sparse.c_decay, config.sparse.c_decay_interval) == (1.0, 0.9, 1000)
    assert RunConfig().sparse.c == 1e-2


def test_static_state_dict_round_trip():
    model = mlp()
    opt, saved = make(StaticSparse, model)
    _, other = make(StaticSparse, mlp())
    other.load_state_dict(saved.state_dict())
    assert all(torch.equal(other.masks[n], saved.masks[n]) for n in saved.masks)
    _, rigl = make(RigL, mlp())
    with pytest.raises(ValueError, match=r"grow rule None there, GradientGrowth\(\) here; schedule None there"):
        rigl.load_state_dict(saved.state_dict())


def test_algorithm_1_loop_skips_the_optimizer_step_on_update_iterations():
    """The documented Algorithm 1 loop: no weight step on a mask-update iteration, only the
    update (kept weights unchanged, dropped zeroed, grown 0); exact sparsity every step."""
    from gnn_sparse import DSTEE
    from helpers_sparsity import batches, mlp

    model = mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sparsifier = DSTEE(model, optimizer, sparsity=0.8, update_interval=5, end_step=40, seed=0)
    updates = 0
    for x, y in batches(model, n=30):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        update_now = sparsifier.is_update_step(sparsifier.t + 1)
        before = {n: p.detach().clone() for n, p in model.named_parameters()}
        if not update_now:
            optimizer.step()
        sparsifier.step()
        for name, mask in sparsifier.masks.items():
            weight = dict(model.named_parameters())[name]
            assert int(mask.sum()) == round(0.2 * mask.numel())
            assert torch.all(weight[~mask.bool()] == 0)
            if update_now:
                kept = mask.bool() & (before[name] != 0)
                assert torch.equal(weight[kept], before[name][kept])
        updates += update_now
    assert updates == 6


def _run_updates(sparsifier_cls, steps=40, **kwargs):
    from helpers_sparsity import batches, mlp, train_step

    model = mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sparsifier = sparsifier_cls(model, optimizer, sparsity=0.9, update_interval=5, end_step=steps, seed=0, **kwargs)
    for x, y in batches(model, n=steps):
        train_step(model, optimizer, sparsifier, x, y)
    return sparsifier


@pytest.mark.parametrize("name", ["DSTEE", "RigL", "SET"])
def test_growth_diagnostics_add_up(name):
    import gnn_sparse

    sparsifier = _run_updates(getattr(gnn_sparse, name))
    records = [r for r in sparsifier.history if "layers" in r]
    assert len(records) == 7
    for record in records:
        for layer in record["layers"].values():
            # k slots: a regrown slot is neither "dropped" nor "grown" (the entry stays active)
            assert layer["grown"] == layer["dropped"]
            assert layer["grown"] + layer["slots_regrown"] == layer["slots"]
            assert 0 <= layer["grown_never_active"] <= layer["grown"]
            assert 0 <= layer["slots_zero_grad"] <= layer["slots"]


def test_growth_diagnostics_count_the_chosen_sets():
    """Regrown and zero-gradient slots equal a direct count over the sets drop_and_grow_sets chose."""
    from gnn_sparse.sparsity.sparsifier import growth_diagnostics
    from gnn_sparse.sparsity.update import drop_and_grow_sets

    mask = torch.tensor([True, True, True, False, False, False])
    weight = torch.tensor([0.1, 5.0, 0.2, 0.0, 0.0, 0.0])
    grad = torch.tensor([9.0, 0.0, 0.0, 3.0, 0.0, 0.0])
    new, dropped, chosen = drop_and_grow_sets(mask, weight.abs(), grad.abs(), 2)
    assert sorted(dropped.tolist()) == [0, 2]
    assert sorted(chosen.tolist()) == [0, 3]  # the largest |grad| among inactive-after-drop: 0 (regrown), 3
    assert new.tolist() == [True, True, False, True, False, False]
    slots, regrown, zero = (int(v) for v in growth_diagnostics(dropped, chosen, grad))
    assert (slots, regrown, zero) == (2, 1, 0)
    _, dropped, chosen = drop_and_grow_sets(mask, weight.abs(), torch.zeros(6), 2)  # all-zero gradient
    assert int(growth_diagnostics(dropped, chosen, torch.zeros(6))[2]) == 2


def test_rigl_regrows_dropped_weights_and_a_large_bonus_forbids_it():
    from gnn_sparse import DSTEE, RigL

    def share(sparsifier):
        layers = [l for r in sparsifier.history if "layers" in r for l in r["layers"].values()]
        return sum(l["slots_regrown"] for l in layers) / sum(l["slots"] for l in layers)

    assert share(_run_updates(RigL)) > 0.05
    assert share(_run_updates(DSTEE, c=1.0)) == 0.0  # never-active entries outrank every regrowth

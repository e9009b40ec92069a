"""DST-EE's exploration variants (gnn_sparse.sparsity.exploration): scale-free scores, the
quota, zero-gradient weights last and at random, and the variants inside the sparsifier."""
import copy

import pytest
import torch

from gnn_sparse import DSTEE, RigL
from gnn_sparse.sparsity.exploration import (NormalizedExplorationGrowth, QuotaGrowth, UCBGrowth, exploration_rule,
                                             percentile, zero_gradient_last)
from gnn_sparse.sparsity.rules import ExplorationGrowth, GradientGrowth, LayerState
from gnn_sparse.sparsity.update import grow_set

from helpers_sparsity import batches, mlp, train_step


def layer(grad, count, *, mask=None, k=2, t=500, round_=1, seed=0):
    grad = torch.as_tensor(grad, dtype=torch.float32)
    mask = torch.zeros(grad.shape, dtype=torch.bool) if mask is None else torch.as_tensor(mask)
    return LayerState(weight=torch.zeros_like(grad), grad=grad, mask=mask, count=torch.as_tensor(count).float(), t=t,
                      generator=torch.Generator().manual_seed(seed), k=k, round=round_, candidates=~mask)


def grown(rule, state):
    return sorted(grow_set(state.mask.reshape(-1).clone(), rule.scores(state), state.k).tolist())


VARIANTS = [NormalizedExplorationGrowth(c=0.1, c_decay=1.0), UCBGrowth(c=0.5), QuotaGrowth(rho=0.5)]


@pytest.mark.parametrize("rule", VARIANTS, ids=lambda r: type(r).__name__)
def test_a_zero_gradient_weight_grows_only_when_nothing_else_is_left(rule):
    # never-active zero-gradient weights (N = 0) against once-active ones with a gradient
    grad = [0.0, 0.0, 0.0, 1e-7, 2e-7, 0.0]
    count = [0, 0, 0, 1, 1, 0]
    assert grown(rule, layer(grad, count, k=2)) == [3, 4]
    # with k = 3 one zero-gradient weight must grow: which one is the seed's choice, not topk's
    picks = {tuple(grown(rule, layer(grad, count, k=3, seed=s))) for s in range(12)}
    assert all({3, 4} <= set(p) for p in picks)
    assert len(picks) > 1
    assert grown(rule, layer(grad, count, k=3, seed=5)) == grown(rule, layer(grad, count, k=3, seed=5))


def test_the_paper_rule_grows_zero_gradient_never_active_weights_first():
    """What the variants fix: Eq. 1 ranks untried weights with zero gradient above tried ones."""
    grad, count = [0.0, 0.0, 0.0, 1e-3, 2e-3, 0.0], [0, 0, 0, 1, 1, 0]
    assert set(grown(ExplorationGrowth(c=1e-2), layer(grad, count, k=2))) <= {0, 1, 2, 5}


@pytest.mark.parametrize("rule", VARIANTS[:2], ids=lambda r: type(r).__name__)
def test_normalized_and_ucb_do_not_depend_on_the_gradient_scale(rule):
    g = torch.Generator().manual_seed(1)
    grad = torch.rand(200, generator=g) ** 4
    count = torch.randint(0, 4, (200,), generator=g)
    picks = [grown(rule, layer(grad * scale, count, k=20, round_=7)) for scale in (1e-6, 1.0, 1e3)]
    assert picks[0] == picks[1] == picks[2]
    paper = [grown(ExplorationGrowth(c=0.1, c_decay=1.0), layer(grad * s, count, k=20)) for s in (1e-6, 1e3)]
    assert paper[0] != paper[1]  # Eq. 1 is lexicographic at small gradients, RigL at large ones


def test_normalized_trades_off_at_c_of_order_one():
    """The top-k candidates' gradient term is ~1: a c near 1 mixes both terms."""
    g = torch.Generator().manual_seed(2)
    grad, count = torch.rand(400, generator=g) * 1e-5, torch.randint(0, 3, (400,), generator=g)
    rigl = set(grown(GradientGrowth(), layer(grad, count, k=40)))
    fewest_first = set(grown(QuotaGrowth(rho=1.0), layer(grad, count, k=40)))
    mixed = set(grown(NormalizedExplorationGrowth(c=0.05, c_decay=1.0), layer(grad, count, k=40)))
    assert mixed != rigl and mixed != fewest_first


def test_ucb_is_the_percentile_rule_at_the_first_update_and_explores_later():
    grad = [0.9, 0.8, 0.7, 0.1, 0.05, 0.01]
    count = [3, 3, 3, 0, 0, 0]
    assert grown(UCBGrowth(c=1.0), layer(grad, count, k=2, round_=1)) == [0, 1]  # ln 1 = 0: no bonus
    assert grown(UCBGrowth(c=1.0), layer(grad, count, k=2, round_=50)) == [3, 4]


def test_percentile_counts_entries_strictly_below():
    assert percentile(torch.tensor([3.0, 1.0, 1.0, 2.0])).tolist() == [0.75, 0.0, 0.0, 0.5]


def test_quota_splits_the_slots():
    grad = [0.9, 0.8, 0.7, 0.6, 0.05, 0.04, 0.03]
    count = [2, 2, 2, 2, 0, 1, 0]
    assert grown(QuotaGrowth(rho=0.0), layer(grad, count, k=4)) == grown(GradientGrowth(), layer(grad, count, k=4))
    # rho = 0.5: 2 slots RigL (0, 1), 2 least visited (4, 6 with N = 0; 4 first by |g|)
    assert grown(QuotaGrowth(rho=0.5), layer(grad, count, k=4)) == [0, 1, 4, 6]
    assert grown(QuotaGrowth(rho=1.0), layer(grad, count, k=3)) == [4, 5, 6]


def test_zero_gradient_last_keeps_the_order_of_the_others():
    scores = torch.tensor([5.0, -2.0, 3.0, 7.0])
    grad = torch.tensor([1.0, 1.0, 0.0, 0.0])
    out = zero_gradient_last(scores, grad, torch.Generator().manual_seed(0))
    assert out[0] == 5.0 and out[1] == -2.0 and out[2] < -2.0 and out[3] < -2.0


@pytest.mark.parametrize("variant", ["normalized", "ucb", "quota"])
def test_variants_train_keep_exact_sparsity_and_resume(variant):
    def make():
        model = mlp()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        return model, optimizer, DSTEE(model, optimizer, sparsity=0.9, update_interval=5, end_step=60, seed=0,
                                       exploration=variant, c=0.5, rho=0.5)

    data = batches(mlp(), n=40)
    model, optimizer, sparsifier = make()
    for x, y in data[:20]:
        train_step(model, optimizer, sparsifier, x, y)
        for name, mask in sparsifier.masks.items():
            assert int(mask.sum()) == round(0.1 * mask.numel())
    saved = copy.deepcopy((model.state_dict(), optimizer.state_dict(), sparsifier.state_dict()))
    for x, y in data[20:]:
        train_step(model, optimizer, sparsifier, x, y)
    model2, optimizer2, sparsifier2 = make()
    model2.load_state_dict(saved[0]); optimizer2.load_state_dict(saved[1]); sparsifier2.load_state_dict(saved[2])
    for x, y in data[20:]:
        train_step(model2, optimizer2, sparsifier2, x, y)
    assert all(torch.equal(sparsifier.masks[n], sparsifier2.masks[n]) for n in sparsifier.masks)
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), model2.parameters()))


def test_a_state_of_another_variant_is_refused():
    model = mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    state = DSTEE(model, optimizer, sparsity=0.9, end_step=10, exploration="ucb", c=0.5).state_dict()
    other = DSTEE(model, optimizer, sparsity=0.9, end_step=10, exploration="quota")
    with pytest.raises(ValueError, match="grow rule"):
        other.load_state_dict(state)


def test_paper_is_eq_1_exactly():
    model, model2 = mlp(), mlp()
    opt, opt2 = (torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9) for m in (model, model2))
    a = DSTEE(model, opt, sparsity=0.9, update_interval=5, end_step=40, seed=0)
    b = DSTEE(model2, opt2, sparsity=0.9, update_interval=5, end_step=40, seed=0, exploration="paper")
    assert isinstance(b.grow, ExplorationGrowth) and type(b.grow) is ExplorationGrowth
    for x, y in batches(model, n=30):
        train_step(model, opt, a, x, y)
        train_step(model2, opt2, b, x, y)
    assert all(torch.equal(a.masks[n], b.masks[n]) for n in a.masks)


@pytest.mark.parametrize("variant, knobs, message", [
    ("greedy", {}, "unknown exploration variant 'greedy'"),
    ("quota", {"rho": 1.5}, "rho must be in"),
    ("ucb", {"c": -1.0}, "c must be"),
    ("normalized", {"c": -1.0}, "c must be"),
])
def test_bad_variants_and_knobs_are_refused(variant, knobs, message):
    with pytest.raises(ValueError, match=message):
        exploration_rule(variant, **knobs)


def test_rigl_is_untouched_by_the_variants():
    """RigL keeps topk's order (its scores are |g| as before): the same masks as a plain run."""
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    rigl = RigL(model, opt, sparsity=0.9, update_interval=5, end_step=40, seed=0)
    for x, y in batches(model, n=30):
        train_step(model, opt, rigl, x, y)
    assert rigl.history and all("layers" in r for r in rigl.history)


def test_the_run_config_names_and_checks_a_variant():
    from gnn_sparse.training import ConfigError, RunConfig

    config = RunConfig.from_dict({"dataset": "toy", "method": "dst-ee", "exploration": "quota", "exploration_rho": 0.5})
    assert config.run_id() == "toy-dst-ee-quota-gcn-fc-s0.9-seed0"
    assert RunConfig.from_dict({"dataset": "toy", "method": "dst-ee"}).run_id() == "toy-dst-ee-gcn-fc-s0.9-seed0"
    with pytest.raises(ConfigError, match="is a variant of DST-EE's grow rule; method 'rigl' has none"):
        RunConfig.from_dict({"method": "rigl", "exploration": "ucb"})
    with pytest.raises(ConfigError, match="exploration_rho must be in"):
        RunConfig.from_dict({"exploration": "quota", "exploration_rho": 1.5})
    with pytest.raises(ConfigError, match="exploration"):
        RunConfig.from_dict({"exploration": "greedy"})


def test_a_variant_trains_through_the_runner(tmp_path):
    """`--method dst-ee --exploration ucb` end to end on a tiny graph: the grow rule is the variant's."""
    from gnn_sparse.cli import main

    argv = ["--dataset", "synthetic", "--method", "dst-ee", "--exploration", "ucb", "--c", "0.3", "--epochs", "2",
            "--batch-size", "128", "--update-interval", "5", "--threads", "1", "--quiet",
            "--results-dir", str(tmp_path)]
    assert main(argv) == 0
    import json

    result = json.loads((tmp_path / "synthetic-dst-ee-ucb-gcn-fc-s0.9-seed0.json").read_text())
    assert result["config"]["exploration"] == "ucb"
    updates = [r for r in result["exploration_history"] if "layers" in r]
    assert updates and all("slots_zero_grad" in layer for r in updates for layer in r["layers"].values())

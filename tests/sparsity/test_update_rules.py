import math

import pytest
import torch

from gnn_sparse.sparsity import ExplorationGrowth, LayerState, UpdateSchedule, drop_and_grow


def test_drop_and_grow_hand_checked():
    mask = torch.tensor([1, 1, 1, 1, 0, 0, 0, 0], dtype=torch.bool)
    w = torch.tensor([0.5, -0.1, 0.3, -0.9, 0, 0, 0, 0])
    grow = torch.tensor([9.0, 0.0, 0.0, 0.0, 0.2, 0.8, 0.1, 0.7])
    new = drop_and_grow(mask, w.abs(), grow, k=2)  # drop 1 (0.1) and 2 (0.3); grow 5, 7
    assert new.tolist() == [True, False, False, True, False, True, False, True]


def test_dropped_weight_may_regrow_in_same_update():
    mask = torch.tensor([1, 1, 0, 0], dtype=torch.bool)
    new = drop_and_grow(mask, torch.tensor([0.1, 0.5, 0, 0]), torch.tensor([5.0, 0, 1.0, 0]), k=1)
    assert new.tolist() == [True, True, False, False]


def test_ties_keep_the_count_exact():
    mask = torch.zeros(1000, dtype=torch.bool)
    mask[:300] = True
    new = drop_and_grow(mask, torch.zeros(1000), torch.zeros(1000), k=150)
    assert int(new.sum()) == 300


def test_cosine_schedule_values():
    s = UpdateSchedule(update_interval=10, end_step=100, drop_fraction=0.5)
    assert s.fraction(0) == pytest.approx(0.5)
    assert s.fraction(50) == pytest.approx(0.25)
    assert s.fraction(100) == pytest.approx(0.0)
    assert [t for t in range(1, 130) if s.is_update_step(t)] == list(range(10, 100, 10))
    assert UpdateSchedule(10, 100, 0.3, "constant").fraction(70) == 0.3


@pytest.mark.parametrize("kwargs, match", [
    (dict(update_interval=0, end_step=10), "update_interval must be a positive integer"),
    (dict(update_interval=5, end_step=0), "end_step must be a positive integer"),
    (dict(update_interval=5, end_step=10, decay="linear"), "Unknown drop-fraction decay 'linear'"),
    (dict(update_interval=5, end_step=10, drop_fraction=1.5), "drop_fraction must be in"),
])
def test_schedule_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        UpdateSchedule(**kwargs)


def test_exploration_score_formula_and_decay():
    rule = ExplorationGrowth(c=0.5, eps=1.0, c_decay=0.9, c_decay_interval=1000)
    g = torch.tensor([-0.2, 0.1, 0.0])
    count = torch.tensor([0, 3, 1], dtype=torch.int32)
    layer = LayerState(weight=torch.zeros(3), grad=g, mask=torch.zeros(3, dtype=torch.bool),
                       count=count, t=2500, generator=torch.Generator())
    c = 0.5 * 0.9 ** 2
    expected = g.abs() + c * math.log(2500) / (count.float() + 1.0)
    assert torch.allclose(rule.scores(layer), expected)
    assert rule.state(2500) == {"c": pytest.approx(c)}

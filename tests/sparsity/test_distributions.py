import math

import pytest

from gnn_sparse.sparsity.distributions import erk, resolve_distribution, uniform


def test_uniform():
    assert uniform({"a": (3, 4), "b": (5,)}, 0.9) == {"a": 0.9, "b": 0.9}


def test_erk_matches_hand_computation():
    shapes = {"fc1": (128, 16), "fc2": (1, 128)}
    out = erk(shapes, 0.9)
    # raw scores (n_out + n_in) / (n_out * n_in); one epsilon meets the budget of 0.1 * 2176.
    raw1, raw2 = 144 / 2048, 129 / 128
    eps = 0.1 * (2048 + 128) / (raw1 * 2048 + raw2 * 128)
    assert out["fc1"] == pytest.approx(1 - eps * raw1)
    assert out["fc2"] == pytest.approx(1 - eps * raw2)


def test_erk_layer_over_density_one_becomes_dense():
    out = erk({"big": (100, 100), "small": (2, 3)}, 0.5)
    assert 0.5 * 10006 / (200 + 5) * 5 / 6 > 1  # small would exceed density 1
    assert out["small"] == 0.0
    assert out["big"] == pytest.approx(1 - (0.5 * 10006 - 6) / 10000)


def test_erk_conv_kernel_terms_and_budget():
    shapes = {"c1": (64, 3, 3, 3), "c2": (128, 64, 3, 3), "fc": (10, 128)}
    out = erk(shapes, 0.95)
    raw = {n: sum(s) / math.prod(s) for n, s in shapes.items()}
    dense_ratio = {n: (1 - out[n]) / raw[n] for n in shapes if out[n] > 0}
    assert len(set(round(v, 9) for v in dense_ratio.values())) == 1  # one epsilon
    total = sum(math.prod(s) for s in shapes.values())
    nnz = sum((1 - out[n]) * math.prod(s) for n, s in shapes.items())
    assert nnz == pytest.approx(0.05 * total)


def test_erk_power_scale_zero_is_uniform():
    out = erk({"a": (10, 20), "b": (30, 40)}, 0.8, power_scale=0.0)
    assert out["a"] == pytest.approx(0.8) and out["b"] == pytest.approx(0.8)


def test_erk_impossible_target():
    with pytest.raises(ValueError, match="impossible target sparsity"):
        erk({"a": (100, 100), "b": (2, 2)}, 0.99, dense_layers=["a"])


@pytest.mark.parametrize("bad", [-0.1, 1.0, 1.5, "0.5"])
def test_sparsity_out_of_range(bad):
    with pytest.raises(ValueError, match=r"sparsity must be in \[0, 1\)"):
        resolve_distribution("uniform", {"a": (2, 2)}, bad)


def test_unknown_distribution():
    with pytest.raises(ValueError, match="Unknown sparsity distribution 'gaussian'"):
        resolve_distribution("gaussian", {"a": (2, 2)}, 0.5)


def test_explicit_dict_must_match():
    with pytest.raises(ValueError, match=r"unknown \['c'\], missing \['b'\]"):
        resolve_distribution({"a": 0.5, "c": 0.5}, {"a": (2, 2), "b": (2, 2)}, None)
    assert resolve_distribution({"a": 0.5, "b": 0.0}, {"a": (2, 2), "b": (2, 2)}, None) == {"a": 0.5, "b": 0.0}

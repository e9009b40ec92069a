"""The grid enumeration and the presets (gnn_sparse.reports.grid)."""
import pytest

from gnn_sparse.reports import PRESETS, RunKey, expected_runs
from gnn_sparse.reports.grid import make_key


def test_expected_runs_counts_dense_once_per_seed_and_dst_ee_per_c():
    keys = expected_runs(["dense", "admm", "dst-ee", "rigl", "set"], [0.8, 0.9, 0.98], [0, 1, 2], [1e-4, 1e-2])
    by_method = {m: [k for k in keys if k.method == m] for m in ("dense", "admm", "dst-ee", "rigl", "set")}
    assert len(by_method["dense"]) == 3
    assert all(k.sparsity is None and k.c is None for k in by_method["dense"])
    assert len(by_method["dst-ee"]) == 3 * 2 * 3
    assert {k.c for k in by_method["dst-ee"]} == {1e-4, 1e-2}
    assert len(by_method["admm"]) == len(by_method["rigl"]) == len(by_method["set"]) == 9
    assert len(keys) == len(set(keys)) == 3 + 18 + 27


def test_keys_are_normalised_so_float_noise_matches():
    assert make_key("rigl", 0.9000000001, 1, 0.5) == RunKey("rigl", 0.9, 1, None)
    assert make_key("dst-ee", 0.9, 1, 0.0010000000001) == RunKey("dst-ee", 0.9, 1, 1e-3)
    assert make_key("dense", 0.9, 1, 0.01) == RunKey("dense", None, 1, None)


@pytest.mark.parametrize("args, match", [
    (([], [0.9], [0], [1e-2]), "no methods"),
    ((["rigl"], [0.9], [], [1e-2]), "no seeds"),
    ((["rigl"], [], [0], [1e-2]), "need at least one sparsity"),
    ((["dst-ee"], [0.9], [0], []), "needs at least one c"),
    ((["rigl"], [1.0], [0], []), r"sparsities must lie in \[0, 1\)"),
])
def test_expected_runs_rejects_bad_grids(args, match):
    with pytest.raises(ValueError, match=match):
        expected_runs(*args)


def test_presets_hold_the_papers_budgets():
    paper, quick = PRESETS["paper"], PRESETS["quick"]
    assert paper.epochs_for("dst-ee") == paper.epochs_for("rigl") == 50
    assert paper.admm_epochs == (20, 20, 20) and paper.epochs_for("admm") == 60
    assert paper.epochs_for("dense") is None
    assert max(quick.epochs_for(m) for m in ("dense", "dst-ee", "admm")) <= 4

"""A user's own schedule, distribution, drop rule and grow rule (``custom_pieces.py``): a run
saved midway and resumed strictly in a fresh process ends exactly as the uninterrupted run."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import custom_pieces as pieces
from gnn_sparse.sparsity import FunctionSchedule

HERE = Path(__file__).resolve().parent


def test_user_pieces_are_used():
    model, optimizer, sparsifier = pieces.build()
    first, second = list(sparsifier.params)[:2]
    assert sparsifier.target_sparsity[first] == 0.4 and sparsifier.target_sparsity[second] == 0.8
    assert isinstance(sparsifier.schedule, FunctionSchedule)
    pieces.train(model, optimizer, sparsifier, 0, 10)
    assert [r["t"] for r in sparsifier.history] == [3, 6, 9] and sparsifier.rounds == 3
    assert sparsifier.history[0]["drop_fraction"] == 0.3
    assert sparsifier.configs() == {
        "grow": {"rule": "GradientPlusNovelty", "bonus": 0.05},
        "drop": {"rule": "NoisyMagnitudeDrop", "noise": 0.001},
        "schedule": {"schedule": "every_third_until_30"},
        "distribution": {"distribution": "first_layer_denser"},
    }


def test_a_strict_resume_in_a_fresh_process_continues_exactly(tmp_path, one_thread):
    torch.manual_seed(0)
    model, optimizer, sparsifier = pieces.build()
    pieces.train(model, optimizer, sparsifier, 0, pieces.STOP)
    state = tmp_path / "state.pt"
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "sparsifier": sparsifier.state_dict()}, state)
    pieces.train(model, optimizer, sparsifier, pieces.STOP, pieces.STEPS)
    uninterrupted = pieces.snapshot(model, sparsifier)

    out = tmp_path / "resumed.pt"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), str(HERE.parents[1])])}
    proc = subprocess.run([sys.executable, str(HERE / "custom_pieces.py"), str(state), str(out)],
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    resumed = torch.load(out, weights_only=True)
    for key in ("weights", "masks", "counts"):
        for name, tensor in uninterrupted[key].items():
            assert torch.equal(resumed[key][name], tensor), (key, name)
    assert (resumed["t"], resumed["rounds"]) == (uninterrupted["t"], uninterrupted["rounds"]) == (pieces.STEPS, 9)
    assert resumed["history"] == uninterrupted["history"]
    assert "different experiment: noise 0.001 there, 0.002 here" in resumed["refused"]


@pytest.mark.parametrize("changed, match", [
    (dict(bonus=0.1), r"bonus 0\.05 there, 0\.1 here"),
    (dict(schedule=lambda t: None), r"schedule every_third_until_30\(\) there, .*<lambda>\(\) here"),
    (dict(distribution="uniform"), r"distribution first_layer_denser\(\) there, uniform\(\) here; target sparsity"),
    (dict(drop=None), r"drop rule NoisyMagnitudeDrop\(noise=0\.001\) there, MagnitudeDrop\(\) here"),
])
def test_another_piece_is_another_experiment(changed, match):
    _, _, saved = pieces.build()
    model = pieces.mlp(seed=3)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    arguments = dict(grow=pieces.GradientPlusNovelty(), sparsity=0.8, distribution=pieces.first_layer_denser,
                     schedule=pieces.every_third_until_30, drop=pieces.NoisyMagnitudeDrop(), seed=5)
    if "bonus" in changed:
        arguments["grow"] = pieces.GradientPlusNovelty(changed.pop("bonus"))
    arguments.update(changed)
    other = pieces.DynamicSparsifier(model, optimizer, **arguments)
    with pytest.raises(ValueError, match="different experiment: " + match):
        other.load_state_dict(saved.state_dict())


def test_schedule_and_scalar_arguments_are_exclusive():
    model = pieces.mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    with pytest.raises(TypeError, match="pass either schedule= or update_interval, end_step, not both"):
        pieces.DynamicSparsifier(model, optimizer, pieces.GradientPlusNovelty(), sparsity=0.5,
                                 schedule=pieces.every_third_until_30, update_interval=5, end_step=10)
    with pytest.raises(TypeError, match="a drop rule needs a scores"):
        pieces.DynamicSparsifier(model, optimizer, pieces.GradientPlusNovelty(), sparsity=0.5, end_step=10,
                                 drop=object())

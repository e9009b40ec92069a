"""A user's own pieces of each kind, written as a user would: a schedule and a distribution as
plain functions, a drop rule as a plain class (no ``config()``, no ``__repr__``), a grow rule
subclassing ``GrowthRule``; and a run that uses them, saved and resumed by
``test_custom_pieces.py`` (also in a fresh process: ``python custom_pieces.py STATE OUT``)."""
from __future__ import annotations

import sys

import torch

from gnn_sparse import DynamicSparsifier
from gnn_sparse.sparsity import GrowthRule

from helpers_sparsity import batches, mlp, train_step

STEPS, STOP = 40, 17


def every_third_until_30(t: int) -> float | None:
    """Schedule: move 30%, then 20% of the active weights every third step before step 30."""
    if t % 3 or t >= 30:
        return None
    return 0.3 if t < 15 else 0.2


def first_layer_denser(shapes, sparsity):
    """Distribution: the first masked layer at half the global sparsity, the others at it."""
    first = next(iter(shapes))
    return {name: sparsity / 2 if name == first else sparsity for name in shapes}


class NoisyMagnitudeDrop:
    """Drop rule: |w| plus seeded noise (from the sparsifier's generator)."""

    def __init__(self, noise: float = 1e-3):
        self.noise = noise

    def scores(self, layer):
        noise = torch.rand(layer.weight.shape, generator=layer.generator).to(layer.weight.device)
        return layer.weight.detach().abs() + self.noise * noise


class GradientPlusNovelty(GrowthRule):
    """Grow rule: |g| plus a bonus for weights active in few rounds."""

    def __init__(self, bonus: float = 0.05):
        self.bonus = bonus

    def scores(self, layer):
        return layer.grad.detach().abs() + self.bonus / (layer.count + 1.0)


def build(noise: float = 1e-3, bonus: float = 0.05):
    model = mlp(seed=3)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    sparsifier = DynamicSparsifier(model, optimizer, GradientPlusNovelty(bonus), sparsity=0.8,
                                   distribution=first_layer_denser, schedule=every_third_until_30,
                                   drop=NoisyMagnitudeDrop(noise), seed=5)
    return model, optimizer, sparsifier


def train(model, optimizer, sparsifier, start: int, stop: int) -> None:
    for x, y in batches(model, n=STEPS, seed=1)[start:stop]:
        train_step(model, optimizer, sparsifier, x, y)


def snapshot(model, sparsifier) -> dict:
    return {"weights": {n: p.detach().clone() for n, p in model.named_parameters()},
            "masks": {n: m.clone() for n, m in sparsifier.masks.items()},
            "counts": {n: c.clone() for n, c in sparsifier.counts.items()},
            "t": sparsifier.t, "rounds": sparsifier.rounds, "history": sparsifier.history}


def resume(state_path: str, out_path: str) -> None:
    """Rebuild the run, load the saved state strictly, finish it and save a snapshot; also
    record what a strict load says to the same run with another drop-rule setting."""
    state = torch.load(state_path, weights_only=True)
    model, optimizer, sparsifier = build()
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    sparsifier.load_state_dict(state["sparsifier"])
    train(model, optimizer, sparsifier, STOP, STEPS)
    try:
        build(noise=2e-3)[2].load_state_dict(state["sparsifier"])
        refused = ""
    except ValueError as err:
        refused = str(err)
    torch.save({**snapshot(model, sparsifier), "refused": refused}, out_path)


if __name__ == "__main__":
    torch.set_num_threads(1)
    resume(sys.argv[1], sys.argv[2])

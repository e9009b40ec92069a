"""Small models and a training loop shared by the sparsity tests."""
import torch
from torch import nn


def mlp(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(12, 40), nn.ReLU(), nn.Linear(40, 30), nn.ReLU(), nn.Linear(30, 3))


def cnn(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(64, 3),
    )


def batches(model, n=200, seed=0):
    g = torch.Generator().manual_seed(seed)
    conv = isinstance(model[0], nn.Conv2d)
    shape = (16, 1, 6, 6) if conv else (16, 12)
    return [(torch.randn(shape, generator=g), torch.randint(0, 3, (16,), generator=g)) for _ in range(n)]


def train_step(model, optimizer, sparsifier, x, y):
    optimizer.zero_grad()
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    optimizer.step()
    sparsifier.step()
    return loss.item()

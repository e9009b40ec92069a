"""Fixtures shared across test folders (this folder is also on ``sys.path``, so that
``helpers_ddp`` can be imported by name).

In a checkout the tests use the checkout's folders unless the environment says otherwise:
``datasets/`` as the data root (``$GNN_SPARSE_DATA``; its ``raw/`` and ``processed/`` are
ignored by git) and ``../shared/data`` beside the checkout as the shared real graphs
(``$GNN_SPARSE_SHARED_DATA``; the tests that need them skip when it holds none). The
library itself never looks there: its defaults are the user's cache folder and no shared
folder.
"""
import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("GNN_SPARSE_DATA", str(REPO / "datasets"))
os.environ.setdefault("GNN_SPARSE_SHARED_DATA", str(REPO.parent / "shared" / "data"))

# The suite runs on every core through pytest-xdist (``-n auto`` in pyproject.toml): each
# worker takes its share of the cores for torch's intra-op threads, so that the workers do
# not oversubscribe the machine.
if os.environ.get("PYTEST_XDIST_WORKER_COUNT"):
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"])))


@pytest.fixture
def one_thread():
    """Tiny models run fastest on one thread and do not fight other jobs for cores: on a
    shared, loaded 2-core machine two intra-op threads made small convolutions many times
    slower (measured: 0.03-0.36 s vs 0.01 s per DigitsCNN step)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_dataset():
    """A learnable synthetic graph small enough for a full run in about a second."""
    from gnn_sparse.data import load_dataset

    return load_dataset("synthetic", num_nodes=200, num_events=4000, seed=0)

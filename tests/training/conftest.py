import pytest

from gnn_sparse.data import load_dataset
from gnn_sparse.training import RunConfig


@pytest.fixture(scope="session")
def tiny_dataset():
    """A learnable synthetic graph small enough for a full run in about a second."""
    return load_dataset("synthetic", num_nodes=200, num_events=4000, seed=0)


@pytest.fixture
def tiny_config():
    def make(**overrides):
        values = dict(epochs=6, batch_size=128, update_interval=5, device="cpu")
        values.update(overrides)
        return RunConfig(**values)
    return make


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny graphs run fastest on one thread (and do not fight other jobs for cores)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)

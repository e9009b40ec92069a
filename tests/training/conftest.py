import pytest

from gnn_sparse.training import RunConfig


@pytest.fixture
def tiny_config():
    def make(**overrides):
        values = dict(epochs=6, batch_size=128, update_interval=5, device="cpu")
        values.update(overrides)
        return RunConfig.from_dict(values)
    return make


@pytest.fixture(autouse=True)
def _single_thread(one_thread):
    """Every test here on one thread (``one_thread`` in tests/conftest.py)."""

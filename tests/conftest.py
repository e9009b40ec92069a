"""Fixtures shared across test folders (this folder is also on ``sys.path``, so that
``helpers_ddp`` can be imported by name)."""
import pytest
import torch


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

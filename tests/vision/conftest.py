"""The vision tests run single-threaded: on a shared, loaded 2-core machine two intra-op
threads make small convolutions many times slower (measured: 0.03-0.36 s vs 0.01 s per
DigitsCNN step)."""
import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)

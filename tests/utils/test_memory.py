import sys

import numpy as np
import pytest

from gnn_sparse.utils.memory import PeakMemory

MiB = 2**20


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the peak is reset through /proc")
def test_peak_counts_what_the_run_allocates_and_not_what_came_before():
    before = np.ones(400 * MiB // 8)  # touched, then freed before the run starts
    del before
    memory = PeakMemory()
    resident = PeakMemory().read()["rss_bytes"]  # right after a reset the peak is the current RSS
    during = np.ones(64 * MiB // 8)
    peak = memory.read()
    assert peak["scope"] == "run" and peak["cuda_bytes"] is None
    assert resident + during.nbytes - 8 * MiB <= peak["rss_bytes"] < resident + 200 * MiB

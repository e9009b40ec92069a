"""Denormal floats flushed to zero for a block of inference code.

Why: a weight that gets no gradient (a hidden unit cut off by pruning) still shrinks by weight
decay every step, by a factor of about ``1 - lr * wd / (1 - momentum)``; after about 175k SGD
steps (lr 0.1, wd 5e-4, momentum 0.9) it is below 1.2e-38, a denormal float, and each
arithmetic operation on it costs about a hundred cycles on x86: evaluating the test split of
wiki-talk-twin (ranking metrics included) with a DST-EE model at 80% after 30 epochs took
140 s, 18.6 s with denormals flushed (``benchmarks/bench_denormals.py``). Flushing turns
values below 1.2e-38 into zeros, which can move a logit by float rounding: on that model
accuracy, AUC, AP and Hits@3/10 were identical, MRR moved by 1e-7 and Hits@1 by one positive
of 1.57M. Training keeps IEEE arithmetic, so runs reproduce.
"""
from __future__ import annotations

from contextlib import contextmanager

import torch


def flushing_denormals() -> bool:
    """Whether this thread flushes denormal floats to zero now (torch has no getter: a
    denormal times one reads as zero when it does)."""
    return bool(torch.tensor([1e-39], dtype=torch.float32).mul_(1.0)[0] == 0)


@contextmanager
def flush_denormals():
    """Flush denormal floats to zero inside the block (:func:`torch.set_flush_denormal`, on
    CPUs that support it), then restore this thread's previous mode."""
    before = flushing_denormals()
    supported = torch.set_flush_denormal(True)
    try:
        yield
    finally:
        if supported and not before:
            torch.set_flush_denormal(False)

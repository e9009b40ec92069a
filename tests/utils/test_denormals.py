import platform

import pytest
import torch

from gnn_sparse.utils.denormals import flush_denormals, flushing_denormals

X86 = platform.machine().lower() in ("x86_64", "amd64")


def test_flush_denormals_flushes_inside_and_restores_the_mode_after():
    tiny = torch.tensor([1e-39], dtype=torch.float32)  # below float32's smallest normal, 1.18e-38
    assert not flushing_denormals() and tiny.mul(1.0)[0] > 0
    with flush_denormals():
        flushed = flushing_denormals()
        with flush_denormals():
            pass
        assert flushing_denormals() == flushed  # a nested block does not end the outer one's mode
    assert not flushing_denormals() and tiny.mul(1.0)[0] > 0
    assert flushed or not X86  # x86 (SSE3) supports the mode


@pytest.mark.skipif(not X86, reason="flush-denormal mode needs x86")
def test_a_mode_set_before_is_kept():
    torch.set_flush_denormal(True)
    try:
        with flush_denormals():
            pass
        assert flushing_denormals()
    finally:
        torch.set_flush_denormal(False)

"""``--device auto|cpu|cuda|cuda:N`` to a :class:`torch.device`, with clear errors."""
from __future__ import annotations

import re

import torch

from gnn_sparse.training.config import ConfigError


def resolve_device(spec: str) -> torch.device:
    """``auto`` = the first CUDA device if there is one, else the CPU.

    Raises:
        ConfigError: an unknown spelling, CUDA requested without a CUDA device, or an index
            beyond the visible devices.
    """
    if spec == "auto":
        return torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    if spec == "cpu":
        return torch.device("cpu")
    match = re.fullmatch(r"cuda(?::(\d+))?", spec)
    if match is None:
        raise ConfigError(f"unknown device {spec!r}; expected auto, cpu, cuda or cuda:N")
    if not torch.cuda.is_available():
        raise ConfigError(f"--device {spec}: CUDA is not available on this machine "
                          f"(torch {torch.__version__}); use --device cpu or auto")
    index = int(match.group(1) or 0)
    if index >= torch.cuda.device_count():
        raise ConfigError(f"--device {spec}: only {torch.cuda.device_count()} CUDA device(s) are visible")
    return torch.device("cuda", index)


def describe_device(device: torch.device) -> str:
    """``"cpu"`` or ``"cuda:0 (NVIDIA H100 80GB HBM3)"`` for the results."""
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return str(device)

"""Peak memory of a run, for the results and the reports' resource tables.

Host memory is the peak resident set size (RSS). On Linux the kernel's high-water mark can be
reset (``/proc/self/clear_refs``), so a run's peak is its own even when one process trains a
whole grid; where it cannot, the peak is the process's so far and is recorded as such. On
CUDA the peak of memory allocated by torch on the run's device is reset and read the same way.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import torch

_CLEAR_REFS = Path("/proc/self/clear_refs")
_STATUS = Path("/proc/self/status")


class PeakMemory:
    """Start measuring at construction; :meth:`read` gives the peaks since then.

    ``scope`` is ``"run"`` when the host high-water mark was reset at the start (Linux), else
    ``"process"``: the peak since the process started, an upper bound of the run's.
    """

    def __init__(self, device: torch.device | str | None = None):
        self.device = torch.device(device) if device is not None else None
        self.scope = "run" if _reset_host_peak() else "process"
        if self._cuda():
            torch.cuda.reset_peak_memory_stats(self.device)

    def _cuda(self) -> bool:
        return self.device is not None and self.device.type == "cuda" and torch.cuda.is_available()

    def read(self) -> dict[str, Any]:
        """``{"rss_bytes", "scope", "cuda_bytes"}`` in bytes; ``cuda_bytes`` is ``None`` off CUDA."""
        return {"rss_bytes": _host_peak_bytes(), "scope": self.scope,
                "cuda_bytes": int(torch.cuda.max_memory_allocated(self.device)) if self._cuda() else None}


def _reset_host_peak() -> bool:
    try:
        _CLEAR_REFS.write_text("5")  # 5: reset the peak RSS (VmHWM) to the current RSS
    except OSError:
        return False
    return True


def _host_peak_bytes() -> int | None:
    """``VmHWM`` on Linux (follows a reset); elsewhere ``ru_maxrss`` (bytes on macOS); ``None``
    where neither exists (Windows)."""
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        import resource
    except ImportError:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak) if sys.platform == "darwin" else int(peak) * 1024

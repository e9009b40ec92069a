"""When masks are updated and how many weights each update moves."""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class UpdateSchedule:
    r"""Mask updates every ``update_interval`` iterations while ``t < end_step``.

    The fraction of active weights dropped (and regrown) at iteration :math:`t` is, for
    ``decay="cosine"`` (RigL's default),

    .. math::
        f(t) = \frac{f_0}{2}\left(1 + \cos\frac{\pi t}{T_\text{end}}\right)

    and :math:`f_0` for ``decay="constant"``. ``t`` is the global iteration count starting at 1.
    """

    update_interval: int
    end_step: int
    drop_fraction: float = 0.5
    decay: str = "cosine"

    def __post_init__(self):
        if not isinstance(self.update_interval, int) or self.update_interval <= 0:
            raise ValueError(f"update_interval must be a positive integer, got {self.update_interval!r}")
        if not isinstance(self.end_step, int) or self.end_step <= 0:
            raise ValueError(f"end_step must be a positive integer, got {self.end_step!r}")
        if not 0.0 <= self.drop_fraction <= 1.0:
            raise ValueError(f"drop_fraction must be in [0, 1], got {self.drop_fraction!r}")
        if self.decay not in ("cosine", "constant"):
            raise ValueError(f"Unknown drop-fraction decay {self.decay!r}; expected 'cosine' or 'constant'")

    def is_update_step(self, t: int) -> bool:
        return t % self.update_interval == 0 and t < self.end_step

    def fraction(self, t: int) -> float:
        if self.decay == "constant":
            return self.drop_fraction
        return self.drop_fraction / 2.0 * (1.0 + math.cos(math.pi * t / self.end_step))

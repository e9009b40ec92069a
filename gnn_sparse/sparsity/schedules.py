"""When masks are updated and how many weights each update moves.

A schedule is any object with ``is_update_step(t) -> bool`` (is iteration ``t`` a mask
update?) and ``fraction(t) -> float`` (the fraction of each layer's active weights the update
at ``t`` drops and regrows, in ``[0, 1]``), and best a ``config()`` (see
:mod:`~gnn_sparse.sparsity.pieces`), or a plain function ``t -> fraction or None`` (``None``:
no update at ``t``), wrapped by :class:`FunctionSchedule`. ``t`` is the global iteration
count, starting at 1. :class:`UpdateSchedule` is RigL's.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Callable, Protocol, runtime_checkable

from gnn_sparse.sparsity.pieces import piece_config


@runtime_checkable
class Schedule(Protocol):
    """What the sparsifier asks a schedule (``config()`` is optional, see
    :func:`~gnn_sparse.sparsity.pieces.piece_config`)."""

    def is_update_step(self, t: int) -> bool: ...

    def fraction(self, t: int) -> float: ...


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

    def config(self) -> dict[str, Any]:
        return {"schedule": type(self).__name__, **asdict(self)}


class FunctionSchedule:
    """A schedule from a function ``fraction(t) -> float | None``: the fraction of active
    weights to move at iteration ``t``, or ``None`` when ``t`` is not an update iteration
    (``0.0`` is an update that moves nothing, which still counts for ``N``). Its config names
    the function (and a ``config()`` of the function's, if it has one)."""

    def __init__(self, function: Callable[[int], float | None]):
        if not callable(function):
            raise TypeError(f"a schedule function must be callable, got {function!r}")
        self.function = function

    def is_update_step(self, t: int) -> bool:
        return self.function(t) is not None

    def fraction(self, t: int) -> float:
        value = self.function(t)
        return 0.0 if value is None else float(value)

    def config(self) -> dict[str, Any]:
        return piece_config(self.function, "schedule")

    def __repr__(self) -> str:
        return f"FunctionSchedule({getattr(self.function, '__qualname__', self.function)!s})"


def as_schedule(schedule: Schedule | Callable[[int], float | None]) -> Schedule:
    """A schedule object as it is; a plain function wrapped in :class:`FunctionSchedule`."""
    if isinstance(schedule, Schedule):
        return schedule
    if callable(schedule):
        return FunctionSchedule(schedule)
    raise TypeError(f"schedule must have is_update_step(t) and fraction(t), or be a function t -> fraction or "
                    f"None; got {schedule!r}")

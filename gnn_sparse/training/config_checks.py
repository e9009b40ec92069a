"""The checks every configuration group runs on construction, and the error they raise.

Shared by the link-prediction and image configs (:mod:`gnn_sparse.training.config`,
:mod:`gnn_sparse.vision.config`) and their groups (:mod:`gnn_sparse.training.config_groups`),
so that an invalid value is refused with the same one-line message whichever runner gets it.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Iterable, Mapping


class ConfigError(ValueError):
    """An invalid option or an impossible request; the CLI prints it as one line, exit code 2."""


class OutOfSpaceError(ConfigError):
    """The results folder's file system is full (or over quota). A :class:`ConfigError`, so
    that every command line prints it as one line with exit code 2 and a ``compare`` grid
    stops instead of failing every following run; the files already written are intact."""


MAX_EPOCHS = 1_000_000
"""Cap on ``epochs`` and on each ADMM phase: far beyond any run of this toolkit, so only a
typo or a hostile value (``1e30``) is refused instead of being run "forever"."""
MAX_COUNT = 2**31 - 1
"""Cap on batch sizes and step intervals (int32: what index tensors and counters hold)."""
MAX_WIDTH = 65_536
"""Cap on layer widths, on the walk and skip-gram sizes and on the ranking negatives per
positive: a bound on typos (a 10**11-wide
layer fails inside the allocator with a traceback), not a promise that any width below fits
in memory."""
MAX_SEED = 2**32 - 1
"""Seeds go to numpy, which takes [0, 2**32)."""


def check_int(name: str, value: Any, low: int, high: int) -> None:
    """:class:`ConfigError` unless ``value`` is an int (not a bool) in ``[low, high]``."""
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ConfigError(f"{name} must be an integer in [{low}, {high}], got {value!r}")


def check_finite(name: str, value: Any) -> None:
    """:class:`ConfigError` unless ``value`` is a finite real number (NaN and inf compare in
    surprising ways, so every range check below starts here)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, got {value!r}")


def check_choice(name: str, value: Any, allowed: Iterable[Any]) -> None:
    """:class:`ConfigError` unless ``value`` is one of ``allowed``."""
    allowed = tuple(allowed)
    if value not in allowed:
        shown = ", ".join(str(a) for a in allowed if a is not None)
        raise ConfigError(f"{name} must be one of {shown}, got {value!r}")


Rule = tuple[str, Callable[[Any], bool], str]
"""``(field, ok(value), "in [0, 1)")``: the field's value must pass ``ok``."""


def check_fields(group: Any, *, ints: Mapping[str, tuple[int, int]] = {}, reals: Iterable[str] = (),
                 rules: Iterable[Rule] = (), choices: Mapping[str, Iterable[Any]] = {},
                 unset: Iterable[str] = ()) -> None:
    """The checks of one group's fields, in this order: integer ranges, finite reals, the
    rules, the choices. Fields named in ``unset`` may be ``None`` (not set yet: a runner
    fills them in, see :meth:`gnn_sparse.vision.config.ImageRunConfig.resolved`)."""
    unset = set(unset)

    def present(name: str) -> bool:
        return name not in unset or getattr(group, name) is not None

    for name, (low, high) in ints.items():
        if present(name):
            check_int(name, getattr(group, name), low, high)
    for name in reals:
        if present(name):
            check_finite(name, getattr(group, name))
    for name, ok, rule in rules:
        if present(name) and not ok(getattr(group, name)):
            raise ConfigError(f"{name} must be {rule}, got {getattr(group, name)!r}")
    for name, allowed in choices.items():
        check_choice(name, getattr(group, name), allowed)

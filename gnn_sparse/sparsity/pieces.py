"""What defines a swappable piece of the sparsifier (drop rule, grow rule, schedule,
distribution), as the plain dict its state records and compares.

A piece's *config* names it and its settings, e.g. ``{"rule": "ExplorationGrowth", "c":
0.01, "eps": 1.0, ...}``: a piece with a ``config()`` method gives its own; any other gets
the name of its class (of the function itself, for a plain function) and its public scalar
attributes. Configs hold only strings, numbers, booleans, ``None`` and lists of them, so they
compare equal in a fresh process, where a default ``repr`` (which holds a memory address)
would not.
"""
from __future__ import annotations

import functools
import types
from typing import Any, Mapping

SCALARS = (bool, int, float, str, type(None))


def scalar_settings(obj: Any) -> dict[str, Any]:
    """The public attributes of ``obj`` that are scalars (``vars(obj)`` order)."""
    return {k: v for k, v in getattr(obj, "__dict__", {}).items() if not k.startswith("_") and isinstance(v, SCALARS)}


def piece_config(piece: Any, kind: str) -> dict[str, Any]:
    """The config of ``piece`` under the key ``kind`` (``"rule"``, ``"schedule"``,
    ``"distribution"``): ``piece.config()`` when it has one, else its name and scalar
    settings (a ``functools.partial``: its function's name and scalar keywords)."""
    config = getattr(piece, "config", None)
    if callable(config):
        out = dict(config())
        if kind not in out:
            raise ValueError(f"{type(piece).__qualname__}.config() must name the {kind} under the key {kind!r}, "
                             f"got {out!r}")
        return out
    if isinstance(piece, functools.partial):
        keywords = {k: v for k, v in piece.keywords.items() if isinstance(v, SCALARS)}
        return {kind: _name(piece.func), **keywords}
    return {kind: _name(piece), **scalar_settings(piece)}


def _name(obj: Any) -> str:
    if isinstance(obj, (types.FunctionType, types.BuiltinFunctionType, types.MethodType, type)):
        return obj.__qualname__
    return type(obj).__qualname__


def format_config(config: Any, kind: str) -> str:
    """``Name(setting=value, ...)`` for a config, ``repr`` for anything else (``None``)."""
    if not isinstance(config, Mapping):
        return repr(config)
    settings = ", ".join(f"{k}={v!r}" for k, v in config.items() if k != kind)
    return f"{config.get(kind)}({settings})"


def config_differences(label: str, theirs: Any, ours: Any, kind: str,
                       labels: Mapping[str, str] | None = None) -> list[str]:
    """What differs between two configs of a piece, the state's (``theirs``) first: each
    setting of the same piece (``c 0.01 there, 0.001 here``; ``labels`` renames settings), or
    the whole piece when they are different pieces (``grow rule A(...) there, B() here``)."""
    if theirs == ours:
        return []
    labels = labels or {}
    if isinstance(theirs, Mapping) and isinstance(ours, Mapping) and theirs.get(kind) == ours.get(kind):
        return [f"{labels.get(k, k)} {theirs.get(k)!r} there, {ours.get(k)!r} here"
                for k in dict.fromkeys([*theirs, *ours]) if theirs.get(k) != ours.get(k)]
    return [f"{label} {format_config(theirs, kind)} there, {format_config(ours, kind)} here"]

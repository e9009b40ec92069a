"""Read a dataset's run results from a results folder, without crashing on bad files.

The runner writes one ``<run_id>.json`` per finished run at the top of the results folder
(plus ``index.jsonl`` and ``checkpoints/``, which are not read here). Only the public keys of
the results contract (``REQUIRED_KEYS`` of :mod:`gnn_sparse.training.results`) are read
directly. Keys outside that contract are read through one accessor each, so that a renamed
key is fixed in one place:

* :func:`validation_curve` -- ``history``: ``[{"epoch": int, "val": {"accuracy": float}, ...}]``
* :func:`exploration_curve` -- ``exploration_history``: ``[{"t": int, "exploration_rate": float}, ...]``
  (records with a ``"skipped"`` key, i.e. updates skipped on non-finite gradients, are left out)
* :func:`growth_curve` -- ``exploration_history``: ``[{"t": int, "layers": {name: {"grown": int,
  "grown_never_active": int, ...}}}, ...]``
* :func:`growth_slots` -- ``exploration_history``: the same records' ``slots``, ``slots_regrown``,
  ``slots_zero_grad`` (growth diagnostics, summed per layer)
* :func:`data_fingerprint` -- ``dataset_info``: ``{"sha256": str, ...}``
* :func:`run_versions` -- ``versions``: ``{"torch": str, ...}``
* :func:`run_protocol` -- ``config.protocol`` (``"sound"`` when absent: runs from before the option)
* :func:`pretrain_validation` -- ``history`` records of phase ``"pretrain"`` (ADMM)
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gnn_sparse.reports.grid import (ADMM_METHOD, ADMM_ROWS, EXPLORATION_METHOD, VARIANT_ROWS, RunKey, is_knobbed,
                                    knob_option, make_key)
from gnn_sparse.training.results import REQUIRED_KEYS, read_results
from gnn_sparse.utils.io import CorruptFileError


class NoRunsError(FileNotFoundError):
    """The results folder holds no readable run of the requested dataset."""


class MixedProtocolsError(ValueError):
    """The results folder holds runs of the dataset made under different protocols
    (``--protocol sound`` and ``original``): a report reads one protocol."""


@dataclass(frozen=True)
class Run:
    """One finished run: its grid key, the file it came from and the results dict."""

    key: RunKey
    path: Path
    result: dict[str, Any]

    @property
    def failed(self) -> bool:
        """A run whose test accuracy is missing or not finite (e.g. training diverged)."""
        value = self.result["test_accuracy"]
        return value is None or not math.isfinite(value)


@dataclass
class LoadedRuns:
    """What :func:`load_runs` found: usable runs, and each file it could not use and why."""

    runs: list[Run] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)
    """``(file name, reason)`` for corrupt, incomplete or superseded files."""
    other_datasets: int = 0
    """How many result files name another dataset (ignored, even if incomplete)."""


def validation_curve(result: dict[str, Any]) -> list[tuple[int, float]]:
    """``[(epoch, validation accuracy %), ...]`` from ``result["history"]``.

    Expects ``history`` as a list of per-epoch records ``{"epoch": int, "val":
    {"accuracy": float, ...}, ...}`` (the runner's format); ``[]`` when absent.
    """
    return [(int(r["epoch"]), float(r["val"]["accuracy"])) for r in result.get("history") or []]


def exploration_curve(result: dict[str, Any]) -> list[float]:
    """Exploration rate R after each mask update, in order (round 1, 2, ...).

    Expects ``result["exploration_history"]`` as a list of ``{"t": int,
    "exploration_rate": float, ...}``; records marked ``"skipped"`` did not change the
    masks and are left out. ``[]`` when absent (dense and ADMM runs).
    """
    records = result.get("exploration_history") or []
    return [float(r["exploration_rate"]) for r in sorted(records, key=lambda r: r["t"]) if "skipped" not in r]


def growth_curve(result: dict[str, Any]) -> list[tuple[int, int]]:
    """``[(grown, grown_never_active), ...]`` per mask update, in order, summed over layers.

    ``grown_never_active`` counts the grown weights that had never been active before that
    update: the decisions exploration can change. Updates skipped on non-finite gradients
    are left out; ``[]`` when absent (dense and ADMM runs, or results without the counts).
    """
    records = result.get("exploration_history") or []
    out = []
    for r in sorted(records, key=lambda r: r["t"]):
        if "skipped" in r or "layers" not in r:
            continue
        layers = r["layers"].values()
        out.append((sum(int(l.get("grown", 0)) for l in layers),
                    sum(int(l.get("grown_never_active", 0)) for l in layers)))
    return out


SLOT_COUNTS = ("slots", "slots_regrown", "slots_zero_grad", "grown_never_active")
"""The growth diagnostics of an update record's layers (:data:`gnn_sparse.sparsity.sparsifier.LAYER_COUNTS`)."""


def growth_slots(result: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Per layer (and ``"all"``): the growth diagnostics summed over a run's mask updates,
    ``{"slots": k, "slots_regrown": .., "slots_zero_grad": .., "grown_never_active": ..}``.

    A slot is one of the ``k`` entries an update grows, regrown ones included, so
    ``slots_regrown / slots`` is the share of growth spent on weights dropped in the same
    update, ``slots_zero_grad / slots`` the share chosen with a gradient of exactly 0, and
    ``grown_never_active / slots`` the share that had never been active. ``{}`` for runs
    without these counts (dense, ADMM, results older than the diagnostics); a layer without
    a gradient (``slots_zero_grad`` is ``None``) has no ``slots_zero_grad``.
    """
    totals: dict[str, dict[str, int]] = {}
    for r in result.get("exploration_history") or []:
        if "skipped" in r or "layers" not in r:
            continue
        for name, layer in r["layers"].items():
            if "slots" not in layer:
                return {}
            for key in SLOT_COUNTS:
                if layer.get(key) is not None:
                    for bucket in (name, "all"):
                        totals.setdefault(bucket, {}).setdefault(key, 0)
                        totals[bucket][key] += int(layer[key])
    return totals


def data_fingerprint(result: dict[str, Any]) -> str | None:
    """The sha256 of the graph file the run trained on, ``result["dataset_info"]["sha256"]``."""
    return (result.get("dataset_info") or {}).get("sha256")


def run_versions(result: dict[str, Any]) -> dict[str, str]:
    """Library versions the run recorded, ``result["versions"]`` (``{}`` when absent)."""
    return dict(result.get("versions") or {})


def run_protocol(result: dict[str, Any]) -> str:
    """The protocol a run was made under, ``result["config"]["protocol"]``: ``"sound"`` or
    ``"original"`` (``"sound"`` for runs from before the option, and for image runs)."""
    return str((result.get("config") or {}).get("protocol", "sound"))


def pretrain_validation(result: dict[str, Any]) -> tuple[int, float] | None:
    """``(epoch, validation accuracy %)`` of the last epoch of phase ``"pretrain"`` in
    ``result["history"]`` (ADMM's dense pretraining; ``epoch`` counts from 1 over the whole
    run), or ``None`` when the run has no pretraining epoch."""
    records = [r for r in result.get("history") or [] if r.get("phase") == "pretrain"]
    if not records:
        return None
    last = max(records, key=lambda r: int(r["epoch"]))
    return int(last["epoch"]), float(last["val"]["accuracy"])


def validation_at(result: dict[str, Any], epoch: int) -> float | None:
    """The validation accuracy (%) of ``result`` at ``epoch`` (from 1), ``None`` if it has none."""
    return next((float(r["val"]["accuracy"]) for r in result.get("history") or [] if int(r["epoch"]) == epoch),
                None)


def grid_method(result: dict[str, Any]) -> str:
    """The grid row of a result: its ``method``, except ``admm-run`` for ADMM trained with
    the runs' optimizer (``config.admm_optimizer == "run"``; runs without the key are ``admm``)."""
    method = result["method"]
    if method == ADMM_METHOD:
        optimizer = (result.get("config") or {}).get("admm_optimizer", "original")
        return next(row for row, opt in ADMM_ROWS.items() if opt == optimizer)
    if method == EXPLORATION_METHOD:
        variant = (result.get("config") or {}).get("exploration", "paper")
        return next((row for row, v in VARIANT_ROWS.items() if v == variant), method)
    return method


def run_key(result: dict[str, Any]) -> RunKey:
    """The grid key of a result (its row: :func:`grid_method`); DST-EE's ``c`` comes from
    ``result["config"]["c"]``, a variant row's knob from its option (:func:`~.grid.knob_option`)."""
    row = grid_method(result)
    knob = result["config"].get(knob_option(row)) if is_knobbed(row) else None
    return make_key(row, result["sparsity"], result["seed"], knob)


def protocols_found(results_dir: str | os.PathLike, dataset: str) -> dict[str, list[str]]:
    """``{protocol: [file names]}`` of the readable results of ``dataset`` in ``results_dir``
    (:func:`run_protocol`); ``{}`` when there are none (or no folder)."""
    found: dict[str, list[str]] = {}
    folder = Path(results_dir)
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            result = read_results(path)
        except (OSError, CorruptFileError):
            continue
        if isinstance(result, dict) and result.get("dataset") == dataset and isinstance(result.get("config"), dict):
            found.setdefault(run_protocol(result), []).append(path.name)
    return found


def load_runs(results_dir: str | os.PathLike, dataset: str) -> LoadedRuns:
    """Every finished run of ``dataset`` in ``results_dir`` (top-level ``*.json`` files).

    A file that is not valid JSON, lacks contract keys or cannot be keyed is listed in
    ``problems`` by name instead of raising. When several files hold the same run key (a
    re-run under another name), the most recently written one is used and the others are
    listed as superseded. Runs of other datasets are counted and otherwise ignored.

    Raises:
        NoRunsError: ``results_dir`` does not exist or holds no usable run of ``dataset``.
        MixedProtocolsError: the runs of ``dataset`` were made under different protocols
            (their keys would collide: one protocol per results folder).
    """
    folder = Path(results_dir)
    if not folder.is_dir():
        raise NoRunsError(f"no results folder {folder} (nothing has been run there yet)")
    loaded = LoadedRuns()
    by_key: dict[RunKey, list[Run]] = {}
    for path in sorted(folder.glob("*.json"), key=lambda p: (p.stat().st_mtime, p.name)):
        try:
            result = read_results(path)
        except (OSError, CorruptFileError) as err:
            loaded.problems.append((path.name, f"unreadable: {err}"))
            continue
        if not isinstance(result, dict):
            loaded.problems.append((path.name, "not a results object"))
            continue
        if result.get("dataset", dataset) != dataset:
            loaded.other_datasets += 1
            continue
        missing = [k for k in REQUIRED_KEYS if k not in result]
        if missing:
            loaded.problems.append((path.name, f"incomplete: lacks {', '.join(missing)}"))
            continue
        try:
            key = run_key(result)
        except (TypeError, ValueError, AttributeError) as err:
            loaded.problems.append((path.name, f"cannot tell which run it is: {err}"))
            continue
        by_key.setdefault(key, []).append(Run(key, path, result))
    protocols: dict[str, str] = {}
    for run in (r for runs in by_key.values() for r in runs):
        protocols.setdefault(run_protocol(run.result), run.path.name)
    if len(protocols) > 1:
        found = ", ".join(f"{p} (e.g. {name})" for p, name in sorted(protocols.items()))
        raise MixedProtocolsError(f"{folder} holds runs of {dataset!r} made under different protocols: {found}; "
                                  "keep one protocol per results folder")
    for runs in by_key.values():
        *older, newest = runs
        loaded.problems.extend((r.path.name, f"superseded by {newest.path.name} (same run)") for r in older)
        loaded.runs.append(newest)
    if not loaded.runs:
        found = f"; unusable files: {', '.join(n for n, _ in loaded.problems)}" if loaded.problems else ""
        raise NoRunsError(f"no runs of dataset {dataset!r} in {folder}{found}")
    return loaded

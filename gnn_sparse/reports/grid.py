"""Which runs a comparison grid expects, and the ``quick`` / ``paper`` presets.

A grid is methods x sparsities x seeds, with two refinements that mirror the paper:

* ``dense`` has no sparsity, so it is expected once per seed and its key has
  ``sparsity=None``; the report repeats its number in every sparsity column, as Tables
  III-IV repeat the dense accuracy.
* ``dst-ee`` is additionally expected once per exploration coefficient ``c`` (Fig. 3 of
  the paper sweeps ``c``), so its key carries ``c``; every other method has ``c=None``.
  The sweep may be limited to some sparsities (``c_sparsities``; ``compare`` sweeps at the
  highest by default), with DST-EE at its ``default_c`` elsewhere.

* ADMM is two rows when asked: ``admm`` (the original code's optimizer) and ``admm-run``
  (ADMM with the sparse runs' optimizer, ``--admm-optimizer run``). A grid names them as
  methods (``compare --methods ... admm admm-run``); :func:`runner_method` and
  :func:`row_options` turn a row into the runner's ``method`` and options.

* The DST-EE variants (``--exploration``, :mod:`gnn_sparse.sparsity.exploration`) are rows
  of their own, :data:`VARIANT_ROWS` (``dst-ee-normalized``, ``dst-ee-ucb``,
  ``dst-ee-quota``), each keyed by its knob in the key's ``c`` slot (``c``, or ``rho`` for
  the quota) and expected at every knob of ``variant_knobs[row]``.

Keys are normalised (:func:`normalise_sparsity`, :func:`normalise_c`) so that a result's
``0.9000000001`` and a requested ``0.9`` name the same cell.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Iterable, NamedTuple

from gnn_sparse.training.config_groups import ADMM_RUN_OPTIMIZER

DENSE_METHOD = "dense"
"""The method without a sparsity: one run per seed, shown in every sparsity column."""

EXPLORATION_METHOD = "dst-ee"
"""The method whose runs are also keyed by the exploration coefficient ``config["c"]``."""

DEFAULT_METHODS = ("dense", "admm", "dst-ee", "rigl", "set")
ADMM_METHOD = "admm"
"""ADMM with the original code's optimizer (runs from before ``--admm-optimizer`` are these)."""
ADMM_ROWS = {ADMM_METHOD: "original", ADMM_RUN_OPTIMIZER: "run"}
"""The grid's ADMM rows and the ``admm_optimizer`` of each (``admm-run``: the runs' optimizer)."""
VARIANT_ROWS = {"dst-ee-normalized": "normalized", "dst-ee-ucb": "ucb", "dst-ee-quota": "quota"}
"""The grid rows of DST-EE's exploration variants and the ``exploration`` of each."""
VARIANT_KNOBS = {"normalized": "c", "ucb": "c", "quota": "exploration_rho"}
"""The run option each variant's knob sets (the key's ``c`` slot holds its value)."""
VARIANT_ROW_OPTIONS = {"dst-ee-normalized": {"c_decay": 1.0}}
"""Options a variant row fixes: the normalized score's ``c`` stays constant, since a ``c``
that means the same in every phase of training is its point."""
METHOD_ORDER = ("dense", ADMM_METHOD, ADMM_RUN_OPTIMIZER, "dst-ee", *VARIANT_ROWS, "rigl", "set", "static")
"""The order of a report's rows (methods not listed follow, alphabetically)."""


def runner_method(method: str) -> str:
    """The runner's ``method`` of a grid row: ``admm`` for both ADMM rows, ``dst-ee`` for the
    variant rows, else the row itself."""
    if method in VARIANT_ROWS:
        return EXPLORATION_METHOD
    return ADMM_METHOD if method in ADMM_ROWS else method


def row_options(method: str) -> dict[str, Any]:
    """The run options that make a grid row what it is beyond its ``method``: the ADMM rows'
    ``admm_optimizer``, the variant rows' ``exploration`` (and :data:`VARIANT_ROW_OPTIONS`);
    ``{}`` for every other row."""
    if method in VARIANT_ROWS:
        return {"exploration": VARIANT_ROWS[method], **VARIANT_ROW_OPTIONS.get(method, {})}
    return {"admm_optimizer": ADMM_ROWS[method]} if method in ADMM_ROWS else {}


def knob_option(method: str) -> str:
    """The run option a row's key ``c`` sets: ``c`` for DST-EE and ``normalized``/``ucb``,
    ``exploration_rho`` for the quota."""
    return VARIANT_KNOBS[VARIANT_ROWS[method]] if method in VARIANT_ROWS else "c"


def is_knobbed(method: str) -> bool:
    """Whether a row's runs are keyed by a knob: DST-EE (``c``) and its variant rows."""
    return method == EXPLORATION_METHOD or method in VARIANT_ROWS
DEFAULT_SPARSITIES = (0.8, 0.9, 0.98)
DEFAULT_SEEDS = (0, 1, 2)
DEFAULT_C_VALUES = (1e-4, 1e-3, 5e-3, 1e-2)
"""The exploration coefficients of the Fig. 3 study."""

IMAGE_METHODS = ("dense", "dst-ee", "rigl", "set", "static")
IMAGE_SPARSITIES = (0.9, 0.95, 0.98)
"""The defaults of an image grid (``compare --dataset digits``): Table I's methods and sparsities."""


class RunKey(NamedTuple):
    """One cell-and-seed of a grid: ``(method, sparsity, seed, c)``.

    ``sparsity`` is ``None`` for dense, ``c`` is ``None`` for every method but DST-EE.
    """

    method: str
    sparsity: float | None
    seed: int
    c: float | None


def normalise_sparsity(sparsity: float) -> float:
    """Round to 6 decimals: target sparsities are given with at most a few digits."""
    return round(float(sparsity), 6)


def normalise_c(c: float) -> float:
    """Keep 6 significant digits: ``c`` spans decades (1e-4 .. 1e-2), so decimals won't do."""
    return float(f"{float(c):.6g}")


def make_key(method: str, sparsity: float | None, seed: int, c: float | None) -> RunKey:
    """The normalised key of a run; drops the sparsity of dense and ``c`` of non-DST-EE runs.

    Raises:
        ValueError: a DST-EE key without ``c``, or a sparse key without a sparsity.
    """
    if method == DENSE_METHOD:
        return RunKey(method, None, int(seed), None)
    if sparsity is None:
        raise ValueError(f"RunKey: method {method!r} needs a sparsity")
    if is_knobbed(method):
        if c is None:
            raise ValueError(f"RunKey: method {method!r} needs its knob ({knob_option(method)})")
        return RunKey(method, normalise_sparsity(sparsity), int(seed), normalise_c(c))
    return RunKey(method, normalise_sparsity(sparsity), int(seed), None)


def expected_runs(methods: Iterable[str] = DEFAULT_METHODS, sparsities: Iterable[float] = DEFAULT_SPARSITIES,
                  seeds: Iterable[int] = DEFAULT_SEEDS,
                  c_values: Iterable[float] = DEFAULT_C_VALUES, *,
                  c_sparsities: Iterable[float] | None = None,
                  default_c: float | None = None,
                  variant_knobs: dict[str, Iterable[float]] | None = None) -> list[RunKey]:
    """Every run a grid needs, in a stable order (method, sparsity, c, seed), without repeats.

    ``dense`` contributes one key per seed; ``dst-ee`` one per sparsity x ``c`` x seed;
    every other method one per sparsity x seed.

    The ``c`` sweep can be limited to some sparsities (``c_sparsities``, e.g. only the
    highest, to keep a grid affordable): there DST-EE runs at every ``c`` of ``c_values``
    plus ``default_c``; at the other sparsities only at ``default_c`` (the main DST-EE row).

    Args:
        methods: method names as the runner spells them (default: :data:`DEFAULT_METHODS`).
        sparsities: target sparsities in ``[0, 1)`` (default: :data:`DEFAULT_SPARSITIES`).
        seeds: seeds (default: :data:`DEFAULT_SEEDS`).
        c_values: DST-EE exploration coefficients (default: :data:`DEFAULT_C_VALUES`).
        c_sparsities: sparsities of the ``c`` sweep; ``None`` (default): every sparsity.
        default_c: DST-EE's ``c`` outside the sweep; required with ``c_sparsities``.
        variant_knobs: the knob values of each variant row in ``methods`` (every sparsity).

    Raises:
        ValueError: an empty axis, a sparsity outside ``[0, 1)``, a ``c_sparsities`` entry
            that is not one of ``sparsities``, ``c_sparsities`` without ``default_c``, or a
            variant row without knob values.

    Examples:
        >>> [(k.method, k.sparsity, k.seed) for k in expected_runs(["dense", "rigl"], [0.9], [0, 1], [])]
        [('dense', None, 0), ('dense', None, 1), ('rigl', 0.9, 0), ('rigl', 0.9, 1)]
    """
    methods, sparsities, seeds, c_values = list(methods), list(sparsities), list(seeds), list(c_values)
    for name, axis in (("methods", methods), ("seeds", seeds)):
        if not axis:
            raise ValueError(f"expected_runs: no {name} given")
    sparse = [m for m in methods if m != DENSE_METHOD]
    if sparse and not sparsities:
        raise ValueError(f"expected_runs: methods {sparse} need at least one sparsity")
    if EXPLORATION_METHOD in methods and not c_values:
        raise ValueError(f"expected_runs: method {EXPLORATION_METHOD!r} needs at least one c value")
    bad = [s for s in sparsities if not 0.0 <= float(s) < 1.0]
    if bad:
        raise ValueError(f"expected_runs: sparsities must lie in [0, 1), got {bad}")

    sweep_at = None
    if c_sparsities is not None and EXPLORATION_METHOD in methods:
        if default_c is None:
            raise ValueError("expected_runs: c_sparsities needs default_c (DST-EE's c outside the sweep)")
        sweep_at = {normalise_sparsity(s) for s in c_sparsities}
        outside = sorted(sweep_at - {normalise_sparsity(s) for s in sparsities})
        if outside:
            raise ValueError(f"expected_runs: c_sparsities {outside} are not among the sparsities {sparsities}")

    variant_knobs = {row: list(values) for row, values in (variant_knobs or {}).items()}
    unknobbed = [m for m in methods if m in VARIANT_ROWS and not variant_knobs.get(m)]
    if unknobbed:
        raise ValueError(f"expected_runs: variant rows {unknobbed} need knob values")

    keys: dict[RunKey, None] = {}
    for method in dict.fromkeys(methods):
        if method == DENSE_METHOD:
            combos = [(None, None)]
        elif method in VARIANT_ROWS:
            combos = list(itertools.product(sparsities, variant_knobs[method]))
        elif method == EXPLORATION_METHOD and sweep_at is not None:
            combos = [(s, c) for s in sparsities
                      for c in (sorted({normalise_c(c) for c in [*c_values, default_c]})
                                if normalise_sparsity(s) in sweep_at else [default_c])]
        elif method == EXPLORATION_METHOD:
            combos = list(itertools.product(sparsities, c_values))
        else:
            combos = [(s, None) for s in sparsities]
        for (sparsity, c), seed in itertools.product(combos, seeds):
            keys[make_key(method, sparsity, seed, c)] = None
    return list(keys)


@dataclass(frozen=True)
class Preset:
    """Epoch budgets of a grid, as data for the ``--preset`` option of ``compare``.

    Args:
        name: the preset's name.
        description: one line for ``--help``.
        sparse_epochs: epochs of the dynamic-sparse methods (DST-EE, RigL, SET, static), or
            ``None`` to keep the run configuration's default.
        admm_epochs: ``(pretrain, admm, retrain)`` epochs of the ADMM baseline (their sum
            is the ``epochs`` its results record), or ``None`` for the configured ones.
        dense_epochs: epochs of dense training, or ``None`` to keep the run configuration's
            default (the paper does not state a dense budget).
    """

    name: str
    description: str
    sparse_epochs: int | None
    admm_epochs: tuple[int, int, int] | None
    dense_epochs: int | None

    def epochs_for(self, method: str) -> int | None:
        """Total epochs a run of ``method`` trains under this preset (``None``: as configured)."""
        if method == DENSE_METHOD:
            return self.dense_epochs
        if method in ADMM_ROWS:
            return None if self.admm_epochs is None else sum(self.admm_epochs)
        return self.sparse_epochs


PRESETS: dict[str, Preset] = {
    "quick": Preset("quick", "a few epochs per run, for smoke tests of the whole pipeline",
                    sparse_epochs=3, admm_epochs=(1, 2, 1), dense_epochs=3),
    "medium": Preset("medium", "half the paper's budgets: 25 epochs of sparse training and of dense "
                     "training, ADMM 10/10/10 (for a CPU-only machine)", sparse_epochs=25,
                     admm_epochs=(10, 10, 10), dense_epochs=25),
    "paper": Preset("paper", "the paper's budgets: 50 epochs of sparse training, ADMM 20/20/20, "
                    "dense as configured", sparse_epochs=50, admm_epochs=(20, 20, 20), dense_epochs=None),
}
"""``quick``: 3 epochs (ADMM 1/2/1, the fewest with one ADMM update); ``medium``: half of
``paper``'s budgets; ``paper``: Tables III-IV."""

IMAGE_PRESETS: dict[str, Preset] = {
    "quick": Preset("quick", "one epoch per run (ADMM 1/1/1), for smoke tests", sparse_epochs=1,
                    admm_epochs=(1, 1, 1), dense_epochs=1),
    "medium": Preset("medium", "half the dataset's default epochs (digits: 15; ADMM 5/5/5)", sparse_epochs=15,
                     admm_epochs=(5, 5, 5), dense_epochs=15),
    "paper": Preset("paper", "the dataset's default budgets (digits: 30 epochs, ADMM 10/10/10; CIFAR: 160 "
                    "epochs as Table I)", sparse_epochs=None, admm_epochs=None, dense_epochs=None),
}
"""The presets of an image grid: the link-prediction budgets do not apply to images."""

"""Running a comparison grid: each key of :func:`~gnn_sparse.reports.grid.expected_runs`
becomes a run configuration (:func:`config_for`) and a run name (:func:`run_name`), and
:func:`run_grid` trains the runs that have no results yet through the runner of their task,
recording failures and the session in the grid record (:mod:`~gnn_sparse.reports.manifest`).

* finished runs are reused (the runner skips a run whose results JSON exists), and an
  interrupted run continues from its checkpoint;
* a run that raises is recorded as failed and the grid goes on;
* bad input (a ``ConfigError`` or ``DataError``) stops the grid.
"""
from __future__ import annotations

import sys
import time
from typing import Any, Sequence

from gnn_sparse.reports.grid import (ADMM_METHOD, EXPLORATION_METHOD, Preset, RunKey, knob_option, normalise_c,
                                     row_options, runner_method)
from gnn_sparse.reports.manifest import now, save_manifest


def run_name(config) -> str:
    """The run's name: the runner's default, plus ``-c<c>`` for DST-EE and its ``normalized``
    and ``ucb`` variants, ``-rho<rho>`` for the quota (the default name does not tell the
    knob of a sweep apart)."""
    name = config.run_id()
    if config.sparse.method != EXPLORATION_METHOD:
        return name
    if config.sparse.exploration == "quota":
        return f"{name}-rho{config.sparse.exploration_rho:g}"
    return f"{name}-c{config.sparse.c:g}"


def config_for(key: RunKey, base, preset: Preset):
    """The :class:`~gnn_sparse.training.RunConfig` of one grid run: ``base`` with the key's
    method (the ADMM rows: ``admm`` and their ``admm_optimizer``), sparsity, seed and ``c``
    and the preset's epochs for the method."""
    method = runner_method(key.method)
    changes: dict[str, Any] = {"method": method, "seed": key.seed, **row_options(key.method)}
    if key.sparsity is not None:
        changes["sparsity"] = key.sparsity
    if key.c is not None:
        changes[knob_option(key.method)] = key.c
    epochs = preset.epochs_for(key.method)
    if epochs is not None and method != ADMM_METHOD:  # ADMM's budget is its three phases
        changes["epochs"] = epochs
    if method == ADMM_METHOD and preset.admm_epochs is not None:
        changes.update(zip(("pretrain_epochs", "admm_epochs", "retrain_epochs"), preset.admm_epochs))
    return base.updated(**changes)


def grid_order(keys: Sequence[RunKey], default_c: float | None) -> list[RunKey]:
    """Seed by seed; within a seed the main grid first, the extra ``c`` of the sweep last,
    so that an interrupted grid has whole tables for the seeds it finished."""
    def rank(item):
        index, key = item
        extra = key.method == EXPLORATION_METHOD and default_c is not None and key.c != normalise_c(default_c)
        return key.seed, extra, index
    return [key for _, key in sorted(enumerate(keys), key=rank)]


def _load_dataset(config):
    """The dataset of a run (a hook: tests swap in a tiny graph)."""
    if is_image_config(config):
        from gnn_sparse.vision.runner import load_image_splits

        return load_image_splits(config)
    from gnn_sparse.training.runner import load_run_dataset

    return load_run_dataset(config)


def is_image_dataset(dataset: str) -> bool:
    """Whether ``--dataset`` names an image dataset (digits, CIFAR): the grid then drives the
    image runner (:mod:`gnn_sparse.vision`) with its options and presets."""
    from gnn_sparse.vision.config import IMAGE_DATASETS

    return dataset in IMAGE_DATASETS


def is_image_config(config) -> bool:
    from gnn_sparse.vision.config import ImageRunConfig

    return isinstance(config, ImageRunConfig)


def _train(config, options, data):
    """One run through the runner of its task (looked up at call time, so tests can wrap it)."""
    if is_image_config(config):
        from gnn_sparse.vision import runner as image_runner

        return image_runner.run_image(config, options, splits=data)
    from gnn_sparse.training import run

    return run(config, options, dataset=data)


def run_grid(keys: Sequence[RunKey], base, preset: Preset, *, results_dir: str, force: bool = False,
             quiet: bool = False, manifest: dict[str, Any], dataset: str,
             log=lambda msg: print(msg, file=sys.stderr, flush=True)) -> dict[str, int]:
    """Train the runs of ``keys`` that are not finished, in order; record failures and the
    session in ``manifest`` (saved after every run). Returns ``{"trained", "reused", "failed"}``.

    Raises:
        ConfigError, DataError: bad input; the grid stops (the session is saved first).
        KeyboardInterrupt: likewise.
    """
    from gnn_sparse.training import RunOptions
    from gnn_sparse.training.results import results_path

    session = manifest["sessions"][-1]
    counts = {"trained": 0, "reused": 0, "failed": 0}
    started = time.perf_counter() - float(session.get("elapsed_s") or 0.0)
    cache: dict[int, Any] = {}

    def save():
        session.update(counts, elapsed_s=round(time.perf_counter() - started, 1))
        save_manifest(results_dir, dataset, manifest)

    for i, key in enumerate(keys, 1):
        config = config_for(key, base, preset)
        name = run_name(config)
        where = f"[{i}/{len(keys)}] {name}"
        done = results_path(results_dir, name).exists() and not force
        tick = time.perf_counter()
        try:
            data = None
            if not done:
                if key.seed not in cache:
                    cache.clear()  # keys come seed by seed: keep one dataset in memory
                    cache[key.seed] = _load_dataset(config)
                data = cache[key.seed]
            result = _train(config, RunOptions(results_dir=results_dir, run_name=name, resume=True, force=force,
                                               quiet=quiet), data)
        except (KeyboardInterrupt, ValueError) as err:
            if isinstance(err, ValueError) and not _is_input_error(err):
                _record_failure(manifest, name, key, err, counts, log, where)
                save()
                continue
            save()
            raise
        except Exception as err:  # a run that breaks must not stop the grid
            _record_failure(manifest, name, key, err, counts, log, where)
            save()
            continue
        manifest["failures"].pop(name, None)
        counts["reused" if done else "trained"] += 1
        took = "reused (already finished)" if done else f"trained in {time.perf_counter() - tick:.0f} s"
        accuracy = result.get("test_accuracy")
        log(f"{where}: {took}; test accuracy " + ("none" if accuracy is None else f"{accuracy:.2f}%"))
        save()
    return counts


def _is_input_error(err: ValueError) -> bool:
    from gnn_sparse.data.errors import DataError
    from gnn_sparse.training import ConfigError

    return isinstance(err, (ConfigError, DataError))


def _record_failure(manifest, name, key, err, counts, log, where) -> None:
    message = f"{type(err).__name__}: {err}"
    manifest["failures"][name] = {"method": key.method, "sparsity": key.sparsity, "seed": key.seed, "c": key.c,
                                  "error": message, "at": now()}
    counts["failed"] += 1
    log(f"{where}: FAILED ({' '.join(message.split())}); the grid goes on")

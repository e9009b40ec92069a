"""The life of a run in its results folder, shared by the link-prediction and image runners:
where it goes and what to do with an earlier run (:class:`RunOptions`), one process at a
time per run (:func:`run_lock`), reuse of a finished run or resume from a checkpoint
(:func:`previous_run`, :func:`begin_run`), and a full disk as one line
(:func:`out_of_space_as_error`). The files themselves are :mod:`~gnn_sparse.training.run_files`
and :mod:`~gnn_sparse.training.results`.
"""
from __future__ import annotations

import contextlib
import errno
import os
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

from filelock import FileLock, Timeout
from tqdm.auto import tqdm

from gnn_sparse.training.checkpoint import load_checkpoint
from gnn_sparse.training.config import ConfigError, OutOfSpaceError, config_differences
from gnn_sparse.training.results import checkpoint_path, ensure_indexed, read_results, results_path
from gnn_sparse.training.run_files import remove_stale_temporaries, run_dir, write_run_config
from gnn_sparse.utils.io import CorruptFileError


@dataclass(frozen=True)
class RunOptions:
    """How to run (not what): where results go and what to do with earlier runs.

    Args:
        results_dir: folder of results JSONs, ``index.jsonl`` and ``checkpoints/``.
        run_name: the run's id (default: :meth:`RunConfig.run_id`).
        resume: continue from this run's checkpoint if there is one.
        force: redo a finished run and ignore any checkpoint.
        quiet: no progress bars or notes.
    """

    results_dir: str = "results"
    run_name: str | None = None
    resume: bool = False
    force: bool = False
    quiet: bool = False


def ensure_writable(directory: str | os.PathLike) -> None:
    """Create ``directory`` and check that files can be written there (:class:`ConfigError` if not)."""
    try:
        Path(directory).mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as err:
        raise ConfigError(f"results directory {str(directory)!r} is not writable: "
                          f"{err.strerror or err}") from None


@contextlib.contextmanager
def run_lock(options: RunOptions, run_id: str, dp):
    """Hold ``<results_dir>/<run_id>/.lock`` while the run runs, so that two processes given
    the same run (two ``compare`` grids over one folder, a command started twice) never train
    it side by side: the second waits, then finds it finished and reuses it (or resumes it
    if the first was killed: the lock dies with its process). Under torchrun the ranks of one
    run share the run and do not lock."""
    if dp.world_size > 1:
        with out_of_space_as_error(options.results_dir):
            yield
        return
    ensure_writable(options.results_dir)
    folder = run_dir(options.results_dir, run_id)
    folder.mkdir(parents=True, exist_ok=True)
    lock = FileLock(folder / ".lock")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        _note(options)(f"{run_id}: another process is running it ({lock.lock_file}); waiting for it")
        lock.acquire()
    try:
        with out_of_space_as_error(options.results_dir):
            remove_stale_temporaries(options.results_dir, run_id)
            yield
    finally:
        lock.release()


@contextlib.contextmanager
def out_of_space_as_error(results_dir: str | os.PathLike):
    """A full disk while the run writes becomes :class:`OutOfSpaceError` (one line, exit 2):
    every write is atomic, so the last checkpoint is intact and ``--resume`` continues once
    there is space again."""
    try:
        yield
    except OSError as err:
        if err.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        raise OutOfSpaceError(f"no space left on the device of {str(results_dir)!r} ({err.strerror}); nothing "
                              "written is damaged: free space and rerun with --resume to continue") from None


def _note(options: RunOptions) -> Callable[[str], None]:
    return (lambda msg: None) if options.quiet else (lambda msg: tqdm.write(msg, file=sys.stderr))


def previous_run(options: RunOptions, run_id: str, config) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """What an earlier run with this id left: ``(finished results, None)`` to reuse,
    ``(None, checkpoint)`` to resume, or ``(None, None)`` to start fresh. Checks first that the
    results folder is writable; raises :class:`ConfigError` as :func:`finished_run` and
    :func:`checkpoint_to_resume` do. A corrupt results file is reported on one line (also
    when ``quiet``) and the run is redone from its checkpoint (it holds every epoch, so
    nothing is trained again) or from scratch."""
    ensure_writable(options.results_dir)
    note = _note(options)
    try:
        done = finished_run(options, run_id, config)
    except CorruptFileError as err:
        tqdm.write(f"warning: {err}; redoing run {run_id!r} from its checkpoint if it has one", file=sys.stderr)
        done, options = None, replace(options, resume=True)
    if done is not None:
        note(f"{run_id}: already finished ({results_path(options.results_dir, run_id)}); pass --force to redo")
        return done, None
    return None, checkpoint_to_resume(options, run_id, config, note)


def begin_run(options: RunOptions, run_id: str, config, dp, task: str
              ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """:func:`previous_run`, and what the writing rank does with its answer: a finished run
    gets its ``index.jsonl`` line if a kill lost it, any other run its ``config.json``. Shared
    by the link-prediction and image runners (``task`` names the runner in ``config.json``)."""
    done, ckpt = previous_run(options, run_id, config)
    if done is not None:
        dp.on_writer(lambda: ensure_indexed(options.results_dir, done))
    else:
        dp.on_writer(lambda: write_run_config(options.results_dir, run_id, task, config.to_dict(),
                                              None if ckpt is None else len(ckpt["history"])))
    return done, ckpt


def finished_run(options: RunOptions, run_id: str, config) -> dict[str, Any] | None:
    """The results of the finished run ``run_id`` (``None``: none, or ``force``).

    Raises:
        CorruptFileError: its results file is not valid JSON or does not match its checksum.
        ConfigError: it was run with a different config.
    """
    path = results_path(options.results_dir, run_id)
    if options.force or not path.exists():
        return None
    results = read_results(path)
    diffs = config_differences(results["config"], config)
    if diffs:
        raise ConfigError(f"{path} holds run {run_id!r} with a different config ({'; '.join(diffs)}); "
                          "pass --force to overwrite it or --run-name to keep both")
    return results


def checkpoint_to_resume(options: RunOptions, run_id: str, config, note) -> dict[str, Any] | None:
    path = checkpoint_path(options.results_dir, run_id)
    if options.force or not path.exists():
        if options.resume and not options.force:
            note(f"{run_id}: no checkpoint at {path}; starting from scratch")
        return None
    if not options.resume:
        raise ConfigError(f"{path} holds an unfinished run {run_id!r}: pass --resume to continue it "
                          "or --force to start over")
    try:
        ckpt = load_checkpoint(path)
    except CorruptFileError as err:  # truncated or altered: refuse it, naming the file and the way out
        raise ConfigError(f"cannot resume {run_id!r}: {err}; pass --force to start over") from None
    except Exception as err:  # a foreign file: say which and why, no traceback
        raise ConfigError(f"cannot resume from {path}: {err}") from None
    diffs = config_differences(ckpt["config"], config)
    if diffs:
        raise ConfigError(f"cannot resume {run_id!r}: the checkpoint {path} has a different config: "
                          f"{'; '.join(diffs)}")
    note(f"{run_id}: resuming after epoch {len(ckpt['history'])} from {path}")
    return ckpt

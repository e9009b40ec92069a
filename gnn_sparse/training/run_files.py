"""The files a run writes while it runs, so that a long run can be watched and plotted.

Layout under the results folder (the same for the link-prediction and image runners)::

    <results_dir>/<run_id>/config.json      at the start: run id, task, command, config, resume point
    <results_dir>/<run_id>/metrics.jsonl    one JSON object per finished epoch, appended and flushed
    <results_dir>/checkpoints/<run_id>.pt   the checkpoint of the last finished epoch
    <results_dir>/<run_id>.json             the results, when the run ends
    <results_dir>/index.jsonl               one line per finished run
    <results_dir>/<run_id>/.lock            held while a process runs it (one process per run)

``config.json`` is written atomically. ``metrics.jsonl`` never holds an epoch twice: a fresh
run starts it empty, and a resumed run rewrites it (atomically) from the checkpoint's epoch
history before appending, so epochs trained after the checkpoint by the killed run are
dropped exactly as their training is redone. Only the writing process (rank 0) writes.
"""
from __future__ import annotations

import json
import os
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

from gnn_sparse.utils.io import _json_default, atomic_write, atomic_write_json

CONFIG_NAME = "config.json"
METRICS_NAME = "metrics.jsonl"


def run_dir(results_dir: str | os.PathLike, run_id: str) -> Path:
    """``<results_dir>/<run_id>/``: the files of a run in progress."""
    return Path(results_dir) / run_id


def metrics_path(results_dir: str | os.PathLike, run_id: str) -> Path:
    return run_dir(results_dir, run_id) / METRICS_NAME


def write_run_config(results_dir: str | os.PathLike, run_id: str, task: str, config: dict[str, Any],
                     resumed_from_epoch: int | None) -> Path:
    """Write ``<run_id>/config.json`` atomically (at the start of every run, resumed ones too)."""
    path = run_dir(results_dir, run_id) / CONFIG_NAME
    atomic_write_json(path, {
        "run_id": run_id, "task": task,
        "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "resumed_from_epoch": resumed_from_epoch, "command": list(sys.argv),
        "results": f"{run_id}.json", "checkpoint": f"checkpoints/{run_id}.pt", "metrics": METRICS_NAME,
        "config": config,
    })
    return path


def _line(record: dict[str, Any]) -> str:
    return json.dumps(record, default=_json_default) + "\n"


def start_metrics(path: str | os.PathLike, history: Iterable[dict[str, Any]]) -> None:
    """(Re)write ``metrics.jsonl`` with the epochs already done (none on a fresh run)."""
    with atomic_write(path, "w", encoding="utf-8") as f:
        f.writelines(_line(r) for r in history)


def append_metrics(path: str | os.PathLike, record: dict[str, Any]) -> None:
    """Append one epoch and flush it to disk, so a reader sees it at once. A failed append
    (a full disk) is cut back off, so the file never ends in half a line."""
    with open(path, "a", encoding="utf-8") as f:
        size = f.tell()
        try:
            f.write(_line(record))
            f.flush()
            os.fsync(f.fileno())
        except OSError:
            f.truncate(size)
            raise


def remove_stale_temporaries(results_dir: str | os.PathLike, run_id: str) -> list[Path]:
    """Delete the temporary files that a killed process of run ``run_id`` left (an atomic
    write's ``.<name>.<random>.tmp`` of its results, checkpoint, config and metrics); return
    them. Call it holding the run's lock, so that no live writer owns them."""
    folder = Path(results_dir)
    patterns = [(folder, f".{run_id}.json.*.tmp"), (folder / "checkpoints", f".{run_id}.pt.*.tmp"),
                (run_dir(folder, run_id), ".*.tmp")]
    stale = [p for where, pattern in patterns for p in where.glob(pattern)]
    for p in stale:
        p.unlink(missing_ok=True)
    return stale

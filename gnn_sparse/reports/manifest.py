"""The grid record of a results folder: ``<results-dir>/compare/<dataset>.json`` keeps the
grid ``compare`` was asked for, the runs that failed and every ``compare`` session (command,
start, elapsed time), so that ``report`` rebuilds the same report, with the total wall time,
from the results alone. Two grids over one folder merge their records under a lock.
"""
from __future__ import annotations

import json
import re
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from filelock import FileLock

from gnn_sparse.reports.grid import RunKey, make_key
from gnn_sparse.utils.io import atomic_write_json

PROG = "run_link_prediction.py"
"""The program the grid's commands are recorded under (the wrapper a checkout runs)."""
MANIFEST_DIR = "compare"


def manifest_path(results_dir: str | Path, dataset: str) -> Path:
    """``<results_dir>/compare/<dataset>.json``: the grid, its failures and sessions."""
    return Path(results_dir) / MANIFEST_DIR / f"{safe_name(dataset)}.json"


def load_manifest(results_dir: str | Path, dataset: str) -> dict[str, Any]:
    """The grid record of ``dataset`` (an empty record when there is none or it is unreadable)."""
    path = manifest_path(results_dir, dataset)
    try:
        with open(path, encoding="utf-8") as f:
            manifest = json.load(f)
        if isinstance(manifest, dict):
            manifest.setdefault("failures", {})
            manifest.setdefault("sessions", [])
            return manifest
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as err:
        print(f"{PROG}: note: ignoring unreadable grid record {path}: {err}", file=sys.stderr)
    return {"dataset": dataset, "grid": None, "failures": {}, "sessions": []}


def save_manifest(results_dir: str | Path, dataset: str, manifest: dict[str, Any]) -> dict[str, Any]:
    """Write the grid record, merged with the one on disk under a lock (``.<dataset>.json.lock``),
    so that two ``compare`` grids over one folder keep each other's sessions and failures
    (a failure is dropped once its run has a results file); returns what was written."""
    from gnn_sparse.training.results import results_path

    path = manifest_path(results_dir, dataset)
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(path.with_name(f".{path.name}.lock")):
        for stale in path.parent.glob(f".{path.name}.*.tmp"):  # left by a killed writer (we hold the lock)
            stale.unlink(missing_ok=True)
        disk = load_manifest(results_dir, dataset)
        ours = {_session_key(s) for s in manifest["sessions"]}
        sessions = sorted([s for s in disk["sessions"] if _session_key(s) not in ours] + manifest["sessions"],
                          key=lambda s: str(s.get("started", "")))
        failures = {name: f for name, f in {**disk["failures"], **manifest["failures"]}.items()
                    if name in manifest["failures"] or not results_path(results_dir, name).exists()}
        merged = {**manifest, "sessions": sessions, "failures": failures}
        atomic_write_json(path, merged)
    return merged


def _session_key(session: dict[str, Any]) -> str:
    return session.get("id") or json.dumps(session, sort_keys=True)


def manifest_failures(manifest: dict[str, Any]) -> dict[RunKey, str]:
    """``{key: error}`` of the failures recorded in a grid record."""
    out = {}
    for record in manifest.get("failures", {}).values():
        try:
            out[make_key(record["method"], record["sparsity"], record["seed"], record["c"])] = record["error"]
        except (KeyError, TypeError, ValueError):
            continue
    return out


def safe_name(dataset: str) -> str:
    """A dataset name or file path as one folder or file name (its file name, other
    characters than letters, digits, ``_``, ``.`` and ``-`` replaced by ``_``)."""
    name = Path(dataset).name if ("/" in dataset or Path(dataset).suffix) else dataset
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name) or "dataset"


def now() -> str:
    """The current UTC time in ISO format, to the second (sessions and failures)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")

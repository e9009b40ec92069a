"""The results JSON of a run (a public contract), the runs index and the summary table."""
from __future__ import annotations

import hashlib
import json
import os
import platform
import statistics
import warnings
from pathlib import Path
from typing import Any, Iterable, Sequence

from filelock import FileLock

from gnn_sparse.training.metrics import RANKING_METRICS
from gnn_sparse.utils.io import CorruptFileError, _json_default, atomic_write, atomic_write_json
from gnn_sparse.utils.revision import source_revision

LOADED_REVISION = source_revision()
"""The checkout's revision when this module was imported: the code this process runs. Read at
the end of a run instead, it would name whatever the checkout holds by then (a commit made
during an hour-long run, a ``git pull`` in a long-lived notebook)."""

REQUIRED_KEYS = (
    "method", "dataset", "sparsity", "seed", "epochs", "best_epoch", "test_accuracy", "test_auc",
    "test_ap", "val_accuracy", "best_test_accuracy", "layer_sparsity", "exploration_rate",
    "wall_time_s", "device", "config",
)
"""Top-level keys every results file has (scripts and reports rely on them)."""

RANKING_KEYS = {f"{split}_{metric}": (split, metric) for split in ("val", "test") for metric in RANKING_METRICS}
"""Link prediction's ranking metrics at the selected epoch, each results key (``val_mrr``,
``val_hits@1``, ..., ``test_hits@10``) with where the epoch record holds it: in every
link-prediction results file, ``None`` when the run ranked nothing (``ranking_negatives`` 0)
or the epoch has no ranking. Not required: a file written before them has none of these keys
(readers use ``.get``)."""

CHECKSUM_KEY = "content_sha256"
"""Key of a results file's checksum and of an index line's: the sha256 of the rest of the
object as canonical JSON, so that a byte changed on disk is caught, not reported as a
result (:func:`read_results`, :func:`read_index`)."""

INDEX_NAME = "index.jsonl"
INDEX_KEYS = ("run_id", "file", "method", "dataset", "sparsity", "seed", "best_epoch", "val_accuracy",
              "test_accuracy", "test_auc", "test_ap", "test_mrr", "best_test_accuracy", "exploration_rate",
              "wall_time_s", "device", "finished_at")


SELECTION_SPLITS = ("val", "test")


def select_best(history: Sequence[dict[str, Any]], on: str = "val") -> dict[str, Any]:
    """The epoch record with the highest accuracy on split ``on`` (ties: higher AUC on that
    split, then the earlier epoch) among epochs of selectable phases. ``on="val"`` is
    model selection; ``on="test"`` is the original code's selection (``protocol="original"``),
    which reports an optimistic number."""
    if on not in SELECTION_SPLITS:
        raise ValueError(f"select_best: on must be one of {', '.join(SELECTION_SPLITS)}, got {on!r}")
    candidates = [r for r in history if r["selectable"]]
    if not candidates:
        raise ValueError("no epoch of a selectable phase was trained")

    def key(r):
        auc = r[on]["auc"]
        return (r[on]["accuracy"], float("-inf") if auc is None else auc)

    best = candidates[0]
    for record in candidates[1:]:
        if key(record) > key(best):
            best = record
    return best


def _installed_version(distribution: str) -> str | None:
    """The installed version of ``distribution``, ``None`` when it is not installed (the
    image runner runs without the graph extra), read without importing it."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def library_versions() -> dict[str, str]:
    import numpy
    import sklearn
    import torch

    import gnn_sparse

    return {"python": platform.python_version(), "torch": torch.__version__,
            "torch_geometric": _installed_version("torch-geometric"), "numpy": numpy.__version__,
            "scikit-learn": sklearn.__version__, "gnn_sparse": gnn_sparse.__version__,
            "gnn_sparse_revision": LOADED_REVISION, "cuda": torch.version.cuda}


def build_results(*, run_id: str, config: dict[str, Any], method_name: str, target_sparsity: float,
                  dataset: dict[str, Any], history: list[dict[str, Any]], layer_sparsity: dict[str, float],
                  method_report: dict[str, Any], wall_time_s: float, device: str,
                  extra: dict[str, Any], selection: str = "val", ranking: bool = False) -> dict[str, Any]:
    """Assemble the results dict: the required keys first, then details.

    ``best_epoch`` and its metrics (``test_accuracy``, ``val_accuracy``, ...) are those of
    the best epoch chosen on ``selection`` (:func:`select_best`; ``"val"``, or ``"test"``
    under the original protocol), recorded as ``selection``; ``best_test_accuracy`` is the
    highest test accuracy of any selectable epoch, the number the original code reported
    (it selected on test), whatever ``selection`` is. ``ranking`` (link prediction): add
    :data:`RANKING_KEYS` from that epoch's ``val`` and ``test`` records.
    """
    best = select_best(history, selection)
    best_test = max((r for r in history if r["selectable"]), key=lambda r: r["test"]["accuracy"])
    results = {
        "method": method_name,
        "dataset": dataset["name"],
        "sparsity": target_sparsity,
        "seed": config["seed"],
        "epochs": len(history),
        "best_epoch": best["epoch"],
        "test_accuracy": best["test"]["accuracy"],
        "test_auc": best["test"]["auc"],
        "test_ap": best["test"]["ap"],
        "val_accuracy": best["val"]["accuracy"],
        "best_test_accuracy": best_test["test"]["accuracy"],
        "layer_sparsity": layer_sparsity,
        "exploration_rate": method_report["exploration_rate"],
        "wall_time_s": wall_time_s,
        "device": device,
        "config": config,
        "run_id": run_id,
        "val_auc": best["val"]["auc"],
        "val_ap": best["val"]["ap"],
        **({key: best[split].get(metric) for key, (split, metric) in RANKING_KEYS.items()} if ranking else {}),
        "best_test_epoch": best_test["epoch"],
        "selection": selection,
        "dataset_info": dataset,
        **{k: v for k, v in method_report.items() if k != "exploration_rate"},
        "epoch_time_s": [r["time_s"] for r in history],
        "history": history,
        "versions": library_versions(),
        **extra,
    }
    missing = [k for k in REQUIRED_KEYS if k not in results]
    assert not missing, f"results lack required keys {missing}"
    return results


def results_path(results_dir: str | os.PathLike, run_id: str) -> Path:
    return Path(results_dir) / f"{run_id}.json"


def checkpoint_path(results_dir: str | os.PathLike, run_id: str) -> Path:
    return Path(results_dir) / "checkpoints" / f"{run_id}.pt"


def json_sha256(obj: dict[str, Any]) -> str:
    """sha256 of ``obj`` without :data:`CHECKSUM_KEY`, as sorted-key JSON (stable through a
    write and read: floats print exactly, tuples become lists either way)."""
    rest = {k: v for k, v in obj.items() if k != CHECKSUM_KEY}
    return hashlib.sha256(json.dumps(rest, sort_keys=True, default=_json_default).encode()).hexdigest()


def write_results(results_dir: str | os.PathLike, results: dict[str, Any]) -> Path:
    """Write ``<results_dir>/<run_id>.json`` atomically, with its checksum, and update the
    index; return the path."""
    path = results_path(results_dir, results["run_id"])
    atomic_write_json(path, {**results, CHECKSUM_KEY: json_sha256(results)})
    update_index(results_dir, results, path.name)
    return path


def read_results(path: str | os.PathLike) -> dict[str, Any]:
    """A results file, checked: valid JSON, an object, and equal to its checksum when it has
    one (files written before checksums have none and are read as they are).

    Raises:
        CorruptFileError: one line naming the file and the problem.
    """
    try:
        with open(path, encoding="utf-8") as f:
            results = json.load(f)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CorruptFileError(f"results file {path} is corrupt ({type(err).__name__}: {err})") from None
    if not isinstance(results, dict):
        raise CorruptFileError(f"results file {path} is corrupt (not a JSON object)")
    if CHECKSUM_KEY in results and results[CHECKSUM_KEY] != json_sha256(results):
        raise CorruptFileError(f"results file {path} is corrupt (its content does not match its checksum)")
    results.pop(CHECKSUM_KEY, None)
    return results


def read_index(results_dir: str | os.PathLike) -> list[dict[str, Any]]:
    """The rows of ``index.jsonl``. The index only repeats the results files, so a torn or
    altered line is reported (one warning naming the file and line) and the rows are rebuilt
    from the results files instead (:func:`index_from_results`)."""
    path = Path(results_dir) / INDEX_NAME
    if not path.exists():
        return []
    rows = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            problem = _index_line_problem(line)
            if problem is not None:
                warnings.warn(f"{path}:{number}: {problem}; rebuilding the index from the results files",
                              RuntimeWarning, stacklevel=2)
                return index_from_results(results_dir)
            row = json.loads(line)
            row.pop(CHECKSUM_KEY, None)
            rows.append(row)
    return rows


def _index_line_problem(line: str) -> str | None:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as err:
        return f"not JSON ({err.msg})"
    if not isinstance(row, dict) or not isinstance(row.get("run_id"), str):
        return "not an index row"
    if CHECKSUM_KEY in row and row[CHECKSUM_KEY] != json_sha256(row):
        return "the line does not match its checksum"
    return None


def index_from_results(results_dir: str | os.PathLike) -> list[dict[str, Any]]:
    """One index row per readable results file of ``results_dir``, oldest first."""
    rows = []
    for path in sorted(Path(results_dir).glob("*.json"), key=lambda p: (p.stat().st_mtime, p.name)):
        try:
            results = read_results(path)
        except (OSError, CorruptFileError) as err:
            warnings.warn(f"{err}; left out of the index", RuntimeWarning, stacklevel=2)
            continue
        if isinstance(results.get("run_id"), str) and "method" in results:
            rows.append(_index_entry(results, path.name))
    return rows


def _index_entry(results: dict[str, Any], file: str) -> dict[str, Any]:
    entry = {k: results.get(k) for k in INDEX_KEYS}
    entry["file"] = file
    return entry


def ensure_indexed(results_dir: str | os.PathLike, results: dict[str, Any]) -> None:
    """Add the line of a finished run that ``index.jsonl`` lacks (its writer was killed
    between the results file and the index), so that reusing the run completes it."""
    if not any(r.get("run_id") == results["run_id"] for r in read_index(results_dir)):
        update_index(results_dir, results, results_path(results_dir, results["run_id"]).name)


def update_index(results_dir: str | os.PathLike, results: dict[str, Any], file: str) -> None:
    """``index.jsonl``: one line per run (a re-run replaces its line), each with its checksum,
    rewritten atomically.

    The read-replace-write runs under a lock file (``.index.jsonl.lock``), so runs started
    side by side in one results folder do not drop each other's lines; the temporary files
    of writers killed before their rename are deleted there.
    """
    entry = _index_entry(results, file)
    index = Path(results_dir) / INDEX_NAME
    index.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(index.with_name(f".{INDEX_NAME}.lock")):
        for stale in index.parent.glob(f".{INDEX_NAME}.*.tmp"):  # left by a killed writer (we hold the lock)
            stale.unlink(missing_ok=True)
        rows = [r for r in read_index(results_dir) if r.get("run_id") != results["run_id"]] + [entry]
        with atomic_write(index, "w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps({**row, CHECKSUM_KEY: json_sha256(row)}) + "\n")


def _fmt(values: Iterable[float | None], digits: int = 2) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def summary_table(runs: Sequence[dict[str, Any]]) -> str:
    """A plain-text table: one row per run, plus a mean ± std row per (dataset, method,
    sparsity) group that has several seeds."""
    header = ("run", "seed", "best ep", "val acc %", "test acc %", "test AUC", "test AP", "test MRR",
              "best test acc %", "R", "time s")
    columns = (("val_accuracy", 2), ("test_accuracy", 2), ("test_auc", 4), ("test_ap", 4), ("test_mrr", 4),
               ("best_test_accuracy", 2), ("exploration_rate", 3), ("wall_time_s", 1))
    rows = []
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for r in runs:  # a key the run lacks (test_mrr of older or image runs) shows as "-"
        rows.append((r["run_id"], str(r["seed"]), str(r["best_epoch"]), *(_fmt([r.get(k)], d) for k, d in columns)))
        groups.setdefault((r["dataset"], r["method"], r["sparsity"]), []).append(r)
    for (dataset, method, sparsity), members in groups.items():
        if len(members) > 1:
            rows.append((f"{dataset} {method} s={sparsity:g} (mean ± std)", f"n={len(members)}", "-",
                         *(_fmt([m.get(k) for m in members], d) for k, d in columns)))
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])

"""Processed-split cache: ``<data root>/processed/<name>-<raw sha256>-<params hash>.pt``.

Why: parsing and splitting wiki-talk takes seconds to minutes; a training sweep loads the
same splits hundreds of times. The key is the raw file's sha256 (a changed file is a new
entry, never a stale hit) and a hash of every parameter that changes the output. Files are
written with :func:`gnn_sparse.utils.io.atomic_torch_save` (a crash never leaves half a
file, and a content checksum inside it) and read with
:func:`~gnn_sparse.utils.io.checked_torch_load` (``weights_only=True``: no code execution;
the checksum: a flipped byte in an array is not silently used). A file that does not load,
does not match its checksum, or whose metadata or arrays do not match what is expected, is
reported with a warning and rebuilt.
"""
from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path

import numpy as np
import torch

from gnn_sparse.utils.io import CorruptFileError, atomic_torch_save, checked_torch_load

FORMAT_VERSION = 3
"""Bumped whenever the stored arrays change, so older entries are rebuilt (2: the
time-sorted events and each split's event indices, for :meth:`TemporalLinkDataset.events`;
3: ``time_column``, the file's column read as time)."""
EVENT_KEYS = ("event_src", "event_dst", "event_time")
ARRAY_KEYS = ("forbidden", "train_edge_index", "test_edge_index") + EVENT_KEYS + tuple(
    f"{s}_{k}" for s in ("train", "val", "test") for k in ("pos", "neg", "time_range", "events")
)


def cache_path(root: str | os.PathLike, name: str, sha256: str, params: dict) -> Path:
    """Where the splits of raw file ``sha256`` under ``params`` are cached."""
    blob = json.dumps({"format": FORMAT_VERSION, **params}, sort_keys=True)
    key = hashlib.sha256(blob.encode()).hexdigest()[:16]
    return Path(root) / "processed" / f"{name}-{sha256[:16]}-{key}.pt"


def save_splits(path: Path, meta: dict, num_nodes: int, num_events: int, arrays: dict[str, np.ndarray],
                time_column: int | None = None) -> None:
    """Atomically write the arrays of :func:`~gnn_sparse.data.dataset.build_splits` to ``path``.

    ``meta`` (JSON-like: raw sha256 and parameters) is stored and compared on load;
    ``time_column`` is the file's 1-based column read as time (``None``: the file order).
    """
    tensors = {k: torch.from_numpy(np.ascontiguousarray(arrays[k])) for k in ARRAY_KEYS}
    blob = {"format": FORMAT_VERSION, "meta": meta, "num_nodes": num_nodes, "num_events": num_events,
            "time_column": time_column, "arrays": tensors}
    atomic_torch_save(blob, path)


def load_splits(path: Path, meta: dict) -> dict | None:
    """The cached entry (``num_nodes``, ``num_events``, ``time_column``, ``arrays``) if ``path``
    is valid for ``meta``.

    Returns ``None`` silently when there is no file, and with a warning when the file is
    corrupt or inconsistent (the caller rebuilds and overwrites it).
    """
    if not path.is_file():
        return None
    try:
        blob = checked_torch_load(path, weights_only=True)
        problem = _check(blob, meta)
    except CorruptFileError as e:
        problem = str(e).removeprefix(f"{path}: ")
    if problem is None:
        return blob
    warnings.warn(f"processed cache {path} is corrupt ({problem}); rebuilding it", RuntimeWarning, stacklevel=3)
    return None


def _check(blob, meta: dict) -> str | None:
    """What is wrong with a loaded cache entry, or ``None``."""
    if not isinstance(blob, dict) or blob.get("format") != FORMAT_VERSION:
        return "unknown format"
    if blob.get("meta") != meta:
        return "metadata does not match the raw file and parameters"
    n = blob.get("num_nodes")
    if not isinstance(n, int) or not isinstance(blob.get("num_events"), int):
        return "missing counts"
    if "time_column" not in blob or not isinstance(blob["time_column"], (int, type(None))):
        return "missing time column"
    arrays = blob.get("arrays")
    if not isinstance(arrays, dict) or any(not isinstance(arrays.get(k), torch.Tensor) for k in ARRAY_KEYS):
        return "missing arrays"
    for k in ARRAY_KEYS:
        a = arrays[k]
        if k.endswith(("_pos", "_neg", "_edge_index")) and (
            a.dim() != 2 or a.shape[0] != 2 or (a.numel() and not (0 <= int(a.min()) and int(a.max()) < n))
        ):
            return f"array {k} has shape {tuple(a.shape)} or node ids outside [0, {n})"
    e = blob["num_events"]
    for k in EVENT_KEYS:
        a = arrays[k]
        ids_ok = k == "event_time" or not e or (0 <= int(a.min()) and int(a.max()) < n)
        if a.dim() != 1 or a.numel() != e or not ids_ok:
            return f"array {k} has shape {tuple(a.shape)} (expected [{e}]) or node ids outside [0, {n})"
    for s in ("train", "val", "test"):
        a = arrays[f"{s}_events"]
        if a.dim() != 1 or a.numel() != arrays[f"{s}_pos"].shape[1] or (
            a.numel() and not (0 <= int(a.min()) and int(a.max()) < e)
        ):
            return f"array {s}_events has shape {tuple(a.shape)} or event indices outside [0, {e})"
    return None

"""``load_dataset``: the one entry point from a name or a file to split, labelled tensors."""
from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from gnn_sparse.data.cache import cache_path, load_splits, save_splits
from gnn_sparse.data.dataset import TemporalLinkDataset, build_splits
from gnn_sparse.data.errors import (
    ConstantTimeWarning,
    CountMismatchError,
    DataFileNotFoundError,
    UnknownDatasetError,
)
from gnn_sparse.data.parse import EdgeList, check_edge_file, read_edge_list
from gnn_sparse.data.registry import (
    SYNTHETIC,
    TWIN,
    DatasetSpec,
    data_root,
    known_names,
    load_manifest,
    resolve_file,
)
from gnn_sparse.data.split import SPLITS, check_ratios
from gnn_sparse.data.synthetic import SyntheticConfig, generate_synthetic
from gnn_sparse.data.twin import TwinConfig, generate_twin
from gnn_sparse.utils.io import sha256_file
from gnn_sparse.utils.progress import stage

_COMPRESSED = (".gz", ".bz2", ".zip")


def load_dataset(
    name: str | os.PathLike,
    *,
    path: str | os.PathLike | None = None,
    columns: str | Sequence[str] | None = None,
    split: str = "chronological",
    val_ratio: float = 0.2,
    test_ratio: float = 0.2,
    neg_ratio: float = 1.0,
    seed: int = 0,
    directed: bool = False,
    root: str | os.PathLike | None = None,
    cache: bool = True,
    download: bool = True,
    progress: bool = False,
    **generator_params,
) -> TemporalLinkDataset:
    """Load a temporal graph and split it for link prediction.

    Args:
        name: a registry name (``ia-email``, ``wiki-talk``, ``email-eu``, ``college-msg``,
            ``mathoverflow``, ``enron-employees``, ``bitcoin-otc``, ``synthetic``,
            ``wiki-talk-twin``; see
            :func:`~gnn_sparse.data.registry.known_names`) or the path of any edge-list file
            (format rules in :mod:`gnn_sparse.data.parse`).
        path: explicit file for ``name`` (first in the lookup order; then
            ``<root>/raw/``, the shared folder, a download). With a name that is not
            registered, ``name`` just labels the file.
        columns: column roles, e.g. ``"src,dst,weight,time"`` (default: the registry's
            layout; for other files ``src,dst`` plus the last column as time when there are 3+).
        split: ``"chronological"`` (oldest / next / newest events; default) or
            ``"original"`` (the original, leaky protocol; see :func:`~gnn_sparse.data.split.original_split`).
        val_ratio: fraction of events for validation (default: ``0.2``).
        test_ratio: fraction of events for test (default: ``0.2``).
        neg_ratio: negatives per positive (default: ``1.0``).
        seed: seed of the split, the negatives and (for ``synthetic``) the graph (default: ``0``;
            ``wiki-talk-twin`` has its own ``graph_seed``).
        directed: keep edge direction in message passing and in the forbidden-negative set;
            by default (``False``) message-passing edges are symmetrised and deduplicated,
            and a negative is never an edge in either direction.
        root: data root for downloads (``raw/``) and processed splits (``processed/``)
            (default: ``$GNN_SPARSE_DATA``, else the user's cache folder, ``~/.cache/gnn-sparse``;
            :func:`~gnn_sparse.data.registry.data_root`).
        cache: reuse / write processed splits under ``<root>/processed`` (default: ``True``;
            ``synthetic`` is regenerated, never cached; ``wiki-talk-twin`` is generated once
            and cached like a file's splits).
        download: allow downloading a registered file that is not found locally (default: ``True``).
        progress: a note on stderr when each stage (hashing, parsing, splitting, reading the
            cache) starts and ends (default: ``False``).
        **generator_params: only for ``synthetic``: fields of
            :class:`~gnn_sparse.data.synthetic.SyntheticConfig` (``num_nodes``, ``num_events``, ...);
            only for ``wiki-talk-twin``: fields of :class:`~gnn_sparse.data.twin.TwinConfig`
            (``scale``, ``graph_seed``, ...).

    Returns:
        :class:`~gnn_sparse.data.dataset.TemporalLinkDataset` with ``train``/``val``/``test``.

    Raises:
        UnknownDatasetError: ``name`` is neither registered nor an existing file.
        DataFileNotFoundError: a given file is missing, or a registered one is not local and
            ``download=False``.
        DownloadError: the download failed (the message says what to fetch and where to put it).
        EdgeListFormatError: the file cannot be parsed (message names file and line).

    Warns:
        ConstantTimeWarning: the column read as time holds one value on every line (for
            example the weight of a ``src dst time weight`` file read with the default
            roles): the chronological split would follow the file order. The column used
            is recorded as ``ds.time_column``.
        CountMismatchError: a registered graph does not have its published counts.
        SplitError: too few events for the split, or no negatives can be drawn.
        ValueError: invalid arguments.

    Example:
        >>> ds = load_dataset("synthetic", num_nodes=100, num_events=2000)
        >>> ds.num_nodes, ds.num_events, ds.train.edge_label_index.shape
        (100, 2000, torch.Size([2, 2400]))
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {SPLITS}")
    check_ratios(val_ratio, test_ratio)
    if not neg_ratio > 0:
        raise ValueError(f"neg_ratio must be > 0, got {neg_ratio}")
    options = dict(split=split, val_ratio=val_ratio, test_ratio=test_ratio, neg_ratio=neg_ratio,
                   seed=seed, directed=directed)
    name = os.fspath(name)

    if name == SYNTHETIC:
        if path is not None or columns is not None:
            raise ValueError("'synthetic' is generated: it takes no path= or columns=")
        config = SyntheticConfig(seed=seed, **generator_params)
        with stage(f"synthetic: generating {config.num_events:,} events", progress):
            edges = generate_synthetic(config)
        with stage(f"synthetic: splitting {edges.num_events:,} events, drawing negatives", progress):
            arrays = build_splits(edges, **options)
        return _dataset(SYNTHETIC, config.fingerprint(), None, edges.num_nodes, edges.num_events, arrays, options)
    if name == TWIN:
        if path is not None or columns is not None:
            raise ValueError(f"{TWIN!r} is generated: it takes no path= or columns=")
        return _twin(TwinConfig(**generator_params), options, root, cache, progress)
    if generator_params:
        raise ValueError(f"keyword argument(s) {sorted(generator_params)} are only accepted for "
                         f"{SYNTHETIC!r} and {TWIN!r}")

    spec, file, label = _locate(name, path, root, download)
    columns = columns if columns is not None else spec.columns if spec is not None else None
    if isinstance(columns, (list, tuple)):
        columns = ",".join(columns)
    check_edge_file(file)  # an empty, binary or sparse file fails here, not after hashing gigabytes
    with stage(f"{label}: hashing {file}", progress):
        sha256 = sha256_file(file)
    meta = {"sha256": sha256, "columns": columns, **options}
    where = cache_path(data_root(root), label, sha256, meta) if cache else None
    with stage(f"{label}: reading processed splits {where}", progress and where is not None and where.exists()):
        cached = load_splits(where, meta) if where is not None else None
    if cached is not None:
        _check_counts(spec, file, cached["num_nodes"], cached["num_events"])
        _warn_constant_time(file, columns, cached["time_column"], cached["arrays"]["event_time"].numpy())
        return _dataset(label, sha256, file, cached["num_nodes"], cached["num_events"], cached["arrays"], options,
                        cached["time_column"])

    with stage(f"{label}: parsing {file}", progress):
        edges: EdgeList = read_edge_list(file, columns)
    _check_counts(spec, file, edges.num_nodes, edges.num_events)
    _warn_constant_time(file, columns, edges.time_column, edges.time)
    with stage(f"{label}: splitting {edges.num_events:,} events, drawing negatives", progress):
        arrays = build_splits(edges, **options)
    if where is not None:
        save_splits(where, meta, edges.num_nodes, edges.num_events, arrays, edges.time_column)
    return _dataset(label, sha256, file, edges.num_nodes, edges.num_events, arrays, options, edges.time_column)


def data_fingerprint(name: str | os.PathLike, *, path: str | os.PathLike | None = None, seed: int = 0,
                     root: str | os.PathLike | None = None, **generator_params) -> str | None:
    """The ``sha256`` :func:`load_dataset` would give the dataset of these arguments, without
    parsing or generating it: a local file's sha256, a generated graph's fingerprint; ``None``
    for a file that is not local (it would be downloaded: nothing to compare yet).

    What a finished run is compared with before it is reused: its name and config name the
    dataset, not the data (an edited file, a generated graph at another size)."""
    name = os.fspath(name)
    if name == SYNTHETIC:
        return SyntheticConfig(seed=seed, **generator_params).fingerprint()
    if name == TWIN:
        return TwinConfig(**generator_params).fingerprint()
    try:
        _, file, _ = _locate(name, path, root, download=False)
    except (DataFileNotFoundError, UnknownDatasetError):
        return None
    return sha256_file(file)


def _twin(config: TwinConfig, options: dict, root, cache: bool, progress: bool) -> TemporalLinkDataset:
    """``wiki-talk-twin``: the processed splits from the cache, else generated, split and cached.
    The generator's fingerprint stands for a file's sha256, so a changed generator or
    parameter is a new cache entry."""
    fingerprint = config.fingerprint()
    meta = {"generator": fingerprint, **options}
    where = cache_path(data_root(root), TWIN, fingerprint, meta) if cache else None
    with stage(f"{TWIN}: reading processed splits {where}", progress and where is not None and where.exists()):
        cached = load_splits(where, meta) if where is not None else None
    if cached is not None:
        return _dataset(TWIN, fingerprint, None, cached["num_nodes"], cached["num_events"], cached["arrays"], options)
    with stage(f"{TWIN}: generating {config.num_events:,} events", progress):
        edges = generate_twin(config)
    with stage(f"{TWIN}: splitting {edges.num_events:,} events, drawing negatives", progress):
        arrays = build_splits(edges, **options)
    if where is not None:
        save_splits(where, meta, edges.num_nodes, edges.num_events, arrays)
    return _dataset(TWIN, fingerprint, None, edges.num_nodes, edges.num_events, arrays, options)


def _warn_constant_time(file: Path, columns: str | None, time_column: int | None, time: np.ndarray) -> None:
    """A :class:`ConstantTimeWarning` when every event has the same time: the stable sort keeps
    the file order, so the "chronological" split would silently be a split in file order."""
    if time_column is None or len(time) < 2 or time.min() != time.max():
        return
    roles = f"columns={columns!r}" if columns is not None else "the default roles (the last column is the time)"
    warnings.warn(
        f"{file}: column {time_column}, read as the time with {roles}, has the same value "
        f"({time[0]:g}) on all {len(time):,} lines, so the chronological split follows the file "
        "order; if another column holds the timestamps, name it with columns= / --columns "
        "(for example 'src,dst,time,weight')", ConstantTimeWarning, stacklevel=3)


def _locate(
    name: str, path: str | os.PathLike | None, root: str | os.PathLike | None, download: bool
) -> tuple[DatasetSpec | None, Path, str]:
    """``(registry entry or None, file, dataset label)`` for a name or a path."""
    spec = load_manifest().get(name)
    if spec is not None:
        return spec, resolve_file(spec, path, root, download), name
    if path is not None:
        if not Path(path).is_file():
            raise DataFileNotFoundError(f"{path}: no such file (given as the file of {name!r})")
        return None, Path(path), name
    file = Path(name)
    if file.is_file():
        return None, file, _stem(file)
    if os.sep in name or "/" in name or file.suffix:
        raise DataFileNotFoundError(f"{name}: no such file")
    raise UnknownDatasetError(
        f"unknown dataset {name!r}; known names: {', '.join(known_names())} "
        "(or pass the path of an edge-list file)"
    )


def _stem(file: Path) -> str:
    """File name without compression and format suffixes: ``a.txt.gz`` -> ``a``."""
    name = file.name
    for suffix in _COMPRESSED:
        name = name.removesuffix(suffix)
    return Path(name).stem or name


def _check_counts(spec: DatasetSpec | None, file: Path, num_nodes: int, num_events: int) -> None:
    """Raise :class:`CountMismatchError` if a registered graph lacks its published counts."""
    if spec is None or (num_nodes, num_events) == (spec.num_nodes, spec.num_events):
        return
    raise CountMismatchError(
        f"{spec.name} ({file}): published {spec.num_nodes:,} nodes and {spec.num_events:,} events, "
        f"but the file has {num_nodes:,} nodes and {num_events:,} events; it is not the published "
        f"file or was parsed with the wrong columns ({spec.columns!r})"
    )


def _dataset(name, sha256, source, num_nodes, num_events, arrays, options, time_column=None) -> TemporalLinkDataset:
    tensors = {k: v if isinstance(v, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(v))
               for k, v in arrays.items()}
    return TemporalLinkDataset(name, sha256, source, num_nodes, num_events, tensors,
                               directed=options["directed"], neg_ratio=options["neg_ratio"],
                               time_column=time_column, seed=options["seed"])

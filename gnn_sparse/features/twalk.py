"""The original feature pipeline: temporal walks -> skip-gram node embeddings, cached.

Which events the embedding may see (:func:`visible_splits`), for the split being evaluated:

=========  ==========================  =====================================
split      default (no leakage)        ``leaky=True`` (the original pipeline)
=========  ==========================  =====================================
train      train events                every event of the graph
val        train events                every event of the graph
test       train and val events        every event of the graph
=========  ==========================  =====================================

This mirrors the message-passing graphs of :mod:`gnn_sparse.data.dataset`. The original
trained its embeddings on the whole graph, test edges included, which leaks the test
links into the features; results with ``leaky=True`` must be labelled as such
(sx-mathoverflow: 87.3% test accuracy leaky vs 72.2% without leakage).

One classifier needs one embedding: a skip-gram space is defined only up to rotation, so a
classifier fit on features of the train-split embedding does not carry over to a separately
trained test-split embedding (synthetic graph, 300 nodes: 73% vs 83% when train and test
features come from the same train+val embedding; orthogonal Procrustes alignment only
recovers 76%). So a run computes the embedding once, for the split it reports
(``visible_splits("test")``), and takes the train, val and test pair features from it;
validation edges are then visible in the features used for model selection, test edges
never are.

For a loaded dataset, :func:`dataset_twalk_embeddings` does exactly that: it takes the
events of :meth:`~gnn_sparse.data.TemporalLinkDataset.events` for ``visible_splits("test",
leaky=leaky)`` and caches under :func:`feature_cache_dir` (``<data root>/processed/features/
<dataset>-<raw sha256 prefix>/``, next to the processed splits); ``run_link_prediction.py --encoder twalk`` uses it.

Cache: :func:`twalk_embeddings` with ``cache_dir`` stores the result in
``<cache_dir>/twalk-<key>.pt``, where ``key`` hashes the events themselves (so the data
fingerprint and the visible split are both in it), ``num_nodes``, every walk and
embedding parameter (the skip-gram worker count included: more than one worker is not
reproducible) and the gensim version; not the chunk size, which never changes the result.
Files are written atomically with a content checksum and read with
:func:`~gnn_sparse.utils.io.checked_torch_load` (``weights_only=True``); an unreadable,
altered or inconsistent file is reported with a warning and recomputed.

Scale: walks are generated ``chunk_size`` at a time and appended to a temporary corpus file
that gensim trains from (:mod:`~gnn_sparse.features.corpus`), so memory is the events'
out-edge index, one chunk of walks and the skip-gram model; ``progress=True`` shows a bar
for the walks and one for the skip-gram epochs.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import time as clock
import warnings
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from gnn_sparse.features.embedding import skipgram_from_corpus, write_backend_corpus
from gnn_sparse.features.params import TwalkParams
from gnn_sparse.features.walks import TemporalWalkSampler, check_events
from gnn_sparse.utils.io import CorruptFileError, atomic_torch_save, checked_torch_load

SPLIT_NAMES = ("train", "val", "test")
CACHE_FORMAT = 2  # 2: counter-based walk randomness, corpus-file skip-gram
WALK_CHUNK = 1 << 18
"""Walks generated and written per chunk (bounds memory: about 100 bytes per walk of length 5)."""
_VISIBLE = {"train": ("train",), "val": ("train",), "test": ("train", "val")}


def visible_splits(split: str, *, leaky: bool = False) -> tuple[str, ...]:
    """The splits whose events the embeddings for ``split`` are trained on (table above).

    Args:
        split: ``"train"``, ``"val"`` or ``"test"``.
        leaky: the original protocol: the whole graph, test edges included (default: ``False``).

    Returns:
        Split names; ``()`` for ``leaky=True``, meaning *every event of the graph* (with
        ``split="original"`` some events before the test period are in neither train nor
        val, and the original used them too).

    Raises:
        ValueError: unknown ``split``.
    """
    if split not in _VISIBLE:
        raise ValueError(f"visible_splits: unknown split {split!r}; choose one of {SPLIT_NAMES}")
    return () if leaky else _VISIBLE[split]


def twalk_embeddings(
    src: np.ndarray,
    dst: np.ndarray,
    time: np.ndarray,
    num_nodes: int,
    params: TwalkParams | None = None,
    *,
    cache_dir: str | os.PathLike | None = None,
    chunk_size: int = WALK_CHUNK,
    progress: bool = False,
    stats: dict | None = None,
    **overrides: Any,
) -> torch.Tensor:
    """Node embeddings from temporal random walks and skip-gram, trained on the given events.

    Pass only the events visible to the split being evaluated (:func:`visible_splits`).
    The pair features of candidate links are then
    :func:`~gnn_sparse.features.pairs.pair_features` of the result.

    Args:
        src, dst, time: ``[E]`` the visible temporal events (directed ``src -> dst`` at ``time``).
        num_nodes: rows of the result (all nodes of the dataset, seen or not).
        params: walk and skip-gram parameters (default: :class:`TwalkParams`, the original's).
        cache_dir: folder for cached results, or ``None`` for no cache (default: ``None``).
        chunk_size: walks generated and written at a time; bounds memory, never changes
            the result (default: :data:`WALK_CHUNK`).
        progress: ``tqdm`` bars on stderr for the walks and the skip-gram epochs (default: ``False``).
        stats: a dict to fill with ``cached``, and when computed ``num_walks``,
            ``num_tokens``, ``walks_s`` (walks and corpus file) and ``skipgram_s`` (wall), and
            ``walks_cpu_s``, ``vocab_cpu_s``, ``train_cpu_s`` (CPU seconds, all threads).
        **overrides: fields of :class:`TwalkParams` replacing those of ``params``
            (``twalk_embeddings(..., seed=3, dim=16)``).

    Returns:
        ``FloatTensor [num_nodes, params.dim]``; nodes with no visible event get a zero row.

    Raises:
        ValueError: invalid parameters or events (checked before any work).
    """
    params = replace(params or TwalkParams(), **overrides).resolved(num_nodes)
    if chunk_size < 1:
        raise ValueError(f"twalk_embeddings: chunk_size must be >= 1, got {chunk_size}")
    src, dst, time = check_events(src, dst, time, num_nodes)
    walk_params, embed_params = params.walk_kwargs(), params.skipgram()
    stats = {} if stats is None else stats

    path = meta = None
    if cache_dir is not None:
        meta = _cache_meta(src, dst, time, num_nodes, walk_params, asdict(embed_params))
        path = Path(cache_dir) / f"twalk-{meta['key'][:24]}.pt"
        cached = _load(path, meta, (num_nodes, params.dim))
        stats["cached"] = cached is not None
        if cached is not None:
            return cached
    stats["cached"] = False

    tick, cpu = clock.perf_counter(), clock.process_time()
    sampler = TemporalWalkSampler(src, dst, time, num_nodes, **walk_params)
    with tempfile.TemporaryDirectory(prefix="gnn-sparse-walks-") as folder, \
            tqdm(total=sampler.num_walks, desc="walks", unit="walk", unit_scale=True, disable=not progress,
                 dynamic_ncols=True, file=sys.stderr) as bar:
        corpus = write_backend_corpus(_counted(sampler.chunks(chunk_size), bar), folder, num_nodes,
                                      embed_params.backend)
        del sampler  # its out-edge index is not needed while skip-gram trains
        bar.close()
        stats.update(num_walks=corpus.num_walks, num_tokens=corpus.num_tokens,
                     walks_s=clock.perf_counter() - tick, walks_cpu_s=clock.process_time() - cpu)
        tick = clock.perf_counter()
        out = skipgram_from_corpus(corpus, num_nodes, embed_params, progress=progress, stats=stats)
        stats["skipgram_s"] = clock.perf_counter() - tick
    if path is not None:
        atomic_torch_save({"format": CACHE_FORMAT, "meta": meta, "embeddings": out}, path)
    return out


def dataset_twalk_embeddings(
    dataset,
    params: TwalkParams | None = None,
    *,
    leaky: bool = False,
    cache_dir: str | os.PathLike | None = None,
    chunk_size: int = WALK_CHUNK,
    progress: bool = False,
    stats: dict | None = None,
    **overrides: Any,
) -> torch.Tensor:
    """The one node embedding of a run on ``dataset`` (see the module docstring).

    Trained on the events visible to the test split (train and val events;
    ``visible_splits("test")``), or on every event with ``leaky=True`` (the original,
    leaky protocol). Train, val and test pair features all come from this one embedding:
    ``pair_features(z, dataset.train.edge_label_index)`` etc.

    Args:
        dataset: a :class:`~gnn_sparse.data.TemporalLinkDataset`.
        leaky: train on the whole graph, test edges included (default: ``False``).
        params, cache_dir, chunk_size, progress, stats, **overrides: as in :func:`twalk_embeddings`
            (for the usual cache folder pass :func:`feature_cache_dir` of the dataset).

    Returns:
        ``FloatTensor [dataset.num_nodes, params.dim]``.

    Example:
        >>> from gnn_sparse.data import load_dataset
        >>> from gnn_sparse.features import pair_features
        >>> ds = load_dataset("synthetic", num_nodes=100, num_events=2000)
        >>> z = dataset_twalk_embeddings(ds, walks_per_node=2)
        >>> pair_features(z, ds.test.edge_label_index).shape
        torch.Size([800, 16])
    """
    events = dataset.events(*visible_splits("test", leaky=leaky))
    return twalk_embeddings(events.src, events.dst, events.time, dataset.num_nodes, params, cache_dir=cache_dir,
                            chunk_size=chunk_size, progress=progress, stats=stats, **overrides)


def feature_cache_dir(dataset, root: str | os.PathLike | None = None) -> Path | None:
    """``<data root>/processed/features/<name>-<sha256[:16]>`` for a dataset read from a file or
    for ``wiki-talk-twin`` (``sha256``: its generator's fingerprint); ``None`` (no cache) for the
    generated ``synthetic`` graph, which the data cache does not keep either.

    ``root`` is the data root (default: :func:`~gnn_sparse.data.registry.data_root`). The
    folder names the data fingerprint for people; the cache key itself hashes the events.
    """
    from gnn_sparse.data.registry import TWIN, data_root

    if dataset.source_path is None and dataset.name != TWIN:
        return None

    name = "".join(c if c.isalnum() or c in "._-" else "_" for c in dataset.name)
    return Path(data_root(root)) / "processed" / "features" / f"{name}-{dataset.sha256[:16]}"


def _counted(chunks, bar):
    """The nodes of each chunk of walks, advancing ``bar`` by its number of walks."""
    for chunk in chunks:
        bar.update(len(chunk))
        yield chunk.nodes


def _cache_meta(src, dst, time, num_nodes, walk_params, embed_params) -> dict:
    """Parameters plus ``key``: sha256 of the events, ``num_nodes``, parameters and the version of
    the skip-gram backend's library (the gensim backend is left out of the parameters, so keys
    of caches written before there was a choice still match)."""
    from gensim import __version__ as gensim_version

    meta = {"format": CACHE_FORMAT, "gensim": gensim_version, "num_nodes": num_nodes, "walk": walk_params}
    if embed_params["backend"] == "gensim":
        meta["embedding"] = {k: v for k, v in embed_params.items() if k != "backend"}
    else:
        import numba

        meta.update(embedding=embed_params, numba=numba.__version__)
    h = hashlib.sha256(json.dumps(meta, sort_keys=True).encode())
    for array in (src, dst, time):
        h.update(np.ascontiguousarray(array).tobytes())
    return {**meta, "key": h.hexdigest()}


def _load(path: Path, meta: dict, shape: tuple[int, int]) -> torch.Tensor | None:
    """The cached embeddings if ``path`` holds a valid entry for ``meta``; else ``None``."""
    if not path.is_file():
        return None
    try:
        blob = checked_torch_load(path, weights_only=True)
        ok = (blob.get("meta") == meta and isinstance(blob.get("embeddings"), torch.Tensor)
              and tuple(blob["embeddings"].shape) == shape)
    except CorruptFileError as e:
        ok, why = False, str(e).removeprefix(f"{path}: ")
    else:
        why = "metadata or shape does not match"
    if ok:
        return blob["embeddings"]
    warnings.warn(f"twalk cache {path} is corrupt ({why}); recomputing it", RuntimeWarning, stacklevel=3)
    return None

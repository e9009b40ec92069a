"""Fixed node features of the encoders in :data:`~gnn_sparse.models.encoders.FIXED_FEATURE_ENCODERS`.

The runner calls :func:`fixed_node_features` once per run, before building the model, and
hands the result to :func:`~gnn_sparse.models.build_link_predictor`; nothing else in the
training path (loop, methods, checkpoints) knows that the features are fixed, so every
method works on top of them unchanged.
"""
from __future__ import annotations

import time
from typing import Any

import torch

from gnn_sparse.models.encoders import FIXED_FEATURE_ENCODERS


def fixed_node_features(config, dataset, progress: bool = False) -> tuple[torch.Tensor | None, dict[str, Any] | None]:
    """``(features [N, k], description)`` for a fixed-feature encoder, ``(None, None)`` otherwise.

    ``twalk``: :func:`gnn_sparse.features.dataset_twalk_embeddings` with the run's walk and
    skip-gram options (``config.features.twalk_params``, ``config.network.out_dim`` wide,
    seeded by ``config.seed``), trained on the train and val events (the test split's
    visible events) or, with ``config.features.leaky_embeddings``, on the whole graph.
    Cached under ``<data root>/processed/features/`` (:func:`gnn_sparse.features.feature_cache_dir`),
    so a rerun or a resumed run reads the same embedding back.

    Args:
        config: a :class:`~gnn_sparse.training.RunConfig` (its ``network``, ``features``,
            ``data`` and ``seed``; or anything with those attributes).
        dataset: the run's :class:`~gnn_sparse.data.TemporalLinkDataset`.
        progress: ``tqdm`` bars for the walks and the skip-gram epochs on stderr.

    Returns:
        The features, and a JSON-ready description for the results (``encoder``,
        ``leaky_embeddings``, ``trained_on``, ``visible_events``, parameters (``workers``
        included), ``cache_dir``, ``cached``, and when computed ``num_walks``, ``num_tokens``,
        ``walks_s``, ``skipgram_s``; ``time_s``).
    """
    encoder, leaky = config.network.encoder, config.features.leaky_embeddings
    if encoder not in FIXED_FEATURE_ENCODERS:
        return None, None
    from gnn_sparse.features import dataset_twalk_embeddings, feature_cache_dir, visible_splits

    tick = time.perf_counter()
    params = config.features.twalk_params(dim=config.network.out_dim, seed=config.seed).resolved(dataset.num_nodes)
    cache_dir = feature_cache_dir(dataset, config.data.data_root)
    stats: dict[str, Any] = {}
    features = dataset_twalk_embeddings(dataset, params, leaky=leaky, cache_dir=cache_dir,
                                        progress=progress, stats=stats)
    visible = visible_splits("test", leaky=leaky)
    info = {
        "encoder": encoder,
        "leaky_embeddings": leaky,
        "trained_on": list(visible) if visible else "all events (test edges included)",
        "visible_events": dataset.events(*visible).num_events,
        "zero_rows": int((features.abs().sum(dim=1) == 0).sum()),
        **params.as_dict(),
        "cache_dir": None if cache_dir is None else str(cache_dir),
        **stats,
        "time_s": time.perf_counter() - tick,
    }
    return features, info

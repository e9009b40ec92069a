"""Node and link features of the original pipeline: temporal random walks + skip-gram.

::

    from gnn_sparse.features import pair_features, twalk_embeddings, visible_splits
    z = twalk_embeddings(src, dst, time, num_nodes)      # events visible to the split
    x = pair_features(z, data.edge_label_index)          # [P, 2 * dim]

    z = dataset_twalk_embeddings(ds)                     # a loaded dataset: train+val events
    x_test = pair_features(z, ds.test.edge_label_index)  # (leaky=True: the whole graph)

Modules: :mod:`~.walks` (vectorised time-respecting walks, all at once or in chunks),
:mod:`~.corpus` (walks as a skip-gram corpus file), :mod:`~.embedding` (skip-gram via gensim,
streamed from the corpus file, or :mod:`~.skipgram_numba`, the same compiled for big graphs), :mod:`~.pairs` (edge feature = concat), :mod:`~.params` (walk and skip-gram parameters, one
object), :mod:`~.twalk`
(which events each split may see, the cached, streaming pipeline).
"""
from gnn_sparse.features.embedding import SkipGramParams, skipgram_embeddings
from gnn_sparse.features.pairs import pair_features
from gnn_sparse.features.params import TwalkParams
from gnn_sparse.features.twalk import dataset_twalk_embeddings, feature_cache_dir, twalk_embeddings, visible_splits
from gnn_sparse.features.walks import TemporalWalkSampler, TemporalWalks, temporal_random_walks

__all__ = [
    "temporal_random_walks",
    "TemporalWalks",
    "TemporalWalkSampler",
    "skipgram_embeddings",
    "SkipGramParams",
    "pair_features",
    "TwalkParams",
    "twalk_embeddings",
    "dataset_twalk_embeddings",
    "feature_cache_dir",
    "visible_splits",
]

"""Temporal graph data for link prediction.

``load_dataset(name_or_path, ...)`` finds a registered graph or reads any edge-list file,
splits its events by time, draws negatives and returns PyG-ready tensors::

    from gnn_sparse.data import load_dataset
    ds = load_dataset("email-eu")
    ds.train.edge_index, ds.train.edge_label_index, ds.train.edge_label

Modules: :mod:`~.registry` (names, manifest, file lookup), :mod:`~.download`,
:mod:`~.parse` (edge-list formats), :mod:`~.split`, :mod:`~.pairs` (64-bit pair keys),
:mod:`~.negatives`, :mod:`~.synthetic`, :mod:`~.twin` (``wiki-talk-twin``), :mod:`~.stats`,
:mod:`~.cache`, :mod:`~.dataset`, :mod:`~.load`.
"""
from gnn_sparse.data.dataset import TemporalLinkDataset, build_splits
from gnn_sparse.data.download import download_file
from gnn_sparse.data.errors import (
    ConstantTimeWarning,
    CountMismatchError,
    DataError,
    DataFileNotFoundError,
    DownloadError,
    EdgeListFormatError,
    SplitError,
    UnknownDatasetError,
)
from gnn_sparse.data.load import data_fingerprint, load_dataset
from gnn_sparse.data.negatives import sample_negatives
from gnn_sparse.data.parse import EdgeList, read_edge_list
from gnn_sparse.data.registry import known_names
from gnn_sparse.data.split import chronological_split, original_split
from gnn_sparse.data.stats import temporal_graph_stats
from gnn_sparse.data.synthetic import SyntheticConfig, generate_synthetic
from gnn_sparse.data.twin import TwinConfig, generate_twin

__all__ = [
    "load_dataset",
    "data_fingerprint",
    "TemporalLinkDataset",
    "build_splits",
    "read_edge_list",
    "EdgeList",
    "chronological_split",
    "original_split",
    "sample_negatives",
    "SyntheticConfig",
    "generate_synthetic",
    "TwinConfig",
    "generate_twin",
    "temporal_graph_stats",
    "download_file",
    "known_names",
    "DataError",
    "EdgeListFormatError",
    "DataFileNotFoundError",
    "UnknownDatasetError",
    "SplitError",
    "CountMismatchError",
    "DownloadError",
    "ConstantTimeWarning",
]

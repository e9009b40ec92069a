"""Temporal link-prediction dataset: splits, message-passing graphs and labelled pairs.

:func:`build_splits` is the pure function (numpy in, numpy out) and
:class:`TemporalLinkDataset` the thin wrapper the trainer uses. For split
:math:`s \\in \\{\\text{train}, \\text{val}, \\text{test}\\}` with positive events
:math:`\\mathcal{E}_s` (one per event: a pair that interacts several times in a split is
several positives, as in the original pipeline):

* ``edge_index`` — the graph a GNN propagates over, never containing a future edge:
  :math:`\\mathcal{E}_\\text{train}` for train and val, :math:`\\mathcal{E}_\\text{train}
  \\cup \\mathcal{E}_\\text{val}` for test; deduplicated and, unless ``directed=True``,
  symmetrised (each pair in both directions). Training positives are part of the training
  graph, as in PyG's ``RandomLinkSplit``; the model must not see val/test edges, and it does not.
* ``edge_label_index`` — ``[2, P + N]``: the ``P`` positive events of the split, then the
  ``N`` negatives (:mod:`gnn_sparse.data.negatives`); ``edge_label`` is 1 for the first
  ``P`` columns and 0 for the rest.
* ``time_range`` — ``(first, last)`` timestamp of the split's positive events.

A negative is never a pair that is an edge anywhere in the graph (all splits, any time; in
either direction unless ``directed=True``) and never a self-pair. Validation and test
negatives are fixed by the seed; training negatives can be redrawn each epoch with
:meth:`TemporalLinkDataset.resample_train_negatives`. For ranking evaluation,
:meth:`TemporalLinkDataset.ranking_negatives` draws many negatives per validation and test
positive, fixed by the seed too (:mod:`gnn_sparse.data.ranking`).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from torch_geometric.data import Data

from gnn_sparse.data.negatives import sample_negatives
from gnn_sparse.data.pairs import keys_to_edge_index, unique_pairs
from gnn_sparse.data.parse import EdgeList
from gnn_sparse.data.ranking import ValidDestinations, sample_ranking_negatives
from gnn_sparse.data.split import SPLITS, chronological_split, original_split

SPLIT_NAMES = ("train", "val", "test")
RANKED_SPLITS = ("val", "test")
SEED_STREAMS = {"split": 0, "train": 1, "val": 2, "test": 3, "ranking_val": 4, "ranking_test": 5}
"""Child ``i`` of ``np.random.SeedSequence(seed)`` draws stream ``name`` (``SeedSequence.spawn``
order): independent streams, so changing one option (``neg_ratio``, the number of ranking
negatives) does not change what the others draw."""


def build_splits(
    edges: EdgeList,
    split: str = "chronological",
    val_ratio: float = 0.2,
    test_ratio: float = 0.2,
    neg_ratio: float = 1.0,
    seed: int = 0,
    directed: bool = False,
) -> dict[str, np.ndarray]:
    """Split ``edges`` by time and draw negatives (definitions in the module docstring).

    Randomness comes from ``np.random.SeedSequence(seed)``, spawned into independent streams
    for the split and for the train / val / test negatives, so changing ``neg_ratio`` does
    not change which events are in which split.

    Returns:
        ``forbidden`` (sorted pair keys of all edges), ``train_edge_index`` and
        ``test_edge_index`` (val uses the train graph), per split ``<s>_pos``,
        ``<s>_neg`` (``[2, *]``), ``<s>_time_range`` (``[2]``) and ``<s>_events`` (sorted
        ``int64`` indices of the split's positive events into the time-sorted events), and
        the time-sorted events themselves: ``event_src``, ``event_dst`` (``int64 [E]``) and
        ``event_time`` (``float64 [E]``), stable-sorted by time (ties keep file order).
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {SPLITS}")
    n = edges.num_nodes
    order = np.argsort(edges.time, kind="stable")
    src, dst, time = edges.src[order], edges.dst[order], edges.time[order]
    split_rng, *neg_rngs = (np.random.default_rng(_seed_stream(seed, name)) for name in ("split", *SPLIT_NAMES))
    if split == "chronological":
        indices = chronological_split(len(src), val_ratio, test_ratio)
    else:
        indices = original_split(len(src), val_ratio, test_ratio, split_rng)

    forbidden = unique_pairs(src, dst, n, directed)
    train, val, _ = indices
    seen = np.zeros(len(src), dtype=bool)
    seen[train] = seen[val] = True
    out = {
        "forbidden": forbidden,
        "train_edge_index": keys_to_edge_index(unique_pairs(src[train], dst[train], n, directed), n),
        "test_edge_index": keys_to_edge_index(unique_pairs(src[seen], dst[seen], n, directed), n),
        "event_src": src.astype(np.int64, copy=False),
        "event_dst": dst.astype(np.int64, copy=False),
        "event_time": time.astype(np.float64, copy=False),
    }
    for name, idx, rng in zip(SPLIT_NAMES, indices, neg_rngs):
        pos = np.stack([src[idx], dst[idx]])
        out[f"{name}_pos"] = pos
        out[f"{name}_neg"] = sample_negatives(pos, n, forbidden, rng, neg_ratio)
        out[f"{name}_time_range"] = np.array([time[idx].min(), time[idx].max()])
        out[f"{name}_events"] = np.asarray(idx, dtype=np.int64)
    return out


class TemporalLinkDataset:
    """A temporal graph split for link prediction; build it with :func:`~gnn_sparse.data.load_dataset`.

    Attributes:
        name: registry name, or the file stem for an arbitrary edge list.
        sha256: sha256 of the raw file (for ``synthetic``: of its parameters).
        source_path: the raw file, or ``None`` for ``synthetic``.
        num_nodes: nodes after remapping ids to ``0..n-1``.
        num_events: temporal edges (events) after parsing.
        directed: whether message-passing graphs and forbidden pairs keep direction.
        neg_ratio: negatives per positive.
        seed: the seed of the split and of every negative (:data:`SEED_STREAMS`).
        time_column: the file's 1-based column read as time; ``None`` when the file has no
            time column (its order is the time) or the graph is ``synthetic``.
        time_constant: whether every event has the same time (then the chronological split
            is the file order; :func:`~gnn_sparse.data.load_dataset` warns).
        train, val, test: :class:`torch_geometric.data.Data` with ``edge_index``
            (``LongTensor [2, E]``), ``edge_label_index`` (``LongTensor [2, P + N]``),
            ``edge_label`` (``FloatTensor [P + N]``), ``num_nodes`` and ``time_range``
            (``(first, last)`` as floats). All tensors are on the CPU.

    The temporal events themselves (time-sorted, with their timestamps) are returned by
    :meth:`events`, e.g. for the temporal random walks of :mod:`gnn_sparse.features`.
    """

    def __init__(
        self,
        name: str,
        sha256: str,
        source_path: str | os.PathLike | None,
        num_nodes: int,
        num_events: int,
        arrays: dict[str, torch.Tensor],
        directed: bool = False,
        neg_ratio: float = 1.0,
        time_column: int | None = None,
        seed: int = 0,
    ):
        self.name = name
        self.seed = seed
        self.time_column = time_column
        self.sha256 = sha256
        self.source_path = Path(source_path) if source_path is not None else None
        self.num_nodes = num_nodes
        self.num_events = num_events
        self.directed = directed
        self.neg_ratio = neg_ratio
        self._forbidden = arrays["forbidden"].numpy()
        self._train_pos = arrays["train_pos"]
        self._events = EdgeList(_readonly(arrays["event_src"]), _readonly(arrays["event_dst"]),
                                _readonly(arrays["event_time"]), num_nodes)
        self._split_events = {s: _readonly(arrays[f"{s}_events"]) for s in SPLIT_NAMES}
        edge_index = {"train": arrays["train_edge_index"], "val": arrays["train_edge_index"],
                      "test": arrays["test_edge_index"]}
        for split in SPLIT_NAMES:
            label_index, label = _labelled(arrays[f"{split}_pos"], arrays[f"{split}_neg"])
            first, last = arrays[f"{split}_time_range"].tolist()
            data = Data(edge_index=edge_index[split], edge_label_index=label_index,
                        edge_label=label, num_nodes=num_nodes)
            data.time_range = (first, last)
            setattr(self, split, data)

    @property
    def time_constant(self) -> bool:
        time = self._events.time
        return bool(len(time) > 1 and time[0] == time[-1])  # time-sorted: first == last: all equal

    def events(self, *splits: str) -> EdgeList:
        """The temporal events of the named splits, time-sorted (all events without arguments).

        Args:
            *splits: any of ``"train"``, ``"val"``, ``"test"``; the result is the union *by
                event* (an event in two splits, possible with ``split="original"``, appears
                once; repeated interactions of a pair are distinct events and all kept).

        Returns:
            :class:`~gnn_sparse.data.parse.EdgeList` with ``src``, ``dst`` (``int64 [E']``),
            ``time`` (``float64 [E']``), in time order (stable: ties keep file order), and
            ``num_nodes`` of the whole dataset. The arrays are read-only (without arguments,
            views of the dataset's own arrays; otherwise copies).

        Raises:
            ValueError: an unknown split name.

        Example:
            >>> from gnn_sparse.data import load_dataset
            >>> ds = load_dataset("synthetic", num_nodes=100, num_events=2000)
            >>> ds.events("train", "val").num_events  # the events visible at test time
            1600
        """
        unknown = [s for s in splits if s not in SPLIT_NAMES]
        if unknown:
            raise ValueError(f"events: unknown split(s) {unknown}; choose from {SPLIT_NAMES}")
        if not splits:
            return self._events
        wanted = dict.fromkeys(splits)
        if len(wanted) == 1:
            idx = self._split_events[splits[0]]
        else:  # union by event index in O(E), already in time order
            keep = np.zeros(self.num_events, dtype=bool)
            for s in wanted:
                keep[self._split_events[s]] = True
            idx = np.flatnonzero(keep)
        ev = self._events
        return EdgeList(_readonly(ev.src[idx]), _readonly(ev.dst[idx]), _readonly(ev.time[idx]), self.num_nodes)

    def resample_train_negatives(
        self, generator_or_seed: int | np.random.Generator | torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Fresh training negatives (same rules and ratio), e.g. once per epoch.

        Args:
            generator_or_seed: an ``int`` seed, a ``numpy`` generator, or a
                ``torch.Generator`` (one 63-bit seed is drawn from it).

        Returns:
            ``(edge_label_index, edge_label)`` for training: the training positives followed
            by new negatives, shaped like ``ds.train.edge_label_index`` / ``ds.train.edge_label``.
        """
        if isinstance(generator_or_seed, torch.Generator):
            generator_or_seed = int(torch.randint(2**63 - 1, (1,), generator=generator_or_seed))
        rng = np.random.default_rng(generator_or_seed)
        neg = sample_negatives(self._train_pos.numpy(), self.num_nodes, self._forbidden, rng, self.neg_ratio)
        return _labelled(self._train_pos, torch.from_numpy(neg))

    def ranking_negatives(self, k: int) -> dict[str, torch.Tensor]:
        """``k`` fixed negatives per positive of the validation and test splits, for ranking.

        Each positive ``(u, v)`` gets ``k`` distinct destinations ``v'`` drawn uniformly among
        the nodes that never form an edge ``(u, v')`` (nor ``v' = u``), ``-1`` in the slots of
        a source with fewer valid destinations (:mod:`gnn_sparse.data.ranking`). The draw
        depends on the dataset's seed, the split and ``k`` only, so every model and method
        run on this split is ranked against the same negatives.

        Returns:
            ``{"val": [P_val, k], "test": [P_test, k]}`` destinations (``int32``), row ``i``
            for positive ``i``, the column ``i`` of ``<split>.edge_label_index``.
        """
        destinations = ValidDestinations.from_forbidden(torch.from_numpy(self._forbidden), self.num_nodes)
        out = {}
        for split in RANKED_SPLITS:
            data = getattr(self, split)
            positives = data.edge_label_index[:, data.edge_label == 1]
            seed = int(_seed_stream(self.seed, f"ranking_{split}").generate_state(1, np.uint64)[0])
            out[split] = sample_ranking_negatives(positives, destinations, k, torch.Generator().manual_seed(seed))
        return out

    def __repr__(self) -> str:
        sizes = ", ".join(
            f"{s}={int(getattr(self, s).edge_label.sum())}+/{int((getattr(self, s).edge_label == 0).sum())}-"
            for s in SPLIT_NAMES
        )
        return (f"{type(self).__name__}(name={self.name!r}, num_nodes={self.num_nodes}, "
                f"num_events={self.num_events}, directed={self.directed}, {sizes})")


def _seed_stream(seed: int, name: str) -> np.random.SeedSequence:
    """The seed sequence of stream ``name`` (:data:`SEED_STREAMS`)."""
    return np.random.SeedSequence(seed, spawn_key=(SEED_STREAMS[name],))


def _readonly(array: torch.Tensor | np.ndarray) -> np.ndarray:
    """A numpy view of ``array`` that cannot be written through (the dataset's data stays intact)."""
    view = (array.numpy() if isinstance(array, torch.Tensor) else array).view()
    view.flags.writeable = False
    return view


def _labelled(pos: torch.Tensor, neg: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Positives then negatives, with labels 1 / 0 (built in numpy: no torch thread-pool start-up)."""
    label = np.zeros(pos.shape[1] + neg.shape[1], dtype=np.float32)
    label[: pos.shape[1]] = 1.0
    return torch.from_numpy(np.concatenate([pos.numpy(), neg.numpy()], axis=1)), torch.from_numpy(label)

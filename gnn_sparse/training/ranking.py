"""Ranking evaluation: each validation or test positive scored against its fixed negatives.

The node embeddings are computed once per evaluation (:func:`~gnn_sparse.training.loop.evaluate`
shares them with the accuracy metrics); the positives are then scored in chunks, each with
its ``K`` negatives (:meth:`~gnn_sparse.models.LinkPredictor.score_candidates`), so memory
stays bounded on big splits (:data:`RANKING_CHUNK_PAIRS`).
Protocol and tie rule: :mod:`gnn_sparse.training.metrics`.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from gnn_sparse.training.metrics import ranking_metrics, ranks_among_negatives

RANKING_CHUNK_PAIRS = 1 << 18
"""(positive + negatives) pairs scored per pass: their scores and indices take a few MB (the
hidden activations are bounded separately, :data:`~gnn_sparse.models.link_predictor.HIDDEN_BLOCK`).
Measured on one thread, 10^4 (enron-employees) and 10^5 (mathoverflow) positives x 101:
passes of 2^16 / 2^17 / 2^18 pairs ranked a split in 5.1 / 3.9 / 3.4 ms and 249 / 227 / 219 ms;
fewer, larger passes mostly save per-pass overhead."""


LAYOUT_ROWS = 1 << 16
"""Positives laid out per block when a split's candidates are built."""


@dataclass(frozen=True)
class RankingCandidates:
    """The positives of a split and their negatives, laid out for scoring, on the model's device.

    Rows are in the order of their sources: the metrics are means over the positives, so the
    order is free, and a pass then holds few distinct sources, which
    :meth:`~gnn_sparse.models.LinkPredictor.score_candidates` scores against every node once
    (measured on email-eu, 986 nodes, 6.6 x 10^4 positives x 101: 24 ms instead of 118 ms
    in time order).

    Attributes:
        src: source of each positive, ``[P]``.
        dst: ``[P, 1 + K]``: the positive's destination, then its ``K`` negative destinations
            of the same source (:meth:`~gnn_sparse.data.TemporalLinkDataset.ranking_negatives`);
            a slot without a negative (a source with fewer valid destinations) holds node 0.
        valid: ``[P, K]``, 1.0 where a slot holds a negative, 0.0 where not (floats: the
            ranks multiply by it, twice as fast as a boolean mask); ``None`` when all do.
    """

    src: Tensor
    dst: Tensor
    valid: Tensor | None

    @classmethod
    def of_split(cls, data, negatives: Tensor, device: torch.device | str) -> "RankingCandidates":
        """The positives of ``data`` (a split's ``edge_label_index`` columns labelled 1, in order)
        with their rows of ``negatives`` (``-1``: no negative). Built in blocks of
        :data:`LAYOUT_ROWS` rows, so the only full-size array is the result (at wiki-talk size
        each split's ``[P, 1 + K]`` is 0.6 GiB)."""
        positives = data.edge_label_index[:, data.edge_label == 1]
        if negatives.size(0) != positives.size(1):
            raise ValueError(f"{negatives.size(0)} rows of ranking negatives for {positives.size(1)} positives")
        order = torch.argsort(positives[0], stable=True)
        dst = torch.empty(negatives.size(0), 1 + negatives.size(1), dtype=negatives.dtype)
        invalid = False
        for start in range(0, len(order), LAYOUT_ROWS):
            rows = order[start:start + LAYOUT_ROWS]
            block = negatives[rows]
            invalid = invalid or bool((block < 0).any())
            dst[start:start + len(rows), 0] = positives[1, rows].to(dst.dtype)
            dst[start:start + len(rows), 1:] = block.clamp_min_(0)
        valid = None
        if invalid:
            valid = (negatives[order] >= 0).to(torch.float32).to(device)
        return cls(positives[0, order].to(device), dst.to(device), valid)


def ranking_candidates(ds, k: int, device: torch.device | str) -> dict[str, RankingCandidates]:
    """``{"val": ..., "test": ...}``: each split's positives with their ``k`` fixed negatives
    (:meth:`~gnn_sparse.data.TemporalLinkDataset.ranking_negatives`, drawn once per run from
    the split's seed), on ``device``; ``{}`` when ``k`` is 0 (no ranking metrics)."""
    if not k:
        return {}
    negatives = ds.ranking_negatives(k)
    out = {}
    for split in list(negatives):
        out[split] = RankingCandidates.of_split(getattr(ds, split), negatives.pop(split), device)
    return out


@torch.no_grad()
def rank_positives(model, z: Tensor, candidates: RankingCandidates,
                   chunk_pairs: int = RANKING_CHUNK_PAIRS) -> Tensor:
    """The rank of each positive among its negatives (:func:`ranks_among_negatives`), ``[P]``,
    in the order of ``candidates``.

    Args:
        model: a :class:`~gnn_sparse.models.LinkPredictor` (``score_candidates``).
        z: its node embeddings for the split's graph (``model.encode(graph)``).
        candidates: the split's :class:`RankingCandidates`.
        chunk_pairs: pairs scored per pass; each pass takes ``chunk_pairs // (K + 1)``
            positives (at least one).
    """
    rows = max(1, chunk_pairs // candidates.dst.size(1))
    ranks = []
    for start in range(0, candidates.dst.size(0), rows):
        scores = model.score_candidates(z, candidates.src[start:start + rows], candidates.dst[start:start + rows])
        valid = None if candidates.valid is None else candidates.valid[start:start + rows]
        ranks.append(ranks_among_negatives(scores[:, 0], scores[:, 1:], valid))
    return torch.cat(ranks)


def evaluate_ranking(model, z: Tensor, candidates: RankingCandidates) -> dict[str, float]:
    """MRR and Hits@k of the split's positives (:func:`~gnn_sparse.training.metrics.ranking_metrics`)."""
    return ranking_metrics(rank_positives(model, z, candidates))

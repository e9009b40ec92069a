r"""Link-prediction metrics on logits: accuracy, ROC-AUC and AP of the labelled pairs
(scikit-learn), and the ranking metrics MRR and Hits@k of each positive against its own
negatives (one-vs-many, as TGB reports temporal link prediction).

Ranking protocol: every validation and test positive :math:`(u, v)` is scored together
with :math:`K` fixed negatives :math:`(u, v')` (:meth:`~gnn_sparse.data.TemporalLinkDataset.ranking_negatives`:
destinations drawn uniformly, without replacement, among the nodes :math:`v'` that form no
edge :math:`(u, v')` anywhere in the graph, seeded by the split's seed, the same for every
epoch and every method); its rank counts the negatives scored above it, ties counted half
(:func:`ranks_among_negatives`), and :func:`ranking_metrics` averages over the positives.
The pairs are scored in chunks of positives (:mod:`~gnn_sparse.training.ranking`).
"""
from __future__ import annotations

import torch
from sklearn.metrics import average_precision_score, roc_auc_score

HITS_AT = (1, 3, 10)
"""The ``k`` of the reported Hits@k."""
RANKING_METRICS = ("mrr", *(f"hits@{k}" for k in HITS_AT))
"""Keys of :func:`ranking_metrics`, in the order the results list them."""


def link_metrics(logits: torch.Tensor, labels: torch.Tensor) -> dict[str, float | None]:
    r"""Accuracy, ROC-AUC and average precision of link scores.

    .. math::
        \mathrm{acc} = \frac{100}{P} \sum_i \big[\mathbb{1}(\sigma(\hat y_i) > 0.5) = y_i\big]

    i.e. ``round(sigmoid(logit)) == label`` as in the original code (a logit of exactly 0
    counts as "no link"), in percent. ``auc`` (:func:`sklearn.metrics.roc_auc_score`) and
    ``ap`` (:func:`sklearn.metrics.average_precision_score`) are ``None`` when the labels
    hold a single class.

    Args:
        logits: scores :math:`\hat y`, shape :math:`(P,)`.
        labels: 0/1 labels, shape :math:`(P,)`.
    """
    if logits.shape != labels.shape or logits.dim() != 1 or logits.numel() == 0:
        raise ValueError(f"link_metrics needs two non-empty 1-D tensors of one shape, got "
                         f"{tuple(logits.shape)} and {tuple(labels.shape)}")
    logits = logits.detach().float().cpu()
    labels = labels.detach().float().cpu()
    accuracy = 100.0 * float(((logits > 0).float() == labels).float().mean())
    if labels.min() == labels.max():
        return {"accuracy": accuracy, "auc": None, "ap": None}
    y, s = labels.numpy(), logits.numpy()
    return {"accuracy": accuracy, "auc": float(roc_auc_score(y, s)), "ap": float(average_precision_score(y, s))}


def ranks_among_negatives(positive: torch.Tensor, negatives: torch.Tensor,
                          valid: torch.Tensor | None = None) -> torch.Tensor:
    r"""The rank of each positive's score among its negatives' scores, ties counted half:

    .. math::
        \mathrm{rank}_i = 1 + \sum_j [s^-_{ij} > s^+_i] + \tfrac12 \sum_j [s^-_{ij} = s^+_i]
                     = 1 + \tfrac12 \Big(K_i + \sum_j \operatorname{sign}(s^-_{ij} - s^+_i)\Big)

    over the :math:`K_i` valid negatives :math:`j` of positive :math:`i`: the mean of the
    pessimistic (ties above) and optimistic (ties below) ranks, so a model that scores every
    pair alike ranks each positive in the middle (:math:`1 + K/2`), not first. It is computed
    in the second form (one pass over the scores instead of two comparisons, 3x faster), which
    equals the first for finite scores. A NaN score counts as a tie (sign 0, set explicitly:
    ``torch.sign`` of NaN is not settled across versions), so a diverged model ranks like a
    constant one, in the middle, never first.

    Args:
        positive: scores :math:`s^+`, shape :math:`(P,)`.
        negatives: scores :math:`s^-`, shape :math:`(P, K)`.
        valid: which negatives count, :math:`(P, K)` booleans or 0/1 numbers (default:
            all); a positive with fewer valid negatives is ranked among those.

    Returns:
        ranks, shape :math:`(P,)`, in the scores' floating type and on their device.
    """
    if positive.dim() != 1 or negatives.dim() != 2 or negatives.size(0) != positive.size(0) or (
            valid is not None and valid.shape != negatives.shape):
        raise ValueError(f"ranks_among_negatives needs scores (P,) and (P, K) and a (P, K) mask, got "
                         f"{tuple(positive.shape)}, {tuple(negatives.shape)} and "
                         f"{None if valid is None else tuple(valid.shape)}")
    signs = torch.sign(negatives - positive[:, None]).nan_to_num_(0.0)
    if valid is None:
        return 1.0 + 0.5 * (negatives.size(1) + signs.sum(1))
    return 1.0 + 0.5 * (valid.sum(1) + (signs * valid).sum(1))


def ranking_metrics(ranks: torch.Tensor) -> dict[str, float]:
    r"""MRR and Hits@k of ranks (:func:`ranks_among_negatives`), :math:`k \in` :data:`HITS_AT`:

    .. math::
        \mathrm{MRR} = \frac1P \sum_i \frac{1}{\mathrm{rank}_i}, \qquad
        \mathrm{Hits@}k = \frac1P \sum_i [\mathrm{rank}_i \le k]

    (fractions in [0, 1]; a tie-shared rank such as 1.5 is not a hit at 1).

    Args:
        ranks: shape :math:`(P,)`, :math:`P \ge 1`.
    """
    if ranks.dim() != 1 or ranks.numel() == 0:
        raise ValueError(f"ranking_metrics needs a non-empty 1-D tensor of ranks, got shape {tuple(ranks.shape)}")
    ranks = ranks.detach().double().cpu()
    hits = {f"hits@{k}": float((ranks <= k).double().mean()) for k in HITS_AT}
    return {"mrr": float(ranks.reciprocal().mean()), **hits}

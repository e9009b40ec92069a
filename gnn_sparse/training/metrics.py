"""Link-prediction metrics on logits (scikit-learn for the ranking metrics)."""
from __future__ import annotations

import torch
from sklearn.metrics import average_precision_score, roc_auc_score


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

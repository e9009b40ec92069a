r"""Classification metrics of the image runner: accuracy (%), macro one-vs-rest ROC-AUC and AP.

The results JSON has the same keys as link prediction. For :math:`K` classes, softmax
probabilities :math:`p_{ik}` and labels :math:`y_i`:

.. math::
    \mathrm{acc} = \frac{100}{n}\sum_i [\arg\max_k p_{ik} = y_i], \qquad
    \mathrm{AUC} = \frac{1}{|K'|}\sum_{k \in K'} \mathrm{AUC}\big([y_i = k],\ p_{ik}\big),

and AP likewise with :func:`sklearn.metrics.average_precision_score`: the unweighted
(macro) mean of the one-vs-rest binary scores, over the classes :math:`K'` that have both
positives and negatives in the split (all of them on digits and CIFAR test sets; fewer only
on tiny test data). ``auc`` and ``ap`` are ``None`` when no class qualifies.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np
import torch
from sklearn.metrics import average_precision_score, roc_auc_score
from torch import nn


@torch.no_grad()
def predict_proba(model: nn.Module, loader: Iterable[tuple[torch.Tensor, torch.Tensor]],
                  device: torch.device | str) -> tuple[torch.Tensor, torch.Tensor, float]:
    """``(probabilities (n, K), labels (n,), summed cross-entropy)`` on the CPU, in eval mode;
    the model's train/eval mode is restored afterwards."""
    was_training = model.training
    model.eval()
    probs, labels, loss = [], [], torch.zeros((), dtype=torch.float64, device=device)
    try:
        for x, y in loader:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            logits = model(x)
            loss += nn.functional.cross_entropy(logits, y, reduction="sum")
            probs.append(torch.softmax(logits.float(), 1).cpu())
            labels.append(y.cpu())
    finally:
        model.train(was_training)
    if not labels:
        raise ValueError("predict_proba: the loader yielded no batch")
    return torch.cat(probs), torch.cat(labels), float(loss)


def classification_metrics(probs: torch.Tensor, labels: torch.Tensor) -> dict[str, float | None]:
    """``{"accuracy": %, "auc": macro OvR ROC-AUC or None, "ap": macro OvR AP or None}``."""
    if probs.dim() != 2 or labels.shape != (probs.shape[0],) or labels.numel() == 0:
        raise ValueError(f"classification_metrics: need probabilities (n, K) and labels (n,), got "
                         f"{tuple(probs.shape)} and {tuple(labels.shape)}")
    accuracy = 100.0 * float((probs.argmax(1) == labels).double().mean())
    y, p = labels.numpy(), probs.double().numpy()
    aucs, aps = [], []
    for k in range(p.shape[1]):
        positive = y == k
        if positive.any() and not positive.all():
            aucs.append(roc_auc_score(positive, p[:, k]))
            aps.append(average_precision_score(positive, p[:, k]))
    return {"accuracy": accuracy, "auc": float(np.mean(aucs)) if aucs else None,
            "ap": float(np.mean(aps)) if aps else None}


def evaluate_split(model: nn.Module, loader, device) -> dict[str, float | None]:
    """Accuracy (%), AUC, AP and mean cross-entropy ``loss`` of ``model`` on ``loader``."""
    probs, labels, loss = predict_proba(model, loader, device)
    loss /= labels.numel()
    if loss != loss or loss in (float("inf"), float("-inf")):
        raise FloatingPointError(f"evaluate_split: the mean loss is not finite ({loss})")
    return {**classification_metrics(probs, labels), "loss": loss}

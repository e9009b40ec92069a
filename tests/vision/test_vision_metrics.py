"""The image runner's metrics against a hand computation."""
import pytest
import torch

from gnn_sparse.vision.metrics import classification_metrics


def test_classification_metrics_hand_checked():
    """Four images, labels 0 0 1 2, a fourth class never present (left out of the macro means).

    Accuracy: argmax 0 1 1 0, two right, 50%. Class 0 (positives 0.7, 0.4; negatives 0.3,
    0.5): AUC 3/4 pairs ordered = 0.75; AP: ranked P N P N, precisions 1 and 2/3, so 5/6.
    Classes 1 and 2: the positive ranks first, AUC = AP = 1. Macro: AUC 11/12, AP 17/18."""
    probs = torch.tensor([[0.7, 0.2, 0.1, 0.0],
                          [0.4, 0.5, 0.1, 0.0],
                          [0.3, 0.6, 0.1, 0.0],
                          [0.5, 0.1, 0.4, 0.0]])
    metrics = classification_metrics(probs, torch.tensor([0, 0, 1, 2]))
    assert metrics["accuracy"] == 50.0
    assert metrics["auc"] == pytest.approx(11 / 12, abs=1e-12)
    assert metrics["ap"] == pytest.approx(17 / 18, abs=1e-12)


def test_classification_metrics_without_a_two_sided_class():
    metrics = classification_metrics(torch.tensor([[0.9, 0.1], [0.8, 0.2]]), torch.tensor([0, 0]))
    assert metrics == {"accuracy": 100.0, "auc": None, "ap": None}

"""Which temporal edges are training, validation and test positives.

Both functions take the number of events ``E`` of a graph whose events are already in
chronological order (stable-sorted by time) and return three sorted index arrays.
Sizes, with :math:`r_v` = ``val_ratio`` and :math:`r_t` = ``test_ratio``:

.. math::
    E_\\text{test} = \\operatorname{round}(r_t E), \\quad
    E_\\text{val} = \\operatorname{round}(r_v E), \\quad
    E_\\text{train} = E - E_\\text{val} - E_\\text{test}.

Events that share a timestamp at a boundary keep their file order (stable sort), so a tie
may straddle two splits; the split is by event count, as in the original pipeline.
"""
from __future__ import annotations

import numpy as np

from gnn_sparse.data.errors import SplitError

SPLITS = ("chronological", "original")


def check_ratios(val_ratio: float, test_ratio: float) -> None:
    """Raise ``ValueError`` unless ``0 < val_ratio``, ``0 < test_ratio`` and their sum ``< 1``."""
    if not (0 < val_ratio < 1 and 0 < test_ratio < 1 and val_ratio + test_ratio < 1):
        raise ValueError(
            f"need 0 < val_ratio, 0 < test_ratio and val_ratio + test_ratio < 1, "
            f"got val_ratio={val_ratio}, test_ratio={test_ratio}"
        )


def split_sizes(num_events: int, val_ratio: float, test_ratio: float) -> tuple[int, int, int]:
    """``(E_train, E_val, E_test)``; raises :class:`SplitError` if any of them is 0."""
    check_ratios(val_ratio, test_ratio)
    n_test = round(test_ratio * num_events)
    n_val = round(val_ratio * num_events)
    n_train = num_events - n_val - n_test
    if min(n_train, n_val, n_test) <= 0:
        raise SplitError(
            f"too few edges for the split: {num_events} events give train/val/test = "
            f"{n_train}/{n_val}/{n_test} (val_ratio={val_ratio}, test_ratio={test_ratio}); "
            "every split needs at least one edge"
        )
    return n_train, n_val, n_test


def chronological_split(
    num_events: int, val_ratio: float = 0.2, test_ratio: float = 0.2
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Oldest ``E_train`` events train, the next ``E_val`` validate, the newest ``E_test`` test.

    No information flows backwards in time: every validation event is at least as recent
    as every training event, and every test event at least as recent as every validation one.
    """
    n_train, n_val, _ = split_sizes(num_events, val_ratio, test_ratio)
    idx = np.arange(num_events)
    return idx[:n_train], idx[n_train:n_train + n_val], idx[n_train + n_val:]


def original_split(
    num_events: int, val_ratio: float, test_ratio: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The original pipeline's split, kept to reproduce its numbers. **Leaky.**

    Test = newest ``E_test`` events. Training (``E_train`` events) and validation
    (``E_val`` events) are each sampled without replacement from the older
    ``E - E_test`` events, *independently of each other*, so validation positives can also
    be training positives and validation accuracy overestimates generalisation. Use the
    chronological split for model selection.
    """
    n_train, n_val, n_test = split_sizes(num_events, val_ratio, test_ratio)
    window = num_events - n_test
    train = np.sort(rng.choice(window, size=n_train, replace=False))
    val = np.sort(rng.choice(window, size=n_val, replace=False))
    return train, val, np.arange(window, num_events)

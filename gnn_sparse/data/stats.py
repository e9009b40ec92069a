"""Shape statistics of a temporal graph: the figures that tell a talk graph from a random one.

Why: a generated graph (:mod:`gnn_sparse.data.twin`) is only a stand-in for a real one if it
has the real graph's shape, so the shape is measured the same way on any
:class:`~gnn_sparse.data.parse.EdgeList`. For ``E`` events on ``P`` distinct directed pairs:

* **repeated events**: :math:`1 - P/E`, the fraction of events whose directed pair already
  had an event (a user keeps talking to the same partners);
* **reciprocity**: the fraction of distinct directed pairs ``(u, v)`` whose reverse ``(v, u)``
  is a pair too;
* **replies within a day**: the fraction of events ``u -> v`` at ``t`` followed by an event
  ``v -> u`` in :math:`[t, t + 86400]` (times in seconds);
* **degrees**: static out-degree (distinct destinations) and in-degree (distinct sources) of
  every node; their power-law exponent :math:`\\hat\\alpha` of :math:`P(k) \\propto k^{-\\alpha}`
  is the discrete maximum-likelihood estimate of Clauset, Shalizi and Newman (2009) over the
  degrees :math:`k_i \\ge k_\\min`: :math:`\\hat\\alpha = 1 + N \\,/\\, \\sum_i \\ln(k_i / (k_\\min - 1/2))`;
* **burstiness** :math:`B = (\\sigma - \\mu)/(\\sigma + \\mu)` of the gaps between consecutive
  events sent by the same node (Goh and Barabási, 2008): 0 for a Poisson process, towards 1
  for bursts separated by long silences.

Everything is vectorised (sorts, ``unique`` and ``searchsorted``); at wiki-talk size it runs in
seconds.
"""
from __future__ import annotations

import numpy as np

from gnn_sparse.data.parse import EdgeList

DAY = 86_400


def temporal_graph_stats(edges: EdgeList, k_min: int = 10) -> dict[str, float | int]:
    """The statistics of the module docstring for ``edges``.

    Args:
        edges: the events.
        k_min: smallest degree in the power-law fits (default: ``10``).

    Returns:
        ``nodes``, ``events``, ``pairs``, ``repeated_events``, ``reciprocity``,
        ``replies_within_day``, ``span_days``, ``burstiness`` and, for ``out`` and ``in``:
        ``{d}_degree_max``, ``{d}_degree_mean``, ``{d}_exponent``.

    Example:
        >>> g = EdgeList(np.array([0, 1, 0]), np.array([1, 0, 1]), np.array([0.0, 60.0, 90.0]), 2)
        >>> s = temporal_graph_stats(g, k_min=1)
        >>> s["pairs"], round(s["repeated_events"], 3), s["reciprocity"], round(s["replies_within_day"], 3)
        (2, 0.333, 1.0, 0.667)
    """
    n, src, dst = edges.num_nodes, edges.src.astype(np.int64), edges.dst.astype(np.int64)
    time = np.round(edges.time - edges.time.min()).astype(np.int64)
    keys, pair = np.unique(src * n + dst, return_inverse=True)
    reverse = (keys % n) * n + keys // n
    out = {
        "nodes": n,
        "events": len(src),
        "pairs": len(keys),
        "repeated_events": 1 - len(keys) / len(src),
        "reciprocity": float(np.isin(reverse, keys).mean()),
        "replies_within_day": _replies(pair, keys, reverse, time),
        "span_days": float(time.max() / DAY),
        "burstiness": _burstiness(src, time),
    }
    for name, ends in (("out", keys // n), ("in", keys % n)):
        degree = np.bincount(ends, minlength=n)
        out[f"{name}_degree_max"] = int(degree.max())
        out[f"{name}_degree_mean"] = float(degree.mean())
        out[f"{name}_exponent"] = power_law_exponent(degree, k_min)
    return out


def power_law_exponent(degrees: np.ndarray, k_min: int) -> float:
    """Discrete maximum-likelihood :math:`\\hat\\alpha` over the degrees ``>= k_min`` (``nan`` when none)."""
    tail = degrees[degrees >= k_min].astype(np.float64)
    if len(tail) == 0:
        return float("nan")
    return float(1 + len(tail) / np.log(tail / (k_min - 0.5)).sum())


def degree_ccdf(degrees: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(k, P(degree >= k))`` at each distinct positive degree ``k``: the log-log plot's points."""
    values, counts = np.unique(degrees[degrees > 0], return_counts=True)
    return values, counts[::-1].cumsum()[::-1] / counts.sum()


def _replies(pair: np.ndarray, keys: np.ndarray, reverse: np.ndarray, time: np.ndarray) -> float:
    """Fraction of events whose reverse pair has an event within a day at or after them."""
    stride = int(time.max()) + 1
    order = np.argsort(pair * stride + time, kind="stable")
    sorted_key = (pair * stride + time)[order]
    rev = np.searchsorted(keys, reverse)
    has_reverse = (rev < len(keys)) & (keys[np.minimum(rev, len(keys) - 1)] == reverse)
    events = np.flatnonzero(has_reverse[pair])
    query = rev[pair[events]] * stride + time[events]
    at = np.searchsorted(sorted_key, query)
    found = sorted_key[np.minimum(at, len(sorted_key) - 1)]
    hit = (at < len(sorted_key)) & (found // stride == query // stride) & (found - query <= DAY)
    return float(hit.sum() / len(pair))


def _burstiness(src: np.ndarray, time: np.ndarray) -> float:
    """:math:`B` of the pooled gaps between consecutive events of the same source."""
    order = np.lexsort((time, src))
    same = src[order][1:] == src[order][:-1]
    gaps = np.diff(time[order])[same].astype(np.float64)
    if len(gaps) < 2:
        return float("nan")
    mu, sigma = gaps.mean(), gaps.std()
    return float((sigma - mu) / (sigma + mu))

"""Node pairs as 64-bit keys: deduplication, symmetrisation and membership without Python loops.

A directed pair ``(u, v)`` of a graph with ``n`` nodes is encoded as

.. math::
    k(u, v) = u \\cdot n + v, \\qquad u = \\lfloor k / n \\rfloor, \\quad v = k \\bmod n,

which is a bijection onto ``[0, n^2)`` and fits ``int64`` for ``n < 3.03 \\cdot 10^9``.
Sorting the keys orders pairs by ``(u, v)``; a sort plus a neighbour comparison deduplicates
them, and ``np.searchsorted`` on sorted queries tests membership, all vectorised. (Both are
spelled out rather than left to ``np.unique`` / ``np.isin``, which are 5-30x slower here:
numpy 2's hash-based ``unique`` and the cache misses of unsorted binary searches.)
"""
from __future__ import annotations

import numpy as np

MAX_NODES = 3_037_000_499  # floor(sqrt(2**63 - 1)): n * n still fits int64


def pair_keys(src: np.ndarray, dst: np.ndarray, num_nodes: int) -> np.ndarray:
    """``src * num_nodes + dst`` as ``int64`` (see the module docstring)."""
    if num_nodes > MAX_NODES:
        raise ValueError(f"{num_nodes} nodes do not fit 64-bit pair keys (at most {MAX_NODES})")
    return src.astype(np.int64) * num_nodes + dst.astype(np.int64)


def unique_pairs(src: np.ndarray, dst: np.ndarray, num_nodes: int, directed: bool) -> np.ndarray:
    """Sorted unique keys of the pairs; with ``directed=False`` each pair in both directions."""
    keys = pair_keys(src, dst, num_nodes)
    if not directed:
        keys = np.concatenate([keys, pair_keys(dst, src, num_nodes)])
    return sorted_unique(keys)


def sorted_unique(keys: np.ndarray) -> np.ndarray:
    """``np.unique(keys)`` via one sort: keep each element that differs from its predecessor."""
    keys = np.sort(keys)
    keep = np.empty(len(keys), dtype=bool)
    keep[:1] = True
    np.not_equal(keys[1:], keys[:-1], out=keep[1:])
    return keys[keep]


def keys_to_edge_index(keys: np.ndarray, num_nodes: int) -> np.ndarray:
    """Decode keys into an ``int64`` array of shape ``[2, len(keys)]``."""
    return np.stack([keys // num_nodes, keys % num_nodes])


def is_member(keys: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    """Boolean mask: which ``keys`` occur in the sorted array ``sorted_keys``.

    The queries are sorted first so the binary searches walk ``sorted_keys`` in order.
    """
    member = np.zeros(len(keys), dtype=bool)
    if len(sorted_keys) == 0 or len(keys) == 0:
        return member
    order = np.argsort(keys)
    queries = keys[order]
    pos = np.minimum(np.searchsorted(sorted_keys, queries), len(sorted_keys) - 1)
    member[order] = sorted_keys[pos] == queries
    return member

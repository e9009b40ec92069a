"""Temporal random walks on a directed temporal multigraph, vectorised over walkers.

The walk of the original pipeline (Talati et al., IISWC 2021): from a node ``v`` reached at
time :math:`t_\\text{cur}`, the next step follows one out-edge ``e = (v, u, t_e)`` with a
*strictly later* timestamp, :math:`t_e > t_\\text{cur}`, chosen with probability

.. math::
    P(e \\mid v, t_\\text{cur}) =
    \\frac{\\exp\\big((t_e - t_\\text{cur}) / \\Delta t_v\\big)}
         {\\sum_{e' = (v, \\cdot, t_{e'}),\\ t_{e'} > t_\\text{cur}}
          \\exp\\big((t_{e'} - t_\\text{cur}) / \\Delta t_v\\big)}.

Sign convention: the exponent is positive for later edges, so the walk *prefers later
edges* (as the original code does; it is not CTDNE's decay towards the nearest edge).
Timestamps are first normalised to :math:`[0, 1]` over the events given. ``dt=None`` (the
default, as in the original) uses the span of ``v``'s own out-edge times,
:math:`\\Delta t_v = \\max_e t_e - \\min_e t_e` over all out-edges of ``v``, and a uniform
choice when that span is 0; a float ``dt > 0`` is one :math:`\\Delta t` for every node, in
units of the normalised time span (``dt=1`` = the whole span).

A walk starts at every node that has an out-edge (``walks_per_node`` walks each) with no
current time, so its first step may take any out-edge of the start node (same weights,
which only depend on :math:`t_e` once :math:`t_\\text{cur}` is fixed). The original starts
at time 0 with a strict ``>``, so it never walks an edge with the earliest timestamp; we
do. It also emits one-node "walks" for nodes without out-edges; we do not: they carry no
skip-gram context. A walk of ``walk_length`` steps has up to ``walk_length + 1`` nodes
(``length 5`` in the original = 5 steps, 6 nodes) and stops early at a node with no later
out-edge.

Implementation: out-edges in CSR order sorted by ``(src, time)``. Every step handles all
live walkers at once: one ``searchsorted`` on the integer key ``src * (T + 1) + rank(t)``
(``T`` distinct times; exact, no float tie issues) finds the first strictly later out-edge,
and inverse-CDF sampling on the prefix sums of :math:`w_e = \\exp((t_e - \\max_{e'} t_{e'})
/ \\Delta t_v)` draws within that suffix. Subtracting the node's latest time changes every
candidate's weight by the same factor (so :math:`P` is unchanged), keeps
:math:`w_e \\in (0, 1]` (no overflow), and the node's latest edge, in every non-empty
suffix, has :math:`w_e = 1` (no empty mass). The only Python loop is over the steps.

Randomness is counter-based: the draw of walk ``i`` at step ``s`` is a hash of ``(seed, i *
walk_length + s)`` (:func:`walk_uniforms`), so walks can be generated in chunks of any size
(:class:`TemporalWalkSampler`) with results identical to generating them all at once.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np


@dataclass(frozen=True)
class TemporalWalks:
    """Walks as padded arrays; walk ``i`` is ``nodes[i, :lengths[i] + 1]``.

    Attributes:
        nodes: ``int64 [W, walk_length + 1]``: start node, then one node per step; ``-1``
            after the walk stops.
        edges: ``int64 [W, walk_length]``: index (into the input arrays) of the event taken
            at each step; ``-1`` after the walk stops.
    """

    nodes: np.ndarray
    edges: np.ndarray

    @property
    def lengths(self) -> np.ndarray:
        """Steps taken by each walk (``int64 [W]``, between 0 and ``walk_length``)."""
        return (self.edges >= 0).sum(axis=1)

    def __len__(self) -> int:
        return len(self.nodes)


class TemporalWalkSampler:
    """The walks of one graph, generated in any slice or in chunks of bounded size.

    The out-edge index (CSR, keys, weight prefix sums; :math:`O(E)`) is built once. Walk
    ``i`` starts at ``starts[i % len(starts)]`` (all start nodes in increasing order, then
    again: round by round, as in the original) and its random draws are a function of
    ``(seed, i, step)`` only (:func:`walk_uniforms`), so :meth:`walks` of any slice equals the
    same rows of the whole set, and :meth:`chunks` yields the same walks whatever the chunk
    size: the chunk size bounds memory and never changes the result.

    Args:
        src, dst, time, num_nodes, walks_per_node, walk_length, dt, seed: as
            :func:`temporal_random_walks`.

    Attributes:
        num_walks: ``walks_per_node *`` (number of nodes with an out-edge).
    """

    def __init__(self, src: np.ndarray, dst: np.ndarray, time: np.ndarray, num_nodes: int, *,
                 walks_per_node: int = 10, walk_length: int = 5, dt: float | None = None, seed: int = 0):
        check_walk_params(walks_per_node=walks_per_node, walk_length=walk_length, dt=dt)
        if not 0 <= seed < 2**64:
            raise ValueError(f"temporal_random_walks: seed must be in [0, 2**64), got {seed}")
        src, dst, time = check_events(src, dst, time, num_nodes)
        self.walk_length, self.seed = walk_length, seed

        t = normalise_time(time)
        self._order = np.lexsort((t, src))  # CSR order: by source, then time (stable)
        s_t = t[self._order]
        self._dst = dst[self._order]
        self._indptr = np.zeros(num_nodes + 1, dtype=np.int64)
        np.cumsum(np.bincount(src, minlength=num_nodes), out=self._indptr[1:])
        times, self._rank = np.unique(s_t, return_inverse=True)
        self._stride = len(times) + 1
        self._key = src[self._order] * self._stride + self._rank + 1  # sorted; rank + 1 >= 1: "no time" (-1) first
        self._cum = np.concatenate([[0.0], np.cumsum(_weights(s_t, self._indptr, dt))])
        self.starts = np.flatnonzero(np.diff(self._indptr) > 0)
        self.num_walks = walks_per_node * len(self.starts)

    def walks(self, start: int = 0, stop: int | None = None) -> TemporalWalks:
        """Walks ``start .. stop - 1`` (default: all), vectorised over walkers."""
        stop = self.num_walks if stop is None else min(stop, self.num_walks)
        index = np.arange(start, max(start, stop), dtype=np.int64)
        here = self.starts[index % len(self.starts)]
        nodes = np.full((len(index), self.walk_length + 1), -1, dtype=np.int64)
        edges = np.full((len(index), self.walk_length), -1, dtype=np.int64)
        nodes[:, 0] = here
        live = np.arange(len(index))
        here_rank = np.full(len(index), -1, dtype=np.int64)
        for step in range(self.walk_length):
            lo = np.searchsorted(self._key, here * self._stride + here_rank + 1, side="right")
            hi = self._indptr[here + 1]
            go = lo < hi
            live, lo, hi = live[go], lo[go], hi[go]
            if len(live) == 0:
                break
            u = walk_uniforms(self.seed, index[live] * self.walk_length + step)
            target = self._cum[lo] + u * (self._cum[hi] - self._cum[lo])
            pick = np.clip(np.searchsorted(self._cum, target, side="right") - 1, lo, hi - 1)
            edges[live, step] = self._order[pick]
            nodes[live, step + 1] = here = self._dst[pick]
            here_rank = self._rank[pick]
        return TemporalWalks(nodes=nodes, edges=edges)

    def chunks(self, chunk_size: int) -> Iterator[TemporalWalks]:
        """The walks in order, ``chunk_size`` at a time (only one chunk exists at once)."""
        if chunk_size < 1:
            raise ValueError(f"temporal_random_walks: chunk_size must be >= 1, got {chunk_size}")
        for start in range(0, self.num_walks, chunk_size):
            yield self.walks(start, start + chunk_size)


def temporal_random_walks(
    src: np.ndarray,
    dst: np.ndarray,
    time: np.ndarray,
    num_nodes: int,
    *,
    walks_per_node: int = 10,
    walk_length: int = 5,
    dt: float | None = None,
    seed: int = 0,
) -> TemporalWalks:
    """Time-respecting random walks (rule and weights in the module docstring), all at once.

    For large graphs, :meth:`TemporalWalkSampler.chunks` gives the same walks in bounded memory.

    Args:
        src: ``[E]`` integer source node of each event, in ``[0, num_nodes)``.
        dst: ``[E]`` integer destination node of each event, in ``[0, num_nodes)``.
        time: ``[E]`` finite timestamps (any unit; duplicates and any order allowed).
        num_nodes: number of nodes.
        walks_per_node: walks started at each node with an out-edge (default: ``10``).
        walk_length: maximum steps (edges) per walk (default: ``5``).
        dt: :math:`\\Delta t` in normalised time units, or ``None`` for each node's own
            out-edge time span, as in the original (default: ``None``).
        seed: in ``[0, 2**64)``; the same inputs and seed give the same walks (default: ``0``).

    Returns:
        :class:`TemporalWalks` with ``W = walks_per_node * (number of nodes with an
        out-edge)`` walks, ordered round by round (all start nodes in increasing order,
        then again), as in the original.

    Raises:
        ValueError: ``walk_length < 1``, ``walks_per_node < 1``, ``dt <= 0``, a seed out of
            range, no events, arrays of different lengths, non-integer or out-of-range node
            ids, or non-finite times.
    """
    return TemporalWalkSampler(src, dst, time, num_nodes, walks_per_node=walks_per_node,
                               walk_length=walk_length, dt=dt, seed=seed).walks()


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _mix64(z: np.ndarray) -> np.ndarray:
    """SplitMix64's output function (Steele et al., 2014): a bijective 64-bit avalanche."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def walk_uniforms(seed: int, counter: np.ndarray) -> np.ndarray:
    """Uniform doubles in ``[0, 1)``, one per ``counter`` (``walk * walk_length + step``).

    Counter-based (SplitMix64: output ``counter`` of the stream keyed by ``seed``), so a
    walk's draws do not depend on which other walks are generated with it.
    """
    key = _mix64(np.array([seed], dtype=np.uint64) + _GOLDEN)  # arrays wrap silently, scalars warn
    z = _mix64(np.asarray(counter, dtype=np.uint64) * _GOLDEN + key)
    return (z >> np.uint64(11)).astype(np.float64) * 2.0**-53


def check_walk_params(*, walks_per_node: int, walk_length: int, dt: float | None) -> None:
    """``ValueError`` unless ``walks_per_node >= 1``, ``walk_length >= 1`` and ``dt`` is ``None`` or ``> 0``."""
    if walks_per_node < 1:
        raise ValueError(f"temporal_random_walks: walks_per_node must be >= 1, got {walks_per_node}")
    if walk_length < 1:
        raise ValueError(f"temporal_random_walks: walk_length must be >= 1, got {walk_length}")
    if dt is not None and not (np.isfinite(dt) and dt > 0):
        raise ValueError(f"temporal_random_walks: dt must be a finite float > 0 or None, got {dt}")


def check_events(
    src: np.ndarray, dst: np.ndarray, time: np.ndarray, num_nodes: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(src, dst, time)`` as ``int64, int64, float64`` arrays; ``ValueError`` if invalid."""
    src, dst, time = np.asarray(src), np.asarray(dst), np.asarray(time)
    if not (src.ndim == dst.ndim == time.ndim == 1 and len(src) == len(dst) == len(time)):
        raise ValueError(
            f"temporal events: src, dst and time must be 1-D of one length, got shapes "
            f"{src.shape}, {dst.shape}, {time.shape}"
        )
    if len(src) == 0:
        raise ValueError("temporal events: no events (the graph visible to the walks is empty)")
    if src.dtype.kind not in "iu" or dst.dtype.kind not in "iu":
        raise ValueError(f"temporal events: node ids must be integers, got {src.dtype} and {dst.dtype}")
    low, high = min(src.min(), dst.min()), max(src.max(), dst.max())
    if low < 0 or high >= num_nodes:
        raise ValueError(f"temporal events: node ids must be in [0, {num_nodes}), found {low}..{high}")
    time = time.astype(np.float64, copy=False)
    if not np.isfinite(time).all():
        raise ValueError("temporal events: timestamps must be finite")
    return src.astype(np.int64, copy=False), dst.astype(np.int64, copy=False), time


def normalise_time(time: np.ndarray) -> np.ndarray:
    """Min-max normalisation to ``[0, 1]`` (all zeros when every timestamp is equal)."""
    span = time.max() - time.min()
    return (time - time.min()) / span if span > 0 else np.zeros_like(time)


def _weights(s_t: np.ndarray, indptr: np.ndarray, dt: float | None) -> np.ndarray:
    """:math:`\\exp((t_e - \\max_v t) / \\Delta t_v)` per edge in CSR order (1 when the span is 0)."""
    degree = np.diff(indptr)
    has = degree > 0
    latest = np.repeat(s_t[indptr[1:][has] - 1], degree[has])
    if dt is None:
        earliest = np.repeat(s_t[indptr[:-1][has]], degree[has])
        span = latest - earliest
    else:
        span = np.full_like(s_t, dt)
    return np.exp((s_t - latest) / np.where(span > 0, span, 1.0))  # span 0: t_e = latest, w = 1

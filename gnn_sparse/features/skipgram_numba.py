r"""Skip-gram with negative sampling compiled with numba: gensim's algorithm, faster on big
vocabularies of short walks (``SkipGramParams(backend="numba")``).

Why we differ from gensim here (deliberately, and only as an option): at wiki-talk size (a
1.1M-node vocabulary, walks of 2-5 nodes, dimension 8) gensim spends most of its time per
negative in a binary search of its cumulative unigram table and in BLAS calls on 8-float
vectors, and the twalk features missed the 5-minute target at wiki-talk size (~8.5 min with
two workers). This kernel trains the same objective as :mod:`~gnn_sparse.features.embedding`
with the same choices, written for that case:

* skip-gram pairs as gensim's ``sg=1``: for the centre node at position :math:`i` an
  effective window :math:`w - b`, :math:`b` uniform in :math:`0..w-1`, and for each context
  :math:`j` the context's input vector :math:`\mathbf{v}_j` is trained to predict the centre's
  output vector :math:`\mathbf{u}_i` against ``negatives`` nodes drawn from
  :math:`P_n(n) \propto \operatorname{count}(n)^{3/4}` (a drawn node equal to the centre is
  skipped);
* frequent nodes down-sampled as gensim's ``sample=1e-3``: a token of a node with count
  :math:`c` is kept with probability :math:`\min(1, (\sqrt{c / s} + 1)\, s / c)`,
  :math:`s = 10^{-3} \cdot \text{tokens}`;
* learning rate 0.025 decayed linearly to 0.0001 over all epochs, plain SGD updates
  (no update where :math:`|\mathbf{u}^\top \mathbf{v}| \ge 6`, as gensim), input vectors
  initialised uniform in :math:`\pm 1 / \text{dim}`, output vectors at zero; the result is
  the input vectors;
* rows ordered by decreasing count (ties by node id), as gensim's vocabulary, so the
  frequent rows that most negatives hit share cache lines; the walks are relabelled to rows
  once (an ``int32`` copy of them in memory, 4 bytes per step) instead of a lookup per token.

What differs: negatives come from an alias table (Walker's method: one uniform row and one
coin, exact probabilities, one cache line: :func:`negative_table`) instead of a binary
search; the random numbers are a xorshift generator seeded per block of walks from ``seed``
and the epoch, so the vectors are not gensim's; the learning-rate decay counts walks, not
tokens. ``benchmarks/bench_skipgram.py`` compares the two on speed (3-5x per core) and
``benchmarks/bench_skipgram_backends.py`` on link-prediction accuracy, paired by seed (no
worse on any of four graphs; docs/benchmarks.md).

Determinism: with ``workers=1`` the blocks run in order and the result is a function of the
walks, the parameters and the machine (numba's ``fastmath`` may reorder float sums on
another CPU). With ``workers=k > 1`` blocks run on ``k`` threads that update the shared
vectors without locks (Hogwild, as gensim's workers): faster, not reproducible.

Threads: numba's OpenMP layer shares libgomp with torch and leaves torch's thread count
changed (measured: a classifier's steps 30x slower after one skip-gram), so unless
``NUMBA_THREADING_LAYER`` says otherwise the kernel uses numba's own ``workqueue`` threads,
and torch's thread count is restored after training in any case.
"""
from __future__ import annotations

import os

import numba
import numpy as np
import torch

BLOCK = 8192
"""Walks per block: the unit of work of a thread and of the random stream (fixed, so the
result with one worker does not depend on how many threads exist)."""
ALPHA, MIN_ALPHA, SAMPLE = 0.025, 0.0001, 1e-3
"""gensim's defaults, which the original pipeline kept."""


def _use_workqueue_threads() -> None:
    """numba's own thread pool, not OpenMP (module docstring), unless the user chose a layer."""
    if "NUMBA_THREADING_LAYER" not in os.environ:
        numba.config.THREADING_LAYER = "workqueue"  # takes effect if no parallel code has run yet


@numba.njit(cache=True)
def _mix(x):
    """splitmix64: a well-spread 64-bit seed from a counter (never 0 for xorshift)."""
    x = (x + np.uint64(0x9E3779B97F4A7C15))
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return (x ^ (x >> np.uint64(31))) | np.uint64(1)


@numba.njit(cache=True)
def _next(s):
    """xorshift64."""
    s ^= s << np.uint64(13)
    s ^= s >> np.uint64(7)
    s ^= s << np.uint64(17)
    return s


@numba.njit(cache=True)
def alias_table(weights):
    """Walker's alias table of ``weights`` (Vose's method): draw ``r`` uniform in ``[0, n)``
    and keep it with probability ``prob[r]``, else take ``alias[r]``."""
    n = weights.size
    prob = np.ones(n, np.float32)
    alias = np.arange(n).astype(np.int32)
    scaled = weights * (n / weights.sum())
    small = np.empty(n, np.int64)
    large = np.empty(n, np.int64)
    num_small = num_large = 0
    for i in range(n):
        if scaled[i] < 1.0:
            small[num_small] = i
            num_small += 1
        else:
            large[num_large] = i
            num_large += 1
    while num_small > 0 and num_large > 0:
        num_small -= 1
        s = small[num_small]
        big = large[num_large - 1]
        prob[s] = scaled[s]
        alias[s] = big
        scaled[big] = scaled[big] + scaled[s] - 1.0
        if scaled[big] < 1.0:
            num_large -= 1
            small[num_small] = big
            num_small += 1
    return prob, alias


@numba.njit(cache=True, inline="always")
def _negative(s, table, vocab):
    """The negative of the random state ``s``: row ``s mod V``, kept when the high 32 bits of
    ``s`` are below its threshold, else its alias (one lookup in the packed table)."""
    target = np.int64(s % vocab)
    if np.uint32(s >> np.uint64(32)) >= table[target, 0]:
        target = np.int64(table[target, 1])
    return target


@numba.njit(cache=True)
def draw_negatives(table, count, seed):
    """``count`` negatives drawn from ``table`` (:func:`negative_table`) by the training
    kernel's own draw and random stream, to check their distribution."""
    out = np.empty(count, np.int64)
    vocab = np.uint64(table.shape[0])
    s = _mix(np.uint64(seed))
    for i in range(count):
        s = _next(s)
        out[i] = _negative(s, table, vocab)
    return out


@numba.njit(cache=True, fastmath=True, parallel=True)
def _train_epoch(walks, syn0, syn1, keep, table, window, negatives, epoch, epochs, seed):
    num_walks, length = walks.shape
    dim, vocab = syn0.shape[1], np.uint64(table.shape[0])
    num_blocks = (num_walks + BLOCK - 1) // BLOCK
    total = np.float64(num_walks) * epochs
    for block in numba.prange(num_blocks):
        s = _mix(np.uint64(seed) * np.uint64(1_000_003) + np.uint64(epoch) * np.uint64(num_blocks) + np.uint64(block))
        kept = np.empty(length, np.int64)
        work = np.empty(dim, np.float32)
        for w in range(block * BLOCK, min(num_walks, (block + 1) * BLOCK)):
            n = 0
            for t in range(length):
                r = walks[w, t]
                if r < 0:
                    break
                if keep[r] < 1.0:
                    s = _next(s)
                    if (s >> np.uint64(40)) * (1.0 / 16777216.0) >= keep[r]:
                        continue
                kept[n] = r
                n += 1
            alpha = ALPHA - (ALPHA - MIN_ALPHA) * ((np.float64(epoch) * num_walks + w) / total)
            for i in range(n):
                s = _next(s)
                b = np.int64(s % np.uint64(window))
                centre = kept[i]
                for j in range(max(0, i - window + b), min(n, i + window + 1 - b)):
                    if j == i:
                        continue
                    context = kept[j]
                    for d in range(dim):
                        work[d] = 0.0
                    for k in range(negatives + 1):
                        if k == 0:
                            target, label = centre, 1.0
                        else:
                            s = _next(s)
                            target = _negative(s, table, vocab)
                            if target == centre:
                                continue
                            label = 0.0
                        f = 0.0
                        for d in range(dim):
                            f += syn0[context, d] * syn1[target, d]
                        if f <= -6.0 or f >= 6.0:
                            continue
                        g = (label - 1.0 / (1.0 + np.exp(-f))) * alpha
                        for d in range(dim):
                            work[d] += g * syn1[target, d]
                            syn1[target, d] += g * syn0[context, d]
                    for d in range(dim):
                        syn0[context, d] += work[d]


def negative_table(counts: np.ndarray) -> np.ndarray:
    r"""``uint32 [V, 2]``: per row, the alias table of :math:`\operatorname{count}^{3/4}` as
    (threshold of keeping the drawn row, out of :math:`2^{32}`; its alias), side by side so a
    negative costs one cache line."""
    prob, alias = alias_table(counts.astype(np.float64) ** 0.75)
    table = np.empty((len(prob), 2), dtype=np.uint32)
    table[:, 0] = np.minimum(np.round(prob.astype(np.float64) * 2.0**32), 2**32 - 1)
    table[:, 1] = alias
    return table


def vocabulary_rows(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(row, nodes)``: ``row[v]`` is node ``v``'s row (``-1`` if it never occurs), rows in
    gensim's vocabulary order (decreasing count, ties by node id); ``nodes[r]`` the node of row ``r``."""
    nodes = np.lexsort((np.arange(len(counts)), -counts))[: int(np.count_nonzero(counts))]
    row = np.full(len(counts), -1, dtype=np.int32)
    row[nodes] = np.arange(len(nodes), dtype=np.int32)
    return row, nodes


def keep_probabilities(counts: np.ndarray, sample: float = SAMPLE) -> np.ndarray:
    """gensim's down-sampling: the probability of keeping each token of a node with count
    ``c`` (``counts`` of the vocabulary's nodes)."""
    threshold = sample * counts.sum()
    return np.minimum(1.0, (np.sqrt(counts / threshold) + 1) * threshold / counts).astype(np.float32)


def train_skipgram(walks: np.ndarray, counts: np.ndarray, *, dim: int, window: int, negatives: int,
                   epochs: int, seed: int, workers: int, on_epoch=None) -> np.ndarray:
    """Skip-gram vectors of the nodes in ``walks``.

    Args:
        walks: ``int32 [W, L]`` node ids, ``-1``-padded rows (a memory map is fine: it is read
            once, to relabel the nodes by vocabulary row).
        counts: ``int64 [num_nodes]`` occurrences of each node in ``walks``.
        dim, window, negatives, epochs, seed, workers: as
            :class:`~gnn_sparse.features.embedding.SkipGramParams`.
        on_epoch: called after each epoch (a progress bar's ``update``).

    Returns:
        ``float32 [num_nodes, dim]``; rows of nodes with count 0 are zero.
    """
    _use_workqueue_threads()
    row, nodes = vocabulary_rows(counts)
    vocab_counts = counts[nodes].astype(np.float64)
    keep, table = keep_probabilities(vocab_counts), negative_table(vocab_counts)
    rows = np.empty(walks.shape, dtype=np.int32)  # walks in vocabulary rows: no lookup per token and epoch
    for start in range(0, len(walks), 1 << 20):
        chunk = np.asarray(walks[start:start + (1 << 20)])
        rows[start:start + len(chunk)] = np.where(chunk >= 0, row[np.maximum(chunk, 0)], -1)
    rng = np.random.default_rng(seed)
    syn0 = (rng.random((len(nodes), dim), dtype=np.float32) * 2 - 1) / np.float32(dim)
    syn1 = np.zeros_like(syn0)
    threads, torch_threads = numba.get_num_threads(), torch.get_num_threads()
    numba.set_num_threads(max(1, min(workers, numba.config.NUMBA_NUM_THREADS)))
    try:
        for epoch in range(epochs):
            _train_epoch(rows, syn0, syn1, keep, table, window, negatives, epoch, epochs, seed)
            if on_epoch is not None:
                on_epoch()
    finally:
        numba.set_num_threads(threads)
        torch.set_num_threads(torch_threads)
    out = np.zeros((len(counts), dim), dtype=np.float32)
    out[nodes] = syn0
    return out

"""Skip-gram node embeddings from walks (word2vec with negative sampling, via gensim).

Each walk is a sentence and each node a word. Skip-gram with negative sampling
(Mikolov et al., 2013) maximises, for every node :math:`c` and every node :math:`o` within
``window`` positions of it in a walk,

.. math::
    \\log \\sigma(\\mathbf{u}_o^\\top \\mathbf{v}_c)
    + \\sum_{k=1}^{K} \\mathbb{E}_{n_k \\sim P_n} \\log \\sigma(-\\mathbf{u}_{n_k}^\\top \\mathbf{v}_c),
    \\qquad P_n(n) \\propto \\operatorname{count}(n)^{3/4},

with :math:`K` = ``negatives``; the embedding of node :math:`c` is :math:`\\mathbf{v}_c`.
gensim's own defaults are kept for everything the original did not set (learning rate
0.025 decayed linearly to 0.0001, ``sample=1e-3`` down-sampling of frequent nodes,
``epochs=5``, effective window drawn uniformly in ``1..window`` per centre word).

Why gensim: ``benchmarks/bench_features.py`` compares it with a vectorised torch
skip-gram (same pairs, SparseAdam, one thread each) on the events visible to the test
split: email-Eu-core-temporal 0.6 s vs 2.4 s, test accuracy 91.4% vs 90.3%; sx-mathoverflow
11.6 s vs 43.6 s, 72.2% vs 68.2% (shared, loaded 2-core machine). gensim's C loop is faster,
at least as accurate, and the usual, well-kept implementation.

Nodes that occur in no walk of at least two nodes get no context and are not in the
vocabulary; their row is all zeros (a node seen only in held-out edges has no feature to
leak).

Determinism: ``workers=1`` and a fixed ``seed`` make the result a function of the walks,
the parameters and the gensim build, bit for bit on one machine. gensim >= 4 initialises
vectors from ``numpy.random.default_rng(seed)`` and draws negatives and window sizes from a
seeded generator, so ``PYTHONHASHSEED`` does not matter (gensim 3 seeded each vector with
Python's ``hash``; there, fix ``PYTHONHASHSEED``). A different gensim version, BLAS or CPU
may change the last bits. More workers would be faster but order-dependent, hence
non-reproducible.
"""
from __future__ import annotations

import logging

import numpy as np
import torch


def skipgram_embeddings(
    walks: np.ndarray,
    num_nodes: int,
    *,
    dim: int = 8,
    window: int = 10,
    negatives: int = 5,
    epochs: int = 5,
    seed: int = 0,
) -> torch.Tensor:
    """Train skip-gram on ``walks`` and return one vector per node.

    Args:
        walks: ``int [W, L]`` node ids, each row a walk padded with ``-1`` at the end
            (e.g. :attr:`~gnn_sparse.features.walks.TemporalWalks.nodes`).
        num_nodes: rows of the result; node ids must be in ``[0, num_nodes)``.
        dim: embedding dimension (default: ``8``).
        window: maximum distance between a node and its context in a walk (default: ``10``).
        negatives: negative samples per positive pair (default: ``5``).
        epochs: passes over the walks (default: ``5``).
        seed: seed of the initial vectors and the sampling, in ``[0, 2**32)`` (default: ``0``).

    Returns:
        ``FloatTensor [num_nodes, dim]``; rows of nodes not in any walk of two or more nodes
        are zero.

    Raises:
        ValueError: a parameter ``< 1`` (``dim``, ``window``, ``negatives``, ``epochs``), a
            seed out of range, a malformed ``walks`` array, or no walk with two nodes.
    """
    check_skipgram_params(dim=dim, window=window, negatives=negatives, epochs=epochs, seed=seed)
    walks = np.asarray(walks)
    if walks.ndim != 2 or walks.dtype.kind not in "iu":
        raise ValueError(f"skipgram_embeddings: walks must be a 2-D integer array, got {walks.dtype} {walks.shape}")
    if walks.size and walks.max() >= num_nodes:
        raise ValueError(f"skipgram_embeddings: node id {walks.max()} is not in [0, {num_nodes})")
    sentences = walks_to_sentences(walks)
    if not sentences:
        raise ValueError("skipgram_embeddings: no walk has two or more nodes, so there is no context to train on")

    from gensim.models import Word2Vec  # heavy import, only when embeddings are trained

    logging.getLogger("gensim").setLevel(logging.WARNING)
    model = Word2Vec(
        sentences, vector_size=dim, window=window, negative=negatives, epochs=epochs, seed=seed,
        sg=1, hs=0, min_count=1, workers=1,
    )
    out = torch.zeros(num_nodes, dim)
    ids = torch.tensor([int(key) for key in model.wv.index_to_key], dtype=torch.long)
    out[ids] = torch.from_numpy(model.wv.vectors)
    return out


def check_skipgram_params(*, dim: int, window: int, negatives: int, epochs: int, seed: int) -> None:
    """``ValueError`` unless ``dim``, ``window``, ``negatives``, ``epochs`` >= 1 and ``0 <= seed < 2**32``."""
    for name, value in (("dim", dim), ("window", window), ("negatives", negatives), ("epochs", epochs)):
        if value < 1:
            raise ValueError(f"skipgram_embeddings: {name} must be >= 1, got {value}")
    if not 0 <= seed < 2**32:
        raise ValueError(f"skipgram_embeddings: seed must be in [0, 2**32), got {seed}")


def walks_to_sentences(walks: np.ndarray) -> list[list[str]]:
    """Walks with two or more nodes, as lists of node-id strings, in their original order."""
    lengths = (walks >= 0).sum(axis=1)
    tokens = walks.astype(str).tolist()
    return [row[:n] for row, n in zip(tokens, lengths.tolist()) if n >= 2]

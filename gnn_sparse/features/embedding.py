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
11.6 s vs 43.6 s, 72.2% vs 68.2% (docs/benchmarks.md). gensim's C loop is faster,
at least as accurate, and the usual, well-kept implementation.
At wiki-talk size (``benchmarks/bench_scale.py``: 30.5M tokens, 1.1M-node vocabulary) that
loop costs ~221 s CPU per epoch on one worker (~140k tokens/s), which is what bounds the
feature time there, not the corpus. ``benchmarks/bench_skipgram.py`` shows why: each negative
is a binary search in gensim's cumulative table of the vocabulary plus a random row of the
output vectors, which miss the CPU caches once the vocabulary has millions of nodes (one
epoch of 3.5M tokens, 5 negatives: about 4x fewer tokens per CPU second at 1.1M nodes than
at 10k; docs/benchmarks.md).

The ``numba`` backend (``backend="numba"``, :mod:`~gnn_sparse.features.skipgram_numba`) is
the same algorithm compiled for that case: negatives from an alias table, dot products of 8
floats inline, walks as ``int32`` rows instead of text. It is a deliberate exception to using
the library: the 5-minute feature target at wiki-talk size is out of gensim's reach on 2
cores. The default, ``backend="auto"`` (:func:`resolve_backend`), takes numba from
:data:`AUTO_NUMBA_NODES` nodes on and gensim, the reference implementation, below, so every
graph of the committed reports keeps its gensim features, caches and results;
docs/benchmarks.md gives both backends' speed and their paired link-prediction accuracy
(``benchmarks/bench_skipgram_backends.py``).

Nodes that occur in no walk of at least two nodes get no context and are not in the
vocabulary; their row is all zeros (a node seen only in held-out edges has no feature to
leak).

Streaming: the walks (an array, or an iterable of chunks of walks) are written to a
temporary corpus file (:mod:`~gnn_sparse.features.corpus`) and gensim trains from it in
``corpus_file`` mode; the vocabulary comes from node counts taken while writing
(``build_vocab_from_freq``, ordered by decreasing count, ties by node id). Memory is one
chunk of walks plus the model (:math:`O(N \\cdot dim)`), never a Python list of the walks.

Determinism or speed (``workers``): with ``workers=1`` (the default) and a fixed ``seed``
the result is a function of the walks, the parameters and the gensim build, bit for bit on
one machine. gensim >= 4 initialises
vectors from ``numpy.random.default_rng(seed)`` and draws negatives and window sizes from a
seeded generator, so ``PYTHONHASHSEED`` does not matter (gensim 3 seeded each vector with
Python's ``hash``; there, fix ``PYTHONHASHSEED``). A different gensim version, BLAS or CPU
may change the last bits. More workers would be faster but order-dependent, hence
non-reproducible: with ``workers=k > 1`` gensim splits the corpus file into ``k`` parts
trained by ``k`` threads that update the shared vectors without locks (Hogwild), about
``k`` times faster on ``k`` free cores, but two runs with one seed differ. The worker count
is part of the feature-cache key and recorded in results.
"""
from __future__ import annotations

import importlib.util
import logging
import os
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import torch
from tqdm.auto import tqdm

from gnn_sparse.features.corpus import WalkCorpus, write_walk_corpus

SKIPGRAM_BACKENDS = ("auto", "gensim", "numba")
AUTO_NUMBA_NODES = 100_000
"""``backend="auto"`` takes the numba backend from this many nodes on (when numba is
installed), gensim below: on small graphs gensim is fast and the reference; at wiki-talk
size only numba is fast enough (docs/benchmarks.md)."""


def resolve_backend(backend: str, num_nodes: int) -> str:
    """The skip-gram implementation ``backend`` means for a graph of ``num_nodes`` nodes:
    itself, or for ``"auto"`` ``"numba"`` from :data:`AUTO_NUMBA_NODES` nodes on when numba
    is importable, else ``"gensim"``."""
    if backend != "auto":
        return backend
    if num_nodes >= AUTO_NUMBA_NODES and importlib.util.find_spec("numba") is not None:
        return "numba"
    return "gensim"


@dataclass(frozen=True)
class SkipGramParams:
    """The skip-gram settings (the original pipeline's defaults), checked on construction.

    Attributes:
        dim: embedding dimension.
        window: maximum distance between a node and its context in a walk.
        negatives: negative samples per positive pair.
        epochs: passes over the walks.
        seed: seed of the initial vectors and the sampling, in ``[0, 2**32)``.
        workers: training threads; ``1`` is deterministic, more are faster but not
            reproducible (module docstring).
        backend: ``"auto"`` (the default: :func:`resolve_backend`, gensim below
            :data:`AUTO_NUMBA_NODES` nodes, numba from there), ``"gensim"`` (gensim's
            Word2Vec) or ``"numba"`` (the same algorithm compiled for big vocabularies of
            short walks, :mod:`~gnn_sparse.features.skipgram_numba`; not bit-equal to gensim).

    Raises:
        ValueError: a size ``< 1`` or a seed out of range.
    """

    dim: int = 8
    window: int = 10
    negatives: int = 5
    epochs: int = 5
    seed: int = 0
    workers: int = 1
    backend: str = "auto"

    def __post_init__(self) -> None:
        if self.backend not in SKIPGRAM_BACKENDS:
            raise ValueError(f"skipgram_embeddings: backend must be one of {SKIPGRAM_BACKENDS}, got {self.backend!r}")
        for name in ("dim", "window", "negatives", "epochs", "workers"):
            if getattr(self, name) < 1:
                raise ValueError(f"skipgram_embeddings: {name} must be >= 1, got {getattr(self, name)}")
        if not 0 <= self.seed < 2**32:
            raise ValueError(f"skipgram_embeddings: seed must be in [0, 2**32), got {self.seed}")


def skipgram_embeddings(
    walks: np.ndarray | Iterable[np.ndarray],
    num_nodes: int,
    params: SkipGramParams | None = None,
    *,
    progress: bool = False,
    tmp_dir: str | os.PathLike | None = None,
    **overrides: Any,
) -> torch.Tensor:
    """Train skip-gram on ``walks`` and return one vector per node.

    Args:
        walks: ``int [W, L]`` node ids, each row a walk padded with ``-1`` at the end
            (e.g. :attr:`~gnn_sparse.features.walks.TemporalWalks.nodes`), or an iterable of
            such arrays (chunks, consumed once, in order).
        num_nodes: rows of the result; node ids must be in ``[0, num_nodes)``.
        params: the skip-gram settings (default: :class:`SkipGramParams`, the original's).
        progress: a ``tqdm`` bar per skip-gram epoch on stderr (default: ``False``).
        tmp_dir: where the temporary corpus file goes (default: the system's temp folder).
        **overrides: fields of :class:`SkipGramParams` replacing those of ``params``
            (``skipgram_embeddings(walks, n, dim=4, seed=1)``).

    Returns:
        ``FloatTensor [num_nodes, dim]``; rows of nodes not in any walk of two or more nodes
        are zero.

    Raises:
        ValueError: invalid parameters (:class:`SkipGramParams`), a malformed ``walks``
            array, or no walk with two nodes.
    """
    params = replace(params or SkipGramParams(), **overrides)
    params = replace(params, backend=resolve_backend(params.backend, num_nodes))
    chunks = [walks] if isinstance(walks, np.ndarray) or not isinstance(walks, Iterable) else walks
    with tempfile.TemporaryDirectory(prefix="gnn-sparse-walks-", dir=tmp_dir) as folder:
        corpus = write_backend_corpus(chunks, folder, num_nodes, params.backend)
        return skipgram_from_corpus(corpus, num_nodes, params, progress=progress)


def write_backend_corpus(chunks: Iterable[np.ndarray], folder: str | os.PathLike, num_nodes: int,
                         backend: str) -> WalkCorpus:
    """The walks written into ``folder`` as ``backend`` reads them: text lines for gensim's
    ``corpus_file``, ``int32`` rows for numba (:func:`~gnn_sparse.features.corpus.write_walk_corpus`)."""
    binary = backend == "numba"
    return write_walk_corpus(chunks, Path(folder) / ("walks.i32" if binary else "walks.txt"), num_nodes,
                             binary=binary)


def skipgram_from_corpus(
    corpus: WalkCorpus,
    num_nodes: int,
    params: SkipGramParams,
    *,
    progress: bool = False,
    stats: dict | None = None,
) -> torch.Tensor:
    """:func:`skipgram_embeddings` on an already written corpus file (text lines for gensim,
    ``binary`` for numba); ``stats``, if given, gets the CPU seconds (all threads) of the
    vocabulary (``vocab_cpu_s``) and of the training (``train_cpu_s``)."""
    if corpus.num_walks == 0:
        raise ValueError("skipgram_embeddings: no walk has two or more nodes, so there is no context to train on")
    stats = {} if stats is None else stats
    if (corpus.walk_length is not None) != (params.backend == "numba"):
        raise ValueError(f"skipgram_embeddings: backend {params.backend!r} needs a "
                         f"{'binary' if params.backend == 'numba' else 'text'} corpus, got {corpus.path}")
    if params.backend == "numba":
        return _numba_from_corpus(corpus, params, progress=progress, stats=stats)

    from gensim.models import Word2Vec  # heavy import, only when embeddings are trained
    from gensim.models.callbacks import CallbackAny2Vec

    class EpochBar(CallbackAny2Vec):
        def __init__(self, bar):
            self.bar = bar

        def on_epoch_end(self, model):
            self.bar.update()

    logging.getLogger("gensim").setLevel(logging.WARNING)
    tick = time.process_time()
    model = Word2Vec(vector_size=params.dim, window=params.window, negative=params.negatives, epochs=params.epochs,
                     seed=params.seed, sg=1, hs=0, min_count=1, workers=params.workers)
    present = np.flatnonzero(corpus.counts)
    model.build_vocab_from_freq(dict(zip(present.astype(str).tolist(), corpus.counts[present].tolist())),
                                corpus_count=corpus.num_walks)
    stats["vocab_cpu_s"], tick = time.process_time() - tick, time.process_time()
    workers = params.workers
    with tqdm(total=params.epochs, desc=f"skip-gram ({corpus.num_tokens:,} tokens, {workers} worker"
                                        f"{'s' if workers > 1 else ''})", unit="epoch", disable=not progress,
              dynamic_ncols=True, file=sys.stderr) as bar:
        model.train(corpus_file=str(corpus.path), total_words=corpus.num_tokens, epochs=params.epochs,
                    callbacks=[EpochBar(bar)])
    stats["train_cpu_s"] = time.process_time() - tick
    out = torch.zeros(num_nodes, params.dim)
    ids = torch.from_numpy(np.asarray(model.wv.index_to_key).astype(np.int64))
    out[ids] = torch.from_numpy(model.wv.vectors)
    return out


def _numba_from_corpus(corpus: WalkCorpus, params: SkipGramParams, *, progress: bool, stats: dict) -> torch.Tensor:
    from gnn_sparse.features.skipgram_numba import train_skipgram

    stats["vocab_cpu_s"], tick = 0.0, time.process_time()
    with tqdm(total=params.epochs, desc=f"skip-gram numba ({corpus.num_tokens:,} tokens, {params.workers} worker"
                                        f"{'s' if params.workers > 1 else ''})", unit="epoch", disable=not progress,
              dynamic_ncols=True, file=sys.stderr) as bar:
        vectors = train_skipgram(np.asarray(corpus.walks()), corpus.counts, dim=params.dim, window=params.window,
                                 negatives=params.negatives, epochs=params.epochs, seed=params.seed,
                                 workers=params.workers, on_epoch=bar.update)
    stats["train_cpu_s"] = time.process_time() - tick
    return torch.from_numpy(vectors)

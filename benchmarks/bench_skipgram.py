"""What bounds skip-gram at wiki-talk size: tokens per CPU second of each backend (gensim, numba)
against vocabulary size and negatives (the 5-minute feature target at wiki-talk size).

At wiki-talk size the corpus is short walks (~3 tokens each) over a ~1.1M-node vocabulary.
This benchmark writes corpora of ``--walks`` random walks of 2-5 tokens whose node
frequencies follow a power law (``count ~ rank**-0.8``) over vocabularies of different sizes,
and times one skip-gram epoch per setting and backend through the toolkit's own path
(:func:`~gnn_sparse.features.corpus.write_walk_corpus` then
:func:`~gnn_sparse.features.embedding.skipgram_from_corpus`, one worker, the original's
dimension 8 and window 10). It prints tokens per CPU second (``time.process_time``, so a
loaded machine moves it little) for each vocabulary size and number of negatives. Node ids
are shuffled, so a node's id says nothing of its frequency (as in a real graph).

Reading: in gensim each negative is a binary search in a cumulative table of the vocabulary
plus a random row of the output vectors, and every dot product of 8 floats a BLAS call; with
a vocabulary of millions the lookups miss the CPU caches, so the cost per token grows with
the vocabulary and with ``negatives``, not with the corpus. The numba backend draws a
negative from an alias table (two reads) and works on the 8 floats inline.

Usage::

    python benchmarks/bench_skipgram.py [--walks 1000000] [--vocab 10000 100000 1100000] [--negatives 1 5 10]
        [--backends gensim numba]
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from gnn_sparse.features.corpus import write_walk_corpus
from gnn_sparse.features.embedding import SKIPGRAM_BACKENDS, SkipGramParams, skipgram_embeddings, skipgram_from_corpus


def power_law_walks(num_walks: int, vocab: int, seed: int = 0) -> np.ndarray:
    """``int [num_walks, 5]`` walks of 2-5 nodes padded with ``-1``, nodes drawn with
    probability proportional to ``rank**-0.8``."""
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, vocab + 1) ** 0.8
    walks = rng.permutation(vocab)[rng.choice(vocab, size=(num_walks, 5), p=p / p.sum())]
    lengths = rng.integers(2, 6, num_walks)
    walks[np.arange(5) >= lengths[:, None]] = -1
    return walks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--walks", type=int, default=1_000_000, help="walks per corpus")
    parser.add_argument("--vocab", type=int, nargs="+", default=[10_000, 100_000, 1_100_000],
                        help="vocabulary sizes (wiki-talk: ~1.1M nodes in the walks)")
    parser.add_argument("--negatives", type=int, nargs="+", default=[1, 5, 10], help="negatives per pair")
    parser.add_argument("--backends", nargs="+", choices=SKIPGRAM_BACKENDS, default=list(SKIPGRAM_BACKENDS))
    args = parser.parse_args()
    if "numba" in args.backends:  # compile outside the timings
        skipgram_embeddings(power_law_walks(100, 10), 10, epochs=1, backend="numba")
    print(f"{args.walks:,} walks of 2-5 nodes, dim 8, window 10, 1 epoch, 1 worker; tokens per CPU second")
    print(f"{'backend':>8} {'vocabulary':>12} " + " ".join(f"{f'negatives={k}':>14}" for k in args.negatives))
    for vocab in args.vocab:
        walks = power_law_walks(args.walks, vocab)
        for backend in args.backends:
            with tempfile.TemporaryDirectory() as folder:
                corpus = write_walk_corpus([walks], Path(folder) / "walks", vocab, binary=backend == "numba")
                rates = []
                for k in args.negatives:
                    stats: dict = {}
                    skipgram_from_corpus(corpus, vocab, SkipGramParams(negatives=k, epochs=1, backend=backend),
                                         stats=stats)
                    rates.append(corpus.num_tokens / stats["train_cpu_s"])
            print(f"{backend:>8} {vocab:>12,} " + " ".join(f"{r:>14,.0f}" for r in rates), flush=True)


if __name__ == "__main__":
    main()

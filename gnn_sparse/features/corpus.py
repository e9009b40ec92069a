"""Walks as a skip-gram corpus file: one walk per line, node ids separated by single spaces
(gensim's ``corpus_file``), or rows of ``int32`` node ids (the numba backend's memory map).

Why a file: gensim's ``corpus_file`` mode reads it in its C++ reader, so training never holds
the walks as Python lists of strings (the old in-memory path needed 11.75 GiB and 908 s for
the 10 million walks of a wiki-talk-size graph). Walks arrive in chunks
(:meth:`~gnn_sparse.features.walks.TemporalWalkSampler.chunks`) and each chunk is formatted
with array operations (:func:`walk_lines`) and appended, so memory is bounded by one chunk
whatever the number of walks; node counts for the vocabulary are accumulated on the way.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np


@dataclass(frozen=True)
class WalkCorpus:
    """A written corpus: ``path``, its number of walks (those with two or more nodes),
    ``counts[v]``, the occurrences of node ``v`` (``int64 [num_nodes]``), and
    ``walk_length``: ``None`` for text lines, else the row length of the ``int32`` rows."""

    path: Path
    num_walks: int
    counts: np.ndarray
    walk_length: int | None = None

    def walks(self) -> np.ndarray:
        """The ``int32 [num_walks, walk_length]`` rows (``-1``-padded) of a binary corpus,
        memory-mapped, not read into memory."""
        if self.walk_length is None:
            raise ValueError(f"WalkCorpus: {self.path} holds text lines, not int32 rows")
        if self.num_walks == 0:
            return np.empty((0, self.walk_length), dtype=np.int32)
        return np.memmap(self.path, dtype=np.int32, mode="r", shape=(self.num_walks, self.walk_length))

    @property
    def num_tokens(self) -> int:
        return int(self.counts.sum())


def check_walks(walks: np.ndarray, num_nodes: int) -> np.ndarray:
    """``walks`` as an array, or ``ValueError`` unless it is 2-D, integer and ``< num_nodes``."""
    walks = np.asarray(walks)
    if walks.ndim != 2 or walks.dtype.kind not in "iu":
        raise ValueError(f"skipgram_embeddings: walks must be a 2-D integer array, got {walks.dtype} {walks.shape}")
    if walks.size and walks.max() >= num_nodes:
        raise ValueError(f"skipgram_embeddings: node id {walks.max()} is not in [0, {num_nodes})")
    return walks


class NodeTokens:
    """The decimal token of every node id ``< num_nodes`` plus a space, right-aligned in a
    zero-filled row of 8-byte words (row ``num_nodes``: all zeros, for padding).

    Built once (the only integer divisions), so formatting a chunk of walks is a gather of
    64-bit words and dropping the zero bytes.
    """

    def __init__(self, num_nodes: int):
        self.width = len(str(max(num_nodes - 1, 0)))
        row = -(-(self.width + 1) // 8) * 8
        ids = np.arange(num_nodes, dtype=np.int64)
        chars = np.zeros((num_nodes + 1, row), dtype=np.uint8)
        for k in range(self.width):  # least significant digit last; leading zeros stay 0 bytes
            chars[:-1, self.width - 1 - k] = np.where((ids >= 10**k) | (k == 0), ord("0") + (ids // 10**k) % 10, 0)
        chars[:-1, self.width] = ord(" ")
        self.words = chars.view(np.uint64)  # [num_nodes + 1, row / 8]


def walk_lines(walks: np.ndarray, tokens: NodeTokens | None = None) -> bytes:
    """The walks with two or more nodes as ASCII lines, in order (no Python loop over walks).

    Args:
        walks: ``int [W, L]`` node ids, each row a walk padded with ``-1`` at the end.
        tokens: the :class:`NodeTokens` of a node count above every id (default: built here).

    Example:
        >>> walk_lines(np.array([[3, 12, -1], [7, -1, -1], [105, 0, 4]]))
        b'3 12\\n105 0 4\\n'
    """
    lengths = (walks >= 0).sum(axis=1)
    walks = walks[lengths >= 2]
    lengths = lengths[lengths >= 2]
    if len(walks) == 0:
        return b""
    tokens = NodeTokens(int(walks.max()) + 1) if tokens is None else tokens
    pad = len(tokens.words) - 1
    chars = tokens.words[np.where(walks >= 0, walks, pad)].view(np.uint8)  # [W, L, row bytes]
    chars[np.arange(len(walks)), lengths - 1, tokens.width] = ord("\n")
    flat = chars.reshape(-1)
    return flat[flat != 0].tobytes()


def write_walk_corpus(chunks: Iterable[np.ndarray], path: str | os.PathLike, num_nodes: int, *,
                      binary: bool = False) -> WalkCorpus:
    """Append each chunk of walks (``int [w, L]``, ``-1``-padded) to ``path``: as text lines,
    or with ``binary=True`` as ``int32`` rows (every chunk must then have the same ``L``).

    Raises:
        ValueError: a malformed chunk (see :func:`check_walks`), or chunks of different
            lengths in a binary corpus.
    """
    if binary and num_nodes > np.iinfo(np.int32).max:
        raise ValueError(f"write_walk_corpus: {num_nodes:,} nodes do not fit the int32 rows of a binary corpus")
    path = Path(path)
    counts = np.zeros(num_nodes, dtype=np.int64)
    tokens = None if binary else NodeTokens(num_nodes)
    num_walks, length = 0, None
    with open(path, "wb") as f:
        for walks in chunks:
            walks = check_walks(walks, num_nodes)
            kept = walks[(walks >= 0).sum(axis=1) >= 2]
            num_walks += len(kept)
            counts += np.bincount(kept[kept >= 0], minlength=num_nodes)
            if binary:
                if length not in (None, walks.shape[1]):
                    raise ValueError(f"write_walk_corpus: a chunk of walks of length {walks.shape[1]} "
                                     f"after chunks of length {length}")
                length = walks.shape[1]
                f.write(np.ascontiguousarray(kept, dtype=np.int32).tobytes())
            else:
                f.write(walk_lines(kept, tokens))
            f.flush()  # on disk before the next chunk is generated
    return WalkCorpus(path=path, num_walks=num_walks, counts=counts,
                      walk_length=(length or 0) if binary else None)

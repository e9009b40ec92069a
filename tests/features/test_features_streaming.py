"""The streaming feature pipeline: chunked walks, the corpus file, skip-gram workers, the cache key."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import gnn_sparse.features.twalk as twalk
from gnn_sparse.data import SyntheticConfig, generate_synthetic
from gnn_sparse.features import skipgram_embeddings, temporal_random_walks, twalk_embeddings
from gnn_sparse.features.corpus import walk_lines, write_walk_corpus
from gnn_sparse.features.walks import TemporalWalkSampler

SMALL = dict(walks_per_node=4, walk_length=3, epochs=2)


@pytest.fixture(scope="module")
def events():
    ev = generate_synthetic(SyntheticConfig(num_nodes=80, num_events=2000, seed=2))
    return ev.src, ev.dst, ev.time, ev.num_nodes


@pytest.mark.parametrize("chunk_size", [1, 7, 64, 10_000])
def test_chunks_are_the_same_walks_as_all_at_once(events, chunk_size):
    whole = temporal_random_walks(*events, walks_per_node=3, walk_length=4, seed=5)
    sampler = TemporalWalkSampler(*events, walks_per_node=3, walk_length=4, seed=5)
    chunks = list(sampler.chunks(chunk_size))
    assert all(len(c) <= chunk_size for c in chunks) and sum(map(len, chunks)) == len(whole) == sampler.num_walks
    np.testing.assert_array_equal(np.concatenate([c.nodes for c in chunks]), whole.nodes)
    np.testing.assert_array_equal(np.concatenate([c.edges for c in chunks]), whole.edges)
    middle = sampler.walks(11, 40)  # any slice: a walk's draws depend on (seed, walk, step) only
    np.testing.assert_array_equal(middle.nodes, whole.nodes[11:40])


def test_the_chunk_iterator_materialises_one_chunk_at_a_time(events, tmp_path, monkeypatch):
    """Memory is bounded by construction: walks are generated per chunk on demand, and the
    corpus writer has written a chunk before it asks for the next one."""
    sampler = TemporalWalkSampler(*events, **{k: SMALL[k] for k in ("walks_per_node", "walk_length")})
    asked = []
    real_walks = sampler.walks

    def spy(start, stop):
        walks = real_walks(start, stop)
        asked.append(len(walks))
        return walks

    monkeypatch.setattr(sampler, "walks", spy)
    path = tmp_path / "walks.txt"
    sizes = []

    def watched(chunks):
        for chunk in chunks:
            assert len(asked) == len(sizes) + 1  # generated lazily, one at a time
            sizes.append(path.stat().st_size)
            yield chunk.nodes

    corpus = write_walk_corpus(watched(sampler.chunks(25)), path, events[3])
    assert max(asked) == 25 and sum(asked) == sampler.num_walks and len(asked) == -(-sampler.num_walks // 25)
    assert sizes[0] == 0 and all(b > a for a, b in zip(sizes, sizes[1:]))  # each chunk written before the next
    assert corpus.num_walks == sampler.num_walks  # every walk here has >= 2 nodes (starts have out-edges)
    with pytest.raises(ValueError, match="chunk_size must be >= 1"):
        next(sampler.chunks(0))


def test_corpus_lines_and_counts_match_the_walks(tmp_path):
    rng = np.random.default_rng(0)
    walks = rng.integers(0, 1234, (300, 5))
    stop = rng.integers(0, 6, 300)  # 0..5 nodes per walk, -1 after
    walks[np.arange(5) >= stop[:, None]] = -1
    walks[:3] = [[0, 9, 10, 99, 100], [1233, 1000, -1, -1, -1], [7, -1, -1, -1, -1]]
    expected = [[int(v) for v in w if v >= 0] for w in walks]
    expected = [w for w in expected if len(w) >= 2]
    assert walk_lines(walks).decode().splitlines() == [" ".join(map(str, w)) for w in expected]
    corpus = write_walk_corpus(iter([walks[:100], walks[100:]]), tmp_path / "c.txt", 1234)
    assert corpus.path.read_bytes() == walk_lines(walks)
    assert corpus.num_walks == len(expected)
    np.testing.assert_array_equal(corpus.counts, np.bincount(np.concatenate(expected), minlength=1234))
    with pytest.raises(ValueError, match=r"node id 1234 is not in \[0, 1234\)"):
        write_walk_corpus([np.array([[0, 1234]])], tmp_path / "bad.txt", 1234)


def test_skipgram_on_chunks_equals_skipgram_on_the_array(events):
    walks = temporal_random_walks(*events, walks_per_node=4, walk_length=3, seed=1).nodes
    whole = skipgram_embeddings(walks, events[3], epochs=2, seed=3)
    assert torch.equal(whole, skipgram_embeddings(iter(np.array_split(walks, 5)), events[3], epochs=2, seed=3))


def test_one_worker_is_deterministic_per_seed(events):
    a = twalk_embeddings(*events, seed=4, **SMALL)
    assert torch.equal(a, twalk_embeddings(*events, seed=4, **SMALL))
    assert torch.equal(a, twalk_embeddings(*events, seed=4, chunk_size=13, **SMALL))  # chunking changes nothing
    assert not torch.equal(a, twalk_embeddings(*events, seed=5, **SMALL))


def test_several_workers_train_and_are_cached_under_their_own_key(events, tmp_path):
    stats = {}
    one = twalk_embeddings(*events, cache_dir=tmp_path, stats=stats, **SMALL)
    assert stats["cached"] is False and stats["num_walks"] > 0 and stats["walks_s"] >= 0 and stats["skipgram_s"] > 0
    stats = {}
    twalk_embeddings(*events, cache_dir=tmp_path, chunk_size=5, stats=stats, **SMALL)  # chunk size: same entry
    assert stats == {"cached": True} and len(list(tmp_path.iterdir())) == 1
    two = twalk_embeddings(*events, cache_dir=tmp_path, workers=2, **SMALL)
    assert len(list(tmp_path.iterdir())) == 2  # another entry: several workers are not reproducible
    assert two.shape == one.shape and (two.abs().sum(1) > 0).sum() == (one.abs().sum(1) > 0).sum()
    with pytest.raises(ValueError, match="workers must be >= 1"):
        twalk_embeddings(*events, workers=0, **SMALL)
    with pytest.raises(ValueError, match="chunk_size must be >= 1"):
        twalk_embeddings(*events, chunk_size=0, **SMALL)


def test_the_walks_are_never_held_as_python_strings(events, monkeypatch):
    """The corpus goes to gensim as a file, never as an in-memory list of sentences."""
    from gensim.models import Word2Vec

    seen = {}
    real_train = Word2Vec.train

    def spy(self, corpus_iterable=None, corpus_file=None, **kwargs):
        seen.update(iterable=corpus_iterable, file=corpus_file)
        return real_train(self, corpus_iterable=corpus_iterable, corpus_file=corpus_file, **kwargs)

    monkeypatch.setattr(Word2Vec, "train", spy)
    twalk_embeddings(*events, **SMALL)
    assert seen["iterable"] is None and str(seen["file"]).endswith("walks.txt")
    assert twalk.WALK_CHUNK >= 1

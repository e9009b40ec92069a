"""The numba skip-gram backend: gensim's sampling rules, determinism, what it learns, its corpus."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from gnn_sparse.features import skipgram_embeddings, twalk_embeddings
from gnn_sparse.features.corpus import write_walk_corpus
from gnn_sparse.features.embedding import SkipGramParams, skipgram_from_corpus
from gnn_sparse.features.skipgram_numba import draw_negatives, keep_probabilities, negative_table, vocabulary_rows

WALKS = np.array([[0, 1, 2, -1], [1, 2, 0, 1], [2, 0, -1, -1], [3, -1, -1, -1]])


def two_communities(num_walks: int = 4000, size: int = 20, seed: int = 0) -> np.ndarray:
    """Walks of 5 nodes that stay inside one of two communities (nodes ``0..size-1`` and
    ``size..2*size-1``)."""
    rng = np.random.default_rng(seed)
    side = rng.integers(0, 2, num_walks)[:, None]
    return rng.integers(0, size, (num_walks, 5)) + size * side


def test_negative_table_draws_count_to_the_three_quarters_exactly():
    counts = np.random.default_rng(0).zipf(1.5, 1000).astype(np.float64)
    table = negative_table(counts)
    n, keep = len(counts), table[:, 0] / 2.0**32
    mass = keep / n + np.bincount(table[:, 1], weights=(1 - keep) / n, minlength=n)
    np.testing.assert_allclose(mass, counts**0.75 / (counts**0.75).sum(), rtol=1e-5, atol=1e-9)


def test_the_kernels_negative_draw_follows_the_table():
    """draw_negatives runs the training kernel's own draw (_negative) on its random stream."""
    counts = np.array([40.0, 10.0, 5.0, 1.0])
    drawn = draw_negatives(negative_table(counts), 200_000, 7)
    np.testing.assert_allclose(np.bincount(drawn, minlength=4) / 200_000, counts**0.75 / (counts**0.75).sum(),
                               atol=4e-3)
    assert np.array_equal(drawn, draw_negatives(negative_table(counts), 200_000, 7))


def test_vocabulary_is_in_gensims_order_decreasing_count_ties_by_id():
    counts = np.array([3, 0, 5, 3, 1, 0])
    row, nodes = vocabulary_rows(counts)
    assert nodes.tolist() == [2, 0, 3, 4]
    assert row.tolist() == [1, -1, 0, 2, 3, -1]


def test_down_sampling_keeps_what_gensim_keeps():
    from gensim.models import Word2Vec

    counts = np.array([50_000, 4_000, 900, 30, 1])
    model = Word2Vec(vector_size=2, min_count=1, sg=1)
    model.build_vocab_from_freq({str(i): int(c) for i, c in enumerate(counts)})
    gensim_keep = np.array([model.wv.get_vecattr(str(i), "sample_int") / 2**32 for i in range(len(counts))])
    np.testing.assert_allclose(keep_probabilities(counts.astype(np.float64)), np.minimum(gensim_keep, 1.0),
                               rtol=1e-6)
    assert keep_probabilities(counts.astype(np.float64))[0] < 0.2  # the frequent node is cut


def test_shape_zero_rows_and_determinism_per_seed():
    z = skipgram_embeddings(WALKS, 6, dim=4, window=2, seed=1, backend="numba")
    assert z.shape == (6, 4) and z.dtype == torch.float32
    assert (z[:3].abs().sum(1) > 0).all() and (z[3:] == 0).all()
    a = skipgram_embeddings(two_communities(500), 40, seed=5, backend="numba")
    assert torch.equal(a, skipgram_embeddings(two_communities(500), 40, seed=5, backend="numba"))
    assert not torch.equal(a, skipgram_embeddings(two_communities(500), 40, seed=6, backend="numba"))


@pytest.mark.parametrize("backend, workers", [("gensim", 1), ("numba", 1), ("numba", 2)])
def test_both_backends_separate_two_communities(backend, workers):
    z = skipgram_embeddings(two_communities(), 40, dim=8, seed=0, backend=backend, workers=workers)
    z = torch.nn.functional.normalize(z, dim=1)
    cos = z @ z.T
    same = torch.zeros(40, 40, dtype=torch.bool)
    same[:20, :20] = same[20:, 20:] = True
    same.fill_diagonal_(False)
    across = ~same & ~torch.eye(40, dtype=torch.bool)
    assert cos[same].mean() - cos[across].mean() > 0.5, (cos[same].mean(), cos[across].mean())


def test_binary_corpus_holds_the_walks_with_two_or_more_nodes(tmp_path):
    corpus = write_walk_corpus([WALKS[:2], WALKS[2:]], tmp_path / "w.i32", 6, binary=True)
    assert corpus.num_walks == 3 and corpus.walk_length == 4
    np.testing.assert_array_equal(corpus.walks(), WALKS[:3].astype(np.int32))
    np.testing.assert_array_equal(corpus.counts, [3, 3, 3, 0, 0, 0])
    with pytest.raises(ValueError, match="chunk of walks of length 3 after chunks of length 4"):
        write_walk_corpus([WALKS, WALKS[:, :3]], tmp_path / "x.i32", 6, binary=True)
    with pytest.raises(ValueError, match="2,147,483,648 nodes do not fit the int32 rows of a binary corpus"):
        write_walk_corpus([WALKS], tmp_path / "y.i32", 2**31, binary=True)
    assert not (tmp_path / "y.i32").exists()  # refused before anything is written


def test_a_corpus_of_the_wrong_kind_and_an_unknown_backend_are_refused(tmp_path):
    text = write_walk_corpus([WALKS], tmp_path / "w.txt", 4)
    with pytest.raises(ValueError, match="backend 'numba' needs a binary corpus"):
        skipgram_from_corpus(text, 4, SkipGramParams(backend="numba"))
    with pytest.raises(ValueError, match="holds text lines, not int32 rows"):
        text.walks()
    with pytest.raises(ValueError, match=r"backend must be one of \('auto', 'gensim', 'numba'\), got 'word2vec'"):
        SkipGramParams(backend="word2vec")


def test_twalk_cache_key_names_the_backend_and_keeps_gensims_old_key(tmp_path):
    from gnn_sparse.features.twalk import _cache_meta

    rng = np.random.default_rng(0)
    src, dst = rng.integers(0, 30, 300), rng.integers(0, 30, 300)
    time = np.sort(rng.random(300))
    walk = {"walks_per_node": 2, "walk_length": 3, "dt": None, "seed": 0}
    embed = {"dim": 4, "window": 2, "negatives": 5, "epochs": 1, "seed": 0, "workers": 1}
    gensim_meta = _cache_meta(src, dst, time, 30, walk, {**embed, "backend": "gensim"})
    assert "backend" not in gensim_meta["embedding"]  # the key of caches written before there was a choice
    assert _cache_meta(src, dst, time, 30, walk, {**embed, "backend": "numba"})["key"] != gensim_meta["key"]
    z = twalk_embeddings(src, dst, time, 30, dim=4, window=2, epochs=1, walks_per_node=2, walk_length=3,
                         backend="numba", cache_dir=tmp_path)
    assert len(list(tmp_path.glob("twalk-*.pt"))) == 1
    assert torch.equal(z, twalk_embeddings(src, dst, time, 30, dim=4, window=2, epochs=1, walks_per_node=2,
                                           walk_length=3, backend="numba", cache_dir=tmp_path))


def test_torchs_thread_count_is_left_alone():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        skipgram_embeddings(two_communities(500), 40, backend="numba", workers=2)
        assert torch.get_num_threads() == 1  # numba's OpenMP layer would have set it to the core count
    finally:
        torch.set_num_threads(before)


def test_auto_means_numba_on_big_graphs_and_gensim_on_small_ones(monkeypatch):
    import gnn_sparse.features.embedding as embedding
    from gnn_sparse.features.embedding import AUTO_NUMBA_NODES, resolve_backend

    assert resolve_backend("auto", AUTO_NUMBA_NODES - 1) == "gensim"
    assert resolve_backend("auto", AUTO_NUMBA_NODES) == "numba"
    assert resolve_backend("gensim", 10**7) == "gensim" and resolve_backend("numba", 10) == "numba"
    monkeypatch.setattr(embedding.importlib.util, "find_spec", lambda name: None)  # numba not installed
    assert resolve_backend("auto", 10**7) == "gensim"

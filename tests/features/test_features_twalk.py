"""The cached pipeline: visible events per split (no leakage), cache, end to end on a small graph."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.neural_network import MLPClassifier

import gnn_sparse.features.twalk as twalk
from gnn_sparse.data import SyntheticConfig, chronological_split, generate_synthetic
from gnn_sparse.features import pair_features, twalk_embeddings, visible_splits

SMALL = dict(walks_per_node=4, walk_length=3, epochs=2)


def _split_events(num_nodes=60, num_events=1500, seed=0):
    """Time-sorted synthetic events, their chronological split, and an ``events(*splits)`` reader
    (the accessor the dataset will offer: union of the splits' events; no split = all)."""
    ev = generate_synthetic(SyntheticConfig(num_nodes=num_nodes, num_events=num_events, seed=seed))
    idx = dict(zip(("train", "val", "test"), chronological_split(ev.num_events, 0.2, 0.2)))

    def events(*splits):
        keep = np.sort(np.concatenate([idx[s] for s in splits])) if splits else np.arange(ev.num_events)
        return ev.src[keep], ev.dst[keep], ev.time[keep]

    return ev, idx, events


def test_visible_splits_table():
    assert visible_splits("train") == ("train",)
    assert visible_splits("val") == ("train",)
    assert visible_splits("test") == ("train", "val")
    assert all(visible_splits(s, leaky=True) == () for s in ("train", "val", "test"))
    with pytest.raises(ValueError, match=r"unknown split 'valid'; choose one of \('train', 'val', 'test'\)"):
        visible_splits("valid")


def test_test_embedding_never_sees_test_edges():
    ev, idx, events = _split_events()
    n = ev.num_nodes + 3  # nodes n-3, n-2, n-1 interact only in the test period
    src, dst = ev.src.copy(), ev.dst.copy()
    test = idx["test"]
    src[test[:3]], dst[test[3:6]] = [n - 3, n - 2, n - 1], [n - 1, n - 3, n - 2]

    def embed(src, dst, splits):
        keep = np.sort(np.concatenate([idx[s] for s in splits])) if splits else np.arange(len(src))
        return twalk_embeddings(src[keep], dst[keep], ev.time[keep], n, **SMALL)

    clean = embed(src, dst, visible_splits("test"))
    assert (clean[-3:] == 0).all()  # test-only nodes: no context, zero features
    shuffled = np.random.default_rng(1).permutation(dst[test])  # other test edges, same times
    dst2 = dst.copy()
    dst2[test] = shuffled
    assert torch.equal(clean, embed(src, dst2, visible_splits("test")))  # test edges change nothing
    leaky = embed(src, dst, visible_splits("test", leaky=True))
    assert (leaky[-3:].abs().sum(1) > 0).all()  # the original (leaky) pipeline sees them


def test_same_seed_same_features():
    _, _, events = _split_events()
    a = twalk_embeddings(*events("train"), 60, seed=3, **SMALL)
    assert torch.equal(a, twalk_embeddings(*events("train"), 60, seed=3, **SMALL))
    assert not torch.equal(a, twalk_embeddings(*events("train"), 60, seed=4, **SMALL))


def test_cache_hit_miss_and_corrupt_file(tmp_path, monkeypatch):
    _, _, events = _split_events()
    first = twalk_embeddings(*events("train"), 60, cache_dir=tmp_path, **SMALL)
    files = sorted(tmp_path.iterdir())
    assert len(files) == 1 and files[0].name.startswith("twalk-") and files[0].suffix == ".pt"

    def no_walks(*args, **kwargs):
        raise AssertionError("recomputed despite a valid cache entry")

    with monkeypatch.context() as m:
        m.setattr(twalk, "TemporalWalkSampler", no_walks)
        assert torch.equal(first, twalk_embeddings(*events("train"), 60, cache_dir=tmp_path, **SMALL))

    twalk_embeddings(*events("train"), 60, cache_dir=tmp_path, dim=4, **SMALL)  # other parameters
    twalk_embeddings(*events("train", "val"), 60, cache_dir=tmp_path, **SMALL)  # other events
    assert len(list(tmp_path.iterdir())) == 3

    files[0].write_bytes(b"not a torch file")
    with pytest.warns(RuntimeWarning, match="is corrupt"):
        again = twalk_embeddings(*events("train"), 60, cache_dir=tmp_path, **SMALL)
    assert torch.equal(first, again)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize(
    "kwargs, match", [({"walk_length": 0}, "walk_length"), ({"dim": 0}, "dim"), ({"window": 0}, "window")]
)
def test_bad_parameters_fail_before_any_work(kwargs, match, tmp_path):
    _, _, events = _split_events()
    with pytest.raises(ValueError, match=f"{match} must be >= 1"):
        twalk_embeddings(*events("train"), 60, cache_dir=tmp_path, **kwargs)
    assert not list(tmp_path.iterdir())


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_small_graph_end_to_end_beats_chance():
    ev, idx, events = _split_events(num_nodes=300, num_events=8000)
    z = twalk_embeddings(*events(*visible_splits("test")), ev.num_nodes)  # one space for all splits
    rng = np.random.default_rng(0)

    def labelled(split):
        pos = np.stack([ev.src[idx[split]], ev.dst[idx[split]]])
        neg = np.stack([pos[0], rng.integers(0, ev.num_nodes, pos.shape[1])])
        x = pair_features(z, torch.from_numpy(np.concatenate([pos, neg], axis=1)))
        return x.numpy(), np.r_[np.ones(pos.shape[1]), np.zeros(pos.shape[1])]

    x_train, y_train = labelled("train")
    x_test, y_test = labelled("test")
    assert x_train.shape[1] == 16
    clf = MLPClassifier((32,), max_iter=300, random_state=0).fit(x_train, y_train)
    assert clf.score(x_test, y_test) > 0.7  # chance is 0.5; about 0.83 here


def test_one_parameters_object_and_keyword_overrides_are_the_same_request(tmp_path):
    from gnn_sparse.features import SkipGramParams, TwalkParams

    *_, events = _split_events()
    params = TwalkParams(seed=3, **SMALL)
    stats = {}
    by_object = twalk_embeddings(*events("train"), 60, params, cache_dir=tmp_path, stats=stats)
    assert stats["cached"] is False
    by_keywords = twalk_embeddings(*events("train"), 60, cache_dir=tmp_path, stats=stats, seed=3, **SMALL)
    assert stats["cached"] is True and torch.equal(by_object, by_keywords)  # one cache entry: one request
    assert torch.equal(twalk_embeddings(*events("train"), 60, TwalkParams(**SMALL), seed=3), by_object)
    assert params.walk_kwargs() == dict(walks_per_node=4, walk_length=3, dt=None, seed=3)
    assert params.skipgram() == SkipGramParams(dim=8, window=10, negatives=5, epochs=2, seed=3, workers=1)
    with pytest.raises(ValueError, match="walk_length must be >= 1"):
        TwalkParams(walk_length=0)
    with pytest.raises(TypeError, match="walk_lenght"):
        twalk_embeddings(*events("train"), 60, walk_lenght=3)

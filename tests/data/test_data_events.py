"""``TemporalLinkDataset.events``: the time-sorted temporal events of chosen splits, cached."""
import numpy as np
import pytest
import torch

from gnn_sparse.data import EdgeList, load_dataset
from gnn_sparse.data import cache as cache_module
from gnn_sparse.data import load as load_module
from gnn_sparse.utils.io import atomic_torch_save

RNG = np.random.default_rng(1)
N_EVENTS = 60
SRC = RNG.integers(0, 16, N_EVENTS)
DST = (SRC + RNG.integers(1, 4, N_EVENTS)) % 16
TIME = RNG.permutation(N_EVENTS) // 2 * 10  # unsorted file, every timestamp twice (ties)
TEXT = "".join(f"{s} {d} {t}\n" for s, d, t in zip(SRC, DST, TIME))


def sorted_events():
    order = np.argsort(TIME, kind="stable")  # ties keep file order
    return SRC[order], DST[order], TIME[order].astype(float)


@pytest.fixture
def tiny(write):
    return write("tiny.txt", TEXT)


def _positives(data):
    p = int(data.edge_label.sum())
    return data.edge_label_index[:, :p].numpy()


def test_all_events_time_sorted(tiny, root):
    ds = load_dataset(tiny, root=root)
    ev = ds.events()
    src, dst, time = sorted_events()
    assert isinstance(ev, EdgeList) and ev.num_nodes == ds.num_nodes == 16 and ev.num_events == N_EVENTS
    assert ev.src.dtype == np.int64 and ev.dst.dtype == np.int64 and ev.time.dtype == np.float64
    np.testing.assert_array_equal(ev.src, src)
    np.testing.assert_array_equal(ev.dst, dst)
    np.testing.assert_array_equal(ev.time, time)


def test_split_events_match_positives_and_unions(tiny, root):
    ds = load_dataset(tiny, root=root)
    src, dst, time = sorted_events()
    bounds = {"train": (0, 36), "val": (36, 48), "test": (48, 60)}
    for split, (a, b) in bounds.items():
        ev = ds.events(split)
        np.testing.assert_array_equal(ev.time, time[a:b])
        np.testing.assert_array_equal(np.stack([ev.src, ev.dst]), _positives(getattr(ds, split)))
        assert (ev.time.min(), ev.time.max()) == getattr(ds, split).time_range
    visible = ds.events("val", "train")  # order of the names does not matter
    np.testing.assert_array_equal(visible.time, time[:48])
    np.testing.assert_array_equal(visible.src, src[:48])
    same = ds.events("train", "val", "train")
    np.testing.assert_array_equal(same.dst, visible.dst)
    assert ds.events("train", "val", "test").num_events == N_EVENTS


def test_union_is_by_event_for_the_original_split(write, root):
    lines = "".join(f"{i % 40} {(i * 7 + 1) % 40} {i}\n" for i in range(400))
    ds = load_dataset(write("big.txt", lines), root=root, split="original")
    train, val = ds.events("train"), ds.events("val")
    assert train.num_events == 240 and val.num_events == 80
    both = ds.events("train", "val")
    # time = event id here, so the union of events is the union of timestamps
    np.testing.assert_array_equal(both.time, np.union1d(train.time, val.time))
    assert both.num_events < 320  # train and val overlap in the original protocol
    assert np.all(np.diff(both.time) > 0)
    assert both.time.max() < ds.events("test").time.min()


def test_arrays_are_read_only_and_unknown_split_fails(tiny, root):
    ds = load_dataset(tiny, root=root)
    for ev in (ds.events(), ds.events("train"), ds.events("train", "val")):
        with pytest.raises(ValueError, match="read-only"):
            ev.src[0] = 5
    with pytest.raises(ValueError, match=r"unknown split\(s\) \['tset'\]"):
        ds.events("train", "tset")


def test_synthetic_has_events():
    ds = load_dataset("synthetic", num_nodes=50, num_events=500)
    ev = ds.events("train", "val")
    assert ev.num_events == 400 and np.all(np.diff(ev.time) >= 0)


def test_events_come_back_from_the_cache(tiny, root, monkeypatch):
    first = load_dataset(tiny, root=root)
    monkeypatch.setattr(load_module, "read_edge_list", lambda *a: pytest.fail("cache not used"))
    again = load_dataset(tiny, root=root)
    for split in ((), ("train",), ("val", "test")):
        a, b = first.events(*split), again.events(*split)
        for x, y in ((a.src, b.src), (a.dst, b.dst), (a.time, b.time)):
            np.testing.assert_array_equal(x, y)


def test_cache_format_is_versioned(tiny, root):
    assert cache_module.FORMAT_VERSION >= 2
    load_dataset(tiny, root=root)
    [entry] = list((root / "processed").iterdir())
    blob = torch.load(entry, weights_only=True)
    for key in ("event_src", "event_dst", "event_time", "train_events", "val_events", "test_events"):
        assert key in blob["arrays"]
    # an entry of the previous format (no events) at the same place is rebuilt, not trusted
    old = {**blob, "format": 1, "arrays": {k: v for k, v in blob["arrays"].items()
                                            if not k.startswith("event_") and not k.endswith("_events")}}
    atomic_torch_save(old, entry)  # a valid checksum: the format check itself must refuse it
    with pytest.warns(RuntimeWarning, match="unknown format"):
        ds = load_dataset(tiny, root=root)
    assert ds.events().num_events == N_EVENTS
    # right format but inconsistent event arrays: rebuilt too
    bad = torch.load(entry, weights_only=True)
    bad["arrays"]["val_events"] = bad["arrays"]["val_events"] + N_EVENTS
    atomic_torch_save(bad, entry)
    with pytest.warns(RuntimeWarning, match="val_events"):
        load_dataset(tiny, root=root)

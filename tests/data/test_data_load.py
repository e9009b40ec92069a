import gzip
import hashlib
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from gnn_sparse.data import (
    ConstantTimeWarning,
    CountMismatchError,
    DataFileNotFoundError,
    DownloadError,
    EdgeListFormatError,
    SplitError,
    UnknownDatasetError,
    load_dataset,
)
from gnn_sparse.data import load as load_module
from gnn_sparse.data.registry import known_names

RNG = np.random.default_rng(0)
N_EVENTS = 60
SRC = RNG.integers(100, 116, N_EVENTS)  # 16 node ids, not starting at 0
DST = (SRC + RNG.integers(1, 4, N_EVENTS) - 100) % 16 + 100
TIME = RNG.permutation(N_EVENTS) * 10  # the file is not sorted by time
TEXT = "# tiny\n" + "".join(f"{s} {d} {t}\n" for s, d, t in zip(SRC, DST, TIME))


def sorted_events():
    order = np.argsort(TIME, kind="stable")
    return SRC[order] - 100, DST[order] - 100, TIME[order]


def pairs(edge_index):
    return set(map(tuple, edge_index.T.tolist()))


@pytest.fixture
def tiny(write):
    return write("tiny.txt", TEXT)


def test_contract(tiny, root):
    ds = load_dataset(tiny, root=root)
    assert (ds.num_nodes, ds.num_events) == (16, N_EVENTS)
    assert ds.name == "tiny" and ds.source_path == tiny
    assert ds.sha256 == hashlib.sha256(tiny.read_bytes()).hexdigest()
    for split, p in (("train", 36), ("val", 12), ("test", 12)):
        data = getattr(ds, split)
        assert data.edge_index.dtype == torch.long and data.edge_index.shape[0] == 2
        assert data.edge_label_index.dtype == torch.long and data.edge_label_index.shape == (2, 2 * p)
        assert data.edge_label.dtype == torch.float32 and data.edge_label.tolist() == [1.0] * p + [0.0] * p
        assert data.num_nodes == 16 and all(t.device.type == "cpu" for t in (data.edge_index, data.edge_label))
    assert "TemporalLinkDataset(name='tiny', num_nodes=16, num_events=60" in repr(ds)


def test_chronological_positives_and_time_ranges(tiny, root):
    ds = load_dataset(tiny, root=root)
    src, dst, time = sorted_events()
    bounds = {"train": (0, 36), "val": (36, 48), "test": (48, 60)}
    for split, (a, b) in bounds.items():
        data = getattr(ds, split)
        p = b - a
        assert data.edge_label_index[:, :p].tolist() == [src[a:b].tolist(), dst[a:b].tolist()]
        assert data.time_range == (float(time[a]), float(time[b - 1]))
    assert ds.train.time_range[1] <= ds.val.time_range[0] <= ds.val.time_range[1] <= ds.test.time_range[0]


def test_message_passing_graphs(tiny, root):
    ds = load_dataset(tiny, root=root)
    src, dst, _ = sorted_events()
    sym = lambda s, d: set(zip(s, d)) | set(zip(d, s))  # noqa: E731
    assert ds.val.edge_index is ds.train.edge_index
    assert pairs(ds.train.edge_index) == sym(src[:36].tolist(), dst[:36].tolist())
    assert pairs(ds.test.edge_index) == sym(src[:48].tolist(), dst[:48].tolist())
    assert ds.test.edge_index.shape[1] == len(pairs(ds.test.edge_index))  # deduplicated

    directed = load_dataset(tiny, root=root, directed=True)
    assert pairs(directed.test.edge_index) == set(zip(src[:48].tolist(), dst[:48].tolist()))


@pytest.mark.parametrize("directed", [False, True])
def test_negatives_are_never_edges_anywhere(tiny, root, directed):
    ds = load_dataset(tiny, root=root, directed=directed, neg_ratio=2.0)
    src, dst, _ = sorted_events()
    edges = set(zip(src.tolist(), dst.tolist()))
    if not directed:
        edges |= {(v, u) for u, v in edges}
    for data in (ds.train, ds.val, ds.test):
        neg = data.edge_label_index[:, data.edge_label == 0]
        assert neg.shape[1] == 2 * int(data.edge_label.sum())
        assert not pairs(neg) & edges and (neg[0] != neg[1]).all()


def test_resample_train_negatives(tiny, root):
    ds = load_dataset(tiny, root=root)
    a_index, a_label = ds.resample_train_negatives(1)
    b_index, _ = ds.resample_train_negatives(np.random.default_rng(1))
    c_index, _ = ds.resample_train_negatives(torch.Generator().manual_seed(3))
    assert torch.equal(a_index, b_index) and not torch.equal(a_index, c_index)
    assert torch.equal(a_label, ds.train.edge_label)
    assert torch.equal(a_index[:, :36], ds.train.edge_label_index[:, :36])  # positives unchanged


def test_seed_fixes_val_and_test_negatives(tiny, root):
    a = load_dataset(tiny, root=root, cache=False)
    b = load_dataset(tiny, root=root, cache=False)
    c = load_dataset(tiny, root=root, cache=False, seed=1)
    assert torch.equal(a.test.edge_label_index, b.test.edge_label_index)
    assert not torch.equal(a.test.edge_label_index, c.test.edge_label_index)


def test_original_split_overlaps(write, root):
    lines = "".join(f"{i % 40} {(i * 7 + 1) % 40} {i}\n" for i in range(400))
    ds = load_dataset(write("big.txt", lines), root=root, split="original")
    assert ds.train.edge_label.sum() == 240 and ds.val.edge_label.sum() == 80
    assert ds.train.time_range[1] < ds.test.time_range[0] and ds.val.time_range[1] < ds.test.time_range[0]


# ---- processed cache ----

def test_cache_is_reused_and_keyed_by_parameters(tiny, root, monkeypatch):
    first = load_dataset(tiny, root=root)
    [entry] = list((root / "processed").iterdir())
    monkeypatch.setattr(load_module, "read_edge_list", lambda *a: pytest.fail("cache not used"))
    again = load_dataset(tiny, root=root)
    assert torch.equal(first.test.edge_label_index, again.test.edge_label_index)
    assert again.train.time_range == first.train.time_range and again.name == "tiny"
    monkeypatch.undo()
    load_dataset(tiny, root=root, seed=5)
    assert len(list((root / "processed").iterdir())) == 2 and entry.exists()


@pytest.mark.parametrize("damage", ["garbage", "truncate", "empty"])
def test_corrupt_cache_is_rebuilt(tiny, root, damage):
    first = load_dataset(tiny, root=root)
    [entry] = list((root / "processed").iterdir())
    data = entry.read_bytes()
    entry.write_bytes({"garbage": b"not a torch file", "truncate": data[: len(data) // 2], "empty": b""}[damage])
    with pytest.warns(RuntimeWarning, match="processed cache .* is corrupt .*rebuilding"):
        again = load_dataset(tiny, root=root)
    assert torch.equal(first.val.edge_label_index, again.val.edge_label_index)
    assert entry.read_bytes() == data  # rewritten (torch.save is deterministic for equal tensors)


def test_cache_of_a_changed_file_is_not_reused(write, root):
    path = write("g.txt", TEXT)
    load_dataset(path, root=root)
    path.write_text(TEXT + "1 2 99999\n")
    assert load_dataset(path, root=root).num_events == N_EVENTS + 1


# ---- bad input ----

def test_unknown_name_lists_known_names(root):
    with pytest.raises(UnknownDatasetError, match=r"unknown dataset 'nope'; known names: .*email-eu.*ia-email.*synthetic"):
        load_dataset("nope", root=root)
    assert {"ia-email", "wiki-talk", "email-eu", "synthetic"} <= set(known_names())


def test_missing_file(root, tmp_path):
    with pytest.raises(DataFileNotFoundError, match="missing.txt: no such file"):
        load_dataset(str(tmp_path / "missing.txt"), root=root)
    with pytest.raises(DataFileNotFoundError, match=r"x\.edges: no such file \(given as the file of 'mine'\)"):
        load_dataset("mine", path=tmp_path / "x.edges", root=root)


@pytest.mark.parametrize("kwargs, message", [
    ({"split": "random"}, "unknown split 'random'"),
    ({"val_ratio": 0.6, "test_ratio": 0.5}, "val_ratio \\+ test_ratio < 1"),
    ({"neg_ratio": 0}, "neg_ratio must be > 0"),
    ({"num_nodes": 5}, r"\['num_nodes'\] are only accepted for 'synthetic' and 'wiki-talk-twin'"),
])
def test_bad_arguments_fail_before_reading(tmp_path, root, kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_dataset(tmp_path / "never-read.txt", root=root, **kwargs)


def test_too_few_edges_leaves_nothing(write, root, files_under):
    with pytest.raises(SplitError, match="too few edges for the split: 2 events give train/val/test = 2/0/0"):
        load_dataset(write("two.txt", "1 2 1\n2 3 2\n"), root=root)
    assert files_under(root) == []


def test_parse_error_leaves_nothing(write, root, files_under):
    with pytest.raises(EdgeListFormatError, match=r"bad\.txt, line 2: too few columns"):
        load_dataset(write("bad.txt", "1 2 3\n4 5\n"), root=root)
    assert files_under(root) == []


# ---- registry: lookup order, download, published counts ----

@pytest.fixture
def registered(http_dir, manifest):
    """A registered graph 'tiny' served over local HTTP as tiny.txt.gz."""
    www, base = http_dir
    gz = gzip.compress(TEXT.encode(), mtime=0)
    (www / "tiny.txt.gz").write_bytes(gz)
    manifest(tiny={"url": f"{base}/tiny.txt.gz", "file": "tiny.txt.gz", "shared_file": "tiny-shared.txt",
                   "columns": "src,dst,time", "num_nodes": 16, "num_events": N_EVENTS,
                   "sha256": hashlib.sha256(gz).hexdigest()})
    return www, base


def test_registered_download_then_cache(registered, root, files_under):
    www, _ = registered
    ds = load_dataset("tiny", root=root)
    assert ds.name == "tiny" and ds.source_path == root / "raw" / "tiny.txt.gz"
    (www / "tiny.txt.gz").unlink()  # a second load must not download again
    assert load_dataset("tiny", root=root, cache=False).num_events == N_EVENTS
    assert files_under(root)[-1] == "raw/tiny.txt.gz"


def test_lookup_order(registered, root, write, tmp_path, monkeypatch):
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "tiny-shared.txt").write_text(TEXT)
    monkeypatch.setenv("GNN_SPARSE_SHARED_DATA", str(shared))
    assert load_dataset("tiny", root=root, download=False).source_path == shared / "tiny-shared.txt"
    (root / "raw").mkdir()
    (root / "raw" / "tiny.txt.gz").write_bytes(gzip.compress(TEXT.encode(), mtime=0))  # the download, byte for byte
    assert load_dataset("tiny", root=root, download=False).source_path == root / "raw" / "tiny.txt.gz"
    explicit = write("elsewhere.txt", TEXT)
    assert load_dataset("tiny", path=explicit, root=root).source_path == explicit


def test_not_local_without_download(registered, root, files_under):
    _, base = registered
    with pytest.raises(DataFileNotFoundError, match=rf"'tiny' is not available locally: download {base}/tiny\.txt\.gz "
                                                    rf"and save it as {root}/raw/tiny\.txt\.gz"):
        load_dataset("tiny", root=root, download=False)
    assert files_under(root) == []


def test_offline_error_says_what_to_fetch(manifest, root, files_under, monkeypatch):
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    manifest(tiny={"url": "http://127.0.0.1:9/tiny.txt.gz", "file": "tiny.txt.gz", "columns": "src,dst,time",
                   "num_nodes": 16, "num_events": N_EVENTS})
    with pytest.raises(DownloadError, match=r"(?s)could not download http://127\.0\.0\.1:9/tiny\.txt\.gz.*"
                                            rf"To fix: download http://127\.0\.0\.1:9/tiny\.txt\.gz and save it as {root}/raw/tiny\.txt\.gz"):
        load_dataset("tiny", root=root)
    assert files_under(root) == []


def test_published_counts_are_checked(registered, manifest, root, write):
    _, base = registered
    manifest(tiny={"url": f"{base}/tiny.txt.gz", "file": "tiny.txt.gz", "columns": "src,dst,time",
                   "num_nodes": 17, "num_events": N_EVENTS})
    with pytest.raises(CountMismatchError, match=r"tiny \(.*\): published 17 nodes and 60 events, but the file has 16 nodes"):
        load_dataset("tiny", root=root)
    assert not (root / "processed").exists()


def test_constant_time_column_warns_naming_file_and_column(write, root):
    # Network Repository's `src dst time weight` layout read with the default roles: the weight
    # (always 1) would be the time, and the "chronological" split would follow the file order.
    text = "".join(f"{s} {d} {t} 1\n" for s, d, t in zip(SRC, DST, TIME))
    path = write("nr4.edges", text)
    for attempt in ("parsed", "cached"):  # the processed cache warns again
        with pytest.warns(ConstantTimeWarning, match=rf"{path}: column 4, read as the time with the default "
                                                      r"roles .* same value \(1\) on all 60 lines") as caught:
            ds = load_dataset(path, root=root)
        assert len(caught) == 1, attempt
        assert ds.time_column == 4 and ds.time_constant
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConstantTimeWarning)
        fixed = load_dataset(path, root=root, columns="src,dst,time,weight")
    assert fixed.time_column == 3 and not fixed.time_constant
    assert fixed.test.time_range == (float(np.sort(TIME)[48]), float(TIME.max()))


def test_time_column_recorded(tiny, write, root):
    assert load_dataset(tiny, root=root).time_column == 3
    two = load_dataset(write("two.txt", "".join(f"{s} {d}\n" for s, d in zip(SRC, DST))), root=root)
    assert two.time_column is None and not two.time_constant  # the file order is the time
    assert load_dataset("synthetic", num_nodes=50, num_events=300).time_column is None


def test_the_registry_ships_in_the_package():
    from gnn_sparse.data import registry

    assert registry.MANIFEST.name == "manifest.json" and registry.MANIFEST.is_file()
    assert Path(str(registry.MANIFEST)).parent == Path(registry.__file__).parent
    names = known_names()
    assert {"ia-email", "wiki-talk", "email-eu", "synthetic"} <= set(names)
    page = (Path(__file__).resolve().parents[2] / "docs" / "data.md").read_text(encoding="utf-8")
    assert all(f"| `{name}` |" in page for name in names)  # the data page lists every name


def test_locations_never_depend_on_the_source_tree(monkeypatch, tmp_path):
    from gnn_sparse.data.registry import data_root, shared_data_dir

    for variable in ("GNN_SPARSE_DATA", "GNN_SPARSE_SHARED_DATA", "XDG_CACHE_HOME"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert data_root() == tmp_path / "home" / ".cache" / "gnn-sparse" and shared_data_dir() is None
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert data_root() == tmp_path / "cache" / "gnn-sparse"
    monkeypatch.setenv("GNN_SPARSE_DATA", str(tmp_path / "data"))
    assert data_root() == tmp_path / "data" and data_root(tmp_path / "given") == tmp_path / "given"
    # no shared folder unless named: a registered graph is looked for in the data root, then downloaded
    with pytest.raises(DataFileNotFoundError, match=r"'email-eu' is not available locally: download .* and save it "
                                                    rf"as {tmp_path}/data/raw/email-Eu-core-temporal\.txt\.gz"):
        load_dataset("email-eu", download=False)

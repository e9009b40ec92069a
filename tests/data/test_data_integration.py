"""Integration tests on the real graphs of ../shared/data (skipped when that folder is absent)."""
import numpy as np
import pytest
import torch

from gnn_sparse.data import load_dataset, read_edge_list


def keys(edge_index, n):
    return (edge_index[0].to(torch.int64) * n + edge_index[1]).numpy()


def test_email_eu(shared, tmp_path):
    ds = load_dataset("email-eu", root=tmp_path)
    assert (ds.num_nodes, ds.num_events) == (986, 332_334)
    assert ds.source_path == shared / "email-Eu-core-temporal.txt.gz"
    assert ds.sha256 == "f6cc93249978e59d1aba111b55ea10ec553917419a3be1210012b5db3580efa6"

    raw = read_edge_list(ds.source_path)
    assert (np.diff(raw.time) < 0).any()  # the file is not sorted by time...
    train, val, test = ds.train.time_range, ds.val.time_range, ds.test.time_range
    assert train[0] <= train[1] <= val[0] <= val[1] <= test[0] <= test[1]  # ...the splits are

    n = ds.num_nodes
    edges = np.unique(np.concatenate([keys(torch.from_numpy(np.stack([raw.src, raw.dst])), n),
                                      keys(torch.from_numpy(np.stack([raw.dst, raw.src])), n)]))
    for data in (ds.train, ds.val, ds.test):
        positives = int(data.edge_label.sum())
        assert data.edge_label.numel() == 2 * positives  # balanced
        neg = data.edge_label_index[:, data.edge_label == 0]
        assert not np.isin(keys(neg, n), edges).any()  # negatives are never edges
        assert np.isin(keys(data.edge_label_index[:, :positives], n), edges).all()
    assert int(ds.train.edge_label.sum()) == 199_400 and int(ds.test.edge_label.sum()) == 66_467


@pytest.mark.parametrize("name, nodes, events", [
    ("college-msg", 1_899, 59_835),
    ("mathoverflow", 24_818, 506_550),
    ("enron-employees", 151, 50_572),
    ("bitcoin-otc", 5_881, 35_592),
])
def test_shared_graphs_match_published_counts(shared, tmp_path, name, nodes, events):
    ds = load_dataset(name, root=tmp_path, cache=False)
    assert (ds.num_nodes, ds.num_events) == (nodes, events)


def test_bitcoin_fractional_times(shared, tmp_path):
    ds = load_dataset("bitcoin-otc", root=tmp_path, cache=False)
    assert ds.train.time_range[0] == pytest.approx(1289241911.72836)

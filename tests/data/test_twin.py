import json

import numpy as np
import pytest

from gnn_sparse.data import TwinConfig, generate_twin, load_dataset, temporal_graph_stats
from gnn_sparse.data.registry import MANIFEST, known_names
from gnn_sparse.data.twin import WIKI_TALK_EVENTS, WIKI_TALK_NODES

SMALL = TwinConfig(scale=0.01)  # 11,401 nodes, 78,331 events


@pytest.fixture(scope="module")
def small():
    return generate_twin(SMALL)


def test_deterministic_by_graph_seed(small):
    again, other = generate_twin(SMALL), generate_twin(TwinConfig(scale=0.01, graph_seed=1))
    assert all((x == y).all() for x, y in ((small.src, again.src), (small.dst, again.dst), (small.time, again.time)))
    assert not np.array_equal(small.dst, other.dst)


def test_exact_counts_and_invariants(small):
    assert (small.num_nodes, small.num_events) == (11_401, 78_331) == (SMALL.num_nodes, SMALL.num_events)
    assert len(np.unique(np.concatenate([small.src, small.dst]))) == small.num_nodes  # every node takes part
    assert (small.src != small.dst).all()
    assert (np.diff(small.time) >= 0).all() and small.time.min() >= 0 and small.time.max() <= 2_320 * 86_400
    assert (small.time == np.round(small.time)).all()
    assert (TwinConfig().num_nodes, TwinConfig().num_events) == (WIKI_TALK_NODES, WIKI_TALK_EVENTS)


def test_wiki_talk_counts_match_the_registry():
    entry = json.loads(MANIFEST.read_text(encoding="utf-8"))["datasets"]["wiki-talk"]
    assert (entry["num_nodes"], entry["num_events"]) == (WIKI_TALK_NODES, WIKI_TALK_EVENTS)


def test_statistics_of_a_hand_made_graph():
    """0 -> 1, answered by 1 -> 0 a minute later, which 0 -> 1 answers a day and a second later
    (too late to count); 2 -> 1 is never answered."""
    from gnn_sparse.data.parse import EdgeList
    from gnn_sparse.data.stats import degree_ccdf, power_law_exponent

    g = EdgeList(np.array([0, 1, 0, 2]), np.array([1, 0, 1, 1]), np.array([0.0, 60.0, 86_461.0, 90.0]), 3)
    s = temporal_graph_stats(g, k_min=1)
    assert (s["pairs"], s["repeated_events"], s["reciprocity"]) == (3, 0.25, 2 / 3)
    assert s["replies_within_day"] == 0.25  # only the first 0 -> 1 is answered in time
    assert (s["in_degree_max"], s["out_degree_max"], s["in_degree_mean"]) == (2, 1, 1.0)
    assert power_law_exponent(np.array([10, 10]), 10) == pytest.approx(1 + 2 / (2 * np.log(10 / 9.5)))
    k, p = degree_ccdf(np.array([0, 1, 1, 3]))
    assert k.tolist() == [1, 3] and p.tolist() == [1.0, 1 / 3]


def test_talk_graph_shape(small):
    """Hubs, replies, repeated partners and bursts: the structure link prediction learns from."""
    s = temporal_graph_stats(small)
    for side in ("out", "in"):
        assert s[f"{side}_degree_max"] > 100 * s[f"{side}_degree_mean"]
        assert 1.5 < s[f"{side}_exponent"] < 3
    assert s["reciprocity"] > 0.3 and s["replies_within_day"] > 0.3
    assert 0.5 < s["repeated_events"] < 0.7
    assert s["burstiness"] > 0.5


def test_registry_generates_once_then_reads_the_cache(tmp_path, monkeypatch):
    import gnn_sparse.data.load as load

    assert "wiki-talk-twin" in known_names()
    ds = load_dataset("wiki-talk-twin", scale=0.002, root=tmp_path)
    assert (ds.name, ds.num_nodes, ds.num_events, ds.source_path) == ("wiki-talk-twin", 2_280, 15_666, None)
    assert ds.sha256 == TwinConfig(scale=0.002).fingerprint()
    cached, = (tmp_path / "processed").glob("wiki-talk-twin-*.pt")

    def never(config):
        raise AssertionError("generated again instead of read from the cache")

    monkeypatch.setattr(load, "generate_twin", never)
    again = load_dataset("wiki-talk-twin", scale=0.002, root=tmp_path)
    assert (again.test.edge_label_index == ds.test.edge_label_index).all()


def test_walk_features_are_cached_like_a_file_graphs(tmp_path):
    from gnn_sparse.features import feature_cache_dir

    ds = load_dataset("wiki-talk-twin", scale=0.002, root=tmp_path)
    assert feature_cache_dir(ds, tmp_path) == tmp_path / "processed" / "features" / f"wiki-talk-twin-{ds.sha256[:16]}"
    assert feature_cache_dir(load_dataset("synthetic", num_nodes=50, num_events=300), tmp_path) is None


def test_a_run_seed_keeps_the_graph(tmp_path):
    """The split seed draws other negatives on the same graph, as with a downloaded one."""
    a = load_dataset("wiki-talk-twin", scale=0.002, root=tmp_path, cache=False)
    b = load_dataset("wiki-talk-twin", scale=0.002, root=tmp_path, cache=False, seed=1)
    assert (a.events().src == b.events().src).all() and (a.events().dst == b.events().dst).all()
    assert not (a.test.edge_label_index == b.test.edge_label_index).all()


@pytest.mark.parametrize("kwargs, message", [
    ({"scale": 0}, "need scale > 0"),
    ({"scale": 1e-6}, r"scale 1e-06 gives 1 node\(s\); need at least 2"),
    ({"p_reply": 1.0}, "need 0 <= p_reply < 1"),
    ({"p_contact": 1.5}, "need 0 <= p_contact <= 1"),
    ({"contacts": 0}, "need contacts >= 1"),
    ({"edits": 0.5}, "need edits >= 1"),
    ({"degree_exponent": -1}, "need degree_exponent > 0"),
])
def test_bad_config(kwargs, message):
    with pytest.raises(ValueError, match=f"TwinConfig: {message}"):
        TwinConfig(**kwargs)


def test_twin_takes_no_file_and_no_unknown_parameter(tmp_path):
    with pytest.raises(ValueError, match="'wiki-talk-twin' is generated: it takes no path= or columns="):
        load_dataset("wiki-talk-twin", path="x.txt", root=tmp_path)
    with pytest.raises(TypeError, match="unexpected keyword argument 'num_nodes'"):
        load_dataset("wiki-talk-twin", num_nodes=5, root=tmp_path)


def test_data_fingerprint_is_the_loaded_sha256_without_loading(tmp_path, monkeypatch):
    from gnn_sparse.data import data_fingerprint

    file = tmp_path / "g.txt"
    file.write_text("".join(f"{i % 9} {(i * 4 + 1) % 9} {i}\n" for i in range(20)))
    assert data_fingerprint(file) == load_dataset(file, root=tmp_path / "data", neg_ratio=0.5).sha256
    assert data_fingerprint("synthetic", seed=3, num_nodes=50, num_events=500) == \
        load_dataset("synthetic", seed=3, num_nodes=50, num_events=500).sha256
    assert data_fingerprint("wiki-talk-twin", scale=0.001) != data_fingerprint("wiki-talk-twin")
    monkeypatch.delenv("GNN_SPARSE_SHARED_DATA", raising=False)
    assert data_fingerprint("ia-email", root=tmp_path / "empty") is None  # would be downloaded: nothing to compare
    assert data_fingerprint(tmp_path / "gone.txt") is None  # a missing file: nothing to compare either
    with pytest.raises(TypeError, match="no_such_parameter"):  # as load_dataset
        data_fingerprint("wiki-talk-twin", no_such_parameter=1)

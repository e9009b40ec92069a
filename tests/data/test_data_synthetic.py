import pytest
import torch
import torch.nn.functional as F

from gnn_sparse.data import SyntheticConfig, generate_synthetic, load_dataset


def test_deterministic_by_seed():
    a, b = generate_synthetic(SyntheticConfig(seed=3)), generate_synthetic(SyntheticConfig(seed=3))
    c = generate_synthetic(SyntheticConfig(seed=4))
    assert all((x == y).all() for x, y in ((a.src, b.src), (a.dst, b.dst), (a.time, b.time)))
    assert not (a.dst == c.dst).all()


def test_sizes_and_invariants():
    g = generate_synthetic(SyntheticConfig(num_nodes=300, num_events=5000, num_communities=7, seed=1))
    assert (g.num_nodes, g.num_events) == (300, 5000)
    assert g.src.min() >= 0 and max(g.src.max(), g.dst.max()) < 300
    assert (g.src != g.dst).all()
    assert (g.time[1:] >= g.time[:-1]).all()


def test_default_dataset_identity():
    ds = load_dataset("synthetic")
    assert (ds.name, ds.num_nodes, ds.num_events, ds.source_path) == ("synthetic", 1000, 25000, None)
    assert ds.sha256 == SyntheticConfig().fingerprint()
    assert ds.sha256 != SyntheticConfig(num_events=25001).fingerprint()
    assert load_dataset("synthetic", num_nodes=50, num_events=500, seed=2).sha256 == \
        SyntheticConfig(num_nodes=50, num_events=500, seed=2).fingerprint()


def test_interactions_recur():
    """Most test pairs were already seen in training: predicting 'seen before' beats chance by far."""
    ds = load_dataset("synthetic")
    n = ds.num_nodes
    seen = set((ds.test.edge_index[0] * n + ds.test.edge_index[1]).tolist())
    guess = torch.tensor([k in seen for k in (ds.test.edge_label_index[0] * n + ds.test.edge_label_index[1]).tolist()])
    assert (guess.float() == ds.test.edge_label).float().mean() > 0.7


def test_learnable_by_a_small_gcn():
    """A 2-layer GCN on a learned node embedding with an MLP head beats 75% test accuracy."""
    from torch_geometric.nn import GCNConv

    torch.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        ds = load_dataset("synthetic", num_nodes=500, num_events=12000)
        emb = torch.nn.Embedding(ds.num_nodes, 32)
        convs = torch.nn.ModuleList([GCNConv(32, 32), GCNConv(32, 32)])
        head = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 1))
        params = [*emb.parameters(), *convs.parameters(), *head.parameters()]
        opt = torch.optim.Adam(params, lr=0.02)

        def logits(data, pairs):
            h = convs[1](F.relu(convs[0](emb.weight, data.edge_index)), data.edge_index)
            return head(torch.cat([h[pairs[0]], h[pairs[1]]], dim=1)).squeeze(-1)

        gen = torch.Generator().manual_seed(0)
        for _ in range(40):
            pairs, labels = ds.resample_train_negatives(gen)
            opt.zero_grad()
            F.binary_cross_entropy_with_logits(logits(ds.train, pairs), labels).backward()
            opt.step()
        with torch.no_grad():
            accuracy = ((logits(ds.test, ds.test.edge_label_index) > 0).float() == ds.test.edge_label).float().mean()
    finally:
        torch.set_num_threads(threads)
    assert accuracy > 0.75


@pytest.mark.parametrize("kwargs, message", [
    ({"num_nodes": 1}, "need num_nodes >= 2"),
    ({"num_communities": 0}, "need 1 <= num_communities <= num_nodes"),
    ({"p_repeat": 0.7, "p_community": 0.5}, "need p_repeat, p_community >= 0 with sum <= 1"),
    ({"contacts": 0}, "need contacts >= 1"),
])
def test_bad_config(kwargs, message):
    with pytest.raises(ValueError, match=f"SyntheticConfig: {message}"):
        SyntheticConfig(**kwargs)


def test_synthetic_takes_no_file():
    with pytest.raises(ValueError, match="'synthetic' is generated: it takes no path= or columns="):
        load_dataset("synthetic", path="x.txt")
    with pytest.raises(TypeError, match="unexpected keyword argument 'nodes'"):
        load_dataset("synthetic", nodes=5)

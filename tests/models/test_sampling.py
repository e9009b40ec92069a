"""The fallback neighbour sampler and the layer-wise (chunked) encoder: sampled edges are
graph edges, fan-outs hold, seeds reproduce, and un-truncated sampling or chunked
evaluation reproduce the full-graph encoder."""
import pytest
import torch

from gnn_sparse.models import build_link_predictor
from gnn_sparse.models.sampling import CSRGraph, NeighborSampler, floyd_sample


@pytest.fixture(autouse=True)
def _single_thread(one_thread):
    """One thread (``one_thread`` in tests/conftest.py)."""


def _model_and_csr(ds, encoder="gcn"):
    torch.manual_seed(0)
    model = build_link_predictor(ds.num_nodes, encoder)
    prepared = model.prepare(ds.train.edge_index)
    return model, prepared, CSRGraph.from_prepared(prepared, ds.num_nodes)


def _edge_keys(edge_index, n):
    return set((edge_index[0] * n + edge_index[1]).tolist())


@pytest.mark.parametrize("encoder", ["gcn", "sage"])
@pytest.mark.parametrize("fanouts", [[3, 2], [1, 5], [-1, 2]])
def test_sampled_edges_exist_and_fanouts_hold(tiny_dataset, encoder, fanouts):
    ds = tiny_dataset
    _, _, csr = _model_and_csr(ds, encoder)
    sampler = NeighborSampler(csr, fanouts)
    seeds = torch.unique(ds.train.edge_label_index[:, :64].reshape(-1))
    sub = sampler.sample(seeds, torch.Generator().manual_seed(1))
    edge_index = sub.graph[0] if encoder == "gcn" else sub.graph
    n_id = sub.n_id
    assert torch.equal(n_id[:seeds.numel()], seeds) and n_id.unique().numel() == n_id.numel()
    glob = n_id[edge_index]
    loops = glob[0] == glob[1]
    graph_keys = _edge_keys(ds.train.edge_index, ds.num_nodes)
    assert _edge_keys(glob[:, ~loops], ds.num_nodes) <= graph_keys  # every sampled edge is a graph edge
    if encoder == "gcn":  # one self-loop per node, the only loops (the graph has none)
        assert loops.sum() == n_id.numel() and torch.equal(glob[0, loops].sort().values, n_id.sort().values)
    in_deg = torch.bincount(edge_index[1, ~loops], minlength=n_id.numel())
    full_deg = csr.degree()[n_id]
    # expanded nodes (seeds at hop 1, hop-1 nodes at hop 2) have min(k, degree) in-edges, others none
    hop1 = torch.arange(n_id.numel()) < seeds.numel()
    k1 = fanouts[0] if fanouts[0] > 0 else 10**9
    assert torch.equal(in_deg[hop1], full_deg[hop1].clamp(max=k1))
    assert (in_deg[~hop1] <= fanouts[1]).all()
    assert not (edge_index[0, ~loops] == edge_index[1, ~loops]).any()


def test_same_seed_same_sample_other_seed_other_sample(tiny_dataset):
    _, _, csr = _model_and_csr(tiny_dataset)
    sampler = NeighborSampler(csr, [2, 2])
    seeds = torch.arange(0, 200, 7)
    a, b, c = (sampler.sample(seeds, torch.Generator().manual_seed(s)) for s in (5, 5, 6))
    assert torch.equal(a.n_id, b.n_id) and torch.equal(a.graph[0], b.graph[0]) and torch.equal(a.graph[1], b.graph[1])
    assert not (a.n_id.numel() == c.n_id.numel() and torch.equal(a.graph[0], c.graph[0]))


def test_floyd_sample_is_distinct_and_uniform():
    g = torch.Generator().manual_seed(0)
    degree = torch.tensor([5, 12, 3] * 4000)
    picks = floyd_sample(degree, 3, g)
    assert (picks >= 0).all() and (picks < degree[:, None]).all()
    assert (picks.sort(dim=1).values.diff(dim=1) > 0).all()  # distinct per row
    freq = torch.bincount(picks[degree == 5].flatten(), minlength=5).float() / (4000 * 3)
    assert torch.allclose(freq, torch.full((5,), 0.2), atol=0.02)  # each position kept with prob k/d = 3/5


def test_floyd_sample_without_rows_draws_nothing(monkeypatch):
    """A fan-out above every degree cuts no node: no loop over its k positions (k = 100000
    made a sampled step take minutes)."""
    calls = []
    rand = torch.rand
    monkeypatch.setattr(torch, "rand", lambda *a, **kw: calls.append(a) or rand(*a, **kw))
    out = floyd_sample(torch.zeros(0, dtype=torch.long), 100_000)
    assert out.shape == (0, 100_000) and not calls
    floyd_sample(torch.tensor([4]), 2)
    assert len(calls) == 2  # the counter counts


@pytest.mark.parametrize("encoder", ["gcn", "sage"])
def test_untruncated_sample_gives_the_full_graph_encoding(tiny_dataset, encoder):
    model, prepared, csr = _model_and_csr(tiny_dataset, encoder)
    seeds = torch.tensor([0, 3, 50, 199])
    big = int(csr.degree().max())
    sub = NeighborSampler(csr, [big, big]).sample(seeds, torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.allclose(model.encode(sub)[:4], model.encode(prepared)[seeds], atol=1e-5)


def test_gcn_sample_is_unbiased_for_the_first_layer(tiny_dataset):
    """The d_i / k_i rescaling makes the sampled aggregation's mean the full-graph one."""
    _, prepared, csr = _model_and_csr(tiny_dataset)
    seeds = torch.tensor([int(csr.degree().argmax())])
    x = torch.randn(csr.num_nodes, 4, generator=torch.Generator().manual_seed(0))
    ei, w = prepared
    full = torch.zeros(csr.num_nodes, 4).index_add_(0, ei[1], x[ei[0]] * w[:, None])[seeds]
    sampler, g = NeighborSampler(csr, [2]), torch.Generator().manual_seed(0)
    means = []
    for _ in range(2000):
        sub = sampler.sample(seeds, g)
        (sei, sw) = sub.graph
        agg = torch.zeros(sub.n_id.numel(), 4).index_add_(0, sei[1], x[sub.n_id][sei[0]] * sw[:, None])
        means.append(agg[0])
    samples = torch.stack(means)
    standard_error = samples.std(0) / len(means) ** 0.5
    assert ((samples.mean(0) - full[0]).abs() < 4 * standard_error).all()
    assert (standard_error > 0).all()  # the sample really varies (degree > k)


def test_gcn_sampled_weights_are_the_full_ones_times_degree_over_k():
    """By hand: node 0 has in-neighbours 1..4 of different degrees; at fan-out 2 each kept
    edge carries its full-graph weight times 4 / 2 (so the mean over the 6 equally likely
    pairs is the full aggregation), not a weight renormalised on the sample; the self-loop
    and the uncut nodes keep theirs."""
    src = torch.tensor([1, 2, 3, 4, 2, 3, 3, 4, 4, 4, 5, 6, 7])
    dst = torch.tensor([0, 0, 0, 0, 5, 5, 6, 6, 7, 5, 4, 4, 4])
    edge_index = torch.cat([torch.stack([src, dst]), torch.stack([dst, src])], dim=1)
    model = build_link_predictor(8, "gcn")
    ei, w = model.prepare(edge_index)
    full = {(int(a), int(b)): float(x) for a, b, x in zip(ei[0], ei[1], w)}
    csr = CSRGraph.from_prepared((ei, w), 8)
    assert int(csr.degree()[0]) == 4 and len({full[(j, 0)] for j in range(1, 5)}) > 1
    sampler, g = NeighborSampler(csr, [2]), torch.Generator().manual_seed(0)
    for _ in range(10):
        sub = sampler.sample(torch.tensor([0, 6]), g)
        (sei, sw), glob = sub.graph, sub.n_id[sub.graph[0]]
        into = {(int(a), int(b)): float(x) for a, b, x in zip(glob[0], glob[1], sw)}
        kept = [j for (j, i) in into if i == 0 and j != 0]
        assert len(kept) == 2 and all(into[(j, 0)] == pytest.approx(2 * full[(j, 0)]) for j in kept)
        assert into[(0, 0)] == pytest.approx(full[(0, 0)])
        assert all(into[(j, 6)] == pytest.approx(full[(j, 6)]) for j in (3, 4, 6))  # degree 2 <= k: all kept


@pytest.mark.parametrize("encoder", ["gcn", "sage"])
def test_chunked_encoding_equals_full(tiny_dataset, encoder):
    model, prepared, csr = _model_and_csr(tiny_dataset, encoder)
    chunks = csr.chunks(50)
    assert len(chunks) > 10 and chunks[0][0] == 0 and chunks[-1][1] == csr.num_nodes
    assert all(a < b for a, b in chunks) and all(b == c for (_, b), (c, _) in zip(chunks[:-1], chunks[1:]))
    with torch.no_grad():
        full = model.encode(prepared)
        chunked = model.encoder.forward_chunked(model.embedding.weight, csr, 50)
    assert torch.allclose(full, chunked, atol=1e-5)


def test_bad_fanouts_are_refused(tiny_dataset):
    _, _, csr = _model_and_csr(tiny_dataset)
    with pytest.raises(ValueError, match="'NeighborSampler' needs fan-outs > 0 or -1"):
        NeighborSampler(csr, [10, -2])


def test_make_sampler_falls_back_to_torch_without_pyg_lib(tiny_dataset):
    from gnn_sparse.models.sampling import make_sampler, pyg_sampling_available

    _, _, csr = _model_and_csr(tiny_dataset)
    sampler = make_sampler(csr, [5, 5])
    assert sampler.backend == ("pyg" if pyg_sampling_available() else "torch")


@pytest.mark.skipif("not __import__('gnn_sparse.models.sampling', fromlist=['x']).pyg_sampling_available()",
                    reason="needs pyg-lib or torch-sparse (not installable for torch 2.13)")
@pytest.mark.parametrize("fanouts", [[3, 2], [-1, 4]])
def test_pyg_and_torch_samplers_give_the_same_kind_of_subgraph(tiny_dataset, fanouts):
    from gnn_sparse.models.sampling import PyGNeighborSampler

    model, prepared, csr = _model_and_csr(tiny_dataset)
    seeds = torch.tensor([0, 3, 50, 199])
    subs = [cls(csr, fanouts).sample(seeds, torch.Generator().manual_seed(0))
            for cls in (NeighborSampler, PyGNeighborSampler)]
    graph_keys = _edge_keys(tiny_dataset.train.edge_index, tiny_dataset.num_nodes)
    for sub in subs:
        assert torch.equal(sub.n_id[:4], seeds)
        glob = sub.n_id[sub.graph[0]]
        loops = glob[0] == glob[1]
        assert _edge_keys(glob[:, ~loops], tiny_dataset.num_nodes) <= graph_keys
        in_deg = torch.bincount(sub.graph[0][1, ~loops], minlength=sub.n_id.numel())
        k1 = fanouts[0] if fanouts[0] > 0 else 10**9
        assert torch.equal(in_deg[:4], csr.degree()[seeds].clamp(max=k1))
    big = int(csr.degree().max())
    full = PyGNeighborSampler(csr, [big, big]).sample(seeds)
    with torch.no_grad():
        assert torch.allclose(model.encode(full)[:4], model.encode(prepared)[seeds], atol=1e-5)


@pytest.mark.parametrize("encoder", ["gcn", "sage"])
def test_trimmed_layers_give_the_untrimmed_seed_outputs(tiny_dataset, encoder):
    model, _, csr = _model_and_csr(tiny_dataset, encoder)
    sub = NeighborSampler(csr, [3, 2]).sample(torch.tensor([1, 2, 30, 77]), torch.Generator().manual_seed(3))
    assert len(sub.hop_bounds) == 3 and sub.hop_bounds[0] == 4 and sub.hop_bounds[-1] == sub.n_id.numel()
    with torch.no_grad():
        x = model.embedding(sub.n_id)
        trimmed = model.encoder.forward_sampled(x, sub)
        whole = model.encoder(x, sub.graph)
    assert trimmed.shape == (4, whole.size(1))
    assert torch.allclose(trimmed, whole[:4], atol=1e-6)

import pytest
import torch
from torch_geometric.nn import GCNConv

from gnn_sparse.models import GCNEncoder, LinkPredictor, SAGEEncoder, build_link_predictor

EDGES = torch.tensor([[0, 1, 1, 2, 3, 3, 4, 5], [1, 2, 2, 3, 4, 4, 5, 0]])  # repeated edges included


@pytest.mark.parametrize("encoder", ["gcn", "sage", "none"])
def test_shapes_and_paper_head(encoder):
    torch.manual_seed(0)
    model = build_link_predictor(6, encoder)
    graph = model.prepare(EDGES)
    assert tuple(model.fc1.weight.shape) == (128, 16)
    assert tuple(model.fc2.weight.shape) == (1, 128)
    z = model.encode(graph)
    assert z.shape == (6, 8)
    logits = model(graph, torch.tensor([[0, 1, 2], [3, 4, 5]]))
    assert logits.shape == (3,)
    assert model.classify(torch.randn(4, 16)).shape == (4,)


def test_gcn_prepare_is_exact_for_repeated_edges():
    """Merging repeated edges into summed normalised weights is the same operator."""
    torch.manual_seed(0)
    enc = GCNEncoder(4, 3, 2, num_layers=1)
    ref = GCNConv(4, 2)  # normalises on the fly over every (repeated) edge
    ref.lin.weight.data.copy_(enc.convs[0].lin.weight)
    x = torch.randn(6, 4)
    graph = GCNEncoder.prepare(EDGES, 6)
    assert graph[0].size(1) < EDGES.size(1) + 6  # duplicates merged (self-loops added)
    torch.testing.assert_close(enc(x, graph), ref(x, EDGES))


def test_sparsifiable_scopes():
    gcn = build_link_predictor(6, "gcn")
    assert gcn.sparsifiable("fc") == ["fc1.weight", "fc2.weight"]
    assert gcn.sparsifiable("gnn") == ["encoder.convs.0.lin.weight", "encoder.convs.1.lin.weight"]
    assert len(gcn.sparsifiable("all")) == 4
    sage = build_link_predictor(6, "sage")
    assert len(sage.sparsifiable("gnn")) == 4  # lin_l and lin_r of two layers
    with pytest.raises(ValueError, match="selects no weight"):
        build_link_predictor(6, "none").sparsifiable("gnn")
    with pytest.raises(ValueError, match="LinkPredictor.*unknown sparsify scope"):
        gcn.sparsifiable("head")


@pytest.mark.parametrize("encoder", ["gcn", "sage"])
def test_calibrate_sets_encoder_output_std(encoder):
    torch.manual_seed(0)
    model = build_link_predictor(6, encoder, embedding_dim=16, hidden_dim=8)
    graph = model.prepare(EDGES)
    assert model.calibrate(graph, std=2.0) == pytest.approx(2.0, rel=1e-2)
    with torch.no_grad():
        assert float(model.encode(graph).std()) == pytest.approx(2.0, rel=1e-2)


def test_bad_arguments_name_the_class():
    with pytest.raises(ValueError, match="GCNEncoder.*num_layers"):
        GCNEncoder(4, 4, 4, num_layers=0)
    with pytest.raises(ValueError, match="LinkPredictor.*takes 4 input features"):
        LinkPredictor(6, 8, SAGEEncoder(4, 4, 2))
    with pytest.raises(ValueError, match="unknown encoder 'gat'"):
        build_link_predictor(6, "gat")
    with pytest.raises(ValueError, match="edge_index must have shape"):
        build_link_predictor(6).prepare(torch.zeros(3, 2, dtype=torch.long))


@pytest.mark.parametrize("pruned", [0, 115, 128])  # dense, 90% of fc2 pruned, all of it
@pytest.mark.parametrize("sources, rows, width", [(40, 30, 7), (2, 30, 7)])  # per pair; few sources: a table
def test_score_candidates_equals_decode(pruned, sources, rows, width, monkeypatch):
    """The one-vs-many head (split fc1, pruned hidden units skipped, table of few sources,
    blocks) scores every pair as ``decode`` does."""
    import gnn_sparse.models.link_predictor as link_predictor

    monkeypatch.setattr(link_predictor, "HIDDEN_BLOCK", 500)  # several blocks even here
    torch.manual_seed(0)
    model = build_link_predictor(40, "gcn")
    with torch.no_grad():
        model.fc2.weight[0, torch.randperm(128)[:pruned]] = 0
        z = model.encode(model.prepare(EDGES))
        src = torch.randint(0, sources, (rows,))
        dst = torch.randint(0, 40, (rows, width), dtype=torch.int32)
        got = model.score_candidates(z, src, dst)
        pairs = torch.stack([src.repeat_interleave(width), dst.reshape(-1).long()])
        expected = model.decode(z, pairs).view(rows, width)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
    if pruned == 128:
        assert (got == model.fc2.bias).all()  # nothing reaches fc2: its bias alone

"""Ranking metrics: ranks with ties counted half, MRR and Hits@k, and the chunked scorer."""
import numpy as np
import pytest
import torch
from scipy.stats import rankdata

from gnn_sparse.models import build_link_predictor
from gnn_sparse.training.metrics import RANKING_METRICS, ranking_metrics, ranks_among_negatives
from gnn_sparse.training.ranking import RankingCandidates, evaluate_ranking, rank_positives, ranking_candidates


def test_ranks_and_metrics_hand_checked():
    positive = torch.tensor([3.0, 1.0, 0.0, 2.0])
    negatives = torch.tensor([[1.0, 2.0, 0.5],   # all below: rank 1
                              [2.0, 1.0, 0.0],   # one above, one tie: 1 + 1 + 0.5 = 2.5
                              [0.0, 0.0, 0.0],   # all tied: 1 + 1.5 = 2.5 (a constant model: the middle)
                              [5.0, 4.0, 3.0]])  # all above: rank 4
    ranks = ranks_among_negatives(positive, negatives)
    assert ranks.tolist() == [1.0, 2.5, 2.5, 4.0]
    m = ranking_metrics(ranks)
    assert list(m) == list(RANKING_METRICS)
    assert m["mrr"] == pytest.approx((1 + 1 / 2.5 + 1 / 2.5 + 1 / 4) / 4)
    assert (m["hits@1"], m["hits@3"], m["hits@10"]) == (0.25, 0.75, 1.0)  # 2.5 <= 3, but not <= 1


def test_invalid_negatives_are_left_out():
    positive = torch.tensor([1.0, 1.0])
    negatives = torch.tensor([[2.0, 9.0, 1.0], [0.0, 9.0, 9.0]])
    valid = torch.tensor([[True, False, True], [True, False, False]])
    assert ranks_among_negatives(positive, negatives, valid).tolist() == [2.5, 1.0]
    assert ranks_among_negatives(positive, negatives, valid.float()).tolist() == [2.5, 1.0]  # 0/1 weights too


def test_ranks_match_scipy_average_ranks_with_many_ties():
    """Reference: the positive's average rank (scipy.stats.rankdata, method='average') among
    its row of scores sorted in decreasing order; integer scores make ties frequent."""
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 6, size=(200, 31)).astype(np.float32)
    expected = [rankdata(-row, method="average")[0] for row in scores]
    got = ranks_among_negatives(torch.from_numpy(scores[:, 0]), torch.from_numpy(scores[:, 1:]))
    assert got.tolist() == expected
    m = ranking_metrics(got)
    assert m["mrr"] == pytest.approx(np.mean(1 / np.array(expected)))
    assert m["hits@3"] == pytest.approx(np.mean(np.array(expected) <= 3))


def test_a_nan_score_is_a_tie_never_a_win():
    nan = float("nan")
    ranks = ranks_among_negatives(torch.tensor([nan, 0.0, 0.0]), torch.tensor([[1.0, 2.0], [1.0, 2.0], [nan, -1.0]]))
    assert ranks.tolist() == [2.0, 3.0, 1.5]  # NaN positive: in the middle; NaN negative: half above
    with pytest.raises(ValueError, match=r"\(P,\) and \(P, K\)"):
        ranks_among_negatives(torch.zeros(3), torch.zeros(2, 4))
    with pytest.raises(ValueError, match="non-empty"):
        ranking_metrics(torch.zeros(0))


def _brute_force_ranks(model, z, src, dst, negatives):
    """Each positive and each valid negative scored through ``decode`` one pair list at a time,
    then ranked with scipy: none of the code under test."""
    ranks = []
    for u, v, row in zip(src.tolist(), dst.tolist(), negatives.tolist()):
        candidates = [v] + [w for w in row if w >= 0]
        pairs = torch.tensor([[u] * len(candidates), candidates])
        scores = model.decode(z, pairs).detach().numpy()
        ranks.append(rankdata(-scores, method="average")[0])
    return ranks


@pytest.mark.parametrize("sparse_head", [False, True])
def test_chunked_scorer_matches_decode_and_scipy(tiny_dataset, sparse_head):
    torch.manual_seed(0)
    model = build_link_predictor(tiny_dataset.num_nodes, "gcn")
    graph = model.prepare(tiny_dataset.val.edge_index)
    if sparse_head:
        with torch.no_grad():
            model.fc2.weight[0, torch.randperm(128)[:115]] = 0
    negatives = tiny_dataset.ranking_negatives(190)["val"][:60]  # 200 nodes: hubs have fewer than 190
    data = tiny_dataset.val
    positives = data.edge_label_index[:, data.edge_label == 1][:, :60]
    candidates = RankingCandidates(positives[0], torch.cat([positives[1, :, None].int(), negatives.clamp_min(0)], 1),
                                   (negatives >= 0).float())
    assert candidates.valid.min() == 0  # some rows are padded
    with torch.no_grad():
        z = model.encode(graph)
        chunked = rank_positives(model, z, candidates, chunk_pairs=700)  # several chunks of 3 positives
        expected = _brute_force_ranks(model, z, positives[0], positives[1], negatives)
    np.testing.assert_allclose(chunked.numpy(), expected, rtol=0, atol=1e-6)


def test_candidates_of_the_runner(tiny_dataset):
    assert ranking_candidates(tiny_dataset, 0, "cpu") == {}
    candidates = ranking_candidates(tiny_dataset, 5, "cpu")
    val = candidates["val"]
    positives = tiny_dataset.val.edge_label_index[:, tiny_dataset.val.edge_label == 1]
    order = torch.argsort(positives[0], stable=True)  # rows in source order, each with its own negatives
    assert torch.equal(val.src, positives[0, order]) and torch.equal(val.dst[:, 0].long(), positives[1, order])
    assert torch.equal(val.dst[:, 1:], tiny_dataset.ranking_negatives(5)["val"][order])
    assert (val.src[1:] >= val.src[:-1]).all()
    assert val.valid is None  # 200 nodes: every source has 5 valid destinations
    model = build_link_predictor(tiny_dataset.num_nodes, "none")
    with torch.no_grad():
        model.fc2.weight.zero_()  # every pair scores fc2's bias: all tied, each positive in the middle
        metrics = evaluate_ranking(model, model.encode(None), val)
    assert metrics == {"mrr": pytest.approx(1 / 3.5), "hits@1": 0.0, "hits@3": 0.0, "hits@10": 1.0}

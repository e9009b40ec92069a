"""LinkPredictor on fixed node features (``--encoder twalk``): only the head trains."""
import pytest
import torch
import torch.nn.functional as F

from gnn_sparse.features import pair_features
from gnn_sparse.models import ENCODERS, FIXED_FEATURE_ENCODERS, LinkPredictor, build_link_predictor

PAIRS = torch.tensor([[0, 1, 2, 5], [3, 4, 5, 0]])


def _features(n=6, k=8):
    return torch.randn(n, k, generator=torch.Generator().manual_seed(0))


def test_twalk_is_an_encoder_choice():
    assert "twalk" in ENCODERS and "twalk" in FIXED_FEATURE_ENCODERS


def test_head_on_pair_features_and_nothing_else_trains():
    z = _features()
    torch.manual_seed(0)
    model = build_link_predictor(6, "twalk", node_features=z)
    assert model.fixed_features and model.embedding is None and model.encoder is None
    assert tuple(model.fc1.weight.shape) == (128, 16) and tuple(model.fc2.weight.shape) == (1, 128)
    assert [n for n, _ in model.named_parameters()] == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert model.prepare(torch.tensor([[0, 1], [1, 2]])) is None  # no graph work
    assert torch.equal(model.encode(None), z)
    # the forward pass is exactly the head on the original pipeline's pair features
    torch.testing.assert_close(model(None, PAIRS), model.classify(pair_features(z, PAIRS)))

    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    before = model.fc1.weight.detach().clone()
    loss = F.binary_cross_entropy_with_logits(model(None, PAIRS), torch.tensor([1.0, 0.0, 1.0, 0.0]))
    loss.backward()
    opt.step()
    assert torch.equal(model.node_features, z)  # fixed
    assert not torch.equal(model.fc1.weight, before)  # the head learns
    assert model.calibrate(None) == pytest.approx(float(z.std()))  # no rescaling of given features
    assert torch.equal(model.node_features, z)


def test_features_are_copied_follow_the_device_and_stay_out_of_checkpoints():
    z = _features()
    model = build_link_predictor(6, "twalk", node_features=z)
    z.add_(1.0)  # the model holds its own copy
    assert not torch.equal(model.node_features, z)
    state = model.state_dict()
    assert set(state) == {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}
    other = build_link_predictor(6, "twalk", node_features=model.node_features)
    other.load_state_dict(state)  # strict: the buffer is not expected
    torch.testing.assert_close(other(None, PAIRS), model(None, PAIRS))
    assert model.to(torch.float64).node_features.dtype == torch.float64  # moves with .to()
    assert "fixed node features" in repr(model)


def test_width_comes_from_the_features():
    model = build_link_predictor(6, "twalk", node_features=_features(k=4), fc_hidden=32)
    assert tuple(model.fc1.weight.shape) == (32, 8)
    assert model.sparsifiable("fc") == ["fc1.weight", "fc2.weight"]
    with pytest.raises(ValueError, match="selects no weight"):
        model.sparsifiable("gnn")


def test_bad_fixed_features():
    with pytest.raises(ValueError, match="encoder 'twalk' needs its fixed node_features"):
        build_link_predictor(6, "twalk")
    with pytest.raises(ValueError, match="node_features are only for twalk"):
        build_link_predictor(6, "gcn", node_features=_features())
    with pytest.raises(ValueError, match=r"node_features must have shape \(7, 8\)"):
        build_link_predictor(7, "twalk", node_features=_features())
    with pytest.raises(ValueError, match="finite floats"):
        build_link_predictor(6, "twalk", node_features=torch.full((6, 8), float("nan")))
    with pytest.raises(ValueError, match="take no encoder"):
        from gnn_sparse.models import SAGEEncoder

        LinkPredictor(6, 8, SAGEEncoder(8, 4, 2), node_features=_features())

"""Control variates (VR-GCN) on the sampled GCN path: equal to the plain sampled path when no
fan-out truncates (for any history), layer 1's forward exact with any fan-out, the history
holding the rows of the last step that computed them, unbiased for any history, and refused
where it does not apply."""
import pytest
import torch
import torch.nn.functional as F

from gnn_sparse.models import build_link_predictor
from gnn_sparse.models.control_variates import ControlVariates, ControlVariateSampler, neighbour_rows
from gnn_sparse.models.sampling import CSRGraph, NeighborSampler

NO_CUT = [10**6, 10**6]


@pytest.fixture(autouse=True)
def _single_thread(one_thread):
    """One thread (``one_thread`` in tests/conftest.py)."""


def _setup(ds, fanouts, encoder="gcn", num_layers=2):
    torch.manual_seed(0)
    model = build_link_predictor(ds.num_nodes, encoder, num_layers=num_layers)
    prepared = model.prepare(ds.train.edge_index)
    csr = CSRGraph.from_prepared(prepared, ds.num_nodes)
    control = ControlVariates(csr, model.encoder)
    return model, prepared, csr, control, ControlVariateSampler(NeighborSampler(csr, fanouts), control)


def _exact_hidden(model, prepared):
    """Layer 1's exact full-graph output (layer 2's input) for every node."""
    conv = model.encoder.convs[0]
    return conv(model.embedding.weight, *prepared).relu()


def _loss_and_grads(model, sub, local, labels):
    model.zero_grad()
    loss = F.binary_cross_entropy_with_logits(model(sub, local), labels)
    loss.backward()
    return loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters()}


def test_neighbour_rows_are_the_in_neighbour_weights(tiny_dataset):
    ds = tiny_dataset
    _, prepared, csr, _, _ = _setup(ds, NO_CUT)
    targets = torch.tensor([5, 0, 17, 5])
    dense = neighbour_rows(csr, targets).to_dense()
    edge_index, weight = prepared
    full = torch.zeros(ds.num_nodes, ds.num_nodes).index_put_((edge_index[1], edge_index[0]), weight, accumulate=True)
    full.fill_diagonal_(0)  # self-loops are csr.self_weight, not listed
    assert torch.allclose(dense, full[targets]) and dense.abs().sum() > 0


@pytest.mark.parametrize("num_layers", [2, 3])
def test_untruncated_control_variates_give_the_plain_loss_and_gradients(tiny_dataset, num_layers):
    """With every neighbour sampled, ``sum_S a (h - hbar) + sum_N a hbar = sum_N a h`` for any
    history: a random one here, so a wrong weight, a lost self-loop or a double count shows."""
    ds = tiny_dataset
    model, _, _, control, cv_sampler = _setup(ds, [10**6] * num_layers, num_layers=num_layers)
    assert len(control.tables) == num_layers - 1
    torch.manual_seed(1)
    for table in control.tables:
        table.copy_(torch.randn_like(table))
    pairs, labels = ds.train.edge_label_index[:, :96], ds.train.edge_label[:96]
    sub, local = cv_sampler.sample_pairs(pairs, torch.Generator().manual_seed(0))
    plain = sub.__class__(sub.n_id, sub.graph, sub.hop_bounds)
    loss_p, grads_p = _loss_and_grads(model, plain, local, labels)
    loss_c, grads_c = _loss_and_grads(model, sub, local, labels)
    assert torch.allclose(loss_c, loss_p, atol=1e-6)
    for name, grad in grads_p.items():
        assert torch.allclose(grads_c[name], grad, atol=1e-5), name
    # and the history is then used: with a cut, the same random history changes the loss
    cut = ControlVariateSampler(NeighborSampler(control.csr, [2] * num_layers), control)
    sub2, local2 = cut.sample_pairs(pairs, torch.Generator().manual_seed(0))
    plain2 = sub2.__class__(sub2.n_id, sub2.graph, sub2.hop_bounds)
    assert not torch.allclose(_loss_and_grads(model, sub2, local2, labels)[0],
                              _loss_and_grads(model, plain2, local2, labels)[0], atol=1e-4)


def test_layer1_is_exact_and_history_holds_the_last_computed_rows(tiny_dataset):
    """Any fan-out: layer 1's output (written to the history) is the exact full-graph one;
    after two SGD steps each row holds what the last step that reached it computed, and rows
    neither step reached keep their refreshed value."""
    ds = tiny_dataset
    model, prepared, _, control, sampler = _setup(ds, [2, 2])
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    control.refresh(model.embedding.weight, model.encoder)
    table = control.tables[0]
    with torch.no_grad():
        assert torch.allclose(table, _exact_hidden(model, prepared), atol=1e-6)
        initial = table.clone()
    expected, reached = initial.clone(), torch.zeros(ds.num_nodes, dtype=torch.bool)
    for step, cols in enumerate((slice(0, 16), slice(40, 56))):
        pairs, labels = ds.train.edge_label_index[:, cols], ds.train.edge_label[cols]
        sub, local = sampler.sample_pairs(pairs, torch.Generator().manual_seed(step))
        hop1 = sub.n_id[:sub.hop_bounds[1]]
        with torch.no_grad():
            expected[hop1] = _exact_hidden(model, prepared)[hop1]
        reached[hop1] = True
        opt.zero_grad()
        F.binary_cross_entropy_with_logits(model(sub, local), labels).backward()
        opt.step()
    assert 0 < reached.sum() < ds.num_nodes  # some rows reached, some not
    assert torch.allclose(table, expected, atol=1e-5)
    assert torch.equal(table[~reached], initial[~reached])
    assert not torch.allclose(table[reached], initial[reached], atol=1e-3)  # the steps moved the parameters


def test_unbiased_for_a_stale_history(tiny_dataset):
    """The mean of the seeds' outputs over many samples approaches the exact encoder output
    for a history that is not the current value (here: exact plus noise)."""
    ds = tiny_dataset
    model, prepared, _, control, sampler = _setup(ds, [2, 2])
    with torch.no_grad():
        control.refresh(model.embedding.weight, model.encoder)
        control.tables[0].add_(torch.randn(control.tables[0].shape, generator=torch.Generator().manual_seed(3)))
        snapshot = control.tables[0].clone()
        pairs = ds.train.edge_label_index[:, :24]
        exact = model.encode(prepared)
        total, errors = 0.0, []
        for s in range(400):
            control.tables[0].copy_(snapshot)  # the same stale history for every draw
            sub, _ = sampler.sample_pairs(pairs, torch.Generator().manual_seed(s))
            out = model.encode(sub)[:sub.num_seeds]
            total = total + out
            errors.append((out - exact[sub.n_id[:sub.num_seeds]]).abs().max())
    bias = (total / 400 - exact[sub.n_id[:sub.num_seeds]]).abs().max()
    assert max(errors) > 1.0  # single draws are noisy (measured 4.9) ...
    assert bias < 0.3  # ... their mean is not: 0.14 (shrinking as 1/sqrt(draws)); writing the history
    # before the layer that reads it (so a step's history depends on its own sample) measured 0.48


def test_same_seed_same_result_other_seed_other(tiny_dataset):
    ds = tiny_dataset
    pairs, labels = ds.train.edge_label_index[:, :64], ds.train.edge_label[:64]
    runs = []
    for seed in (0, 0, 1):
        model, _, _, control, sampler = _setup(ds, [2, 3])
        control.refresh(model.embedding.weight, model.encoder)
        sub, local = sampler.sample_pairs(pairs, torch.Generator().manual_seed(seed))
        runs.append(_loss_and_grads(model, sub, local, labels))
    assert torch.equal(runs[0][0], runs[1][0])
    assert all(torch.equal(runs[0][1][n], runs[1][1][n]) for n in runs[0][1])
    assert not torch.equal(runs[0][1]["embedding.weight"], runs[2][1]["embedding.weight"])


def test_sage_is_refused(tiny_dataset):
    ds = tiny_dataset
    model = build_link_predictor(ds.num_nodes, "sage")
    csr = CSRGraph.from_prepared(model.prepare(ds.train.edge_index), ds.num_nodes)
    with pytest.raises(ValueError, match="control variates need a GCN encoder"):
        ControlVariates(csr, model.encoder)

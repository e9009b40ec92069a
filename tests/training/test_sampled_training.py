"""Sampled mini-batch training end to end: every method, exact resume, no test edge in any
training sample, chunked evaluation, the size rule, the lazy embedding optimizer."""
import pytest
import torch

from baselines.link_prediction import register_admm
from gnn_sparse.models import build_link_predictor
from gnn_sparse.models import link_predictor
from gnn_sparse.models.sampling import CSRGraph, NeighborSampler
from gnn_sparse.training import ConfigError, RunOptions, run
from gnn_sparse.training import graph_mode
from gnn_sparse.training.loop import evaluate
from gnn_sparse.training import optim
from gnn_sparse.training.optim import LazySGD

register_admm()  # --method admm, as the command lines do


def _opts(tmp_path, **kw):
    return RunOptions(results_dir=str(tmp_path / "results"), quiet=True, **kw)


@pytest.mark.parametrize("method", ["dense", "dst-ee", "rigl", "set", "static", "admm"])
def test_every_method_sampled_end_to_end(method, tiny_dataset, tiny_config, tmp_path):
    config = tiny_config(method=method, sparsity=0.9, epochs=8, num_neighbors=[10, 10], pretrain_epochs=2,
                         admm_epochs=2, retrain_epochs=2)
    res = run(config, _opts(tmp_path), dataset=tiny_dataset)
    assert res["encoder_refresh"] == "sampled"
    assert res["training_graph"]["num_neighbors"] == [10, 10] and res["training_graph"]["embedding_optimizer"] == "lazy"
    assert res["config"]["num_neighbors"] == [10, 10]
    if method == "admm":  # 2 + 2 + 2 epochs at lr 0.05 stay near chance, full-graph too (52%): check the phases
        assert [r["phase"] for r in res["history"]] == ["pretrain"] * 2 + ["admm"] * 2 + ["retrain"] * 2
    else:
        assert res["test_accuracy"] > 58.0  # chance: 50% +- 1.3 (1,600 test pairs)
    if method != "dense":
        for name, numel in (("fc1.weight", 2048), ("fc2.weight", 128)):
            assert res["layer_sparsity"][name] >= 1 - round(0.1 * numel) / numel


def _strip(res):
    keep = ("best_epoch", "test_accuracy", "test_auc", "val_accuracy", "layer_sparsity", "exploration_rate")
    return {k: res[k] for k in keep}, [{k: v for k, v in r.items() if not k.endswith("time_s")} for r in res["history"]]


class Interrupt(Exception):
    pass


def _interrupted_after_epoch_2_then_resumed(config, results_dir, dataset) -> dict:
    """The results of ``config`` stopped by an exception after epoch 2, then resumed."""
    def stop(record):
        if record["epoch"] == 2:
            raise Interrupt
    with pytest.raises(Interrupt):
        run(config, _opts(results_dir), dataset=dataset, on_epoch_end=stop)
    return run(config, _opts(results_dir, resume=True), dataset=dataset)


def test_sampled_resume_equals_uninterrupted(tiny_dataset, tiny_config, tmp_path):
    config = tiny_config(method="dst-ee", epochs=4, num_neighbors=[3])
    full = run(config, _opts(tmp_path / "full"), dataset=tiny_dataset)
    resumed = _interrupted_after_epoch_2_then_resumed(config, tmp_path / "cut", tiny_dataset)
    assert resumed["resumed_from_epoch"] == 2
    assert _strip(resumed) == _strip(full)
    other_seed = run(tiny_config(method="dst-ee", epochs=4, num_neighbors=[3], seed=1), _opts(tmp_path / "s1"),
                     dataset=tiny_dataset)
    assert _strip(other_seed) != _strip(full)


def test_no_test_edge_is_ever_sampled_in_training(tiny_dataset, tiny_config, tmp_path, monkeypatch):
    ds = tiny_dataset
    n = ds.num_nodes
    seen = []
    original = NeighborSampler.sample

    def spy(self, seeds, generator=None):
        sub = original(self, seeds, generator)
        glob = sub.n_id[sub.graph[0]]
        seen.append(glob[:, glob[0] != glob[1]])
        return sub
    monkeypatch.setattr(NeighborSampler, "sample", spy)
    run(tiny_config(method="dense", epochs=2, num_neighbors=[-1, 5]), _opts(tmp_path), dataset=ds)
    sampled = torch.cat(seen, dim=1)
    sampled_keys = set((sampled[0] * n + sampled[1]).tolist())
    train_keys = set((ds.train.edge_index[0] * n + ds.train.edge_index[1]).tolist())
    test_pos = ds.test.edge_label_index[:, ds.test.edge_label == 1]
    test_keys = set((test_pos[0] * n + test_pos[1]).tolist()) | set((test_pos[1] * n + test_pos[0]).tolist())
    test_only = test_keys - train_keys
    assert len(seen) > 10 and test_only  # the check has something to catch
    assert sampled_keys <= train_keys
    assert not sampled_keys & test_only


@pytest.mark.parametrize("encoder", ["gcn", "sage"])
def test_chunked_evaluation_gives_the_unchunked_metrics(tiny_dataset, encoder, monkeypatch):
    ds = tiny_dataset
    torch.manual_seed(0)
    model = build_link_predictor(ds.num_nodes, encoder)
    prepared = model.prepare(ds.test.edge_index)
    pairs, labels = ds.test.edge_label_index, ds.test.edge_label
    unchunked = evaluate(model, prepared, pairs, labels)
    monkeypatch.setattr(link_predictor, "EVAL_EDGE_CHUNK", 64)  # many chunks on the tiny graph
    csr = CSRGraph.from_prepared(prepared, ds.num_nodes)
    assert len(csr.chunks(64)) > 20
    chunked = evaluate(model, csr, pairs, labels)
    assert chunked["accuracy"] == unchunked["accuracy"]
    for key in ("auc", "ap"):
        assert chunked[key] == pytest.approx(unchunked[key], abs=1e-6)


def test_size_rule_picks_full_graph_for_small_and_sampled_for_big(tiny_dataset, tiny_config, tmp_path, monkeypatch):
    small = run(tiny_config(method="dense", epochs=1), _opts(tmp_path / "a"), dataset=tiny_dataset)
    assert small["encoder_refresh"] == "per-batch" and small["training_graph"]["mode"] == "full"
    monkeypatch.setattr(graph_mode, "FULL_GRAPH_MAX_SIZE", 100)
    big = run(tiny_config(method="dense", epochs=1), _opts(tmp_path / "b"), dataset=tiny_dataset)
    tg = big["training_graph"]
    assert (tg["mode"], tg["num_neighbors"], tg["embedding_optimizer"]) == ("sampled", [10, 10], "lazy")
    forced = run(tiny_config(method="dense", epochs=1, num_neighbors=[-1]), _opts(tmp_path / "c"),
                 dataset=tiny_dataset)
    assert forced["training_graph"]["mode"] == "full"
    dense_emb = run(tiny_config(method="dense", epochs=1, embedding_optimizer="dense"), _opts(tmp_path / "d"),
                    dataset=tiny_dataset)
    assert dense_emb["training_graph"]["embedding_optimizer"] == "dense"


def test_lazy_embedding_needs_sampling(tiny_dataset, tiny_config, tmp_path):
    with pytest.raises(ConfigError, match="lazy needs sampled batches"):
        run(tiny_config(embedding_optimizer="lazy"), _opts(tmp_path), dataset=tiny_dataset)


@pytest.mark.parametrize("nesterov, wd", [(True, 5e-4), (False, 0.0)])
def test_lazy_sgd_is_sgd_on_touched_rows_and_leaves_the_rest(nesterov, wd):
    torch.manual_seed(0)
    dense = torch.nn.Embedding(6, 3)
    lazy = torch.nn.Embedding(6, 3, sparse=True)
    lazy.load_state_dict(dense.state_dict())
    kw = dict(lr=0.1, momentum=0.9, nesterov=nesterov, weight_decay=wd)
    opt_d, opt_l = torch.optim.SGD(dense.parameters(), **kw), LazySGD(lazy.parameters(), **kw)
    every = torch.tensor([0, 1, 2, 3, 4, 5, 2])
    for step in range(4):  # every row touched every step: identical to SGD
        for emb, opt in ((dense, opt_d), (lazy, opt_l)):
            opt.zero_grad()
            (emb(every) ** 2).sum().mul(step + 1).backward()
            opt.step()
    assert lazy.weight.grad.is_sparse
    assert torch.allclose(dense.weight, lazy.weight, atol=1e-6)
    before = lazy.weight.detach().clone()
    opt_l.zero_grad()
    lazy(torch.tensor([1, 4])).sum().backward()
    opt_l.step()
    changed = (lazy.weight != before).any(dim=1)
    assert changed.tolist() == [False, True, False, False, True, False]
    state = LazySGD(lazy.parameters(), **kw)
    state.load_state_dict(opt_l.state_dict())
    assert torch.equal(state.state[lazy.weight]["momentum_buffer"], opt_l.state[lazy.weight]["momentum_buffer"])


def _coalescing_lazy_step(weight, buf, grad, lr=0.1, momentum=0.9, wd=5e-4):
    """The lazy update written with ``coalesce()``: the reference for bit-equality."""
    grad = grad.coalesce()
    rows, values = grad.indices()[0], grad.values()
    values = values.add(weight.index_select(0, rows), alpha=wd)
    rows_buf = buf.index_select(0, rows).mul_(momentum).add_(values)
    buf.index_copy_(0, rows, rows_buf)
    weight.index_add_(0, rows, values.add(rows_buf, alpha=momentum), alpha=-lr)


@pytest.mark.parametrize("ids", [torch.randperm(500, generator=torch.Generator().manual_seed(1))[:120],  # distinct
                                 torch.randint(0, 50, (300,), generator=torch.Generator().manual_seed(2))])
def test_lazy_sgd_without_coalesce_is_bit_equal_to_the_coalescing_update(ids):
    torch.manual_seed(0)
    emb = torch.nn.Embedding(500, 16, sparse=True)
    weight, buf = emb.weight.detach().clone(), torch.zeros(500, 16)
    opt = LazySGD(emb.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    for step in range(3):
        opt.zero_grad()
        (emb(ids) ** 2).sum().mul(step + 1).backward()
        assert not emb.weight.grad.is_coalesced()
        _coalescing_lazy_step(weight, buf, emb.weight.grad)
        opt.step()
        assert torch.equal(emb.weight.detach(), weight)
        assert torch.equal(opt.state[emb.weight]["momentum_buffer"], buf)


@pytest.mark.parametrize("ids", [torch.randperm(500, generator=torch.Generator().manual_seed(1))[:120],  # distinct
                                 torch.randint(0, 50, (300,), generator=torch.Generator().manual_seed(2))])
@pytest.mark.parametrize("kw", [dict(momentum=0.9, nesterov=True, weight_decay=5e-4),
                                dict(momentum=0.9, nesterov=False, weight_decay=0.0),
                                dict(momentum=0.0, weight_decay=5e-4)])
def test_lazy_sgd_compiled_pass_is_bit_equal_to_the_torch_ops(ids, kw, monkeypatch):
    pytest.importorskip("numba")
    runs = {}
    for name, threshold in (("torch", 1 << 62), ("numba", 0)):
        monkeypatch.setattr(optim, "FUSED_MIN_ELEMENTS", threshold)
        torch.manual_seed(0)
        emb = torch.nn.Embedding(500, 17, sparse=True)  # 17: rows that end in a partial vector
        opt = LazySGD(emb.parameters(), lr=0.1, **kw)
        versions = []
        for step in range(3):
            opt.zero_grad()
            (emb(ids) ** 2).sum().mul(step + 1).backward()
            versions.append(emb.weight._version)
            opt.step()
            versions.append(emb.weight._version)
        assert versions[1] > versions[0]  # the write is visible to autograd's checks either way
        runs[name] = [emb.weight.detach().clone()] + [v.clone() for v in opt.state[emb.weight].values()
                                                      if v is not None]
    assert optim._fused_kernel() is not None  # this machine's torch is reproduced (fused or not)
    assert len(runs["torch"]) == len(runs["numba"])
    assert all(torch.equal(a, b) for a, b in zip(runs["torch"], runs["numba"]))


def test_compiled_pass_applies_only_to_large_float32_cpu_rows_in_range(monkeypatch):
    monkeypatch.setattr(optim, "FUSED_MIN_ELEMENTS", 4)
    p, rows, values = torch.zeros(5, 2), torch.tensor([3, 0]), torch.ones(2, 2)
    assert optim._fusable(p, p.clone(), rows, values)
    assert optim._fusable(p, None, rows, values)
    assert not optim._fusable(p, p.clone(), torch.tensor([3, 5]), values)  # out of range: torch's ops raise
    assert not optim._fusable(p.double(), p.double(), rows, values.double())
    assert not optim._fusable(p, p.clone(), rows[:1], values[:1])  # too small to repay the import


def test_touched_rows_keeps_distinct_rows_in_order_and_sums_repeats():
    distinct = torch.sparse_coo_tensor(torch.tensor([[4, 1, 3]]), torch.tensor([[1.0], [2.0], [3.0]]), (6, 1),
                                     check_invariants=True)
    rows, values = optim.touched_rows(distinct)
    assert rows.tolist() == [4, 1, 3] and values.flatten().tolist() == [1.0, 2.0, 3.0]
    repeated = torch.sparse_coo_tensor(torch.tensor([[4, 1, 4]]), torch.tensor([[1.0], [2.0], [3.0]]), (6, 1),
                                     check_invariants=True)
    rows, values = optim.touched_rows(repeated)
    assert rows.tolist() == [1, 4] and values.flatten().tolist() == [2.0, 4.0]


def test_control_variates_end_to_end_resumable_and_recorded(tiny_dataset, tiny_config, tmp_path):
    """--control-variates trains, is recorded, counts its full-neighbour sums in the FLOPs,
    differs from the plain sampled run, and resumes exactly (the history is refreshed from
    the parameters at each epoch's start, not checkpointed)."""
    config = tiny_config(method="dst-ee", epochs=4, num_neighbors=[3], control_variates=True)
    full = run(config, _opts(tmp_path / "full"), dataset=tiny_dataset)
    assert full["training_graph"]["control_variates"] is True and full["config"]["control_variates"] is True
    assert full["test_accuracy"] > 58.0
    resumed = _interrupted_after_epoch_2_then_resumed(config, tmp_path / "cut", tiny_dataset)
    assert resumed["resumed_from_epoch"] == 2 and _strip(resumed) == _strip(full)
    plain = run(tiny_config(method="dst-ee", epochs=4, num_neighbors=[3]), _opts(tmp_path / "plain"),
                dataset=tiny_dataset)
    assert plain["training_graph"]["control_variates"] is False and _strip(plain) != _strip(full)
    prop = lambda res: sum(v["epoch_forward_dense"] for k, v in res["flops"]["layers"].items()  # noqa: E731
                           if k.endswith(":propagate"))
    assert prop(full) > prop(plain) > 0


@pytest.mark.parametrize("overrides, match", [
    (dict(num_neighbors=[5], encoder="sage"), "--control-variates applies to sampled GCN training"),
    (dict(num_neighbors=[-1]), "--control-variates needs sampled batches"),
    (dict(), "--control-variates needs sampled batches"),  # the size rule picks the full graph here
])
def test_control_variates_refused_where_they_do_not_apply(tiny_dataset, tiny_config, tmp_path, overrides, match):
    with pytest.raises(ConfigError, match=match):
        run(tiny_config(control_variates=True, **overrides), _opts(tmp_path), dataset=tiny_dataset)


def test_lazy_sgd_without_numba_keeps_the_torch_ops(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "numba", None)  # `import numba` now raises ImportError
    monkeypatch.delitem(sys.modules, "gnn_sparse.training.sgd_rows_numba", raising=False)
    monkeypatch.setattr(optim, "FUSED_MIN_ELEMENTS", 0)
    optim._fused_kernel.cache_clear()
    try:
        emb = torch.nn.Embedding(50, 4, sparse=True)
        opt = LazySGD(emb.parameters(), lr=0.1, momentum=0.9, nesterov=True)
        before = emb.weight.detach().clone()
        emb(torch.tensor([1, 7])).sum().backward()
        opt.step()
        assert optim._fused_kernel() is None
        assert (emb.weight != before).any(dim=1).nonzero().flatten().tolist() == [1, 7]
    finally:
        optim._fused_kernel.cache_clear()


def test_a_numba_that_cannot_compile_the_row_update_falls_back_with_a_warning(monkeypatch):
    sgd_rows_numba = pytest.importorskip("gnn_sparse.training.sgd_rows_numba")

    def broken(reference):
        raise RuntimeError("no fma here")

    monkeypatch.setattr(sgd_rows_numba, "fused_kernel", broken)
    optim._fused_kernel.cache_clear()
    try:
        with pytest.warns(RuntimeWarning, match="no fma here"):
            assert optim._fused_kernel() is None
    finally:
        optim._fused_kernel.cache_clear()

"""A sparse model to ship: export/import round trips give the masked dense model's predictions,
dense runs are refused, and bad files get clear errors."""
import pytest
import torch
from torch import nn

from gnn_sparse.cli import main
from gnn_sparse.models.encoders import graph_to
from gnn_sparse.sparsity import SET, RigL
from gnn_sparse.sparsity.export import (
    ExportError, SparseConv2d, SparseLinear, export_sparse, load_sparse, sparse_layers,
)
from gnn_sparse.training import RunOptions, predict, run
from gnn_sparse.training.export import export_run, load_link_predictor


def _cnn():
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 6, 3, stride=2), nn.Flatten(),
                         nn.Linear(54, 5), nn.ReLU(), nn.Linear(5, 3, bias=False))


def test_round_trip_of_linear_and_conv_layers_gives_identical_predictions(tmp_path):
    torch.manual_seed(0)
    model = _cnn()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sp = RigL(model, opt, sparsity=0.8, update_interval=2, end_step=10)
    x = torch.randn(16, 2, 8, 8)
    for _ in range(5):  # a few steps with mask updates, so the weights are not the initial ones
        opt.zero_grad(); model(x).square().mean().backward(); opt.step(); sp.step()
    export_sparse(model, sp, tmp_path / "m.pt", meta={"note": "test"})
    loaded = load_sparse(tmp_path / "m.pt", _cnn())
    assert sparse_layers(loaded) == ["0", "2", "4", "6"]
    assert isinstance(loaded[0], SparseConv2d) and isinstance(loaded[4], SparseLinear)
    assert loaded[4].weight.layout == torch.sparse_csr
    assert loaded[4].weight._nnz() <= sp.masks["4.weight"].sum()
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x), atol=1e-5, rtol=1e-5)


def test_link_predictor_export_through_the_cli_predicts_like_the_masked_model(tiny_dataset, tiny_config, tmp_path):
    config = tiny_config(method="set", sparsify="all", sparsity=0.8)
    results = run(config, RunOptions(results_dir=str(tmp_path), quiet=True), dataset=tiny_dataset)
    path = export_run(tmp_path, results["run_id"], tmp_path / "model.pt", dataset=tiny_dataset)
    loaded = load_link_predictor(path)
    assert sparse_layers(loaded) == ["encoder.convs.0.lin", "encoder.convs.1.lin", "fc1", "fc2"]
    # the reference: the checkpoint's (last-epoch) weights, masked, in the dense model
    from gnn_sparse.models import build_link_predictor
    from gnn_sparse.training.checkpoint import load_checkpoint
    ckpt = load_checkpoint(tmp_path / "checkpoints" / f"{results['run_id']}.pt")
    dense = build_link_predictor(tiny_dataset.num_nodes)
    dense.load_state_dict(ckpt["model"])
    masks = ckpt["method"]["sparsifier"]["masks"]
    assert all(float((dict(dense.named_parameters())[n].detach() * ~m).abs().sum()) == 0 for n, m in masks.items())
    graph = graph_to(dense.prepare(tiny_dataset.test.edge_index), "cpu")
    pairs = tiny_dataset.test.edge_label_index
    torch.testing.assert_close(predict(loaded, graph, pairs), predict(dense, graph, pairs), atol=1e-5, rtol=1e-5)


def test_cli_flag_exports_and_a_dense_run_is_refused(tmp_path, capsys):
    common = ["--epochs", "1", "--batch-size", "512", "--results-dir", str(tmp_path), "--quiet", "--threads", "1"]
    assert main(["--method", "dense", "--export-sparse", str(tmp_path / "d.pt"), *common]) == 2
    err = capsys.readouterr().err
    assert "a dense run" in err and "no sparse weights to export" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "d.pt").exists()
    assert main(["--method", "rigl", "--export-sparse", str(tmp_path / "s.pt"), *common]) == 0
    assert sparse_layers(load_link_predictor(tmp_path / "s.pt")) == ["fc1", "fc2"]
    # a dense run finished earlier is refused by export_run too
    assert main(["--method", "dense", *common]) == 0
    with pytest.raises(ValueError, match="is dense"):
        export_run(tmp_path, "synthetic-dense-gcn-fc-s0-seed0", tmp_path / "x.pt")


def test_dense_model_bad_files_and_other_architectures_get_clear_errors(tmp_path):
    model = _cnn()
    with pytest.raises(ExportError, match="the model is dense"):
        export_sparse(model, None)
    with pytest.raises(ExportError, match="the model is dense"):
        export_sparse(model, {"4.weight": torch.ones(5, 54, dtype=torch.bool)})
    sp = SET(model, torch.optim.SGD(model.parameters(), lr=0.1), sparsity=0.5, update_interval=5, end_step=10)
    export_sparse(model, sp, tmp_path / "ok.pt")
    with pytest.raises(ExportError, match="no such export file"):
        load_sparse(tmp_path / "missing.pt", _cnn())
    data = (tmp_path / "ok.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(ExportError, match="cut.pt: not a readable gnn-sparse export"):
        load_sparse(tmp_path / "cut.pt", _cnn())
    torch.save({"model": model.state_dict()}, tmp_path / "ckpt.pt")
    with pytest.raises(ExportError, match="not a gnn-sparse sparse-model export"):
        load_sparse(tmp_path / "ckpt.pt", _cnn())
    other = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 6, 3, stride=2), nn.Flatten(),
                          nn.Linear(54, 7), nn.ReLU(), nn.Linear(7, 3, bias=False))
    with pytest.raises(ExportError, match=r"another model: shapes differ for \['4.bias', '4.weight', '6.weight'\]"):
        load_sparse(tmp_path / "ok.pt", other)
    with pytest.raises(ExportError, match="not a link-predictor export"):
        load_link_predictor(tmp_path / "ok.pt")

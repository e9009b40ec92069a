"""``--method admm``: the ADMM baseline through the link-prediction trainer and the CLI."""
import json
import subprocess
import sys

import pytest
import torch

from baselines.link_prediction import ADMMMethod, register_admm
from gnn_sparse.cli import build_parser, build_parsers, main
from gnn_sparse.training import REQUIRED_KEYS, ConfigError, RunConfig, RunOptions, run
from gnn_sparse.training.methods import METHODS

pytestmark = pytest.mark.usefixtures("one_thread")

register_admm()

KEYS = {"epoch", "update", "rho", "w_minus_z", "z_change", "val_accuracy_if_pruned"}


def _config(**kw):
    values = dict(method="admm", batch_size=128, device="cpu", sparsity=0.9,
                  pretrain_epochs=2, admm_epochs=3, retrain_epochs=2, rho=0.01, rho_factor=1.3)
    values.update(kw)
    return RunConfig.from_dict(values)


def _opts(path, **kw):
    return RunOptions(results_dir=str(path), quiet=True, **kw)


def _exact(numel, sparsity=0.9):
    return 1 - round((1 - sparsity) * numel) / numel


def test_registered_by_the_application_not_on_import():
    """Importing baselines registers nothing; register_admm() (the command lines call it) does."""
    code = ("import baselines.link_prediction as lp; from gnn_sparse.training.methods import METHODS; "
            "before = 'admm' in METHODS; lp.register_admm(); print(before, METHODS['admm'] is lp.ADMMMethod)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.stdout.split() == ["False", "True"], proc.stderr


def test_registered_and_in_the_cli():
    assert METHODS["admm"] is ADMMMethod
    text = build_parsers()[1]["train"].format_help()
    for flag in ("--pretrain-epochs", "--admm-epochs", "--retrain-epochs", "--rho ", "--rho-factor"):
        assert flag in text
    args = build_parser().parse_args(["train", "--method", "admm"])
    assert (args.pretrain_epochs, args.admm_epochs, args.retrain_epochs, args.rho, args.rho_factor) == \
        (20, 20, 20, 0.01, 1.0)


def test_phases_defaults_and_selection():
    method = ADMMMethod(RunConfig.from_dict({"method": "admm"}))
    assert [(p.name, p.epochs, p.selectable) for p in method.phases()] == \
        [("pretrain", 20, False), ("admm", 20, False), ("retrain", 20, True)]
    method = ADMMMethod(RunConfig.from_dict({"method": "admm", "pretrain_epochs": 0, "admm_epochs": 3,
                                             "retrain_epochs": 1}))
    assert [p.name for p in method.phases()] == ["admm", "retrain"]


def test_end_to_end_results(tiny_dataset, tmp_path):
    res = run(_config(), _opts(tmp_path), dataset=tiny_dataset)
    on_disk = json.loads((tmp_path / f"{res['run_id']}.json").read_text())
    assert set(REQUIRED_KEYS) <= set(on_disk) and on_disk["admm"] == res["admm"]
    assert res["run_id"] == "synthetic-admm-gcn-fc-s0.9-seed0"

    history = res["history"]
    assert res["epochs"] == len(history) == 7
    assert [r["phase"] for r in history] == ["pretrain"] * 2 + ["admm"] * 3 + ["retrain"] * 2
    assert [r["selectable"] for r in history] == [False] * 5 + [True] * 2
    assert res["best_epoch"] in (6, 7)
    assert [r["lr"] for r in history] == pytest.approx([0.05, 0.049, 0.05, 0.05, 0.05, 0.05, 0.049])

    admm = res["admm"]
    assert [r["epoch"] for r in admm["history"]] == [3, 4]  # after the 1st and 2nd ADMM epochs
    assert [r["rho"] for r in admm["history"]] == pytest.approx([0.013, 0.0169])
    for record in admm["history"]:
        assert set(record) == KEYS
        assert set(record["w_minus_z"]) == set(record["z_change"]) == {"fc1.weight", "fc2.weight"}
        assert all(v > 0 for v in record["w_minus_z"].values())
        assert 0 <= record["val_accuracy_if_pruned"] <= 100
    assert isinstance(admm["accuracy_after_hard_prune"], float)
    # the bound validation is the trainer's: after the last epoch it is that epoch's val accuracy
    assert admm["accuracy_after_retrain"] == history[-1]["val"]["accuracy"]

    for name, numel in (("fc1.weight", 2048), ("fc2.weight", 128)):
        assert res["layer_sparsity"][name] == res["mask_sparsity"][name] == _exact(numel)
    assert res["sparsity"] == 0.9 and res["exploration_rate"] is None


def test_sparsity_zero_is_plain_training(tiny_dataset, tmp_path):
    res = run(_config(sparsity=0.0, pretrain_epochs=1, admm_epochs=2, retrain_epochs=1), _opts(tmp_path),
              dataset=tiny_dataset)
    assert res["admm"]["pruned_layers"] == [] and res["sparsity"] == 0.0
    assert res["admm"]["history"][0]["w_minus_z"] == {}
    assert res["layer_sparsity"] == {"fc1.weight": 0.0, "fc2.weight": 0.0}


class Interrupt(Exception):
    pass


def _strip(res):
    history = [{k: v for k, v in r.items() if not k.endswith("time_s")} for r in res["history"]]
    keep = ("best_epoch", "test_accuracy", "test_auc", "test_ap", "val_accuracy", "layer_sparsity", "admm")
    return {k: res[k] for k in keep}, history


@pytest.fixture(scope="module")
def uninterrupted(tiny_dataset, tmp_path_factory):
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _strip(run(_config(), _opts(tmp_path_factory.mktemp("full")), dataset=tiny_dataset))
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("stop", [2, 4, 5, 6], ids=lambda e: f"after_epoch_{e}")
def test_resume_equals_uninterrupted(stop, tiny_dataset, uninterrupted, tmp_path):
    """Killed at the pretrain/ADMM boundary (2), mid-ADMM after an update (4), at the
    ADMM/retrain boundary (5) and mid-retraining (6)."""
    def kill(record):
        if record["epoch"] == stop:
            raise Interrupt
    with pytest.raises(Interrupt):
        run(_config(), _opts(tmp_path), dataset=tiny_dataset, on_epoch_end=kill)
    resumed = run(_config(), _opts(tmp_path, resume=True), dataset=tiny_dataset)
    assert resumed["resumed_from_epoch"] == stop
    assert _strip(resumed) == uninterrupted


def test_unknown_layer_and_zero_retraining(tiny_dataset, tmp_path):
    config = _config(method_options={"layers": ["fc1.weight", "fc9.weight"]})
    with pytest.raises(ConfigError, match="admm: ADMMPruner: Parameter 'fc9.weight' does not exist"):
        run(config, _opts(tmp_path), dataset=tiny_dataset)
    with pytest.raises(ConfigError, match=r"admm: retrain_epochs must be >= 1"):
        ADMMMethod(_config(retrain_epochs=0))
    with pytest.raises(ConfigError, match="option 'layers' must be"):
        ADMMMethod(_config(method_options={"layers": "fc1.weight"}))


def test_per_layer_sparsity_dict(tiny_dataset, tmp_path):
    config = _config(pretrain_epochs=1, admm_epochs=1, retrain_epochs=1,
                     method_options={"layers": {"fc1.weight": 0.5, "fc2.weight": 0.75}})
    res = run(config, _opts(tmp_path), dataset=tiny_dataset)
    assert res["admm"]["layer_sparsity_target"] == {"fc1.weight": 0.5, "fc2.weight": 0.75}
    assert res["layer_sparsity"] == {"fc1.weight": 0.5, "fc2.weight": 0.75}


@pytest.mark.parametrize("argv, match", [
    (["--rho", "0"], "--rho/--admm-rho must be > 0, got 0.0"),
    (["--rho", "-0.01"], "--rho/--admm-rho must be > 0, got -0.01"),
    (["--rho", "nan"], "--rho/--admm-rho must be a finite number, got nan"),
    (["--rho-factor", "0"], "--rho-factor/--admm-rho-factor must be > 0"),
    (["--pretrain-epochs", "-1"], "--pretrain-epochs must be an integer in [0, 1000000], got -1"),
    (["--admm-epochs", "-2"], "--admm-epochs must be an integer in [0, 1000000], got -2"),
    (["--retrain-epochs", "-1"], "--retrain-epochs must be an integer in [0, 1000000], got -1"),
    (["--retrain-epochs", "0"], "admm: retrain_epochs must be >= 1"),
    (["--sparsity", "1"], "--sparsity must be in [0, 1), got 1.0"),
    (["--sparsity", "-0.1"], "sparsity must be in [0, 1), got -0.1"),
    (["--method-option", "layers=3"], "option 'layers' must be"),
    (["--method-option", "rate=3"], "does not take option(s) ['rate']"),
])
def test_cli_bad_input_exits_2_with_one_line(argv, match, capsys, tmp_path):
    with pytest.raises(SystemExit) as exc:
        sys.exit(main(["--method", "admm", *argv, "--results-dir", str(tmp_path), "--quiet", "--threads", "1"]))
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("gnn-sparse train: error: "), err
    assert match in err[0]

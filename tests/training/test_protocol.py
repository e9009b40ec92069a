"""``--protocol original``: the paper's split, leaky walk features and test-selected epoch in
one switch; ``sound`` (the default) keeps every run as it was."""
import pytest

from gnn_sparse.cli import main
from gnn_sparse.data import load_dataset
from gnn_sparse.training import ConfigError, RunConfig, RunOptions, run
from gnn_sparse.training.results import build_results, select_best


def test_original_sets_the_split_and_twalk_leaky_embeddings_and_selects_on_test():
    twalk = RunConfig.from_dict({"protocol": "original", "encoder": "twalk"})
    assert (twalk.data.split, twalk.features.leaky_embeddings, twalk.selection) == ("original", True, "test")
    assert twalk.run_id() == "synthetic-dst-ee-twalk-leaky-fc-s0.9-seed0-original"
    # a learnt encoder has no walk features to leak: the split and the selection only
    gcn = RunConfig.from_dict({"protocol": "original"})
    assert (gcn.data.split, gcn.features.leaky_embeddings, gcn.selection) == ("original", False, "test")
    assert type(gcn).from_dict(gcn.to_dict()) == gcn and gcn.updated(seed=3).protocol == "original"

    sound = RunConfig()
    assert (sound.protocol, sound.data.split, sound.features.leaky_embeddings, sound.selection) == \
        ("sound", "chronological", False, "val")
    assert sound.run_id() == "synthetic-dst-ee-gcn-fc-s0.9-seed0"  # the names of every committed run
    # sound leaves the individual switches to the user, as before the protocol existed
    assert RunConfig.from_dict({"split": "original"}).selection == "val"


@pytest.mark.parametrize("values, match", [
    ({"protocol": "original", "split": "chronological"},
     "--protocol original uses the original split; --split chronological conflicts with it"),
    ({"protocol": "original", "encoder": "twalk", "leaky_embeddings": False},
     "--protocol original trains the walk embeddings on the whole graph; --no-leaky-embeddings conflicts"),
    ({"protocol": "paper"}, "protocol must be one of sound, original, got 'paper'"),
    ({"protocol": "original", "leaky_embeddings": True}, "--leaky-embeddings applies to --encoder twalk only"),
])
def test_conflicts_and_bad_values_are_refused(values, match):
    with pytest.raises(ConfigError, match=match):
        RunConfig.from_dict(values)


def _record(epoch, val, test, selectable=True):
    return {"epoch": epoch, "selectable": selectable, "time_s": 0.1,
            "val": {"accuracy": val, "auc": 0.5, "ap": 0.5}, "test": {"accuracy": test, "auc": 0.5, "ap": 0.5}}


def test_test_selection_picks_the_test_best_epoch_and_best_test_accuracy_is_unchanged():
    history = [_record(1, 60.0, 70.0), _record(2, 65.0, 61.0), _record(3, 62.0, 72.0), _record(4, 50.0, 90.0, False)]
    assert select_best(history)["epoch"] == 2
    assert select_best(history, "test")["epoch"] == 3  # epoch 4 is not selectable
    with pytest.raises(ValueError, match="on must be one of val, test"):
        select_best(history, "train")

    def build(selection):
        return build_results(run_id="r", config={"seed": 0}, method_name="dense", target_sparsity=0.0,
                             dataset={"name": "toy"}, history=history, layer_sparsity={},
                             method_report={"exploration_rate": None}, wall_time_s=1.0, device="cpu", extra={},
                             selection=selection)

    val, test = build("val"), build("test")
    assert (val["selection"], val["best_epoch"], val["test_accuracy"], val["val_accuracy"]) == ("val", 2, 61.0, 65.0)
    assert (test["selection"], test["best_epoch"], test["test_accuracy"], test["val_accuracy"]) == \
        ("test", 3, 72.0, 62.0)
    assert val["best_test_accuracy"] == test["best_test_accuracy"] == 72.0
    assert val["best_test_epoch"] == test["best_test_epoch"] == 3


def test_an_original_run_records_its_protocol_and_selects_on_test(tmp_path, tiny_config):
    config = tiny_config(method="dense", epochs=3, protocol="original")
    data = load_dataset("synthetic", num_nodes=200, num_events=4000, seed=0, split="original")
    res = run(config, RunOptions(results_dir=str(tmp_path), quiet=True), dataset=data)
    assert res["run_id"] == "synthetic-dense-gcn-fc-s0-seed0-original"
    assert (res["protocol"], res["selection"], res["config"]["protocol"], res["config"]["split"]) == \
        ("original", "test", "original", "original")
    assert res["leaky_embeddings"] is False
    best = max(res["history"], key=lambda r: (r["test"]["accuracy"], r["test"]["auc"]))
    assert res["best_epoch"] == best["epoch"] and res["test_accuracy"] == res["best_test_accuracy"]

    sound = run(tiny_config(method="dense", epochs=3), RunOptions(results_dir=str(tmp_path), quiet=True),
                dataset=load_dataset("synthetic", num_nodes=200, num_events=4000, seed=0))
    assert (sound["run_id"], sound["protocol"], sound["selection"]) == ("synthetic-dense-gcn-fc-s0-seed0", "sound", "val")


@pytest.mark.parametrize("argv, match", [
    (["--protocol", "original", "--split", "chronological"], "--split chronological conflicts with it"),
    (["--encoder", "twalk", "--protocol", "original", "--no-leaky-embeddings"], "--no-leaky-embeddings conflicts"),
    (["--protocol", "original", "--leaky-embeddings"], "--leaky-embeddings applies to --encoder twalk only"),
])
def test_cli_conflicts_exit_2_with_one_line(tmp_path, capsys, argv, match):
    assert main(["train", *argv, "--results-dir", str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("gnn-sparse train: error: --") and match in err[0]
    assert not list(tmp_path.glob("*.json"))


def test_cli_bad_protocol_exits_2_and_the_flags_fill_in(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--protocol", "paper"])
    assert exit_info.value.code == 2
    assert "argument --protocol: invalid choice: 'paper'" in capsys.readouterr().err
    from gnn_sparse.cli import build_parsers
    from gnn_sparse.training.options import configs_from_args

    train = build_parsers()[1]["train"]
    (config,) = configs_from_args(train.parse_args(["--protocol", "original", "--encoder", "twalk"]))
    assert (config.data.split, config.features.leaky_embeddings, config.selection) == ("original", True, "test")
    (config,) = configs_from_args(train.parse_args(["--split", "original"]))
    assert (config.protocol, config.data.split, config.features.leaky_embeddings) == ("sound", "original", False)
    assert "--protocol {sound,original}" in " ".join(build_parsers()[1]["compare"].format_help().split())

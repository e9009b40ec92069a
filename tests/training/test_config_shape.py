"""The flat shape of a run's config (the results JSON's ``config``, checkpoints, resume) and
its groups (``docs/results.md``): a change to either must be deliberate."""
import json
from pathlib import Path

import pytest

from gnn_sparse.training import ConfigError, RunConfig
from gnn_sparse.training.config_groups import AdmmConfig, OptimConfig, SparsityConfig
from gnn_sparse.vision.config import IMAGE_DATASETS, ImageRunConfig

REPORTS = Path(__file__).resolve().parents[2] / "docs" / "reports"

SHARED = {
    "optim": ["epochs", "batch_size", "lr", "momentum", "nesterov", "weight_decay", "lr_schedule"],
    "sparse": ["method", "sparsity", "sparsify", "distribution", "update_interval", "end_fraction", "drop_fraction",
               "drop_schedule", "c", "c_decay", "c_decay_interval", "eps", "exploration", "exploration_rho",
               "exploitation_probe", "method_options"],
    "admm": ["pretrain_epochs", "admm_epochs", "retrain_epochs", "rho", "rho_factor", "admm_optimizer"],
}
TOP = {"seed": ["seed"], "device": ["device"]}
LINK_GROUPS = {
    "data": ["dataset", "columns", "data_root", "split", "val_ratio", "test_ratio", "neg_ratio", "ranking_negatives",
             "directed"],
    "network": ["encoder", "embedding_dim", "hidden_dim", "out_dim", "num_layers", "fc_hidden", "num_neighbors",
                "embedding_optimizer", "control_variates"],
    "features": ["leaky_embeddings", "walks_per_node", "walk_length", "walk_dt", "skipgram_window",
                 "skipgram_negatives", "skipgram_epochs", "skipgram_workers", "skipgram_backend"],
    **SHARED,
    "protocol": ["protocol"],
    **TOP,
}
IMAGE_GROUPS = {
    "data": ["dataset", "cifar_root", "val_size", "split_seed", "augment"],
    "network": ["model", "width"],
    **SHARED,
    **TOP,
}


@pytest.mark.parametrize("cls, groups", [(RunConfig, LINK_GROUPS), (ImageRunConfig, IMAGE_GROUPS)])
def test_groups_and_flat_keys_are_pinned(cls, groups):
    assert cls.groups() == groups  # which key is in which group, as docs/results.md lists them
    assert list(cls().to_dict()) == [key for keys in groups.values() for key in keys]


@pytest.mark.parametrize("cls", [RunConfig, ImageRunConfig])
def test_no_key_in_two_groups_and_no_group_named_like_a_key(cls):
    keys = [key for keys in cls.groups().values() for key in keys]
    assert len(keys) == len(set(keys))
    # a group named like an option (``sparsity``, ``model``) would let a stale flat read
    # (``config.sparsity == 0``) quietly compare a group instead of failing
    assert not {g for g, k in cls.groups().items() if k != [g]} & set(keys)


def test_both_runners_share_the_same_group_classes():
    for group, cls in (("optim", OptimConfig), ("sparse", SparsityConfig), ("admm", AdmmConfig)):
        assert type(getattr(RunConfig(), group)) is type(getattr(ImageRunConfig(), group)) is cls


@pytest.mark.parametrize("config", [
    RunConfig.from_dict({"method": "rigl", "sparsity": 0.8, "lr": 0.05, "num_neighbors": [5, 5], "seed": 3}),
    ImageRunConfig.from_dict({"method": "set", "epochs": 2}),
    ImageRunConfig.from_dict({"dataset": "cifar10", "cifar_root": "/d", "width": 8}).resolved(),
])
def test_flat_round_trip(config):
    flat = config.to_dict()
    assert type(config).from_dict(json.loads(json.dumps(flat))) == config
    assert config.updated(seed=7).to_dict() == {**flat, "seed": 7}


def test_unknown_and_unset_values_are_refused():
    with pytest.raises(ConfigError, match=r"unknown config keys \['optim'\]"):
        RunConfig.from_dict({"optim": {"lr": 0.1}})
    with pytest.raises(ConfigError, match=r"unknown config keys \['encoder'\]"):
        ImageRunConfig.from_dict({"encoder": "gcn"})
    with pytest.raises(ConfigError, match="lr must be set, got None"):  # None is the image runner's "per dataset"
        RunConfig.from_dict({"lr": None})
    assert ImageRunConfig.from_dict({"lr": None}).resolved().optim.lr == 0.05


def test_every_committed_result_config_reads_back_unchanged():
    """The results under docs/reports/ (older ones lack later options, which take their
    defaults) load into today's configs and write back the same values."""
    configs = [json.loads(p.read_text())["config"] for p in sorted(REPORTS.rglob("results/*.json"))]
    assert len(configs) > 100
    for saved in configs:
        cls = ImageRunConfig if saved["dataset"] in IMAGE_DATASETS else RunConfig
        flat = cls.from_dict(saved).to_dict()
        assert {k: flat[k] for k in saved} == saved

"""Sampled training under torchrun-style DDP (two gloo processes): each rank samples its own
share of every batch (different subgraphs), the embedding's sparse gradients are averaged,
and weights and masks stay identical on every rank, with control variates too."""
import os

import pytest
import torch

from gnn_sparse.models.sampling import NeighborSampler
from gnn_sparse.training import RunConfig, RunOptions, run
from helpers_ddp import capture, rank_dump, spawn_ranks, torchrun_env

WORLD = 2
CONFIG = dict(method="dst-ee", sparsity=0.9, epochs=2, batch_size=256, update_interval=3, device="cpu",
              num_neighbors=[5, 5])


def _worker(rank, port, out):
    torchrun_env(rank, WORLD, port)
    import gnn_sparse.training.runner as runner
    from gnn_sparse.data import load_dataset

    ds = load_dataset("synthetic", num_nodes=200, num_events=4000, seed=0)
    seen = []
    original = NeighborSampler.sample

    def spy(self, seeds, generator=None):
        sub = original(self, seeds, generator)
        seen.append(sub.n_id.clone())
        return sub
    NeighborSampler.sample = spy
    with rank_dump(rank, out) as dump:
        built = {}
        capture(runner, "build_method", built)
        res = run(RunConfig.from_dict(CONFIG), RunOptions(results_dir=os.path.join(out, "full"), quiet=True),
                  dataset=ds)
        sp = built["methods"][0].sparsifier
        dump["masks"] = dict(sp.masks)
        dump["weights"] = {k: v.clone() for k, v in sp.model.state_dict().items()}
        dump["samples"] = seen[:5]
        dump["test_accuracy"] = res["test_accuracy"]
        # the last global batch (1 pair) leaves rank 1 an empty share: sampled training goes on
        run(RunConfig.from_dict({**CONFIG, "method": "dense", "epochs": 1, "batch_size": 4799}),
            RunOptions(results_dir=os.path.join(out, "uneven"), quiet=True), dataset=ds)
        dump["uneven"] = True
        # control variates: each rank its own history (docs/big_graphs.md); the replicas stay identical
        cv = run(RunConfig.from_dict({**CONFIG, "control_variates": True}),
                 RunOptions(results_dir=os.path.join(out, "cv"), quiet=True), dataset=ds)
        dump["cv_weights"] = {k: v.clone() for k, v in built["methods"][-1].sparsifier.model.state_dict().items()}
        dump["cv_record"] = (cv["training_graph"]["control_variates"], cv["test_accuracy"], res["test_accuracy"])


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("ddp_sampled"))
    return spawn_ranks(_worker, out, WORLD)


def test_sampled_ddp_keeps_replicas_identical_while_ranks_sample_their_own_share(two_ranks):
    a, b = two_ranks
    for name in a["masks"]:
        assert torch.equal(a["masks"][name], b["masks"][name])
    for name in a["weights"]:
        assert torch.equal(a["weights"][name], b["weights"][name]), name
    assert a["test_accuracy"] == b["test_accuracy"]
    assert all(not torch.equal(x, y) for x, y in zip(a["samples"], b["samples"]))  # each rank its own pairs
    assert a["uneven"] and b["uneven"]
    for name in a["cv_weights"]:
        assert torch.equal(a["cv_weights"][name], b["cv_weights"][name]), name
    assert a["cv_record"] == b["cv_record"] and a["cv_record"][0] is True
    assert a["cv_record"][1] != a["cv_record"][2]  # the option changed training

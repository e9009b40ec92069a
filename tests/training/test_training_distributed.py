"""The link-prediction runner under torchrun-style DDP: two gloo processes on the CPU.

One ``torch.multiprocessing`` spawn runs every 2-rank scenario (starting processes is the
expensive part); each rank dumps what it saw and the tests below compare the dumps. The
workers set ``RANK``/``WORLD_SIZE``/``LOCAL_RANK``/``MASTER_*`` as ``torchrun`` would, so the
runner's own environment detection and process-group set-up are what is tested.
"""
import json
import os

import pytest
import torch
from torch import nn

from gnn_sparse.training import RunConfig, RunOptions, run
from gnn_sparse.training.config import ConfigError
from gnn_sparse.training.distributed import DataParallel, LaunchEnv, SingleProcess, data_parallel, shutdown
from helpers_ddp import capture, rank_dump, spawn_ranks, torchrun_env

WORLD = 2
PER_RANK_BATCH = 128
CONFIG = dict(method="dst-ee", sparsity=0.9, epochs=3, batch_size=WORLD * PER_RANK_BATCH, update_interval=3,
              device="cpu")
"""4800 training pairs, global batch 256: 19 steps per epoch, a mask update every 3 steps
until step 43 (14 updates), the last batch (192 pairs) split 96/96."""


def _tiny_dataset():
    from gnn_sparse.data import load_dataset

    return load_dataset("synthetic", num_nodes=200, num_events=4000, seed=0)


class Interrupt(Exception):
    pass


def _sparse_state(method):
    sp = method.sparsifier
    return {"masks": dict(sp.masks), "counts": dict(sp.counts), "ever": dict(sp.ever_active), "t": sp.t,
            "updates": sum(1 for h in sp.history if "skipped" not in h),
            "weights": {k: v.clone() for k, v in sp.model.state_dict().items()}}


def _admm_on_ddp(rank):
    """The ADMM baseline on a DDP-wrapped MLP, every rank on its own half of each batch."""
    from torch.nn.parallel import DistributedDataParallel as DDP

    from baselines import ADMMPruner, ADMMRunner, ADMMSchedule

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 2))
    ddp = DDP(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    admm = ADMMRunner(ADMMPruner(model, sparsity=0.8), opt,
                      ADMMSchedule(pretrain_epochs=1, admm_epochs=3, retrain_epochs=1))
    g = torch.Generator().manual_seed(1)
    data = [(torch.randn(32, 10, generator=g), torch.randint(0, 2, (32,), generator=g)) for _ in range(6)]
    snapshots = []
    while not admm.finished:
        admm.begin_epoch()
        for x, y in data:
            opt.zero_grad()
            loss = nn.functional.cross_entropy(ddp(x[rank::WORLD]), y[rank::WORLD])
            admm.add_penalty(loss).backward()
            opt.step()
            admm.step()
        admm.end_epoch()
        snapshots.append({"z": dict(admm.pruner.z), "u": dict(admm.pruner.u)})
    return {"snapshots": snapshots, "masks": admm.sparsifier.masks, "weights": model.state_dict(),
            "updates": admm.pruner.updates}


def _worker(rank, port, out):
    torchrun_env(rank, WORLD, port)
    import gnn_sparse.training.runner as runner

    ds = _tiny_dataset()
    with rank_dump(rank, out) as dump:
        # A: a full run; B: the same run interrupted after epoch 1, then resumed.
        full = {}
        capture(runner, "build_method", full)
        run(RunConfig.from_dict(CONFIG), RunOptions(results_dir=os.path.join(out, "full"), quiet=True), dataset=ds)
        dump["full"] = {**_sparse_state(full["methods"][0]),
                        "results_writes": full.get("results_writes", 0),
                        "checkpoint_writes": full.get("checkpoint_writes", 0)}

        def stop(record):
            if record["epoch"] == 1:
                raise Interrupt

        b_dir = os.path.join(out, "resumed")
        try:
            run(RunConfig.from_dict(CONFIG), RunOptions(results_dir=b_dir, quiet=True), dataset=ds, on_epoch_end=stop)
        except Interrupt:
            pass
        resumed = {}
        capture(runner, "build_method", resumed)
        run(RunConfig.from_dict(CONFIG), RunOptions(results_dir=b_dir, resume=True, quiet=True), dataset=ds)
        dump["resumed"] = _sparse_state(resumed["methods"][0])

        # C: the last global batch (1 pair) leaves rank 1 nothing: training must go on.
        run(RunConfig.from_dict({**CONFIG, "method": "dense", "epochs": 1, "batch_size": 4799}),
            RunOptions(results_dir=os.path.join(out, "uneven"), quiet=True), dataset=ds)

        # D: a deliberately diverged tensor is caught by the per-epoch replica check.
        try:
            data_parallel("cpu").check_replicas("epoch 7", method={"z": {"fc1.weight": torch.full((3,), rank)}})
        except RuntimeError as err:
            dump["divergence_error"] = str(err)

        # E: the ADMM baseline: Z and U identical on every rank.
        dump["admm"] = _admm_on_ddp(rank)


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("ddp"))
    return out, spawn_ranks(_worker, out, WORLD)


STATE_KEYS = ("masks", "counts", "ever", "t", "updates", "weights")


def _assert_identical(a, b, what):
    for key in STATE_KEYS:
        if isinstance(a[key], dict):
            for n in a[key]:
                assert torch.equal(a[key][n], b[key][n]), (what, key, n)
        else:
            assert a[key] == b[key], (what, key)


def test_masks_counts_and_weights_identical_across_ranks(two_ranks):
    _, (r0, r1) = two_ranks
    assert r0["full"]["updates"] >= 10 and r0["full"]["t"] == 3 * 19
    _assert_identical(r0["full"], r1["full"], "full run")


def test_two_ranks_per_rank_batch_b_match_one_process_batch_2b(two_ranks, tmp_path, monkeypatch):
    _, (r0, _) = two_ranks
    import gnn_sparse.training.runner as runner

    single = {}
    monkeypatch.setattr(runner, "build_method", lambda c, build=runner.build_method:
                        single.setdefault("methods", []).append(build(c)) or single["methods"][-1])
    run(RunConfig.from_dict(CONFIG), RunOptions(results_dir=str(tmp_path), quiet=True), dataset=_tiny_dataset())
    one = _sparse_state(single["methods"][0])
    # DDP averages the two ranks' mean losses of 128 pairs; one process takes the mean of
    # the same 256 pairs. The gradients differ only by float32 summation order (~1e-7
    # relative), far below the score gaps that decide the top-k mask updates, so masks and
    # counts coincide exactly; the weights differ by rounding only (measured: at most 5e-8
    # absolute after 57 SGD steps with momentum; checked with 20x margin).
    for key in ("masks", "counts", "ever"):
        for n in one[key]:
            assert torch.equal(one[key][n], r0["full"][key][n]), (key, n)
    assert one["t"] == r0["full"]["t"] and one["updates"] == r0["full"]["updates"]
    for n, w in one["weights"].items():
        assert torch.allclose(w, r0["full"]["weights"][n], rtol=1e-5, atol=1e-6), n


def test_results_and_checkpoints_written_once_by_rank_0(two_ranks):
    out, (r0, r1) = two_ranks
    assert (r0["full"]["results_writes"], r0["full"]["checkpoint_writes"]) == (1, CONFIG["epochs"])
    assert (r1["full"]["results_writes"], r1["full"]["checkpoint_writes"]) == (0, 0)
    files = sorted(os.listdir(os.path.join(out, "full")))
    assert [f for f in files if f.endswith(".json")] == ["synthetic-dst-ee-gcn-fc-s0.9-seed0.json"]
    index = open(os.path.join(out, "full", "index.jsonl")).read().splitlines()
    assert len(index) == 1
    res = json.load(open(os.path.join(out, "full", "synthetic-dst-ee-gcn-fc-s0.9-seed0.json")))
    assert res["world_size"] == WORLD and res["backend"] == "gloo" and res["steps_per_epoch"] == 19


def test_resume_under_ddp_continues_exactly(two_ranks):
    out, (r0, r1) = two_ranks
    _assert_identical(r0["resumed"], r1["resumed"], "resumed run")
    _assert_identical(r0["full"], r0["resumed"], "resumed vs full")
    name = "synthetic-dst-ee-gcn-fc-s0.9-seed0.json"
    full, resumed = (json.load(open(os.path.join(out, d, name))) for d in ("full", "resumed"))
    strip = lambda h: [{k: v for k, v in r.items() if not k.endswith("time_s")} for r in h]  # noqa: E731
    assert strip(full["history"]) == strip(resumed["history"]) and resumed["resumed_from_epoch"] == 1


def test_diverged_replica_is_detected(two_ranks):
    _, (r0, r1) = two_ranks
    for d, other in ((r0, 1), (r1, 0)):
        assert "replicas diverged after epoch 7: 'method.z.fc1.weight' differs between rank" in d["divergence_error"]
        assert f"and rank {other}" in d["divergence_error"]


def test_admm_z_and_u_identical_across_ranks(two_ranks):
    _, (r0, r1) = two_ranks
    a, b = r0["admm"], r1["admm"]
    assert a["updates"] == b["updates"] == 2
    for sa, sb in zip(a["snapshots"], b["snapshots"], strict=True):
        for key in ("z", "u"):
            for n in sa[key]:
                assert torch.equal(sa[key][n], sb[key][n]), (key, n)
    for key in ("masks", "weights"):
        for n in a[key]:
            assert torch.equal(a[key][n], b[key][n]), (key, n)


# --------------------------------------------------------------------------- single process
def test_launch_env_parsing():
    assert LaunchEnv.from_environ({}) is None
    assert LaunchEnv.from_environ({"RANK": "1", "WORLD_SIZE": "4", "LOCAL_RANK": "1"}) == LaunchEnv(1, 4, 1)
    with pytest.raises(ConfigError, match="invalid torchrun environment"):
        LaunchEnv.from_environ({"RANK": "4", "WORLD_SIZE": "4"})
    with pytest.raises(ConfigError, match="must be integers"):
        LaunchEnv.from_environ({"RANK": "x", "WORLD_SIZE": "2"})


def test_without_torchrun_every_hook_is_a_no_op():
    dp = data_parallel("cpu", environ={})
    assert type(dp) is SingleProcess and dp.is_writer and dp.world_size == 1
    model = nn.Linear(2, 2)
    batch = torch.arange(5)
    assert dp.wrap(model) is model
    idx, weight = dp.local(batch)
    assert idx is batch and weight == 1.0
    assert dp.on_writer(lambda: 42) == 42
    assert dp.describe() == {"world_size": 1}
    assert type(data_parallel("cpu", environ={"WORLD_SIZE": "1", "RANK": "0"})) is SingleProcess


def test_global_batch_smaller_than_world_is_refused():
    with pytest.raises(ConfigError, match="global batch"):
        data_parallel("cpu", batch_size=1, environ={"RANK": "0", "WORLD_SIZE": "2", "LOCAL_RANK": "0"})


def test_shutdown_destroys_the_group_once(tmp_path):
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'init'}", rank=0, world_size=1)
    shutdown(synchronize=True)  # one rank: no barrier needed, the group is gone
    assert not dist.is_initialized()
    shutdown(synchronize=True)  # nothing left to destroy: a no-op, not an error


def test_shard_weights_make_the_ddp_average_the_global_mean(monkeypatch):
    # Without a process group: pretend to be rank r of 3 and check the split and weights.
    batch = torch.arange(10)
    shares = []
    for rank in range(3):
        dp = DataParallel.__new__(DataParallel)
        dp.rank, dp.world_size = rank, 3
        shares.append(dp.local(batch))
    assert torch.equal(torch.sort(torch.cat([s[0] for s in shares])).values, batch)
    # sum_r w_r * mean_r / W == global mean, for any per-sample values
    values = torch.rand(10, dtype=torch.float64)
    ddp_mean = sum(w * values[i].mean() for i, w in shares) / 3
    assert torch.allclose(ddp_mean, values.mean())

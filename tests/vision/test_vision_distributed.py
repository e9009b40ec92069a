"""The image runner under torchrun-style DDP: two gloo processes on the CPU, digits.

One ``torch.multiprocessing`` spawn runs every scenario; the workers set
``RANK``/``WORLD_SIZE``/``LOCAL_RANK``/``MASTER_*`` as ``torchrun`` would, so the runner's own
environment detection, process-group set-up and hooks are what is tested. The data are 385
training digits (global batch 64: 7 steps per epoch, the last global batch is 1 image, so
rank 1's share of it is empty) and a width-4 DigitsCNN, whose BatchNorm buffers must end every
epoch identical on both ranks.
"""
import json
import os

import pytest
import torch

from helpers_ddp import capture, rank_dump, spawn_ranks, torchrun_env

WORLD = 2
TRAIN = 385
CONFIG = dict(dataset="digits", method="dst-ee", sparsity=0.9, epochs=2, batch_size=64, width=4,
              update_interval=2, device="cpu")
RUN_ID = "digits-dst-ee-digits-cnnw4-rigl-s0.9-seed0"


class Interrupt(Exception):
    pass


def _splits():
    from gnn_sparse.vision import ImageDataset, ImageSplits, load_digits_splits

    full = load_digits_splits(seed=0)
    t = full.train
    train = ImageDataset(t.images[:TRAIN], t.labels[:TRAIN], t.scale, t.mean.flatten().tolist(),
                         t.std.flatten().tolist(), t.classes)
    return ImageSplits(train, full.val, full.test)


def _state(method, record):
    sp = method.sparsifier
    return {"masks": dict(sp.masks), "counts": dict(sp.counts), "ever": dict(sp.ever_active), "t": sp.t,
            "updates": sum(1 for h in sp.history if "skipped" not in h),
            "weights": {k: v.clone() for k, v in sp.model.state_dict().items()},
            "results_writes": record.get("results_writes", 0),
            "checkpoint_writes": record.get("checkpoint_writes", 0)}


def _worker(rank, port, out):
    torchrun_env(rank, WORLD, port)
    import gnn_sparse.vision.runner as runner
    from gnn_sparse.vision.config import ImageRunConfig

    splits = _splits()
    with rank_dump(rank, out) as dump:
        full = {}
        capture(runner, "build_image_method", full)
        config = ImageRunConfig.from_dict(CONFIG)
        res = runner.run_image(config, runner.RunOptions(results_dir=os.path.join(out, "full"), quiet=True),
                               splits=splits)
        dump["full"] = _state(full["methods"][0], full)
        dump["history"] = res["history"]

        def stop(record):
            if record["epoch"] == 1:
                raise Interrupt

        b_dir = os.path.join(out, "resumed")
        try:
            runner.run_image(config, runner.RunOptions(results_dir=b_dir, quiet=True),
                             splits=splits, on_epoch_end=stop)
        except Interrupt:
            pass
        resumed = {}
        capture(runner, "build_image_method", resumed)
        runner.run_image(config, runner.RunOptions(results_dir=b_dir, resume=True, quiet=True), splits=splits)
        dump["resumed"] = _state(resumed["methods"][0], resumed)


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("vision_ddp"))
    return out, spawn_ranks(_worker, out, WORLD)


def _assert_identical(a, b, what):
    for key in ("masks", "counts", "ever", "weights"):
        assert a[key].keys() == b[key].keys(), (what, key)
        for n in a[key]:
            assert torch.equal(a[key][n], b[key][n]), (what, key, n)
    assert (a["t"], a["updates"]) == (b["t"], b["updates"]), what


def test_masks_counts_and_weights_identical_across_ranks(two_ranks):
    _, (r0, r1) = two_ranks
    assert r0["full"]["t"] == 2 * 7 and r0["full"]["updates"] >= 3
    _assert_identical(r0["full"], r1["full"], "full run")  # weights include the BatchNorm buffers
    strip = lambda h: [{k: v for k, v in r.items() if not k.endswith("time_s")} for r in h]  # noqa: E731
    assert strip(r0["history"]) == strip(r1["history"])  # identical (global) train loss and evaluations


def test_results_and_checkpoints_written_once_by_rank_0(two_ranks):
    out, (r0, r1) = two_ranks
    assert (r0["full"]["results_writes"], r0["full"]["checkpoint_writes"]) == (1, CONFIG["epochs"])
    assert (r1["full"]["results_writes"], r1["full"]["checkpoint_writes"]) == (0, 0)
    assert [f for f in os.listdir(os.path.join(out, "full")) if f.endswith(".json")] == [f"{RUN_ID}.json"]
    assert len(open(os.path.join(out, "full", "index.jsonl")).read().splitlines()) == 1
    res = json.load(open(os.path.join(out, "full", f"{RUN_ID}.json")))
    assert res["world_size"] == WORLD and res["backend"] == "gloo" and res["steps_per_epoch"] == 7
    assert res["dataset_info"]["train_images"] == TRAIN


def test_resume_under_ddp_continues_exactly(two_ranks):
    out, (r0, r1) = two_ranks
    _assert_identical(r0["resumed"], r1["resumed"], "resumed run")
    _assert_identical(r0["full"], r0["resumed"], "resumed vs full")
    full, resumed = (json.load(open(os.path.join(out, d, f"{RUN_ID}.json"))) for d in ("full", "resumed"))
    strip = lambda h: [{k: v for k, v in r.items() if not k.endswith("time_s")} for r in h]  # noqa: E731
    assert strip(full["history"]) == strip(resumed["history"]) and resumed["resumed_from_epoch"] == 1

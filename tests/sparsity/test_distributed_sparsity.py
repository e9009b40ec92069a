"""Two gloo processes on the CPU: masks stay identical across ranks under DDP."""
import os
import tempfile
from datetime import timedelta

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP

from gnn_sparse import DSTEE, SET
from gnn_sparse.training.distributed import shutdown

STEPS, INTERVAL, BATCH = 24, 4, 16


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(12, 40), nn.ReLU(), nn.Linear(40, 3))


def _data():
    g = torch.Generator().manual_seed(1)
    return [(torch.randn(2 * BATCH, 12, generator=g), torch.randint(0, 3, (2 * BATCH,), generator=g))
            for _ in range(STEPS)]


def _train(model, method, seed, rank, world, diverge_at=None):
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    s = method(model, opt, sparsity=0.8, update_interval=INTERVAL, end_step=STEPS, seed=seed)
    for i, (x, y) in enumerate(_data()):
        lo, hi = (rank * BATCH, (rank + 1) * BATCH) if world > 1 else (0, 2 * BATCH)
        opt.zero_grad()
        nn.functional.cross_entropy(model(x[lo:hi]), y[lo:hi]).backward()
        opt.step()
        if diverge_at is not None and i == diverge_at and rank == 1:
            name = next(iter(s.masks))
            s.masks[name].view(-1)[:2] = ~s.masks[name].view(-1)[:2]
        s.step()
    return s


def _worker(rank, world, init_file, out_dir, method_name, diverge):
    # A short timeout turns a rank left alone at a collective into an error, not a hang.
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world,
                            timeout=timedelta(seconds=60))
    torch.set_num_threads(1)
    try:
        _train_and_save(rank, world, out_dir, method_name, diverge)
    finally:
        # the model and sparsifier are out of scope: nothing holds the group past its teardown
        shutdown(synchronize=True)  # the divergence check raises on every rank alike


def _train_and_save(rank, world, out_dir, method_name, diverge):
    method = {"DSTEE": DSTEE, "SET": SET}[method_name]
    model = DDP(_model())
    try:
        s = _train(model, method, seed=rank, rank=rank, world=world,  # seeds differ on purpose
                   diverge_at=5 if diverge else None)
        torch.save({"masks": s.masks, "counts": s.counts, "ever": s.ever_active,
                    "weights": model.module.state_dict()}, os.path.join(out_dir, f"rank{rank}.pt"))
    except RuntimeError as err:
        with open(os.path.join(out_dir, f"error{rank}.txt"), "w") as f:
            f.write(str(err))


def _spawn(method_name, diverge=False):
    out = tempfile.mkdtemp()
    init_file = os.path.join(out, "init")
    mp.spawn(_worker, args=(2, init_file, out, method_name, diverge), nprocs=2, join=True)
    return out


@pytest.mark.parametrize("method_name", ["DSTEE", "SET"])
def test_two_ranks_agree_and_match_one_process_with_double_batch(method_name):
    out = _spawn(method_name)
    r0, r1 = (torch.load(os.path.join(out, f"rank{r}.pt")) for r in (0, 1))
    for key in ("masks", "counts", "ever", "weights"):
        for n in r0[key]:
            assert torch.equal(r0[key][n], r1[key][n]), (key, n)
    single = _train(_model(), {"DSTEE": DSTEE, "SET": SET}[method_name], seed=0, rank=0, world=1)
    # DDP averages the two half-batch gradients; one process sees the mean over the full
    # batch. They differ only by float reduction order (~1e-7 relative), far below the
    # score gaps that decide top-k here, so the masks must coincide exactly and the weights
    # agree to 1e-5.
    for n in single.masks:
        assert torch.equal(single.masks[n], r0["masks"][n])
        assert torch.equal(single.counts[n], r0["counts"][n])
    single_weights = single.model.state_dict()
    for n, w in r0["weights"].items():
        assert torch.allclose(single_weights[n], w, atol=1e-5), n


def test_diverged_mask_is_detected():
    out = _spawn("DSTEE", diverge=True)
    errors = [f for f in os.listdir(out) if f.startswith("error")]
    assert errors, "divergence went unnoticed"
    text = open(os.path.join(out, errors[0])).read()
    assert "Masks diverged across ranks at t=8: layer '0.weight'" in text

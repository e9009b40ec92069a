"""The scaffolding of the 2-process runner tests (tests/training, tests/vision): a free port,
the torchrun environment of a rank, the dump each rank saves, the spawn that collects the
dumps, and the wrappers that count what each rank wrote."""
import contextlib
import os
import socket

import torch
import torch.multiprocessing as mp

import gnn_sparse.training.epochs as epochs
from gnn_sparse.training.distributed import shutdown


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def torchrun_env(rank: int, world: int, port: int) -> None:
    """Set what ``torchrun`` would for this rank, so that the runner's own detection and
    process-group set-up are what is tested; one thread per rank."""
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)


@contextlib.contextmanager
def rank_dump(rank: int, out: str):
    """A dict for what this rank saw, saved as ``out/rank<r>.pt`` even after a failure (which
    it records under ``"error"``); then the process group is torn down."""
    dump = {}
    try:
        yield dump
    except BaseException as err:
        dump["error"] = repr(err)
        raise
    finally:
        torch.save(dump, os.path.join(out, f"rank{rank}.pt"))
        shutdown(synchronize="error" not in dump)


def spawn_ranks(worker, out: str, world: int) -> list[dict]:
    """Run ``worker(rank, port, out)`` on ``world`` processes; return the dumps they saved as
    ``out/rank<r>.pt``, failing on any that recorded an error."""
    mp.spawn(worker, args=(free_port(), out), nprocs=world, join=True)
    dumps = [torch.load(os.path.join(out, f"rank{r}.pt"), weights_only=False) for r in range(world)]
    for d in dumps:
        assert "error" not in d, d.get("error")
    return dumps


def capture(runner, factory_name: str, record: dict) -> None:
    """Wrap the runner's method factory (``factory_name``) and writers so that the test sees
    what each rank built and wrote."""
    build, write, save = getattr(runner, factory_name), runner.write_results, epochs.save_checkpoint
    setattr(runner, factory_name,
            lambda config: record.setdefault("methods", []).append(build(config)) or record["methods"][-1])

    def write_results(*args, **kwargs):
        record["results_writes"] = record.get("results_writes", 0) + 1
        return write(*args, **kwargs)

    def save_checkpoint(*args, **kwargs):
        record["checkpoint_writes"] = record.get("checkpoint_writes", 0) + 1
        return save(*args, **kwargs)

    runner.write_results, epochs.save_checkpoint = write_results, save_checkpoint  # rank 0 writes both

r"""Data-parallel training under ``torchrun``: the plumbing, kept out of the runner and the loop.

``torchrun --nproc_per_node N run_link_prediction.py ...`` starts ``N`` processes with
``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` in their environment. :func:`data_parallel`
detects them and returns a :class:`DataParallel` context (or :class:`SingleProcess`, whose
hooks do nothing, for a plain ``python`` run); the runner only calls its hooks:

* :attr:`~DataParallel.device`: ``cuda:LOCAL_RANK`` (backend ``nccl``) or the CPU (``gloo``);
* :meth:`~DataParallel.wrap`: the model in :class:`~torch.nn.parallel.DistributedDataParallel`
  (built once, after calibration or resuming, so it broadcasts rank 0's weights);
* :meth:`~DataParallel.local`: this rank's share of a global mini-batch;
* :meth:`~DataParallel.all_sum`: sums a tensor over the ranks (the epoch's training loss);
* :meth:`~DataParallel.sync_buffers`: copies rank 0's persistent buffers (BatchNorm running
  statistics) to every rank at the end of an epoch (DDP itself only does so before a forward);
* :meth:`~DataParallel.check_replicas`: a cheap checksum comparison of the weights and the
  method's state (masks, counts, ADMM's :math:`Z` and :math:`U`) across ranks;
* :meth:`~DataParallel.on_writer`: runs a write (results, index, checkpoint) on rank 0
  only; the other ranks wait at a barrier.

Batch semantics: ``batch_size`` is the **global** batch, the labelled pairs of one optimizer
step summed over all ranks. Every rank draws the same permutation of the training pairs
(same seed); global batch :math:`B_s` is split as ``B_s[rank::world]`` (as
:class:`~torch.utils.data.distributed.DistributedSampler` does) and each rank's mean loss is
weighted by :math:`w_r = |B_{s,r}| \cdot W / |B_s|`, so that after DDP's gradient average

.. math::
    \frac{1}{W}\sum_{r} w_r \frac{1}{|B_{s,r}|}\sum_{i \in B_{s,r}} \nabla \ell_i
    = \frac{1}{|B_s|}\sum_{i \in B_s} \nabla \ell_i ,

exactly the single-process gradient of the same batch up to floating-point reduction order.
Steps per epoch, and hence every schedule counted in optimizer steps (mask-update interval
``T``, ``end_step``, DST-EE's ``c`` decay, the per-epoch LR schedule), do not depend on the
number of processes. See ``docs/distributed.md``.
"""
from __future__ import annotations

import atexit
import gc
import inspect
import os
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping, TypeVar

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

from gnn_sparse.training.config import ConfigError
from gnn_sparse.training.device import resolve_device

# torch 2.13 renamed DDP's per-forward buffer sync; older releases only know the old name.
_BUFFER_SYNC_ARG = ("forward_sync_buffers"
                    if "forward_sync_buffers" in inspect.signature(DistributedDataParallel.__init__).parameters
                    else "broadcast_buffers")

T = TypeVar("T")

__all__ = ["LaunchEnv", "SingleProcess", "DataParallel", "data_parallel", "unwrap", "is_main_process",
           "shutdown"]


@dataclass(frozen=True)
class LaunchEnv:
    """Where this process sits in a ``torchrun`` launch (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``)."""

    rank: int
    world_size: int
    local_rank: int

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> "LaunchEnv | None":
        """The launch of ``environ`` (default: ``os.environ``); ``None`` without ``WORLD_SIZE``.

        Raises:
            ConfigError: a variable is not an integer, or the rank is out of range.
        """
        environ = os.environ if environ is None else environ
        if "WORLD_SIZE" not in environ:
            return None
        try:
            world = int(environ["WORLD_SIZE"])
            rank = int(environ.get("RANK", "0"))
            local = int(environ.get("LOCAL_RANK", str(rank)))
        except ValueError:
            raise ConfigError("RANK, WORLD_SIZE and LOCAL_RANK must be integers (as torchrun sets them), got "
                              f"{ {k: environ.get(k) for k in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK')} }") from None
        if world < 1 or not 0 <= rank < world or local < 0:
            raise ConfigError(f"invalid torchrun environment: RANK={rank}, WORLD_SIZE={world}, LOCAL_RANK={local}")
        return cls(rank, world, local)


def unwrap(model: nn.Module) -> nn.Module:
    """The module inside a ``DistributedDataParallel``/``DataParallel`` wrapper (else ``model``)."""
    return model.module if isinstance(model, (DistributedDataParallel, nn.DataParallel)) else model


class SingleProcess:
    """A plain single-process run: every hook is a no-op.

    Args:
        device: the run's device (default: the CPU).
    """

    rank = 0
    world_size = 1
    is_writer = True
    backend: str | None = None

    def __init__(self, device: torch.device = torch.device("cpu")):
        self.device = torch.device(device)

    def wrap(self, model: nn.Module) -> nn.Module:
        return model

    def local(self, batch: Tensor) -> tuple[Tensor, float]:
        """``(indices of this rank, weight of its mean loss)``: the whole batch, weight 1."""
        return batch, 1.0

    def all_sum(self, tensor: Tensor) -> Tensor:
        return tensor

    def sync_buffers(self, model: nn.Module) -> None:
        pass

    def check_replicas(self, when: str, **states: Any) -> None:
        pass

    def on_writer(self, write: Callable[[], T]) -> T | None:
        return write()

    def describe(self) -> dict[str, Any]:
        return {"world_size": 1}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(device={self.device})"


SINGLE_PROCESS = SingleProcess()


class DataParallel(SingleProcess):
    """One rank of a multi-process run (an initialised default process group).

    Args:
        device: this rank's device (``cuda:LOCAL_RANK`` or the CPU).
        backend: the process group's backend (for the results).
    """

    def __init__(self, device: torch.device, backend: str | None = None):
        if not (dist.is_available() and dist.is_initialized()):
            raise RuntimeError(f"'{type(self).__name__}' needs an initialised torch.distributed process group")
        super().__init__(device)
        self.rank = dist.get_rank()
        self.world_size = dist.get_world_size()
        self.is_writer = self.rank == 0
        self.backend = backend if backend is not None else str(dist.get_backend())
        self._wrapped: dict[int, DistributedDataParallel] = {}

    def wrap(self, model: nn.Module) -> DistributedDataParallel:
        """``model`` in DDP, built on the first call and reused after (one wrapper per model).

        Building it broadcasts rank 0's parameters and buffers, so call it once the weights are
        final on every rank (after calibration or loading a checkpoint) and before training.
        """
        if id(model) not in self._wrapped:
            ids = [self.device.index] if self.device.type == "cuda" else None
            # Non-persistent buffers (the fixed node features of --encoder twalk) are derived
            # data, identical on every rank: re-sending them on every forward only costs.
            # Persistent ones (BatchNorm statistics) are kept in sync from rank 0 as usual.
            persistent = set(model.state_dict())
            sync_buffers = any(name in persistent for name, _ in model.named_buffers())
            self._wrapped[id(model)] = DistributedDataParallel(model, device_ids=ids,
                                                               **{_BUFFER_SYNC_ARG: sync_buffers})
        return self._wrapped[id(model)]

    def local(self, batch: Tensor) -> tuple[Tensor, float]:
        """Entries ``rank, rank + W, ...`` of the global ``batch`` and the weight
        :math:`|B_r| W / |B|` of their mean loss (see the module docstring)."""
        mine = batch[self.rank::self.world_size]
        return mine, mine.numel() * self.world_size / max(batch.numel(), 1)

    def all_sum(self, tensor: Tensor) -> Tensor:
        out = tensor.detach().clone().to(self.device)
        dist.all_reduce(out, op=dist.ReduceOp.SUM)
        return out

    def sync_buffers(self, model: nn.Module) -> None:
        """Broadcast rank 0's persistent buffers (e.g. BatchNorm running statistics) in place.

        DDP (``broadcast_buffers=True``) copies them from rank 0 at the start of every training
        forward, so after the last step of an epoch each rank still holds the statistics of its
        own share; call this before evaluating or checkpointing so that every rank evaluates,
        and rank 0 saves, the same model (what the next forward would have made them anyway).
        """
        model = unwrap(model)
        persistent = set(model.state_dict())
        for name, buf in model.named_buffers():
            if name in persistent:
                dist.broadcast(buf, src=0)

    def check_replicas(self, when: str, **states: Any) -> None:
        """Raise if any tensor in ``states`` (nested dicts/lists allowed) differs across ranks.

        Compares, per tensor, the float64 sum and the position-weighted sum of its entries
        (two numbers, one ``all_gather`` in all). Under DDP the weights, masks, counts and
        ADMM's Z and U are bitwise identical on every rank, so any difference is a bug.

        Raises:
            RuntimeError: naming the first differing tensor, the ranks and ``when`` (e.g. ``"epoch 3"``).
        """
        names, sums = [], []
        for name, tensor in _tensors(states):
            names.append(name)
            sums.append(_checksum(tensor).to(self.device))
        if not sums:
            return
        local = torch.stack(sums)
        gathered = [torch.empty_like(local) for _ in range(self.world_size)]
        dist.all_gather(gathered, local)
        for rank, other in enumerate(gathered):
            differs = ((other != local) & ~(other.isnan() & local.isnan())).any(dim=1)
            if bool(differs.any()):
                raise RuntimeError(
                    f"'{type(self).__name__}': replicas diverged after {when}: '{names[int(differs.nonzero()[0])]}' "
                    f"differs between rank {self.rank} and rank {rank}"
                )

    def on_writer(self, write: Callable[[], T]) -> T | None:
        """``write()`` on rank 0 (atomic writes are the caller's), then a barrier for all ranks."""
        result = write() if self.is_writer else None
        self.barrier()
        return result

    def barrier(self) -> None:
        if self.backend == "nccl":
            dist.barrier(device_ids=[self.device.index])
        else:
            dist.barrier()

    def describe(self) -> dict[str, Any]:
        return {"world_size": self.world_size, "backend": self.backend}

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(rank={self.rank}, world_size={self.world_size}, "
                f"device={self.device}, backend={self.backend!r})")


def data_parallel(device_spec: str, batch_size: int | None = None,
                  environ: Mapping[str, str] | None = None) -> SingleProcess:
    """This process's data-parallel context; initialises the process group under ``torchrun``.

    Without ``WORLD_SIZE`` (or with ``WORLD_SIZE=1``) and no initialised multi-rank group:
    :class:`SingleProcess` on :func:`~gnn_sparse.training.device.resolve_device` of
    ``device_spec``. Otherwise every rank uses ``cuda:LOCAL_RANK`` with ``nccl`` when the spec
    is ``auto`` (and CUDA is available) or ``cuda``, else the CPU with ``gloo``; the group is
    initialised from the ``torchrun`` environment (``MASTER_ADDR``/``MASTER_PORT``) unless it
    already is, and destroyed at exit.

    Args:
        device_spec: ``auto``, ``cpu``, ``cuda`` or ``cuda:N`` (``N`` must be ``LOCAL_RANK``).
        batch_size: the global batch; checked to be at least the number of processes.
        environ: the environment (default: ``os.environ``).

    Raises:
        ConfigError: an invalid environment or device, or a batch smaller than the world.
    """
    env = LaunchEnv.from_environ(environ)
    initialised = dist.is_available() and dist.is_initialized()
    if initialised and env is None:
        env = LaunchEnv(dist.get_rank(), dist.get_world_size(), dist.get_rank())
    if env is None or env.world_size == 1:
        return SingleProcess(resolve_device(device_spec))
    if not dist.is_available():
        raise ConfigError("WORLD_SIZE > 1 but this torch build has no torch.distributed")
    device = _rank_device(device_spec, env.local_rank)
    if batch_size is not None and batch_size < env.world_size:
        raise ConfigError(f"--batch-size {batch_size} is the global batch (all processes together) and must be "
                          f"at least the number of processes, {env.world_size}")
    backend = "nccl" if device.type == "cuda" else "gloo"
    if not initialised:
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(backend, rank=env.rank, world_size=env.world_size)
        atexit.register(shutdown)
    elif dist.get_world_size() != env.world_size:
        raise ConfigError(f"WORLD_SIZE={env.world_size} but the process group has {dist.get_world_size()} ranks")
    return DataParallel(device, str(dist.get_backend()))


def shutdown(synchronize: bool = False) -> None:
    """Destroy the default process group if there is one (registered at exit by :func:`data_parallel`).

    Objects still holding the group keep its C++ side, and gloo's worker threads, alive past
    ``destroy_process_group``; a group that lives into interpreter shutdown can abort the
    process (SIGABRT, "terminate called without an active exception"), turning a finished run
    into a failed one. So unreachable objects are collected first: a
    :class:`~torch.nn.parallel.DistributedDataParallel` wrapper and a sparsifier hooked into
    its optimizer form reference cycles that plain reference counting does not free.

    With ``synchronize`` the ranks first meet at a barrier, so that none tears down while a
    peer is still in the last collective. Only for the success path: after a failure a peer
    may never reach the barrier, so the exit handler destroys without one (``torchrun`` stops
    the others).
    """
    if dist.is_available() and dist.is_initialized():
        if synchronize and dist.get_world_size() > 1:
            dist.barrier()
        gc.collect()
        dist.destroy_process_group()


def is_main_process() -> bool:
    """Rank 0 of an initialised group, or a process outside any group (prints, summaries)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank() == 0
    return int(os.environ.get("RANK", "0")) == 0


def _rank_device(spec: str, local_rank: int) -> torch.device:
    if spec == "cpu":
        return torch.device("cpu")
    if spec == "auto" and not torch.cuda.is_available():
        return torch.device("cpu")
    base = resolve_device(spec)  # validates the spelling and that CUDA exists
    if spec not in ("auto", "cuda") and base.index != local_rank:
        raise ConfigError(f"--device {spec}: under torchrun every process uses cuda:LOCAL_RANK "
                          f"(here cuda:{local_rank}); pass --device cuda or auto")
    if local_rank >= torch.cuda.device_count():
        raise ConfigError(f"LOCAL_RANK={local_rank} but only {torch.cuda.device_count()} CUDA device(s) are "
                          "visible; start at most that many processes per node")
    return torch.device("cuda", local_rank)


def _tensors(obj: Any, prefix: str = "") -> Iterator[tuple[str, Tensor]]:
    """``(dotted name, tensor)`` for every tensor in nested dicts, lists and tuples, in order."""
    if isinstance(obj, Tensor):
        yield prefix, obj
    elif isinstance(obj, Mapping):
        for key, value in obj.items():
            yield from _tensors(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(obj, (list, tuple)):
        for i, value in enumerate(obj):
            yield from _tensors(value, f"{prefix}[{i}]")


def _checksum(tensor: Tensor) -> Tensor:
    flat = tensor.detach().reshape(-1).to(torch.float64)
    positions = torch.arange(1, flat.numel() + 1, device=flat.device, dtype=torch.float64)
    return torch.stack([flat.sum(), (positions * flat).sum()])

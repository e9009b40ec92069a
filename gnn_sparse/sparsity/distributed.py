"""Keeping masks identical on every rank of a ``torch.distributed`` process group.

Under :class:`torch.nn.parallel.DistributedDataParallel` every rank holds a copy of the
model. Sparse training stays correct only if all copies carry the same masks: the initial
masks are broadcast from one rank, and every update is computed from gradients that DDP has
already all-reduced, with deterministic tie-breaking and the same seeded generator on every
rank, so all ranks take the same decisions. This module holds the communication, kept out of
the mask arithmetic; the sparsifier calls it at construction, after each update and on load.
"""
from __future__ import annotations

from typing import Mapping

import torch
import torch.distributed as dist


class NoSync:
    """Single process: nothing to synchronise."""

    def broadcast_masks(self, masks: Mapping[str, torch.Tensor]) -> None:
        pass

    def broadcast_generator(self, generator: torch.Generator) -> None:
        pass

    def check_masks(self, masks: Mapping[str, torch.Tensor], t: int) -> None:
        pass


class DistributedSync:
    """Broadcast masks from ``src`` and check, cheaply, that no rank has diverged.

    The check all-gathers two numbers per layer (the number of active entries and the sum
    of their flat indices, in float64) and raises on any difference, naming the layer.

    Args:
        group: the process group (default: the world).
        src: the rank whose initial masks everybody adopts (default: 0).
    """

    def __init__(self, group=None, src: int = 0):
        if not (dist.is_available() and dist.is_initialized()):
            raise RuntimeError("DistributedSync needs an initialised torch.distributed process group")
        self.group, self.src = group, src

    def broadcast_masks(self, masks: Mapping[str, torch.Tensor]) -> None:
        for mask in masks.values():
            # bool is not supported by every backend (gloo): send as uint8.
            buf = mask.to(torch.uint8)
            dist.broadcast(buf, self.src, group=self.group)
            mask.copy_(buf.to(torch.bool))

    def broadcast_generator(self, generator: torch.Generator) -> None:
        """Adopt ``src``'s RNG state, so random growth (SET) agrees even if seeds differ."""
        state = [generator.get_state()]
        dist.broadcast_object_list(state, self.src, group=self.group)
        generator.set_state(state[0])

    def check_masks(self, masks: Mapping[str, torch.Tensor], t: int) -> None:
        names = list(masks)
        local = torch.stack([_checksum(masks[n]) for n in names])
        gathered = [torch.empty_like(local) for _ in range(dist.get_world_size(self.group))]
        dist.all_gather(gathered, local, group=self.group)
        for rank, other in enumerate(gathered):
            differs = (other != local).any(dim=1)
            if bool(differs.any()):
                layer = names[int(differs.nonzero()[0])]
                raise RuntimeError(
                    f"Masks diverged across ranks at t={t}: layer '{layer}' differs between rank "
                    f"{dist.get_rank(self.group)} and rank {rank}. Every rank must see the same "
                    "(all-reduced) gradients and the same sparsifier seed"
                )


def _checksum(mask: torch.Tensor) -> torch.Tensor:
    flat = mask.reshape(-1)
    positions = torch.arange(flat.numel(), device=flat.device, dtype=torch.float64)
    return torch.stack([flat.sum().to(torch.float64), (positions * flat).sum()])


def default_sync():
    """:class:`DistributedSync` inside an initialised multi-process group, else :class:`NoSync`."""
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        return DistributedSync()
    return NoSync()

"""Seeded mini-batches of an :class:`~gnn_sparse.vision.ImageDataset`, augmented per batch."""
from __future__ import annotations

import math
from typing import Callable, Iterator

import torch

from gnn_sparse.vision.data import ImageDataset


class ImageBatches:
    r"""Iterate over ``(x, y)`` mini-batches, like a ``DataLoader`` but whole-batch.

    Every epoch draws its permutation and augmentation from a CPU generator seeded with
    :math:`\text{seed} + \text{epoch}`, so a run resumed at epoch :math:`e` (after
    :meth:`set_epoch`) sees exactly the batches an uninterrupted run sees; no RNG state has
    to be checkpointed. :meth:`__iter__` advances the epoch by one at its end (like
    ``DistributedSampler.set_epoch`` done automatically).

    Args:
        dataset (ImageDataset): the images.
        batch_size (int): images per batch.
        shuffle (bool): new random order every epoch (default: ``False``).
        augment (callable, optional): ``augment(images, generator=...)`` on :math:`[0, 1]`
            images, e.g. :func:`~gnn_sparse.vision.random_crop_flip` (default: none).
        drop_last (bool): drop the last incomplete batch (default: ``False``).
        seed (int): base seed (default: ``0``).

    Raises:
        ValueError: ``batch_size`` is not a positive integer.
    """

    def __init__(self, dataset: ImageDataset, batch_size: int, shuffle: bool = False,
                 augment: Callable[..., torch.Tensor] | None = None, drop_last: bool = False, seed: int = 0):
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"{type(self).__name__}: batch_size must be a positive integer, got {batch_size!r}")
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.augment = augment
        self.drop_last = drop_last
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Make the next iteration produce epoch ``epoch``'s batches."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        n = len(self.dataset) / self.batch_size
        return math.floor(n) if self.drop_last else math.ceil(n)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        n = len(self.dataset)
        order = torch.randperm(n, generator=generator) if self.shuffle else torch.arange(n)
        for i in range(len(self)):
            yield self.dataset.batch(order[i * self.batch_size:(i + 1) * self.batch_size], self.augment, generator)
        self.epoch += 1

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.dataset!r}, batch_size={self.batch_size}, shuffle={self.shuffle}, "
                f"augment={getattr(self.augment, '__name__', self.augment)}, epoch={self.epoch})")
